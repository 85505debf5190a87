"""Runtimes: what moves Block-STM's workers. Real threads, or a deterministic scheduler.

The worker code is the same for both. It calls ``rt.point()`` before every access to shared state
(every multi-version-memory access and every scheduler operation) and guards critical sections
with ``rt.lock()``. On threads a point is (almost) free and locks are real. On the deterministic
runtime exactly one worker moves at a time; at every point a *schedule* decides which worker moves
next, and locks are no-ops because no point lies inside a critical section. A schedule is plain
data — a list of choices — so Hypothesis can generate and shrink it, and a run replays exactly
from (workload, schedule) alone: the idea of Loom, Shuttle and FoundationDB's simulator.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

Worker = Callable[[], None]


class Hang(RuntimeError):
    """A run that did not terminate within the watchdog's budget (a livelock or deadlock)."""

    def __init__(self, message: str, choices: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.choices = list(choices)


class _Abandoned(BaseException):
    """Unwinds a worker whose run is being abandoned (not an Exception: spec code can't eat it)."""


class Runtime(Protocol):
    workers: int

    def run(self, workers: Sequence[Worker]) -> None: ...

    def point(self) -> None: ...

    def lock(self) -> AbstractContextManager[object]: ...


class ThreadRuntime:
    """``workers`` real threads. CPython's GIL keeps them on one core: this shows the algorithm
    under real preemption, not a speedup. The watchdog turns a hang into :class:`Hang`."""

    def __init__(self, workers: int = 4, *, watchdog_seconds: float = 120.0) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.watchdog_seconds = watchdog_seconds
        self._stop = False

    def lock(self) -> AbstractContextManager[object]:
        return threading.Lock()

    def point(self) -> None:
        if self._stop:
            raise _Abandoned

    def run(self, workers: Sequence[Worker]) -> None:
        self._stop = False
        errors: list[BaseException] = []

        def body(fn: Worker) -> None:
            try:
                fn()
            except _Abandoned:
                pass
            except BaseException as err:  # surfaced in the caller's thread below
                errors.append(err)
                self._stop = True

        threads = [threading.Thread(target=body, args=(w,), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.watchdog_seconds)
            if thread.is_alive():
                self._stop = True
                for other in threads:
                    other.join(5.0)
                raise Hang(f"Block-STM threads did not finish within {self.watchdog_seconds} s")
        if errors:
            raise errors[0]


@dataclass
class Schedule:
    """Which worker moves at each point: ``choices[i]`` indexes the workers still running.

    Past the explicit choices, a ``seed`` continues with a seeded random stream; without one, the
    run continues round-robin, which is fair, so an idle worker cannot starve the others.
    ``stickiness`` is the chance that the seeded stream lets the same worker move again: high
    values give coarse interleavings (one worker races through a whole re-execution while
    another is stalled mid-validation), which is where many concurrency bugs hide.
    """

    choices: list[int] = field(default_factory=list)
    seed: int | None = None
    stickiness: float = 0.0

    def chooser(self) -> Callable[[int, int], int]:
        rng = random.Random(self.seed) if self.seed is not None else None
        explicit = self.choices
        stickiness = self.stickiness
        last = 0

        def choose(step: int, runnable: int) -> int:
            nonlocal last
            if step < len(explicit):
                last = explicit[step] % runnable
            elif rng is None:
                last = step % runnable
            elif not (stickiness and rng.random() < stickiness and last < runnable):
                last = rng.randrange(runnable)
            return last

        return choose


SCHEDULE_FORMAT = "txlanes-schedule"


def schedule_to_json(schedule: Schedule, workers: int) -> dict[str, object]:
    return {
        "format": SCHEDULE_FORMAT,
        "version": 1,
        "workers": workers,
        "choices": list(schedule.choices),
        "seed": schedule.seed,
        "stickiness": schedule.stickiness,
    }


def schedule_from_json(obj: object) -> tuple[Schedule, int]:
    """A schedule and its worker count; ``ValueError`` naming the bad field otherwise."""
    if not isinstance(obj, dict) or obj.get("format") != SCHEDULE_FORMAT:
        raise ValueError(f"format: must be {SCHEDULE_FORMAT!r}")
    if obj.get("version") != 1:
        raise ValueError(f"version: this txlanes reads version 1, got {obj.get('version')!r}")
    workers, choices, seed = obj.get("workers"), obj.get("choices"), obj.get("seed")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
    if not isinstance(choices, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in choices
    ):
        raise ValueError("choices: must be a list of integers >= 0")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed: must be an integer or null, got {seed!r}")
    stickiness = obj.get("stickiness", 0.0)
    if isinstance(stickiness, bool) or not isinstance(stickiness, int | float):
        raise ValueError(f"stickiness: must be a number in [0, 1), got {stickiness!r}")
    if not 0 <= stickiness < 1:
        raise ValueError(f"stickiness: must be a number in [0, 1), got {stickiness!r}")
    return Schedule(list(choices), seed, float(stickiness)), workers


_NO_LOCK = contextlib.nullcontext()


class DeterministicRuntime:
    """One worker moves at a time; the schedule picks it at every point. Replayable.

    ``taken`` records every choice made (across all blocks run by this runtime): feeding it back
    as ``Schedule(taken)`` replays the run exactly. ``max_steps`` is the watchdog: a run that
    needs more points than that raises :class:`Hang` carrying the choices that led there.
    """

    def __init__(
        self, workers: int = 4, schedule: Schedule | None = None, *, max_steps: int = 2_000_000
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.schedule = schedule or Schedule()
        self.max_steps = max_steps
        self.taken: list[int] = []
        self._choose = self.schedule.chooser()
        self._cond = threading.Condition()
        self._local = threading.local()
        self._turn: int | None = None
        self._aborting = False

    def lock(self) -> AbstractContextManager[object]:
        return _NO_LOCK

    def point(self) -> None:
        me: int = self._local.id
        cond = self._cond
        with cond:
            if self._turn == me:
                self._turn = None
                cond.notify_all()
            cond.wait_for(lambda: self._turn == me or self._aborting)
            if self._aborting:
                raise _Abandoned

    def run(self, workers: Sequence[Worker]) -> None:
        n = len(workers)
        finished = [False] * n
        errors: list[BaseException] = []
        cond = self._cond
        self._turn = None
        self._aborting = False

        def body(index: int, fn: Worker) -> None:
            self._local.id = index
            try:
                self.point()  # wait for the first turn
                fn()
            except _Abandoned:
                pass
            except BaseException as err:
                errors.append(err)
            finally:
                with cond:
                    finished[index] = True
                    if self._turn == index:
                        self._turn = None
                    cond.notify_all()

        threads = [
            threading.Thread(target=body, args=(i, w), daemon=True) for i, w in enumerate(workers)
        ]
        for thread in threads:
            thread.start()
        try:
            with cond:
                while True:
                    cond.wait_for(lambda: self._turn is None)
                    if errors:
                        break
                    runnable = [i for i in range(n) if not finished[i]]
                    if not runnable:
                        break
                    step = len(self.taken)
                    if step >= self.max_steps:
                        raise Hang(
                            f"no termination after {self.max_steps} scheduling steps",
                            self.taken,
                        )
                    choice = self._choose(step, len(runnable))
                    self.taken.append(choice)
                    self._turn = runnable[choice]
                    cond.notify_all()
        finally:
            with cond:
                self._aborting = True
                cond.notify_all()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
