"""Runtimes: what moves Block-STM's workers. Real threads, or a deterministic scheduler.

The worker code is the same for both. It calls ``rt.point(label)`` before every access to shared
state (every multi-version-memory access and every scheduler operation; ``label`` names which, from
:data:`POINTS`) and guards critical sections with ``rt.lock()``. On threads a point is (almost) free
and locks are real. On the deterministic runtime exactly one worker moves at a time; at every point
a *schedule* decides which worker moves next, and locks are no-ops because no point lies inside a
critical section. A schedule is plain data — a list of choices — so Hypothesis can generate and
shrink it, and a run replays exactly from (workload, schedule) alone: the idea of Loom, Shuttle and
FoundationDB's simulator.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, cast

Worker = Callable[[], None]

#: What each scheduling point is about to do: the label the multi-version memory and the
#: scheduler pass to their point. A point an engine variant adds without a label is ``""``.
POINTS: dict[str, str] = {
    "start": "a worker's first turn",
    "idle": "a worker that found no task polls again",
    "read": "read a key's version (during an execution or a validation)",
    "record": "publish an incarnation's writes and reads (replacing its ESTIMATEs)",
    "estimate": "mark an aborted incarnation's writes ESTIMATE",
    "done": "read the done marker",
    "check-done": "read decrease_cnt, to detect completion",
    "check-done-counters": "compare the indices, num_active_tasks and decrease_cnt",
    "next-task": "compare validation_idx with execution_idx",
    "next-execution": "read execution_idx",
    "next-validation": "read validation_idx",
    "validation-status": "read the status of the transaction about to be validated",
    "fetch-index": "fetch-and-increment execution_idx or validation_idx",
    "active-count": "add to num_active_tasks",
    "incarnate": "claim a ready transaction for execution",
    "add-dependency": "park a transaction behind the one whose ESTIMATE it read",
    "set-ready": "make an aborted or resumed transaction ready, bumping its incarnation",
    "decrease-execution-idx": "move execution_idx back (resumed dependents)",
    "decrease-validation-idx": "move validation_idx back (a new write, an abort)",
    "finish-execution": "mark an executed transaction EXECUTED",
    "take-dependents": "take the transactions parked behind the one just executed",
    "revalidate": "compare validation_idx with the transaction just executed",
    "validation-abort": "claim the abort of a transaction whose validation failed",
    "finish-validation": "compare execution_idx with the transaction just aborted",
    "": "a point without a label (one an engine variant added)",
}


class Point(Protocol):
    """A scheduling point: called before an access to shared state, with what it is."""

    def __call__(self, label: str = "", /) -> None: ...


_TAKES_LABEL: dict[object, bool] = {}


def labelled(point: Callable[[], None]) -> Point:
    """``point`` itself when it takes a label (the runtimes here do: a constant argument, so
    labels cost the threads runtime nothing), else a wrapper that drops the label (a runtime
    whose ``point()`` takes none, such as the virtual-time one, or ``lambda: None``)."""
    func = getattr(point, "__func__", point)
    key = getattr(func, "__code__", func)
    takes = _TAKES_LABEL.get(key)
    if takes is None:
        try:
            inspect.signature(point).bind("")
            takes = True
        except (TypeError, ValueError):
            takes = False
        _TAKES_LABEL[key] = takes
    if takes:
        return cast(Point, point)

    def unlabelled(label: str = "", /) -> None:
        point()

    return unlabelled


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

    def idle(self) -> None: ...

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

    def point(self, label: str = "", /) -> None:
        if self._stop:
            raise _Abandoned

    idle = point  # a worker with nothing to do simply polls again

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
    ``pct_depth`` > 0 instead follows PCT (Burckhardt et al., ASPLOS'10): workers get random
    priorities, the highest-priority worker moves, and at ``pct_depth - 1`` random steps the
    running worker drops to the lowest priority — as does a worker with nothing to do. PCT finds
    a bug that needs ``d`` ordering constraints with probability at least 1/(n·k^(d-1)).
    ``delays`` preempt at labelled points (:data:`POINTS`): with ``(label, steps)``, a worker
    that arrives at a point labelled ``label`` is delayed right before it does what the label
    names — the others (those not delayed themselves) move for the next ``steps`` steps, then it
    may move again. ``("add-dependency", 64)`` holds every worker that has just read an ESTIMATE
    in the window before it parks behind the writer, while the writer's re-execution goes on:
    delay-bounded scheduling (Emmi, Qadeer, Rakamarić, POPL'11) with the delays placed at the
    points where races live instead of at random steps. Delays apply past the explicit choices,
    on the seeded stream or round-robin; not under PCT (whose priorities already preempt).
    """

    choices: list[int] = field(default_factory=list)
    seed: int | None = None
    stickiness: float = 0.0
    pct_depth: int = 0
    pct_horizon: int = 3_000
    delays: list[tuple[str, int]] = field(default_factory=list)

    def chooser(self) -> Chooser:
        return Chooser(self)

    def as_seed(self) -> int:
        """One integer naming this schedule, for an engine whose nondeterminism is a seeded plan
        (the sharded engine's faults): the seed, else a replay's one recorded choice, else 0."""
        if self.seed is not None:
            return self.seed
        return self.choices[0] if self.choices else 0


class Chooser:
    """The stateful side of a :class:`Schedule`: picks a worker at each step."""

    def __init__(self, schedule: Schedule) -> None:
        self.explicit = schedule.choices
        self.rng = random.Random(schedule.seed) if schedule.seed is not None else None
        self.stickiness = schedule.stickiness
        self.last = 0
        self.priority: dict[int, float] = {}
        self.change_points: set[int] = set()
        #: label → the steps a worker arriving at a point so labelled is delayed
        self.watch: dict[str, int] = dict(schedule.delays) if schedule.pct_depth <= 0 else {}
        #: a delayed worker → the first step at which it may move again
        self.delayed: dict[int, int] = {}
        if schedule.pct_depth > 0:
            pct_rng = random.Random(schedule.seed or 0)
            self.change_points = {
                pct_rng.randrange(schedule.pct_horizon) for _ in range(schedule.pct_depth - 1)
            }
            self.pct_rng: random.Random | None = pct_rng
        else:
            self.pct_rng = None
        self._lowest = 0.0

    def arrive(self, step: int, worker: int, label: str) -> None:
        """``worker`` has moved up to a point labelled ``label`` (called only when watching)."""
        steps = self.watch.get(label)
        if steps is not None and step >= len(self.explicit):
            self.delayed[worker] = step + steps

    def demote(self, worker: int) -> None:
        """PCT: ``worker`` drops below every other (at a change point, or when idle)."""
        self._lowest -= 1
        self.priority[worker] = self._lowest

    def choose(self, step: int, runnable: list[int]) -> int:
        if self.delayed and step >= len(self.explicit):
            free = [wkr for wkr in runnable if self.delayed.get(wkr, 0) <= step]
            if free and len(free) < len(runnable):
                # the seeded stream picks among the free workers; "the same worker again" means
                # the same worker, not the same position
                previous = runnable[self.last] if self.last < len(runnable) else -1
                self.last = free.index(previous) if previous in free else len(free)
                self.last = runnable.index(free[self._pick(step, free)])
                return self.last
        return self._pick(step, runnable)

    def _pick(self, step: int, runnable: list[int]) -> int:
        if step < len(self.explicit):
            self.last = self.explicit[step] % len(runnable)
        elif self.pct_rng is not None:
            for worker in runnable:
                if worker not in self.priority:
                    self.priority[worker] = self.pct_rng.random() + 1
            if step in self.change_points:
                self.demote(runnable[self.last % len(runnable)])
            best = max(runnable, key=lambda wkr: self.priority[wkr])
            self.last = runnable.index(best)
        elif self.rng is None:
            self.last = step % len(runnable)
        elif not (
            self.stickiness and self.rng.random() < self.stickiness and self.last < len(runnable)
        ):
            self.last = self.rng.randrange(len(runnable))
        return self.last


SCHEDULE_FORMAT = "txlanes-schedule"


def schedule_to_json(schedule: Schedule, workers: int) -> dict[str, object]:
    return {
        "format": SCHEDULE_FORMAT,
        "version": 1,
        "workers": workers,
        "choices": list(schedule.choices),
        "seed": schedule.seed,
        "stickiness": schedule.stickiness,
        "pct_depth": schedule.pct_depth,
        "pct_horizon": schedule.pct_horizon,
        "delays": [[label, steps] for label, steps in schedule.delays],
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
    depth = obj.get("pct_depth", 0)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"pct_depth: must be an integer >= 0, got {depth!r}")
    horizon = obj.get("pct_horizon", 3_000)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"pct_horizon: must be an integer >= 1, got {horizon!r}")
    delays = obj.get("delays", [])
    if not isinstance(delays, list) or not all(
        isinstance(pair, list)
        and len(pair) == 2
        and pair[0] in POINTS
        and isinstance(pair[1], int)
        and not isinstance(pair[1], bool)
        and pair[1] >= 0
        for pair in delays
    ):
        raise ValueError("delays: must be a list of [point label, integer >= 0] pairs")
    pairs = [(label, steps) for label, steps in delays]
    return Schedule(list(choices), seed, float(stickiness), depth, horizon, pairs), workers


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
        self._chooser = self.schedule.chooser()
        self._cond = threading.Condition()
        self._local = threading.local()
        self._turn: int | None = None
        self._aborting = False
        #: the label of the point each worker is waiting at
        self._at: list[str] = []

    def lock(self) -> AbstractContextManager[object]:
        return _NO_LOCK

    def idle(self) -> None:
        """A worker found nothing to do: under PCT it yields its priority, then it waits."""
        self._chooser.demote(self._local.id)
        self.point("idle")

    def point(self, label: str = "", /) -> None:
        me: int = self._local.id
        cond = self._cond
        with cond:
            self._at[me] = label
            if self._turn == me or label == "start":  # the scheduler waits for both
                self._turn = None if self._turn == me else self._turn
                cond.notify_all()
            cond.wait_for(lambda: self._turn == me or self._aborting)
            if self._aborting:
                raise _Abandoned

    def run(self, workers: Sequence[Worker]) -> None:
        n = len(workers)
        finished = [False] * n
        errors: list[BaseException] = []
        cond = self._cond
        chooser = self._chooser
        watching = bool(chooser.watch)
        self._turn = None
        self._aborting = False
        self._at = [""] * n

        def body(index: int, fn: Worker) -> None:
            self._local.id = index
            try:
                self.point("start")  # wait for the first turn
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
        moved = -1
        try:
            with cond:
                # every worker waits at its first point before the first choice: a thread that
                # started late would otherwise give back a turn it never had (a wasted step)
                cond.wait_for(lambda: all(self._at) or bool(errors))
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
                    if watching and moved >= 0 and not finished[moved]:
                        chooser.arrive(step, moved, self._at[moved])
                    choice = chooser.choose(step, runnable)
                    self.taken.append(choice)
                    self._turn = moved = runnable[choice]
                    cond.notify_all()
        finally:
            with cond:
                self._aborting = True
                cond.notify_all()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
