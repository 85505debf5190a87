"""ERC-20 against OpenZeppelin's behaviour: every path, every revert reason."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.support import execute, execute_one
from txlanes.models import MAX_UINT256, BlockEnv, Key
from txlanes.models.erc20 import (
    ADMIN,
    ALLOWANCE,
    BAL,
    SUPPLY,
    Approve,
    Burn,
    Mint,
    Transfer,
    TransferFrom,
)

TOKEN, ADMIN_ADDR, ALICE, BOB, CAROL = 7, 99, 1, 2, 3


def genesis(alice: int = 100, bob: int = 50) -> dict[Key, int]:
    return {
        (BAL, TOKEN, ALICE): alice,
        (BAL, TOKEN, BOB): bob,
        (SUPPLY, TOKEN): alice + bob,
        (ADMIN, TOKEN): ADMIN_ADDR,
    }


def test_transfer_moves_balance_and_emits() -> None:
    post, result = execute(genesis(), [Transfer(ALICE, TOKEN, BOB, 30)])
    assert post[(BAL, TOKEN, ALICE)] == 70
    assert post[(BAL, TOKEN, BOB)] == 80
    assert result.receipts[0].events == (("Transfer", TOKEN, ALICE, BOB, 30),)


def test_transfer_of_whole_balance_leaves_key_absent() -> None:
    post, reason = execute_one(genesis(), Transfer(ALICE, TOKEN, CAROL, 100))
    assert reason is None
    assert (BAL, TOKEN, ALICE) not in post
    assert post[(BAL, TOKEN, CAROL)] == 100


def test_zero_amount_and_self_transfer_conserve() -> None:
    state = genesis()
    post, result = execute(
        state, [Transfer(ALICE, TOKEN, BOB, 0), Transfer(ALICE, TOKEN, ALICE, 60)]
    )
    assert [r.ok for r in result.receipts] == [True, True]
    assert post == state


def test_self_transfer_of_more_than_balance_reverts() -> None:
    post, reason = execute_one(genesis(), Transfer(ALICE, TOKEN, ALICE, 101))
    assert reason == "ERC20: transfer amount exceeds balance"
    assert post == genesis()


def test_transfer_reverts() -> None:
    cases = [
        (Transfer(ALICE, TOKEN, BOB, 101), "ERC20: transfer amount exceeds balance"),
        (Transfer(ALICE, TOKEN, 0, 1), "ERC20: transfer to the zero address"),
        (Transfer(0, TOKEN, BOB, 0), "ERC20: transfer from the zero address"),
    ]
    for tx, expected in cases:
        post, reason = execute_one(genesis(), tx)
        assert (reason, post) == (expected, genesis())


def test_approve_overwrites_and_rejects_zero_spender() -> None:
    post, result = execute(
        genesis(), [Approve(ALICE, TOKEN, BOB, 10), Approve(ALICE, TOKEN, BOB, 3)]
    )
    assert post[(ALLOWANCE, TOKEN, ALICE, BOB)] == 3
    assert result.receipts[1].events == (("Approval", TOKEN, ALICE, BOB, 3),)
    _, reason = execute_one(genesis(), Approve(ALICE, TOKEN, 0, 1))
    assert reason == "ERC20: approve to the zero address"
    _, reason = execute_one(genesis(), Approve(0, TOKEN, BOB, 1))
    assert reason == "ERC20: approve from the zero address"


def test_transfer_from_spends_allowance_first() -> None:
    state = genesis() | {(ALLOWANCE, TOKEN, ALICE, BOB): 40}
    post, result = execute(state, [TransferFrom(BOB, TOKEN, ALICE, CAROL, 25)])
    assert post[(ALLOWANCE, TOKEN, ALICE, BOB)] == 15
    assert post[(BAL, TOKEN, ALICE)] == 75 and post[(BAL, TOKEN, CAROL)] == 25
    assert result.receipts[0].events == (
        ("Approval", TOKEN, ALICE, BOB, 15),
        ("Transfer", TOKEN, ALICE, CAROL, 25),
    )


def test_transfer_from_insufficient_allowance_and_balance() -> None:
    state = genesis() | {(ALLOWANCE, TOKEN, ALICE, BOB): 40}
    post, reason = execute_one(state, TransferFrom(BOB, TOKEN, ALICE, CAROL, 41))
    assert (reason, post) == ("ERC20: insufficient allowance", state)
    state = genesis(alice=10) | {(ALLOWANCE, TOKEN, ALICE, BOB): 40}
    post, reason = execute_one(state, TransferFrom(BOB, TOKEN, ALICE, CAROL, 20))
    assert (reason, post) == ("ERC20: transfer amount exceeds balance", state)


def test_infinite_allowance_never_decreases() -> None:
    state = genesis() | {(ALLOWANCE, TOKEN, ALICE, BOB): MAX_UINT256}
    post, result = execute(state, [TransferFrom(BOB, TOKEN, ALICE, CAROL, 60)])
    assert post[(ALLOWANCE, TOKEN, ALICE, BOB)] == MAX_UINT256
    assert result.receipts[0].events == (("Transfer", TOKEN, ALICE, CAROL, 60),)


def test_mint_and_burn_by_admin_move_supply() -> None:
    post, _ = execute(
        genesis(), [Mint(ADMIN_ADDR, TOKEN, CAROL, 5), Burn(ADMIN_ADDR, TOKEN, ALICE, 20)]
    )
    assert post[(SUPPLY, TOKEN)] == 150 + 5 - 20
    assert post[(BAL, TOKEN, CAROL)] == 5 and post[(BAL, TOKEN, ALICE)] == 80


def test_mint_burn_reverts() -> None:
    no_admin = {k: v for k, v in genesis().items() if k[0] != ADMIN}
    cases = [
        (genesis(), Mint(ALICE, TOKEN, ALICE, 1), "ERC20: caller is not the token admin"),
        (no_admin, Mint(0, TOKEN, ALICE, 1), "ERC20: token has no admin"),
        (genesis(), Mint(ADMIN_ADDR, TOKEN, 0, 1), "ERC20: mint to the zero address"),
        (genesis(), Mint(ADMIN_ADDR, TOKEN, ALICE, MAX_UINT256), "arithmetic overflow"),
        (genesis(), Burn(BOB, TOKEN, ALICE, 1), "ERC20: caller is not the token admin"),
        (genesis(), Burn(ADMIN_ADDR, TOKEN, ALICE, 101), "ERC20: burn amount exceeds balance"),
        (genesis(), Burn(ADMIN_ADDR, TOKEN, 0, 0), "ERC20: burn from the zero address"),
    ]
    for state, tx, expected in cases:
        post, reason = execute_one(state, tx)
        assert (reason, post) == (expected, state), tx


def test_fee_is_paid_first_and_reverts_with_the_transaction() -> None:
    env = BlockEnv(fee_recipient=CAROL, fee_token=TOKEN, fee=2)
    post, result = execute(genesis(), [Transfer(ALICE, TOKEN, BOB, 10)], env)
    assert post[(BAL, TOKEN, ALICE)] == 100 - 2 - 10
    assert post[(BAL, TOKEN, CAROL)] == 2
    assert result.receipts[0].events[0] == ("Transfer", TOKEN, ALICE, CAROL, 2)
    # The transfer itself fails after the fee was charged: the fee is rolled back too.
    post, result = execute(genesis(), [Transfer(ALICE, TOKEN, BOB, 99)], env)
    assert result.receipts[0].reason == "ERC20: transfer amount exceeds balance"
    assert post == genesis()


ACCOUNTS = st.sampled_from([0, ALICE, BOB, CAROL, ADMIN_ADDR])
AMOUNTS = st.one_of(st.integers(0, 120), st.just(MAX_UINT256), st.integers(0, MAX_UINT256))
ERC20_TXS = st.one_of(
    st.builds(Transfer, ACCOUNTS, st.just(TOKEN), ACCOUNTS, AMOUNTS),
    st.builds(Approve, ACCOUNTS, st.just(TOKEN), ACCOUNTS, AMOUNTS),
    st.builds(TransferFrom, ACCOUNTS, st.just(TOKEN), ACCOUNTS, ACCOUNTS, AMOUNTS),
    st.builds(Mint, ACCOUNTS, st.just(TOKEN), ACCOUNTS, AMOUNTS),
    st.builds(Burn, ACCOUNTS, st.just(TOKEN), ACCOUNTS, AMOUNTS),
)


@given(st.lists(ERC20_TXS, max_size=30))
def test_random_sequences_conserve_supply_and_stay_in_range(txs: list[Transfer]) -> None:
    post, result = execute(genesis(), txs)
    balances = sum(v for k, v in post.items() if k[0] == BAL)
    assert balances == post.get((SUPPLY, TOKEN), 0)
    assert all(0 <= v <= MAX_UINT256 for v in post.values())
    for receipt, trace in zip(result.receipts, result.traces, strict=True):
        assert receipt.ok or not trace.writes
