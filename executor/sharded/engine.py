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

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from txlanes.models.context import BlockEnv, Event, Key, Revert
from txlanes.models.spec import execute_tx
from txlanes.models.tx import Tx
from txlanes.models.workload import Block

from ..buffered import BufferedWrites
from ..result import PRE_STATE, BlockResult, Receipt, TxTrace
from .node import COORDINATOR, Msg, Node, TxnId, TxnInfo
from .partition import PARTITIONERS, Partitioner
from .protocol import ABORT, COMMIT, UNDECIDED, YES, TwoPhaseCommit
from .simnet import Faults, SimNetwork

Versioned = dict[Key, tuple[int, int]]  # key → (writer index or PRE_STATE, value)
_NO_EVENTS: tuple[Event, ...] = ()
TIMEOUT = 60  # virtual time a coordinator waits for votes (doubling per retry), plus delays
RESEND = 15  # virtual time between retransmissions of unanswered messages, plus delays


class Blocked(RuntimeError):
    """Transactions left undecided when the simulation's time ran out: 2PC's known weakness
    (a participant that voted yes must wait for a decision), shown rather than hidden."""


class ProtocolViolation(RuntimeError):
    """The simulator saw a shard commit what another shard aborted: atomicity is broken."""


class _Foreign(Exception):
    """The transaction touched a key outside the keys it was admitted with."""


class _Ctx(BufferedWrites):
    """Reads from versioned values; a key outside ``allowed`` (when given) is foreign."""

    def __init__(self, env: BlockEnv, lookup: Callable[[Key], tuple[int, int]],
                 allowed: Callable[[Key], bool] | None) -> None:  # fmt: skip
        self.block = env
        self.lookup = lookup
        self.allowed = allowed
        self.reads: dict[Key, int] = {}
        self.writes: dict[Key, int] = {}
        self.events: list[Event] = []

    def read(self, key: Key) -> int:
        if key in self.writes:
            return self.writes[key]
        if self.allowed is not None and not self.allowed(key):
            raise _Foreign(key)
        writer, value = self.lookup(key)
        self.reads[key] = writer
        return value

    def write(self, key: Key, value: int) -> None:
        if self.allowed is not None and not self.allowed(key):
            raise _Foreign(key)
        super().write(key, value)


def _execute(tx: Tx, ctx: _Ctx) -> tuple[Receipt, TxTrace]:
    try:
        execute_tx(tx, ctx)
    except Revert as revert:
        return Receipt(False, revert.reason, _NO_EVENTS), TxTrace(ctx.reads, {})
    return Receipt(True, None, tuple(ctx.events)), TxTrace(ctx.reads, ctx.writes)


@dataclass
class _Round:
    txs: list[int]
    shards: dict[int, frozenset[int]]
    keys: dict[int, frozenset[Key]]
    deferred: list[int] = field(default_factory=list)


class ShardedEngine:
    """Sharded execution over a simulated network (``transport="sim"``), with faults injected
    from a `Faults` plan. See the module docstring for how a block runs."""

    name = "sharded"

    def __init__(
        self,
        shards: int = 4,
        partition: str | Partitioner = "account",
        protocol: TwoPhaseCommit | None = None,
        faults: Faults | None = None,
        max_time: int = 1_000_000,
    ) -> None:
        if shards < 1:
            raise ValueError(f"--shards must be >= 1, got {shards}")
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

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        return _BlockRun(self, block, state).run()


class _BlockRun:
    def __init__(self, engine: ShardedEngine, block: Block, state: Mapping[Key, int]) -> None:
        self.engine = engine
        self.block = block
        self.pre = state
        self.S = engine.shards
        self.committed: Versioned = {}  # what earlier rounds wrote
        self.receipts: dict[int, Receipt] = {}
        self.traces: dict[int, TxTrace] = {}
        self.order: list[int] = []
        self.net = SimNetwork(engine.faults)
        self.stats = {"executions": 0, "local": 0, "cross_shard": 0, "deferred": 0,
                      "retries": 0, "rounds": 0}  # fmt: skip

    # -- reading state ------------------------------------------------------------------------

    def value(self, key: Key) -> tuple[int, int]:
        return self.committed.get(key) or (PRE_STATE, self.pre.get(key, 0))

    def reconnoitre(self, i: int) -> frozenset[Key]:
        ctx = _Ctx(self.block.env, self.value, None)
        self.stats["executions"] += 1
        _execute(self.block.txs[i], ctx)
        return frozenset(ctx.reads) | frozenset(ctx.writes)

    # -- the block ----------------------------------------------------------------------------

    def run(self) -> BlockResult:
        pending = list(range(len(self.block.txs)))
        cluster = _Cluster(self)
        while pending:
            self.stats["rounds"] += 1
            keys = {i: self.reconnoitre(i) for i in pending}
            shards = {i: frozenset(self.engine.shard_of(k, self.S) for k in keys[i]) or
                      frozenset({0}) for i in pending}  # fmt: skip
            rnd = _Round(pending, shards, keys)
            cluster.run_round(rnd)
            self.stats["deferred"] += len(rnd.deferred)
            pending = rnd.deferred
        n = len(self.block.txs)
        diff = {key: value for key, (_, value) in self.committed.items()}
        net = self.net.stats
        self.stats |= {"messages": net.sent, "dropped": net.dropped,
                       "duplicated": net.duplicated, "lost_to_crash": net.lost_to_crash,
                       "crashes": net.crashes}  # fmt: skip
        return BlockResult(
            diff,
            [self.receipts[i] for i in range(n)],
            [self.traces[i] for i in range(n)],
            self.stats,
            order=None if self.order == list(range(n)) else self.order,
        )


class _Cluster:
    """The shards and the coordinator for one block: protocol state and message bookkeeping
    last the whole block (a late duplicate from round 1 must still find its attempt finished);
    queues and overlays are per round."""

    def __init__(self, run: _BlockRun) -> None:
        self.run_ = run
        self.S = run.S
        protocol = run.engine.protocol
        self.nodes = {p: Node(protocol, self.S, p) for p in range(self.S)}
        self.coord = Node(protocol, self.S, COORDINATOR)
        self.attempt: dict[int, int] = {}
        self.parts: dict[TxnId, frozenset[int]] = {}
        self.round = 0
        self.latest: dict[int, dict[int, TxnId]] = {p: {} for p in range(self.S)}
        self.voted_here: dict[int, set[TxnId]] = {p: set() for p in range(self.S)}
        self.votes: dict[TxnId, dict[int, Versioned]] = {}
        self.acked: dict[TxnId, set[int]] = {}
        self.writes: dict[TxnId, dict[int, dict[Key, int]]] = {}
        self.retry: dict[TxnId, bool] = {}
        self.applied_commit: dict[TxnId, set[int]] = {}
        self.applied_abort: dict[TxnId, set[int]] = {}

    def start(self, rnd: _Round) -> None:
        self.rnd = rnd
        self.round += 1
        self.queues = {p: deque(i for i in rnd.txs if p in rnd.shards[i]) for p in range(self.S)}
        self.overlay: dict[int, Versioned] = {p: {} for p in range(self.S)}
        self.cross = [i for i in rnd.txs if len(rnd.shards[i]) > 1]
        for i in self.cross:
            self.attempt[i] = self.attempt.get(i, -1) + 1
        self.done: set[int] = set()
        self.finished: list[int] = []

    # -- helpers ------------------------------------------------------------------------------

    def shard_of(self, key: Key) -> int:
        return self.run_.engine.shard_of(key, self.S)

    def lookup(self, p: int, key: Key) -> tuple[int, int]:
        return self.overlay[p].get(key) or self.run_.value(key)

    def locked_keys(self, p: int) -> set[Key]:
        node = self.nodes[p]
        keys: set[Key] = set()
        for t, info in node.txns.items():
            if node.get("locked", t, p):
                keys |= info.keys.get(p, frozenset())
        return keys

    def send(self, msgs: list[Msg] | None) -> None:
        for m in msgs or []:
            self.run_.net.send(m)

    # -- the run ------------------------------------------------------------------------------

    def run_round(self, rnd: _Round) -> None:
        self.start(rnd)
        net = self.run_.net
        for i in self.cross:
            self.begin(i)
        for p in range(self.S):
            net.at(net.now, "wake", p)
        handlers: dict[str, Callable[[Any], None]] = {
            "deliver": self.deliver,
            "wake": self.advance,
            "timeout": self.timeout,
            "resend": self.resend,
            "crash": self.crash,
            "restart": self.restart,
        }
        self.resend_every = RESEND + 2 * self.run_.engine.faults.max_delay
        net.at(net.now + self.resend_every, "resend", self.round)
        finished = net.run(handlers, self.quiescent, net.now + self.run_.engine.max_time)
        if not finished:
            raise Blocked(self.describe_blocked())
        for i in sorted(self.finished, key=self.rnd.txs.index):
            self.run_.order.append(i)
        for p in range(self.S):
            self.run_.committed |= self.overlay[p]

    def quiescent(self) -> bool:
        return (
            len(self.done) + len(self.rnd.deferred) == len(self.rnd.txs)
            and all(not self.queues[p] and not self.locked_keys(p) for p in range(self.S))
            and all(self.acked.get(t, set()) >= self.participants(t) for t in self.writes)
        )

    def participants(self, t: TxnId) -> frozenset[int]:
        return self.parts[t]

    def describe_blocked(self) -> str:
        lines = []
        for t in self.coord.txns:
            decision = self.coord.get("decision", t)
            if decision == UNDECIDED or self.acked.get(t, set()) < self.participants(t):
                holders = [p for p in self.participants(t) if self.nodes[p].get("locked", t, p)]
                state = {UNDECIDED: "undecided", COMMIT: "committed", ABORT: "aborted"}[decision]
                lines.append(f"tx {t[0]} (attempt {t[1]}): {state}; locks held on shards "
                             f"{holders or 'none'}")  # fmt: skip
        waiting = {p: list(q)[:3] for p, q in self.queues.items() if q}
        down = sorted(self.run_.net.down)
        return (f"{len(self.rnd.txs) - len(self.done) - len(self.rnd.deferred)} transaction(s) "
                f"not finished when virtual time ran out; nodes down: {down or 'none'}; "
                f"queues waiting: {waiting}; " + "; ".join(lines))  # fmt: skip

    # -- coordinator --------------------------------------------------------------------------

    def begin(self, i: int) -> None:
        t = (i, self.attempt[i])
        parts = self.parts[t] = self.rnd.shards[i]
        keys = {p: frozenset(k for k in self.rnd.keys[i] if self.shard_of(k) == p) for p in parts}
        self.coord.txns[t] = TxnInfo(parts, keys)
        msgs = self.coord.run("begin", t) or []
        self.send([Msg(m.kind, t, m.shard, (parts, keys)) for m in msgs])
        self.arm_timeout(t)

    def arm_timeout(self, t: TxnId) -> None:
        """Back off: a transaction waiting its turn in a long queue is slow, not lost."""
        wait = (TIMEOUT + 4 * self.run_.engine.faults.max_delay) * 2 ** min(t[1], 8)
        self.run_.net.at(self.run_.net.now + wait, "timeout", t)

    def on_vote(self, m: Msg) -> None:
        if m.txn not in self.coord.txns:
            return  # an answer about an attempt already finished
        self.coord.receive(m)
        if m.kind == "yes_sent":
            self.votes.setdefault(m.txn, {})[m.shard] = m.payload
            self.decide(m.txn)
        else:
            self.abort(m.txn, retry=True)

    def decide(self, t: TxnId) -> None:
        if COORDINATOR in self.run_.net.down or self.coord.get("decision", t) != UNDECIDED:
            return
        trial = Node(self.coord.protocol, self.S, COORDINATOR)
        trial.state, trial.received, trial.sent, trial.txns = (
            {k: dict(v) for k, v in self.coord.state.items()}, set(self.coord.received),
            set(self.coord.sent), self.coord.txns,
        )  # fmt: skip
        if trial.run("commit", t) is None:
            return
        i = t[0]
        values: Versioned = {}
        for answer in self.votes.get(t, {}).values():
            values |= answer
        keys = self.rnd.keys[i]
        ctx = _Ctx(self.run_.block.env,
                   lambda k: values[k] if k in values else self.run_.value(k),
                   lambda k: k in keys)  # fmt: skip
        self.run_.stats["executions"] += 1
        try:
            receipt, trace = _execute(self.run_.block.txs[i], ctx)
        except _Foreign:
            self.abort(t, retry=False)
            return
        msgs = self.coord.run("commit", t) or []
        self.run_.stats["cross_shard"] += 1
        self.run_.receipts[i], self.run_.traces[i] = receipt, trace
        per_shard: dict[int, dict[Key, int]] = {p: {} for p in self.participants(t)}
        for key, value in trace.writes.items():
            per_shard[self.shard_of(key)][key] = value
        self.writes[t] = per_shard
        self.decided(t, msgs)

    def decided(self, t: TxnId, msgs: list[Msg]) -> None:
        """Fan a decision out to every participant, with its part of the writes."""
        self.acked.setdefault(t, set())
        for m in msgs:
            for p in self.participants(t):
                payload = self.writes.get(t, {}).get(p, {}) if m.kind == "commit_sent" else \
                    self.retry.get(t, True)  # fmt: skip
                self.run_.net.send(Msg(m.kind, t, p, payload))

    def abort(self, t: TxnId, retry: bool) -> None:
        if COORDINATOR in self.run_.net.down:
            return
        msgs = self.coord.run("abort", t)
        if msgs is None:
            return
        self.retry[t] = retry
        self.writes[t] = {}
        self.decided(t, msgs)
        i = t[0]
        if retry:
            self.run_.stats["retries"] += 1
            self.attempt[i] += 1
            self.begin(i)
        else:
            self.rnd.deferred.append(i)

    def timeout(self, t: TxnId) -> None:
        current = t[0] in self.rnd.shards and self.attempt.get(t[0]) == t[1]
        if current and self.coord.get("decision", t) == UNDECIDED:
            self.abort(t, retry=True)

    def resend(self, round_: int) -> None:
        """Retransmit what is unanswered: PREPAREs without a vote, decisions without an ack."""
        net = self.run_.net
        if round_ != self.round:
            return  # a timer of an earlier round
        if COORDINATOR not in net.down:
            for t, info in self.coord.txns.items():
                decision = self.coord.get("decision", t)
                if decision == UNDECIDED:
                    voted = self.votes.get(t, {})
                    for p in info.participants - set(voted):
                        net.send(Msg("prepare_sent", t, p, (info.participants, info.keys)))
                else:
                    kind = "commit_sent" if decision == COMMIT else "abort_sent"
                    for p in self.participants(t) - self.acked.get(t, set()):
                        payload = self.writes[t].get(p, {}) if decision == COMMIT else \
                            self.retry.get(t, True)  # fmt: skip
                        net.send(Msg(kind, t, p, payload))
        if not self.quiescent():
            net.at(net.now + self.resend_every, "resend", self.round)

    # -- participants -------------------------------------------------------------------------

    def deliver(self, m: Msg) -> None:
        if m.to == COORDINATOR:
            if m.kind == "ack":
                acked = self.acked.setdefault(m.txn, set())
                acked.add(m.shard)
                if acked >= self.participants(m.txn):
                    self.coord.archive(m.txn)
            else:
                self.on_vote(m)
            return
        p, node, t = m.shard, self.nodes[m.shard], m.txn
        if t in node.archived:  # a duplicate about an attempt this shard finished
            if m.kind != "prepare_sent":
                self.run_.net.send(Msg("ack", t, p))
            return
        if m.kind == "prepare_sent":
            parts, keys = m.payload
            node.txns.setdefault(t, TxnInfo(parts, keys))
            node.receive(m)
            current = self.latest[p].get(t[0])
            if current is None or current[1] < t[1]:
                self.latest[p][t[0]] = t
            if node.get("vote", t, p) == YES:
                self.send([Msg("yes_sent", t, p, self.values(p, t))])  # a duplicate: answer again
            self.advance(p)
            return
        node.txns.setdefault(t, TxnInfo(self.participants(t), {}))
        node.receive(m)
        action = "apply_commit" if m.kind == "commit_sent" else "apply_abort"
        if node.run(action, t, p) is not None:
            node.archive(t)
            outcome = self.applied_commit if m.kind == "commit_sent" else self.applied_abort
            outcome.setdefault(t, set()).add(p)
            if self.applied_commit.get(t) and self.applied_abort.get(t):
                committed, aborted = sorted(self.applied_commit[t]), sorted(self.applied_abort[t])
                raise ProtocolViolation(
                    f"atomicity: tx {t[0]} (attempt {t[1]}) committed on shards {committed} "
                    f"and aborted on {aborted}"
                )
            if m.kind == "commit_sent":
                if t[0] in self.queues[p]:
                    self.queues[p].remove(t[0])  # decided without this shard's vote
                for key, value in m.payload.items():
                    self.overlay[p][key] = (t[0], value)
                self.finish(t)
            elif m.payload and t in self.voted_here[p] and t[0] not in self.queues[p]:
                self.queues[p].appendleft(t[0])  # retried in place: keep its turn
            elif not m.payload and t[0] in self.queues[p]:
                self.queues[p].remove(t[0])  # deferred to the next round
        self.run_.net.send(Msg("ack", t, p))
        self.advance(p)

    def finish(self, t: TxnId) -> None:
        i = t[0]
        if i not in self.done and self.applied_commit[t] >= self.participants(t):
            self.done.add(i)
            self.finished.append(i)

    def values(self, p: int, t: TxnId) -> Versioned:
        keys = self.nodes[p].txns[t].keys.get(p, frozenset())
        return {k: self.lookup(p, k) for k in keys}

    def vote(self, p: int, t: TxnId) -> bool:
        msgs = self.nodes[p].run("vote_yes", t, p)
        if msgs is None:
            return False
        self.voted_here[p].add(t)
        self.send([Msg(m.kind, t, p, self.values(p, t)) for m in msgs])
        return True

    def advance(self, p: int) -> None:
        """Walk shard p's queue in block order as far as locks and messages allow."""
        if p in self.run_.net.down:
            return
        queue = self.queues[p]
        while queue:
            i = queue[0]
            if len(self.rnd.shards[i]) > 1:
                t = self.latest[p].get(i)
                if t is None or t[1] != self.attempt[i] or not self.vote(p, t):
                    return
                queue.popleft()
                continue
            if self.rnd.keys[i] & self.locked_keys(p):
                return
            queue.popleft()
            self.run_local(p, i)

    def run_local(self, p: int, i: int) -> None:
        ctx = _Ctx(self.run_.block.env, lambda k: self.lookup(p, k),
                   lambda k: self.shard_of(k) == p)  # fmt: skip
        self.run_.stats["executions"] += 1
        try:
            receipt, trace = _execute(self.run_.block.txs[i], ctx)
        except _Foreign:
            self.rnd.deferred.append(i)
            return
        self.run_.stats["local"] += 1
        self.run_.receipts[i], self.run_.traces[i] = receipt, trace
        for key, value in trace.writes.items():
            self.overlay[p][key] = (i, value)
        self.done.add(i)
        self.finished.append(i)

    # -- faults -------------------------------------------------------------------------------

    def crash(self, node: int) -> None:
        if node == COORDINATOR:
            self.coord.run("crash_coordinator")
        else:
            self.nodes[node].run("crash", node)

    def restart(self, node: int) -> None:
        if node == COORDINATOR:
            for t in self.coord.txns:
                if self.coord.get("decision", t) == UNDECIDED:
                    self.arm_timeout(t)
            return
        self.advance(node)
