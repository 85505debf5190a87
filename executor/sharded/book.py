"""What a sharded block run keeps, whatever the transport: rounds, the shards' and the
coordinator's reports, the atomicity watch, the equivalent order, the result."""

from __future__ import annotations

from collections.abc import Callable

from txlanes.models.context import Key
from txlanes.models.workload import Block

from ..result import BlockResult, Receipt, TxTrace
from .coordinator import CoordinatorActor
from .node import TxnId
from .shard import Report, Round, TxCtx, run_tx


class ShardedRunError(RuntimeError):
    """A block the sharded engine could not finish correctly (the message says why)."""


class ProtocolViolation(ShardedRunError):
    """A shard committed what another shard aborted: atomicity is broken."""


class BlockRun:
    """The transport-independent half of running a block; a transport supplies ``value``
    (the block's state so far), ``run_round`` and ``diff``."""

    coord: CoordinatorActor

    def __init__(self, block: Block, shard_of: Callable[[Key, int], int], shards: int) -> None:
        self.block, self.shard_of, self.S = block, shard_of, shards
        self.receipts: dict[int, Receipt] = {}
        self.traces: dict[int, TxTrace] = {}
        self.order: list[int] = []
        self.applied: dict[tuple[TxnId, str], set[int]] = {}
        self.rnd = Round([], {}, {})
        self.done: list[int] = []
        self.deferred: list[int] = []
        self.stats = {"executions": 0, "local": 0, "cross_shard": 0, "deferred": 0,
                      "retries": 0, "rounds": 0}  # fmt: skip

    def value(self, key: Key) -> tuple[int, int]:
        raise NotImplementedError

    def run_round(self, rnd: Round) -> None:
        raise NotImplementedError

    def diff(self) -> dict[Key, int]:
        raise NotImplementedError

    def reconnoitre(self, i: int) -> frozenset[Key]:
        """Run a transaction once on the state so far, to learn its keys (hence its shards)."""
        ctx = TxCtx(self.block.env, self.value, None)
        self.stats["executions"] += 1
        run_tx(self.block.txs[i], ctx)
        return frozenset(ctx.reads) | frozenset(ctx.writes)

    def run(self) -> BlockResult:
        pending = list(range(len(self.block.txs)))
        while pending:
            self.stats["rounds"] += 1
            keys = {i: self.reconnoitre(i) for i in pending}
            shards = {i: frozenset(self.shard_of(k, self.S) for k in keys[i]) or frozenset({0})
                      for i in pending}  # fmt: skip
            rnd = Round(pending, shards, keys)
            self.rnd, self.done, self.deferred = rnd, [], []
            self.run_round(rnd)
            self.order += sorted(self.done, key=rnd.txs.index)
            self.stats["deferred"] += len(self.deferred)
            pending = self.deferred
        n = len(self.block.txs)
        return BlockResult(
            self.diff(),
            [self.receipts[i] for i in range(n)],
            [self.traces[i] for i in range(n)],
            self.stats,
            order=None if self.order == list(range(n)) else self.order,
        )

    def round_over(self, shards_idle: bool) -> bool:
        return (
            len(self.done) + len(self.deferred) == len(self.rnd.txs)
            and shards_idle
            and self.coord.settled()
        )

    def report(self, source: int, r: Report) -> None:
        if r.kind == "ran":
            self.stats["executions"] += 1
            assert r.receipt is not None and r.trace is not None
            self.receipts[r.index], self.traces[r.index] = r.receipt, r.trace
            if r.txn is None:
                self.stats["local"] += 1
                self.done.append(r.index)
            else:
                self.stats["cross_shard"] += 1
        elif r.kind == "deferred":
            self.stats["executions"] += r.txn is None
            self.deferred.append(r.index)
        elif r.kind == "retry":
            self.stats["retries"] += 1
        else:  # a shard applied a decision
            assert r.txn is not None
            self.applied.setdefault((r.txn, r.kind), set()).add(source)
            committed, aborted = (self.applied.get((r.txn, k), set()) for k in ("commit", "abort"))
            if committed and aborted:
                raise ProtocolViolation(
                    f"atomicity: tx {r.index} (attempt {r.txn[1]}) committed on shards "
                    f"{sorted(committed)} and aborted on {sorted(aborted)}"
                )
            complete = r.kind == "commit" and committed >= self.coord.parts[r.txn]
            if complete and r.index not in self.done:
                self.done.append(r.index)
