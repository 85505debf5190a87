"""Block-STM: equal to sequential in block order, replayable, and really interleaving."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txlanes.checker.equivalence import first_divergence
from txlanes.checker.example import preemptive_threads
from txlanes.executor import BlockResult, SequentialEngine
from txlanes.executor.blockstm import BlockSTMEngine, Hang, Schedule
from txlanes.executor.blockstm.mvmemory import MVMemory
from txlanes.executor.blockstm.runtime import schedule_from_json, schedule_to_json
from txlanes.executor.blockstm.scheduler import Scheduler
from txlanes.models import Block, Key, Tx
from txlanes.models.erc20 import BAL, SUPPLY, Approve, Transfer, TransferFrom

T = 1


def funded(accounts: int) -> dict[Key, int]:
    state: dict[Key, int] = {(BAL, T, a): 1_000 for a in range(1, accounts + 1)}
    state[(SUPPLY, T)] = 1_000 * accounts
    return state


def erc20_block(accounts: int) -> st.SearchStrategy[Block]:
    acct = st.integers(1, accounts)
    amount = st.integers(0, 700)
    tx = st.one_of(
        st.builds(Transfer, acct, st.just(T), acct, amount),
        st.builds(Approve, acct, st.just(T), acct, amount),
        st.builds(TransferFrom, acct, st.just(T), acct, acct, amount),
    )
    return st.lists(tx, min_size=1, max_size=16).map(lambda txs: Block(tuple(txs)))


def assert_equivalent(
    got: BlockResult, want: BlockResult, block: Block, state: dict[Key, int]
) -> None:
    divergence = first_divergence(want, got, block.txs, state)
    assert divergence is None, divergence.explain()


@given(
    st.sampled_from([2, 3, 10, 1000]).flatmap(lambda n: st.tuples(st.just(n), erc20_block(n))),
    st.integers(1, 4),
    st.lists(st.integers(0, 3), max_size=300),
)
@settings(max_examples=40)
def test_deterministic_runtime_equals_sequential(
    case: tuple[int, Block], workers: int, choices: list[int]
) -> None:
    accounts, block = case
    state = funded(accounts)
    want = SequentialEngine().execute(block, state)
    got = BlockSTMEngine.deterministic(workers, Schedule(choices)).execute(block, state)
    assert_equivalent(got, want, block, state)


@pytest.fixture
def preemptive() -> Iterator[None]:
    with preemptive_threads():
        yield


def random_erc20_block(rng: random.Random, accounts: int, size: int) -> Block:
    def acct() -> int:
        return rng.randint(1, accounts)

    txs: list[Tx] = []
    for _ in range(size):
        kind = rng.randrange(3)
        if kind == 0:
            txs.append(Transfer(acct(), T, acct(), rng.randint(0, 700)))
        elif kind == 1:
            txs.append(Approve(acct(), T, acct(), rng.randint(0, 700)))
        else:
            txs.append(TransferFrom(acct(), T, acct(), acct(), rng.randint(0, 700)))
    return Block(tuple(txs))


@pytest.mark.usefixtures("preemptive")
@pytest.mark.parametrize("accounts", [2, 5, 50])
def test_threads_equal_sequential_over_many_repetitions(accounts: int) -> None:
    rng = random.Random(accounts)
    state = funded(accounts)
    for _ in range(4):
        block = random_erc20_block(rng, accounts, 24)
        want = SequentialEngine().execute(block, state)
        engine = BlockSTMEngine(workers=4)
        for _ in range(10):
            assert_equivalent(engine.execute(block, state), want, block, state)


def contended_block() -> Block:
    # Everyone pays account 1 and account 1 pays everyone: one hot key, chains of dependencies.
    txs: list[Tx] = []
    for a in range(2, 8):
        txs += [Transfer(a, T, 1, 10), Transfer(1, T, a, 5)]
    return Block(tuple(txs))


def test_schedules_explore_real_interleavings() -> None:
    block, state = contended_block(), funded(8)
    want = SequentialEngine().execute(block, state)
    with_conflicts = without = 0
    for seed in range(12):
        result = BlockSTMEngine.deterministic(4, Schedule(seed=seed)).execute(block, state)
        assert_equivalent(result, want, block, state)
        redone = result.stats["aborts"] + result.stats["dependency_waits"]
        with_conflicts += redone > 0
    # Always scheduling the first runnable worker runs one worker to completion: no conflicts.
    result = BlockSTMEngine.deterministic(4, Schedule([0] * 100_000)).execute(block, state)
    assert_equivalent(result, want, block, state)
    without += result.stats["aborts"] + result.stats["dependency_waits"] == 0
    assert with_conflicts >= 6 and without == 1


def test_same_schedule_replays_exactly() -> None:
    block, state = contended_block(), funded(8)
    first = BlockSTMEngine.deterministic(3, Schedule(seed=7))
    a = first.execute(block, state)
    taken = first.runtime.taken  # type: ignore[attr-defined]
    second = BlockSTMEngine.deterministic(3, Schedule(list(taken)))
    b = second.execute(block, state)
    assert second.runtime.taken == taken  # type: ignore[attr-defined]
    assert (a.stats, a.traces, a.receipts) == (b.stats, b.traces, b.receipts)


class _SkipValidation(MVMemory):
    """A seeded bug: every read set is declared valid."""

    def validate_read_set(self, txn_idx: int) -> bool:
        return True


class _SkipValidationEngine(BlockSTMEngine):
    memory_type = _SkipValidation


def test_a_failing_schedule_saved_to_a_file_replays_to_the_identical_failure(
    tmp_path: Path,
) -> None:
    block, state = contended_block(), funded(8)
    want = SequentialEngine().execute(block, state)
    for seed in range(50):
        engine = _SkipValidationEngine.deterministic(4, Schedule(seed=seed))
        failed = engine.execute(block, state)
        if failed.writes != want.writes:
            break
    else:
        pytest.fail("skipping validation was never caught in 50 schedules")
    path = tmp_path / "schedule.json"
    taken = engine.runtime.taken  # type: ignore[attr-defined]
    path.write_text(json.dumps(schedule_to_json(Schedule(list(taken)), 4)))
    schedule, workers = schedule_from_json(json.loads(path.read_text()))
    replayed = _SkipValidationEngine.deterministic(workers, schedule).execute(block, state)
    assert replayed.writes == failed.writes != want.writes
    assert replayed.traces == failed.traces and replayed.receipts == failed.receipts


class _NeverDone(Scheduler):
    """A seeded bug: completion is never detected, so idle workers spin forever."""

    def check_done(self) -> None:
        self._point()


def test_watchdog_turns_a_livelock_into_a_replayable_hang() -> None:
    engine_type = type("NeverDoneEngine", (BlockSTMEngine,), {"scheduler_type": _NeverDone})
    block, state = contended_block(), funded(8)
    with pytest.raises(Hang) as first:
        engine_type.deterministic(2, Schedule(seed=3), max_steps=5_000).execute(block, state)
    assert len(first.value.choices) == 5_000
    with pytest.raises(Hang) as again:
        engine_type.deterministic(2, Schedule(first.value.choices), max_steps=5_000).execute(
            block, state
        )
    assert again.value.choices == first.value.choices


def test_thread_watchdog_reports_a_hang() -> None:
    engine_type = type("NeverDoneEngine", (BlockSTMEngine,), {"scheduler_type": _NeverDone})
    engine = engine_type(runtime=None, workers=2)
    engine.runtime.watchdog_seconds = 0.5  # type: ignore[attr-defined]
    with pytest.raises(Hang, match="did not finish"):
        engine.execute(contended_block(), funded(8))


@pytest.mark.parametrize(
    "bad",
    [{"format": "x"}, {"format": "txlanes-schedule", "version": 1, "workers": 0, "choices": []}],
)
def test_bad_schedule_files_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        schedule_from_json(bad)


def test_empty_block() -> None:
    result = BlockSTMEngine.deterministic(2).execute(Block(()), {})
    assert result.receipts == [] and result.writes == {}
