"""The catalogue of per-operation properties ``txlanes verify`` proves, as z3 claims on a path.

A property reads one explored path — the symbols of its pre-state (``pre``), what it wrote and
emitted — and states its claim as a z3 formula, or None when the path does not touch what the
property is about. The same functions judge a concrete replay (a counterexample's), where
every value is a constant. ``PROPERTIES`` says which operations each one applies to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from txlanes.models import amm, derivatives, erc20, governance, lending, staking
from txlanes.models import world as w
from txlanes.models.context import Key
from txlanes.models.tx import TX_TYPES
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import key_to_str

from .symbolic_explorer import Path
from .symbolic_values import as_term

#: a property: the claim it makes on a path (None: the path is not about it)
Property = Callable[[Path], z3.BoolRef | None]


def _post(path: Path, key: Key) -> Any:
    return as_term(path.writes[key]) if key in path.writes else path.pre.get(key, z3.IntVal(0))


def _pre(path: Path, key: Key) -> Any:
    return path.pre.get(key, z3.IntVal(0))


def conservation(path: Path) -> z3.BoolRef | None:
    """Per token: the change of the balances equals the change of the supply (0 unless mint
    or burn) — a frame argument: keys not written did not change."""
    deltas: dict[Any, list[Any]] = {}
    for key in path.writes:
        if key[0] == erc20.BAL:
            deltas.setdefault(key[1], []).append(_post(path, key) - _pre(path, key))
    if not deltas:
        return None
    claims = []
    for token, changes in deltas.items():
        supply = (erc20.SUPPLY, token)
        claims.append(z3.Sum(changes) == _post(path, supply) - _pre(path, supply))
    return z3.And(*claims)


def in_range(path: Path) -> z3.BoolRef | None:
    bounds = [z3.And(as_term(v) >= 0, as_term(v) <= MAX_UINT256) for v in path.writes.values()]
    return z3.And(*bounds) if bounds else None


def _reserves(path: Path, pair: str | int, after: bool) -> Any:
    get = _post if after else _pre
    return get(path, (amm.RESERVE0, pair)) * get(path, (amm.RESERVE1, pair))


def k_never_decreases(path: Path) -> z3.BoolRef | None:
    pairs = {k[1] for k in path.writes if k[0] == amm.RESERVE0}
    if not pairs:
        return None
    return z3.And(*[_reserves(path, p, True) >= _reserves(path, p, False) for p in pairs])


def fee_adjusted_k_kept(path: Path) -> z3.BoolRef | None:
    """Uniswap's invariant with the fee: for every swap, with ``in = balance - (reserve - out)``,
    ``(1000·r0' - 3·in0)·(1000·r1' - 3·in1) >= 1000²·r0·r1`` — the 0.3% is charged in full. The
    amounts out are the swap's own (its event); the amounts in follow from the reserves."""
    claims = []
    for event in path.events:
        if event[0] != "Swap":
            continue
        pair, out0, out1 = event[1], as_term(event[4]), as_term(event[5])
        assert isinstance(pair, int)  # the spec's Swap event names the pair by id
        before = [_pre(path, (amm.RESERVE0, pair)), _pre(path, (amm.RESERVE1, pair))]
        after = [_post(path, (amm.RESERVE0, pair)), _post(path, (amm.RESERVE1, pair))]
        adjusted = []
        for b, a, out in zip(before, after, (out0, out1), strict=True):
            amount_in = z3.If(a > b - out, a - (b - out), 0)
            adjusted.append(1000 * a - 3 * amount_in)
        claims.append(adjusted[0] * adjusted[1] >= 1000**2 * before[0] * before[1])
    return z3.And(*claims) if claims else None


def exchange_rate_never_drops(path: Path) -> z3.BoolRef | None:
    """Each market's stored exchange rate — Compound's ``exchangeRateStored``,
    ``(cash + borrows - reserves) * 1e18 // supply`` — never drops while it has supply before
    and after. (The exact fraction can drop by the rounding of a mint; the stored rate cannot.)

    Stated without the second division, exactly: for integers ``R``, ``X'`` and ``S' > 0``,
    ``R <= X' // S'`` holds iff ``R * S' <= X'`` (floor division: ``X' // S'`` is the largest
    ``q`` with ``q * S' <= X'``), so "the rate after is at least ``R``, the rate before" is
    ``R * S' <= X'``."""
    claims = []
    for market, (underlying, address) in w.MARKETS.items():
        keys = [(erc20.BAL, underlying, address), (lending.TOTAL_BORROWS, market),
                (lending.TOTAL_RESERVES, market), (lending.TOTAL_SUPPLY, market)]  # fmt: skip
        if not any(k in path.writes for k in keys):
            continue
        before = [_symbol(path, k) for k in keys]
        after = [as_term(path.writes[k]) if k in path.writes else _symbol(path, k) for k in keys]
        (c, b, r, s), (c1, b1, r1, s1) = before, after
        rate = (c + b - r) * lending.MANTISSA / s
        claims.append(
            z3.Implies(z3.And(s > 0, s1 > 0), rate * s1 <= (c1 + b1 - r1) * lending.MANTISSA)
        )
    return z3.And(*claims) if claims else None


def _symbol(path: Path, key: Key) -> Any:
    """A key's pre-state value, also for keys the path never touched (same name, same symbol)."""
    return path.pre[key] if key in path.pre else z3.Int(key_to_str(key))


def minimum_liquidity_kept(path: Path) -> z3.BoolRef | None:
    """A pool with LP supply keeps at least MINIMUM_LIQUIDITY, given the invariant reachable
    states satisfy: the locked shares exist, and the holders' balances fit in the supply."""
    claims = []
    for key in path.writes:
        if key[0] != erc20.SUPPLY or key[1] not in (*w.PAIRS, 2_002):
            continue
        pair, before = key[1], _symbol(path, key)
        locked = _symbol(path, (erc20.BAL, pair, amm.LOCKED_LIQUIDITY_HOLDER))
        holders = {k for k in path.pre if k[0] == erc20.BAL and k[1] == pair}
        holders.add((erc20.BAL, pair, amm.LOCKED_LIQUIDITY_HOLDER))
        held = z3.Sum([_symbol(path, k) for k in holders])
        reachable = z3.Or(before == 0, z3.And(locked >= amm.MINIMUM_LIQUIDITY, held <= before))
        after = _post(path, key)
        claims.append(z3.Implies(reachable, z3.Or(after == 0, after >= amm.MINIMUM_LIQUIDITY)))
    return z3.And(*claims) if claims else None


def _monotone(*schemas: str) -> Property:
    def prop(path: Path) -> z3.BoolRef | None:
        keys = [k for k in path.writes if k[0] in schemas]
        if not keys:
            return None
        return z3.And(*[_post(path, k) >= _pre(path, k) for k in keys])

    prop.__doc__ = f"{', '.join(schemas)} never decrease"
    return prop


def option_settlement_exact(path: Path) -> z3.BoolRef | None:
    for event in path.events:
        if event[0] == "OptionSettled":
            book, option, _, payout, returned = event[1:]
            locked = _pre(path, (derivatives.O_LOCKED, int(book), int(option)))  # type: ignore[call-overload]
            return as_term(payout) + as_term(returned) == locked
    return None


#: (property name, applies to kinds (None: all), check)
PROPERTIES: list[tuple[str, frozenset[str] | None, Property]] = [
    ("conservation", None, conservation),
    ("uint256-range", None, in_range),
    ("amm-k", frozenset({"amm.swap_exact_in", "amm.swap_exact_out", "amm.pair_swap"}),
     k_never_decreases),
    ("amm-fee-k", frozenset({"amm.swap_exact_in", "amm.swap_exact_out", "amm.pair_swap"}),
     fee_adjusted_k_kept),
    ("amm-min-liquidity", frozenset({"amm.add_liquidity", "amm.remove_liquidity"}),
     minimum_liquidity_kept),
    ("lending-borrow-index", frozenset(k for k in TX_TYPES if k.startswith("lend.")),
     _monotone(lending.BORROW_INDEX)),
    ("lending-exchange-rate", frozenset(k for k in TX_TYPES if k.startswith("lend.")),
     exchange_rate_never_drops),
    ("chef-acc-per-share", frozenset(k for k in TX_TYPES if k.startswith("stake.")),
     _monotone(staking.ACC_PER_SHARE)),
    ("option-settlement", frozenset({"opt.settle"}), option_settlement_exact),
    ("governance-tallies", frozenset(k for k in TX_TYPES if k.startswith("gov.")),
     _monotone(governance.FOR, governance.AGAINST, governance.ABSTAIN)),
]  # fmt: skip


def property_named(name: str) -> Property:
    """The catalogue's property called ``name``; a ValueError listing them otherwise."""
    for known, _, check in PROPERTIES:
        if known == name:
            return check
    raise ValueError(f"unknown property {name!r}: {', '.join(n for n, _, _ in PROPERTIES)}")
