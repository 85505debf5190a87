"""A block's receipts and traces, built on first use.

Decoding a child's receipts and turning every plain tuple into a ``Receipt`` or ``TxTrace``
costs a good part of what executing the transactions did, and the block's state does not need
them: a node commits the diff. So the engine hands back sequences that build their items when
first read. The cost is not hidden — it is the "materialize" figure the benchmark reports next
to TPS.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterator, Sequence
from itertools import starmap
from typing import Any, Generic, NamedTuple, TypeVar, overload

from ..result import Receipt, TxTrace
from .chunks import RawReceipt, RawTrace, Redone

T = TypeVar("T")


class Segment(NamedTuple):
    """One chunk's results: receipts as tuples, or as the ``marshal`` bytes a child sent;
    traces; and the transactions the parent re-executed, which replace the child's."""

    receipts: list[RawReceipt] | bytes
    traces: list[RawTrace]
    redone: Redone


class LazyResults:
    """A block's receipts and traces, as segments in block order."""

    def __init__(self, segments: list[Segment]) -> None:
        self._segments = segments
        self._receipts: list[Receipt] | None = None
        self._traces: list[TxTrace] = []

    def _materialize(self) -> tuple[list[Receipt], list[TxTrace]]:
        if self._receipts is None:
            receipts: list[Receipt] = []
            traces: list[TxTrace] = []
            for raw_receipts, raw_traces, redone in self._segments:
                if isinstance(raw_receipts, bytes):
                    raw_receipts = marshal.loads(raw_receipts)
                for offset, (receipt, trace) in redone.items():
                    raw_receipts[offset], raw_traces[offset] = receipt, trace
                receipts += map(Receipt._make, raw_receipts)
                traces += starmap(TxTrace, raw_traces)  # (reads, writes, incarnations)
            self._receipts, self._traces = receipts, traces
            self._segments = []
        return self._receipts, self._traces

    def receipts(self, count: int) -> LazySequence[Receipt]:
        return LazySequence(count, lambda: self._materialize()[0])

    def traces(self, count: int) -> LazySequence[TxTrace]:
        return LazySequence(count, lambda: self._materialize()[1])


class LazySequence(Sequence[T], Generic[T]):
    """A read-only list whose items are built by ``load`` the first time any is needed."""

    def __init__(self, count: int, load: Callable[[], list[T]]) -> None:
        self._count = count
        self._load = load

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._load()[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._load())

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return self._load() == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._load())
