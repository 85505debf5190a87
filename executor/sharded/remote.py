"""Shards that live elsewhere — in local processes or Ray actors — driven from this process.

The parent runs the coordinator and routes every message (a star: shard → parent →
coordinator or shard), with real-time timers. A transport only says how to send a request to
shard p and how to collect answers (`send`, `poll`); the routing, the rounds and the
bookkeeping are here and in `BlockRun`. Transports that neither drop nor reorder need no fault
handling beyond retransmission; injected faults are the simulated network's business.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from txlanes.models.context import Key
from txlanes.models.workload import Block

from ..result import PRE_STATE
from .book import BlockRun, ShardedRunError
from .coordinator import CoordinatorActor, Timer
from .node import COORDINATOR, Msg, TxnId
from .protocol import TwoPhaseCommit
from .shard import Out, Round, ShardActor

TIMEOUT_SECONDS = 5.0  # a coordinator's wait for votes (doubling per retry)
PER_TX_SECONDS = 0.01  # more for a transaction further down the queues
RESEND_SECONDS = 1.0


class ShardLost(ShardedRunError):
    """A shard's process or actor died in the middle of a block."""


def serve(actor: ShardActor, request: tuple[Any, ...]) -> Any:
    """What a remote shard does with one request: ("round", rnd), ("deliver", msg) → the
    actor's outputs and whether it is idle; ("data",) → its writes."""
    if request[0] == "data":
        return dict(actor.data)
    outs = actor.start_round(request[1]) if request[0] == "round" else actor.deliver(request[1])
    return outs, actor.idle()


class RemoteBlock(BlockRun):
    """One block with its shards remote; subclasses implement ``send`` and ``poll``."""

    def __init__(
        self,
        block: Block,
        state: Mapping[Key, int],
        shards: int,
        shard_of: Callable[[Key, int], int],
        protocol: TwoPhaseCommit,
    ) -> None:
        super().__init__(block, shard_of, shards)
        self.pre, self.protocol = state, protocol
        self.view: dict[Key, tuple[int, int]] = {}  # the shards' writes, gathered per round
        self.coord = CoordinatorActor(shards, protocol, block.txs, block.env, self.value,
                                      shard_of, TIMEOUT_SECONDS, PER_TX_SECONDS)  # fmt: skip
        self.idle = [False] * shards
        self.waiting = [0] * shards  # requests sent to a shard and not yet answered
        self.timers: list[tuple[float, TxnId]] = []
        self.start_shards()

    def shard_actor(self, p: int) -> ShardActor:
        return ShardActor(p, self.S, self.protocol, self.block.txs, self.block.env, self.pre,
                          self.shard_of)  # fmt: skip

    def start_shards(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def send(self, p: int, request: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def poll(self, timeout: float) -> list[tuple[int, Any]]:
        """Answers that arrived within ``timeout`` seconds, as (shard, answer)."""
        raise NotImplementedError

    def call(self, p: int, request: tuple[Any, ...]) -> Any:
        """A request whose answer is needed now (only between rounds, when all is quiet)."""
        self.send(p, request)
        while True:
            for q, answer in self.poll(1.0):
                if q == p:
                    return answer

    def value(self, key: Key) -> tuple[int, int]:
        return self.view.get(key) or (PRE_STATE, self.pre.get(key, 0))

    def diff(self) -> dict[Key, int]:
        return {key: value for key, (_, value) in self.view.items()}

    def _request(self, p: int, request: tuple[Any, ...]) -> None:
        self.send(p, request)
        self.waiting[p] += 1
        self.idle[p] = False

    def run_round(self, rnd: Round) -> None:
        self.route(COORDINATOR, self.coord.start_round(rnd))
        for p in range(self.S):
            self._request(p, ("round", rnd))
        next_resend = time.monotonic() + RESEND_SECONDS
        while any(self.waiting) or not self.round_over(all(self.idle)):
            now = time.monotonic()
            for due in [t for t in self.timers if t[0] <= now]:
                self.timers.remove(due)
                self.route(COORDINATOR, self.coord.timeout(due[1]))
            if now >= next_resend:
                self.route(COORDINATOR, self.coord.resend())
                next_resend = now + RESEND_SECONDS
            for p, (outs, idle) in self.poll(0.05):
                self.waiting[p] -= 1
                self.idle[p] = idle and not self.waiting[p]
                self.route(p, outs)
        for p in range(self.S):  # the round's writes, for the next round's reconnaissance
            self.view |= self.call(p, ("data",))

    def route(self, source: int, outs: Sequence[Out | Timer]) -> None:
        for out in outs:
            if isinstance(out, Timer):
                self.timers.append((time.monotonic() + out.wait, out.txn))
            elif not isinstance(out, Msg):
                self.report(source, out)
            elif out.to == COORDINATOR:
                self.route(COORDINATOR, self.coord.deliver(out))
            else:
                self._request(out.to, ("deliver", out))
