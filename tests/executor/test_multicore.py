"""The multi-core engine: per transaction identical to sequential, whatever the chunking, the
number of processes, the contention — and when a process dies mid-block."""

from __future__ import annotations

import operator
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txlanes.checker.equivalence import first_divergence
from txlanes.checker.strategies import workloads
from txlanes.executor import PRE_STATE, BlockResult, SequentialEngine, apply_writes
from txlanes.executor.multicore import MultiCoreEngine
from txlanes.executor.multicore.chunks import ChunkResult, Lane
from txlanes.executor.multicore.lazy import LazySequence
from txlanes.executor.multicore.wire import decode_diff, encode_diff
from txlanes.models import Block, BlockEnv, Key, Tx, Workload
from txlanes.models.erc20 import ALLOWANCE, BAL, Approve, Transfer, TransferFrom
from txlanes.models.generate import TOKEN, transfers
from txlanes.models.spec import execute_tx

CONTENTION = st.sampled_from([2, 3, 10, 1000]).flatmap(
    lambda n: workloads(accounts=n, blocks=2, block_size=(1, 24), hot_fraction=0.2)
)


def run_both(engine: MultiCoreEngine, workload: Workload) -> list[BlockResult]:
    """Each block through ``engine``, asserted equal to sequential per transaction."""
    state = dict(workload.state)
    results = []
    for index, block in enumerate(workload.blocks):
        want = SequentialEngine().execute(block, state)
        got = engine.execute(block, state)
        divergence = first_divergence(want, got, block.txs, state, block=index)
        assert divergence is None, divergence.explain()
        assert got.writes == want.writes
        apply_writes(state, want.writes.items())
        results.append(got)
    return results


@settings(max_examples=40)
@given(CONTENTION, st.integers(1, 3), st.integers(1, 5))
def test_equivalent_to_sequential_for_any_chunking(
    workload: Workload, processes: int, chunk: int
) -> None:
    run_both(MultiCoreEngine(processes, chunk=chunk), workload)


@settings(max_examples=20)
@given(CONTENTION, st.integers(0, 9))
def test_a_process_killed_mid_block_loses_and_duplicates_nothing(
    workload: Workload, die_after: int
) -> None:
    results = run_both(MultiCoreEngine(2, chunk=2, die_after=die_after), workload)
    for block, result in zip(workload.blocks, results, strict=True):
        assert len(result.receipts) == len(block.txs)
        chunks_of_the_dead = (len(block.txs) + 1) // 2 // 2  # lane 1 owns chunks 1, 3, 5, ...
        if 2 * chunks_of_the_dead > die_after:  # it died: the parent ran what it lacked
            sent_in_full = die_after // 2
            assert result.stats["recovered_chunks"] == chunks_of_the_dead - sent_in_full


@pytest.mark.parametrize("die_after", [6, 7])
def test_recovery_is_counted_once_per_chunk_and_executions_add_up(die_after: int) -> None:
    """Lane 1 owns 10 of the 20 chunks and dies after sending 3 in full (6 messages), or
    after the 4th chunk's diff but before its results (7): the parent runs the 7 it lacks —
    the 4th again, on the state before it, for its results."""
    workload = transfers(txs=400, accounts=50, seed=7)
    (result,) = run_both(MultiCoreEngine(2, chunk=20, die_after=die_after), workload)
    assert result.stats["recovered_chunks"] == 10 - 3
    if die_after == 6:
        assert result.stats["executions"] == 400 + result.stats["aborts"]


def test_statistics_do_not_depend_on_timing() -> None:
    """A lane speculates on a fixed set of chunks, so re-executions are reproducible."""
    workload = transfers(txs=600, accounts=30, seed=2)
    runs = [run_both(MultiCoreEngine(2, chunk=16), workload)[0].stats for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert runs[0]["aborts"] > 0  # 30 accounts: concurrent chunks do conflict


def test_one_chunk_per_lane_at_full_contention_still_matches() -> None:
    two_accounts = transfers(txs=64, accounts=2, seed=1)
    run_both(MultiCoreEngine(4, chunk=1), two_accounts)


class _Exploding(MultiCoreEngine):
    """A spec bug (not a revert) on one transaction, which a child process will run."""

    @staticmethod
    def apply(tx: Tx, ctx: object) -> None:  # type: ignore[override]
        if isinstance(tx, Transfer) and tx.amount == 13:
            raise ZeroDivisionError("spec bug")
        execute_tx(tx, ctx)  # type: ignore[arg-type]


def test_an_error_in_a_child_surfaces_as_the_same_error_in_the_caller() -> None:
    workload = transfers(txs=40, accounts=10, seed=4)
    txs = list(workload.blocks[0].txs)
    txs[25] = Transfer(txs[25].sender, TOKEN, 3, 13)  # chunk 6 of 10: a child's
    with pytest.raises(ZeroDivisionError, match="spec bug"):
        _Exploding(2, chunk=4).execute(Block(tuple(txs)), workload.state)


def _finalize(txs: tuple[Tx, ...], pre: Mapping[Key, int], split: int) -> ChunkResult:
    """Speculate ``txs[split:]`` without ``txs[:split]``, then finalize with their diff."""
    lane = Lane(txs, BlockEnv(), pre, execute_tx)
    spec = lane.speculate(split, len(txs))
    missed = Lane(txs, BlockEnv(), pre, execute_tx).speculate(0, split).diff
    lane.final.update(missed)
    return lane.finalize(spec, set(missed))


def test_finalize_redoes_what_read_a_missed_write_and_what_read_a_redone_write() -> None:
    pre = {(BAL, 1, a): 100 for a in range(1, 7)}
    txs = (Transfer(1, 1, 2, 10), Transfer(3, 1, 4, 5), Transfer(2, 1, 5, 1), Transfer(6, 1, 5, 1))
    result = _finalize(txs, pre, 2)
    # tx 2 read bal[2], which tx 0 wrote; tx 3 read bal[5], which the redone tx 2 wrote
    assert result.executions == 4
    reads = {(BAL, 1, 2): 0, (BAL, 1, 5): PRE_STATE}
    assert result.traces[0] == (reads, {(BAL, 1, 2): 109, (BAL, 1, 5): 101}, 2)
    assert result.traces[1][2] == 2
    assert result.diff == {
        (BAL, 1, 2): (2, 100 + 10 - 1),
        (BAL, 1, 5): (3, 100 + 1 + 1),
        (BAL, 1, 6): (3, 99),
    }


def test_finalize_keeps_a_read_of_a_key_an_earlier_kept_transaction_overwrote() -> None:
    """The missed chunk set an allowance; the chunk set it again blindly, then spent it: the
    spend read the chunk's own value, which is right, so nothing re-executes."""
    pre = {(BAL, 1, 1): 100}
    txs = (Approve(1, 1, 9, 50), Approve(1, 1, 9, 70), TransferFrom(9, 1, 1, 2, 60))
    result = _finalize(txs, pre, 1)
    assert result.executions == 2
    assert result.diff[(ALLOWANCE, 1, 1, 9)] == (2, 10)


def test_diffs_round_trip_every_uint256() -> None:
    diff = {("erc20.bal", 1, 3): (7, 2**256 - 1), ("erc20.sup", 1): (9, 0), ("x",): (-1, 1)}
    assert decode_diff(encode_diff(diff)) == diff


def test_lazy_sequences_decode_once_and_compare_as_lists() -> None:
    loads: list[int] = []

    def load() -> list[int]:
        loads.append(1)
        return [1, 2, 3]

    lazy = LazySequence(3, load)
    assert len(lazy) == 3 and not loads
    assert lazy == [1, 2, 3] and operator.eq([1, 2, 3], lazy) and lazy[1:] == [2, 3]
    assert lazy != [1, 2]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="processes"):
        MultiCoreEngine(0)
    with pytest.raises(ValueError, match="chunk"):
        MultiCoreEngine(2, chunk=0)
