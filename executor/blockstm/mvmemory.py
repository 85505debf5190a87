"""Block-STM's multi-version memory (Algorithm 2 of Gelashvili et al., PPoPP'23).

For every key, the values written by each transaction of the block, tagged with the incarnation
that wrote them, or ESTIMATE where an aborted incarnation's write is expected to reappear. A
transaction at index i reads the value written by the highest index below i. Iteration is over
dicts only (insertion-ordered), never sets of keys, so a deterministic run replays exactly whatever
PYTHONHASHSEED is.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Final

from txlanes.models.context import Key

from .runtime import labelled

#: A version: (transaction index, incarnation). None stands for the pre-state (storage).
Version = tuple[int, int]

OK: Final = 0
NOT_FOUND: Final = 1
READ_ERROR: Final = 2


class _Estimate:
    def __repr__(self) -> str:
        return "ESTIMATE"


ESTIMATE: Final = _Estimate()
Entry = tuple[int, int] | _Estimate  # (incarnation, value) or ESTIMATE
ReadResult = tuple[int, int, int, int]  # status, writer index, incarnation, value


class MVMemory:
    def __init__(
        self, size: int, point: Callable[[], None], lock: AbstractContextManager[object]
    ) -> None:
        self.size = size
        self._point = labelled(point)
        self._lock = lock
        self._entries: dict[Key, dict[int, Entry]] = {}
        self._writers: dict[Key, list[int]] = {}  # sorted writer indices per key
        self.last_written: list[dict[Key, int]] = [{} for _ in range(size)]
        self.last_reads: list[dict[Key, Version | None]] = [{} for _ in range(size)]

    def read(self, key: Key, txn_idx: int) -> ReadResult:
        """The entry of the highest writer below ``txn_idx``: OK, NOT_FOUND or READ_ERROR."""
        self._point("read")
        with self._lock:
            return self._read(key, txn_idx)

    def _read(self, key: Key, txn_idx: int) -> ReadResult:
        writers = self._writers.get(key)
        if not writers:
            return (NOT_FOUND, -1, 0, 0)
        pos = bisect_left(writers, txn_idx)
        if pos == 0:
            return (NOT_FOUND, -1, 0, 0)
        idx = writers[pos - 1]
        entry = self._entries[key][idx]
        if isinstance(entry, _Estimate):
            return (READ_ERROR, idx, 0, 0)
        return (OK, idx, entry[0], entry[1])

    def record(
        self,
        txn_idx: int,
        incarnation: int,
        reads: dict[Key, Version | None],
        writes: dict[Key, int],
    ) -> bool:
        """Publish an incarnation's writes and reads; True when it wrote a key the previous
        incarnation did not (higher transactions must then be validated again)."""
        self._point("record")
        with self._lock:
            for key, value in writes.items():
                versions = self._entries.get(key)
                if versions is None:
                    versions = self._entries[key] = {}
                    self._writers[key] = []
                if txn_idx not in versions:
                    insort(self._writers[key], txn_idx)
                versions[txn_idx] = (incarnation, value)
            previous = self.last_written[txn_idx]
            for key in previous:
                if key not in writes:
                    self._remove(key, txn_idx)
            wrote_new = any(key not in previous for key in writes)
            self.last_written[txn_idx] = writes
            self.last_reads[txn_idx] = reads
            return wrote_new

    def _remove(self, key: Key, txn_idx: int) -> None:
        del self._entries[key][txn_idx]
        writers = self._writers[key]
        writers.pop(bisect_left(writers, txn_idx))

    def convert_writes_to_estimates(self, txn_idx: int) -> None:
        self._point("estimate")
        with self._lock:
            for key in self.last_written[txn_idx]:
                self._entries[key][txn_idx] = ESTIMATE

    def written_values(self, txn_idx: int) -> dict[Key, int]:
        """What the last recorded incarnation of ``txn_idx`` wrote."""
        return self.last_written[txn_idx]

    def validate_read_set(self, txn_idx: int) -> bool:
        """Re-read every key the last incarnation read; any other version fails validation."""
        for key, version in self.last_reads[txn_idx].items():
            status, idx, incarnation, _ = self.read(key, txn_idx)
            if status == READ_ERROR:
                return False
            if status == NOT_FOUND:
                if version is not None:
                    return False
            elif version != (idx, incarnation):
                return False
        return True

    def snapshot(self) -> dict[Key, int]:
        """After the block is done: every written key's value from its highest writer."""
        out: dict[Key, int] = {}
        for key, writers in self._writers.items():
            if writers:
                entry = self._entries[key][writers[-1]]
                if isinstance(entry, _Estimate):
                    raise RuntimeError(
                        f"Block-STM finished with an ESTIMATE of tx {writers[-1]} left at {key}"
                    )
                out[key] = entry[1]
        return out
