"""Property campaigns: generated workloads (and schedules) against an engine, until it breaks.

One property per engine and contention profile: every block of a generated workload, executed
by the engine, is equivalent to sequential execution in block order (per transaction) and keeps
every invariant. Hypothesis generates the workload, the worker count and the schedule, and on a
failure shrinks all three, so the counterexample is a handful of transactions that replays
exactly. Progress and results are published as typed events for the reporters.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, HypothesisWarning

from txlanes.executor.blockstm import Schedule
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import Target, TargetError
from txlanes.models.workload import Workload

from .example import failure_of, preemptive_threads, run_example, taken_choices
from .failure import Failure, FailureKind, Outcome
from .minimize import minimize
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


#: How a deterministic engine interleaves its workers on an explicit workload (a witness).
EXPLICIT_SCHEDULE = Schedule(seed=0)


class _Falsified(Exception):
    pass


class _OutOfTime(BaseException):
    """Shrinking ran out of time. A BaseException, so Hypothesis stops at once instead of
    taking it for a failure to shrink (it lets such exceptions through, as KeyboardInterrupt)."""


class _Unusable(BaseException):
    """Carries an engine that cannot be used (``ExternalEngineError``, or a ``TargetError``: it
    cannot be built at this N) out of Hypothesis, which would otherwise shrink it."""

    def __init__(self, error: ExternalEngineError | TargetError) -> None:
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
    #: How schedules are generated (and shrunk) for engines that take one.
    schedules: st.SearchStrategy[Schedule] = SCHEDULES
    #: Seconds of shrinking after the first failure; then the smallest so far is reported.
    shrink_seconds: float = 10.0
    #: Seconds of minimizing after Hypothesis (checker/minimize.py), and how many runs of each
    #: candidate an engine that is not deterministic gets (one of them must fail).
    minimize_seconds: float = 10.0
    minimize_runs: int = 5
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
        schedules = self.schedules
        counts = st.integers(2, 4) if target.count is None else st.just(target.count)

        @settings(
            max_examples=budget,
            derandomize=False,  # the campaign's own seed decides, whatever profile is loaded
            database=None,
            deadline=None,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
        )
        @seed(self.seed)
        @given(contention.strategy(), counts, schedules)
        def holds(workload: Workload, workers: int, schedule: Schedule) -> None:
            if found and time.perf_counter() - start > shrink_deadline[0]:
                raise _OutOfTime()  # the smallest failure so far is the one reported
            outcome.examples += 1
            problem = None
            try:
                for _ in range(repetitions):
                    problem = run_example(target, workload, workers, schedule)
                    if problem is not None:
                        break
            except (ExternalEngineError, TargetError) as err:
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

        # the shape's explicit workloads (its witnesses) run first, each once, as they are: as
        # many as the budget (every one at the default budget; a quick --examples 5, five)
        for workload in reversed(contention.explicit()[:budget]):
            holds = example(workload, target.count or 2, EXPLICIT_SCHEDULE)(holds)
        context = preemptive_threads() if not target.deterministic else _nothing()
        with context, seed_alone_decides(), warnings.catch_warnings():
            # a failing example's repr is built for a report the campaign does not print
            warnings.simplefilter("ignore", HypothesisWarning)
            try:
                holds()
            except _Unusable as unusable:
                raise unusable.error from None
            except (_Falsified, _OutOfTime):
                # the last failure found is the smallest: Hypothesis replays the shrunk example
                # last, and each failure it finds while shrinking is smaller than the one before
                outcome.failure = self.smallest(target, found[-1], best_schedule[0])
            except Flaky:  # a race that did not repeat
                outcome.failure = self.smallest(target, min(found, key=lambda f: f.txs), None)
        outcome.seconds = time.perf_counter() - start
        self.publish(CheckFinished(outcome))
        return outcome

    def smallest(self, target: Target, failure: Failure, schedule: Schedule | None) -> Failure:
        """``failure`` minimized (every engine; a deterministic one under its schedule)."""
        if failure.kind is FailureKind.HANG and target.block_timeout is not None:
            return failure  # each run may leave a thread behind: report it as it was found
        runs = 1 if target.deterministic else self.minimize_runs
        return minimize(target, failure, schedule, runs=runs, seconds=self.minimize_seconds)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def seed_alone_decides() -> Iterator[None]:
    """Generation that depends only on the seed. Hypothesis mixes into generation constants it
    parses from every *local* module loaded (an editable install is local), so one seed
    generated differently depending on what the process had imported. Within a campaign it sees
    none: the strategies draw the spec's boundary values themselves."""
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # a Hypothesis without local constants: nothing to neutralize
        yield
        return
    none = Constants()
    providers.CONSTANTS_CACHE.cache.clear()
    setattr(providers, "_get_local_constants", lambda: none)  # noqa: B010
    try:
        yield
    finally:
        setattr(providers, "_get_local_constants", original)  # noqa: B010
        providers.CONSTANTS_CACHE.cache.clear()
