"""Shards as Ray actors: the same actors and the same routing as local processes, on a Ray
cluster — a laptop's local instance or a cluster's address (``--ray-address``), no code change.

Ray is an optional extra (``pip install txlanes[ray]``); it is imported only when used, through
:func:`txlanes.executor.ray_cluster.connect`.
"""

from __future__ import annotations

from typing import Any

from ..ray_cluster import connect
from .remote import RemoteBlock, ShardLost, serve
from .shard import ShardActor


class _ShardServer:
    """What runs inside a Ray actor: one shard, answering requests in submission order."""

    def __init__(self, *args: Any) -> None:
        self.actor = ShardActor(*args)

    def handle(self, request: tuple[Any, ...]) -> Any:
        return serve(self.actor, request)


class RayBlock(RemoteBlock):
    """One block with each shard a Ray actor."""

    def __init__(self, *args: Any, address: str | None = None) -> None:
        self.address = address
        super().__init__(*args)

    def start_shards(self) -> None:
        self.ray = connect(self.address)
        server = self.ray.remote(num_cpus=0)(_ShardServer)  # light: the work is the requests
        pre = self.ray.put(dict(self.pre))
        self.actors = [
            server.remote(p, self.S, self.protocol, self.block.txs, self.block.env, pre,
                          self.shard_of)
            for p in range(self.S)
        ]  # fmt: skip
        self.pending: dict[Any, tuple[int, int]] = {}  # answer ref → (shard, submission no.)
        self.submitted = 0

    def send(self, p: int, request: tuple[Any, ...]) -> None:
        self.submitted += 1
        self.pending[self.actors[p].handle.remote(request)] = (p, self.submitted)

    def poll(self, timeout: float) -> list[tuple[int, Any]]:
        if not self.pending:
            return []
        ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending),
                                 timeout=timeout)  # fmt: skip
        answers = []
        for ref in sorted(ready, key=lambda r: self.pending[r][1]):  # a shard's, in order
            p, _ = self.pending.pop(ref)
            try:
                answers.append((p, self.ray.get(ref)))
            except self.ray.exceptions.RayActorError as err:
                raise ShardLost(f"shard {p}'s Ray actor died: {err}") from None
        return answers

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
