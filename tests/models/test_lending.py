"""Compound-v2 lending: interest, exchange rates, limits and liquidation, worked by hand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.support import execute, execute_one
from txlanes.models import MAX_UINT256, BlockEnv, Key, Tx, oracle
from txlanes.models.erc20 import BAL, SUPPLY
from txlanes.models.lending import (
    BALANCE,
    BORROW_INDEX,
    TOTAL_BORROWS,
    TOTAL_RESERVES,
    TOTAL_SUPPLY,
    Borrow,
    EnterMarket,
    ExitMarket,
    Liquidate,
    Redeem,
    RepayBorrow,
    Supply,
    genesis_market,
)

E = 10**18
USDC, WETH = 50, 51
M_USDC, M_WETH = 500, 501
ALICE, BOB, CAROL, ORACLE = 1, 2, 3, 9


def genesis(usdc_rate: int = 0) -> dict[Key, int]:
    state = genesis_market(
        0,
        underlying=USDC,
        address=M_USDC,
        collateral_factor=8 * E // 10,
        base_rate=usdc_rate,
        block=1,
    )
    state |= genesis_market(
        1, underlying=WETH, address=M_WETH, collateral_factor=75 * E // 100, block=1
    )
    state |= {
        (oracle.ADMIN,): ORACLE,
        (oracle.PRICE, USDC): 1 * E,
        (oracle.PRICE, WETH): 2000 * E,
        (BAL, USDC, ALICE): 20_000 * E,
        (BAL, USDC, CAROL): 20_000 * E,
        (BAL, WETH, BOB): 10 * E,
        (SUPPLY, USDC): 40_000 * E,
        (SUPPLY, WETH): 10 * E,
    }
    return state


def at(block: int, state: dict[Key, int], *txs: Tx) -> dict[Key, int]:
    post, result = execute(state, txs, BlockEnv(number=block))
    assert all(r.ok for r in result.receipts), [r.reason for r in result.receipts]
    return post


def reason_at(block: int, state: dict[Key, int], tx: Tx) -> str | None:
    post, reason = execute_one(state, tx, BlockEnv(number=block))
    assert reason is None or post == state
    return reason


def funded_and_borrowing(usdc_rate: int = 0) -> dict[Key, int]:
    return at(
        1,
        genesis(usdc_rate),
        Supply(ALICE, 0, 20_000 * E),
        Supply(BOB, 1, 10 * E),
        EnterMarket(BOB, 1),
        Borrow(BOB, 0, 100 * E),
    )


def test_supply_mints_at_the_initial_exchange_rate() -> None:
    state = at(1, genesis(), Supply(ALICE, 0, 1000 * E))
    # 1000e18 * 1e18 // 0.02e18 = 50000e18 cTokens
    assert state[(BALANCE, 0, ALICE)] == 50_000 * E
    assert state[(BAL, USDC, M_USDC)] == 1000 * E


def test_interest_accrues_per_block_as_compound_does() -> None:
    state = funded_and_borrowing(usdc_rate=10**12)
    state = at(11, state, RepayBorrow(CAROL, 0, BOB, 0))  # any touch of the market accrues
    # simple factor 1e12 * 10 blocks = 1e13; interest 1e13 * 100e18 // 1e18 = 1e15
    assert state[(TOTAL_BORROWS, 0)] == 100 * E + 10**15
    assert state[(TOTAL_RESERVES, 0)] == 10**14  # reserve factor 0.1 of the interest
    assert state[(BORROW_INDEX, 0)] == E + 10**13  # 1e13 * 1e18 // 1e18 + 1e18
    # Bob owes 100e18 * 1.00001e18 // 1e18; repaying it all with 2**256-1 clears it.
    state = at(
        11,
        state | {(BAL, USDC, BOB): 200 * E, (SUPPLY, USDC): 40_200 * E},
        RepayBorrow(BOB, 0, BOB, MAX_UINT256),
    )
    assert state[(BAL, USDC, BOB)] == 200 * E - (100 * E + 10**15)
    assert state.get((TOTAL_BORROWS, 0), 0) == 0


def test_accrue_interest_logs_what_compound_logs() -> None:
    # CToken.accrueInterest emits AccrueInterest(cashPrior, interestAccumulated,
    # borrowIndexNew, totalBorrowsNew); here led by the market, as every lending event is.
    state = funded_and_borrowing(usdc_rate=10**12)
    _, result = execute(state, [RepayBorrow(CAROL, 0, BOB, 0)], BlockEnv(number=11))
    accrued = result.receipts[0].events[0]
    # cash before accrual: Alice's 20000e18 supplied less Bob's 100e18 borrowed; interest
    # 1e12 * 10 blocks * 100e18 // 1e18 = 1e15; new index 1e13 * 1e18 // 1e18 + 1e18 — the index
    # after accrual, not the 1e18 before it; new total borrows 100e18 + 1e15.
    assert accrued == ("AccrueInterest", 0, 19_900 * E, 10**15, E + 10**13, 100 * E + 10**15)
    # No event when the market already accrued in this block.
    _, again = execute(state, [RepayBorrow(CAROL, 0, BOB, 0)], BlockEnv(number=1))
    assert "AccrueInterest" not in [e[0] for e in again.receipts[0].events]


def test_exchange_rate_grows_with_interest() -> None:
    state = funded_and_borrowing(usdc_rate=10**12)
    state = at(11, state, Supply(CAROL, 0, 1000 * E))
    # assets = cash 19900e18 + borrows 100.001e18 - reserves 0.0001e18 = 20000.0009e18
    # rate = 20000.0009e18 * 1e18 // 1e24 (supply) = 20000000900000000 (0.0200000009e18)
    # Carol: 1e39 // 20000000900000000 = 49999997750000101249995 (≈ 49999.99775e18)
    assert state[(BALANCE, 0, CAROL)] == 49_999_997_750_000_101_249_995


def test_borrow_limit_is_exact_at_the_collateral_factor() -> None:
    state = at(
        1, genesis(), Supply(ALICE, 0, 20_000 * E), Supply(BOB, 1, 10 * E), EnterMarket(BOB, 1)
    )
    # Bob's collateral: 0.75 * 0.02 * 2000 = 30 USD per cToken (1.5e16 * 2000e18 // 1e18 = 3e19),
    # 500e18 cTokens → 15000 USD of borrowing power.
    assert reason_at(2, state, Borrow(BOB, 0, 15_000 * E + 1)) == "insufficient liquidity"
    post = at(2, state, Borrow(BOB, 0, 15_000 * E))
    assert post[(BAL, USDC, BOB)] == 15_000 * E
    assert reason_at(3, post, Redeem(BOB, 1, 1)) == "insufficient liquidity"


def test_liquidation_math() -> None:
    state = at(
        1,
        genesis(),
        Supply(ALICE, 0, 20_000 * E),
        Supply(BOB, 1, 10 * E),
        EnterMarket(BOB, 1),
        Borrow(BOB, 0, 10_000 * E),
    )
    assert reason_at(2, state, Liquidate(CAROL, 0, BOB, 1, 1)) == "INSUFFICIENT_SHORTFALL"
    state = at(2, state, oracle.SetPrice(ORACLE, WETH, 1000 * E))
    # collateral now 7500 USD < 10000 borrowed; close factor 0.5 → at most 5000 repaid
    assert reason_at(3, state, Liquidate(CAROL, 0, BOB, 5000 * E + 1, 1)) == "TOO_MUCH_REPAY"
    post = at(3, state, Liquidate(CAROL, 0, BOB, 5000 * E, 1))
    # ratio = (1.08e18 * 1e18 // 1e18) * 1e18 // (1000e18 * 0.02e18 // 1e18) = 5.4e16
    # seize = 5.4e16 * 5000e18 // 1e18 = 270e18 cTokens (5.4 WETH = 5400 USD = 5000 * 1.08)
    assert post[(BALANCE, 1, CAROL)] == 270 * E
    assert post[(BALANCE, 1, BOB)] == 230 * E
    assert post[(BAL, USDC, CAROL)] == 15_000 * E
    assert post[(TOTAL_BORROWS, 0)] == 5000 * E


def test_revert_paths() -> None:
    state = funded_and_borrowing()
    cases = [
        (Supply(ALICE, 3, 1), "market not listed"),
        (Supply(ALICE, 7, 1), "market not listed"),
        (EnterMarket(ALICE, 2), "market not listed"),
        (ExitMarket(BOB, 0), "EXIT_MARKET_BALANCE_OWED"),
        (ExitMarket(BOB, 1), "EXIT_MARKET_REJECTION"),
        (Redeem(ALICE, 0, 1_000_000 * E + 1), "redeem tokens exceed balance"),
        (Borrow(CAROL, 0, 1), "insufficient liquidity"),
        (Borrow(BOB, 1, 11 * E), "insufficient liquidity"),
        (RepayBorrow(CAROL, 0, BOB, 100 * E + 1), "repay amount exceeds borrow balance"),
        (Liquidate(BOB, 0, BOB, 1, 1), "LIQUIDATE_LIQUIDATOR_IS_BORROWER"),
        (Liquidate(CAROL, 0, BOB, 0, 1), "LIQUIDATE_CLOSE_AMOUNT_IS_ZERO"),
        (Liquidate(CAROL, 0, BOB, MAX_UINT256, 1), "LIQUIDATE_CLOSE_AMOUNT_IS_UINT_MAX"),
        (oracle.SetPrice(ALICE, WETH, 1), "oracle: caller is not the oracle admin"),
        (oracle.SetPrice(ORACLE, WETH, 0), "oracle: zero price"),
    ]
    for tx, reason in cases:
        assert reason_at(2, state, tx) == reason, tx


def test_cash_limits_and_missing_prices() -> None:
    state = at(
        1,
        genesis(),
        Supply(ALICE, 0, 100 * E),
        Supply(BOB, 1, 10 * E),
        EnterMarket(BOB, 1),
        Borrow(BOB, 0, 100 * E),
    )
    assert reason_at(2, state, Borrow(BOB, 0, 1)) == "borrow cash not available"
    assert reason_at(2, state, Redeem(ALICE, 0, 1 * E)) == "redeem transfer out not possible"
    no_price = {k: v for k, v in state.items() if k != (oracle.PRICE, WETH)}
    assert reason_at(2, no_price, Borrow(BOB, 0, 0)) == "oracle: no price"


def test_seizing_more_than_the_collateral_reverts() -> None:
    state = at(
        1,
        genesis(),
        Supply(ALICE, 0, 20_000 * E),
        Supply(BOB, 1, 10 * E),
        EnterMarket(BOB, 1),
        Borrow(BOB, 0, 10_000 * E),
        Supply(ALICE, 0, 0),
    )
    state = at(2, state, oracle.SetPrice(ORACLE, WETH, 1000 * E), EnterMarket(BOB, 0))
    # Bob holds no cUSDC: seizing collateral in market 0 takes more than he has.
    assert reason_at(3, state, Liquidate(CAROL, 0, BOB, 1000 * E, 0)) == (
        "LIQUIDATE_SEIZE_TOO_MUCH"
    )


def test_absurd_borrow_rate_reverts() -> None:
    state = funded_and_borrowing()
    state[("lend.base_rate", 0)] = 5 * 10**12 + 1
    assert reason_at(5, state, Supply(ALICE, 0, 0)) == "borrow rate is absurdly high"


WHO = st.sampled_from([ALICE, BOB, CAROL])
MARKET = st.sampled_from([0, 1])
AMT = st.one_of(st.integers(0, 10**6), st.integers(0, 20_000 * E))
LEND_TXS = st.one_of(
    st.builds(Supply, WHO, MARKET, AMT),
    st.builds(Redeem, WHO, MARKET, AMT),
    st.builds(Borrow, WHO, MARKET, AMT),
    st.builds(RepayBorrow, WHO, MARKET, WHO, st.one_of(AMT, st.just(MAX_UINT256))),
    st.builds(Liquidate, WHO, MARKET, WHO, AMT, MARKET),
    st.builds(EnterMarket, WHO, MARKET),
    st.builds(ExitMarket, WHO, MARKET),
    st.builds(
        oracle.SetPrice,
        st.just(ORACLE),
        st.sampled_from([USDC, WETH]),
        st.integers(1, 4000).map(lambda p: p * E),
    ),
)


def rate_of(state: dict[Key, int], market: int) -> int | None:
    supply = state.get((TOTAL_SUPPLY, market), 0)
    if supply == 0:
        return None
    token, address = (USDC, M_USDC) if market == 0 else (WETH, M_WETH)
    cash = state.get((BAL, token, address), 0)
    assets = cash + state.get((TOTAL_BORROWS, market), 0) - state.get((TOTAL_RESERVES, market), 0)
    return assets * E // supply


@given(st.lists(st.tuples(st.integers(0, 50), st.lists(LEND_TXS, max_size=4)), max_size=8))
def test_random_sequences_conserve_and_indices_never_decrease(
    steps: list[tuple[int, list[Tx]]],
) -> None:
    state = genesis(usdc_rate=10**12) | {(BAL, WETH, ALICE): 5 * E, (BAL, WETH, CAROL): 5 * E}
    state[(SUPPLY, WETH)] += 10 * E
    block = 1
    for gap, txs in steps:
        block += gap
        post, _ = execute(state, txs, BlockEnv(number=block))
        for token in (USDC, WETH):
            total = sum(v for k, v in post.items() if k[0] == BAL and k[1] == token)
            assert total == post.get((SUPPLY, token), 0)
        for market in (0, 1):
            assert post[(BORROW_INDEX, market)] >= state[(BORROW_INDEX, market)]
            before, after = rate_of(state, market), rate_of(post, market)
            if before is not None and after is not None:
                assert after >= before
            balances = sum(v for k, v in post.items() if k[0] == BALANCE and k[1] == market)
            assert balances == post.get((TOTAL_SUPPLY, market), 0)
        state = post
