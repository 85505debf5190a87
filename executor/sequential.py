"""The reference engine: transactions one after another, in block order.

It is the meaning of "correct" for every other engine and the baseline of every speedup figure,
so it is written to be obviously right and to stay fast: one context object reused across the
block, an overlay of (writer, value) per key instead of copying the pre-state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from txlanes.models.context import BlockEnv, Context, Event, Key, Revert
from txlanes.models.spec import execute_tx
from txlanes.models.tx import Tx
from txlanes.models.workload import Block

from .buffered import BufferedWrites
from .result import PRE_STATE, BlockResult, Receipt, TxTrace

_NO_EVENTS: tuple[Event, ...] = ()


class OverlayContext(BufferedWrites):
    """Reads see this transaction's writes, then ``committed`` — (writer, value) of the block's
    earlier transactions — then the pre-state. The multi-core engine's processes use it too."""

    __slots__ = ("block", "committed", "events", "pre", "reads", "writes")

    def __init__(self, env: BlockEnv, pre: Mapping[Key, int]) -> None:
        self.block = env
        self.pre = pre
        self.committed: dict[Key, tuple[int, int]] = {}
        self.reads: dict[Key, int] = {}
        self.writes: dict[Key, int] = {}
        self.events: list[Event] = []

    def read(self, key: Key) -> int:
        writes = self.writes
        if key in writes:
            return writes[key]
        hit = self.committed.get(key)
        if hit is None:
            self.reads[key] = PRE_STATE
            return self.pre.get(key, 0)
        self.reads[key] = hit[0]
        return hit[1]


class SequentialEngine:
    """Execute a block in order; the reference every other engine is checked against."""

    name = "sequential"
    #: The spec entry point; overridable so a seeded spec bug can be built on this engine.
    apply = staticmethod(execute_tx)

    @classmethod
    def running(cls, apply: Callable[[Tx, Context], None], name: str) -> SequentialEngine:
        """This engine with ``apply`` in place of the spec's entry point: a seeded spec bug, or
        an engine's own re-implementation of part of the spec."""
        engine = cls()
        engine.name = name
        engine.apply = apply  # type: ignore[assignment]
        return engine

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        ctx = OverlayContext(block.env, state)
        committed = ctx.committed
        receipts: list[Receipt] = []
        traces: list[TxTrace] = []
        apply = self.apply
        for index, tx in enumerate(block.txs):
            reads: dict[Key, int] = {}
            writes: dict[Key, int] = {}
            events: list[Event] = []
            ctx.reads, ctx.writes, ctx.events = reads, writes, events
            try:
                apply(tx, ctx)
            except Revert as revert:
                receipts.append(Receipt(False, revert.reason, _NO_EVENTS))
                traces.append(TxTrace(reads, {}))
                continue
            for key, value in writes.items():
                committed[key] = (index, value)
            receipts.append(Receipt(True, None, tuple(events)))
            traces.append(TxTrace(reads, writes))
        diff = {key: value for key, (_, value) in committed.items()}
        return BlockResult(diff, receipts, traces, {"executions": len(block.txs)})
