"""The external-engine protocol (version 1): its messages, built and validated, without I/O.

Requests reuse the workload format's encoders (a block as in a workload file, the pre-state as a
workload's ``state``), so an engine that reads workload files already reads requests. Answers
are validated completely before the checker sees them, and every problem names the path of
what is wrong (``receipts[3].ok: missing``), since the engine's author reads these messages,
not a traceback. The protocol is documented in docs/external-engine-protocol.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from txlanes.executor.result import PRE_STATE, BlockResult, Receipt, TxTrace
from txlanes.models.context import Event, Key
from txlanes.models.tx import TX_TYPES
from txlanes.models.workload import (
    Block,
    WorkloadError,
    block_to_json,
    is_int,
    key_from_str,
    parse_json,
    shown,
    state_to_json,
    uint_from_json,
)

PROTOCOL = "txlanes-engine"
VERSION = 1

#: The digits of 2**256 - 1: a longer string is no uint256.
_UINT_DIGITS = 78
#: Longer than any state key (a schema name and at most three uint256 components).
_KEY_CHARS = 512


class ProtocolError(ValueError):
    """A message that breaks the protocol; the text starts with the offending path."""


@dataclass(frozen=True)
class Hello:
    """What an engine says of itself in the handshake."""

    engine: str
    kinds: frozenset[str]  # the transaction kinds (``Tx.KIND``) it executes
    traces: bool  # whether its results carry per-transaction read/write traces


def hello_request() -> dict[str, Any]:
    return {"type": "hello", "protocol": PROTOCOL, "version": VERSION}


def execute_request(request_id: int, block: Block, state: Mapping[Key, int]) -> dict[str, Any]:
    return {
        "type": "execute",
        "id": request_id,
        "block": block_to_json(block),
        "state": state_to_json(dict(state)),
    }


def decode(raw: bytes) -> object:
    """One line of the engine's stdout, read strictly: UTF-8, then as every txlanes file is
    (``parse_json``: standard JSON, no duplicate key, no integer Python refuses, nesting Python
    can follow). Bytes that are not UTF-8 would otherwise
    turn into replacement characters — a revert reason compared as a divergence, a verdict
    on bytes the engine never meant. The error reads after "line K that"."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        at = err.start
        raise ProtocolError(f"is not UTF-8 (byte {raw[at]:#04x} at offset {at})") from None
    try:
        return parse_json(text, "it")  # the one strict reader of every txlanes format
    except WorkloadError as err:
        why = str(err).removeprefix("it: ")
        if why.startswith("not JSON"):  # what it wrote says more: a panic, a debug print
            raise ProtocolError(f"is not JSON: {shown(text, 80)}") from None
        raise ProtocolError(f"is not strict JSON: {why}") from None


def parse_hello(obj: object) -> Hello:
    msg = _message(obj, "hello")
    version = msg.get("version")
    if not is_int(version) or version != VERSION:
        raise ProtocolError(
            f"version: txlanes speaks protocol version {VERSION}, "
            f"the engine answered {shown(version, 80)}"
        )
    engine = msg.get("engine")
    if not isinstance(engine, str) or not engine:
        raise ProtocolError(f"engine: must be a non-empty string, got {shown(engine, 80)}")
    caps = _object(msg.get("capabilities"), "capabilities")
    kinds = _list(caps.get("kinds"), "capabilities.kinds")
    for i, kind in enumerate(kinds):
        if kind not in TX_TYPES:
            raise ProtocolError(
                f"capabilities.kinds[{i}]: unknown transaction kind {shown(kind, 80)} "
                f"(known: {', '.join(sorted(TX_TYPES))})"
            )
    if not kinds:
        raise ProtocolError("capabilities.kinds: the engine supports no transaction kind")
    traces = caps.get("traces")
    if not isinstance(traces, bool):
        raise ProtocolError(f"capabilities.traces: must be true or false, got {shown(traces, 80)}")
    return Hello(engine, frozenset(kinds), traces)


def parse_result(obj: object, request_id: int, txs: int, *, traces: bool) -> BlockResult:
    """The answer to execute request ``request_id`` of a block of ``txs`` transactions."""
    if isinstance(obj, dict) and obj.get("type") == "error" and _answers(obj, request_id):
        raise ProtocolError(f"the engine reported an error: {shown(obj.get('message'), 400)}")
    msg = _message(obj, "result")
    if not _answers(msg, request_id):
        raise ProtocolError(
            f"id: answered block request {shown(msg.get('id'), 80)} "
            f"while request {request_id} was asked"
        )
    try:
        receipts = _list(msg.get("receipts"), "receipts", txs)
        result = BlockResult(
            _state(msg.get("writes"), "writes"),
            [_receipt(r, f"receipts[{i}]") for i, r in enumerate(receipts)],
            [],
            _stats(msg.get("stats", {})),
        )
        if traces:
            items = _list(msg.get("traces"), "traces", txs)
            result.traces = [_trace(t, i, f"traces[{i}]") for i, t in enumerate(items)]
    except WorkloadError as err:  # a key or a value, checked by the workload format
        raise ProtocolError(str(err)) from None
    return result


# -- validation helpers ---------------------------------------------------------------------------


def _answers(msg: dict[str, Any], request_id: int) -> bool:
    found = msg.get("id")
    return is_int(found) and found == request_id


def _message(obj: object, kind: str) -> dict[str, Any]:
    msg = _object(obj, "message")
    if msg.get("type") != kind:
        raise ProtocolError(f"type: expected {kind!r}, got {shown(msg.get('type'), 80)}")
    return msg


def _object(value: object, path: str) -> dict[str, Any]:
    if value is None:
        raise ProtocolError(f"{path}: missing")
    if not isinstance(value, dict):
        raise ProtocolError(f"{path}: must be an object, got {shown(value, 80)}")
    return value


def _list(value: object, path: str, length: int | None = None) -> list[Any]:
    if value is None:
        raise ProtocolError(f"{path}: missing")
    if not isinstance(value, list):
        raise ProtocolError(f"{path}: must be a list, got {shown(value, 80)}")
    if length is not None and len(value) != length:
        raise ProtocolError(f"{path}: {len(value)} entries for a block of {length} transactions")
    return value


def _state(value: object, path: str) -> dict[Key, int]:
    """Keys to values, zeros kept: in a diff, 0 means the key was written to 0 (deleted)."""
    state = {}
    for text, number in _object(value, path).items():
        at = f"{path}[{shown(text, 80)}]"
        state[_key(text, at)] = _uint(number, at)
    return state


def _key(text: str, path: str) -> Key:
    """A state key, shielded like :func:`_uint` (its components are uint256s)."""
    if len(text) > _KEY_CHARS:
        raise ProtocolError(f"{path}: not a state key (longer than {_KEY_CHARS} characters)")
    return key_from_str(text, path)


def _uint(value: object, path: str) -> int:
    """``uint_from_json`` with only what it can read safely: an integer (the decoder bounds its
    digits) or a short string — a 5,000-digit string would make ``int()`` raise, and a deep
    list its ``repr``."""
    if isinstance(value, int) or (isinstance(value, str) and len(value) <= _UINT_DIGITS):
        return uint_from_json(value, path)
    raise ProtocolError(f"{path}: must be an integer in [0, 2**256-1], got {shown(value, 80)}")


def _receipt(value: object, path: str) -> Receipt:
    obj = _object(value, path)
    ok = obj.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError(
            f"{path}.ok: " + ("missing" if ok is None else f"not a bool: {shown(ok, 80)}")
        )
    reason = obj.get("reason")
    if ok != (reason is None) or not (reason is None or isinstance(reason, str)):
        raise ProtocolError(
            f"{path}.reason: must be null for a success and a string for a revert, "
            f"got {shown(reason, 80)}"
        )
    events = _list(obj.get("events"), f"{path}.events")
    return Receipt(
        ok, reason, tuple(_event(e, f"{path}.events[{i}]") for i, e in enumerate(events))
    )


def _event(value: object, path: str) -> Event:
    fields = _list(value, path)
    if not fields or not isinstance(fields[0], str):
        raise ProtocolError(f"{path}: must be [name, value, ...] with a string name")
    return (fields[0], *(_uint(f, f"{path}[{i}]") for i, f in enumerate(fields[1:], 1)))


def _trace(value: object, index: int, path: str) -> TxTrace:
    obj = _object(value, path)
    reads: dict[Key, int] = {}
    for text, writer in _object(obj.get("reads"), f"{path}.reads").items():
        rpath = f"{path}.reads[{shown(text, 80)}]"
        if not is_int(writer) or not -1 <= writer < index:
            raise ProtocolError(
                f"{rpath}: must be the index of an earlier transaction or {PRE_STATE} "
                f"(the pre-state), got {shown(writer, 80)}"
            )
        reads[_key(text, rpath)] = writer
    rereads = []
    for n, pair in enumerate(_list(obj.get("rereads", []), f"{path}.rereads")):
        rpath = f"{path}.rereads[{n}]"
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ProtocolError(f"{rpath}: must be [key, writer], got {shown(pair, 80)}")
        writer = pair[1]
        if not is_int(writer) or not -1 <= writer < index:
            raise ProtocolError(
                f"{rpath}: the writer must be the index of an earlier transaction or "
                f"{PRE_STATE} (the pre-state), got {shown(writer, 80)}"
            )
        rereads.append((_key(pair[0], rpath), writer))
    incarnations = obj.get("incarnations", 1)
    if not is_int(incarnations) or incarnations < 1:
        raise ProtocolError(
            f"{path}.incarnations: must be an integer >= 1, got {shown(incarnations, 80)}"
        )
    writes = _state(obj.get("writes"), f"{path}.writes")
    return TxTrace(reads, writes, incarnations, tuple(rereads))


def _stats(value: object) -> dict[str, int]:
    stats = _object(value, "stats")
    for name, number in stats.items():
        if not is_int(number):
            raise ProtocolError(
                f"stats[{shown(name, 80)}]: must be an integer, got {shown(number, 80)}"
            )
    return stats
