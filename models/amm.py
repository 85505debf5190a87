"""A Uniswap-v2 pool: UniswapV2Factory, UniswapV2Pair and a single-hop UniswapV2Router02.

Integer semantics and revert reasons are Uniswap's: the 0.3% fee as 997/1000, the K check on
fee-adjusted balances, the first deposit locking MINIMUM_LIQUIDITY forever, uint112 reserves.
The pair's LP token is an ERC-20 whose token id is the pair's address, so LP shares transfer
with ``erc20.transfer``. Left out, because no engine property depends on them: the protocol fee
(feeTo/kLast), price accumulators, flash swaps, multi-hop paths, and the router's allowance (the
router moves the sender's tokens directly, as if approved).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import erc20
from .context import Checks, Context, Reverting
from .tx import Tx, declare_keys, spec
from .uint import add, div, isqrt, mul, sub

PAIR = "amm.pair"
TOKEN0 = "amm.token0"
TOKEN1 = "amm.token1"
RESERVE0 = "amm.reserve0"
RESERVE1 = "amm.reserve1"

declare_keys(
    **{
        PAIR: ("token0", "token1"),
        TOKEN0: ("pair",),
        TOKEN1: ("pair",),
        RESERVE0: ("pair",),
        RESERVE1: ("pair",),
    }
)

MINIMUM_LIQUIDITY = 1000
#: Uniswap mints the locked minimum liquidity to address(0); the spec's ERC-20 forbids minting
#: to the zero address, so it goes to this burn address instead (same effect: nobody holds it).
LOCKED_LIQUIDITY_HOLDER = 0xDEAD
UINT112_MAX = 2**112 - 1


# -- UniswapV2Library ---------------------------------------------------------------------------


def quote_in(ctx: Checks, amount_a: int, reserve_a: int, reserve_b: int) -> int:
    ctx.require(amount_a > 0, "UniswapV2Library: INSUFFICIENT_AMOUNT")
    ctx.require(reserve_a > 0 and reserve_b > 0, "UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    return div(ctx, mul(ctx, amount_a, reserve_b), reserve_a)


def amount_out_in(ctx: Checks, amount_in: int, reserve_in: int, reserve_out: int) -> int:
    ctx.require(amount_in > 0, "UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT")
    ctx.require(reserve_in > 0 and reserve_out > 0, "UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    amount_in_with_fee = mul(ctx, amount_in, 997)
    numerator = mul(ctx, amount_in_with_fee, reserve_out)
    denominator = add(ctx, mul(ctx, reserve_in, 1000), amount_in_with_fee)
    return div(ctx, numerator, denominator)


def amount_in_in(ctx: Checks, amount_out: int, reserve_in: int, reserve_out: int) -> int:
    ctx.require(amount_out > 0, "UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT")
    ctx.require(reserve_in > 0 and reserve_out > 0, "UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    numerator = mul(ctx, mul(ctx, reserve_in, amount_out), 1000)
    # SafeMath's sub reverts above the reserve; at it, the division by zero does.
    denominator = mul(ctx, sub(ctx, reserve_out, amount_out, "ds-math-sub-underflow"), 997)
    return add(ctx, div(ctx, numerator, denominator), 1)


def quote(amount_a: int, reserve_a: int, reserve_b: int) -> int:
    """UniswapV2Library.quote on plain integers; raises ``Revert`` as the library would."""
    return quote_in(Reverting(), amount_a, reserve_a, reserve_b)


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountOut on plain integers; raises ``Revert`` as the library would."""
    return amount_out_in(Reverting(), amount_in, reserve_in, reserve_out)


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountIn on plain integers; raises ``Revert`` as the library would.

    When ``amount_out >= reserve_out`` no input buys the output: it reverts as Solidity does,
    with "ds-math-sub-underflow" above the reserve and "division by zero" at it.
    """
    return amount_in_in(Reverting(), amount_out, reserve_in, reserve_out)


# -- transactions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreatePair(Tx):
    KIND = "amm.create_pair"
    token_a: int
    token_b: int
    pair: int  # the pair's address (CREATE2 in Uniswap; chosen by the creator here)


@dataclass(frozen=True, slots=True)
class AddLiquidity(Tx):
    KIND = "amm.add_liquidity"
    token_a: int
    token_b: int
    amount_a_desired: int
    amount_b_desired: int
    amount_a_min: int
    amount_b_min: int
    to: int


@dataclass(frozen=True, slots=True)
class RemoveLiquidity(Tx):
    KIND = "amm.remove_liquidity"
    token_a: int
    token_b: int
    liquidity: int
    amount_a_min: int
    amount_b_min: int
    to: int


@dataclass(frozen=True, slots=True)
class SwapExactIn(Tx):
    KIND = "amm.swap_exact_in"
    token_in: int
    token_out: int
    amount_in: int
    amount_out_min: int
    to: int


@dataclass(frozen=True, slots=True)
class SwapExactOut(Tx):
    KIND = "amm.swap_exact_out"
    token_in: int
    token_out: int
    amount_out: int
    amount_in_max: int
    to: int


@dataclass(frozen=True, slots=True)
class PairSwap(Tx):
    """A direct call of UniswapV2Pair.swap after sending inputs: no router, no slippage checks."""

    KIND = "amm.pair_swap"
    pair: int
    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int
    to: int


@dataclass(frozen=True, slots=True)
class Sync(Tx):
    KIND = "amm.sync"
    pair: int


# -- UniswapV2Pair ------------------------------------------------------------------------------


def sort_tokens(ctx: Checks, token_a: int, token_b: int) -> tuple[int, int]:
    """UniswapV2Library.sortTokens."""
    ctx.require(token_a != token_b, "UniswapV2: IDENTICAL_ADDRESSES")
    token0, token1 = (token_a, token_b) if token_a < token_b else (token_b, token_a)
    ctx.require(token0 != 0, "UniswapV2: ZERO_ADDRESS")
    return token0, token1


def pair_for(ctx: Context, token_a: int, token_b: int) -> tuple[int, int, int]:
    """(pair, token0, token1) of an existing pair; reverts if there is none."""
    token0, token1 = sort_tokens(ctx, token_a, token_b)
    pair = ctx.read((PAIR, token0, token1))
    ctx.require(pair != 0, "UniswapV2Router: PAIR_NOT_FOUND")
    return pair, token0, token1


def _update(ctx: Context, pair: int, balance0: int, balance1: int) -> None:
    ctx.require(balance0 <= UINT112_MAX and balance1 <= UINT112_MAX, "UniswapV2: OVERFLOW")
    ctx.write((RESERVE0, pair), balance0)
    ctx.write((RESERVE1, pair), balance1)
    ctx.emit(("Sync", pair, balance0, balance1))


def _balances(ctx: Context, pair: int, token0: int, token1: int) -> tuple[int, int]:
    return ctx.read((erc20.BAL, token0, pair)), ctx.read((erc20.BAL, token1, pair))


def pair_mint(ctx: Context, pair: int, token0: int, token1: int, to: int) -> int:
    """UniswapV2Pair.mint: LP shares for whatever was sent in since the last update."""
    reserve0, reserve1 = ctx.read((RESERVE0, pair)), ctx.read((RESERVE1, pair))
    balance0, balance1 = _balances(ctx, pair, token0, token1)
    amount0 = sub(ctx, balance0, reserve0, "ds-math-sub-underflow")
    amount1 = sub(ctx, balance1, reserve1, "ds-math-sub-underflow")
    total_supply = ctx.read((erc20.SUPPLY, pair))
    if total_supply == 0:
        root = isqrt(mul(ctx, amount0, amount1))
        liquidity = sub(ctx, root, MINIMUM_LIQUIDITY, "ds-math-sub-underflow")
        erc20.mint(ctx, pair, LOCKED_LIQUIDITY_HOLDER, MINIMUM_LIQUIDITY)
    else:
        liquidity = min(
            div(ctx, mul(ctx, amount0, total_supply), reserve0),
            div(ctx, mul(ctx, amount1, total_supply), reserve1),
        )
    ctx.require(liquidity > 0, "UniswapV2: INSUFFICIENT_LIQUIDITY_MINTED")
    erc20.mint(ctx, pair, to, liquidity)
    _update(ctx, pair, balance0, balance1)
    ctx.emit(("Mint", pair, amount0, amount1))
    return liquidity


def pair_burn(ctx: Context, pair: int, token0: int, token1: int, to: int) -> tuple[int, int]:
    """UniswapV2Pair.burn: the LP shares sent to the pair are redeemed pro rata, floored."""
    balance0, balance1 = _balances(ctx, pair, token0, token1)
    liquidity = ctx.read((erc20.BAL, pair, pair))
    total_supply = ctx.read((erc20.SUPPLY, pair))
    amount0 = div(ctx, mul(ctx, liquidity, balance0), total_supply)
    amount1 = div(ctx, mul(ctx, liquidity, balance1), total_supply)
    ctx.require(amount0 > 0 and amount1 > 0, "UniswapV2: INSUFFICIENT_LIQUIDITY_BURNED")
    erc20.burn(ctx, pair, pair, liquidity)
    erc20.move(ctx, token0, pair, to, amount0)
    erc20.move(ctx, token1, pair, to, amount1)
    balance0, balance1 = _balances(ctx, pair, token0, token1)
    _update(ctx, pair, balance0, balance1)
    ctx.emit(("Burn", pair, amount0, amount1, to))
    return amount0, amount1


def fee_adjusted(ctx: Context, balance: int, amount_in: int) -> int:
    """A balance, scaled by 1000, less the 0.3% fee on what came in: exact, no rounding."""
    return sub(ctx, mul(ctx, balance, 1000), mul(ctx, amount_in, 3))


def pair_swap(ctx: Context, pair: int, amount0_out: int, amount1_out: int, to: int) -> None:
    """UniswapV2Pair.swap: pay out optimistically, then enforce K on fee-adjusted balances."""
    ctx.require(amount0_out > 0 or amount1_out > 0, "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT")
    reserve0, reserve1 = ctx.read((RESERVE0, pair)), ctx.read((RESERVE1, pair))
    ctx.require(
        amount0_out < reserve0 and amount1_out < reserve1, "UniswapV2: INSUFFICIENT_LIQUIDITY"
    )
    token0, token1 = ctx.read((TOKEN0, pair)), ctx.read((TOKEN1, pair))
    ctx.require(to != token0 and to != token1, "UniswapV2: INVALID_TO")
    if amount0_out > 0:
        erc20.move(ctx, token0, pair, to, amount0_out)
    if amount1_out > 0:
        erc20.move(ctx, token1, pair, to, amount1_out)
    balance0, balance1 = _balances(ctx, pair, token0, token1)
    amount0_in = balance0 - (reserve0 - amount0_out) if balance0 > reserve0 - amount0_out else 0
    amount1_in = balance1 - (reserve1 - amount1_out) if balance1 > reserve1 - amount1_out else 0
    ctx.require(amount0_in > 0 or amount1_in > 0, "UniswapV2: INSUFFICIENT_INPUT_AMOUNT")
    adjusted0 = fee_adjusted(ctx, balance0, amount0_in)
    adjusted1 = fee_adjusted(ctx, balance1, amount1_in)
    ctx.require(
        mul(ctx, adjusted0, adjusted1) >= mul(ctx, mul(ctx, reserve0, reserve1), 1000**2),
        "UniswapV2: K",
    )
    _update(ctx, pair, balance0, balance1)
    ctx.emit(("Swap", pair, amount0_in, amount1_in, amount0_out, amount1_out, to))


# -- the transactions' semantics -----------------------------------------------------------------


@spec(CreatePair)
def apply_create_pair(tx: CreatePair, ctx: Context) -> None:
    ctx.require(tx.token_a != tx.token_b, "UniswapV2: IDENTICAL_ADDRESSES")
    token0, token1 = (
        (tx.token_a, tx.token_b) if tx.token_a < tx.token_b else (tx.token_b, tx.token_a)
    )
    ctx.require(token0 != 0, "UniswapV2: ZERO_ADDRESS")
    ctx.require(ctx.read((PAIR, token0, token1)) == 0, "UniswapV2: PAIR_EXISTS")
    # The pair's address doubles as its LP token's id: it must be fresh.
    ctx.require(
        tx.pair != 0
        and ctx.read((TOKEN0, tx.pair)) == 0
        and ctx.read((erc20.SUPPLY, tx.pair)) == 0
        and ctx.read((erc20.ADMIN, tx.pair)) == 0,
        "UniswapV2: PAIR_ADDRESS_IN_USE",
    )
    ctx.write((PAIR, token0, token1), tx.pair)
    ctx.write((TOKEN0, tx.pair), token0)
    ctx.write((TOKEN1, tx.pair), token1)
    ctx.emit(("PairCreated", token0, token1, tx.pair))


@spec(AddLiquidity)
def apply_add_liquidity(tx: AddLiquidity, ctx: Context) -> None:
    pair, token0, token1 = pair_for(ctx, tx.token_a, tx.token_b)
    reserve0, reserve1 = ctx.read((RESERVE0, pair)), ctx.read((RESERVE1, pair))
    reserve_a, reserve_b = (reserve0, reserve1) if tx.token_a == token0 else (reserve1, reserve0)
    if reserve_a == 0 and reserve_b == 0:
        amount_a, amount_b = tx.amount_a_desired, tx.amount_b_desired
    else:
        amount_b_optimal = quote_in(ctx, tx.amount_a_desired, reserve_a, reserve_b)
        if amount_b_optimal <= tx.amount_b_desired:
            ctx.require(
                amount_b_optimal >= tx.amount_b_min, "UniswapV2Router: INSUFFICIENT_B_AMOUNT"
            )
            amount_a, amount_b = tx.amount_a_desired, amount_b_optimal
        else:
            amount_a_optimal = quote_in(ctx, tx.amount_b_desired, reserve_b, reserve_a)
            ctx.require(amount_a_optimal <= tx.amount_a_desired, "assert")
            ctx.require(
                amount_a_optimal >= tx.amount_a_min, "UniswapV2Router: INSUFFICIENT_A_AMOUNT"
            )
            amount_a, amount_b = amount_a_optimal, tx.amount_b_desired
    erc20.move(ctx, tx.token_a, tx.sender, pair, amount_a)
    erc20.move(ctx, tx.token_b, tx.sender, pair, amount_b)
    pair_mint(ctx, pair, token0, token1, tx.to)


@spec(RemoveLiquidity)
def apply_remove_liquidity(tx: RemoveLiquidity, ctx: Context) -> None:
    pair, token0, token1 = pair_for(ctx, tx.token_a, tx.token_b)
    erc20.move(ctx, pair, tx.sender, pair, tx.liquidity)
    amount0, amount1 = pair_burn(ctx, pair, token0, token1, tx.to)
    amount_a, amount_b = (amount0, amount1) if tx.token_a == token0 else (amount1, amount0)
    ctx.require(amount_a >= tx.amount_a_min, "UniswapV2Router: INSUFFICIENT_A_AMOUNT")
    ctx.require(amount_b >= tx.amount_b_min, "UniswapV2Router: INSUFFICIENT_B_AMOUNT")


def route(ctx: Context, token_in: int, token_out: int) -> tuple[int, int, int, bool]:
    """(pair, reserve_in, reserve_out, token_in_is_token0) for a single-hop swap."""
    pair, token0, _ = pair_for(ctx, token_in, token_out)
    reserve0, reserve1 = ctx.read((RESERVE0, pair)), ctx.read((RESERVE1, pair))
    zero_for_one = token_in == token0
    if zero_for_one:
        return pair, reserve0, reserve1, True
    return pair, reserve1, reserve0, False


def swap_out(ctx: Context, pair: int, zero_for_one: bool, amount_out: int, to: int) -> None:
    if zero_for_one:
        pair_swap(ctx, pair, 0, amount_out, to)
    else:
        pair_swap(ctx, pair, amount_out, 0, to)


@spec(SwapExactIn)
def apply_swap_exact_in(tx: SwapExactIn, ctx: Context) -> None:
    pair, reserve_in, reserve_out, zero_for_one = route(ctx, tx.token_in, tx.token_out)
    amount_out = amount_out_in(ctx, tx.amount_in, reserve_in, reserve_out)
    ctx.require(amount_out >= tx.amount_out_min, "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT")
    erc20.move(ctx, tx.token_in, tx.sender, pair, tx.amount_in)
    swap_out(ctx, pair, zero_for_one, amount_out, tx.to)


@spec(SwapExactOut)
def apply_swap_exact_out(tx: SwapExactOut, ctx: Context) -> None:
    pair, reserve_in, reserve_out, zero_for_one = route(ctx, tx.token_in, tx.token_out)
    amount_in = amount_in_in(ctx, tx.amount_out, reserve_in, reserve_out)
    ctx.require(amount_in <= tx.amount_in_max, "UniswapV2Router: EXCESSIVE_INPUT_AMOUNT")
    erc20.move(ctx, tx.token_in, tx.sender, pair, amount_in)
    swap_out(ctx, pair, zero_for_one, tx.amount_out, tx.to)


@spec(PairSwap)
def apply_pair_swap(tx: PairSwap, ctx: Context) -> None:
    token0, token1 = ctx.read((TOKEN0, tx.pair)), ctx.read((TOKEN1, tx.pair))
    ctx.require(token0 != 0, "UniswapV2Router: PAIR_NOT_FOUND")
    if tx.amount0_in > 0:
        erc20.move(ctx, token0, tx.sender, tx.pair, tx.amount0_in)
    if tx.amount1_in > 0:
        erc20.move(ctx, token1, tx.sender, tx.pair, tx.amount1_in)
    pair_swap(ctx, tx.pair, tx.amount0_out, tx.amount1_out, tx.to)


@spec(Sync)
def apply_sync(tx: Sync, ctx: Context) -> None:
    token0, token1 = ctx.read((TOKEN0, tx.pair)), ctx.read((TOKEN1, tx.pair))
    ctx.require(token0 != 0, "UniswapV2Router: PAIR_NOT_FOUND")
    balance0, balance1 = _balances(ctx, tx.pair, token0, token1)
    _update(ctx, tx.pair, balance0, balance1)


def genesis_pair(
    pair: int, token0: int, token1: int, reserve0: int = 0, reserve1: int = 0, lp_holder: int = 0
) -> dict[tuple[str | int, ...], int]:
    """State entries of a deployed pair (``token0 < token1``) holding the given reserves.

    With reserves, the initial LP supply is minted as the first deposit would: isqrt(r0*r1),
    of which MINIMUM_LIQUIDITY is locked and the rest held by ``lp_holder``. The caller adds
    the pair's token balances to the tokens' supplies.
    """
    if not 0 < token0 < token1:
        raise ValueError("genesis_pair needs 0 < token0 < token1")
    state: dict[tuple[str | int, ...], int] = {
        (PAIR, token0, token1): pair,
        (TOKEN0, pair): token0,
        (TOKEN1, pair): token1,
    }
    if reserve0 or reserve1:
        supply = isqrt(reserve0 * reserve1)
        if supply <= MINIMUM_LIQUIDITY or not lp_holder:
            raise ValueError("genesis_pair: reserves too small for the minimum liquidity")
        state |= {
            (RESERVE0, pair): reserve0,
            (RESERVE1, pair): reserve1,
            (erc20.BAL, token0, pair): reserve0,
            (erc20.BAL, token1, pair): reserve1,
            (erc20.SUPPLY, pair): supply,
            (erc20.BAL, pair, LOCKED_LIQUIDITY_HOLDER): MINIMUM_LIQUIDITY,
            (erc20.BAL, pair, lp_holder): supply - MINIMUM_LIQUIDITY,
        }
    return state
