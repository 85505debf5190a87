"""The instantiations a per-operation proof covers: what is concrete, and every aliasing.

A proof runs a transaction type with every amount symbolic, every account argument enumerated
over its aliasings (distinct accounts, equal accounts, the zero address) and every state value
symbolic — except the deployment's configuration (``CONFIG_SCHEMAS``: token and contract ids
that become key components), fixed to the world's values, and the id arguments, which take the
deployment's contracts (``ID_VALUES``). Each combination is one :class:`Case`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import z3

from txlanes.models import amm, derivatives, governance, lending, staking
from txlanes.models import world as w
from txlanes.models.tx import TX_TYPES, Tx
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import tx_fields

from .symbolic_explorer import Explorer
from .symbolic_values import Sym

#: Schemas whose values are identities (token, contract or account ids used as key components
#: or configuration): fixed to the deployment's values. Everything else is symbolic.
CONFIG_SCHEMAS = frozenset(
    {
        amm.PAIR, amm.TOKEN0, amm.TOKEN1,
        lending.UNDERLYING, lending.ADDRESS, lending.COLLATERAL_FACTOR, lending.RESERVE_FACTOR,
        lending.BASE_RATE, lending.MULTIPLIER, lending.INITIAL_EXCHANGE_RATE,
        staking.REWARD_TOKEN, staking.LP_TOKEN,
        derivatives.P_ASSET, derivatives.P_TOKEN, derivatives.P_VAULT, derivatives.P_FEE_BPS,
        derivatives.P_LIQUIDATION_FEE, derivatives.P_MAX_LEVERAGE,
        derivatives.O_QUOTE, derivatives.O_WRITER, derivatives.O_HOLDER, derivatives.O_ASSET,
        governance.TOKEN, governance.PAY_TOKEN, governance.RECIPIENT, governance.PROPOSER,
    }
)  # fmt: skip

ADDRESS_FIELDS = ("sender", "to", "spender", "owner", "account", "borrower", "recipient")
#: Concrete values for id fields: the deployment's contracts (several where it matters).
ID_VALUES: dict[str, tuple[int, ...]] = {
    "token": (w.TOKENS[0],),
    "token_a": (w.TOKENS[0],),
    "token_b": (w.TOKENS[1],),
    "token_in": (w.TOKENS[0], w.TOKENS[1]),
    "token_out": (w.TOKENS[1], w.TOKENS[0]),
    "pair": (next(iter(w.PAIRS)),),
    "market": (0, 1),
    "collateral_market": (0,),
    "chef": (w.CHEF,),
    "pool": (0,),
    "book": (w.OPTION_BOOK,),
    "option": (w.OPTION_EXPIRED, 3),
    "asset": (w.PERP_ASSET,),
    "governor": (w.GOVERNOR,),
    "proposal": (w.OPEN_PROPOSAL, w.PASSED_PROPOSAL, w.PENDING_PROPOSAL),
}
#: Per transaction type, ids that must name something new (a pair or proposal to create).
ID_OVERRIDES: dict[str, dict[str, tuple[int, ...]]] = {
    "amm.create_pair": {"token_a": (w.TOKENS[0],), "token_b": (w.TOKENS[2],), "pair": (2_002,)},
    "gov.propose": {"proposal": (3,)},
    "opt.write": {"option": (3,)},
    "opt.buy": {"option": (w.OPTION_FOR_SALE, 3)},
}
ACCOUNTS = (w.FIRST_ACCOUNT, w.FIRST_ACCOUNT + 1, w.FIRST_ACCOUNT + 2)


@dataclass
class Case:
    """One instantiation of a transaction type: concrete ids and accounts, symbolic amounts."""

    kind: str
    build: Callable[[Explorer], Tx]
    description: str


def _partitions(n: int) -> Iterator[list[int]]:
    """Restricted growth strings: every way to group ``n`` fields into equal-value blocks."""
    if n == 0:
        yield []
        return
    for rest in _partitions(n - 1):
        for block in range(max(rest, default=-1) + 2):
            yield [*rest, block]


def cases(kind: str, cls: type[Tx] | None = None) -> list[Case]:
    """Every instantiation of a transaction type (registered, or ``cls`` for a user's own)."""
    cls = cls or TX_TYPES[kind]
    specs = tx_fields(cls)
    addresses = [s.name for s in specs if s.name in ADDRESS_FIELDS]
    id_values = ID_VALUES | ID_OVERRIDES.get(kind, {})
    ids = [s.name for s in specs if s.name in id_values]
    bools = [s.name for s in specs if s.is_bool]
    found: list[Case] = []
    # With one account argument, try it as two different accounts: deployment state (an
    # option's writer, a proposal's proposer) belongs to specific accounts.
    offsets = (0, 1) if len(addresses) == 1 else (0,)
    for offset, grouping in itertools.product(offsets, _partitions(len(addresses))):
        blocks = max(grouping, default=-1) + 1
        for zero_block in range(-1, blocks):  # at most one block is the zero address
            if zero_block >= 0 and grouping[0] == zero_block and kind != "erc20.transfer":
                continue  # nobody signs as address 0; kept once, for ERC-20's own check
            values = [0 if b == zero_block else ACCOUNTS[b + offset] for b in grouping]
            for chosen in itertools.product(*(id_values[n] for n in ids)):
                for flags in itertools.product((False, True), repeat=len(bools)):
                    fixed = dict(zip(addresses, values, strict=True))
                    fixed |= dict(zip(ids, chosen, strict=True))
                    fixed |= dict(zip(bools, flags, strict=True))
                    found.append(Case(kind, _builder(cls, fixed), _describe(fixed)))
    return found


def _describe(fixed: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in fixed.items())


def _builder(cls: type[Tx], fixed: Mapping[str, Any]) -> Callable[[Explorer], Tx]:
    def build(explorer: Explorer) -> Tx:
        kwargs: dict[str, Any] = {}
        for spec in tx_fields(cls):
            if spec.name in fixed:
                kwargs[spec.name] = fixed[spec.name]
            else:
                term = z3.Int(f"tx.{spec.name}")
                explorer.assume(term >= 0, term <= MAX_UINT256)
                kwargs[spec.name] = Sym(term, explorer)
        return cls(**kwargs)

    return build
