"""The sharded engine on local processes: one process per shard, real parallelism.

Each shard's `ShardActor` runs in a process forked for the block (the block and the pre-state
come with the fork, copy-on-write, never pickled); the parent runs the coordinator and routes
every message (a star: shard → parent → coordinator or shard). Timers are real time. Pipes
neither drop nor reorder, so injected faults are the simulated transport's business; a shard
process that dies is reported, never silently worked around.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from txlanes.models.context import Key
from txlanes.models.workload import Block

from ..result import PRE_STATE
from .book import BlockRun
from .coordinator import CoordinatorActor, Timer
from .node import COORDINATOR, Msg
from .protocol import TwoPhaseCommit
from .shard import Out, Round, ShardActor

TIMEOUT_SECONDS = 5.0  # a coordinator's wait for votes (doubling per retry)
RESEND_SECONDS = 1.0


class ShardProcessDied(RuntimeError):
    """A shard's process exited in the middle of a block."""


def _serve(actor: ShardActor, conn: Connection) -> None:
    """A shard process: apply each request to the actor; answer with its outputs and whether
    it is idle (nothing queued, no lock held)."""
    while True:
        request = conn.recv()
        if request[0] == "stop":
            return
        if request[0] == "data":
            conn.send(dict(actor.data))
            continue
        outs = actor.start_round(request[1]) if request[0] == "round" else actor.deliver(request[1])
        conn.send((outs, actor.idle()))


class ProcessBlock(BlockRun):
    """One block with each shard in its own process."""

    def __init__(
        self,
        block: Block,
        state: Mapping[Key, int],
        shards: int,
        shard_of: Callable[[Key, int], int],
        protocol: TwoPhaseCommit,
    ) -> None:
        super().__init__(block, shard_of, shards)
        self.pre = state
        self.view: dict[Key, tuple[int, int]] = {}  # the shards' writes, gathered per round
        context = mp.get_context("fork")
        self.conns: list[Connection] = []
        self.procs: list[BaseProcess] = []
        for p in range(shards):
            actor = ShardActor(p, shards, protocol, block.txs, block.env, state, shard_of)
            parent, child = context.Pipe()
            proc = context.Process(target=_serve, args=(actor, child), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        self.coord = CoordinatorActor(shards, protocol, block.txs, block.env, self.value,
                                      shard_of, TIMEOUT_SECONDS, 0.01)  # fmt: skip
        self.idle = [False] * shards
        self.waiting = [0] * shards  # requests sent to a shard and not yet answered
        self.timers: list[tuple[float, tuple[int, int]]] = []

    def value(self, key: Key) -> tuple[int, int]:
        return self.view.get(key) or (PRE_STATE, self.pre.get(key, 0))

    def diff(self) -> dict[Key, int]:
        return {key: value for key, (_, value) in self.view.items()}

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()

    def _recv(self, p: int) -> Any:
        try:
            return self.conns[p].recv()
        except (EOFError, OSError):
            code = self.procs[p].exitcode
            raise ShardProcessDied(f"shard {p}'s process died (exit code {code})") from None

    def _request(self, p: int, request: tuple[object, ...]) -> None:
        try:
            self.conns[p].send(request)
        except OSError:
            code = self.procs[p].exitcode
            raise ShardProcessDied(f"shard {p}'s process died (exit code {code})") from None
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
            for conn in wait(self.conns, timeout=0.05):
                p = self.conns.index(conn)  # type: ignore[arg-type]
                outs, idle = self._recv(p)
                self.waiting[p] -= 1
                self.idle[p] = idle and not self.waiting[p]
                self.route(p, outs)
        for p in range(self.S):  # the round's writes, for the next round's reconnaissance
            self.conns[p].send(("data",))
            self.view |= self._recv(p)

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
