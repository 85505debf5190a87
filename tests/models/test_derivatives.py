"""Perpetuals and options: PnL, fees, limits, liquidation thresholds and settlement by hand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.support import execute, execute_one
from txlanes.models import BlockEnv, Key, Tx, oracle
from txlanes.models.derivatives import (
    O_LOCKED,
    P_AVG_PRICE,
    P_COLLATERAL,
    P_LOCKED,
    P_SIZE,
    BuyOption,
    DecreasePosition,
    IncreasePosition,
    LiquidatePosition,
    SettleOption,
    WriteOption,
    genesis_option_book,
    genesis_perp_market,
)
from txlanes.models.erc20 import BAL, SUPPLY

E = 10**18
U, ETH = 60, 61
VAULT, BOOK = 600, 800
ALICE, BOB, CAROL, ORACLE = 1, 2, 3, 9


def genesis(vault_liquidity: int = 100_000 * E) -> dict[Key, int]:
    state = genesis_perp_market(
        0, asset=ETH, token=U, vault=VAULT, fee_bps=10, liquidation_fee=5 * E, max_leverage=50
    )
    state |= genesis_option_book(BOOK, U)
    state |= {
        (oracle.ADMIN,): ORACLE,
        (oracle.PRICE, ETH): 2000 * E,
        (BAL, U, ALICE): 10_000 * E,
        (BAL, U, BOB): 10_000 * E,
        (BAL, U, VAULT): vault_liquidity,
        (SUPPLY, U): 20_000 * E + vault_liquidity,
    }
    return state


def run(state: dict[Key, int], *txs: Tx, timestamp: int = 0) -> dict[Key, int]:
    post, result = execute(state, txs, BlockEnv(number=1, timestamp=timestamp))
    assert all(r.ok for r in result.receipts), [r.reason for r in result.receipts]
    return post


def price(p: int) -> Tx:
    return oracle.SetPrice(ORACLE, ETH, p * E)


def reason(state: dict[Key, int], tx: Tx, timestamp: int = 0) -> str | None:
    post, got = execute_one(state, tx, BlockEnv(number=1, timestamp=timestamp))
    assert got is None or post == state
    return got


def opened(is_long: bool = True) -> dict[Key, int]:
    # fee = 10000e18 * 10 // 10000 = 10e18, so 990e18 of collateral backs the position
    return run(genesis(), IncreasePosition(ALICE, 0, is_long, 1000 * E, 10_000 * E))


def test_open_charges_the_fee_and_records_the_entry() -> None:
    state = opened()
    side = (0, ALICE, 1)
    assert state[(P_SIZE, *side)] == 10_000 * E
    assert state[(P_COLLATERAL, *side)] == 990 * E
    assert state[(P_AVG_PRICE, *side)] == 2000 * E
    assert state[(P_LOCKED, 0)] == 990 * E


def test_long_profit_and_loss_and_short_profit() -> None:
    # +200 on 2000: PnL = 10000e18 * 200e18 // 2000e18 = 1000e18; payout 990 + 1000 - 10
    state = run(opened(), price(2200), DecreasePosition(ALICE, 0, True, 10_000 * E))
    assert state[(BAL, U, ALICE)] == (10_000 - 1000 + 1980) * E
    assert state[(BAL, U, VAULT)] == (100_000 + 1000 - 1980) * E
    assert (P_SIZE, 0, ALICE, 1) not in state and state.get((P_LOCKED, 0), 0) == 0
    # -100: loss 500e18; payout 990 - 500 - 10 = 480
    state = run(opened(), price(1900), DecreasePosition(ALICE, 0, True, 10_000 * E))
    assert state[(BAL, U, ALICE)] == (10_000 - 1000 + 480) * E
    # a short gains when the price falls: 990 + 500 - 10 = 1480
    state = run(opened(False), price(1900), DecreasePosition(ALICE, 0, False, 10_000 * E))
    assert state[(BAL, U, ALICE)] == (10_000 - 1000 + 1480) * E


def test_partial_close_realises_pro_rata() -> None:
    state = run(opened(), price(2200), DecreasePosition(ALICE, 0, True, 4000 * E))
    # realised 1000 * 0.4 = 400, collateral released 990 * 0.4 = 396, fee 4: payout 792
    assert state[(BAL, U, ALICE)] == (10_000 - 1000 + 792) * E
    assert state[(P_SIZE, 0, ALICE, 1)] == 6000 * E
    assert state[(P_COLLATERAL, 0, ALICE, 1)] == 594 * E
    assert state[(P_LOCKED, 0)] == 594 * E


def test_increase_averages_the_entry_price_by_size() -> None:
    state = run(opened(), price(2200), IncreasePosition(ALICE, 0, True, 1000 * E, 10_000 * E))
    # (10000 * 2000 + 10000 * 2200) // 20000 = 2100
    assert state[(P_AVG_PRICE, 0, ALICE, 1)] == 2100 * E
    assert state[(P_COLLATERAL, 0, ALICE, 1)] == 1980 * E


def test_leverage_limit() -> None:
    # 100 collateral - 10 fee = 90; 90 * 50 = 4500 < 10000
    tx = IncreasePosition(ALICE, 0, True, 100 * E, 10_000 * E)
    assert reason(genesis(), tx) == "perp: max leverage exceeded"


def test_liquidation_threshold_on_both_sides() -> None:
    # long: liquidatable once 990 <= loss + 10 (fee) + 5 (liquidation fee): loss >= 975, p <= 1805
    state = run(opened(), price(1806))  # loss 970: still healthy
    assert reason(state, LiquidatePosition(BOB, 0, ALICE, True)) == (
        "perp: position not liquidatable"
    )
    state = run(opened(), price(1805))
    assert reason(state, DecreasePosition(ALICE, 0, True, 10_000 * E)) == "perp: liquidatable"
    post = run(state, LiquidatePosition(BOB, 0, ALICE, True))
    assert post[(BAL, U, BOB)] == 10_005 * E  # the 5e18 that remained
    assert (P_SIZE, 0, ALICE, 1) not in post and post.get((P_LOCKED, 0), 0) == 0
    # short: loss 975 at 2195
    state = run(opened(False), price(2194))
    assert reason(state, LiquidatePosition(BOB, 0, ALICE, False)) == (
        "perp: position not liquidatable"
    )
    run(opened(False), price(2195), LiquidatePosition(BOB, 0, ALICE, False))


def test_the_vault_pays_only_what_does_not_back_positions() -> None:
    state = run(genesis(vault_liquidity=0), IncreasePosition(ALICE, 0, True, 1000 * E, 10_000 * E))
    state = run(state, price(2200))
    assert reason(state, DecreasePosition(ALICE, 0, True, 10_000 * E)) == (
        "perp: insufficient vault liquidity"
    )


def test_perp_revert_paths() -> None:
    state = opened()
    cases = [
        (IncreasePosition(ALICE, 7, True, 1, 1), "perp: no such market"),
        (IncreasePosition(ALICE, 0, False, 0, 0), "perp: empty position"),
        (IncreasePosition(CAROL, 0, True, 1, 1), "ERC20: transfer amount exceeds balance"),
        (IncreasePosition(ALICE, 0, False, 1 * E, 10_000 * E), "perp: collateral below fee"),
        (DecreasePosition(ALICE, 0, True, 0), "perp: invalid size"),
        (DecreasePosition(ALICE, 0, True, 10_000 * E + 1), "perp: invalid size"),
        (LiquidatePosition(BOB, 0, CAROL, True), "perp: no position"),
    ]
    for tx, expected in cases:
        assert reason(state, tx) == expected, tx


def put(option: int = 1) -> Tx:
    # strike 2000, 2 units: locks 2000e18 * 2e18 // 1e18 = 4000e18
    return WriteOption(ALICE, BOOK, option, ETH, False, 2000 * E, 100, 2 * E, 100 * E, 0)


def call(cap: int = 300 * E) -> Tx:
    return WriteOption(ALICE, BOOK, 1, ETH, True, 2000 * E, 100, 1 * E, 100 * E, cap)


def settled(write: Tx, at_price: int, bought: bool = True) -> dict[Key, int]:
    state = run(genesis(), write, *([BuyOption(BOB, BOOK, 1)] if bought else []), timestamp=50)
    return run(state, price(at_price), SettleOption(CAROL, BOOK, 1), timestamp=100)


def test_put_payouts() -> None:
    state = run(genesis(), put(), timestamp=50)
    assert state[(O_LOCKED, BOOK, 1)] == 4000 * E
    # ITM at 1500: (2000 - 1500) * 2 = 1000 to Bob, 3000 back to Alice (plus Bob's 100 premium)
    post = settled(put(), 1500)
    assert post[(BAL, U, BOB)] == (10_000 - 100 + 1000) * E
    assert post[(BAL, U, ALICE)] == (10_000 + 100 - 1000) * E
    for otm in (2500, 2000):  # OTM and ATM pay nothing
        post = settled(put(), otm)
        assert post[(BAL, U, BOB)] == (10_000 - 100) * E
        assert post[(BAL, U, ALICE)] == (10_000 + 100) * E
    assert post.get((BAL, U, BOOK), 0) == 0


def test_call_payouts_are_capped_by_the_locked_collateral() -> None:
    post = settled(call(), 2200)  # 200 of intrinsic value
    assert post[(BAL, U, BOB)] == (10_000 - 100 + 200) * E
    assert post[(BAL, U, ALICE)] == (10_000 + 100 - 200) * E
    post = settled(call(), 2500)  # 500 of intrinsic value, capped at 300
    assert post[(BAL, U, BOB)] == (10_000 - 100 + 300) * E
    assert post[(BAL, U, ALICE)] == (10_000 + 100 - 300) * E


def test_an_unsold_option_returns_everything_to_the_writer() -> None:
    post = settled(put(), 1000, bought=False)
    assert post[(BAL, U, ALICE)] == 10_000 * E


def test_option_revert_paths() -> None:
    written = run(genesis(), put(), timestamp=50)
    sold = run(written, BuyOption(BOB, BOOK, 1), timestamp=50)
    done = run(sold, SettleOption(CAROL, BOOK, 1), timestamp=100)
    cases = [
        (written, SettleOption(CAROL, BOOK, 1), 99, "options: not expired"),
        (done, SettleOption(CAROL, BOOK, 1), 200, "options: already settled"),
        (written, BuyOption(BOB, BOOK, 1), 100, "options: expired"),
        (sold, BuyOption(CAROL, BOOK, 1), 50, "options: already sold"),
        (written, BuyOption(ALICE, BOOK, 1), 50, "options: writer cannot buy"),
        (written, put(), 50, "options: id in use"),
        (genesis(), BuyOption(BOB, BOOK, 9), 0, "options: no such option"),
        (genesis(), WriteOption(ALICE, 7, 1, ETH, True, 1, 9, 1, 0, 1), 0, "options: no such book"),
        (
            genesis(),
            WriteOption(ALICE, BOOK, 1, ETH, True, 1, 9, 0, 0, 1),
            0,
            "options: zero amount",
        ),
        (
            genesis(),
            WriteOption(ALICE, BOOK, 1, ETH, True, 1, 9, 1, 0, 1),
            9,
            "options: expiry in the past",
        ),
        (
            genesis(),
            WriteOption(ALICE, BOOK, 1, ETH, True, 1, 9, 1, 0, 0),
            0,
            "options: zero collateral",
        ),
        (genesis(), WriteOption(ALICE, BOOK, 1, 99, True, 1, 9, 1, 0, 1), 0, "oracle: no price"),
    ]
    for state, tx, timestamp, expected in cases:
        assert reason(state, tx, timestamp) == expected, tx


WHO = st.sampled_from([ALICE, BOB, CAROL])
SIDE = st.booleans()
AMT = st.integers(0, 3000).map(lambda x: x * E)
DERIV_TXS = st.one_of(
    st.builds(IncreasePosition, WHO, st.just(0), SIDE, AMT, AMT.map(lambda x: x * 10)),
    st.builds(DecreasePosition, WHO, st.just(0), SIDE, AMT.map(lambda x: x * 5)),
    st.builds(LiquidatePosition, WHO, st.just(0), WHO, SIDE),
    st.builds(
        oracle.SetPrice, st.just(ORACLE), st.just(ETH), st.integers(1500, 2500).map(lambda p: p * E)
    ),
    st.builds(
        WriteOption,
        WHO,
        st.just(BOOK),
        st.integers(1, 3),
        st.just(ETH),
        st.booleans(),
        st.integers(1500, 2500).map(lambda p: p * E),
        st.integers(1, 30),
        st.integers(1, 3).map(lambda a: a * E),
        AMT,
        AMT,
    ),
    st.builds(BuyOption, WHO, st.just(BOOK), st.integers(1, 3)),
    st.builds(SettleOption, WHO, st.just(BOOK), st.integers(1, 3)),
)


@given(st.lists(st.tuples(st.integers(0, 10), st.lists(DERIV_TXS, max_size=4)), max_size=8))
def test_random_sequences_conserve_and_settlements_are_exact(
    steps: list[tuple[int, list[Tx]]],
) -> None:
    state, timestamp = genesis() | {(BAL, U, CAROL): 10_000 * E}, 1
    state[(SUPPLY, U)] += 10_000 * E
    for gap, txs in steps:
        timestamp += gap
        post, result = execute(state, txs, BlockEnv(number=1, timestamp=timestamp))
        total = sum(v for k, v in post.items() if k[0] == BAL and k[1] == U)
        assert total == post[(SUPPLY, U)]
        assert post.get((BAL, U, VAULT), 0) >= post.get((P_LOCKED, 0), 0)
        locked = sum(v for k, v in post.items() if k[0] == P_COLLATERAL and k[1] == 0)
        assert locked == post.get((P_LOCKED, 0), 0)
        for tx, receipt in zip(txs, result.receipts, strict=True):
            if isinstance(tx, SettleOption) and receipt.ok:
                (*_, payout, returned) = receipt.events[-1]
                assert payout + returned == state[(O_LOCKED, BOOK, tx.option)]
        state = post
