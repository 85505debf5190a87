"""Seeded bugs in the spec itself, which the proofs must refute with a counterexample.

Each is an ``apply`` function (the spec's entry point, ``execute_tx``, with one operation
changed) that ``Prover(apply=...)`` proves against.
"""

from __future__ import annotations

from collections.abc import Callable

from txlanes.models import amm, erc20
from txlanes.models.context import Context
from txlanes.models.spec import execute_tx
from txlanes.models.tx import Tx


def _transfer_reads_both_first(tx: Tx, ctx: Context) -> None:
    """A transfer that reads the receiver before debiting the sender: mints on a self-transfer."""
    if not isinstance(tx, erc20.Transfer):
        execute_tx(tx, ctx)
        return
    ctx.require(tx.sender != 0 and tx.to != 0, "ERC20: zero address")
    frm, to = (erc20.BAL, tx.token, tx.sender), (erc20.BAL, tx.token, tx.to)
    from_balance, to_balance = ctx.read(frm), ctx.read(to)
    ctx.require(from_balance >= tx.amount, "ERC20: transfer amount exceeds balance")
    ctx.write(frm, from_balance - tx.amount)
    ctx.write(to, to_balance + tx.amount)


def _burn_forgets_supply(tx: Tx, ctx: Context) -> None:
    """A burn that lowers the balance but not the total supply."""
    if not isinstance(tx, erc20.Burn):
        execute_tx(tx, ctx)
        return
    erc20.only_admin(ctx, tx.token, tx.sender)
    key = (erc20.BAL, tx.token, tx.account)
    balance = ctx.read(key)
    ctx.require(balance >= tx.amount, "ERC20: burn amount exceeds balance")
    ctx.write(key, balance - tx.amount)


def _fee_floored(ctx: Context, balance: int, amount_in: int) -> int:
    """The 0.3% fee floored to whole token units before scaling: in the trader's favour."""
    return (balance - amount_in * 3 // 1000) * 1000


def _with_fee_floored(tx: Tx, ctx: Context) -> None:
    """The spec with UniswapV2Pair's fee adjustment rounded wrongly (one helper swapped)."""
    exact = amm.fee_adjusted
    amm.fee_adjusted = _fee_floored
    try:
        execute_tx(tx, ctx)
    finally:
        amm.fee_adjusted = exact


#: name → (the operation it breaks, the property that must refute it, the mutated entry point)
SPEC_MUTANTS: dict[str, tuple[str, str, Callable[[Tx, Context], None]]] = {
    "transfer-reads-receiver-first": ("erc20.transfer", "conservation", _transfer_reads_both_first),
    "burn-forgets-supply": ("erc20.burn", "conservation", _burn_forgets_supply),
    "amm-fee-floored": ("amm.pair_swap", "amm-fee-k", _with_fee_floored),
}
