"""A transaction re-executed far beyond what a converging engine needs is a named failure, not a
pass: ``incarnations`` in a trace is bounded (checker/example.py)."""

from __future__ import annotations

from collections.abc import Mapping

from txlanes.checker.example import max_incarnations, run_example
from txlanes.checker.failure import FailureKind
from txlanes.executor import BlockResult, SequentialEngine
from txlanes.executor.registry import Target
from txlanes.models import Block, Workload
from txlanes.models.context import Key
from txlanes.models.erc20 import BAL, SUPPLY, Transfer

WORKLOAD = Workload(
    {(BAL, 1, 1): 100, (SUPPLY, 1): 100}, [Block((Transfer(1, 1, 2, 10), Transfer(2, 1, 3, 4)))]
)


class Reexecutes(SequentialEngine):
    """Correct results, but tx 1 says it took ``times`` incarnations."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        result = super().execute(block, state)
        result.traces = [*result.traces[:1], result.traces[1]._replace(incarnations=self.times)]
        return result


def _target(times: int) -> Target:
    return Target("reexecutes", lambda workers, schedule: Reexecutes(times), deterministic=True)


def test_incarnations_within_the_bound_pass() -> None:
    assert run_example(_target(max_incarnations(2)), WORKLOAD, 2, None) is None


def test_incarnations_beyond_the_bound_are_a_named_failure() -> None:
    problem = run_example(_target(max_incarnations(2) + 1), WORKLOAD, 2, None)
    assert problem is not None and problem.kind is FailureKind.INCARNATIONS
    assert "block 0, tx 1: executed 7 times in a block of 2 (more than 6" in problem.message
