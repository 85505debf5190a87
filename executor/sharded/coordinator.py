"""The coordinator of cross-shard transactions — a sans-IO actor like the shards.

It begins an attempt (`begin`: PREPARE to every participant), executes the transaction on the
values the yes-votes carry and commits with each shard's writes (`commit`), aborts on a no or a
timeout and retries in place (`abort`), and retransmits what is unanswered. Its methods return
messages, `Report`s for the engine, and `Timer` requests; the transport does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from txlanes.models.context import BlockEnv, Key
from txlanes.models.tx import Tx

from .node import COORDINATOR, Msg, Node, TxnId, TxnInfo
from .protocol import COMMIT, UNDECIDED, TwoPhaseCommit
from .shard import Foreign, Out, Report, Round, TxCtx, Versioned, run_tx

WINDOW = 64  # cross-shard transactions in flight at once


@dataclass(frozen=True)
class Timer:
    """Ask the transport to call ``timeout(txn)`` after ``wait`` (virtual or real) time."""

    txn: TxnId
    wait: float


class CoordinatorActor:
    def __init__(
        self,
        shards: int,
        protocol: TwoPhaseCommit,
        txs: tuple[Tx, ...],
        env: BlockEnv,
        committed: Callable[[Key], tuple[int, int]],
        shard_of: Callable[[Key, int], int],
        timeout: float,
        per_tx_wait: float,
    ) -> None:
        self.shards = shards
        self.node = Node(protocol, shards, COORDINATOR)
        self.txs, self.env, self.committed, self.shard_of = txs, env, committed, shard_of
        self.timeout_base = timeout
        self.per_tx_wait = per_tx_wait  # a transaction far down the queues waits longer
        self.round = Round([], {}, {})
        self.attempt: dict[int, int] = {}
        self.parts: dict[TxnId, frozenset[int]] = {}
        self.votes: dict[TxnId, dict[int, Versioned]] = {}
        self.acked: dict[TxnId, set[int]] = {}
        self.payloads: dict[TxnId, dict[int, object]] = {}  # each participant's decision
        self.retried: set[TxnId] = set()  # attempts aborted to be tried again

    def settled(self) -> bool:
        """Every decision taken has been acknowledged by every participant."""
        return all(self.acked.get(t, set()) >= self.parts[t] for t in self.payloads)

    def start_round(self, rnd: Round) -> list[Out | Timer]:
        self.round = rnd
        self.waiting = [i for i in rnd.txs if len(rnd.shards[i]) > 1]  # not yet begun
        self.in_flight: set[int] = set()
        return self._begin_more()

    def _begin_more(self) -> list[Out | Timer]:
        """Keep at most WINDOW transactions in flight, in block order: a shard's work per
        step grows with the attempts it holds, and the earliest unfinished transaction is
        always begun, so the window never stalls the round."""
        out: list[Out | Timer] = []
        while self.waiting and len(self.in_flight) < WINDOW:
            i = self.waiting.pop(0)
            self.in_flight.add(i)
            self.attempt[i] = self.attempt.get(i, -1) + 1
            out += self.begin(i)
        return out

    def begin(self, i: int) -> list[Out | Timer]:
        t = (i, self.attempt[i])
        parts = self.parts[t] = self.round.shards[i]
        keys = {p: frozenset(k for k in self.round.keys[i] if self.shard_of(k, self.shards) == p)
                for p in parts}  # fmt: skip
        self.node.txns[t] = TxnInfo(parts, keys)
        msgs = self.node.run("begin", t) or []
        out: list[Out | Timer] = [Msg(m.kind, t, m.shard, (parts, keys)) for m in msgs]
        rank = self.round.txs.index(i)
        wait = (self.timeout_base + self.per_tx_wait * rank) * 2 ** min(t[1], 8)  # back off
        return [*out, Timer(t, wait)]

    def deliver(self, m: Msg) -> list[Out | Timer]:
        t = m.txn
        if m.kind == "ack":
            acked = self.acked.setdefault(t, set())
            acked.add(m.shard)
            if t in self.parts and acked >= self.parts[t] and t in self.node.txns:
                self.node.archive(t)
                if t not in self.retried:  # the transaction is done (committed or deferred)
                    self.in_flight.discard(t[0])
                    return self._begin_more()
            return []
        if t not in self.node.txns:
            return []  # an answer about an attempt already finished
        self.node.receive(m)
        if m.kind == "yes_sent":
            self.votes.setdefault(t, {})[m.shard] = m.payload
            return self.decide(t)
        return self.abort(t, retry=True)

    def decide(self, t: TxnId) -> list[Out | Timer]:
        if self.node.get("decision", t) != UNDECIDED or not self.node.enabled("commit", t):
            return []
        i = t[0]
        values: Versioned = {}
        for answer in self.votes.get(t, {}).values():
            values |= answer
        keys = self.round.keys[i]
        ctx = TxCtx(self.env, lambda k: values[k] if k in values else self.committed(k),
                    lambda k: k in keys)  # fmt: skip
        try:
            receipt, trace = run_tx(self.txs[i], ctx)
        except Foreign:
            return self.abort(t, retry=False)
        msgs = self.node.run("commit", t) or []
        writes: dict[int, dict[Key, int]] = {p: {} for p in self.parts[t]}
        for key, value in trace.writes.items():
            writes[self.shard_of(key, self.shards)][key] = value
        self.payloads[t] = dict(writes)
        out: list[Out | Timer] = [Report("ran", i, t, receipt, trace)]
        return out + self._fan_out(t, msgs)

    def _fan_out(self, t: TxnId, msgs: list[Msg]) -> list[Out | Timer]:
        """A decision goes to every participant, with its part of the writes."""
        self.acked.setdefault(t, set())
        return [Msg(m.kind, t, p, (self.parts[t], self.payloads[t][p]))
                for m in msgs for p in self.parts[t]]  # fmt: skip

    def abort(self, t: TxnId, retry: bool) -> list[Out | Timer]:
        msgs = self.node.run("abort", t)
        if msgs is None:
            return []
        self.payloads[t] = dict.fromkeys(self.parts[t], retry)
        out = self._fan_out(t, msgs)
        i = t[0]
        if not retry:
            return [*out, Report("deferred", i, t)]
        self.retried.add(t)
        self.attempt[i] += 1
        return [*out, Report("retry", i, t), *self.begin(i)]

    def timeout(self, t: TxnId) -> list[Out | Timer]:
        current = t[0] in self.round.shards and self.attempt.get(t[0]) == t[1]
        if current and self.node.get("decision", t) == UNDECIDED:
            return self.abort(t, retry=True)
        return []

    def resend(self) -> list[Out | Timer]:
        """Retransmit what is unanswered: PREPAREs without a vote, decisions without an ack."""
        out: list[Out | Timer] = []
        for t, info in self.node.txns.items():
            decision = self.node.get("decision", t)
            if decision == UNDECIDED:
                for p in info.participants - set(self.votes.get(t, {})):
                    out.append(Msg("prepare_sent", t, p, (info.participants, info.keys)))
            else:
                kind = "commit_sent" if decision == COMMIT else "abort_sent"
                for p in self.parts[t] - self.acked.get(t, set()):
                    out.append(Msg(kind, t, p, (self.parts[t], self.payloads[t][p])))
        return out

    def crash(self) -> None:
        self.node.run("crash_coordinator")

    def restart(self) -> list[Out | Timer]:
        """Back from a crash: every undecided attempt gets a fresh timeout."""
        return [Timer(t, self.timeout_base) for t in self.node.txns
                if self.node.get("decision", t) == UNDECIDED]  # fmt: skip

    def undecided(self) -> list[TxnId]:
        return [t for t in self.node.txns
                if self.node.get("decision", t) == UNDECIDED
                or self.acked.get(t, set()) < self.parts[t]]  # fmt: skip
