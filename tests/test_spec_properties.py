"""Random sequences of every transaction type conserve each token and stay within uint256."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from txlanes.checker.invariants import check_invariants
from txlanes.checker.strategies import workloads
from txlanes.executor import SequentialEngine, apply_writes
from txlanes.models import Workload


@settings(max_examples=80)
@given(
    st.sampled_from([2, 5, 50]).flatmap(
        lambda n: workloads(accounts=n, blocks=3, block_size=(0, 20), hot_fraction=0.3, fee=1)
    )
)
def test_every_block_of_every_type_keeps_the_invariants(workload: Workload) -> None:
    state = dict(workload.state)
    engine = SequentialEngine()
    for block in workload.blocks:
        result = engine.execute(block, state)
        post = dict(state)
        apply_writes(post, result.writes.items())
        violation = check_invariants(state, post, result)
        assert violation is None, violation.explain()
        state = post
