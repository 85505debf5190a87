"""The sharded engine: keys partitioned over S shards; a transaction whose keys live on one shard
runs there, a cross-shard one commits by the two-phase commit of protocol.py (the very actions
z3 checks), with two-phase locking on keys.

How a block runs (each shard processes its queue strictly in block order):
1. Reconnaissance: each transaction runs once against the state to learn its keys, hence its
   shards (as Calvin does).
2. Shard p walks its queue. A local transaction runs when none of its keys is locked; a cross-
   shard one, once its PREPARE has arrived, is voted on (`vote_yes` locks its keys on p and sends
   their values) and the shard moves on; a later conflicting transaction waits for the lock.
3. The coordinator, holding every participant's yes, executes the transaction on the values the
   votes carried, and commits with each shard's writes (`commit`); participants apply them and
   release the locks (`apply_commit`). A timeout aborts and retries the transaction in place.
4. A transaction that touches a key its reconnaissance did not predict (its keys depend on
   state an earlier transaction changed) is aborted and deferred to a next round, run the same
   way after this one. The first transaction of a round always runs on the state its
   reconnaissance saw, so every round makes progress.

The result is equivalent to executing, in order, round 1's transactions in block order, then
round 2's, and so on (``BlockResult.order``): locks order every pair of conflicting transactions
as the shard queues do. With no deferral that is block order, and the result equals the
sequential engine's, transaction by transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from txlanes.models.context import Key
from txlanes.models.workload import Block

from ..result import BlockResult
from .book import BlockRun, ShardedRunError
from .coordinator import CoordinatorActor, Timer
from .node import COORDINATOR, Msg, TxnId
from .partition import PARTITIONERS, Partitioner
from .processes import ProcessBlock
from .protocol import UNDECIDED, TwoPhaseCommit
from .ray_actors import RayBlock
from .shard import Out, Round, ShardActor
from .simnet import Faults, SimNetwork, healing_faults

TIMEOUT = 60  # virtual time a coordinator waits for votes (doubling per retry), plus delays
RESEND = 15  # virtual time between retransmissions of unanswered messages, plus delays


class Blocked(ShardedRunError):
    """Transactions left undecided when the simulation's time ran out: 2PC's known weakness
    (a participant that voted yes must wait for a decision), shown rather than hidden."""


TRANSPORTS = ("sim", "processes", "ray")


class ShardedEngine:
    """Sharded execution over a simulated network (``transport="sim"``, with faults injected
    from a `Faults` plan), with each shard in a process of its own (``"processes"``: real
    parallelism), or each shard a Ray actor (``"ray"``, on the cluster at ``ray_address`` or
    a local instance). See the module docstring for how a block runs."""

    name = "sharded"

    def __init__(
        self,
        shards: int = 4,
        partition: str | Partitioner = "account",
        protocol: TwoPhaseCommit | None = None,
        faults: Faults | None = None,
        max_time: int = 1_000_000,
        transport: str = "sim",
        ray_address: str | None = None,
    ) -> None:
        if shards < 1:
            raise ValueError(f"--shards must be >= 1, got {shards}")
        if transport not in TRANSPORTS:
            raise ValueError(
                f"unknown transport {transport!r} (available: {', '.join(TRANSPORTS)})"
            )
        if transport != "sim" and faults is not None:
            raise ValueError("faults are injected only on the simulated network (transport sim)")
        if isinstance(partition, str):
            if partition not in PARTITIONERS:
                known = ", ".join(PARTITIONERS)
                raise ValueError(f"unknown partitioner {partition!r} (known: {known})")
            partition = PARTITIONERS[partition]
        self.shards = shards
        self.shard_of = partition
        self.protocol = protocol or TwoPhaseCommit()
        self.faults = faults or Faults()
        self.max_time = max_time
        self.transport = transport
        self.ray_address = ray_address

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        if self.transport == "sim":
            return _SimBlock(self, block, state).run()
        args = (block, state, self.shards, self.shard_of, self.protocol)
        run = ProcessBlock(*args) if self.transport == "processes" else \
            RayBlock(*args, address=self.ray_address)  # fmt: skip
        try:
            return run.run()
        finally:
            run.close()


def simulated_sharded(
    shards: int, seed: int, protocol: TwoPhaseCommit | None = None, partition: str = "account"
) -> ShardedEngine:
    """The sharded engine on the simulated network under the healing fault plan ``seed`` draws:
    what a campaign checks, shrinks and replays (a bounded virtual time turns a stuck commit
    into ``Blocked`` rather than a hang)."""
    faults = healing_faults(seed, shards)
    return ShardedEngine(shards, partition, protocol, faults, max_time=200_000)


class _SimBlock(BlockRun):
    """One block on the simulated network."""

    def __init__(self, engine: ShardedEngine, block: Block, state: Mapping[Key, int]) -> None:
        super().__init__(block, engine.shard_of, engine.shards)
        self.engine = engine
        self.net = SimNetwork(engine.faults)
        self.shards = [
            ShardActor(p, self.S, engine.protocol, block.txs, block.env, state, engine.shard_of)
            for p in range(self.S)
        ]
        delay = engine.faults.max_delay
        self.coord = CoordinatorActor(
            self.S, engine.protocol, block.txs, block.env, self.value, engine.shard_of,
            TIMEOUT + 4 * delay, 3 * delay,
        )  # fmt: skip
        self.resend_every = RESEND + 2 * delay
        self.round_no = 0

    def value(self, key: Key) -> tuple[int, int]:
        """The block's state so far: the owning shard's writes over the pre-state."""
        return self.shards[self.shard_of(key, self.S)].lookup(key)

    def diff(self) -> dict[Key, int]:
        net = self.net.stats
        self.stats |= {"messages": net.sent, "dropped": net.dropped,
                       "duplicated": net.duplicated, "lost_to_crash": net.lost_to_crash,
                       "crashes": net.crashes}  # fmt: skip
        return {k: v for shard in self.shards for k, (_, v) in shard.data.items()}

    def run_round(self, rnd: Round) -> None:
        self.round_no += 1
        net = self.net
        self.route(COORDINATOR, self.coord.start_round(rnd))
        for p, shard in enumerate(self.shards):
            self.route(p, shard.start_round(rnd, run=p not in net.down))
        net.at(net.now + self.resend_every, "resend", self.round_no)
        handlers: dict[str, Callable[[Any], None]] = {
            "deliver": self.deliver,
            "timeout": self.timeout,
            "resend": self.resend,
            "crash": self.crash,
            "restart": self.restart,
        }
        if not net.run(handlers, self.quiescent, net.now + self.engine.max_time):
            raise Blocked(self.describe_blocked())

    def quiescent(self) -> bool:
        return self.round_over(all(shard.idle() for shard in self.shards))

    def route(self, source: int, outs: Sequence[Out | Timer]) -> None:
        for out in outs:
            if isinstance(out, Msg):
                self.net.send(out)
            elif isinstance(out, Timer):
                self.net.at(self.net.now + int(out.wait), "timeout", out.txn)
            else:
                self.report(source, out)

    # -- events -------------------------------------------------------------------------------

    def deliver(self, m: Msg) -> None:
        if m.to == COORDINATOR:
            self.route(COORDINATOR, self.coord.deliver(m))
        else:
            self.route(m.shard, self.shards[m.shard].deliver(m))

    def timeout(self, t: TxnId) -> None:
        if COORDINATOR not in self.net.down:
            self.route(COORDINATOR, self.coord.timeout(t))

    def resend(self, round_no: int) -> None:
        if round_no != self.round_no:
            return  # a timer of an earlier round
        if COORDINATOR not in self.net.down:
            self.route(COORDINATOR, self.coord.resend())
        if not self.quiescent():
            self.net.at(self.net.now + self.resend_every, "resend", round_no)

    def crash(self, node: int) -> None:
        (self.coord if node == COORDINATOR else self.shards[node]).crash()

    def restart(self, node: int) -> None:
        actor = self.coord if node == COORDINATOR else self.shards[node]
        self.route(node, actor.restart())

    def describe_blocked(self) -> str:
        lines = []
        for t in self.coord.undecided():
            holders = [p for p in self.coord.parts[t] if self.shards[p].node.get("locked", t, p)]
            decided = self.coord.node.get("decision", t) != UNDECIDED
            state = "decided, not acknowledged" if decided else "undecided"
            lines.append(f"tx {t[0]} (attempt {t[1]}): {state}; locks held on shards "
                         f"{holders or 'none'}")  # fmt: skip
        waiting = {p: list(s.queue)[:3] for p, s in enumerate(self.shards) if s.queue}
        unfinished = len(self.rnd.txs) - len(self.done) - len(self.deferred)
        return "; ".join([
            f"{unfinished} transaction(s) not finished when virtual time ran out",
            f"nodes down: {sorted(self.net.down) or 'none'}",
            f"queues waiting: {waiting}",
            *lines,
        ])  # fmt: skip
