"""Workloads (an initial state and blocks of transactions) and their versioned JSON format.

Loading validates everything and names the exact path of what is wrong
(``blocks[0].txs[3].amount: must be an integer in [0, 2**256-1]``) so that a user's hand-written
or recorded workload never reaches an engine half-valid. The format is documented in
docs/workload-format.md.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        raise WorkloadError(f"{path}: unknown key schema {name!r} (known: {known})")
    if len(parts) != len(schema):
        raise WorkloadError(
            f"{path}: key {name} takes {len(schema)} components ({', '.join(schema)}), "
            f"got {len(parts)}"
        )
    values: list[str | int] = [name]
    for label, part in zip(schema, parts, strict=True):
        values.append(uint_from_json(part, f"{path}.{label}", allow_str=True))
    return tuple(values)


# -- integers -----------------------------------------------------------------------------------


def uint_from_json(value: object, path: str, *, allow_str: bool = True) -> int:
    """A uint256 from a JSON integer or a decimal string (large values do not fit JSON numbers)."""
    if isinstance(value, str) and allow_str and value.isdigit() and value.isascii():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UINT256:
        raise WorkloadError(f"{path}: must be an integer in [0, 2**256-1], got {value!r}")
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
        raise WorkloadError(f"{path}.type: unknown transaction type {kind!r} (known: {known})")
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
        if spec.is_bool:
            if not isinstance(value, bool):
                raise WorkloadError(f"{fpath}: must be true or false, got {value!r}")
            kwargs[spec.name] = value
        else:
            kwargs[spec.name] = uint_from_json(value, fpath)
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
        raise WorkloadError(f"format: must be {FORMAT!r}, got {obj.get('format')!r}")
    if obj.get("version") != VERSION:
        raise WorkloadError(
            f"version: this txlanes reads version {VERSION}, got {obj.get('version')!r}"
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


def read_json_file(path: str | Path) -> object:
    """A JSON file's contents; an unreadable or malformed file is a :class:`WorkloadError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise WorkloadError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise WorkloadError(
            f"{path}: not JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None


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
