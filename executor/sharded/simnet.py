"""A deterministic simulated network with a seeded fault injector.

Time is virtual; every event — a delivery, a timer, a crash, a restart — sits in one heap
ordered by (time, sequence number), and every random choice comes from one seeded generator, so
a fault schedule is plain data (`Faults`) and replays exactly. Faults: a message may be dropped,
duplicated, or delayed by a random amount (which reorders it); a node may crash and restart. All
of them heal: drops are independent per message, every crash has a restart.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .node import COORDINATOR, Msg


@dataclass(frozen=True)
class Faults:
    """A fault plan. ``crashes`` are (node, at time, down for); node -1 is the coordinator."""

    seed: int = 0
    drop: float = 0.0
    duplicate: float = 0.0
    max_delay: int = 1
    crashes: tuple[tuple[int, int, int], ...] = ()

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate"):
            rate = getattr(self, name)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"fault rate {name} must be in [0, 1), got {rate}")
        if self.max_delay < 1:
            raise ValueError(f"max_delay must be >= 1, got {self.max_delay}")
        for node, at, down in self.crashes:
            if at < 0 or down < 1:
                raise ValueError(
                    f"crash of node {node} at {at} for {down}: need at >= 0, down >= 1"
                )


def healing_faults(seed: int, shards: int) -> Faults:
    """A healing fault plan drawn from one seed — drops, duplicates, delays, a crash of a shard
    and of the coordinator — so that a campaign shrinks and replays faults as one integer."""
    rng = random.Random(seed)
    crashes = ((rng.randrange(shards), rng.randrange(0, 80), rng.randrange(10, 60)),
               (COORDINATOR, rng.randrange(0, 80), rng.randrange(10, 60)))  # fmt: skip
    return Faults(seed, drop=0.1, duplicate=0.1, max_delay=8, crashes=crashes)


@dataclass
class NetStats:
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0
    lost_to_crash: int = 0
    crashes: int = 0


@dataclass(order=True)
class _Event:
    time: int
    seq: int
    kind: str = field(compare=False)
    data: Any = field(compare=False)


class SimNetwork:
    """Events in virtual time; the engine registers what happens on each kind of event."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.now = 0
        self._seq = 0
        self._heap: list[_Event] = []
        self.down: set[int] = set()
        self.stats = NetStats()
        for node, at, down_for in faults.crashes:
            self.at(at, "crash", node)
            self.at(at + down_for, "restart", node)

    def at(self, time: int, kind: str, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Event(time, self._seq, kind, data))

    def send(self, msg: Msg) -> None:
        self.stats.sent += 1
        if self.rng.random() < self.faults.drop:
            self.stats.dropped += 1
            return
        copies = 2 if self.rng.random() < self.faults.duplicate else 1
        self.stats.duplicated += copies - 1
        for _ in range(copies):
            self.at(self.now + self.rng.randint(1, self.faults.max_delay), "deliver", msg)

    def run(self, handlers: dict[str, Callable[[Any], None]], done: Callable[[], bool],
            max_time: int) -> bool:  # fmt: skip
        """Process events until ``done()`` or virtual time passes ``max_time``; whether done."""
        while self._heap and not done():
            event = heapq.heappop(self._heap)
            if event.time > max_time:
                return False
            self.now = event.time
            if event.kind == "deliver" and event.data.to in self.down:
                self.stats.lost_to_crash += 1
                continue
            if event.kind == "crash":
                self.stats.crashes += 1
                self.down.add(event.data)
            elif event.kind == "restart":
                self.down.discard(event.data)
            handlers[event.kind](event.data)
        return done()
