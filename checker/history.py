"""Histories: what transactions read and wrote, as input to the serializability checker.

A history comes from an engine's trace (``History.from_result``) or from a JSON file recorded
elsewhere (docs/history-format.md), so users can check histories of engines txlanes cannot run.
A transaction may read a key several times (format version 2); each read names the writer whose
version it saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from txlanes.executor.result import PRE_STATE, BlockResult
from txlanes.models.context import Key
from txlanes.models.workload import (
    WorkloadError,
    bool_from_json,
    int_from_json,
    is_int,
    key_from_str,
    read_json_file,
    shown,
    uint_from_json,
)

FORMAT = "txlanes-history"
VERSIONS = (1, 2)


class HistoryError(WorkloadError):
    """A history file that does not follow the format; the message starts with the path."""


@dataclass(frozen=True)
class Read:
    """One read of a key: the writer whose version it saw (PRE_STATE for the initial state, the
    reading transaction itself for its own write) and, optionally, the value it returned."""

    writer: int
    value: int | None = None


@dataclass
class TxRecord:
    """One transaction: per key it read, its reads in the order it made them; its writes (the
    final value of each key)."""

    reads: dict[Key, list[Read]] = field(default_factory=dict)
    writes: dict[Key, int] = field(default_factory=dict)
    aborted: bool = False

    @classmethod
    def once(
        cls,
        reads: Mapping[Key, int] | None = None,
        writes: Mapping[Key, int] | None = None,
        *,
        aborted: bool = False,
        read_values: Mapping[Key, int] | None = None,
    ) -> TxRecord:
        """A transaction that read each key once (format version 1, engine traces): key → the
        writer it saw; ``read_values``: key → the value that read returned."""
        values = read_values or {}
        return cls(
            {key: [Read(writer, values.get(key))] for key, writer in (reads or {}).items()},
            dict(writes or {}),
            aborted,
        )


@dataclass
class History:
    """Transactions and, per key, the order in which committed writes were installed."""

    txs: list[TxRecord]
    version_order: dict[Key, list[int]]

    @classmethod
    def from_result(cls, result: BlockResult) -> History:
        """An engine's history: versions are installed in block order, or in the serial order
        the engine reports."""
        txs = [TxRecord.once(t.reads, t.writes) for t in result.traces]
        return cls(txs, block_order(txs, result.order))


def block_order(txs: list[TxRecord], serial: list[int] | None = None) -> dict[Key, list[int]]:
    order: dict[Key, list[int]] = {}
    for index in range(len(txs)) if serial is None else serial:
        tx = txs[index]
        if not tx.aborted:
            for key in tx.writes:
                order.setdefault(key, []).append(index)
    return order


def _object(value: object, path: str, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise HistoryError(f"{path}: must be an object of {what}")
    return value


def _writer(value: object, path: str, count: int) -> int:
    writer = int_from_json(value, path, PRE_STATE)
    if writer >= count:
        raise HistoryError(f"{path}: writer {writer} is not a transaction")
    return writer


def _reads_v1(raw: dict[str, object], path: str, count: int) -> dict[Key, list[Read]]:
    """Version 1: ``reads`` key → writer, and ``read_values`` key → value, one read a key."""
    reads: dict[Key, list[Read]] = {}
    for text, value in _object(raw.get("reads", {}), f"{path}.reads", "key → writer").items():
        kpath = f"{path}.reads[{text!r}]"
        reads[key_from_str(text, kpath)] = [Read(_writer(value, kpath, count))]
    raw_values = _object(raw.get("read_values", {}), f"{path}.read_values", "key → integer")
    for text, value in raw_values.items():
        kpath = f"{path}.read_values[{text!r}]"
        key = key_from_str(text, kpath)
        if key not in reads:
            raise HistoryError(f"{kpath}: the transaction does not read this key")
        reads[key] = [Read(reads[key][0].writer, uint_from_json(value, kpath))]
    return reads


def _reads_v2(raw: dict[str, object], path: str, count: int) -> dict[Key, list[Read]]:
    """Version 2: ``reads`` key → the list of reads of the key, each ``{"writer", "value"?}``."""
    reads: dict[Key, list[Read]] = {}
    entries = _object(raw.get("reads", {}), f"{path}.reads", "key → list of reads")
    for text, entry in entries.items():
        kpath = f"{path}.reads[{text!r}]"
        key = key_from_str(text, kpath)
        if not isinstance(entry, list) or not entry:
            raise HistoryError(f"{kpath}: must be a non-empty list of reads")
        reads[key] = []
        for j, item in enumerate(entry):
            rpath = f"{kpath}[{j}]"
            one = _object(item, rpath, '"writer" and an optional "value"')
            unknown = sorted(set(one) - {"writer", "value"})
            if unknown:
                raise HistoryError(f"{rpath}.{unknown[0]}: unknown field")
            if "writer" not in one:
                raise HistoryError(f"{rpath}.writer: missing")
            value = one.get("value")
            reads[key].append(
                Read(
                    _writer(one["writer"], f"{rpath}.writer", count),
                    None if value is None else uint_from_json(value, f"{rpath}.value"),
                )
            )
    return reads


_FIELDS = {1: {"reads", "writes", "aborted", "read_values"}, 2: {"reads", "writes", "aborted"}}


def history_from_json(obj: object) -> History:
    """Validate and load a history (version 1 or 2); every problem is a :class:`HistoryError`
    that names its path."""
    try:
        return _history(obj)
    except HistoryError:
        raise
    except WorkloadError as err:  # a key or a value, checked as the workload format checks it
        raise HistoryError(str(err)) from None


def _history(obj: object) -> History:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise HistoryError(f"format: must be {FORMAT!r}")
    version = obj.get("version")
    if not is_int(version) or version not in VERSIONS:
        raise HistoryError(f"version: this txlanes reads versions 1 and 2, got {shown(version)}")
    raw_txs = obj.get("txs")
    if not isinstance(raw_txs, list):
        raise HistoryError("txs: must be a list of transactions")
    txs: list[TxRecord] = []
    for i, raw in enumerate(raw_txs):
        path = f"txs[{i}]"
        if not isinstance(raw, dict):
            raise HistoryError(f"{path}: must be an object")
        unknown = sorted(set(raw) - _FIELDS[version])
        if unknown:
            hint = " (version 2 gives each read its value)" if unknown[0] == "read_values" else ""
            raise HistoryError(f"{path}.{unknown[0]}: unknown field{hint}")
        aborted = bool_from_json(raw.get("aborted", False), f"{path}.aborted")
        reads = (_reads_v1 if version == 1 else _reads_v2)(raw, path, len(raw_txs))
        raw_writes = _object(raw.get("writes", {}), f"{path}.writes", "key → integer")
        writes = {
            key_from_str(text, f"{path}.writes[{text!r}]"): uint_from_json(
                value, f"{path}.writes[{text!r}]"
            )
            for text, value in raw_writes.items()
        }
        txs.append(TxRecord(reads, writes, aborted))
    return History(txs, _version_order(obj.get("version_order"), txs))


def _version_order(raw_order: object, txs: list[TxRecord]) -> dict[Key, list[int]]:
    order = block_order(txs)
    if raw_order is None:
        return order
    for text, writers in _object(raw_order, "version_order", "key → list of writers").items():
        kpath = f"version_order[{text!r}]"
        key = key_from_str(text, kpath)
        if not isinstance(writers, list):
            raise HistoryError(f"{kpath}: must be a list of transaction indices")
        indices = [int_from_json(w, f"{kpath}[{j}]") for j, w in enumerate(writers)]
        if sorted(indices) != sorted(order.get(key, [])):
            raise HistoryError(
                f"{kpath}: must list exactly the committed writers of the key "
                f"{sorted(order.get(key, []))}, got {indices}"
            )
        order[key] = indices
    return order


def load_history(path: str | Path) -> History:
    return history_from_json(read_json_file(path))
