"""The benchmark's named workloads: Block-STM's contention sweep, ERC-20 and a DeFi mix.

Each comes with and without a fee that every transaction pays to one recipient (the classic hot
key: it makes every pair of transactions conflict). Workloads are seeded, so a name, a size and
a seed rebuild the same transactions; blocks hold at most 1,000 transactions, the Block-STM
paper's smaller block size.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from txlanes.models import amm, erc20, lending, staking
from txlanes.models import world as w
from txlanes.models.context import BlockEnv
from txlanes.models.generate import transfers
from txlanes.models.tx import Tx
from txlanes.models.workload import Block, Workload
from txlanes.models.world import World

BLOCK_SIZE = 1_000
#: The fee every transaction pays in the ``+fee`` variants.
FEE = 1
#: The sweep's account counts (Block-STM's: 2 accounts is fully serial, 10,000 nearly free).
SWEEP = (2, 10, 100, 1_000, 10_000)
#: Accounts of the ERC-20 and DeFi workloads.
ACCOUNTS = 1_000
#: The share of swaps that go to the hot pool.
HOT_POOL = 0.8


@dataclass(frozen=True)
class Spec:
    """A named workload: how to build ``txs`` transactions of it from a seed."""

    name: str
    description: str
    #: accounts, for plotting speedup against contention (fewer accounts: more conflicts)
    accounts: int
    build: Callable[[int, int], Workload]  # (txs, seed) → workload
    fee: bool = False


def _transfers(accounts: int, fee: int) -> Callable[[int, int], Workload]:
    return lambda txs, seed: transfers(
        txs=txs, accounts=accounts, seed=seed, block_size=BLOCK_SIZE, fee=fee
    )


def _in_world(
    pick: Callable[[random.Random, World], Tx], fee: int
) -> Callable[[int, int], Workload]:
    """Workloads on the checker's world (every protocol deployed), one pick per transaction."""

    def build(txs: int, seed: int) -> Workload:
        world = World(ACCOUNTS)
        rng = random.Random(seed)
        chosen = [pick(rng, world) for _ in range(txs)]
        fees = {"fee_recipient": world.hot, "fee_token": w.TOKENS[0], "fee": fee} if fee else {}
        blocks = [
            Block(tuple(chosen[i : i + BLOCK_SIZE]), BlockEnv(2 + i // BLOCK_SIZE, 12, **fees))
            for i in range(0, txs, BLOCK_SIZE)
        ]
        return Workload(world.genesis(), blocks)

    return build


def _account(rng: random.Random, world: World) -> int:
    return rng.choice(world.account_ids())


def _erc20(rng: random.Random, world: World) -> Tx:
    """Transfers of three tokens, one in five an approval (which never conflicts)."""
    token = rng.choice(w.TOKENS)
    if rng.random() < 0.2:
        return erc20.Approve(_account(rng, world), token, _account(rng, world), rng.randint(1, 99))
    return erc20.Transfer(_account(rng, world), token, _account(rng, world), rng.randint(1, 99))


def _defi(rng: random.Random, world: World) -> Tx:
    """Swaps (most on the hot pool), lending and staking, sized so that nearly all succeed."""
    who, roll = _account(rng, world), rng.random()
    if roll < 0.5:
        pairs = list(w.PAIRS.values())
        token_in, token_out = pairs[0] if rng.random() < HOT_POOL else pairs[1]
        if rng.random() < 0.5:
            token_in, token_out = token_out, token_in
        return amm.SwapExactIn(who, token_in, token_out, rng.randint(1, 1_000), 0, who)
    if roll < 0.75:
        market = rng.choice(list(w.MARKETS))
        active = w.FIRST_ACCOUNT + rng.randrange(w.ACTIVE_ACCOUNTS)  # they hold collateral
        if rng.random() < 0.5:
            return lending.Borrow(active, market, rng.randint(1, 100))
        return lending.Supply(who, market, rng.randint(1, 1_000))
    pool = rng.choice(list(w.STAKING_POOLS))
    if rng.random() < 0.5:
        return staking.Deposit(who, w.CHEF, pool, rng.randint(1, 100))
    return staking.Harvest(w.FIRST_ACCOUNT + rng.randrange(w.ACTIVE_ACCOUNTS), w.CHEF, pool)


def _specs() -> dict[str, Spec]:
    specs: list[Spec] = []
    for fee in (0, FEE):
        suffix, note = ("+fee", ", every tx paying a fee to one recipient") if fee else ("", "")
        specs += [
            Spec(
                f"transfers-{n}{suffix}",
                f"transfers among {n:,} accounts{note}",
                n,
                _transfers(n, fee),
                bool(fee),
            )
            for n in SWEEP
        ]
        specs += [
            Spec(
                f"erc20{suffix}",
                f"ERC-20 transfers and approvals of 3 tokens among {ACCOUNTS:,} accounts{note}",
                ACCOUNTS,
                _in_world(_erc20, fee),
                bool(fee),
            ),
            Spec(
                f"defi{suffix}",
                f"swaps ({HOT_POOL:.0%} on one hot pool), lending and staking among "
                f"{ACCOUNTS:,} accounts{note}",
                ACCOUNTS,
                _in_world(_defi, fee),
                bool(fee),
            ),
        ]
    return {s.name: s for s in specs}


#: Every named workload, by name.
WORKLOADS = _specs()
