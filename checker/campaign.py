"""Property campaigns: generated workloads (and schedules) against an engine, until it breaks.

One property per engine and contention profile: every block of a generated workload, executed
by the engine, is equivalent to sequential execution in block order (per transaction) and keeps
every invariant. Hypothesis generates the workload, the worker count and the schedule, and on a
failure shrinks all three, so the counterexample is a handful of transactions that replays
exactly. Progress and results are published as typed events for the reporters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from txlanes.executor.blockstm import Schedule
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import Target
from txlanes.models.workload import Block, Workload

from .example import failure_of, preemptive_threads, run_example, taken_choices
from .failure import Failure, Outcome
from .profiles import CONTENTION, PROFILES, SCHEDULES, Contention, Profile

# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckStarted:
    target: str
    contention: str
    examples: int


@dataclass(frozen=True)
class ExampleRan:
    target: str
    contention: str
    failed: bool
    #: the example's workload, for listeners that measure what generation reached
    workload: Workload | None = None


@dataclass(frozen=True)
class CheckFinished:
    outcome: Outcome


Event = CheckStarted | ExampleRan | CheckFinished
Listener = Callable[[Event], None]


# -- one example --------------------------------------------------------------------------------


# -- a campaign -----------------------------------------------------------------------------------


class _Falsified(Exception):
    pass


class _Unusable(BaseException):
    """Carries an ``ExternalEngineError`` out of Hypothesis, which would otherwise shrink it."""

    def __init__(self, error: ExternalEngineError) -> None:
        self.error = error


@dataclass
class Campaign:
    """Check ``targets`` on every contention profile with ``profile``'s budget."""

    targets: list[Target]
    profile: Profile = PROFILES["ci"]
    contentions: tuple[Contention, ...] = CONTENTION
    seed: int = 0
    examples: int | None = None  # overrides the profile's budget
    listeners: list[Listener] = field(default_factory=list)
    #: Seconds of shrinking after the first failure; then the smallest so far is reported.
    shrink_seconds: float = 10.0
    #: Stop at the first failing (target, contention): enough for a CI gate's verdict.
    stop_on_failure: bool = False
    #: (target, contention) pairs not run: none of the contention's kinds is in the target's.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def plan(self) -> list[tuple[Target, Contention]]:
        """Every (target, contention) to check, in order; records the ones to skip."""
        pairs = []
        for target in self.targets:
            for shape in self.contentions:
                contention = shape.restricted(target.kinds)
                if contention is None:
                    self.skipped.append((target.spec, shape.name))
                else:
                    pairs.append((target, contention))
        return pairs

    def budget(self) -> int:
        return self.examples if self.examples is not None else self.profile.examples

    def run(self) -> list[Outcome]:
        outcomes = []
        for target, contention in self.plan():
            outcomes.append(self.check(target, contention))
            if self.stop_on_failure and outcomes[-1].failure is not None:
                return outcomes
        return outcomes

    def check(self, target: Target, contention: Contention) -> Outcome:
        budget = self.budget()
        outcome = Outcome(target.spec, contention.name)
        self.publish(CheckStarted(target.spec, contention.name, budget))
        found: list[Failure] = []
        shrink_deadline = [float("inf")]
        best_schedule: list[Schedule | None] = [None]
        start = time.perf_counter()
        repetitions = 1 if target.deterministic else self.profile.thread_repetitions
        schedules = SCHEDULES
        counts = st.integers(2, 4) if target.count is None else st.just(target.count)

        @settings(
            max_examples=budget,
            derandomize=False,  # the campaign's own seed decides, whatever profile is loaded
            database=None,
            deadline=None,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
        )
        @seed(self.seed)
        @given(contention.strategy(), counts, schedules)
        def holds(workload: Workload, workers: int, schedule: Schedule) -> None:
            if found and time.perf_counter() - start > shrink_deadline[0]:
                # Out of shrinking time: only the smallest failure found so far still fails,
                # so Hypothesis settles on it at once instead of searching on.
                best = found[-1]
                if (workload, workers) == (best.workload, best.workers) and (
                    schedule == best_schedule[0]
                ):
                    raise _Falsified()
                return
            outcome.examples += 1
            problem = None
            try:
                for _ in range(repetitions):
                    problem = run_example(target, workload, workers, schedule)
                    if problem is not None:
                        break
            except ExternalEngineError as err:
                raise _Unusable(err) from None
            self.publish(ExampleRan(target.spec, contention.name, problem is not None, workload))
            if problem is None:
                return
            if outcome.seconds_to_failure is None:
                outcome.seconds_to_failure = time.perf_counter() - start
                shrink_deadline[0] = outcome.seconds_to_failure + self.shrink_seconds
            best_schedule[0] = schedule
            choices = (
                taken_choices(target, workload, workers, schedule) if target.deterministic else None
            )
            found.append(failure_of(target, contention.name, problem, workload, workers, choices))
            raise _Falsified()

        context = preemptive_threads() if not target.deterministic else _nothing()
        with context:
            try:
                holds()
            except _Unusable as unusable:
                raise unusable.error from None
            except _Falsified:
                outcome.failure = found[-1]  # Hypothesis replays the shrunk example last
                if target.deterministic and best_schedule[0] is not None:
                    outcome.failure = minimize(target, found[-1], best_schedule[0], 5.0)
            except Flaky:
                outcome.failure = min(found, key=lambda f: f.txs)  # a race that did not repeat
        outcome.seconds = time.perf_counter() - start
        self.publish(CheckFinished(outcome))
        return outcome


def minimize(target: Target, failure: Failure, schedule: Schedule, seconds: float) -> Failure:
    """After Hypothesis: drop transactions one at a time while the example, under the same
    schedule, still fails — shrinking the workload alone, which a joint shrink of workload and
    schedule often cannot."""
    deadline = time.perf_counter() + seconds
    workload, problem = failure.workload, failure.problem
    progress = True
    while progress and time.perf_counter() < deadline:
        progress = False
        for b, block in enumerate(workload.blocks):
            for t in range(len(block.txs)):
                smaller = Block(block.txs[:t] + block.txs[t + 1 :], block.env)
                candidate = Workload(
                    workload.state, [*workload.blocks[:b], smaller, *workload.blocks[b + 1 :]]
                )
                found = run_example(target, candidate, failure.workers, schedule)
                if found is not None:
                    workload, problem, progress = candidate, found, True
                    break
                if time.perf_counter() > deadline:
                    break
            if progress:
                break
    if workload is failure.workload:
        return failure
    choices = taken_choices(target, workload, failure.workers, schedule)
    return failure_of(target, failure.contention, problem, workload, failure.workers, choices)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
