"""Hypothesis strategies for DeFi workloads — the public way to generate engine inputs.

In the style Hypothesis asks of its extensions: functions that return strategies, keyword-only
arguments, validated eagerly with ``InvalidArgument``. The knobs are those of real chains:
how many accounts (Block-STM's contention sweep runs from 2 to 10,000), a hot account that a
fraction of transactions touch (a fee recipient, a popular pool), Zipf skew over contracts, the
mix of transaction types, block size, the number of blocks and whether their environments vary.
Every workload starts from :class:`~txlanes.models.world.World`'s genesis.

What is drawn reaches every behaviour of the spec (docs/coverage.md measures it): every uint
field takes, with a real probability, the boundary values (``UINT_BOUNDARIES``: 0, 1, the
float and 64-bit edges, 2**128, 2**255, 2**256-2 and 2**256-1) and the exact genesis value that
field meets (the sender's balance, the allowance, the reserve, the stake), one either side of it;
every address field takes the zero address, the sender itself, accounts the genesis never funded
and contracts' addresses; ids take deployments that do not exist. Wallets' infinite allowance
and Compound's repay-everything sentinel (2**256-1) are drawn as often as real users send them.

Shrinking: blocks are lists, so a failing block shrinks to the few transactions that matter;
every choice is a weighted class drawn as one integer, so it shrinks to the first, ordinary
class — a boundary value shrinks to an ordinary amount, and amounts shrink towards 0.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from txlanes.models import amm, derivatives, erc20, governance, lending, oracle, staking
from txlanes.models import world as w
from txlanes.models.context import BlockEnv, Key
from txlanes.models.tx import Tx
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import Block, Workload
from txlanes.models.world import World

from .witnesses import ACCOUNTS, Witness, genesis

#: The values where integer handling breaks: zero and one, the last integers a 64-bit float
#: holds exactly, the 64-bit edge, 2**128, the sign bit and the top of uint256. Ascending, so
#: they shrink towards the small ones.
UINT_BOUNDARIES = (
    0, 1, 2**53 - 1, 2**53, 2**53 + 1, 2**64 - 1, 2**64, 2**128, 2**255, MAX_UINT256 - 1,
    MAX_UINT256,
)  # fmt: skip
#: Accounts just beyond the funded ones: keys absent from the pre-state.
FRESH_ACCOUNTS = 3
#: A token id nothing was ever deployed at (no admin, no supply, no price).
FRESH_TOKEN = 1_004
#: Every token id a transaction may name: the world's, the LP tokens, the chef's reward token,
#: a fresh one and 0 (the order is the shrinking order).
ALL_TOKENS = (*w.TOKENS, *w.PAIRS, w.REWARD_TOKEN, FRESH_TOKEN, 0)
#: Contracts' addresses: tokens sent or minted there are donations (real, and what
#: reserve/balance differences and INVALID_TO are made of).
CONTRACTS = (
    *w.PAIRS, *(address for _, address in w.MARKETS.values()), w.CHEF, w.PERP_VAULT,
    w.OPTION_BOOK, w.GOVERNOR, *w.TOKENS, amm.LOCKED_LIQUIDITY_HOLDER,
)  # fmt: skip
#: Pairs a transaction may create (token a, token b, address): new token pairs at new
#: addresses first; then an existing pair, an address in use, identical and zero tokens.
NEW_PAIRS = ((1_000, 1_002, 2_002), (1_001, 1_003, 2_003), (1_002, 1_003, 2_004))
#: Token pairs the router is asked for beyond the genesis pairs (in both directions).
OTHER_ROUTES = (
    *((a, b) for a, b, _ in NEW_PAIRS), (1_000, 1_000), (0, 1_000), (FRESH_TOKEN, 1_001),
)  # fmt: skip

Draw = st.DrawFn


@functools.cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    """Strategies are built once: building one per draw costs more than drawing from it."""
    return st.integers(low, high)


@functools.cache
def _among(values: tuple[int, ...]) -> st.SearchStrategy[int]:
    return st.sampled_from(values)


_BOOLEANS = st.booleans()


#: Odd, so multiplying by it permutes the integers modulo 2**32 (Knuth's multiplicative hash).
_MIX = 2_654_435_761


def _uniform(draw: Draw, n: int) -> int:
    """A near-uniform integer in range(n) that shrinks to 0 (see :func:`_weighted`)."""
    return (draw(_ints(0, 2**32 - 1)) * _MIX % 2**32) * n >> 32


def _weighted(draw: Draw, weights: tuple[int, ...]) -> int:
    """The index of a class drawn with these weights; shrinks towards class 0.

    Hypothesis favours small integers and repeats values it has drawn, so ``integers(0, 99)``
    inside a large example almost never gives 99: a 1% class would never come. A 32-bit draw
    mixed by a multiplicative hash is near-uniform whatever Hypothesis favours, and 0 (where
    it shrinks to) still maps to class 0."""
    u = _uniform(draw, sum(weights))
    for index, weight in enumerate(weights):
        if u < weight:
            return index
        u -= weight
    raise AssertionError("unreachable")  # pragma: no cover


#: Per transaction of a kind, the percentage of targeted special cases (all of them together):
#: each reaches a revert that ordinary draws almost never meet (docs/coverage.md).
RARE_PERCENT = 3


_AMOUNT = st.one_of(
    st.integers(0, w.BALANCE // 2),
    st.sampled_from([w.BALANCE - 1, w.BALANCE, w.BALANCE + 1, 2 * w.BALANCE]),
)


def _divided(divisor: int) -> st.SearchStrategy[int]:
    return _AMOUNT.map(lambda x: x // divisor)


_AMOUNT_2, _AMOUNT_4, _AMOUNT_10, _AMOUNT_100 = (_divided(d) for d in (2, 4, 10, 100))
_AMOUNT_50 = _AMOUNT.map(lambda x: x * 50)
_LIMIT = st.one_of(st.just(0), _AMOUNT)
_NO_LIMIT_OR_AMOUNT = st.one_of(st.just(2**128), _AMOUNT)


@dataclass(frozen=True)
class _Pick:
    """Choices that follow the world's knobs; all shrink towards the first option.

    ``edges`` multiplies the weight of every special class (a boundary value, the zero address,
    a fresh account, an unknown id, a targeted case): 1 for workloads shaped like real traffic,
    where conflicts are what matter; more for a profile that sweeps the spec's edges, where
    each kind is drawn a few hundred times and a 1% class would come once or never."""

    world: World
    edges: int = 1

    def special(self, draw: Draw, weights: tuple[int, ...]) -> int:
        """``_weighted`` with every class but the first (the ordinary one) boosted by edges."""
        return _weighted(draw, (weights[0], *(x * self.edges for x in weights[1:])))

    def rare(self, draw: Draw, cases: int) -> int:
        """-1 (the ordinary transaction) mostly; else which of ``cases`` targeted cases, drawn
        together in ``RARE_PERCENT`` percent of transactions (times edges)."""
        return self.special(draw, ((100 - RARE_PERCENT) * cases, *(RARE_PERCENT,) * cases)) - 1

    @functools.cached_property
    def genesis(self) -> dict[Key, int]:
        return self.world.genesis()

    def at(self, *key: str | int) -> int:
        """A value of the genesis (0 if absent): what the generated workloads start from."""
        return self.genesis.get(key, 0)

    # -- accounts and addresses ------------------------------------------------------------

    @functools.cached_property
    def account(self) -> st.SearchStrategy[int]:
        return st.integers(0, self.world.accounts - 1).map(lambda i: w.FIRST_ACCOUNT + i)

    @functools.cached_property
    def counterparty(self) -> st.SearchStrategy[int]:
        """Usually a random account; the hot account with probability ``hot_fraction``."""
        hot = self.world.hot_fraction
        if hot <= 0:
            return self.account
        return st.tuples(st.integers(0, 999), self.account).map(
            lambda t: self.world.hot if t[0] < hot * 1000 else t[1]
        )

    @functools.cached_property
    def fresh(self) -> st.SearchStrategy[int]:
        """An account the genesis never funded."""
        first = w.FIRST_ACCOUNT + self.world.accounts
        return st.integers(first, first + FRESH_ACCOUNTS - 1)

    def sender(self, draw: Draw) -> int:
        """A funded account; now and then a fresh one, rarely the zero address."""
        which = self.special(draw, (196, 3, 1))
        if which == 0:
            return draw(self.account)
        return draw(self.fresh) if which == 1 else erc20.ZERO_ADDRESS

    def address(self, draw: Draw, sender: int) -> int:
        """A recipient, spender or owner: a counterparty; the sender itself, the zero address,
        a fresh account or a contract now and then."""
        which = self.special(draw, (188, 4, 3, 2, 3))
        if which == 0:
            return draw(self.counterparty)
        if which == 1:
            return sender
        if which == 2:
            return erc20.ZERO_ADDRESS
        return draw(self.fresh) if which == 3 else draw(_among(CONTRACTS))

    def approver(self, draw: Draw, spender: int) -> int:
        """An owner for ``spender``: the account whose genesis allowance names it, or any."""
        if _weighted(draw, (50, 50)) == 1:
            return self.address(draw, spender)
        active = list(self.world.account_ids())[: w.ACTIVE_ACCOUNTS]
        if spender in active:
            return active[active.index(spender) - 1]
        return self.address(draw, spender)

    def admin(self, draw: Draw) -> int:
        """The admin of the world's tokens and oracle; now and then someone else."""
        return w.ADMIN if _weighted(draw, (90, 10)) == 0 else self.sender(draw)

    # -- values ----------------------------------------------------------------------------

    def uint(
        self,
        draw: Draw,
        typical: st.SearchStrategy[int] | int,
        *exact: int,
        sentinel: int | None = None,
    ) -> int:
        """A uint256: ``typical`` mostly; the exact genesis values given and one either side
        of each; the boundary values; ``sentinel`` (a value the spec treats specially) too."""
        which = self.special(draw, (184, 8 if exact else 0, 5, 10 if sentinel is not None else 0))
        if which == 0:
            return typical if isinstance(typical, int) else draw(typical)
        if which == 1:
            near = {v + d for v in exact for d in (0, 1, -1) if 0 <= v + d <= MAX_UINT256}
            return draw(_among(tuple(sorted(near))))
        if which == 2:
            return draw(_among(UINT_BOUNDARIES))
        assert sentinel is not None
        return sentinel

    def amount(self, draw: Draw, *exact: int, sentinel: int | None = None) -> int:
        """Amounts around the balances, where reverts flip: 0, small, near and above balance."""
        return self.uint(draw, _AMOUNT, *exact, sentinel=sentinel)

    def limit(self, draw: Draw) -> int:
        """A slippage bound (a minimum out): none (0) half the time, else an amount."""
        return self.uint(draw, _LIMIT)

    def ident(self, draw: Draw, known: st.SearchStrategy[int] | int, *unknown: int) -> int:
        """An id (market, pool, proposal, contract): a known one; now and then one that does
        not exist, or a boundary value."""
        which = self.special(draw, (194, 4 if unknown else 0, 2))
        if which == 0:
            return known if isinstance(known, int) else draw(known)
        return draw(_among(unknown if which == 1 else UINT_BOUNDARIES))

    # -- contracts -------------------------------------------------------------------------

    @functools.cache  # noqa: B019 (a handful of picks per process, each kept by its strategies)
    def index(self, count: int) -> st.SearchStrategy[int]:
        """An index in range(count), Zipf-skewed: index 0 is the most popular."""
        s = self.world.zipf
        if s <= 0 or count == 1:
            return st.integers(0, count - 1)
        weights = [1 / (i + 1) ** s for i in range(count)]
        bounds = [sum(weights[: i + 1]) / sum(weights) * 10_000 for i in range(count)]
        return st.integers(0, 9_999).map(lambda u: next(i for i, b in enumerate(bounds) if u < b))

    @functools.cached_property
    def token(self) -> st.SearchStrategy[int]:
        return self.index(len(w.TOKENS)).map(lambda i: w.TOKENS[i])

    def any_token(self, draw: Draw) -> int:
        """One of the world's tokens; now and then an LP, the reward, a fresh token or 0."""
        if self.special(draw, (192, 8)) == 0:
            return draw(self.token)
        return draw(_among(ALL_TOKENS[len(w.TOKENS) :]))

    @functools.cached_property
    def pair(self) -> st.SearchStrategy[tuple[int, int, int]]:
        """(pair, token in, token out) of a genesis pair, in either direction."""
        pairs = list(w.PAIRS.items())
        return st.tuples(self.index(len(pairs)), st.booleans()).map(
            lambda t: (pairs[t[0]][0], *(pairs[t[0]][1][::-1] if t[1] else pairs[t[0]][1]))
        )

    def route(self, draw: Draw) -> tuple[int, int]:
        """(token a, token b) for the router: a genesis pair mostly; else a pair that only a
        transaction can create, identical tokens, the zero token or an unknown one."""
        if self.special(draw, (188, 12)) == 0:
            _, a, b = draw(self.pair)
            return a, b
        a, b = OTHER_ROUTES[draw(_ints(0, len(OTHER_ROUTES) - 1))]
        return (b, a) if draw(_BOOLEANS) else (a, b)

    def pair_address(self, draw: Draw) -> int:
        created = [address for _, _, address in NEW_PAIRS]
        return self.ident(draw, self.pair_id, *created, w.TOKENS[0])

    @functools.cached_property
    def pair_id(self) -> st.SearchStrategy[int]:
        return self.pair.map(lambda t: t[0])

    def lp_balance(self, pair_tokens: tuple[int, int], holder: int) -> int:
        pair = next((p for p, ts in w.PAIRS.items() if set(ts) == set(pair_tokens)), 0)
        return self.at(erc20.BAL, pair, holder)

    def market(self, draw: Draw) -> int:
        return self.ident(draw, self.index(len(w.MARKETS)), 2, lending.MAX_MARKETS)

    def pool(self, draw: Draw) -> int:
        return self.ident(draw, self.index(len(w.STAKING_POOLS)), len(w.STAKING_POOLS))

    def chef(self, draw: Draw) -> int:
        return self.ident(draw, w.CHEF, w.CHEF + 1)

    def governor(self, draw: Draw) -> int:
        return self.ident(draw, w.GOVERNOR, w.GOVERNOR + 1)

    def book(self, draw: Draw) -> int:
        return self.ident(draw, w.OPTION_BOOK, w.OPTION_BOOK + 1)

    def perp_market(self, draw: Draw) -> int:
        return self.ident(draw, w.PERP_MARKET, w.PERP_MARKET + 1)


TxStrategy = Callable[[_Pick], st.SearchStrategy[Tx]]


def _composite(build: Callable[[Draw, _Pick], Tx]) -> TxStrategy:
    """A generator from a function that draws each field in turn (later fields may depend on
    earlier ones: an amount on the sender's balance)."""

    def strategy(pick: _Pick) -> st.SearchStrategy[Tx]:
        @st.composite
        def tx(draw: Draw) -> Tx:
            return build(draw, pick)

        return tx()

    return strategy


# -- ERC-20 and the oracle ------------------------------------------------------------------------


@_composite
def _transfer(draw: Draw, p: _Pick) -> Tx:
    sender, token = p.sender(draw), p.any_token(draw)
    to = p.address(draw, sender)
    amount = p.amount(draw, p.at(erc20.BAL, token, sender))
    case = p.rare(draw, 2)
    if case >= 0:  # from the zero address; from and to it (which guard comes first)
        sender, to = erc20.ZERO_ADDRESS, erc20.ZERO_ADDRESS if case == 1 else to
    return erc20.Transfer(sender, token, to, amount)


@_composite
def _approve(draw: Draw, p: _Pick) -> Tx:
    sender, token = p.sender(draw), p.any_token(draw)
    spender = p.address(draw, sender)
    allowance = p.at(erc20.ALLOWANCE, token, sender, spender)
    amount = p.amount(draw, allowance, sentinel=MAX_UINT256)  # wallets approve "infinite"
    if p.rare(draw, 1) == 0:  # approve from the zero address
        sender = erc20.ZERO_ADDRESS
    return erc20.Approve(sender, token, spender, amount)


@_composite
def _transfer_from(draw: Draw, p: _Pick) -> Tx:
    sender, token = p.sender(draw), p.any_token(draw)
    owner = p.approver(draw, sender)
    to = p.address(draw, sender)
    allowance = p.at(erc20.ALLOWANCE, token, owner, sender)
    amount = p.amount(draw, allowance, p.at(erc20.BAL, token, owner))
    case = p.rare(draw, 2)
    if case == 0:  # the zero owner's (empty) allowance is "spent": approve from zero
        return erc20.TransferFrom(sender, token, erc20.ZERO_ADDRESS, to, 0)
    if case == 1:  # the zero spender: approve to the zero address
        return erc20.TransferFrom(erc20.ZERO_ADDRESS, token, w.FIRST_ACCOUNT, to, 0)
    return erc20.TransferFrom(sender, token, owner, to, amount)


@_composite
def _mint(draw: Draw, p: _Pick) -> Tx:
    sender, token = p.admin(draw), p.any_token(draw)
    to = p.address(draw, sender)
    headroom = MAX_UINT256 - p.at(erc20.SUPPLY, token)  # the supply's overflow edge
    amount = p.amount(draw, headroom)
    if p.rare(draw, 1) == 0:  # the admin mints to the zero address
        return erc20.Mint(w.ADMIN, w.TOKENS[0], erc20.ZERO_ADDRESS, amount)
    return erc20.Mint(sender, token, to, amount)


@_composite
def _burn(draw: Draw, p: _Pick) -> Tx:
    sender, token = p.admin(draw), p.any_token(draw)
    account = p.address(draw, sender)
    return erc20.Burn(sender, token, account, p.amount(draw, p.at(erc20.BAL, token, account)))


@_composite
def _set_price(draw: Draw, p: _Pick) -> Tx:
    sender, asset = p.admin(draw), p.any_token(draw)
    base = w.PRICES.get(asset, oracle.SCALE)
    price = p.uint(draw, base * draw(_ints(1, 8)) // 4, base)
    if p.rare(draw, 1) == 0:  # the admin sets a zero price
        return oracle.SetPrice(w.ADMIN, asset, 0)
    return oracle.SetPrice(sender, asset, price)


# -- the AMM ------------------------------------------------------------------------------------


@_composite
def _create_pair(draw: Draw, p: _Pick) -> Tx:
    sender = p.sender(draw)
    if _weighted(draw, (75, 25)) == 0:
        a, b, address = NEW_PAIRS[draw(_ints(0, len(NEW_PAIRS) - 1))]
    else:
        a, b = draw(_among(ALL_TOKENS)), draw(_among(ALL_TOKENS))
        address = draw(_among((*(x for _, _, x in NEW_PAIRS), *w.PAIRS, w.TOKENS[0])))
    if draw(_BOOLEANS):
        a, b = b, a
    return amm.CreatePair(sender, a, b, p.ident(draw, address))


@_composite
def _add_liquidity(draw: Draw, p: _Pick) -> Tx:
    sender = p.sender(draw)
    a, b = p.route(draw)
    amount_a = p.amount(draw, p.at(erc20.BAL, a, sender))
    amount_b = p.amount(draw, p.at(erc20.BAL, b, sender))
    min_a, min_b = p.limit(draw), p.limit(draw)
    to = p.address(draw, sender)
    a0, a1 = w.PAIRS[2_000]
    case = p.rare(draw, 2)
    if case == 0:  # the zero address pays in
        return amm.AddLiquidity(erc20.ZERO_ADDRESS, a0, a1, 1_000, 1_000, 0, 0, to)
    if case == 1:
        return amm.AddLiquidity(sender, a0, a0, amount_a, amount_b, min_a, min_b, to)
    return amm.AddLiquidity(sender, a, b, amount_a, amount_b, min_a, min_b, to)


@_composite
def _remove_liquidity(draw: Draw, p: _Pick) -> Tx:
    sender = p.sender(draw)
    a, b = p.route(draw)
    held = p.lp_balance((a, b), sender)
    liquidity = p.uint(draw, _AMOUNT_4, held)
    min_a, min_b = p.limit(draw), p.limit(draw)
    to = p.address(draw, sender)
    a0, a1 = w.PAIRS[2_000]
    case = p.rare(draw, 3)
    if case == 0:  # the zero address sends its (absent) LP shares
        return amm.RemoveLiquidity(erc20.ZERO_ADDRESS, a0, a1, 1_000, 0, 0, to)
    if case == 1:  # the redeemed tokens go to the zero address
        return amm.RemoveLiquidity(w.FIRST_ACCOUNT, a0, a1, 1_000, 0, 0, erc20.ZERO_ADDRESS)
    if case == 2:
        return amm.RemoveLiquidity(sender, a0, a0, liquidity, min_a, min_b, to)
    return amm.RemoveLiquidity(sender, a, b, liquidity, min_a, min_b, to)


def _reserve(p: _Pick, token_in: int, token_out: int) -> int:
    """The genesis reserve of ``token_out`` in the pair of the two tokens (0 if none)."""
    pair = next((x for x, ts in w.PAIRS.items() if set(ts) == {token_in, token_out}), 0)
    return p.at(erc20.BAL, token_out, pair)


@_composite
def _swap_exact_in(draw: Draw, p: _Pick) -> Tx:
    sender = p.sender(draw)
    token_in, token_out = p.route(draw)
    amount_in = p.amount(draw, p.at(erc20.BAL, token_in, sender))
    minimum = p.limit(draw)
    to = p.address(draw, sender)
    a0, a1 = w.PAIRS[2_000]
    case = p.rare(draw, 2)
    if case == 0:  # the zero address pays in
        return amm.SwapExactIn(erc20.ZERO_ADDRESS, a0, a1, 1_000, 0, to)
    if case == 1:
        return amm.SwapExactIn(sender, erc20.ZERO_ADDRESS, a0, amount_in, minimum, to)
    return amm.SwapExactIn(sender, token_in, token_out, amount_in, minimum, to)


@_composite
def _swap_exact_out(draw: Draw, p: _Pick) -> Tx:
    sender = p.sender(draw)
    token_in, token_out = p.route(draw)
    out = p.uint(draw, _AMOUNT_4, _reserve(p, token_in, token_out))
    maximum = p.uint(draw, _NO_LIMIT_OR_AMOUNT)
    to = p.address(draw, sender)
    a0, a1 = w.PAIRS[2_000]
    case = p.rare(draw, 7)
    if case == 0:  # the zero address pays in
        return amm.SwapExactOut(erc20.ZERO_ADDRESS, a0, a1, 1_000, 2**128, to)
    if case == 1:
        return amm.SwapExactOut(sender, a0, a0, out, maximum, to)
    if case == 2:  # paid out to one of the pair's own tokens
        return amm.SwapExactOut(w.FIRST_ACCOUNT, a0, a1, 1_000, 2**128, a1)
    if case == 3:
        return amm.SwapExactOut(sender, erc20.ZERO_ADDRESS, a0, out, maximum, to)
    if case >= 4:  # reserve_in * out overflows; out at the reserve; out above it
        reserve = p.at(erc20.BAL, a1, 2_000)
        out = (2**255, reserve, reserve + 1)[case - 4]
        return amm.SwapExactOut(w.FIRST_ACCOUNT, a0, a1, out, MAX_UINT256, to)
    return amm.SwapExactOut(sender, token_in, token_out, out, maximum, to)


@_composite
def _pair_swap(draw: Draw, p: _Pick) -> Tx:
    sender, pair = p.sender(draw), p.pair_address(draw)
    token0, token1 = w.PAIRS.get(pair, (0, 0))
    amount_in = p.amount(draw, p.at(erc20.BAL, token0, sender))
    out = p.uint(draw, _AMOUNT_2, p.at(erc20.BAL, token1, pair))
    shape = _weighted(draw, (45, 45, 10))
    if shape == 0:  # token0 in, token1 out
        amounts = (amount_in, 0, 0, out)
    elif shape == 1:  # token1 in, token0 out
        amounts = (0, amount_in, out, 0)
    else:
        amounts = (amount_in, p.amount(draw), p.amount(draw), out)
    to = p.address(draw, sender)
    case = p.rare(draw, 4)
    if case == 0:  # the zero address pays in
        return amm.PairSwap(erc20.ZERO_ADDRESS, 2_000, 1_000, 0, 0, 1, to)
    if case >= 1:  # out to the zero address; nothing in; out to the pair's own token
        to = (erc20.ZERO_ADDRESS, w.FIRST_ACCOUNT + 1, w.PAIRS[2_000][0])[case - 1]
        return amm.PairSwap(w.FIRST_ACCOUNT, 2_000, 0, 0, 0, 1, to)
    return amm.PairSwap(sender, pair, *amounts, to)


@_composite
def _sync(draw: Draw, p: _Pick) -> Tx:
    return amm.Sync(p.sender(draw), p.pair_address(draw))


# -- lending ------------------------------------------------------------------------------------


def _underlying(market: int) -> int:
    return w.MARKETS.get(market, (0, 0))[0]


@_composite
def _enter_market(draw: Draw, p: _Pick) -> Tx:
    return lending.EnterMarket(p.sender(draw), p.market(draw))


@_composite
def _exit_market(draw: Draw, p: _Pick) -> Tx:
    return lending.ExitMarket(p.sender(draw), p.market(draw))


@_composite
def _supply(draw: Draw, p: _Pick) -> Tx:
    sender, market = p.sender(draw), p.market(draw)
    amount = p.amount(draw, p.at(erc20.BAL, _underlying(market), sender))
    return lending.Supply(sender, market, amount)


@_composite
def _redeem(draw: Draw, p: _Pick) -> Tx:
    sender, market = p.sender(draw), p.market(draw)
    tokens = p.uint(draw, _AMOUNT_50, p.at(lending.BALANCE, market, sender))
    return lending.Redeem(sender, market, tokens)


@_composite
def _borrow(draw: Draw, p: _Pick) -> Tx:
    sender, market = p.sender(draw), p.market(draw)
    cash = p.at(erc20.BAL, *w.MARKETS.get(market, (0, 0)))
    return lending.Borrow(sender, market, p.amount(draw, cash))


@_composite
def _repay(draw: Draw, p: _Pick) -> Tx:
    sender, market = p.sender(draw), p.market(draw)
    borrower = sender if draw(_BOOLEANS) else p.address(draw, sender)
    owed = p.at(lending.PRINCIPAL, market, borrower)
    amount = p.amount(draw, owed, sentinel=MAX_UINT256)  # Compound's "repay it all"
    return lending.RepayBorrow(sender, market, borrower, amount)


@_composite
def _liquidate(draw: Draw, p: _Pick) -> Tx:
    sender, market = p.sender(draw), p.market(draw)
    borrower = p.address(draw, sender)
    owed = p.at(lending.PRINCIPAL, market, borrower)
    amount = p.uint(draw, _AMOUNT_4, owed // 2)  # the close factor
    return lending.Liquidate(sender, market, borrower, amount, p.market(draw))


# -- staking ------------------------------------------------------------------------------------


def _lp_token(pool: int) -> int:
    return w.STAKING_POOLS.get(pool, (0, 0))[0]


@_composite
def _deposit(draw: Draw, p: _Pick) -> Tx:
    sender, chef, pool = p.sender(draw), p.chef(draw), p.pool(draw)
    amount = p.amount(draw, p.at(erc20.BAL, _lp_token(pool), sender))
    return staking.Deposit(sender, chef, pool, amount)


@_composite
def _withdraw(draw: Draw, p: _Pick) -> Tx:
    sender, chef, pool = p.sender(draw), p.chef(draw), p.pool(draw)
    amount = p.amount(draw, p.at(staking.AMOUNT, w.CHEF, pool, sender))
    return staking.Withdraw(sender, chef, pool, amount)


def _pool_tx(cls: Callable[[int, int, int], Tx]) -> TxStrategy:
    return _composite(lambda draw, p: cls(p.sender(draw), p.chef(draw), p.pool(draw)))


# -- derivatives --------------------------------------------------------------------------------


@_composite
def _increase(draw: Draw, p: _Pick) -> Tx:
    sender, market, is_long = p.sender(draw), p.perp_market(draw), draw(_BOOLEANS)
    balance = p.at(erc20.BAL, w.PERP_TOKEN, sender)
    collateral = p.uint(draw, _AMOUNT_10, balance)
    leverage = draw(_ints(0, 25))
    size = p.uint(draw, min(collateral * leverage, MAX_UINT256))
    return derivatives.IncreasePosition(sender, market, is_long, collateral, size)


@_composite
def _decrease(draw: Draw, p: _Pick) -> Tx:
    sender, market, is_long = p.sender(draw), p.perp_market(draw), draw(_BOOLEANS)
    size = p.amount(draw, p.at(derivatives.P_SIZE, w.PERP_MARKET, sender, int(is_long)))
    return derivatives.DecreasePosition(sender, market, is_long, size)


@_composite
def _liquidate_position(draw: Draw, p: _Pick) -> Tx:
    sender, market = p.sender(draw), p.perp_market(draw)
    account = p.address(draw, sender)
    return derivatives.LiquidatePosition(sender, market, account, draw(_BOOLEANS))


def _option_id(p: _Pick, draw: Draw) -> int:
    """The genesis options (1 for sale, 2 expired) and ids a transaction may write."""
    return p.ident(draw, _ints(1, 5))


@_composite
def _write(draw: Draw, p: _Pick) -> Tx:
    sender, book = p.sender(draw), p.book(draw)
    option = p.ident(draw, _ints(3, 5), w.OPTION_FOR_SALE)
    asset = w.PERP_ASSET if _weighted(draw, (85, 15)) == 0 else p.any_token(draw)
    is_call = draw(_BOOLEANS)
    price = w.PRICES.get(asset, oracle.SCALE)
    strike = p.uint(draw, price * draw(_ints(1, 8)) // 4, price)
    expiry = p.uint(draw, _ints(0, 60))
    amount = p.uint(draw, _among((derivatives.UNIT, derivatives.UNIT // 10)))
    premium = p.uint(draw, _AMOUNT_100)
    cap = p.uint(draw, _AMOUNT_10, p.at(erc20.BAL, w.OPTION_QUOTE, sender))
    return derivatives.WriteOption(
        sender, book, option, asset, is_call, strike, expiry, amount, premium, cap
    )


@_composite
def _buy(draw: Draw, p: _Pick) -> Tx:
    return derivatives.BuyOption(p.sender(draw), p.book(draw), _option_id(p, draw))


@_composite
def _settle(draw: Draw, p: _Pick) -> Tx:
    return derivatives.SettleOption(p.sender(draw), p.book(draw), _option_id(p, draw))


# -- governance ---------------------------------------------------------------------------------


def _proposal(p: _Pick, draw: Draw) -> int:
    """The genesis proposals (1 open, 2 passed, 5 pending) and ids a transaction may propose."""
    return p.ident(draw, _ints(1, 5))


@_composite
def _gov_deposit(draw: Draw, p: _Pick) -> Tx:
    sender, gov = p.sender(draw), p.governor(draw)
    amount = p.amount(draw, p.at(erc20.BAL, w.VOTING_TOKEN, sender))
    return governance.DepositVotes(sender, gov, amount)


@_composite
def _gov_withdraw(draw: Draw, p: _Pick) -> Tx:
    sender, gov = p.sender(draw), p.governor(draw)
    amount = p.amount(draw, p.at(governance.DEPOSIT, w.GOVERNOR, sender))
    return governance.WithdrawVotes(sender, gov, amount)


@_composite
def _propose(draw: Draw, p: _Pick) -> Tx:
    sender, gov = p.sender(draw), p.governor(draw)
    proposal = p.ident(draw, _ints(3, 4), w.OPEN_PROPOSAL)
    which = _weighted(draw, (70, 15, 15))
    token = (w.TREASURY_TOKEN, w.VOTING_TOKEN)[which] if which < 2 else p.any_token(draw)
    to = p.address(draw, sender)
    amount = p.amount(draw, p.at(erc20.BAL, token, w.GOVERNOR))
    return governance.Propose(sender, gov, proposal, token, to, amount)


@_composite
def _cast_vote(draw: Draw, p: _Pick) -> Tx:
    sender, gov, proposal = p.sender(draw), p.governor(draw), _proposal(p, draw)
    support = p.ident(draw, _ints(0, 2), 3)
    return governance.CastVote(sender, gov, proposal, support)


def _proposal_tx(cls: Callable[[int, int, int], Tx]) -> TxStrategy:
    return _composite(lambda draw, p: cls(p.sender(draw), p.governor(draw), _proposal(p, draw)))


#: kind → how to generate one transaction of that kind in the world.
GENERATORS: dict[str, TxStrategy] = {
    "erc20.transfer": _transfer,
    "erc20.approve": _approve,
    "erc20.transfer_from": _transfer_from,
    "erc20.mint": _mint,
    "erc20.burn": _burn,
    "oracle.set_price": _set_price,
    "amm.create_pair": _create_pair,
    "amm.add_liquidity": _add_liquidity,
    "amm.remove_liquidity": _remove_liquidity,
    "amm.swap_exact_in": _swap_exact_in,
    "amm.swap_exact_out": _swap_exact_out,
    "amm.pair_swap": _pair_swap,
    "amm.sync": _sync,
    "lend.enter_market": _enter_market,
    "lend.exit_market": _exit_market,
    "lend.supply": _supply,
    "lend.redeem": _redeem,
    "lend.borrow": _borrow,
    "lend.repay": _repay,
    "lend.liquidate": _liquidate,
    "stake.deposit": _deposit,
    "stake.withdraw": _withdraw,
    "stake.harvest": _pool_tx(staking.Harvest),
    "stake.emergency_withdraw": _pool_tx(staking.EmergencyWithdraw),
    "stake.update_pool": _pool_tx(staking.UpdatePool),
    "perp.increase": _increase,
    "perp.decrease": _decrease,
    "perp.liquidate": _liquidate_position,
    "opt.write": _write,
    "opt.buy": _buy,
    "opt.settle": _settle,
    "gov.deposit": _gov_deposit,
    "gov.withdraw": _gov_withdraw,
    "gov.propose": _propose,
    "gov.cast_vote": _cast_vote,
    "gov.execute": _proposal_tx(governance.Execute),
    "gov.cancel": _proposal_tx(governance.Cancel),
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


def _check_range(name: str, value: object, low: int, high: int) -> tuple[int, int]:
    if isinstance(value, tuple) and len(value) == 2:
        first = _check_int(f"{name} (min)", value[0], low, high)
        return first, _check_int(f"{name} (max)", value[1], first, high)
    single = _check_int(name, value, low, high)
    return single, single


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
    edges: int = 1,
) -> st.SearchStrategy[Tx]:
    """One transaction of the mix (default: every type, equally), in the world of these knobs;
    ``edges`` > 1 draws the spec's special values and cases that many times as often."""
    _check_int("edges", edges, 1, 100)
    pick = _Pick(_world(accounts, hot_fraction, zipf), edges)
    kinds = _weights(mix)
    by_kind = {kind: GENERATORS[kind](pick) for kind in dict.fromkeys(kinds)}
    return st.sampled_from(kinds).flatmap(lambda kind: by_kind[kind])


#: Blocks up to this size are drawn most of the time; larger ones (up to ``block_size``'s
#: maximum) in ``LARGE_BLOCKS_PERCENT`` of blocks, to spread over workers, chunks and shards.
SMALL_BLOCK = 12
LARGE_BLOCKS_PERCENT = 3


def _block_txs(tx: st.SearchStrategy[Tx], low: int, high: int) -> st.SearchStrategy[list[Tx]]:
    small = st.lists(tx, min_size=low, max_size=min(high, max(low, SMALL_BLOCK)))
    if high <= 2 * SMALL_BLOCK:
        return st.lists(tx, min_size=low, max_size=high)
    first_large = max(low, SMALL_BLOCK + 1)

    @st.composite
    def block(draw: Draw) -> list[Tx]:
        if _weighted(draw, (100 - LARGE_BLOCKS_PERCENT, LARGE_BLOCKS_PERCENT)) == 0:
            return draw(small)
        # a third of the range at a time (Hypothesis repeats the values it drew, so a uniform
        # size over the whole range would stay in one part of it for a whole campaign)
        third = max(1, (high - first_large + 1) // 3)
        start = first_large + third * draw(_ints(0, 2))
        size = min(high, start + draw(_ints(0, third - 1)))
        return draw(st.lists(tx, min_size=size, max_size=size))

    return block()


#: How far a block's number moves past the previous one: mostly the next block; sometimes a
#: jump (interest accrues, votes end, options expire; 10**9 outlives the genesis' deadlines).
BLOCK_GAPS = (1, 2, 12, 101, 1_000, 10**9)


def _environments(
    world: World, blocks: tuple[int, int], fee: int, vary: bool
) -> st.SearchStrategy[list[BlockEnv]]:
    fees = {"fee_recipient": world.hot, "fee_token": w.TOKENS[0], "fee": fee} if fee else {}
    if not vary:
        return st.integers(*blocks).map(
            lambda n: [BlockEnv(number=i + 2, timestamp=12 * (i + 1), **fees) for i in range(n)]
        )

    @st.composite
    def envs(draw: Draw) -> list[BlockEnv]:
        # one block mostly (the cheapest example); several a quarter of the time
        count = blocks[0] if _weighted(draw, (3, 1)) == 0 else draw(_ints(*blocks))
        # Block 1 is the genesis' (interest last accrued there); 0 and 1 come rarely.
        number = (2, 1, 0)[_weighted(draw, (94, 3, 3))]
        timestamp = 12 * number
        out = []
        for _ in range(count):
            charged = dict(fees)
            if fee:
                charge = _weighted(draw, (70, 22, 4, 4))  # on, off, another or no recipient
                if charge == 1:
                    charged = {}
                elif charge == 2:
                    charged["fee_recipient"] = world.hot + 1
                elif charge == 3:
                    charged["fee_recipient"] = erc20.ZERO_ADDRESS
            out.append(BlockEnv(number=number, timestamp=timestamp, **charged))
            gap = BLOCK_GAPS[_weighted(draw, (70, 8, 8, 6, 5, 3))]
            number, timestamp = number + gap, timestamp + 12 * gap
        return out

    return envs()


def workloads(
    *,
    accounts: int = 8,
    block_size: int | tuple[int, int] = (1, 16),
    blocks: int | tuple[int, int] = 1,
    hot_fraction: float = 0.0,
    zipf: float = 0.0,
    mix: Mapping[str, int] | Sequence[str] | None = None,
    fee: int = 0,
    vary_env: bool = False,
    edges: int = 1,
) -> st.SearchStrategy[Workload]:
    """Workloads: the world's genesis for these knobs, then ``blocks`` generated blocks.

    ``block_size`` and ``blocks`` take a number or a (min, max) range. Above 24, most blocks
    are still of at most 12 transactions and a few are large. ``fee`` > 0 makes every
    transaction first pay ``fee`` of the first token to the hot account. ``vary_env``: block
    numbers jump now and then (the first is rarely 0 or 1), and a fee, when there is one, is
    sometimes off or paid to another account or to the zero address. ``edges``: see
    :func:`transactions`.
    """
    low, high = _check_range("block_size", block_size, 0, 100_000)
    count = _check_range("blocks", blocks, 1, 1_000)
    _check_int("fee", fee, 0, w.BALANCE)
    world = _world(accounts, hot_fraction, zipf)
    tx = transactions(accounts=accounts, hot_fraction=hot_fraction, zipf=zipf, mix=mix, edges=edges)
    genesis = world.genesis()
    one_block = _block_txs(tx, low, high)
    environments = _environments(world, count, fee, vary_env)

    @st.composite
    def workload(draw: Draw) -> Workload:
        envs = draw(environments)
        return Workload(dict(genesis), [Block(tuple(draw(one_block)), env) for env in envs])

    return workload()


def around_witnesses(
    witnesses: Sequence[Witness], *, mix: Mapping[str, int] | Sequence[str] | None = None
) -> st.SearchStrategy[Workload]:
    """A witness (checker/witnesses.py) with up to four random transactions of the mix added
    among each block's: the deep states witnesses reach, under contention. Shrinks towards
    the first witness as it is."""
    if not witnesses:
        raise InvalidArgument("around_witnesses needs at least one witness")
    tx = transactions(accounts=ACCOUNTS, mix=mix)
    extra = st.lists(tx, max_size=4)

    @st.composite
    def workload(draw: Draw) -> Workload:
        witness = draw(st.sampled_from(witnesses))
        blocks = []
        for block in witness.blocks:
            txs = list(block.txs)
            for added in draw(extra):
                txs.insert(draw(_ints(0, len(txs))), added)
            blocks.append(Block(tuple(txs), block.env))
        return Workload(genesis(), blocks)

    return workload()
