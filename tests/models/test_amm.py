"""Uniswap-v2 against its own published test vectors and formulas, worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import execute, execute_one
from txlanes.models import Key, Revert
from txlanes.models.amm import (
    LOCKED_LIQUIDITY_HOLDER,
    MINIMUM_LIQUIDITY,
    RESERVE0,
    RESERVE1,
    UINT112_MAX,
    AddLiquidity,
    CreatePair,
    PairSwap,
    RemoveLiquidity,
    SwapExactIn,
    SwapExactOut,
    Sync,
    genesis_pair,
    get_amount_in,
    get_amount_out,
    quote,
)
from txlanes.models.erc20 import BAL, SUPPLY, Transfer

E = 10**18
A, B, PAIR = 10, 20, 500  # token0 = A < token1 = B
ALICE, BOB = 1, 2


def funded(amount: int = 100 * E) -> dict[Key, int]:
    return {
        (BAL, A, ALICE): amount,
        (BAL, B, ALICE): amount,
        (BAL, A, BOB): amount,
        (BAL, B, BOB): amount,
        (SUPPLY, A): 2 * amount,
        (SUPPLY, B): 2 * amount,
    }


def with_pair(r0: int, r1: int) -> dict[Key, int]:
    state = funded() | genesis_pair(PAIR, A, B, r0, r1, lp_holder=ALICE)
    state[(SUPPLY, A)] += r0
    state[(SUPPLY, B)] += r1
    return state


# UniswapV2Pair.spec.ts "swap:token0" cases: [swapAmount, reserve0, reserve1, expectedOutput]
# (in units of 1e18). Worked for the first: 997e18 * 10e18 // (5e18*1000 + 997e18)
# = 9.97e39 // 5.997e21 = 1662497915624478906.
SWAP_CASES = [
    (1, 5, 10, 1662497915624478906),
    (1, 10, 5, 453305446940074565),
    (2, 5, 10, 2851015155847869602),
    (2, 10, 5, 831248957812239453),
    (1, 10, 10, 906610893880149131),
    (1, 100, 100, 987158034397061298),
    (1, 1000, 1000, 996006981039903216),
]


@pytest.mark.parametrize(("swap", "r0", "r1", "expected"), SWAP_CASES)
def test_published_swap_vectors_and_the_k_check(swap: int, r0: int, r1: int, expected: int) -> None:
    assert get_amount_out(swap * E, r0 * E, r1 * E) == expected
    state = with_pair(r0 * E, r1 * E)
    too_much = PairSwap(BOB, PAIR, swap * E, 0, 0, expected + 1, BOB)
    assert execute_one(state, too_much)[1] == "UniswapV2: K"
    post, reason = execute_one(state, PairSwap(BOB, PAIR, swap * E, 0, 0, expected, BOB))
    assert reason is None
    assert post[(RESERVE0, PAIR)] == (r0 + swap) * E
    assert post[(RESERVE1, PAIR)] == r1 * E - expected


def test_library_formulas_by_hand() -> None:
    # getAmountOut(2, 100, 100): 2*997*100 // (100*1000 + 2*997) = 199400 // 101994 = 1
    assert get_amount_out(2, 100, 100) == 1
    # getAmountIn(1, 100, 100): 100*1*1000 // ((100-1)*997) + 1 = 100000 // 98703 + 1 = 2
    assert get_amount_in(1, 100, 100) == 2
    # quote(1, 100, 200) = 1*200 // 100 = 2
    assert quote(1, 100, 200) == 2


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: get_amount_out(0, 100, 100), "UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT"),
        (lambda: get_amount_out(2, 0, 100), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_out(2, 100, 0), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_in(0, 100, 100), "UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT"),
        (lambda: get_amount_in(1, 0, 100), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_in(1, 100, 0), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_in(100, 100, 100), "division by zero"),
        (lambda: get_amount_in(101, 100, 100), "ds-math-sub-underflow"),
        (lambda: quote(0, 100, 200), "UniswapV2Library: INSUFFICIENT_AMOUNT"),
        (lambda: quote(1, 0, 200), "UniswapV2Library: INSUFFICIENT_LIQUIDITY"),
    ],
)
def test_library_reverts(call: object, reason: str) -> None:
    with pytest.raises(Revert) as err:
        call()  # type: ignore[operator]
    assert err.value.reason == reason


def test_create_and_first_deposit_locks_minimum_liquidity() -> None:
    txs = [
        CreatePair(ALICE, B, A, PAIR),
        AddLiquidity(ALICE, A, B, 1 * E, 4 * E, 0, 0, ALICE),
    ]
    post, result = execute(funded(), txs)
    assert [r.reason for r in result.receipts] == [None, None]
    # isqrt(1e18 * 4e18) = 2e18; 1000 of it is locked forever.
    assert post[(SUPPLY, PAIR)] == 2 * E
    assert post[(BAL, PAIR, ALICE)] == 2 * E - MINIMUM_LIQUIDITY
    assert post[(BAL, PAIR, LOCKED_LIQUIDITY_HOLDER)] == MINIMUM_LIQUIDITY
    assert (post[(RESERVE0, PAIR)], post[(RESERVE1, PAIR)]) == (1 * E, 4 * E)


def test_later_deposit_uses_the_optimal_ratio_and_min_of_shares() -> None:
    state = with_pair(1 * E, 4 * E)  # LP supply isqrt(4e36) = 2e18
    post, reason = execute_one(state, AddLiquidity(BOB, A, B, 1 * E, 8 * E, 0, 0, BOB))
    assert reason is None
    # quote(1e18, 1e18, 4e18) = 4e18 <= 8e18 desired: deposit (1e18, 4e18);
    # shares = min(1e18*2e18//1e18, 4e18*2e18//4e18) = 2e18.
    assert post[(BAL, PAIR, BOB)] == 2 * E
    assert post[(BAL, A, BOB)] == 99 * E and post[(BAL, B, BOB)] == 96 * E


def test_remove_liquidity_is_pro_rata_and_floored() -> None:
    state = with_pair(1_000_000, 3_000_001)  # LP supply isqrt(3000001000000) = 1732051
    post, reason = execute_one(state, RemoveLiquidity(ALICE, A, B, 1000, 0, 0, BOB))
    assert reason is None
    # 1000 * 1000000 // 1732051 = 577; 1000 * 3000001 // 1732051 = 1732
    assert post[(BAL, A, BOB)] == 100 * E + 577
    assert post[(BAL, B, BOB)] == 100 * E + 1732
    assert post[(SUPPLY, PAIR)] == 1732051 - 1000


def test_router_swaps_with_slippage_limits() -> None:
    state = with_pair(5 * E, 10 * E)
    post, reason = execute_one(state, SwapExactIn(BOB, A, B, 1 * E, 1662497915624478906, BOB))
    assert reason is None and post[(BAL, B, BOB)] == 100 * E + 1662497915624478906
    _, reason = execute_one(state, SwapExactIn(BOB, A, B, 1 * E, 1662497915624478907, BOB))
    assert reason == "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT"
    # Exact out, B for A: getAmountIn(1e18, 10e18, 5e18)
    # = 10e18*1e18*1000 // ((5e18-1e18)*997) + 1 = 1e40 // 3.988e21 + 1 = 2507522567703109328
    post, reason = execute_one(state, SwapExactOut(BOB, B, A, 1 * E, 3 * E, BOB))
    assert reason is None
    assert post[(BAL, B, BOB)] == 100 * E - 2507522567703109328
    _, reason = execute_one(state, SwapExactOut(BOB, B, A, 1 * E, 2507522567703109327, BOB))
    assert reason == "UniswapV2Router: EXCESSIVE_INPUT_AMOUNT"


@pytest.mark.parametrize(
    ("state_fn", "tx", "reason"),
    [
        (funded, CreatePair(ALICE, A, A, PAIR), "UniswapV2: IDENTICAL_ADDRESSES"),
        (funded, CreatePair(ALICE, 0, A, PAIR), "UniswapV2: ZERO_ADDRESS"),
        (lambda: with_pair(0, 0), CreatePair(ALICE, A, B, 501), "UniswapV2: PAIR_EXISTS"),
        (funded, CreatePair(ALICE, A, B, A), "UniswapV2: PAIR_ADDRESS_IN_USE"),
        (funded, AddLiquidity(ALICE, A, B, 1, 1, 0, 0, ALICE), "UniswapV2Router: PAIR_NOT_FOUND"),
        (
            lambda: with_pair(0, 0),
            AddLiquidity(ALICE, A, B, 100, 100, 0, 0, ALICE),
            "ds-math-sub-underflow",
        ),
        (
            lambda: with_pair(0, 0),
            AddLiquidity(ALICE, A, B, 1000, 1000, 0, 0, ALICE),
            "UniswapV2: INSUFFICIENT_LIQUIDITY_MINTED",
        ),
        (
            lambda: with_pair(E, 4 * E),
            AddLiquidity(BOB, A, B, E, E, E, 0, BOB),
            "UniswapV2Router: INSUFFICIENT_A_AMOUNT",
        ),
        (
            lambda: with_pair(E, 4 * E),
            AddLiquidity(BOB, A, B, E, 8 * E, 0, 5 * E, BOB),
            "UniswapV2Router: INSUFFICIENT_B_AMOUNT",
        ),
        (
            lambda: with_pair(E, 4 * E),
            RemoveLiquidity(ALICE, A, B, 0, 0, 0, BOB),
            "UniswapV2: INSUFFICIENT_LIQUIDITY_BURNED",
        ),
        (
            lambda: with_pair(E, 4 * E),
            RemoveLiquidity(ALICE, A, B, E, E, 0, BOB),
            "UniswapV2Router: INSUFFICIENT_A_AMOUNT",
        ),
        (
            lambda: with_pair(E, 4 * E),
            PairSwap(BOB, PAIR, 0, 0, 0, 0, BOB),
            "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT",
        ),
        (
            lambda: with_pair(E, 4 * E),
            PairSwap(BOB, PAIR, E, 0, 0, 4 * E, BOB),
            "UniswapV2: INSUFFICIENT_LIQUIDITY",
        ),
        (lambda: with_pair(E, 4 * E), PairSwap(BOB, PAIR, E, 0, 0, 1, B), "UniswapV2: INVALID_TO"),
        (
            lambda: with_pair(E, 4 * E),
            PairSwap(BOB, PAIR, 0, 0, 0, 1, BOB),
            "UniswapV2: INSUFFICIENT_INPUT_AMOUNT",
        ),
        (
            lambda: with_pair(E, 4 * E),
            PairSwap(BOB, 999, 1, 0, 0, 1, BOB),
            "UniswapV2Router: PAIR_NOT_FOUND",
        ),
        (lambda: with_pair(E, 4 * E), Sync(BOB, 999), "UniswapV2Router: PAIR_NOT_FOUND"),
    ],
)
def test_revert_paths_change_nothing(state_fn: object, tx: object, reason: str) -> None:
    state = state_fn()  # type: ignore[operator]
    post, got = execute_one(state, tx)  # type: ignore[arg-type]
    assert (got, post) == (reason, state)


def test_reserves_are_uint112() -> None:
    state = with_pair(E, E) | {(BAL, A, BOB): UINT112_MAX, (SUPPLY, A): 2 * E + UINT112_MAX}
    _, result = execute(state, [Transfer(BOB, A, PAIR, UINT112_MAX), Sync(BOB, PAIR)])
    assert result.receipts[1].reason == "UniswapV2: OVERFLOW"


def test_sync_and_a_donation_then_swap_counts_it_as_input() -> None:
    state = with_pair(5 * E, 10 * E)
    # Donate 1e18 of A to the pair, then ask for the output a 1e18 swap would give.
    txs = [Transfer(BOB, A, PAIR, E), PairSwap(BOB, PAIR, 0, 0, 0, 1662497915624478906, BOB)]
    post, result = execute(state, txs)
    assert [r.ok for r in result.receipts] == [True, True]
    post, result = execute(state, [Transfer(BOB, A, PAIR, E), Sync(BOB, PAIR)])
    assert post[(RESERVE0, PAIR)] == 6 * E


AMOUNT = st.one_of(st.integers(0, 10**6), st.integers(0, 3 * E))
WHO = st.sampled_from([ALICE, BOB])
TOKEN_PAIR = st.sampled_from([(A, B), (B, A)])
AMM_TXS = st.one_of(
    st.builds(
        lambda w, t, a, b: AddLiquidity(w, t[0], t[1], a, b, 0, 0, w),
        WHO,
        TOKEN_PAIR,
        AMOUNT,
        AMOUNT,
    ),
    st.builds(lambda w, t, x: RemoveLiquidity(w, t[0], t[1], x, 0, 0, w), WHO, TOKEN_PAIR, AMOUNT),
    st.builds(lambda w, t, x: SwapExactIn(w, t[0], t[1], x, 0, w), WHO, TOKEN_PAIR, AMOUNT),
    st.builds(lambda w, t, x: SwapExactOut(w, t[0], t[1], x, 10**30, w), WHO, TOKEN_PAIR, AMOUNT),
    st.builds(lambda w, i, o: PairSwap(w, PAIR, i, 0, 0, o, w), WHO, AMOUNT, AMOUNT),
    st.builds(lambda w, x: Transfer(w, PAIR, BOB, x), WHO, AMOUNT),
)


def product(state: dict[Key, int]) -> int:
    return state.get((RESERVE0, PAIR), 0) * state.get((RESERVE1, PAIR), 0)


@given(st.booleans(), st.lists(AMM_TXS, max_size=12))
def test_random_sequences_conserve_and_never_shrink_k_on_swaps(
    seeded: bool, txs: list[object]
) -> None:
    state = with_pair(5 * E, 10 * E) if seeded else funded() | genesis_pair(PAIR, A, B)
    for tx in txs:
        post, reason = execute_one(state, tx)  # type: ignore[arg-type]
        if reason is not None:
            assert post == state
            continue
        for token in (A, B, PAIR):
            total = sum(v for k, v in post.items() if k[0] == BAL and k[1] == token)
            assert total == post.get((SUPPLY, token), 0)
        assert post.get((RESERVE0, PAIR), 0) == post.get((BAL, A, PAIR), 0)
        assert post.get((RESERVE1, PAIR), 0) == post.get((BAL, B, PAIR), 0)
        if isinstance(tx, SwapExactIn | SwapExactOut | PairSwap):
            assert product(post) >= product(state)
        if post.get((SUPPLY, PAIR), 0):
            assert post[(BAL, PAIR, LOCKED_LIQUIDITY_HOLDER)] == MINIMUM_LIQUIDITY
        state = post
