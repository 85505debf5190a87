"""One lane's work on a chunk, without I/O: speculate, then finalize against what it missed.

A block is cut into chunks dealt round-robin to the lanes (processes). A lane speculates its
chunk against every chunk it already knows, in order; the chunks it has not yet seen (those the
other lanes are executing at the same time) are folded in afterwards. Finalizing keeps a
transaction's speculative result when none of its reads touched a key those chunks wrote, and
re-executes it otherwise — against the exact state, so the outcome is the sequential one.

Validity is tracked with a set of *dirty* keys: a key whose true value before the transaction
may differ from what speculation saw. It starts as the keys the missed chunks wrote; a
re-executed transaction dirties everything it wrote before and after; a kept transaction that
writes a key makes it clean again (its value is right, and later readers saw it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from txlanes.models.context import BlockEnv, Context, Event, Key, Revert
from txlanes.models.tx import Tx

from ..buffered import BufferedWrites
from ..result import PRE_STATE

#: key → (index of the transaction that wrote it last, value), for the block so far.
Overlay = dict[Key, tuple[int, int]]
Apply = Callable[[Tx, Context], None]
#: A Receipt and a TxTrace as plain tuples: cheaper to build, and ``marshal`` takes them.
RawReceipt = tuple[bool, str | None, tuple[Event, ...]]
RawTrace = tuple[dict[Key, int], dict[Key, int], int]

_NO_EVENTS: tuple[Event, ...] = ()


class _Ctx(BufferedWrites):
    """Reads see this transaction's writes, then the chunk's, then the block's, then pre-state."""

    __slots__ = ("block", "events", "final", "local", "pre", "reads", "writes")

    def __init__(self, env: BlockEnv, pre: Mapping[Key, int], final: Overlay) -> None:
        self.block = env
        self.pre = pre
        self.final = final
        self.local: Overlay = {}
        self.reads: dict[Key, int] = {}
        self.writes: dict[Key, int] = {}
        self.events: list[Event] = []

    def read(self, key: Key) -> int:
        writes = self.writes
        if key in writes:
            return writes[key]
        hit = self.local.get(key)
        if hit is None:
            hit = self.final.get(key)
            if hit is None:
                self.reads[key] = PRE_STATE
                return self.pre.get(key, 0)
        self.reads[key] = hit[0]
        return hit[1]


@dataclass
class ChunkResult:
    """A chunk's receipts and traces, and ``diff``: the last write of each key it wrote."""

    start: int
    receipts: list[RawReceipt]
    traces: list[RawTrace]
    diff: Overlay
    executions: int


class Lane:
    """What one process knows of the block: pre-state plus ``final``, the finished chunks."""

    def __init__(
        self, txs: tuple[Tx, ...], env: BlockEnv, pre: Mapping[Key, int], apply: Apply
    ) -> None:
        self.txs, self.env, self.pre, self.apply = txs, env, pre, apply
        self.final: Overlay = {}
        self._ctx = _Ctx(env, pre, self.final)

    def _run(self, index: int, local: Overlay) -> tuple[RawReceipt, RawTrace]:
        """Execute one transaction against ``local`` over ``final``; record its writes in local."""
        ctx = self._ctx
        reads: dict[Key, int] = {}
        writes: dict[Key, int] = {}
        events: list[Event] = []
        ctx.local, ctx.reads, ctx.writes, ctx.events = local, reads, writes, events
        try:
            self.apply(self.txs[index], ctx)
        except Revert as revert:
            return (False, revert.reason, _NO_EVENTS), (reads, {}, 1)
        for key, value in writes.items():
            local[key] = (index, value)
        return (True, None, tuple(events)), (reads, writes, 1)

    def speculate(self, start: int, stop: int) -> ChunkResult:
        """Run ``txs[start:stop]`` in order on what this lane knows now."""
        local: Overlay = {}
        receipts: list[RawReceipt] = []
        traces: list[RawTrace] = []
        for index in range(start, stop):
            receipt, trace = self._run(index, local)
            receipts.append(receipt)
            traces.append(trace)
        return ChunkResult(start, receipts, traces, local, stop - start)

    def finalize(self, spec: ChunkResult, missed: set[Key]) -> ChunkResult:
        """The chunk's sequential result, given the keys written by chunks speculation missed.

        ``final`` must already hold those chunks. Re-executed transactions count two
        incarnations, like a Block-STM re-execution.
        """
        if not missed:
            return spec
        dirty = set(missed)
        local: Overlay = {}
        receipts, traces = list(spec.receipts), list(spec.traces)
        executions = spec.executions
        for offset, (old_reads, old_writes, _) in enumerate(spec.traces):
            index = spec.start + offset
            if dirty.isdisjoint(old_reads):
                dirty.difference_update(old_writes)
                for key, value in old_writes.items():
                    local[key] = (index, value)
                continue
            receipts[offset], (reads, writes, _) = self._run(index, local)
            traces[offset] = (reads, writes, 2)
            executions += 1
            dirty.update(old_writes)
            dirty.update(writes)
        return ChunkResult(spec.start, receipts, traces, local, executions)
