"""Workloads (an initial state and blocks of transactions) and their versioned JSON format.

Loading validates everything and names the exact path of what is wrong
(``blocks[0].txs[3].amount: must be an integer in [0, 2**256-1]``) so that a user's hand-written
or recorded workload never reaches an engine half-valid. The format is documented in
docs/workload-format.md. The strict JSON reader (``read_json_file``) and the value checks
(``int_from_json``, ``uint_from_json``, ``bool_from_json``) are those of every file format
txlanes reads — workloads, histories, failure and schedule files — so all share one set of rules.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import reprlib
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from .context import BlockEnv, Key
from .tx import KEY_SCHEMAS, TX_TYPES, Tx
from .uint import MAX_UINT256

FORMAT = "txlanes-workload"
VERSION = 1
_JSON_SAFE = 2**53


class WorkloadError(ValueError):
    """A workload that does not follow the format; the message starts with the offending path."""


@dataclass(frozen=True, slots=True)
class Block:
    """A block: its environment and its transactions, in block order."""

    txs: tuple[Tx, ...]
    env: BlockEnv = field(default_factory=BlockEnv)


@dataclass
class Workload:
    """An initial state (absent keys are 0) and the blocks to execute on it, in order."""

    state: dict[Key, int] = field(default_factory=dict, repr=False)  # often thousands of keys
    blocks: list[Block] = field(default_factory=list)

    def transactions(self) -> Iterator[Tx]:
        for block in self.blocks:
            yield from block.txs


# -- keys ---------------------------------------------------------------------------------------


def key_to_str(key: Key) -> str:
    """``("erc20.bal", 1, 7)`` → ``"erc20.bal:1:7"``, the form keys take in JSON."""
    return ":".join(str(part) for part in key)


def key_from_str(text: str, path: str = "key") -> Key:
    """Parse and validate a key against its declared schema."""
    name, *parts = text.split(":")
    schema = KEY_SCHEMAS.get(name)
    if schema is None:
        known = ", ".join(sorted(KEY_SCHEMAS))
        raise WorkloadError(f"{path}: unknown key schema {shown(name)} (known: {known})")
    if len(parts) != len(schema):
        raise WorkloadError(
            f"{path}: key {name} takes {len(schema)} components ({', '.join(schema)}), "
            f"got {len(parts)}"
        )
    values: list[str | int] = [name]
    for label, part in zip(schema, parts, strict=True):
        values.append(uint_from_json(part, f"{path}.{label}", allow_str=True))
    return tuple(values)


# -- values -------------------------------------------------------------------------------------

#: The digits of 2**256-1: a longer decimal string cannot be a uint256, so it is refused before
#: ``int()`` (which is quadratic in the length and refuses 4,300 digits and more).
_UINT256_DIGITS = len(str(MAX_UINT256))


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlong = 3, 4, 4, 40


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that an error stays one readable line
    whatever the value's size or depth: a huge integer by its size (its ``repr`` may be
    refused, and its digits say nothing), a long string by its head, a deep list by its first
    levels (``repr`` of a 10,000-deep list overflows the stack)."""
    if is_int(value) and abs(value).bit_length() > 3 * limit:
        return f"an integer of {abs(value).bit_length()} bits"
    text = repr(value[:limit]) if isinstance(value, str) else _SHORT.repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer: Python's ``True`` is an ``int`` too, but a flag is never a number."""
    return type(value) is int


def int_from_json(value: object, path: str, low: int = 0, high: int | None = None) -> int:
    """The one check of an integer read from a file: a JSON integer in ``[low, high]``."""
    if is_int(value) and low <= value and (high is None or value <= high):
        return value
    if high is None:
        allowed = f">= {low}"
    else:
        allowed = f"in [{low}, {'2**256-1' if high == MAX_UINT256 else high}]"
    raise WorkloadError(f"{path}: must be an integer {allowed}, got {shown(value)}")


def uint_from_json(value: object, path: str, *, allow_str: bool = True) -> int:
    """A uint256 from a JSON integer or a decimal string (large values do not fit JSON numbers).

    The string is canonical — ASCII digits, no sign, space, underscore or leading zero — so that
    each value (and each state key, whose components are read here) has one spelling only.
    """
    if allow_str and isinstance(value, str):
        canonical = value.isascii() and value.isdigit() and (value == "0" or value[0] != "0")
        if not canonical or len(value) > _UINT256_DIGITS:
            raise WorkloadError(
                f"{path}: must be an integer in [0, 2**256-1] (as a string: its decimal digits, "
                f"no sign, space or leading zero), got {shown(value)}"
            )
        value = int(value)
    return int_from_json(value, path, 0, MAX_UINT256)


def bool_from_json(value: object, path: str) -> bool:
    """A JSON ``true`` or ``false``: ``"false"``, ``""`` or ``0`` are not flags (``"false"`` is
    truthy, and reading it as true would invent an aborted transaction)."""
    if not isinstance(value, bool):
        raise WorkloadError(f"{path}: must be true or false, got {shown(value)}")
    return value


def uint_to_json(value: int) -> int | str:
    """A JSON integer when it is exact in every JSON reader (< 2**53), else a decimal string."""
    return value if value < _JSON_SAFE else str(value)


# -- transactions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    is_bool: bool


_FIELDS: dict[type[Tx], tuple[_FieldSpec, ...]] = {}


def tx_fields(cls: type[Tx]) -> tuple[_FieldSpec, ...]:
    """The fields of a transaction type (cached): each an integer or a bool."""
    specs = _FIELDS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        built = []
        for f in dataclasses.fields(cls):
            kind = hints[f.name]
            if kind not in (int, bool):
                raise TypeError(f"{cls.__name__}.{f.name}: transaction fields must be int or bool")
            built.append(_FieldSpec(f.name, kind is bool))
        specs = _FIELDS[cls] = tuple(built)
    return specs


def tx_from_json(obj: object, path: str) -> Tx:
    if not isinstance(obj, dict):
        raise WorkloadError(f"{path}: must be an object")
    kind = obj.get("type")
    cls = TX_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(TX_TYPES))
        raise WorkloadError(f"{path}.type: unknown transaction type {shown(kind)} (known: {known})")
    specs = tx_fields(cls)
    names = {s.name for s in specs}
    extra = sorted(set(obj) - names - {"type"})
    if extra:
        raise WorkloadError(
            f"{path}.{extra[0]}: unknown field for {kind} (fields: {', '.join(sorted(names))})"
        )
    kwargs: dict[str, Any] = {}
    for spec in specs:
        fpath = f"{path}.{spec.name}"
        if spec.name not in obj:
            raise WorkloadError(f"{fpath}: missing (required by {kind})")
        value = obj[spec.name]
        kwargs[spec.name] = (
            bool_from_json(value, fpath) if spec.is_bool else uint_from_json(value, fpath)
        )
    return cls(**kwargs)


def tx_to_json(tx: Tx) -> dict[str, Any]:
    out: dict[str, Any] = {"type": tx.KIND}
    for spec in tx_fields(type(tx)):
        value = getattr(tx, spec.name)
        out[spec.name] = value if spec.is_bool else uint_to_json(value)
    return out


# -- blocks and workloads -----------------------------------------------------------------------

_ENV_FIELDS = ("number", "timestamp")
_FEE_FIELDS = {"token": "fee_token", "recipient": "fee_recipient", "amount": "fee"}


def _env_from_json(obj: dict[str, Any], path: str) -> BlockEnv:
    values = {name: uint_from_json(obj.get(name, 0), f"{path}.{name}") for name in _ENV_FIELDS}
    fee = obj.get("fee")
    if fee is not None:
        if not isinstance(fee, dict):
            raise WorkloadError(f"{path}.fee: must be an object with token, recipient, amount")
        unknown = sorted(set(fee) - set(_FEE_FIELDS))
        if unknown:
            raise WorkloadError(
                f"{path}.fee.{unknown[0]}: unknown field (token, recipient, amount)"
            )
        for name, attr in _FEE_FIELDS.items():
            if name not in fee:
                raise WorkloadError(f"{path}.fee.{name}: missing")
            values[attr] = uint_from_json(fee[name], f"{path}.fee.{name}")
    return BlockEnv(**values)


def block_from_json(obj: object, path: str) -> Block:
    if not isinstance(obj, dict):
        raise WorkloadError(f"{path}: must be an object")
    unknown = sorted(set(obj) - {"number", "timestamp", "fee", "txs"})
    if unknown:
        raise WorkloadError(f"{path}.{unknown[0]}: unknown field (number, timestamp, fee, txs)")
    txs = obj.get("txs")
    if not isinstance(txs, list):
        raise WorkloadError(f"{path}.txs: must be a list of transactions")
    env = _env_from_json(obj, path)
    return Block(tuple(tx_from_json(tx, f"{path}.txs[{i}]") for i, tx in enumerate(txs)), env)


def block_to_json(block: Block) -> dict[str, Any]:
    env = block.env
    out: dict[str, Any] = {
        "number": uint_to_json(env.number),
        "timestamp": uint_to_json(env.timestamp),
    }
    if env.fee:
        out["fee"] = {
            "token": uint_to_json(env.fee_token),
            "recipient": uint_to_json(env.fee_recipient),
            "amount": uint_to_json(env.fee),
        }
    out["txs"] = [tx_to_json(tx) for tx in block.txs]
    return out


def state_from_json(obj: object, path: str = "state") -> dict[Key, int]:
    if not isinstance(obj, dict):
        raise WorkloadError(f"{path}: must be an object mapping keys to integers")
    state: dict[Key, int] = {}
    for text, value in obj.items():
        kpath = f"{path}[{text!r}]"
        key = key_from_str(text, kpath)
        number = uint_from_json(value, kpath)
        if number:
            state[key] = number
    return state


def state_to_json(state: dict[Key, int], *, keep_zero: bool = False) -> dict[str, int | str]:
    """Keys as strings, in a stable order; zeros dropped unless ``keep_zero`` (for diffs)."""
    items = sorted(state.items())  # same schema ⇒ same arity, all ints: tuples compare cleanly
    return {key_to_str(k): uint_to_json(v) for k, v in items if v or keep_zero}


def workload_from_json(obj: object) -> Workload:
    if not isinstance(obj, dict):
        raise WorkloadError("workload: must be a JSON object")
    if obj.get("format") != FORMAT:
        raise WorkloadError(f"format: must be {FORMAT!r}, got {shown(obj.get('format'))}")
    if not is_int(obj.get("version")) or obj.get("version") != VERSION:
        raise WorkloadError(
            f"version: this txlanes reads version {VERSION}, got {shown(obj.get('version'))}"
        )
    unknown = sorted(set(obj) - {"format", "version", "state", "blocks", "meta"})
    if unknown:
        raise WorkloadError(f"{unknown[0]}: unknown field (format, version, state, blocks, meta)")
    blocks = obj.get("blocks")
    if not isinstance(blocks, list):
        raise WorkloadError("blocks: must be a list of blocks")
    state = state_from_json(obj.get("state", {}))
    return Workload(state, [block_from_json(b, f"blocks[{i}]") for i, b in enumerate(blocks)])


def workload_to_json(workload: Workload) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "state": state_to_json(workload.state),
        "blocks": [block_to_json(b) for b in workload.blocks],
    }


# -- the strict JSON reader (every file format) ------------------------------------------------

#: The largest file read: 256 MiB is about 2.5 million transfers, far more than a check needs,
#: and parsing it takes a few GiB; a larger file is refused before it exhausts the machine.
MAX_FILE_BYTES = 256 * 2**20


class _Refused:
    """A value the reader refuses, left in place by a parser hook so that the error can name the
    path to it (the hooks see a value, never where it is)."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


class _Duplicated(dict[str, object]):
    """An object in which ``key`` appears more than once."""

    def __init__(self, pairs: list[tuple[str, object]], key: str) -> None:
        super().__init__(pairs)
        self.key = key


def _child(path: str, key: str | int) -> str:
    """The path of an object's field or a list's item, spelled as the loaders spell theirs."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _first_refused(root: object) -> tuple[str, str] | None:
    """(path, reason) of the first refused value, walked without recursion (nesting is deep)."""
    stack: list[tuple[str, object]] = [("", root)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _Refused):
            return path, node.why
        if isinstance(node, _Duplicated):
            return _child(path, node.key), "appears twice in one object; keep one of the values"
        items: list[tuple[str | int, object]] = []
        if isinstance(node, dict):
            items = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        stack.extend((_child(path, k), v) for k, v in reversed(items))
    return None


def _strict_loads(text: str, *, check_ints: bool) -> tuple[object, bool]:
    """Parse, and whether a hook refused a value. Duplicate keys and NaN/Infinity are always
    caught; ``check_ints`` catches ``-0`` and integers too long for ``int()`` (a slower parse,
    so only when the text holds ``-0`` or ``int()`` refused an integer)."""
    refused: list[bool] = []

    def refuse(why: str) -> _Refused:
        refused.append(True)
        return _Refused(why)

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                break
            seen.add(key)
        refused.append(True)
        return _Duplicated(items, key)

    def constant(name: str) -> _Refused:
        return refuse(f"{name} is not a JSON number (RFC 8259); write a number")

    def integer(digits: str) -> int | _Refused:
        if digits == "-0":  # 0 to Python, but a sign on an unsigned value
            return refuse("-0 is not an unsigned integer; write 0")
        try:
            return int(digits)
        except ValueError:  # 4,300 digits or more (sys.get_int_max_str_digits)
            digits_at_most = f"a uint256 has at most {_UINT256_DIGITS} digits"
            return refuse(f"an integer of {len(digits)} digits; {digits_at_most}")

    hooks: dict[str, Any] = {"object_pairs_hook": pairs, "parse_constant": constant}
    if check_ints:
        hooks["parse_int"] = integer
    return json.loads(text, **hooks), bool(refused)


def parse_json(text: str, source: str) -> object:
    """Strict JSON (RFC 8259): no NaN or Infinity, no duplicate key, no ``-0``, no integer
    ``int()`` refuses; nesting as deep as Python's parser allows. Every problem is a
    :class:`WorkloadError` naming ``source`` and, for a value, its path in the document."""
    try:
        try:
            obj, refused = _strict_loads(text, check_ints="-0" in text)
        except json.JSONDecodeError:
            raise
        except ValueError:  # int() refused an integer (4,300 digits or more): find it
            obj, refused = _strict_loads(text, check_ints=True)
    except json.JSONDecodeError as err:
        raise WorkloadError(
            f"{source}: not JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    except RecursionError:
        raise WorkloadError(
            f"{source}: nested deeper than the JSON reader allows (no txlanes format nests "
            "more than a few levels)"
        ) from None
    found = _first_refused(obj) if refused else None
    if found is not None:
        where, why = found
        raise WorkloadError(f"{source}: {where}: {why}" if where else f"{source}: {why}")
    return obj


def _utf8(data: bytes, source: str) -> str:
    """The file's text: UTF-8 without a byte-order mark (JSON's encoding, RFC 8259 §8.1)."""
    if data.startswith(codecs.BOM_UTF8):
        raise WorkloadError(
            f"{source}: starts with a byte-order mark; save it as UTF-8 without BOM"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise WorkloadError(
            f"{source}: not UTF-8 (line {line}, column {column}: byte "
            f"0x{data[err.start]:02x}); save it as UTF-8"
        ) from None


def read_json_file(path: str | Path) -> object:
    """A JSON file's contents, read strictly (:func:`parse_json`, UTF-8, at most
    :data:`MAX_FILE_BYTES`): the one reader of every file format, so all share its rules."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise WorkloadError(f"{path}: cannot read ({err.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise WorkloadError(
            f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB, the largest file txlanes reads; "
            "split it into smaller files"
        )
    return parse_json(_utf8(data, str(path)), str(path))


def load_workload(path: str | Path) -> Workload:
    """Read and validate a workload file; every problem is a :class:`WorkloadError`."""
    return workload_from_json(read_json_file(path))


def workload_to_text(workload: Workload) -> str:
    """The canonical file text: one transaction per line, so diffs and reviews stay readable."""
    obj = workload_to_json(workload)
    blocks = obj.pop("blocks")
    head = json.dumps(obj, indent=1)[:-2]
    parts = []
    for block in blocks:
        txs = block.pop("txs")
        lines = ",\n".join("    " + json.dumps(tx) for tx in txs)
        env = json.dumps(block)[1:-1]
        parts.append("  {" + env + (", " if env else "") + '"txs": [\n' + lines + "\n  ]}")
    return head + ',\n "blocks": [\n' + ",\n".join(parts) + "\n ]\n}\n"


def save_workload(workload: Workload, path: str | Path) -> None:
    Path(path).write_text(workload_to_text(workload), encoding="utf-8")
