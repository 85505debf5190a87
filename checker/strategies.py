"""Hypothesis strategies for DeFi workloads — the public way to generate engine inputs.

In the style Hypothesis asks of its extensions: functions that return strategies, keyword-only
arguments, validated eagerly with ``InvalidArgument``. The knobs are those of real chains:
how many accounts (Block-STM's contention sweep runs from 2 to 10,000), a hot account that a
fraction of transactions touch (a fee recipient, a popular pool), Zipf skew over contracts, the
mix of transaction types, and block size. Blocks are lists, so a failing block shrinks to the few
transactions that matter; amounts shrink towards 0 and choices towards the first account.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from txlanes.models import erc20, oracle
from txlanes.models.context import BlockEnv, Key
from txlanes.models.tx import TX_TYPES, Tx
from txlanes.models.workload import Block, Workload

#: Every account starts with this much of every token: small enough that reverts are common.
BALANCE = 10**6
FIRST_ACCOUNT = 1
ADMIN = 900_000  # token and oracle admin
FIRST_TOKEN = 1_000
TOKENS = 3
ASSETS = TOKENS  # oracle assets are the tokens


@dataclass(frozen=True)
class World:
    """The genesis every generated workload starts from: who exists and what is deployed."""

    accounts: int
    hot_fraction: float
    zipf: float

    @property
    def hot(self) -> int:
        """The hot account: fee recipient, favourite counterparty."""
        return FIRST_ACCOUNT

    def genesis(self) -> dict[Key, int]:
        state: dict[Key, int] = {(oracle.ADMIN,): ADMIN}
        for t in range(TOKENS):
            token = FIRST_TOKEN + t
            state[(erc20.ADMIN, token)] = ADMIN
            state[(erc20.SUPPLY, token)] = BALANCE * self.accounts
            for a in range(self.accounts):
                state[(erc20.BAL, token, FIRST_ACCOUNT + a)] = BALANCE
            state[(oracle.PRICE, token)] = 10**18 * (t + 1)
        return state


Draw = Callable[[st.SearchStrategy[object]], object]


@dataclass(frozen=True)
class _Pick:
    """Choices that follow the world's knobs; all shrink towards the first option."""

    world: World

    def account(self) -> st.SearchStrategy[int]:
        return st.integers(0, self.world.accounts - 1).map(lambda i: FIRST_ACCOUNT + i)

    def counterparty(self) -> st.SearchStrategy[int]:
        """Usually a random account; the hot account with probability ``hot_fraction``."""
        hot = self.world.hot_fraction
        if hot <= 0:
            return self.account()
        return st.tuples(st.integers(0, 999), self.account()).map(
            lambda t: self.world.hot if t[0] < hot * 1000 else t[1]
        )

    def contract(self, count: int) -> st.SearchStrategy[int]:
        """An index in range(count), Zipf-skewed: index 0 is the most popular."""
        s = self.world.zipf
        if s <= 0 or count == 1:
            return st.integers(0, count - 1)
        weights = [1 / (i + 1) ** s for i in range(count)]
        total = sum(weights)
        cumulative = [sum(weights[: i + 1]) / total for i in range(count)]
        return st.integers(0, 9_999).map(
            lambda u: next(i for i, c in enumerate(cumulative) if u < c * 10_000 or i == count - 1)
        )

    def token(self) -> st.SearchStrategy[int]:
        return self.contract(TOKENS).map(lambda i: FIRST_TOKEN + i)

    @staticmethod
    def amount() -> st.SearchStrategy[int]:
        """Amounts around the balances, where reverts flip: 0, small, near and above balance."""
        return st.one_of(
            st.integers(0, BALANCE // 2),
            st.sampled_from([BALANCE - 1, BALANCE, BALANCE + 1, 2 * BALANCE]),
        )


TxStrategy = Callable[[_Pick], st.SearchStrategy[Tx]]

#: kind → how to generate one transaction of that kind in a world.
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
        erc20.Mint, st.just(ADMIN), p.token(), p.counterparty(), p.amount()
    ),
    "erc20.burn": lambda p: st.builds(
        erc20.Burn, st.just(ADMIN), p.token(), p.account(), p.amount()
    ),
    "oracle.set_price": lambda p: st.builds(
        oracle.SetPrice,
        st.just(ADMIN),
        p.contract(ASSETS).map(lambda i: FIRST_TOKEN + i),
        st.integers(1, 10).map(lambda k: k * 10**17),
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


def transactions(
    *,
    accounts: int = 8,
    hot_fraction: float = 0.0,
    zipf: float = 0.0,
    mix: Mapping[str, int] | Sequence[str] | None = None,
) -> st.SearchStrategy[Tx]:
    """One transaction of the mix, in the world these knobs describe."""
    world = World(
        _check_int("accounts", accounts, 2, 10_000),
        _check_fraction("hot_fraction", hot_fraction),
        _check_fraction("zipf", zipf, 4.0),
    )
    kinds = _weights(mix)
    pick = _Pick(world)
    by_kind = {kind: GENERATORS[kind](pick) for kind in set(kinds)}
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
    """Workloads: the standard genesis for these knobs, then ``blocks`` generated blocks.

    ``fee`` > 0 makes every transaction first pay ``fee`` of the first token to the hot account.
    """
    low, high = (block_size, block_size) if isinstance(block_size, int) else block_size
    _check_int("block_size (min)", low, 0, 100_000)
    _check_int("block_size (max)", high, low, 100_000)
    _check_int("blocks", blocks, 1, 1_000)
    _check_int("fee", fee, 0, BALANCE)
    tx = transactions(accounts=accounts, hot_fraction=hot_fraction, zipf=zipf, mix=mix)
    world = World(accounts, hot_fraction, zipf)
    fees = {"fee_recipient": world.hot, "fee_token": FIRST_TOKEN, "fee": fee} if fee else {}
    one_block = st.lists(tx, min_size=low, max_size=high)
    return st.lists(one_block, min_size=blocks, max_size=blocks).map(
        lambda txs: Workload(
            world.genesis(),
            [
                Block(tuple(b), BlockEnv(number=i + 1, timestamp=12 * (i + 1), **fees))
                for i, b in enumerate(txs)
            ],
        )
    )


def known_kinds() -> list[str]:
    """Transaction kinds the strategies can generate (every registered kind, once complete)."""
    return sorted(k for k in TX_TYPES if k in GENERATORS)
