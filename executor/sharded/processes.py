"""Shards in local processes: real parallelism on this machine.

Each shard's `ShardActor` runs in a process forked for the block — the block and the pre-state
come with the fork, copy-on-write, never pickled — and answers requests over a pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from .remote import RemoteBlock, ShardLost, serve
from .shard import ShardActor


def _loop(actor: ShardActor, conn: Connection) -> None:
    while True:
        request = conn.recv()
        if request[0] == "stop":
            return
        conn.send(serve(actor, request))


class ProcessBlock(RemoteBlock):
    """One block with each shard in its own process."""

    def start_shards(self) -> None:
        context = mp.get_context("fork")
        self.conns: list[Connection] = []
        self.procs: list[BaseProcess] = []
        for p in range(self.S):
            parent, child = context.Pipe()
            proc = context.Process(target=_loop, args=(self.shard_actor(p), child), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def _lost(self, p: int) -> ShardLost:
        return ShardLost(f"shard {p}'s process died (exit code {self.procs[p].exitcode})")

    def send(self, p: int, request: tuple[Any, ...]) -> None:
        try:
            self.conns[p].send(request)
        except OSError:
            raise self._lost(p) from None

    def poll(self, timeout: float) -> list[tuple[int, Any]]:
        answers = []
        for conn in wait(self.conns, timeout=timeout):
            p = self.conns.index(conn)  # type: ignore[arg-type]
            try:
                answers.append((p, self.conns[p].recv()))
            except (EOFError, OSError):
                raise self._lost(p) from None
        return answers

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
