"""Derivatives: a perpetual futures market (GMX-v1-like) and cash-settled options.

Perpetuals: isolated positions per (market, account, side) against an oracle price, collateral
and PnL in one stablecoin, a vault that is every trader's counterparty. PnL is
``size * |price - avg| // avg``; a position fee of ``fee_bps`` is charged on size opened and
closed; increases average the entry price weighted by size (GMX uses its own
``nextAveragePrice``; size weighting keeps PnL continuous and is easier to audit); a position
whose remaining collateral after loss and closing fee is at most the liquidation fee can only be
liquidated, and the liquidator takes what remains. The vault pays profits only from liquidity
not backing open positions (``perp.locked``).

Options: a writer locks collateral in the options book (a put locks ``strike * amount // 1e18``;
a call locks a cap the writer chooses, which bounds its payout); one buyer pays the premium;
after expiry anyone settles at the oracle price, and payout plus returned collateral equals the
locked collateral exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import erc20, oracle
from .context import Context, Key
from .tx import Tx, declare_keys, spec
from .uint import add, div, mul, sub

# -- perpetuals -------------------------------------------------------------------------------

P_ASSET = "perp.asset"
P_TOKEN = "perp.collateral_token"
P_VAULT = "perp.vault"
P_FEE_BPS = "perp.fee_bps"
P_LIQUIDATION_FEE = "perp.liquidation_fee"
P_MAX_LEVERAGE = "perp.max_leverage"
P_LOCKED = "perp.locked"
P_SIZE = "perp.size"
P_COLLATERAL = "perp.collateral"
P_AVG_PRICE = "perp.avg_price"

# -- options ----------------------------------------------------------------------------------

O_QUOTE = "opt.quote_token"
O_WRITER = "opt.writer"
O_HOLDER = "opt.holder"
O_ASSET = "opt.asset"
O_IS_CALL = "opt.is_call"
O_STRIKE = "opt.strike"
O_EXPIRY = "opt.expiry"
O_AMOUNT = "opt.amount"
O_PREMIUM = "opt.premium"
O_LOCKED = "opt.locked"
O_SETTLED = "opt.settled"

_PERP_MARKET = (P_ASSET, P_TOKEN, P_VAULT, P_FEE_BPS, P_LIQUIDATION_FEE, P_MAX_LEVERAGE, P_LOCKED)
_OPTION = (
    O_WRITER, O_HOLDER, O_ASSET, O_IS_CALL, O_STRIKE, O_EXPIRY, O_AMOUNT, O_PREMIUM, O_LOCKED,
    O_SETTLED,
)  # fmt: skip
declare_keys(
    **{name: ("market",) for name in _PERP_MARKET},
    **{name: ("market", "account", "is_long") for name in (P_SIZE, P_COLLATERAL, P_AVG_PRICE)},
    **{O_QUOTE: ("book",)},
    **{name: ("book", "option") for name in _OPTION},
)

BPS = 10_000
UNIT = 10**18


@dataclass(frozen=True, slots=True)
class IncreasePosition(Tx):
    """Open or increase a position: add collateral and size (USD notional, token units)."""

    KIND = "perp.increase"
    market: int
    is_long: bool
    collateral: int
    size: int


@dataclass(frozen=True, slots=True)
class DecreasePosition(Tx):
    """Close ``size`` of a position (all of it closes it), realising PnL pro rata."""

    KIND = "perp.decrease"
    market: int
    is_long: bool
    size: int


@dataclass(frozen=True, slots=True)
class LiquidatePosition(Tx):
    KIND = "perp.liquidate"
    market: int
    account: int
    is_long: bool


@dataclass(frozen=True, slots=True)
class WriteOption(Tx):
    KIND = "opt.write"
    book: int
    option: int
    asset: int
    is_call: bool
    strike: int  # quote-token units per whole asset unit, scaled 1e18 (as oracle prices)
    expiry: int  # timestamp
    amount: int  # asset units, 1e18 = one
    premium: int
    cap: int  # calls: the collateral locked, which caps the payout; puts: ignored


@dataclass(frozen=True, slots=True)
class BuyOption(Tx):
    KIND = "opt.buy"
    book: int
    option: int


@dataclass(frozen=True, slots=True)
class SettleOption(Tx):
    KIND = "opt.settle"
    book: int
    option: int


def _pnl(ctx: Context, size: int, avg: int, price: int, is_long: bool) -> tuple[bool, int]:
    """(has profit, |PnL|) = size * |price - avg| // avg."""
    diff = price - avg if price > avg else avg - price
    return (price > avg) == is_long and price != avg, div(ctx, mul(ctx, size, diff), avg)


def _fee(ctx: Context, market: int, size: int) -> int:
    return div(ctx, mul(ctx, size, ctx.read((P_FEE_BPS, market))), BPS)


def _market(ctx: Context, market: int) -> tuple[int, int, int]:
    """(collateral token, vault, oracle price) of a configured market."""
    token = ctx.read((P_TOKEN, market))
    ctx.require(token != 0, "perp: no such market")
    return token, ctx.read((P_VAULT, market)), oracle.price_of(ctx, ctx.read((P_ASSET, market)))


def _liquidatable(
    ctx: Context, market: int, size: int, collateral: int, avg: int, price: int, is_long: bool
) -> bool:
    """Remaining collateral after the loss and the closing fee is at most the liquidation fee."""
    profit, delta = _pnl(ctx, size, avg, price, is_long)
    if profit:
        return False
    costs = add(
        ctx, add(ctx, delta, _fee(ctx, market, size)), ctx.read((P_LIQUIDATION_FEE, market))
    )
    return collateral <= costs


def _clear(ctx: Context, key: tuple[int, int, int]) -> None:
    for name in (P_SIZE, P_COLLATERAL, P_AVG_PRICE):
        ctx.write((name, *key), 0)


@spec(IncreasePosition)
def apply_increase(tx: IncreasePosition, ctx: Context) -> None:
    token, vault, price = _market(ctx, tx.market)
    side = (tx.market, tx.sender, int(tx.is_long))
    size, held, avg = (ctx.read((n, *side)) for n in (P_SIZE, P_COLLATERAL, P_AVG_PRICE))
    erc20.move(ctx, token, tx.sender, vault, tx.collateral)
    fee = _fee(ctx, tx.market, tx.size)
    collateral = sub(ctx, add(ctx, held, tx.collateral), fee, "perp: collateral below fee")
    new_size = add(ctx, size, tx.size)
    ctx.require(new_size > 0, "perp: empty position")
    if size == 0:
        avg = price
    else:
        weighted = add(ctx, mul(ctx, size, avg), mul(ctx, tx.size, price))
        avg = div(ctx, weighted, new_size)
    ctx.require(
        new_size <= mul(ctx, collateral, ctx.read((P_MAX_LEVERAGE, tx.market))),
        "perp: max leverage exceeded",
    )
    ctx.require(
        not _liquidatable(ctx, tx.market, new_size, collateral, avg, price, tx.is_long),
        "perp: liquidatable",
    )
    ctx.write((P_SIZE, *side), new_size)
    ctx.write((P_COLLATERAL, *side), collateral)
    ctx.write((P_AVG_PRICE, *side), avg)
    locked = (P_LOCKED, tx.market)  # the sum of open positions' collateral
    ctx.write(locked, add(ctx, sub(ctx, ctx.read(locked), held), collateral))
    ctx.emit(("IncreasePosition", tx.market, tx.sender, int(tx.is_long), tx.collateral, tx.size))


@spec(DecreasePosition)
def apply_decrease(tx: DecreasePosition, ctx: Context) -> None:
    token, vault, price = _market(ctx, tx.market)
    side = (tx.market, tx.sender, int(tx.is_long))
    size, collateral, avg = (ctx.read((n, *side)) for n in (P_SIZE, P_COLLATERAL, P_AVG_PRICE))
    ctx.require(0 < tx.size <= size, "perp: invalid size")
    ctx.require(
        not _liquidatable(ctx, tx.market, size, collateral, avg, price, tx.is_long),
        "perp: liquidatable",
    )
    profit, delta = _pnl(ctx, size, avg, price, tx.is_long)
    realised = div(ctx, mul(ctx, delta, tx.size), size)
    released = div(ctx, mul(ctx, collateral, tx.size), size)
    fee = _fee(ctx, tx.market, tx.size)
    if profit:
        payout = sub(ctx, add(ctx, released, realised), fee, "perp: liquidatable")
    else:
        payout = sub(ctx, released, add(ctx, realised, fee), "perp: liquidatable")
    locked_key = (P_LOCKED, tx.market)
    locked = sub(ctx, ctx.read(locked_key), released)
    ctx.require(
        ctx.read((erc20.BAL, token, vault)) >= add(ctx, payout, locked),
        "perp: insufficient vault liquidity",
    )
    ctx.write(locked_key, locked)
    if tx.size == size:
        _clear(ctx, side)
    else:
        ctx.write((P_SIZE, *side), size - tx.size)
        ctx.write((P_COLLATERAL, *side), collateral - released)
    erc20.move(ctx, token, vault, tx.sender, payout)
    ctx.emit(("DecreasePosition", tx.market, tx.sender, int(tx.is_long), tx.size, payout))


@spec(LiquidatePosition)
def apply_liquidate(tx: LiquidatePosition, ctx: Context) -> None:
    token, vault, price = _market(ctx, tx.market)
    side = (tx.market, tx.account, int(tx.is_long))
    size, collateral, avg = (ctx.read((n, *side)) for n in (P_SIZE, P_COLLATERAL, P_AVG_PRICE))
    ctx.require(size > 0, "perp: no position")
    ctx.require(
        _liquidatable(ctx, tx.market, size, collateral, avg, price, tx.is_long),
        "perp: position not liquidatable",
    )
    _, delta = _pnl(ctx, size, avg, price, tx.is_long)
    costs = add(ctx, delta, _fee(ctx, tx.market, size))
    remaining = collateral - costs if collateral > costs else 0  # <= the liquidation fee
    locked = (P_LOCKED, tx.market)
    ctx.write(locked, sub(ctx, ctx.read(locked), collateral))
    _clear(ctx, side)
    if remaining > 0:
        erc20.move(ctx, token, vault, tx.sender, remaining)
    ctx.emit(("LiquidatePosition", tx.market, tx.account, int(tx.is_long), remaining))


def _option(ctx: Context, book: int, option: int) -> int:
    writer = ctx.read((O_WRITER, book, option))
    ctx.require(writer != 0, "options: no such option")
    return writer


@spec(WriteOption)
def apply_write(tx: WriteOption, ctx: Context) -> None:
    quote = ctx.read((O_QUOTE, tx.book))
    ctx.require(quote != 0, "options: no such book")
    ctx.require(tx.sender != 0, "options: invalid writer")
    ctx.require(ctx.read((O_WRITER, tx.book, tx.option)) == 0, "options: id in use")
    ctx.require(tx.amount > 0, "options: zero amount")
    ctx.require(tx.expiry > ctx.block.timestamp, "options: expiry in the past")
    oracle.price_of(ctx, tx.asset)  # the asset must be priced to be settled
    locked = tx.cap if tx.is_call else div(ctx, mul(ctx, tx.strike, tx.amount), UNIT)
    ctx.require(locked > 0, "options: zero collateral")
    erc20.move(ctx, quote, tx.sender, tx.book, locked)
    for name, value in (
        (O_WRITER, tx.sender),
        (O_ASSET, tx.asset),
        (O_IS_CALL, int(tx.is_call)),
        (O_STRIKE, tx.strike),
        (O_EXPIRY, tx.expiry),
        (O_AMOUNT, tx.amount),
        (O_PREMIUM, tx.premium),
        (O_LOCKED, locked),
    ):
        ctx.write((name, tx.book, tx.option), value)
    ctx.emit(("OptionWritten", tx.book, tx.option, tx.sender, locked))


@spec(BuyOption)
def apply_buy(tx: BuyOption, ctx: Context) -> None:
    writer = _option(ctx, tx.book, tx.option)
    ctx.require(ctx.read((O_HOLDER, tx.book, tx.option)) == 0, "options: already sold")
    ctx.require(ctx.block.timestamp < ctx.read((O_EXPIRY, tx.book, tx.option)), "options: expired")
    ctx.require(tx.sender != writer, "options: writer cannot buy")
    premium = ctx.read((O_PREMIUM, tx.book, tx.option))
    erc20.move(ctx, ctx.read((O_QUOTE, tx.book)), tx.sender, writer, premium)
    ctx.write((O_HOLDER, tx.book, tx.option), tx.sender)
    ctx.emit(("OptionBought", tx.book, tx.option, tx.sender, premium))


def payout_of(ctx: Context, is_call: int, strike: int, price: int, amount: int, locked: int) -> int:
    """Cash settlement: max(S-K, 0) (call) or max(K-S, 0) (put) per unit, capped by the lock."""
    intrinsic = (
        (price - strike if price > strike else 0)
        if is_call
        else (strike - price if strike > price else 0)
    )
    payout = div(ctx, mul(ctx, intrinsic, amount), UNIT)
    return locked if payout > locked else payout


@spec(SettleOption)
def apply_settle(tx: SettleOption, ctx: Context) -> None:
    book, option = tx.book, tx.option
    writer = _option(ctx, book, option)
    ctx.require(ctx.read((O_SETTLED, book, option)) == 0, "options: already settled")
    ctx.require(ctx.block.timestamp >= ctx.read((O_EXPIRY, book, option)), "options: not expired")
    price = oracle.price_of(ctx, ctx.read((O_ASSET, book, option)))
    locked = ctx.read((O_LOCKED, book, option))
    holder = ctx.read((O_HOLDER, book, option))
    payout = 0
    if holder != 0:
        payout = payout_of(
            ctx,
            ctx.read((O_IS_CALL, book, option)),
            ctx.read((O_STRIKE, book, option)),
            price,
            ctx.read((O_AMOUNT, book, option)),
            locked,
        )
    ctx.write((O_SETTLED, book, option), 1)
    quote = ctx.read((O_QUOTE, book))
    if payout > 0:
        erc20.move(ctx, quote, book, holder, payout)
    if locked > payout:
        erc20.move(ctx, quote, book, writer, locked - payout)
    ctx.emit(("OptionSettled", book, option, price, payout, locked - payout))


def genesis_perp_market(
    market: int,
    *,
    asset: int,
    token: int,
    vault: int,
    fee_bps: int = 10,
    liquidation_fee: int = 5 * UNIT,
    max_leverage: int = 50,
) -> dict[Key, int]:
    """A perpetuals market; fund its vault's liquidity with ERC-20 balances of ``vault``."""
    if 0 in (asset, token, vault):
        raise ValueError("genesis_perp_market: asset, token and vault must be non-zero")
    return {
        (P_ASSET, market): asset,
        (P_TOKEN, market): token,
        (P_VAULT, market): vault,
        (P_FEE_BPS, market): fee_bps,
        (P_LIQUIDATION_FEE, market): liquidation_fee,
        (P_MAX_LEVERAGE, market): max_leverage,
    }


def genesis_option_book(book: int, quote_token: int) -> dict[Key, int]:
    if book == 0 or quote_token == 0:
        raise ValueError("genesis_option_book: book and quote token must be non-zero")
    return {(O_QUOTE, book): quote_token}
