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
from txlanes.executor.multicore.chunks import Chunk, Runner, Schedule, Validated, validate
from txlanes.executor.multicore.lazy import LazySequence
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
@given(CONTENTION, st.integers(1, 3), st.integers(1, 5), st.integers(1, 5))
def test_equivalent_to_sequential_for_any_chunking(
    workload: Workload, processes: int, chunk: int, parent_chunk: int
) -> None:
    run_both(MultiCoreEngine(processes, chunk=chunk, parent_chunk=parent_chunk), workload)


def _chunks_of_first_child(txs: int, chunk: int, parent_chunk: int) -> int:
    lanes = min(2, -(-txs // chunk))
    return sum(c.owner == 1 for c in Schedule(txs, lanes, chunk, parent_chunk).chunks)


@settings(max_examples=20)
@given(CONTENTION, st.integers(0, 9))
def test_a_process_killed_mid_block_loses_and_duplicates_nothing(
    workload: Workload, die_after: int
) -> None:
    engine = MultiCoreEngine(2, chunk=2, parent_chunk=2, die_after=die_after)
    results = run_both(engine, workload)
    for block, result in zip(workload.blocks, results, strict=True):
        assert len(result.receipts) == len(block.txs)
        assert result.stats["executions"] == len(block.txs) + result.stats["aborts"]
        owned = _chunks_of_first_child(len(block.txs), 2, 2)
        # it sent `die_after` chunks in full and died: the parent ran the rest itself
        assert result.stats["recovered_chunks"] == max(owned - die_after, 0)


def test_recovery_runs_exactly_the_chunks_the_dead_child_did_not_send() -> None:
    """The child owns 10 of the 20 chunks and dies after sending 3: the parent runs 7."""
    workload = transfers(txs=400, accounts=50, seed=7)
    (result,) = run_both(MultiCoreEngine(2, chunk=20, parent_chunk=20, die_after=3), workload)
    assert result.stats["recovered_chunks"] == 7
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


@pytest.mark.parametrize("position", [21, 25])  # chunk 5 is the child's, chunk 6 the parent's
def test_a_spec_error_surfaces_as_the_same_error_in_the_caller(position: int) -> None:
    workload = transfers(txs=40, accounts=10, seed=4)
    txs = list(workload.blocks[0].txs)
    txs[position] = Transfer(txs[position].sender, TOKEN, 3, 13)
    with pytest.raises(ZeroDivisionError, match="spec bug"):
        _Exploding(2, chunk=4, parent_chunk=4).execute(Block(tuple(txs)), workload.state)


def _validate(txs: tuple[Tx, ...], pre: Mapping[Key, int], split: int) -> tuple[Runner, Validated]:
    """A child ran ``txs[split:]`` without seeing ``txs[:split]``; the parent validates it."""
    child = Runner(txs, BlockEnv(), pre, execute_tx)
    _, traces = child.run(Chunk(split, len(txs), 1), {})
    parent = Runner(txs, BlockEnv(), pre, execute_tx)
    missed: dict[Key, tuple[int, int]] = {}
    parent.run(Chunk(0, split, 0), missed)
    return parent, validate(parent, Chunk(split, len(txs), 1), traces, set(missed))


def test_validation_redoes_what_read_a_missed_write_and_what_read_a_redone_write() -> None:
    pre = {(BAL, 1, a): 100 for a in range(1, 7)}
    txs = (Transfer(1, 1, 2, 10), Transfer(3, 1, 4, 5), Transfer(2, 1, 5, 1), Transfer(6, 1, 5, 1))
    parent, (redone, fixed) = _validate(txs, pre, 2)
    # tx 2 read bal[2], which tx 0 wrote; tx 3 read bal[5], which the redone tx 2 wrote
    assert sorted(redone) == [0, 1]
    reads = {(BAL, 1, 2): 0, (BAL, 1, 5): PRE_STATE}
    assert redone[0][1] == (reads, {(BAL, 1, 2): 109, (BAL, 1, 5): 101}, 2)
    assert redone[1][1][2] == 2
    assert fixed == {(BAL, 1, 2), (BAL, 1, 5), (BAL, 1, 6)}
    assert {k: parent.overlay[k] for k in fixed} == {
        (BAL, 1, 2): (2, 100 + 10 - 1),
        (BAL, 1, 5): (3, 100 + 1 + 1),
        (BAL, 1, 6): (3, 99),
    }


def test_validation_keeps_a_read_of_a_key_an_earlier_kept_transaction_overwrote() -> None:
    """The missed chunk set an allowance; the chunk set it again blindly, then spent it: the
    spend read the chunk's own value, which is right, so nothing re-executes."""
    pre = {(BAL, 1, 1): 100}
    txs = (Approve(1, 1, 9, 50), Approve(1, 1, 9, 70), TransferFrom(9, 1, 1, 2, 60))
    parent, (redone, fixed) = _validate(txs, pre, 1)
    assert redone == {} and fixed == set()
    assert parent.overlay[(ALLOWANCE, 1, 1, 9)] == (2, 10)


def test_a_child_forgets_a_write_its_chunk_did_not_make_after_all() -> None:
    """The child's tx 1 spends a balance the parent's tx 0 (unseen) drained: it really
    reverts, so its write to a fresh account is undone in the child's view — and a later
    chunk of the child must read that account as empty, not as the speculation left it."""
    fresh = 99
    pre = {(BAL, TOKEN, 1): 10, (BAL, TOKEN, 5): 10, (BAL, TOKEN, 8): 10}
    txs = (
        Transfer(1, TOKEN, 2, 10),  # parent: drains account 1
        Transfer(1, TOKEN, fresh, 5),  # child: succeeds on its stale view, really reverts
        Transfer(5, TOKEN, 6, 1),  # parent
        Transfer(8, TOKEN, 7, 1),  # child: nothing stale; folds the fix of tx 1 after it
        Transfer(5, TOKEN, 6, 1),  # parent
        Transfer(fresh, TOKEN, 3, 5),  # child: must revert (the fresh account is empty)
    )
    workload = Workload(pre, [Block(txs)])
    (result,) = run_both(MultiCoreEngine(2, chunk=1, parent_chunk=1), workload)
    assert result.stats["aborts"] == 1  # tx 1 only: tx 5 ran on the fixed view
    assert not result.receipts[5].ok


def test_news_of_an_earlier_chunk_does_not_overwrite_a_later_write_of_the_child() -> None:
    """The parent's tx 0 and the child's tx 1 both set an allowance without reading it; the
    parent's news of tx 0 reaches the child after tx 1, and must not bring back the old
    allowance that tx 3 then spends (nothing tx 3 read is stale, so nobody would redo it)."""
    pre = {(BAL, TOKEN, 1): 100, (BAL, TOKEN, 5): 10}
    txs = (
        Approve(1, TOKEN, 9, 50),  # parent
        Approve(1, TOKEN, 9, 70),  # child
        Transfer(5, TOKEN, 6, 1),  # parent
        TransferFrom(9, TOKEN, 1, 2, 60),  # child: allowance 70, not 50
    )
    (result,) = run_both(MultiCoreEngine(2, chunk=1, parent_chunk=1), Workload(pre, [Block(txs)]))
    assert result.stats["aborts"] == 0 and result.receipts[3].ok


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
    with pytest.raises(ValueError, match="chunk"):
        MultiCoreEngine(2, parent_chunk=0)
