"""The txlanes pytest plugin: property-test an engine from a user's own test suite.

Registered through the ``pytest11`` entry point, so installing txlanes is enough::

    from hypothesis import given
    from txlanes.checker.strategies import workloads

    @given(workload=workloads(accounts=10, hot_fraction=0.3))
    def test_my_engine_matches_sequential(workload, txlanes_check):
        txlanes_check(workload)              # uses --txlanes-engine (default: blockstm-det)

    def test_my_engine_campaign(txlanes_campaign):
        txlanes_campaign(MyEngine)           # the whole default campaign, shrunk on failure

    def test_the_configured_engine(txlanes_campaign):
        txlanes_campaign()                   # --txlanes-engine, or --txlanes-engine-cmd "CMD"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.example import failure_of, run_example
from txlanes.checker.profiles import CONTENTION, PROFILES
from txlanes.executor.blockstm import Schedule
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import Target, TargetError, resolve
from txlanes.executor.result import Engine
from txlanes.models.workload import Workload
from txlanes.options import COUNT, ENGINE_CMD_HELP, ENGINE_HELP, SECONDS, TIMEOUT_HELP
from txlanes.render import failure_text


@dataclass
class _Stats:
    workloads: int = 0
    failures: int = 0
    campaigns: int = 0


_STATS = pytest.StashKey[_Stats]()
_TARGET = pytest.StashKey[Target]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("txlanes", "txlanes: check parallel execution engines")
    group.addoption(
        "--txlanes-engine",
        default="blockstm-det",
        metavar="SPEC",
        help=f"the engine of the txlanes fixtures: {ENGINE_HELP}; default: blockstm-det",
    )
    group.addoption(
        "--txlanes-engine-cmd",
        metavar="COMMAND",
        help=f"instead of --txlanes-engine: {ENGINE_CMD_HELP}",
    )
    group.addoption(
        "--txlanes-engine-timeout",
        type=SECONDS,
        default=10.0,
        help=f"{TIMEOUT_HELP}, {SECONDS} (10)",
    )
    group.addoption(
        "--txlanes-workers", type=COUNT, default=4, help=f"workers per engine, {COUNT} (4)"
    )
    group.addoption(
        "--txlanes-profile",
        default="ci",
        choices=sorted(PROFILES),
        help="campaign budget for txlanes_campaign (ci)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "txlanes(examples=N, profile=NAME): the budget of txlanes_campaign"
    )
    config.stash[_STATS] = _Stats()
    _configured_target(config)  # a bad engine is a usage error before any test runs


def _configured_target(config: pytest.Config) -> Target:
    """The engine the options name, resolved once: an external engine is a running process."""
    target = config.stash.get(_TARGET, None)
    if target is None:
        command = config.getoption("txlanes_engine_cmd")
        spec = f"cmd:{command}" if command else config.getoption("txlanes_engine")
        try:
            timeout = config.getoption("txlanes_engine_timeout")
            target = resolve(spec, timeout=timeout, reports=config.rootpath / "reports")
        except (TargetError, ExternalEngineError) as err:
            raise pytest.UsageError(str(err)) from None
        config.stash[_TARGET] = target
    return target


@pytest.fixture(scope="session")
def txlanes_target(request: pytest.FixtureRequest) -> Target:
    """The engine under test, from ``--txlanes-engine`` or ``--txlanes-engine-cmd``
    (session-scoped, so ``@given`` tests may use it; ``.kinds`` is what it supports)."""
    return _configured_target(request.config)


@pytest.fixture(scope="session")
def txlanes_check(request: pytest.FixtureRequest, txlanes_target: Target) -> Callable[..., None]:
    """``txlanes_check(workload, schedule=None)``: fail with an explained counterexample if the
    engine's result differs from sequential execution or breaks an invariant."""
    stats = request.config.stash[_STATS]
    workers = request.config.getoption("txlanes_workers")

    def check(workload: Workload, schedule: Schedule | None = None) -> None:
        stats.workloads += 1
        schedule = schedule or Schedule(seed=0)
        try:
            problem = run_example(txlanes_target, workload, workers, schedule)
        except ExternalEngineError as err:
            pytest.fail(str(err), pytrace=False)
        if problem is not None:
            stats.failures += 1
            failure = failure_of(txlanes_target, "", problem, workload, workers, None)
            pytest.fail(failure_text(failure), pytrace=False)

    return check


@pytest.fixture
def txlanes_campaign(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``txlanes_campaign(EngineClass_or_factory)``: the `txlanes check` campaign against a
    user's engine — without an argument, the configured one (``txlanes_target``).
    ``@pytest.mark.txlanes(examples=N, profile=NAME)`` sets its budget."""
    stats = request.config.stash[_STATS]
    marker = request.node.get_closest_marker("txlanes")
    options = dict(marker.kwargs) if marker else {}
    profile_name = options.pop("profile", request.config.getoption("txlanes_profile"))
    examples = options.pop("examples", None)
    if options or profile_name not in PROFILES:
        raise pytest.UsageError(
            f"@pytest.mark.txlanes takes examples= and profile= ({', '.join(PROFILES)}); "
            f"got {marker.kwargs if marker else {}}"
        )

    def campaign(factory: Callable[[], Engine] | None = None) -> None:
        if factory is None:
            target = _configured_target(request.config)
        else:
            target = Target(getattr(factory, "__name__", repr(factory)), lambda *_: factory())
        try:
            outcomes = Campaign(
                [target], PROFILES[profile_name], CONTENTION, examples=examples
            ).run()
        except ExternalEngineError as err:
            pytest.fail(str(err), pytrace=False)
        stats.campaigns += 1
        stats.workloads += sum(o.examples for o in outcomes)
        failed = [o.failure for o in outcomes if o.failure is not None]
        if failed:
            stats.failures += len(failed)
            pytest.fail(failure_text(failed[0]), pytrace=False)

    return campaign


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = terminalreporter.config.stash.get(_STATS, None)
    if stats is None or not (stats.workloads or stats.campaigns):
        return
    terminalreporter.write_sep("-", "txlanes")
    terminalreporter.write_line(
        f"{stats.workloads} workloads checked against sequential execution "
        f"({stats.campaigns} campaigns), {stats.failures} failed"
    )
