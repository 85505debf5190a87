"""SushiSwap's MasterChef: liquidity mining with ``accRewardPerShare`` scaled by 1e12.

Each chef (identified by its address, which holds the staked LP tokens and the minted rewards as
ERC-20 balances) has pools with allocation points; rewards accrue per block and are minted only
while a pool has stake. Integer semantics are MasterChef's: floor divisions, ``rewardDebt``,
``safeSushiTransfer`` paying at most what the chef holds. Left out: the 10% dev-fund mint and the
bonus multiplier (neither changes any engine property), and ``add``/``set``, whose
``massUpdatePools`` loops over every pool: pools are configured at genesis (``genesis_pool``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import erc20
from .context import Context, Key
from .tx import Tx, declare_keys, spec
from .uint import add, div, mul, sub

REWARD_TOKEN = "stake.reward_token"
REWARD_PER_BLOCK = "stake.reward_per_block"
TOTAL_ALLOC = "stake.total_alloc"
LP_TOKEN = "stake.lp_token"
ALLOC = "stake.alloc"
LAST_REWARD_BLOCK = "stake.last_reward_block"
ACC_PER_SHARE = "stake.acc_per_share"
AMOUNT = "stake.amount"
REWARD_DEBT = "stake.reward_debt"

declare_keys(
    **{
        REWARD_TOKEN: ("chef",),
        REWARD_PER_BLOCK: ("chef",),
        TOTAL_ALLOC: ("chef",),
        LP_TOKEN: ("chef", "pool"),
        ALLOC: ("chef", "pool"),
        LAST_REWARD_BLOCK: ("chef", "pool"),
        ACC_PER_SHARE: ("chef", "pool"),
        AMOUNT: ("chef", "pool", "user"),
        REWARD_DEBT: ("chef", "pool", "user"),
    }
)

ACC_PRECISION = 10**12


@dataclass(frozen=True, slots=True)
class Deposit(Tx):
    KIND = "stake.deposit"
    chef: int
    pool: int
    amount: int


@dataclass(frozen=True, slots=True)
class Withdraw(Tx):
    KIND = "stake.withdraw"
    chef: int
    pool: int
    amount: int


@dataclass(frozen=True, slots=True)
class Harvest(Tx):
    """MasterChef harvests with ``deposit(pid, 0)``; a named transaction reads better."""

    KIND = "stake.harvest"
    chef: int
    pool: int


@dataclass(frozen=True, slots=True)
class EmergencyWithdraw(Tx):
    KIND = "stake.emergency_withdraw"
    chef: int
    pool: int


@dataclass(frozen=True, slots=True)
class UpdatePool(Tx):
    KIND = "stake.update_pool"
    chef: int
    pool: int


def update_pool(ctx: Context, chef: int, pool: int) -> int:
    """MasterChef.updatePool; returns the pool's LP token. Nothing is minted while it is empty."""
    lp_token = ctx.read((LP_TOKEN, chef, pool))
    ctx.require(lp_token != 0, "MasterChef: no such pool")
    number = ctx.block.number
    last = ctx.read((LAST_REWARD_BLOCK, chef, pool))
    if number <= last:
        return lp_token
    lp_supply = ctx.read((erc20.BAL, lp_token, chef))
    if lp_supply == 0:
        ctx.write((LAST_REWARD_BLOCK, chef, pool), number)
        return lp_token
    multiplier = number - last
    reward = div(
        ctx,
        mul(
            ctx,
            mul(ctx, multiplier, ctx.read((REWARD_PER_BLOCK, chef))),
            ctx.read((ALLOC, chef, pool)),
        ),
        ctx.read((TOTAL_ALLOC, chef)),
    )
    erc20.mint(ctx, ctx.read((REWARD_TOKEN, chef)), chef, reward)
    acc_key = (ACC_PER_SHARE, chef, pool)
    ctx.write(
        acc_key, add(ctx, ctx.read(acc_key), div(ctx, mul(ctx, reward, ACC_PRECISION), lp_supply))
    )
    ctx.write((LAST_REWARD_BLOCK, chef, pool), number)
    return lp_token


def _accrued(ctx: Context, amount: int, acc: int) -> int:
    return div(ctx, mul(ctx, amount, acc), ACC_PRECISION)


def _pay_pending(ctx: Context, chef: int, pool: int, user: int, amount: int, acc: int) -> None:
    """Pay the user's pending reward with safeSushiTransfer: at most what the chef holds."""
    if amount == 0:
        return
    pending = sub(ctx, _accrued(ctx, amount, acc), ctx.read((REWARD_DEBT, chef, pool, user)))
    token = ctx.read((REWARD_TOKEN, chef))
    held = ctx.read((erc20.BAL, token, chef))
    paid = held if pending > held else pending
    if paid > 0:
        erc20.move(ctx, token, chef, user, paid)


def deposit(ctx: Context, chef: int, pool: int, user: int, amount: int) -> None:
    """MasterChef.deposit (``amount`` 0 harvests)."""
    lp_token = update_pool(ctx, chef, pool)
    acc = ctx.read((ACC_PER_SHARE, chef, pool))
    amount_key = (AMOUNT, chef, pool, user)
    staked = ctx.read(amount_key)
    _pay_pending(ctx, chef, pool, user, staked, acc)
    erc20.move(ctx, lp_token, user, chef, amount)
    staked = add(ctx, staked, amount)
    ctx.write(amount_key, staked)
    ctx.write((REWARD_DEBT, chef, pool, user), _accrued(ctx, staked, acc))
    ctx.emit(("Deposit", chef, pool, user, amount))


@spec(Deposit)
def apply_deposit(tx: Deposit, ctx: Context) -> None:
    deposit(ctx, tx.chef, tx.pool, tx.sender, tx.amount)


@spec(Harvest)
def apply_harvest(tx: Harvest, ctx: Context) -> None:
    deposit(ctx, tx.chef, tx.pool, tx.sender, 0)


@spec(Withdraw)
def apply_withdraw(tx: Withdraw, ctx: Context) -> None:
    amount_key = (AMOUNT, tx.chef, tx.pool, tx.sender)
    staked = ctx.read(amount_key)
    ctx.require(staked >= tx.amount, "withdraw: not good")
    lp_token = update_pool(ctx, tx.chef, tx.pool)
    acc = ctx.read((ACC_PER_SHARE, tx.chef, tx.pool))
    _pay_pending(ctx, tx.chef, tx.pool, tx.sender, staked, acc)
    staked -= tx.amount
    ctx.write(amount_key, staked)
    ctx.write((REWARD_DEBT, tx.chef, tx.pool, tx.sender), _accrued(ctx, staked, acc))
    erc20.move(ctx, lp_token, tx.chef, tx.sender, tx.amount)
    ctx.emit(("Withdraw", tx.chef, tx.pool, tx.sender, tx.amount))


@spec(EmergencyWithdraw)
def apply_emergency_withdraw(tx: EmergencyWithdraw, ctx: Context) -> None:
    """Take the stake back, forfeiting rewards (no pool update)."""
    lp_token = ctx.read((LP_TOKEN, tx.chef, tx.pool))
    ctx.require(lp_token != 0, "MasterChef: no such pool")
    amount_key = (AMOUNT, tx.chef, tx.pool, tx.sender)
    staked = ctx.read(amount_key)
    ctx.write(amount_key, 0)
    ctx.write((REWARD_DEBT, tx.chef, tx.pool, tx.sender), 0)
    erc20.move(ctx, lp_token, tx.chef, tx.sender, staked)
    ctx.emit(("EmergencyWithdraw", tx.chef, tx.pool, tx.sender, staked))


@spec(UpdatePool)
def apply_update_pool(tx: UpdatePool, ctx: Context) -> None:
    update_pool(ctx, tx.chef, tx.pool)


def genesis_chef(chef: int, reward_token: int, reward_per_block: int) -> dict[Key, int]:
    """A chef that mints ``reward_token`` (give it no other minter's supply accounting)."""
    return {(REWARD_TOKEN, chef): reward_token, (REWARD_PER_BLOCK, chef): reward_per_block}


def genesis_pools(
    chef: int, pools: dict[int, tuple[int, int]], start_block: int = 0
) -> dict[Key, int]:
    """Pools of a chef: ``{pool id: (lp token, alloc points)}``, one pool per LP token."""
    lp_tokens = [lp for lp, _ in pools.values()]
    if len(set(lp_tokens)) != len(lp_tokens) or 0 in lp_tokens:
        raise ValueError("genesis_pools: each pool needs its own non-zero LP token")
    state: dict[Key, int] = {(TOTAL_ALLOC, chef): sum(alloc for _, alloc in pools.values())}
    for pool, (lp_token, alloc) in pools.items():
        state[(LP_TOKEN, chef, pool)] = lp_token
        state[(ALLOC, chef, pool)] = alloc
        state[(LAST_REWARD_BLOCK, chef, pool)] = start_block
    return state
