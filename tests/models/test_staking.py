"""MasterChef: rewards worked by hand, 1e12 rounding, every revert path, and properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.support import execute, execute_one
from txlanes.models import BlockEnv, Key, Tx
from txlanes.models.erc20 import BAL, SUPPLY
from txlanes.models.staking import (
    ACC_PER_SHARE,
    AMOUNT,
    LAST_REWARD_BLOCK,
    REWARD_DEBT,
    Deposit,
    EmergencyWithdraw,
    Harvest,
    UpdatePool,
    Withdraw,
    genesis_chef,
    genesis_pools,
)

CHEF, R, LP1, LP2 = 300, 30, 40, 41
ALICE, BOB = 1, 2


def genesis() -> dict[Key, int]:
    state = genesis_chef(CHEF, R, reward_per_block=100)
    state |= genesis_pools(CHEF, {0: (LP1, 1), 1: (LP2, 3)})
    for lp in (LP1, LP2):
        state |= {(BAL, lp, ALICE): 1000, (BAL, lp, BOB): 1000, (SUPPLY, lp): 2000}
    return state


def at(block: int, state: dict[Key, int], *txs: Tx) -> dict[Key, int]:
    post, result = execute(state, txs, BlockEnv(number=block))
    assert all(r.ok for r in result.receipts), [r.reason for r in result.receipts]
    return post


def test_nothing_is_minted_while_the_pool_is_empty() -> None:
    post = at(10, genesis(), UpdatePool(BOB, CHEF, 0))
    assert post.get((SUPPLY, R), 0) == 0
    assert post[(LAST_REWARD_BLOCK, CHEF, 0)] == 10


def test_single_staker_reward() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 100))  # empty pool: nothing minted
    assert state.get((SUPPLY, R), 0) == 0
    state = at(20, state, Harvest(ALICE, CHEF, 0))
    # 10 blocks * 100 per block * alloc 1 // total alloc 4 = 250; acc = 250e12 // 100 = 2.5e12
    assert state[(SUPPLY, R)] == 250
    assert state[(ACC_PER_SHARE, CHEF, 0)] == 2_500_000_000_000
    assert state[(BAL, R, ALICE)] == 250
    assert state[(REWARD_DEBT, CHEF, 0, ALICE)] == 250


def test_two_stakers_with_different_entry_blocks() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 100))
    state = at(20, state, Deposit(BOB, CHEF, 0, 300))  # acc 2.5e12, Bob's debt 750
    assert state[(REWARD_DEBT, CHEF, 0, BOB)] == 750
    state = at(30, state, Harvest(ALICE, CHEF, 0), Harvest(BOB, CHEF, 0))
    # block 30: reward 250 over 400 staked: acc += 250e12 // 400 = 0.625e12 → 3.125e12
    # Alice: 100 * 3.125 - 0 = 312 (312.5 floored); Bob: 300 * 3.125 - 750 = 187 (937.5 → 937)
    assert state[(BAL, R, ALICE)] == 312
    assert state[(BAL, R, BOB)] == 187
    assert state[(BAL, R, CHEF)] == 500 - 312 - 187  # rounding dust stays with the chef


def test_accumulator_rounds_down_at_1e12() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 3))
    state = at(20, state, Harvest(ALICE, CHEF, 0))
    # acc = 250e12 // 3 = 83333333333333; pending = 3 * acc // 1e12 = 249
    assert state[(ACC_PER_SHARE, CHEF, 0)] == 83_333_333_333_333
    assert state[(BAL, R, ALICE)] == 249


def test_allocation_points_split_rewards() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 100), Deposit(ALICE, CHEF, 1, 100))
    state = at(14, state, Harvest(ALICE, CHEF, 0), Harvest(ALICE, CHEF, 1))
    # 4 blocks * 100: pool 0 gets 1/4 = 100, pool 1 gets 3/4 = 300
    assert state[(BAL, R, ALICE)] == 400


def test_withdraw_pays_pending_and_returns_stake() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 100))
    state = at(20, state, Withdraw(ALICE, CHEF, 0, 40))
    assert state[(BAL, LP1, ALICE)] == 940
    assert state[(AMOUNT, CHEF, 0, ALICE)] == 60
    assert state[(BAL, R, ALICE)] == 250
    assert state[(REWARD_DEBT, CHEF, 0, ALICE)] == 60 * 2_500_000_000_000 // 10**12


def test_emergency_withdraw_forfeits_rewards() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 100))
    state = at(20, state, EmergencyWithdraw(ALICE, CHEF, 0))
    assert state[(BAL, LP1, ALICE)] == 1000
    assert (AMOUNT, CHEF, 0, ALICE) not in state
    assert state.get((BAL, R, ALICE), 0) == 0


def test_safe_transfer_pays_at_most_what_the_chef_holds() -> None:
    state = genesis() | {
        (AMOUNT, CHEF, 0, ALICE): 10,
        (BAL, LP1, CHEF): 10,
        (BAL, LP1, ALICE): 990,
        (ACC_PER_SHARE, CHEF, 0): 10**15,  # pending 10 * 1000 = 10000, but the chef holds 7
        (LAST_REWARD_BLOCK, CHEF, 0): 50,
        (BAL, R, CHEF): 7,
        (SUPPLY, R): 7,
    }
    state = at(50, state, Harvest(ALICE, CHEF, 0))
    assert state[(BAL, R, ALICE)] == 7


def test_revert_paths_change_nothing() -> None:
    state = at(10, genesis(), Deposit(ALICE, CHEF, 0, 100))
    cases = [
        (Withdraw(ALICE, CHEF, 0, 101), "withdraw: not good"),
        (Deposit(ALICE, CHEF, 7, 1), "MasterChef: no such pool"),
        (Harvest(ALICE, CHEF, 7), "MasterChef: no such pool"),
        (UpdatePool(ALICE, CHEF, 7), "MasterChef: no such pool"),
        (EmergencyWithdraw(ALICE, CHEF, 7), "MasterChef: no such pool"),
        (Deposit(BOB, CHEF, 0, 1001), "ERC20: transfer amount exceeds balance"),
    ]
    for tx, reason in cases:
        post, got = execute_one(state, tx, BlockEnv(number=12))
        assert (got, post) == (reason, state), tx


WHO = st.sampled_from([ALICE, BOB])
POOL = st.sampled_from([0, 1])
AMOUNT_S = st.integers(0, 600)
STAKE_TXS = st.one_of(
    st.builds(Deposit, WHO, st.just(CHEF), POOL, AMOUNT_S),
    st.builds(Withdraw, WHO, st.just(CHEF), POOL, AMOUNT_S),
    st.builds(Harvest, WHO, st.just(CHEF), POOL),
    st.builds(EmergencyWithdraw, WHO, st.just(CHEF), POOL),
    st.builds(UpdatePool, WHO, st.just(CHEF), POOL),
)


@given(st.lists(st.tuples(st.integers(0, 7), st.lists(STAKE_TXS, max_size=4)), max_size=8))
def test_random_sequences_conserve_and_the_accumulator_never_decreases(
    steps: list[tuple[int, list[Tx]]],
) -> None:
    state, block = genesis(), 1
    for gap, txs in steps:
        block += gap
        post, _ = execute(state, txs, BlockEnv(number=block))
        for token in (R, LP1, LP2):
            total = sum(v for k, v in post.items() if k[0] == BAL and k[1] == token)
            assert total == post.get((SUPPLY, token), 0)
        for pool in (0, 1):
            key = (ACC_PER_SHARE, CHEF, pool)
            assert post.get(key, 0) >= state.get(key, 0)
        staked = sum(v for k, v in post.items() if k[0] == AMOUNT and k[2] == 0)
        assert staked == post.get((BAL, LP1, CHEF), 0)
        state = post
