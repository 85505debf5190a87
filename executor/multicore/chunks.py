"""What a process does with a chunk of the block, without I/O: run it, or validate it.

Every process runs transactions the way sequential execution does — in order, on an overlay of
(writer, value) per key over the pre-state — but a child's overlay may be stale: it lacks the
chunks other processes run at the same time, and the corrections to its own previous chunk. The
parent runs its own chunks on the exact state and *validates* each child chunk in block order
with a set of *dirty* keys: keys whose true value may differ from what the child saw.

It starts as the keys the child's chunk could not have seen (:meth:`Schedule.missed`). A
transaction that read no dirty key keeps the child's result, and its writes make those keys
clean (later transactions saw the right value). One that did is re-executed on the exact state,
and everything it wrote in either run becomes dirty — and goes back to the child as a fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from txlanes.executor.sequential import OverlayContext
from txlanes.models.context import BlockEnv, Context, Event, Key, Revert
from txlanes.models.tx import Tx

#: key → (index of the transaction that wrote it last, value), for the block so far.
Overlay = dict[Key, tuple[int, int]]
Apply = Callable[[Tx, Context], None]
#: A Receipt and a TxTrace as plain tuples: cheaper to build, and ``marshal`` takes them.
RawReceipt = tuple[bool, str | None, tuple[Event, ...]]
RawTrace = tuple[dict[Key, int], dict[Key, int], int]
#: A re-executed transaction's results, by its offset in the chunk.
Redone = dict[int, tuple[RawReceipt, RawTrace]]

_NO_EVENTS: tuple[Event, ...] = ()


class Chunk(NamedTuple):
    """Transactions ``[start, stop)`` of the block, run by process ``owner`` (0: the parent)."""

    start: int
    stop: int
    owner: int


class Schedule:
    """Which process runs which chunk, and which chunks a child has seen when it starts one.

    Rounds: the parent's chunk, then one chunk per child. Before its chunk of round ``r`` a
    child folds in everything up to the parent's chunk of round ``r - 1`` — a fixed set, never
    "whatever has arrived", so re-executions do not depend on timing and the engine is
    deterministic. The parent runs that chunk first in its round and sends its news at once, so
    a child waits only when the parent falls behind.
    """

    def __init__(self, count: int, lanes: int, chunk: int, parent_chunk: int) -> None:
        self.lanes = lanes
        self.chunks: list[Chunk] = []
        start = 0
        while start < count:
            for owner in range(lanes):
                stop = min(count, start + (parent_chunk if owner == 0 else chunk))
                self.chunks.append(Chunk(start, stop, owner))
                start = stop
                if start == count:
                    break

    def seen(self, index: int) -> int:
        """The last chunk a child has folded in before running chunk ``index`` (negative:
        none)."""
        return index - index % self.lanes - self.lanes

    def previous(self, index: int) -> int:
        """The same owner's chunk before ``index`` (negative: none)."""
        return index - self.lanes

    def missed(self, index: int) -> tuple[list[int], int]:
        """Chunks whose writes the child running ``index`` had not seen, and its own previous
        chunk, whose fix (if any) it had not seen either (negative: none)."""
        previous = self.previous(index)
        others = [i for i in range(max(self.seen(index) + 1, 0), index) if i != previous]
        return others, previous


class Runner:
    """Runs transactions in order on ``overlay`` over the pre-state, as sequential does."""

    def __init__(
        self, txs: tuple[Tx, ...], env: BlockEnv, pre: Mapping[Key, int], apply: Apply
    ) -> None:
        self.txs, self.apply = txs, apply
        self._ctx = OverlayContext(env, pre)
        self.overlay: Overlay = self._ctx.committed

    def run_one(self, index: int, diff: Overlay) -> tuple[RawReceipt, RawTrace]:
        """Execute transaction ``index``; its writes go to the overlay and to ``diff``."""
        ctx = self._ctx
        reads: dict[Key, int] = {}
        writes: dict[Key, int] = {}
        events: list[Event] = []
        ctx.reads, ctx.writes, ctx.events = reads, writes, events
        try:
            self.apply(self.txs[index], ctx)
        except Revert as revert:
            return (False, revert.reason, _NO_EVENTS), (reads, {}, 1)
        overlay = self.overlay
        for key, value in writes.items():
            overlay[key] = diff[key] = (index, value)
        return (True, None, tuple(events)), (reads, writes, 1)

    def run(self, chunk: Chunk, diff: Overlay) -> tuple[list[RawReceipt], list[RawTrace]]:
        """Execute a chunk in order; ``diff`` collects the last write of each key it wrote."""
        receipts: list[RawReceipt] = []
        traces: list[RawTrace] = []
        for index in range(chunk.start, chunk.stop):
            receipt, trace = self.run_one(index, diff)
            receipts.append(receipt)
            traces.append(trace)
        return receipts, traces


class Validated(NamedTuple):
    """What validating a child's chunk changed: the transactions redone, and the keys any
    redone transaction wrote in either run — where the child's view may now be wrong."""

    redone: Redone
    fixed: set[Key]


def validate(runner: Runner, chunk: Chunk, traces: list[RawTrace], dirty: set[Key]) -> Validated:
    """Fold a child's chunk into ``runner.overlay`` (the exact state before it), in order.

    ``dirty`` (consumed) starts as the keys the child had not seen.
    """
    overlay = runner.overlay
    redone: Redone = {}
    fixed: set[Key] = set()
    index = chunk.start
    for reads, writes, _ in traces:
        if dirty and not dirty.isdisjoint(reads):
            receipt, (new_reads, new_writes, _) = runner.run_one(index, {})
            redone[index - chunk.start] = receipt, (new_reads, new_writes, 2)
            fixed.update(writes, new_writes)
            dirty.update(writes, new_writes)
        elif writes:
            if dirty:
                dirty.difference_update(writes)
            for key, value in writes.items():
                overlay[key] = (index, value)
        index += 1
    return Validated(redone, fixed)


#: How the parent folds a child's chunk in (a parameter, so seeded bugs can replace it).
Validate = Callable[[Runner, Chunk, list[RawTrace], set[Key]], Validated]
