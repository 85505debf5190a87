"""ERC-20 tokens with OpenZeppelin's semantics and revert reasons.

Balances, allowances and supply are separate keys so that two transfers between disjoint accounts
never conflict. Each token has an admin who alone may mint and burn.
"""

from __future__ import annotations

from dataclasses import dataclass

from .context import Context
from .tx import Tx, declare_keys, spec
from .uint import MAX_UINT256, add

ZERO_ADDRESS = 0

BAL = "erc20.bal"
ALLOWANCE = "erc20.allowance"
SUPPLY = "erc20.supply"
ADMIN = "erc20.admin"

declare_keys(
    **{
        BAL: ("token", "account"),
        ALLOWANCE: ("token", "owner", "spender"),
        SUPPLY: ("token",),
        ADMIN: ("token",),
    }
)


@dataclass(frozen=True, slots=True)
class Transfer(Tx):
    KIND = "erc20.transfer"
    token: int
    to: int
    amount: int


@dataclass(frozen=True, slots=True)
class Approve(Tx):
    KIND = "erc20.approve"
    token: int
    spender: int
    amount: int


@dataclass(frozen=True, slots=True)
class TransferFrom(Tx):
    KIND = "erc20.transfer_from"
    token: int
    owner: int
    to: int
    amount: int


@dataclass(frozen=True, slots=True)
class Mint(Tx):
    KIND = "erc20.mint"
    token: int
    to: int
    amount: int


@dataclass(frozen=True, slots=True)
class Burn(Tx):
    KIND = "erc20.burn"
    token: int
    account: int
    amount: int


def move(ctx: Context, token: int, frm: int, to: int, amount: int) -> None:
    """OpenZeppelin ``_transfer``: the one place balances move between accounts.

    The receiver is read *after* the sender is debited, so a self-transfer reads its own write
    and conserves (reading both first and writing both last would mint ``amount``).
    """
    ctx.require(frm != ZERO_ADDRESS, "ERC20: transfer from the zero address")
    ctx.require(to != ZERO_ADDRESS, "ERC20: transfer to the zero address")
    from_key = (BAL, token, frm)
    from_balance = ctx.read(from_key)
    ctx.require(from_balance >= amount, "ERC20: transfer amount exceeds balance")
    ctx.write(from_key, from_balance - amount)
    to_key = (BAL, token, to)
    # Cannot overflow: the sum of all balances is the total supply, itself a uint256.
    ctx.write(to_key, ctx.read(to_key) + amount)
    ctx.emit(("Transfer", token, frm, to, amount))


def approve(ctx: Context, token: int, owner: int, spender: int, amount: int) -> None:
    """OpenZeppelin ``_approve``: overwrite the allowance (no increase/decrease semantics)."""
    ctx.require(owner != ZERO_ADDRESS, "ERC20: approve from the zero address")
    ctx.require(spender != ZERO_ADDRESS, "ERC20: approve to the zero address")
    ctx.write((ALLOWANCE, token, owner, spender), amount)
    ctx.emit(("Approval", token, owner, spender, amount))


def spend_allowance(ctx: Context, token: int, owner: int, spender: int, amount: int) -> None:
    """OpenZeppelin ``_spendAllowance``: an allowance of 2**256-1 is infinite and never shrinks."""
    current = ctx.read((ALLOWANCE, token, owner, spender))
    if current != MAX_UINT256:
        ctx.require(current >= amount, "ERC20: insufficient allowance")
        approve(ctx, token, owner, spender, current - amount)


def mint(ctx: Context, token: int, to: int, amount: int) -> None:
    """OpenZeppelin ``_mint``: supply is checked, so no balance can overflow afterwards."""
    ctx.require(to != ZERO_ADDRESS, "ERC20: mint to the zero address")
    supply_key = (SUPPLY, token)
    ctx.write(supply_key, add(ctx, ctx.read(supply_key), amount))
    to_key = (BAL, token, to)
    ctx.write(to_key, ctx.read(to_key) + amount)
    ctx.emit(("Transfer", token, ZERO_ADDRESS, to, amount))


def burn(ctx: Context, token: int, account: int, amount: int) -> None:
    """OpenZeppelin ``_burn``."""
    ctx.require(account != ZERO_ADDRESS, "ERC20: burn from the zero address")
    key = (BAL, token, account)
    balance = ctx.read(key)
    ctx.require(balance >= amount, "ERC20: burn amount exceeds balance")
    ctx.write(key, balance - amount)
    supply_key = (SUPPLY, token)
    ctx.write(supply_key, ctx.read(supply_key) - amount)
    ctx.emit(("Transfer", token, account, ZERO_ADDRESS, amount))


def only_admin(ctx: Context, token: int, caller: int) -> None:
    """A token without an admin (0) has a fixed supply: nobody, not even address 0, may mint."""
    admin = ctx.read((ADMIN, token))
    ctx.require(admin != ZERO_ADDRESS, "ERC20: token has no admin")
    ctx.require(admin == caller, "ERC20: caller is not the token admin")


@spec(Transfer)
def apply_transfer(tx: Transfer, ctx: Context) -> None:
    move(ctx, tx.token, tx.sender, tx.to, tx.amount)


@spec(Approve)
def apply_approve(tx: Approve, ctx: Context) -> None:
    approve(ctx, tx.token, tx.sender, tx.spender, tx.amount)


@spec(TransferFrom)
def apply_transfer_from(tx: TransferFrom, ctx: Context) -> None:
    spend_allowance(ctx, tx.token, tx.owner, tx.sender, tx.amount)
    move(ctx, tx.token, tx.owner, tx.to, tx.amount)


@spec(Mint)
def apply_mint(tx: Mint, ctx: Context) -> None:
    only_admin(ctx, tx.token, tx.sender)
    mint(ctx, tx.token, tx.to, tx.amount)


@spec(Burn)
def apply_burn(tx: Burn, ctx: Context) -> None:
    only_admin(ctx, tx.token, tx.sender)
    burn(ctx, tx.token, tx.account, tx.amount)
