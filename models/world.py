"""The world every generated workload starts in: accounts, tokens and one deployment of every
protocol, with enough state that every transaction type can succeed in a single block.

Ids are fixed constants so that counterexamples read the same from run to run ("pair 2000",
"market 1"). Everything a protocol holds (pool reserves, vault liquidity, a treasury) is minted
into the tokens' supplies, so supply conservation holds from the first state on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from . import amm, derivatives, erc20, governance, lending, oracle, staking
from .context import Key
from .uint import MAX_UINT256

#: Every account starts with this much of every token: small enough that reverts are common.
BALANCE = 10**6
FIRST_ACCOUNT = 1
ADMIN = 900_000  # token admin, oracle admin, initial liquidity provider
TOKENS = (1_000, 1_001, 1_002)
REWARD_TOKEN = 1_003  # minted only by the chef
PRICES = {1_000: 10**18, 1_001: 2 * 10**18, 1_002: 3 * 10**18}
PAIRS = {2_000: (1_000, 1_001), 2_001: (1_001, 1_002)}
POOL_RESERVE = 4 * BALANCE
MARKETS = {0: (1_000, 3_000), 1: (1_001, 3_001)}  # market → (underlying, address)
CHEF = 4_000
STAKING_POOLS = {0: (2_000, 1), 1: (2_001, 3)}  # pool → (LP token, alloc points)
PERP_MARKET, PERP_VAULT, PERP_ASSET, PERP_TOKEN = 0, 5_000, 1_001, 1_000
OPTION_BOOK, OPTION_QUOTE = 6_000, 1_000
GOVERNOR, VOTING_TOKEN, TREASURY_TOKEN = 7_000, 1_002, 1_001
#: Proposals that exist at genesis: 1 is open for votes, 2 has passed and awaits execution.
OPEN_PROPOSAL, PASSED_PROPOSAL = 1, 2
#: ... and 5 is pending (its voting has not started), proposed by the first account.
PENDING_PROPOSAL = 5
#: Options that exist at genesis: 1 is for sale (far expiry), 2 is sold and expired.
OPTION_FOR_SALE, OPTION_EXPIRED = 1, 2
#: The first few accounts also start with positions everywhere (allowances, collateral, debt,
#: stakes, perpetual positions), so every transaction type can succeed in a single block; the
#: second account's loan is under water, so it can be liquidated at once.
ACTIVE_ACCOUNTS = 8


@dataclass(frozen=True)
class World:
    accounts: int
    hot_fraction: float = 0.0
    zipf: float = 0.0

    @property
    def hot(self) -> int:
        """The hot account: fee recipient, favourite counterparty."""
        return FIRST_ACCOUNT

    def account_ids(self) -> range:
        return range(FIRST_ACCOUNT, FIRST_ACCOUNT + self.accounts)

    def genesis(self) -> dict[Key, int]:
        state: dict[Key, int] = {(oracle.ADMIN,): ADMIN}
        supply = dict.fromkeys((*TOKENS, REWARD_TOKEN), 0)

        def credit(token: int, holder: int, amount: int) -> None:
            key = (erc20.BAL, token, holder)
            state[key] = state.get(key, 0) + amount
            supply[token] += amount

        for token in TOKENS:
            state[(erc20.ADMIN, token)] = ADMIN
            state[(oracle.PRICE, token)] = PRICES[token]
            for account in self.account_ids():
                credit(token, account, BALANCE)
        # AMM pairs with reserves; their LP shares are spread over the accounts.
        lp_share = math.isqrt(POOL_RESERVE * POOL_RESERVE) - amm.MINIMUM_LIQUIDITY
        for pair, (token0, token1) in PAIRS.items():
            state |= amm.genesis_pair(pair, token0, token1, POOL_RESERVE, POOL_RESERVE, ADMIN)
            supply[token0] += POOL_RESERVE
            supply[token1] += POOL_RESERVE
            each = lp_share // (self.accounts + 1)
            for account in self.account_ids():
                state[(erc20.BAL, pair, account)] = each
            state[(erc20.BAL, pair, ADMIN)] = lp_share - each * self.accounts
        # Lending: two markets, each seeded with cash supplied by the admin.
        for market, (underlying, address) in MARKETS.items():
            state |= lending.genesis_market(
                market,
                underlying=underlying,
                address=address,
                collateral_factor=(8 - market) * 10**17,
                base_rate=10**11,
                multiplier=10**12,
                block=1,
            )
            credit(underlying, address, 10 * BALANCE)
            tokens = 10 * BALANCE * 10**18 // (2 * 10**16)
            state[(lending.TOTAL_SUPPLY, market)] = tokens
            state[(lending.BALANCE, market, ADMIN)] = tokens
        # Staking on the two LP tokens.
        state |= staking.genesis_chef(CHEF, REWARD_TOKEN, reward_per_block=100)
        state |= staking.genesis_pools(CHEF, STAKING_POOLS, start_block=1)
        # Perpetuals with vault liquidity, options with a quote token.
        state |= derivatives.genesis_perp_market(
            PERP_MARKET,
            asset=PERP_ASSET,
            token=PERP_TOKEN,
            vault=PERP_VAULT,
            fee_bps=10,
            liquidation_fee=5,
            max_leverage=20,
        )
        credit(PERP_TOKEN, PERP_VAULT, 10 * BALANCE)
        state |= derivatives.genesis_option_book(OPTION_BOOK, OPTION_QUOTE)
        self._options(state, credit)
        # Governance: a treasury and two proposals (one open, one passed).
        state |= governance.genesis_governor(
            GOVERNOR, VOTING_TOKEN, voting_delay=1, voting_period=100, threshold=10, quorum=100
        )
        credit(TREASURY_TOKEN, GOVERNOR, 10 * BALANCE)
        self._proposals(state)
        self._positions(state, credit)
        for token, total in supply.items():
            if total:
                state[(erc20.SUPPLY, token)] = total
        return state

    def _options(self, state: dict[Key, int], credit: Callable[[int, int, int], None]) -> None:
        writer, buyer = FIRST_ACCOUNT, FIRST_ACCOUNT + 1
        book = OPTION_BOOK
        options = {
            OPTION_FOR_SALE: (0, 10**9, 0),  # (is_call, expiry, holder)
            OPTION_EXPIRED: (1, 1, buyer),
        }
        for option, (is_call, expiry, holder) in options.items():
            locked = BALANCE // 10
            for name, value in (
                (derivatives.O_WRITER, writer),
                (derivatives.O_HOLDER, holder),
                (derivatives.O_ASSET, PERP_ASSET),
                (derivatives.O_IS_CALL, is_call),
                (derivatives.O_STRIKE, PRICES[PERP_ASSET]),
                (derivatives.O_EXPIRY, expiry),
                (derivatives.O_AMOUNT, 10**18),
                (derivatives.O_PREMIUM, BALANCE // 100),
                (derivatives.O_LOCKED, locked),
            ):
                if value:
                    state[(name, book, option)] = value
            credit(OPTION_QUOTE, book, locked)

    def _positions(self, state: dict[Key, int], credit: Callable[[int, int, int], None]) -> None:
        active = list(self.account_ids())[:ACTIVE_ACCOUNTS]
        lp_each = state[(erc20.BAL, 2_000, FIRST_ACCOUNT)]
        for i, account in enumerate(active):
            neighbour = active[(i + 1) % len(active)]
            for token in TOKENS[:-1]:
                state[(erc20.ALLOWANCE, token, account, neighbour)] = BALANCE // 2
            # the last token's approval is "infinite", as wallets grant by default
            state[(erc20.ALLOWANCE, TOKENS[-1], account, neighbour)] = MAX_UINT256
            # Lending: 1 unit of collateral per 50 cTokens (rate 0.02) in market 0, both entered.
            underlying, address = MARKETS[0]
            credit(underlying, address, BALANCE)
            tokens = 50 * BALANCE
            state[(lending.BALANCE, 0, account)] = tokens
            state[(lending.TOTAL_SUPPLY, 0)] += tokens
            state[(lending.MEMBER, 0, account)] = 1
            state[(lending.MEMBER, 1, account)] = 1
            # Debt in market 1 (price 2): 0.8 * 1e6 of borrowing power; the second account
            # owes 1e6 of value: under water.
            debt = BALANCE // 2 if i == 1 else BALANCE // 8 * (i % 2)
            if debt:
                state[(lending.PRINCIPAL, 1, account)] = debt
                state[(lending.INTEREST_INDEX, 1, account)] = 10**18
                state[(lending.TOTAL_BORROWS, 1)] = state.get((lending.TOTAL_BORROWS, 1), 0) + debt
                cash = (erc20.BAL, MARKETS[1][0], MARKETS[1][1])
                state[cash] -= debt
                state[(erc20.BAL, MARKETS[1][0], account)] += debt
            # Staking: half of each LP share staked in both pools.
            for pool, (lp_token, _) in STAKING_POOLS.items():
                stake = lp_each // 2
                state[(staking.AMOUNT, CHEF, pool, account)] = stake
                state[(erc20.BAL, lp_token, account)] -= stake
                chef = (erc20.BAL, lp_token, CHEF)
                state[chef] = state.get(chef, 0) + stake
            # Perpetuals: a 10x position (long for even, short for odd accounts).
            collateral, size = BALANCE // 100, BALANCE // 10
            fee = size * 10 // derivatives.BPS
            side = (PERP_MARKET, account, 1 - i % 2)
            state[(derivatives.P_SIZE, *side)] = size
            state[(derivatives.P_COLLATERAL, *side)] = collateral - fee
            state[(derivatives.P_AVG_PRICE, *side)] = PRICES[PERP_ASSET]
            locked = (derivatives.P_LOCKED, PERP_MARKET)
            state[locked] = state.get(locked, 0) + collateral - fee
            credit(PERP_TOKEN, PERP_VAULT, collateral)
            # Governance: a deposit to vote with.
            state[(governance.DEPOSIT, GOVERNOR, account)] = BALANCE // 10
            total = (governance.DEPOSITS, GOVERNOR)
            state[total] = state.get(total, 0) + BALANCE // 10
            credit(VOTING_TOKEN, GOVERNOR, BALANCE // 10)

    @staticmethod
    def _proposals(state: dict[Key, int]) -> None:
        gov = GOVERNOR
        for proposal, (proposer, snapshot, deadline, votes_for) in {
            OPEN_PROPOSAL: (ADMIN, 0, 10**9, 0),
            PASSED_PROPOSAL: (ADMIN, 0, 0, 1_000),
            PENDING_PROPOSAL: (FIRST_ACCOUNT, 10**9, 10**9 + 100, 0),
        }.items():
            for name, value in (
                (governance.PROPOSER, proposer),
                (governance.SNAPSHOT, snapshot),
                (governance.DEADLINE, deadline),
                (governance.PAY_TOKEN, TREASURY_TOKEN),
                (governance.RECIPIENT, FIRST_ACCOUNT),
                (governance.PAY_AMOUNT, BALANCE),
                (governance.FOR, votes_for),
            ):
                if value:
                    state[(name, gov, proposal)] = value
