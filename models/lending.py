"""Compound-v2 lending: CToken markets under one Comptroller, with Compound's integer math.

Interest accrues per block exactly as ``CToken.accrueInterest`` (simple interest factor, reserves,
borrow index) under the WhitePaper rate model; supply and redemption use the exchange rate
``(cash + borrows - reserves) * 1e18 // supply``; borrowing and redeeming are allowed only
without shortfall (collateral factor × oracle price, ``Exp`` products floored at each step as
``getHypotheticalAccountLiquidity`` does); liquidation needs a shortfall, repays at most the
close factor (0.5) of the debt and seizes with the 1.08 incentive.

The Comptroller lists at most ``MAX_MARKETS`` markets, ids ``0..MAX_MARKETS-1``, so the
liquidity loop has a constant bound the symbolic context can unroll. cToken balances are lending
keys rather than ERC-20 balances, because a plain ``erc20.transfer`` of cTokens would bypass the
shortfall check Compound's ``transferAllowed`` makes. Left out: cToken transfers, the protocol
seize share, admin functions (markets are configured at genesis with ``genesis_market``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import erc20, oracle
from .context import Context, Key, read_only
from .tx import Tx, declare_keys, spec
from .uint import MAX_UINT256, add, div, mul, sub

UNDERLYING = "lend.underlying"
ADDRESS = "lend.address"
COLLATERAL_FACTOR = "lend.collateral_factor"
RESERVE_FACTOR = "lend.reserve_factor"
BASE_RATE = "lend.base_rate"
MULTIPLIER = "lend.multiplier"
INITIAL_EXCHANGE_RATE = "lend.initial_exchange_rate"
TOTAL_BORROWS = "lend.total_borrows"
TOTAL_RESERVES = "lend.total_reserves"
TOTAL_SUPPLY = "lend.total_supply"
BORROW_INDEX = "lend.borrow_index"
ACCRUAL_BLOCK = "lend.accrual_block"
BALANCE = "lend.balance"
PRINCIPAL = "lend.principal"
INTEREST_INDEX = "lend.interest_index"
MEMBER = "lend.member"

_MARKET_KEYS = (
    UNDERLYING, ADDRESS, COLLATERAL_FACTOR, RESERVE_FACTOR, BASE_RATE, MULTIPLIER,
    INITIAL_EXCHANGE_RATE, TOTAL_BORROWS, TOTAL_RESERVES, TOTAL_SUPPLY, BORROW_INDEX,
    ACCRUAL_BLOCK,
)  # fmt: skip
declare_keys(
    **{name: ("market",) for name in _MARKET_KEYS},
    **{name: ("market", "account") for name in (BALANCE, PRINCIPAL, INTEREST_INDEX, MEMBER)},
)

MAX_MARKETS = 4
MANTISSA = 10**18
CLOSE_FACTOR = MANTISSA // 2
LIQUIDATION_INCENTIVE = 108 * MANTISSA // 100
BORROW_RATE_MAX = 5 * 10**12  # .0005e16 per block, CToken's borrowRateMaxMantissa
COLLATERAL_FACTOR_MAX = 9 * MANTISSA // 10


@dataclass(frozen=True, slots=True)
class EnterMarket(Tx):
    KIND = "lend.enter_market"
    market: int


@dataclass(frozen=True, slots=True)
class ExitMarket(Tx):
    KIND = "lend.exit_market"
    market: int


@dataclass(frozen=True, slots=True)
class Supply(Tx):
    """CToken.mint: supply underlying, receive cTokens."""

    KIND = "lend.supply"
    market: int
    amount: int


@dataclass(frozen=True, slots=True)
class Redeem(Tx):
    KIND = "lend.redeem"
    market: int
    tokens: int


@dataclass(frozen=True, slots=True)
class Borrow(Tx):
    KIND = "lend.borrow"
    market: int
    amount: int


@dataclass(frozen=True, slots=True)
class RepayBorrow(Tx):
    """Repay ``borrower``'s debt (on behalf of someone else allowed); 2**256-1 repays it all."""

    KIND = "lend.repay"
    market: int
    borrower: int
    amount: int


@dataclass(frozen=True, slots=True)
class Liquidate(Tx):
    KIND = "lend.liquidate"
    market: int  # where the borrower's debt is repaid
    borrower: int
    amount: int
    collateral_market: int  # whose cTokens are seized


def _listed(ctx: Context, market: int) -> int:
    ctx.require(0 <= market < MAX_MARKETS, "market not listed")
    underlying = ctx.read((UNDERLYING, market))
    ctx.require(underlying != 0, "market not listed")
    return underlying


def _cash(ctx: Context, market: int) -> int:
    return ctx.read((erc20.BAL, ctx.read((UNDERLYING, market)), ctx.read((ADDRESS, market))))


@read_only
def borrow_rate(ctx: Context, market: int, cash: int, borrows: int, reserves: int) -> int:
    """WhitePaperInterestRateModel.getBorrowRate."""
    if borrows == 0:
        utilization = 0
    else:
        utilization = div(
            ctx, mul(ctx, borrows, MANTISSA), sub(ctx, add(ctx, cash, borrows), reserves)
        )
    rate = div(ctx, mul(ctx, utilization, ctx.read((MULTIPLIER, market))), MANTISSA)
    return add(ctx, rate, ctx.read((BASE_RATE, market)))


def accrue_interest(ctx: Context, market: int) -> None:
    """CToken.accrueInterest."""
    _listed(ctx, market)
    current = ctx.block.number
    prior = ctx.read((ACCRUAL_BLOCK, market))
    if current == prior:
        return
    borrows = ctx.read((TOTAL_BORROWS, market))
    reserves = ctx.read((TOTAL_RESERVES, market))
    index = ctx.read((BORROW_INDEX, market))
    cash = _cash(ctx, market)
    rate = borrow_rate(ctx, market, cash, borrows, reserves)
    ctx.require(rate <= BORROW_RATE_MAX, "borrow rate is absurdly high")
    simple_factor = mul(ctx, rate, sub(ctx, current, prior, "could not calculate block delta"))
    interest = div(ctx, mul(ctx, simple_factor, borrows), MANTISSA)
    reserve_share = div(ctx, mul(ctx, ctx.read((RESERVE_FACTOR, market)), interest), MANTISSA)
    borrows_new = add(ctx, interest, borrows)
    index_new = add(ctx, div(ctx, mul(ctx, simple_factor, index), MANTISSA), index)
    ctx.write((ACCRUAL_BLOCK, market), current)
    ctx.write((TOTAL_BORROWS, market), borrows_new)
    ctx.write((TOTAL_RESERVES, market), add(ctx, reserve_share, reserves))
    ctx.write((BORROW_INDEX, market), index_new)
    # Compound logs AccrueInterest(cashPrior, interestAccumulated, borrowIndexNew,
    # totalBorrowsNew); the market stands for the emitting cToken, as in every event here.
    ctx.emit(("AccrueInterest", market, cash, interest, index_new, borrows_new))


@read_only
def exchange_rate(ctx: Context, market: int) -> int:
    """CToken.exchangeRateStored."""
    supply = ctx.read((TOTAL_SUPPLY, market))
    if supply == 0:
        return ctx.read((INITIAL_EXCHANGE_RATE, market))
    assets = sub(
        ctx,
        add(ctx, _cash(ctx, market), ctx.read((TOTAL_BORROWS, market))),
        ctx.read((TOTAL_RESERVES, market)),
    )
    return div(ctx, mul(ctx, assets, MANTISSA), supply)


@read_only
def borrow_balance(ctx: Context, market: int, account: int) -> int:
    """CToken.borrowBalanceStored: principal scaled by the index growth since it was taken."""
    principal = ctx.read((PRINCIPAL, market, account))
    if principal == 0:
        return 0
    growth = mul(ctx, principal, ctx.read((BORROW_INDEX, market)))
    return div(ctx, growth, ctx.read((INTEREST_INDEX, market, account)))


def _exp_mul(ctx: Context, a: int, b: int) -> int:
    """Compound's Exp × Exp (or Exp × scalar, truncated): a * b // 1e18."""
    return div(ctx, mul(ctx, a, b), MANTISSA)


@read_only
def shortfall(
    ctx: Context, account: int, modify: int = -1, redeem_tokens: int = 0, borrow_amount: int = 0
) -> int:
    """Comptroller.getHypotheticalAccountLiquidity's shortfall (0 when the account is healthy)."""
    collateral = borrows = 0
    for market in range(MAX_MARKETS):
        if not ctx.read((MEMBER, market, account)):
            continue
        price = oracle.price_of(ctx, ctx.read((UNDERLYING, market)))
        factor = ctx.read((COLLATERAL_FACTOR, market))
        tokens_to_denom = _exp_mul(ctx, _exp_mul(ctx, factor, exchange_rate(ctx, market)), price)
        balance = ctx.read((BALANCE, market, account))
        collateral = add(ctx, collateral, _exp_mul(ctx, tokens_to_denom, balance))
        debt = _exp_mul(ctx, price, borrow_balance(ctx, market, account))
        borrows = add(ctx, borrows, debt)
        if market == modify:
            borrows = add(ctx, borrows, _exp_mul(ctx, tokens_to_denom, redeem_tokens))
            borrows = add(ctx, borrows, _exp_mul(ctx, price, borrow_amount))
    return borrows - collateral if borrows > collateral else 0


@spec(EnterMarket)
def apply_enter_market(tx: EnterMarket, ctx: Context) -> None:
    _listed(ctx, tx.market)
    ctx.write((MEMBER, tx.market, tx.sender), 1)
    ctx.emit(("MarketEntered", tx.market, tx.sender))


@spec(ExitMarket)
def apply_exit_market(tx: ExitMarket, ctx: Context) -> None:
    _listed(ctx, tx.market)
    ctx.require(borrow_balance(ctx, tx.market, tx.sender) == 0, "EXIT_MARKET_BALANCE_OWED")
    tokens = ctx.read((BALANCE, tx.market, tx.sender))
    ctx.require(shortfall(ctx, tx.sender, tx.market, tokens, 0) == 0, "EXIT_MARKET_REJECTION")
    ctx.write((MEMBER, tx.market, tx.sender), 0)
    ctx.emit(("MarketExited", tx.market, tx.sender))


@spec(Supply)
def apply_supply(tx: Supply, ctx: Context) -> None:
    underlying = _listed(ctx, tx.market)
    accrue_interest(ctx, tx.market)
    rate = exchange_rate(ctx, tx.market)
    erc20.move(ctx, underlying, tx.sender, ctx.read((ADDRESS, tx.market)), tx.amount)
    minted = div(ctx, mul(ctx, tx.amount, MANTISSA), rate)
    supply = (TOTAL_SUPPLY, tx.market)
    ctx.write(supply, add(ctx, ctx.read(supply), minted))
    balance = (BALANCE, tx.market, tx.sender)
    ctx.write(balance, add(ctx, ctx.read(balance), minted))
    ctx.emit(("Mint", tx.market, tx.sender, tx.amount, minted))


@spec(Redeem)
def apply_redeem(tx: Redeem, ctx: Context) -> None:
    underlying = _listed(ctx, tx.market)
    accrue_interest(ctx, tx.market)
    amount = _exp_mul(ctx, exchange_rate(ctx, tx.market), tx.tokens)
    balance = (BALANCE, tx.market, tx.sender)
    held = ctx.read(balance)
    ctx.require(held >= tx.tokens, "redeem tokens exceed balance")
    if ctx.read((MEMBER, tx.market, tx.sender)):
        ctx.require(
            shortfall(ctx, tx.sender, tx.market, tx.tokens, 0) == 0, "insufficient liquidity"
        )
    market_address = ctx.read((ADDRESS, tx.market))
    ctx.require(_cash(ctx, tx.market) >= amount, "redeem transfer out not possible")
    ctx.require(tx.tokens != 0 or amount == 0, "redeemTokens zero")
    supply = (TOTAL_SUPPLY, tx.market)
    ctx.write(supply, ctx.read(supply) - tx.tokens)  # >= this holder's balance
    ctx.write(balance, held - tx.tokens)
    erc20.move(ctx, underlying, market_address, tx.sender, amount)
    ctx.emit(("Redeem", tx.market, tx.sender, amount, tx.tokens))


@spec(Borrow)
def apply_borrow(tx: Borrow, ctx: Context) -> None:
    underlying = _listed(ctx, tx.market)
    accrue_interest(ctx, tx.market)
    ctx.write((MEMBER, tx.market, tx.sender), 1)  # borrowAllowed enters the market
    ctx.require(shortfall(ctx, tx.sender, tx.market, 0, tx.amount) == 0, "insufficient liquidity")
    ctx.require(_cash(ctx, tx.market) >= tx.amount, "borrow cash not available")
    owed = add(ctx, borrow_balance(ctx, tx.market, tx.sender), tx.amount)
    ctx.write((PRINCIPAL, tx.market, tx.sender), owed)
    ctx.write((INTEREST_INDEX, tx.market, tx.sender), ctx.read((BORROW_INDEX, tx.market)))
    total = (TOTAL_BORROWS, tx.market)
    ctx.write(total, add(ctx, ctx.read(total), tx.amount))
    erc20.move(ctx, underlying, ctx.read((ADDRESS, tx.market)), tx.sender, tx.amount)
    ctx.emit(("Borrow", tx.market, tx.sender, tx.amount, owed))


def repay(ctx: Context, market: int, payer: int, borrower: int, amount: int) -> int:
    """CToken.repayBorrowFresh; returns what was repaid."""
    owed = borrow_balance(ctx, market, borrower)
    repaid = owed if amount == MAX_UINT256 else amount
    ctx.require(repaid <= owed, "repay amount exceeds borrow balance")
    erc20.move(ctx, ctx.read((UNDERLYING, market)), payer, ctx.read((ADDRESS, market)), repaid)
    ctx.write((PRINCIPAL, market, borrower), owed - repaid)
    ctx.write((INTEREST_INDEX, market, borrower), ctx.read((BORROW_INDEX, market)))
    total = (TOTAL_BORROWS, market)
    ctx.write(total, sub(ctx, ctx.read(total), repaid))
    ctx.emit(("RepayBorrow", market, payer, borrower, repaid))
    return repaid


@spec(RepayBorrow)
def apply_repay(tx: RepayBorrow, ctx: Context) -> None:
    _listed(ctx, tx.market)
    accrue_interest(ctx, tx.market)
    repay(ctx, tx.market, tx.sender, tx.borrower, tx.amount)


@read_only
def seize_tokens(ctx: Context, borrowed: int, collateral: int, repaid: int) -> int:
    """Comptroller.liquidateCalculateSeizeTokens (without the protocol seize share)."""
    price_borrowed = oracle.price_of(ctx, ctx.read((UNDERLYING, borrowed)))
    price_collateral = oracle.price_of(ctx, ctx.read((UNDERLYING, collateral)))
    numerator = _exp_mul(ctx, LIQUIDATION_INCENTIVE, price_borrowed)
    denominator = _exp_mul(ctx, price_collateral, exchange_rate(ctx, collateral))
    ratio = div(ctx, mul(ctx, numerator, MANTISSA), denominator)
    return _exp_mul(ctx, ratio, repaid)


@spec(Liquidate)
def apply_liquidate(tx: Liquidate, ctx: Context) -> None:
    _listed(ctx, tx.market)
    _listed(ctx, tx.collateral_market)
    accrue_interest(ctx, tx.market)
    accrue_interest(ctx, tx.collateral_market)
    ctx.require(tx.borrower != tx.sender, "LIQUIDATE_LIQUIDATOR_IS_BORROWER")
    ctx.require(tx.amount != 0, "LIQUIDATE_CLOSE_AMOUNT_IS_ZERO")
    ctx.require(tx.amount != MAX_UINT256, "LIQUIDATE_CLOSE_AMOUNT_IS_UINT_MAX")
    ctx.require(shortfall(ctx, tx.borrower) > 0, "INSUFFICIENT_SHORTFALL")
    max_close = _exp_mul(ctx, CLOSE_FACTOR, borrow_balance(ctx, tx.market, tx.borrower))
    ctx.require(tx.amount <= max_close, "TOO_MUCH_REPAY")
    repaid = repay(ctx, tx.market, tx.sender, tx.borrower, tx.amount)
    seized = seize_tokens(ctx, tx.market, tx.collateral_market, repaid)
    collateral = (BALANCE, tx.collateral_market, tx.borrower)
    held = ctx.read(collateral)
    ctx.require(seized <= held, "LIQUIDATE_SEIZE_TOO_MUCH")
    ctx.write(collateral, held - seized)
    gain = (BALANCE, tx.collateral_market, tx.sender)
    ctx.write(gain, add(ctx, ctx.read(gain), seized))
    ctx.emit(("LiquidateBorrow", tx.sender, tx.borrower, repaid, tx.collateral_market, seized))


def genesis_market(
    market: int,
    *,
    underlying: int,
    address: int,
    collateral_factor: int,
    reserve_factor: int = MANTISSA // 10,
    base_rate: int = 0,
    multiplier: int = 0,
    initial_exchange_rate: int = 2 * 10**16,
    block: int = 0,
) -> dict[Key, int]:
    """A listed market; rates are per block, factors are mantissas (1e18 = 100%)."""
    if not 0 <= market < MAX_MARKETS or underlying == 0 or address == 0:
        raise ValueError(f"genesis_market: market id in 0..{MAX_MARKETS - 1}, non-zero ids")
    if collateral_factor > COLLATERAL_FACTOR_MAX:
        raise ValueError("genesis_market: collateral factor above 0.9")
    return {
        (UNDERLYING, market): underlying,
        (ADDRESS, market): address,
        (COLLATERAL_FACTOR, market): collateral_factor,
        (RESERVE_FACTOR, market): reserve_factor,
        (BASE_RATE, market): base_rate,
        (MULTIPLIER, market): multiplier,
        (INITIAL_EXCHANGE_RATE, market): initial_exchange_rate,
        (BORROW_INDEX, market): MANTISSA,
        (ACCRUAL_BLOCK, market): block,
    }
