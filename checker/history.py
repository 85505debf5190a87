"""Histories: what transactions read and wrote, as input to the serializability checker.

A history comes from an engine's trace (``History.from_result``) or from a JSON file recorded
elsewhere (docs/history-format.md), so users can check histories of engines txlanes cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from txlanes.executor.result import PRE_STATE, BlockResult
from txlanes.models.context import Key
from txlanes.models.workload import WorkloadError, key_from_str, key_to_str, read_json_file

FORMAT = "txlanes-history"


class HistoryError(WorkloadError):
    """A history file that does not follow the format; the message starts with the path."""


@dataclass
class TxRecord:
    """One transaction: each key it read with the writer whose version it saw, its writes."""

    reads: dict[Key, int] = field(default_factory=dict)
    writes: dict[Key, int] = field(default_factory=dict)
    aborted: bool = False
    #: Optional: the value each read returned (enables detecting intermediate reads, G1b).
    read_values: dict[Key, int] = field(default_factory=dict)


@dataclass
class History:
    """Transactions and, per key, the order in which committed writes were installed."""

    txs: list[TxRecord]
    version_order: dict[Key, list[int]]

    @classmethod
    def from_result(cls, result: BlockResult) -> History:
        """An engine's history: versions are installed in block order, or in the serial order
        the engine reports."""
        txs = [TxRecord(dict(t.reads), dict(t.writes)) for t in result.traces]
        return cls(txs, block_order(txs, result.order))


def block_order(txs: list[TxRecord], serial: list[int] | None = None) -> dict[Key, list[int]]:
    order: dict[Key, list[int]] = {}
    for index in range(len(txs)) if serial is None else serial:
        tx = txs[index]
        if not tx.aborted:
            for key in tx.writes:
                order.setdefault(key, []).append(index)
    return order


def _int(value: object, path: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HistoryError(f"{path}: must be an integer >= {low}, got {value!r}")
    return value


def history_from_json(obj: object) -> History:
    """Validate and load a history; every problem names its path."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise HistoryError(f"format: must be {FORMAT!r}")
    if obj.get("version") != 1:
        raise HistoryError(f"version: this txlanes reads version 1, got {obj.get('version')!r}")
    raw_txs = obj.get("txs")
    if not isinstance(raw_txs, list):
        raise HistoryError("txs: must be a list of transactions")
    txs: list[TxRecord] = []
    for i, raw in enumerate(raw_txs):
        path = f"txs[{i}]"
        if not isinstance(raw, dict):
            raise HistoryError(f"{path}: must be an object")
        unknown = sorted(set(raw) - {"reads", "writes", "aborted", "read_values"})
        if unknown:
            raise HistoryError(f"{path}.{unknown[0]}: unknown field")
        record = TxRecord(aborted=bool(raw.get("aborted", False)))
        for name in ("reads", "writes", "read_values"):
            entries = raw.get(name, {})
            if not isinstance(entries, dict):
                raise HistoryError(f"{path}.{name}: must be an object of key → integer")
            target = getattr(record, name)
            for text, value in entries.items():
                kpath = f"{path}.{name}[{text!r}]"
                low = PRE_STATE if name == "reads" else 0
                target[key_from_str(text, kpath)] = _int(value, kpath, low=low)
        for key, writer in record.reads.items():
            if writer >= len(raw_txs):
                raise HistoryError(
                    f"{path}.reads[{key_to_str(key)!r}]: writer {writer} is not a transaction"
                )
        txs.append(record)
    order = block_order(txs)
    raw_order = obj.get("version_order")
    if raw_order is not None:
        if not isinstance(raw_order, dict):
            raise HistoryError("version_order: must be an object of key → list of writers")
        for text, writers in raw_order.items():
            kpath = f"version_order[{text!r}]"
            key = key_from_str(text, kpath)
            if not isinstance(writers, list):
                raise HistoryError(f"{kpath}: must be a list of transaction indices")
            indices = [_int(w, f"{kpath}[{j}]") for j, w in enumerate(writers)]
            if sorted(indices) != sorted(order.get(key, [])):
                raise HistoryError(
                    f"{kpath}: must list exactly the committed writers of the key "
                    f"{sorted(order.get(key, []))}, got {indices}"
                )
            order[key] = indices
    return History(txs, order)


def load_history(path: str | Path) -> History:
    return history_from_json(read_json_file(path))
