"""The spec's entry point: apply one transaction, fee first, through whatever ``ctx`` is given.

Importing this module registers every protocol's transactions, so ``TX_TYPES`` is complete.
"""

from __future__ import annotations

from . import amm, derivatives, erc20, governance, lending, oracle, staking  # noqa: F401
from .context import Context
from .tx import SPEC, Tx, spec_of

__all__ = ["execute_tx"]


def charge_fee(tx: Tx, ctx: Context) -> None:
    """The block's per-transaction fee, paid by the sender before its transaction runs."""
    env = ctx.block
    if env.fee:
        erc20.move(ctx, env.fee_token, tx.sender, env.fee_recipient, env.fee)


def execute_tx(tx: Tx, ctx: Context) -> None:
    """Charge the block's per-transaction fee, then apply ``tx``. Raises ``Revert`` to revert."""
    charge_fee(tx, ctx)
    fn = SPEC.get(type(tx))
    if fn is None:
        fn = spec_of(tx)  # raises a clear UnknownTransaction
    fn(tx, ctx)
