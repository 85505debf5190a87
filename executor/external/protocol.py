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
    key_from_str,
    state_to_json,
    uint_from_json,
)

PROTOCOL = "txlanes-engine"
VERSION = 1


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


def parse_hello(obj: object) -> Hello:
    msg = _message(obj, "hello")
    if msg.get("version") != VERSION:
        raise ProtocolError(
            f"version: txlanes speaks protocol version {VERSION}, "
            f"the engine answered {msg.get('version')!r}"
        )
    engine = msg.get("engine")
    if not isinstance(engine, str) or not engine:
        raise ProtocolError(f"engine: must be a non-empty string, got {engine!r}")
    caps = _object(msg.get("capabilities"), "capabilities")
    kinds = _list(caps.get("kinds"), "capabilities.kinds")
    for i, kind in enumerate(kinds):
        if kind not in TX_TYPES:
            raise ProtocolError(
                f"capabilities.kinds[{i}]: unknown transaction kind {kind!r} "
                f"(known: {', '.join(sorted(TX_TYPES))})"
            )
    if not kinds:
        raise ProtocolError("capabilities.kinds: the engine supports no transaction kind")
    traces = caps.get("traces")
    if not isinstance(traces, bool):
        raise ProtocolError(f"capabilities.traces: must be true or false, got {traces!r}")
    return Hello(engine, frozenset(kinds), traces)


def parse_result(obj: object, request_id: int, txs: int, *, traces: bool) -> BlockResult:
    """The answer to execute request ``request_id`` of a block of ``txs`` transactions."""
    if isinstance(obj, dict) and obj.get("type") == "error" and obj.get("id") == request_id:
        raise ProtocolError(f"the engine reported an error: {obj.get('message')!r}")
    msg = _message(obj, "result")
    if msg.get("id") != request_id:
        raise ProtocolError(
            f"id: answered block request {msg.get('id')!r} while request {request_id} was asked"
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


def _message(obj: object, kind: str) -> dict[str, Any]:
    msg = _object(obj, "message")
    if msg.get("type") != kind:
        raise ProtocolError(f"type: expected {kind!r}, got {msg.get('type')!r}")
    return msg


def _object(value: object, path: str) -> dict[str, Any]:
    if value is None:
        raise ProtocolError(f"{path}: missing")
    if not isinstance(value, dict):
        raise ProtocolError(f"{path}: must be an object, got {excerpt(value)}")
    return value


def _list(value: object, path: str, length: int | None = None) -> list[Any]:
    if value is None:
        raise ProtocolError(f"{path}: missing")
    if not isinstance(value, list):
        raise ProtocolError(f"{path}: must be a list, got {excerpt(value)}")
    if length is not None and len(value) != length:
        raise ProtocolError(f"{path}: {len(value)} entries for a block of {length} transactions")
    return value


def _state(value: object, path: str) -> dict[Key, int]:
    """Keys to values, zeros kept: in a diff, 0 means the key was written to 0 (deleted)."""
    return {
        key_from_str(text, f"{path}[{text!r}]"): uint_from_json(number, f"{path}[{text!r}]")
        for text, number in _object(value, path).items()
    }


def _receipt(value: object, path: str) -> Receipt:
    obj = _object(value, path)
    ok = obj.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError(f"{path}.ok: " + ("missing" if ok is None else f"not a bool: {ok!r}"))
    reason = obj.get("reason")
    if ok != (reason is None) or not (reason is None or isinstance(reason, str)):
        raise ProtocolError(
            f"{path}.reason: must be null for a success and a string for a revert, got {reason!r}"
        )
    events = _list(obj.get("events"), f"{path}.events")
    return Receipt(
        ok, reason, tuple(_event(e, f"{path}.events[{i}]") for i, e in enumerate(events))
    )


def _event(value: object, path: str) -> Event:
    fields = _list(value, path)
    if not fields or not isinstance(fields[0], str):
        raise ProtocolError(f"{path}: must be [name, value, ...] with a string name")
    return (fields[0], *(uint_from_json(f, f"{path}[{i}]") for i, f in enumerate(fields[1:], 1)))


def _trace(value: object, index: int, path: str) -> TxTrace:
    obj = _object(value, path)
    reads: dict[Key, int] = {}
    for text, writer in _object(obj.get("reads"), f"{path}.reads").items():
        rpath = f"{path}.reads[{text!r}]"
        if isinstance(writer, bool) or not isinstance(writer, int) or not -1 <= writer < index:
            raise ProtocolError(
                f"{rpath}: must be the index of an earlier transaction or {PRE_STATE} "
                f"(the pre-state), got {writer!r}"
            )
        reads[key_from_str(text, rpath)] = writer
    rereads = []
    for n, pair in enumerate(_list(obj.get("rereads", []), f"{path}.rereads")):
        rpath = f"{path}.rereads[{n}]"
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ProtocolError(f"{rpath}: must be [key, writer], got {excerpt(pair)}")
        writer = pair[1]
        if isinstance(writer, bool) or not isinstance(writer, int) or not -1 <= writer < index:
            raise ProtocolError(
                f"{rpath}: the writer must be the index of an earlier transaction or "
                f"{PRE_STATE} (the pre-state), got {excerpt(writer)}"
            )
        rereads.append((key_from_str(pair[0], rpath), writer))
    incarnations = obj.get("incarnations", 1)
    if isinstance(incarnations, bool) or not isinstance(incarnations, int) or incarnations < 1:
        raise ProtocolError(f"{path}.incarnations: must be an integer >= 1, got {incarnations!r}")
    writes = _state(obj.get("writes"), f"{path}.writes")
    return TxTrace(reads, writes, incarnations, tuple(rereads))


def _stats(value: object) -> dict[str, int]:
    stats = _object(value, "stats")
    for name, number in stats.items():
        if isinstance(number, bool) or not isinstance(number, int):
            raise ProtocolError(f"stats.{name}: must be an integer, got {number!r}")
    return stats


def excerpt(value: object, limit: int = 80) -> str:
    """A value or a line, cut short enough for a one-line error."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
