"""Block-STM on every DeFi transaction type, from 2 accounts (fully contended) to 1,000:
each transaction's reads, receipt and writes equal sequential execution in block order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from txlanes.checker.equivalence import first_divergence
from txlanes.checker.example import preemptive_threads
from txlanes.checker.strategies import workloads
from txlanes.executor import BlockSTMEngine, SequentialEngine, apply_writes
from txlanes.executor.blockstm import Schedule
from txlanes.models import Workload

CONTENTION = st.sampled_from([2, 3, 10, 1000]).flatmap(
    lambda n: workloads(accounts=n, blocks=2, block_size=(1, 14), hot_fraction=0.2)
)
SCHEDULES = st.builds(
    Schedule,
    st.lists(st.integers(0, 3), max_size=100),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.0, 0.9, 0.99]),
)


def assert_equivalent_run(engine: BlockSTMEngine, workload: Workload) -> None:
    state = dict(workload.state)
    reference = SequentialEngine()
    for index, block in enumerate(workload.blocks):
        want = reference.execute(block, state)
        got = engine.execute(block, state)
        divergence = first_divergence(want, got, block.txs, state, block=index)
        assert divergence is None, divergence.explain()
        apply_writes(state, want.writes.items())


@settings(max_examples=60)
@given(CONTENTION, st.integers(1, 4), SCHEDULES)
def test_deterministic_runtime_with_generated_schedules(
    workload: Workload, workers: int, schedule: Schedule
) -> None:
    assert_equivalent_run(BlockSTMEngine.deterministic(workers, schedule), workload)


@settings(max_examples=15)
@given(CONTENTION)
def test_real_threads_over_repetitions(workload: Workload) -> None:
    engine = BlockSTMEngine(workers=4)
    with preemptive_threads():
        for _ in range(5):
            assert_equivalent_run(engine, workload)


@settings(max_examples=20)
@given(workloads(accounts=20, block_size=(8, 12), fee=1), st.integers(0, 2**32 - 1))
def test_a_hot_fee_recipient_serialises_but_stays_equivalent(workload: Workload, seed: int) -> None:
    """Every transaction pays the hot account: one key that every transaction writes."""
    assert_equivalent_run(
        BlockSTMEngine.deterministic(4, Schedule(seed=seed, stickiness=0.5)), workload
    )
