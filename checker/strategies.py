"""Hypothesis strategies for DeFi workloads — the public way to generate engine inputs.

In the style Hypothesis asks of its extensions: functions that return strategies, keyword-only
arguments, validated eagerly with ``InvalidArgument``. The knobs are those of real chains:
how many accounts (Block-STM's contention sweep runs from 2 to 10,000), a hot account that a
fraction of transactions touch (a fee recipient, a popular pool), Zipf skew over contracts, the
mix of transaction types, and block size. Blocks are lists, so a failing block shrinks to the few
transactions that matter; amounts shrink towards 0 and choices towards the first option.
Every workload starts from :class:`~txlanes.models.world.World`'s genesis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from txlanes.models import amm, derivatives, erc20, governance, lending, oracle, staking
from txlanes.models import world as w
from txlanes.models.context import BlockEnv
from txlanes.models.tx import Tx
from txlanes.models.workload import Block, Workload
from txlanes.models.world import World


@dataclass(frozen=True)
class _Pick:
    """Choices that follow the world's knobs; all shrink towards the first option."""

    world: World

    def account(self) -> st.SearchStrategy[int]:
        return st.integers(0, self.world.accounts - 1).map(lambda i: w.FIRST_ACCOUNT + i)

    def counterparty(self) -> st.SearchStrategy[int]:
        """Usually a random account; the hot account with probability ``hot_fraction``."""
        hot = self.world.hot_fraction
        if hot <= 0:
            return self.account()
        return st.tuples(st.integers(0, 999), self.account()).map(
            lambda t: self.world.hot if t[0] < hot * 1000 else t[1]
        )

    def index(self, count: int) -> st.SearchStrategy[int]:
        """An index in range(count), Zipf-skewed: index 0 is the most popular."""
        s = self.world.zipf
        if s <= 0 or count == 1:
            return st.integers(0, count - 1)
        weights = [1 / (i + 1) ** s for i in range(count)]
        bounds = [sum(weights[: i + 1]) / sum(weights) * 10_000 for i in range(count)]
        return st.integers(0, 9_999).map(lambda u: next(i for i, b in enumerate(bounds) if u < b))

    def token(self) -> st.SearchStrategy[int]:
        return self.index(len(w.TOKENS)).map(lambda i: w.TOKENS[i])

    def pair(self) -> st.SearchStrategy[tuple[int, int, int]]:
        """(pair, token in, token out), in either direction."""
        pairs = list(w.PAIRS.items())
        return st.tuples(self.index(len(pairs)), st.booleans()).map(
            lambda t: (pairs[t[0]][0], *(pairs[t[0]][1][::-1] if t[1] else pairs[t[0]][1]))
        )

    def market(self) -> st.SearchStrategy[int]:
        return self.index(len(w.MARKETS))

    @staticmethod
    def amount() -> st.SearchStrategy[int]:
        """Amounts around the balances, where reverts flip: 0, small, near and above balance."""
        return st.one_of(
            st.integers(0, w.BALANCE // 2),
            st.sampled_from([w.BALANCE - 1, w.BALANCE, w.BALANCE + 1, 2 * w.BALANCE]),
        )


TxStrategy = Callable[[_Pick], st.SearchStrategy[Tx]]


def _pair_tx(build: Callable[[int, tuple[int, int, int], int], Tx]) -> TxStrategy:
    return lambda p: st.builds(build, p.account(), p.pair(), p.amount())


#: kind → how to generate one transaction of that kind in the world.
GENERATORS: dict[str, TxStrategy] = {
    "erc20.transfer": lambda p: st.builds(
        erc20.Transfer, p.account(), p.token(), p.counterparty(), p.amount()
    ),
    "erc20.approve": lambda p: st.builds(
        erc20.Approve, p.account(), p.token(), p.counterparty(), p.amount()
    ),
    "erc20.transfer_from": lambda p: st.builds(
        erc20.TransferFrom, p.account(), p.token(), p.account(), p.counterparty(), p.amount()
    ),
    "erc20.mint": lambda p: st.builds(
        erc20.Mint, st.just(w.ADMIN), p.token(), p.counterparty(), p.amount()
    ),
    "erc20.burn": lambda p: st.builds(
        erc20.Burn, st.just(w.ADMIN), p.token(), p.account(), p.amount()
    ),
    "oracle.set_price": lambda p: st.builds(
        lambda token, k: oracle.SetPrice(w.ADMIN, token, w.PRICES[token] * k // 4),
        p.token(),
        st.integers(1, 8),
    ),
    "amm.create_pair": lambda p: st.builds(
        amm.CreatePair,
        p.account(),
        st.sampled_from([*w.TOKENS, w.REWARD_TOKEN]),
        st.sampled_from([*w.TOKENS, w.REWARD_TOKEN]),
        st.sampled_from([2_002, 2_003, 2_000]),
    ),
    "amm.add_liquidity": lambda p: st.builds(
        lambda who, pair, a, b: amm.AddLiquidity(who, pair[1], pair[2], a, b, 0, 0, who),
        p.account(),
        p.pair(),
        p.amount(),
        p.amount(),
    ),
    "amm.remove_liquidity": _pair_tx(
        lambda who, pair, x: amm.RemoveLiquidity(who, pair[1], pair[2], x // 4, 0, 0, who)
    ),
    "amm.swap_exact_in": lambda p: st.builds(
        lambda who, pair, x, to: amm.SwapExactIn(who, pair[1], pair[2], x, 0, to),
        p.account(),
        p.pair(),
        p.amount(),
        p.counterparty(),
    ),
    "amm.swap_exact_out": lambda p: st.builds(
        lambda who, pair, x, to: amm.SwapExactOut(who, pair[1], pair[2], x // 4, 2**128, to),
        p.account(),
        p.pair(),
        p.amount(),
        p.counterparty(),
    ),
    "amm.pair_swap": lambda p: st.builds(
        lambda who, pair, x, y: amm.PairSwap(who, pair[0], x, 0, 0, y // 2, who),
        p.account(),
        p.pair(),
        p.amount(),
        p.amount(),
    ),
    "amm.sync": lambda p: st.builds(amm.Sync, p.account(), p.pair().map(lambda t: t[0])),
    "lend.enter_market": lambda p: st.builds(lending.EnterMarket, p.account(), p.market()),
    "lend.exit_market": lambda p: st.builds(lending.ExitMarket, p.account(), p.market()),
    "lend.supply": lambda p: st.builds(lending.Supply, p.account(), p.market(), p.amount()),
    "lend.redeem": lambda p: st.builds(
        lending.Redeem, p.account(), p.market(), p.amount().map(lambda x: x * 50)
    ),
    "lend.borrow": lambda p: st.builds(lending.Borrow, p.account(), p.market(), p.amount()),
    "lend.repay": lambda p: st.builds(
        lending.RepayBorrow, p.account(), p.market(), p.counterparty(), p.amount()
    ),
    "lend.liquidate": lambda p: st.builds(
        lending.Liquidate,
        p.account(),
        p.market(),
        p.counterparty(),
        p.amount().map(lambda x: x // 4),
        p.market(),
    ),
    "stake.deposit": lambda p: st.builds(
        staking.Deposit, p.account(), st.just(w.CHEF), p.index(2), p.amount()
    ),
    "stake.withdraw": lambda p: st.builds(
        staking.Withdraw, p.account(), st.just(w.CHEF), p.index(2), p.amount()
    ),
    "stake.harvest": lambda p: st.builds(staking.Harvest, p.account(), st.just(w.CHEF), p.index(2)),
    "stake.emergency_withdraw": lambda p: st.builds(
        staking.EmergencyWithdraw, p.account(), st.just(w.CHEF), p.index(2)
    ),
    "stake.update_pool": lambda p: st.builds(
        staking.UpdatePool, p.account(), st.just(w.CHEF), p.index(2)
    ),
    "perp.increase": lambda p: st.builds(
        lambda who, long, c, k: derivatives.IncreasePosition(who, w.PERP_MARKET, long, c, c * k),
        p.account(),
        st.booleans(),
        p.amount().map(lambda x: x // 10),
        st.integers(0, 25),
    ),
    "perp.decrease": lambda p: st.builds(
        derivatives.DecreasePosition,
        p.account(),
        st.just(w.PERP_MARKET),
        st.booleans(),
        p.amount(),
    ),
    "perp.liquidate": lambda p: st.builds(
        derivatives.LiquidatePosition,
        p.account(),
        st.just(w.PERP_MARKET),
        p.counterparty(),
        st.booleans(),
    ),
    "opt.write": lambda p: st.builds(
        lambda who, option, call, k, expiry, x: derivatives.WriteOption(
            who,
            w.OPTION_BOOK,
            option,
            w.PERP_ASSET,
            call,
            w.PRICES[w.PERP_ASSET] * k // 4,
            expiry,
            10**18,
            x // 100,
            x // 10,
        ),
        p.account(),
        st.integers(3, 5),
        st.booleans(),
        st.integers(1, 8),
        st.integers(0, 60),
        p.amount(),
    ),
    "opt.buy": lambda p: st.builds(
        derivatives.BuyOption, p.account(), st.just(w.OPTION_BOOK), st.integers(1, 5)
    ),
    "opt.settle": lambda p: st.builds(
        derivatives.SettleOption, p.account(), st.just(w.OPTION_BOOK), st.integers(1, 5)
    ),
    "gov.deposit": lambda p: st.builds(
        governance.DepositVotes, p.account(), st.just(w.GOVERNOR), p.amount()
    ),
    "gov.withdraw": lambda p: st.builds(
        governance.WithdrawVotes, p.account(), st.just(w.GOVERNOR), p.amount()
    ),
    "gov.propose": lambda p: st.builds(
        lambda who, proposal, to, x: governance.Propose(
            who, w.GOVERNOR, proposal, w.TREASURY_TOKEN, to, x
        ),
        p.account(),
        st.integers(3, 4),
        p.counterparty(),
        p.amount(),
    ),
    "gov.cast_vote": lambda p: st.builds(
        governance.CastVote,
        p.account(),
        st.just(w.GOVERNOR),
        st.integers(1, 4),
        st.integers(0, 3),
    ),
    "gov.execute": lambda p: st.builds(
        governance.Execute, p.account(), st.just(w.GOVERNOR), st.integers(1, 5)
    ),
    "gov.cancel": lambda p: st.builds(
        governance.Cancel, p.account(), st.just(w.GOVERNOR), st.integers(1, 5)
    ),
}


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(f"{name}={value!r} must be an integer in [{low}, {high}]")
    return value


def _check_fraction(name: str, value: object, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise InvalidArgument(f"{name}={value!r} must be a number in [0, {high}]")
    if math.isnan(value):
        raise InvalidArgument(f"{name} must not be NaN")
    return float(value)


def _weights(mix: Mapping[str, int] | Sequence[str] | None) -> list[str]:
    if mix is None:
        return sorted(GENERATORS)
    items = mix.items() if isinstance(mix, Mapping) else ((kind, 1) for kind in mix)
    kinds: list[str] = []
    for kind, weight in items:
        if kind not in GENERATORS:
            known = ", ".join(sorted(GENERATORS))
            raise InvalidArgument(f"mix: unknown transaction type {kind!r} (known: {known})")
        kinds += [kind] * _check_int(f"mix[{kind!r}]", weight, 0, 100)
    if not kinds:
        raise InvalidArgument("mix must give at least one transaction type a positive weight")
    return kinds


def _world(accounts: int, hot_fraction: float, zipf: float) -> World:
    return World(
        _check_int("accounts", accounts, 2, 10_000),
        _check_fraction("hot_fraction", hot_fraction),
        _check_fraction("zipf", zipf, 4.0),
    )


def transactions(
    *,
    accounts: int = 8,
    hot_fraction: float = 0.0,
    zipf: float = 0.0,
    mix: Mapping[str, int] | Sequence[str] | None = None,
) -> st.SearchStrategy[Tx]:
    """One transaction of the mix (default: every type, equally), in the world of these knobs."""
    pick = _Pick(_world(accounts, hot_fraction, zipf))
    kinds = _weights(mix)
    by_kind = {kind: GENERATORS[kind](pick) for kind in dict.fromkeys(kinds)}
    return st.sampled_from(kinds).flatmap(lambda kind: by_kind[kind])


def workloads(
    *,
    accounts: int = 8,
    block_size: int | tuple[int, int] = (1, 16),
    blocks: int = 1,
    hot_fraction: float = 0.0,
    zipf: float = 0.0,
    mix: Mapping[str, int] | Sequence[str] | None = None,
    fee: int = 0,
) -> st.SearchStrategy[Workload]:
    """Workloads: the world's genesis for these knobs, then ``blocks`` generated blocks.

    ``fee`` > 0 makes every transaction first pay ``fee`` of the first token to the hot account.
    """
    low, high = (block_size, block_size) if isinstance(block_size, int) else block_size
    _check_int("block_size (min)", low, 0, 100_000)
    _check_int("block_size (max)", high, low, 100_000)
    _check_int("blocks", blocks, 1, 1_000)
    _check_int("fee", fee, 0, w.BALANCE)
    world = _world(accounts, hot_fraction, zipf)
    tx = transactions(accounts=accounts, hot_fraction=hot_fraction, zipf=zipf, mix=mix)
    fees = {"fee_recipient": world.hot, "fee_token": w.TOKENS[0], "fee": fee} if fee else {}
    genesis = world.genesis()
    one_block = st.lists(tx, min_size=low, max_size=high)
    return st.lists(one_block, min_size=blocks, max_size=blocks).map(
        lambda txs: Workload(
            dict(genesis),
            [
                Block(tuple(b), BlockEnv(number=i + 2, timestamp=12 * (i + 1), **fees))
                for i, b in enumerate(txs)
            ],
        )
    )
