"""A price oracle shared by lending, perpetuals and options: one key per asset, one updater.

Prices are USD per whole unit scaled by 1e18 (Compound's mantissa convention). A price update is
a realistic hot key: every position check of that asset reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .context import Context
from .tx import Tx, declare_keys, spec

PRICE = "oracle.price"
ADMIN = "oracle.admin"
SCALE = 10**18

declare_keys(**{PRICE: ("asset",), ADMIN: ()})


@dataclass(frozen=True, slots=True)
class SetPrice(Tx):
    KIND = "oracle.set_price"
    asset: int
    price: int


def price_of(ctx: Context, asset: int) -> int:
    """The asset's price; an asset never priced reverts rather than being worth 0."""
    price = ctx.read((PRICE, asset))
    ctx.require(price != 0, "oracle: no price")
    return price


@spec(SetPrice)
def apply_set_price(tx: SetPrice, ctx: Context) -> None:
    admin = ctx.read((ADMIN,))
    ctx.require(admin != 0 and tx.sender == admin, "oracle: caller is not the oracle admin")
    ctx.require(tx.price != 0, "oracle: zero price")
    ctx.write((PRICE, tx.asset), tx.price)
    ctx.emit(("PriceUpdated", tx.asset, tx.price))
