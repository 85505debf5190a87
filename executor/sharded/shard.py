"""One shard: its participant node, its keys' values, and its queue — a sans-IO actor.

Every method takes what happened (a message, a new round, a crash) and returns what the shard
says: messages for the coordinator and `Report`s for the engine. Nothing here knows how
messages travel, so the same actor runs on the simulated network or in its own process.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from txlanes.models.context import BlockEnv, Event, Key, Revert
from txlanes.models.spec import execute_tx
from txlanes.models.tx import Tx

from ..buffered import BufferedWrites
from ..result import PRE_STATE, Receipt, TxTrace
from .node import Msg, Node, TxnId, TxnInfo
from .protocol import YES, TwoPhaseCommit

Versioned = dict[Key, tuple[int, int]]  # key → (writer index or PRE_STATE, value)
_NO_EVENTS: tuple[Event, ...] = ()


class Foreign(Exception):
    """The transaction touched a key outside the keys it was admitted with."""


class TxCtx(BufferedWrites):
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
            raise Foreign(key)
        writer, value = self.lookup(key)
        self.reads[key] = writer
        return value

    def write(self, key: Key, value: int) -> None:
        if self.allowed is not None and not self.allowed(key):
            raise Foreign(key)
        super().write(key, value)


def run_tx(tx: Tx, ctx: TxCtx) -> tuple[Receipt, TxTrace]:
    """Execute one transaction; ``Foreign`` propagates (the caller defers it)."""
    try:
        execute_tx(tx, ctx)
    except Revert as revert:
        return Receipt(False, revert.reason, _NO_EVENTS), TxTrace(ctx.reads, {})
    return Receipt(True, None, tuple(ctx.events)), TxTrace(ctx.reads, ctx.writes)


@dataclass(frozen=True)
class Report:
    """What a shard tells the engine: a local transaction ran (``ran``), was deferred
    (``deferred``), or a decision was applied here (``commit`` / ``abort``, with the attempt)."""

    kind: str
    index: int
    txn: TxnId | None = None
    receipt: Receipt | None = None
    trace: TxTrace | None = None


Out = Msg | Report


@dataclass(frozen=True)
class Round:
    """A round's transactions, their shards and keys (from reconnaissance)."""

    txs: list[int]
    shards: dict[int, frozenset[int]]
    keys: dict[int, frozenset[Key]]


class ShardActor:
    """Shard ``p`` of a block: walks its queue in block order as far as locks and messages
    allow, votes with the protocol's `vote_yes`, applies decisions with `apply_*`."""

    def __init__(
        self,
        shard: int,
        shards: int,
        protocol: TwoPhaseCommit,
        txs: tuple[Tx, ...],
        env: BlockEnv,
        pre: Mapping[Key, int],
        shard_of: Callable[[Key, int], int],
    ) -> None:
        self.p = shard
        self.shards = shards
        self.node = Node(protocol, shards, shard)
        self.txs, self.env, self.pre, self.shard_of = txs, env, pre, shard_of
        self.data: Versioned = {}  # this block's writes to this shard's keys, every round
        self.queue: deque[int] = deque()
        self.round = Round([], {}, {})
        self.latest: dict[int, TxnId] = {}  # newest attempt whose PREPARE arrived, per tx
        self.voted_here: set[TxnId] = set()

    def lookup(self, key: Key) -> tuple[int, int]:
        return self.data.get(key) or (PRE_STATE, self.pre.get(key, 0))

    def locked_keys(self) -> set[Key]:
        node, keys = self.node, set[Key]()
        for t, info in node.txns.items():
            if node.get("locked", t, self.p):
                keys |= info.keys.get(self.p, frozenset())
        return keys

    def idle(self) -> bool:
        return not self.queue and not self.locked_keys()

    def start_round(self, rnd: Round, run: bool = True) -> list[Out]:
        """A new round's queue; a shard that is down starts walking it when it restarts."""
        self.round = rnd
        self.queue = deque(i for i in rnd.txs if self.p in rnd.shards[i])
        return self.advance() if run else []

    def values(self, t: TxnId) -> Versioned:
        return {k: self.lookup(k) for k in self.node.txns[t].keys.get(self.p, frozenset())}

    def deliver(self, m: Msg) -> list[Out]:
        node, t, p = self.node, m.txn, self.p
        if t in node.archived:  # a duplicate about an attempt this shard finished
            return [] if m.kind == "prepare_sent" else [Msg("ack", t, p)]
        if m.kind == "prepare_sent":
            parts, keys = m.payload
            node.txns.setdefault(t, TxnInfo(parts, keys))
            node.receive(m)
            if t[0] not in self.latest or self.latest[t[0]][1] < t[1]:
                self.latest[t[0]] = t
            out: list[Out] = []
            if node.get("vote", t, p) == YES:
                out.append(Msg("yes_sent", t, p, self.values(t)))  # a duplicate: answer again
            return out + self.advance()
        parts, payload = m.payload
        node.txns.setdefault(t, TxnInfo(parts, {}))
        node.receive(m)
        out = []
        commit = m.kind == "commit_sent"
        if node.run("apply_commit" if commit else "apply_abort", t, p) is not None:
            node.archive(t)
            out.append(Report("commit" if commit else "abort", t[0], t))
            if commit:
                if t[0] in self.queue:
                    self.queue.remove(t[0])  # decided without this shard's vote
                for key, value in payload.items():
                    self.data[key] = (t[0], value)
            elif payload and t in self.voted_here and t[0] not in self.queue:
                self.queue.appendleft(t[0])  # retried in place: keep its turn
            elif not payload and t[0] in self.queue:
                self.queue.remove(t[0])  # deferred to the next round
        return [*out, Msg("ack", t, p), *self.advance()]

    def vote(self, t: TxnId) -> list[Out] | None:
        msgs = self.node.run("vote_yes", t, self.p)
        if msgs is None:
            return None
        self.voted_here.add(t)
        return [Msg(m.kind, t, self.p, self.values(t)) for m in msgs]

    def advance(self) -> list[Out]:
        """Walk the queue in block order as far as locks and messages allow."""
        out: list[Out] = []
        while self.queue:
            i = self.queue[0]
            if len(self.round.shards[i]) > 1:
                t = self.latest.get(i)
                votes = None if t is None else self.vote(t)
                if votes is None:
                    return out
                out += votes
            elif self.round.keys[i] & self.locked_keys():
                return out
            else:
                out.append(self.run_local(i))
            self.queue.popleft()
        return out

    def run_local(self, i: int) -> Report:
        # only the keys it was admitted with (its reconnaissance's, all on this shard): another
        # key of this shard may be locked by an earlier cross-shard transaction the queue
        # order is waiting on, so touching it would overtake that transaction
        ctx = TxCtx(self.env, self.lookup, self.round.keys[i].__contains__)
        try:
            receipt, trace = run_tx(self.txs[i], ctx)
        except Foreign:
            return Report("deferred", i)
        for key, value in trace.writes.items():
            self.data[key] = (i, value)
        return Report("ran", i, receipt=receipt, trace=trace)

    def crash(self) -> None:
        """Crash and recover: what the protocol keeps is what the log kept."""
        self.node.run("crash", self.p)

    def restart(self) -> list[Out]:
        return self.advance()
