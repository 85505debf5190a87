"""The reference engine's trace: the contract every other engine and the checker rely on."""

from __future__ import annotations

from txlanes.executor import PRE_STATE, SequentialEngine, run_workload
from txlanes.models import Block, Workload
from txlanes.models.erc20 import BAL, Approve, Transfer

T = 1


def bal(account: int) -> tuple[str, int, int]:
    return (BAL, T, account)


def test_reads_record_the_writer_they_saw() -> None:
    state = {bal(1): 100}
    block = Block((Transfer(1, T, 2, 10), Transfer(2, T, 3, 4), Transfer(1, T, 3, 1)))
    result = SequentialEngine().execute(block, state)
    t0, t1, t2 = result.traces
    assert t0.reads == {bal(1): PRE_STATE, bal(2): PRE_STATE}
    assert t1.reads == {bal(2): 0, bal(3): PRE_STATE}
    assert t2.reads == {bal(1): 0, bal(3): 1}
    assert t2.writes == {bal(1): 89, bal(3): 5}
    assert result.writes == {bal(1): 89, bal(2): 6, bal(3): 5}


def test_own_writes_are_not_dependencies() -> None:
    result = SequentialEngine().execute(Block((Transfer(1, T, 1, 5),)), {bal(1): 9})
    # The self-transfer reads bal(1) from storage once, then reads its own write.
    assert result.traces[0].reads == {bal(1): PRE_STATE}


def test_reverted_tx_keeps_reads_drops_writes_and_is_not_a_writer() -> None:
    block = Block((Transfer(1, T, 2, 5), Transfer(2, T, 3, 50), Transfer(3, T, 2, 0)))
    result = SequentialEngine().execute(block, {bal(1): 5})
    assert [r.ok for r in result.receipts] == [True, False, True]
    assert result.traces[1].reads == {bal(2): 0}
    assert result.traces[1].writes == {}
    # tx 2 reads bal(3), which only the reverted tx 1 would have written: it sees the pre-state.
    assert result.traces[2].reads[bal(3)] == PRE_STATE


def test_engine_does_not_mutate_the_pre_state() -> None:
    state = {bal(1): 100}
    SequentialEngine().execute(Block((Transfer(1, T, 2, 100), Approve(1, T, 2, 1))), state)
    assert state == {bal(1): 100}


def test_run_workload_chains_blocks_and_keeps_state_canonical() -> None:
    workload = Workload(
        {bal(1): 10},
        [Block((Transfer(1, T, 2, 10),)), Block((Transfer(2, T, 3, 4),))],
    )
    run = run_workload(SequentialEngine(), workload)
    assert run.state == {bal(2): 6, bal(3): 4}  # bal(1) became 0: absent, not stored as 0
    assert workload.state == {bal(1): 10}
