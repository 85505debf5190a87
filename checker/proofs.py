"""Solver-backed proofs over the spec itself: for every transaction type, for all pre-states.

Each transaction type is run by the symbolic context (checker/symbolic.py) — the very spec
functions the engines run — with every amount symbolic, every account argument enumerated over
its aliasings (distinct accounts, equal accounts, the zero address), and every state value
symbolic except the deployment's configuration (token and contract ids that become key
components; see ``CONFIG_SCHEMAS``). Each property is then checked on every feasible success
path: PROVED (the negation is unsatisfiable), COUNTEREXAMPLE (a model, replayed through the
sequential engine to confirm it) or UNKNOWN (the solver timed out) — never a silent pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import z3

from txlanes.executor.sequential import SequentialEngine
from txlanes.models import amm, derivatives, erc20, governance, lending, staking
from txlanes.models.context import BlockEnv, Context, Key, Revert
from txlanes.models.spec import execute_tx
from txlanes.models.tx import TX_TYPES, Tx
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import Block, key_to_str, tx_fields

from . import world as w
from .symbolic import (
    SAT,
    UNSAT,
    Abstraction,
    Explorer,
    Infeasible,
    OutOfTime,
    Path,
    Sym,
    SymbolicContext,
    Uninterpretable,
)

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

PROVED, COUNTEREXAMPLE, UNKNOWN = "PROVED", "COUNTEREXAMPLE", "UNKNOWN"
#: No feasible success path at all: a proof would hold vacuously, so it is not claimed.
VACUOUS = "VACUOUS"
#: Success paths exist, but none touches what the property is about (e.g. approve and balances).
NOT_APPLICABLE = "N/A"


@dataclass
class Case:
    """One instantiation of a transaction type: concrete ids and accounts, symbolic amounts."""

    kind: str
    build: Callable[[Explorer], Tx]
    description: str


@dataclass
class Counterexample:
    tx: Tx
    pre_state: dict[Key, int]
    detail: str
    confirmed: bool  # replaying it through the sequential engine violates the property too


@dataclass
class Result:
    kind: str
    prop: str
    verdict: str
    seconds: float
    paths: int
    cases: int
    success_paths: int = 0
    counterexample: Counterexample | None = None
    note: str = ""
    #: a path this result was proved on is satisfiable (exact check): the proof is not vacuous
    witnessed: bool = False
    _tried: list[Path] = field(default_factory=list, repr=False)  # for a witness


Property = Callable[[Path, Mapping[str, Any]], z3.BoolRef | None]


def _term(value: Any) -> Any:
    return value.term if isinstance(value, Sym) else z3.IntVal(value)


def _post(path: Path, key: Key) -> Any:
    return _term(path.writes[key]) if key in path.writes else path.pre.get(key, z3.IntVal(0))


def _pre(path: Path, key: Key) -> Any:
    return path.pre.get(key, z3.IntVal(0))


# -- properties --------------------------------------------------------------------------------


def conservation(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
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


def in_range(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
    bounds = [z3.And(_term(v) >= 0, _term(v) <= MAX_UINT256) for v in path.writes.values()]
    return z3.And(*bounds) if bounds else None


def _reserves(path: Path, pair: str | int, after: bool) -> Any:
    get = _post if after else _pre
    return get(path, (amm.RESERVE0, pair)) * get(path, (amm.RESERVE1, pair))


def k_never_decreases(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
    pairs = {k[1] for k in path.writes if k[0] == amm.RESERVE0}
    if not pairs:
        return None
    return z3.And(*[_reserves(path, p, True) >= _reserves(path, p, False) for p in pairs])


def fee_adjusted_k_kept(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
    """Uniswap's invariant with the fee: for every swap, with ``in = balance - (reserve - out)``,
    ``(1000·r0' - 3·in0)·(1000·r1' - 3·in1) >= 1000²·r0·r1`` — the 0.3% is charged in full. The
    amounts out are the swap's own (its event); the amounts in follow from the reserves."""
    claims = []
    for event in path.events:
        if event[0] != "Swap":
            continue
        pair, out0, out1 = event[1], _term(event[4]), _term(event[5])
        assert isinstance(pair, int)  # the spec's Swap event names the pair by id
        before = [_pre(path, (amm.RESERVE0, pair)), _pre(path, (amm.RESERVE1, pair))]
        after = [_post(path, (amm.RESERVE0, pair)), _post(path, (amm.RESERVE1, pair))]
        adjusted = []
        for b, a, out in zip(before, after, (out0, out1), strict=True):
            amount_in = z3.If(a > b - out, a - (b - out), 0)
            adjusted.append(1000 * a - 3 * amount_in)
        claims.append(adjusted[0] * adjusted[1] >= 1000**2 * before[0] * before[1])
    return z3.And(*claims) if claims else None


def exchange_rate_never_drops(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
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
        after = [_term(path.writes[k]) if k in path.writes else _symbol(path, k) for k in keys]
        (c, b, r, s), (c1, b1, r1, s1) = before, after
        rate = (c + b - r) * lending.MANTISSA / s
        claims.append(
            z3.Implies(z3.And(s > 0, s1 > 0), rate * s1 <= (c1 + b1 - r1) * lending.MANTISSA)
        )
    return z3.And(*claims) if claims else None


def _symbol(path: Path, key: Key) -> Any:
    """A key's pre-state value, also for keys the path never touched (same name, same symbol)."""
    return path.pre[key] if key in path.pre else z3.Int(key_to_str(key))


def minimum_liquidity_kept(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
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
    def prop(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
        keys = [k for k in path.writes if k[0] in schemas]
        if not keys:
            return None
        return z3.And(*[_post(path, k) >= _pre(path, k) for k in keys])

    prop.__doc__ = f"{', '.join(schemas)} never decrease"
    return prop


def option_settlement_exact(path: Path, args: Mapping[str, Any]) -> z3.BoolRef | None:
    for event in path.events:
        if event[0] == "OptionSettled":
            book, option, _, payout, returned = event[1:]
            locked = _pre(path, (derivatives.O_LOCKED, int(book), int(option)))  # type: ignore[call-overload]
            return _term(payout) + _term(returned) == locked
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


# -- cases: every aliasing of the account arguments ---------------------------------------------


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


# -- merging read-only helpers ------------------------------------------------------------------

#: Read-only spec helpers whose paths are merged into one if-then-else value while proving
#: (:meth:`Explorer.merge`): the helper's own code still runs, once per path of its own, but
#: its forks no longer multiply the caller's paths (the lending liquidity loop forks on each
#: market's membership, supply and debt). Merging is exact; a merged helper that writes state
#: or emits fails loudly.
MERGED: tuple[tuple[ModuleType, str], ...] = (
    (lending, "exchange_rate"),
    (lending, "borrow_balance"),
    (lending, "borrow_rate"),
    (lending, "shortfall"),
    (lending, "seize_tokens"),
)


def _merging(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def merged(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(ctx, SymbolicContext):
            return ctx.explorer.merge(lambda: fn(ctx, *args, **kwargs), ctx, name)
        return fn(ctx, *args, **kwargs)  # a concrete run: the helper itself

    return merged


@contextlib.contextmanager
def _merged_helpers() -> Iterator[None]:
    """Route the spec's calls of the ``MERGED`` helpers through :meth:`Explorer.merge` (they
    are module globals the spec looks up at call time), and restore them afterwards."""
    originals = [(module, name, getattr(module, name)) for module, name in MERGED]
    try:
        for module, name, fn in originals:
            setattr(module, name, _merging(f"{module.__name__}.{name}", fn))
        yield
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)


# -- running ----------------------------------------------------------------------------------


@dataclass
class Prover:
    """Proves every property of every transaction type; configuration from ``world``."""

    world: w.World = field(default_factory=lambda: w.World(accounts=3))
    timeout_ms: int = 10_000  # per solver query on the linear abstraction
    budget_seconds: float = 60.0  # per transaction type: exploration and proofs
    apply: Callable[[Tx, Context], None] = execute_tx  # a spec mutant can be proved against
    #: per exact (nonlinear) solver query, tried when the abstraction proves nothing: a branch
    #: it cannot decide is explored, a property it cannot decide is UNKNOWN
    exact_ms: int = 1_000
    branch_ms: int = 0  # per exact branch-feasibility query (0: undecided ones are explored)
    _path_checks: dict[int, _PathCheck] = field(default_factory=dict, repr=False)
    _abstraction: Abstraction = field(default_factory=Abstraction, repr=False)
    _witnessed: dict[int, bool] = field(default_factory=dict, repr=False)

    def config(self) -> dict[Key, int]:
        return {k: v for k, v in self.world.genesis().items() if k[0] in CONFIG_SCHEMAS}

    def paths(self, case: Case, budget: float = float("inf")) -> tuple[list[tuple[Path, Tx]], bool]:
        """Every feasible path of one case, and whether the exploration completed."""
        config = self.config()
        found: list[tuple[Path, Tx]] = []

        def run(explorer: Explorer) -> Path:
            number = Sym(z3.Int("block.number"), explorer)
            stamp = Sym(z3.Int("block.timestamp"), explorer)
            explorer.assume(number.term >= 1, number.term <= 2**64, stamp.term >= 0,
                            stamp.term <= 2**64)  # fmt: skip
            env = BlockEnv(number, stamp)  # type: ignore[arg-type]
            ctx = SymbolicContext(explorer, env, config, CONFIG_SCHEMAS)
            tx = case.build(explorer)
            path = Path([], ctx.pre, ctx.writes, ctx.events)
            try:
                self.apply(tx, ctx)
            except Revert as revert:
                path.reverted = revert.reason
            except Uninterpretable as err:
                if not explorer.uncertain:
                    raise
                # on a branch the solver could not decide: judged below, once it is decided
                path.error = f"Uninterpretable: {err}"
            except (OutOfTime, Infeasible):
                raise
            except Exception as err:  # a crash on a feasible path is a spec bug: report it
                path.error = f"{type(err).__name__}: {err}"
            found.append((path, tx))
            return path

        explorer = Explorer(self.timeout_ms, budget, prune_reverts=True, exact_ms=self.branch_ms)
        with _merged_helpers():
            explored = explorer.explore(run)
        kept = {id(p) for p in explored}  # runs that ended infeasible are not paths
        return [(p, tx) for p, tx in found if id(p) in kept], explorer.complete

    def prove(
        self,
        kind: str,
        properties: Mapping[str, Property] | None = None,
        cls: type[Tx] | None = None,
    ) -> list[Result]:
        """Every applicable property (or ``properties``) of one transaction type."""
        results: dict[str, Result] = {}
        if properties is None:
            applicable = [(n, p) for n, kinds, p in PROPERTIES if kinds is None or kind in kinds]
        else:
            applicable = list(properties.items())
        all_cases = cases(kind, cls)
        for name, _ in applicable:
            results[name] = Result(kind, name, VACUOUS, 0.0, 0, len(all_cases))
        errors: list[str] = []
        undecided: list[str] = []
        deadline = time.perf_counter() + self.budget_seconds
        complete = True
        for case in all_cases:
            left = deadline - time.perf_counter()
            if left <= 0:
                complete = False
                break
            case_paths, done = self.paths(case, left)
            complete = complete and done
            self._path_checks, self._abstraction, self._witnessed = {}, Abstraction(), {}
            for path, tx in case_paths:
                if path.error:
                    exists = self._explorer().feasible(path.condition, self.timeout_ms)
                    if exists == SAT and path.error.startswith("Uninterpretable: "):
                        raise Uninterpretable(path.error.removeprefix("Uninterpretable: "))
                    if exists == SAT:
                        errors.append(f"{case.description}: {path.error}")
                    elif exists != UNSAT:  # the solver could not tell whether the path exists
                        undecided.append(f"{case.description}: {path.error}")
                if path.reverted is not None or path.error:
                    continue
                for name, prop in applicable:
                    results[name].success_paths += 1
                    self._check(results[name], path, tx, prop)
        out = list(results.values())
        for result in out:
            if result.verdict == VACUOUS and result.success_paths:
                result.verdict = NOT_APPLICABLE
            for path in result._tried[:2] if result.verdict == PROVED else []:
                # nonlinear models can take longer to find: a second chance, with more time
                if not result.witnessed:
                    result.witnessed = self._satisfiable(path, self.timeout_ms)
            if result.verdict == PROVED and not result.witnessed:
                result.verdict = UNKNOWN  # every path proved on may be infeasible: vacuous
                result.note = "no path it was proved on could be shown satisfiable"
            if not complete and result.verdict != COUNTEREXAMPLE:
                result.verdict = UNKNOWN
                result.note = f"exploration stopped after {self.budget_seconds:.0f} s"
        for result in out:
            if undecided and result.verdict != COUNTEREXAMPLE:
                result.verdict = UNKNOWN
                result.note = f"on a path the solver could not decide: {undecided[0]}"
            if errors:
                result.note = f"spec raised on a feasible path: {errors[0]}"
        return out

    def _explorer(self) -> Explorer:
        return Explorer(self.timeout_ms, exact_ms=self.exact_ms)

    def _check(self, result: Result, path: Path, tx: Tx, prop: Property) -> None:
        claim = prop(path, {})
        if claim is None:
            return
        start = time.perf_counter()
        result.paths += 1
        try:
            verdict = self._decide(result, path, tx, claim)
        finally:
            result.seconds += time.perf_counter() - start
        if verdict == PROVED:
            if result.verdict == VACUOUS:
                result.verdict = PROVED
            if not result.witnessed and len(result._tried) < 8:
                result._tried.append(path)
                result.witnessed = self._satisfiable(path)
        elif verdict == COUNTEREXAMPLE:
            result.verdict = COUNTEREXAMPLE
        elif verdict == UNKNOWN and result.verdict in (VACUOUS, PROVED):
            result.verdict = UNKNOWN

    def _satisfiable(self, path: Path, timeout_ms: int = 0) -> bool:
        found = self._witnessed.get(id(path))
        if found is None or (not found and timeout_ms > self.exact_ms):
            solver = z3.Solver()
            solver.set("timeout", max(timeout_ms, self.exact_ms))
            solver.add(*path.condition)
            found = self._witnessed[id(path)] = solver.check() == z3.sat
        return found

    def _decide(self, result: Result, path: Path, tx: Tx, claim: z3.BoolRef) -> str | None:
        """PROVED, COUNTEREXAMPLE (confirmed by replay), UNKNOWN, or None (no such state)."""
        checker = self._path_checks.get(id(path))
        if checker is None:
            checker = _PathCheck(path.condition, self.timeout_ms, self._abstraction)
            self._path_checks[id(path)] = checker
        if checker.refutes(claim):
            return PROVED
        if result.verdict == COUNTEREXAMPLE:
            return None  # one confirmed counterexample is reported; do not look for more
        solver = z3.Solver()
        solver.set("timeout", self.exact_ms)
        solver.add(*path.condition)
        if solver.check() == z3.unsat:  # vacuity: this path's assumptions must be satisfiable
            return None
        solver.add(z3.Not(claim))
        verdict = solver.check()
        if verdict == z3.unsat:
            return PROVED
        if verdict == z3.sat:
            found = self._concretize(solver.model(), path, tx, result.prop)
            if found.confirmed:
                result.counterexample = found
                return COUNTEREXAMPLE
            result.note = result.note or "a solver model was not reproduced by the engine"
        return UNKNOWN

    def _concretize(self, model: Any, path: Path, tx: Tx, prop: str) -> Counterexample:
        def value(term: Any) -> int:
            return model.eval(term, model_completion=True).as_long()  # type: ignore[no-any-return]

        pre = {k: value(t) for k, t in path.pre.items()}
        concrete_tx = dataclasses.replace(
            tx,
            **{
                f.name: value(getattr(tx, f.name).term)
                for f in dataclasses.fields(tx)
                if isinstance(getattr(tx, f.name), Sym)
            },
        )
        env = BlockEnv(value(z3.Int("block.number")), value(z3.Int("block.timestamp")))
        detail = ", ".join(f"{k[0]}{list(k[1:])}={v}" for k, v in sorted(pre.items()) if v)
        confirmed = _replay_violates(concrete_tx, pre, env, prop, self.apply)
        return Counterexample(concrete_tx, pre, detail, confirmed)


class _PathCheck:
    """The linear abstraction of one path's condition on an incremental solver, which each
    property's negated claim is checked against: UNSAT there proves the claim on the path."""

    def __init__(
        self, condition: list[z3.BoolRef], timeout_ms: int, abstraction: Abstraction
    ) -> None:
        self.abstraction = abstraction  # shared by a case's paths: their conditions overlap
        self.solver = z3.Solver()
        self.solver.set("timeout", timeout_ms)
        self.atoms = frozenset[int]()
        for formula in condition:
            term, atoms = self.abstraction.term(formula)
            self.solver.add(term)
            self.atoms |= atoms
        self.solver.add(*self.abstraction.facts(self.atoms))

    def refutes(self, claim: z3.BoolRef) -> bool:
        """Whether the abstraction proves ``claim``: first with the facts of each product,
        division and square root, then adding exact identities and order facts between
        products (:meth:`Abstraction.structure`), then instead monotonicity lemmas."""
        term, atoms = self.abstraction.term(z3.Not(claim))
        self.solver.push()
        try:
            self.solver.add(term, *self.abstraction.facts(atoms - self.atoms))
            if self.solver.check() == z3.unsat:
                return True
            facts = self.abstraction.structure(self.atoms | atoms)
            if facts:
                self.solver.push()
                try:
                    self.solver.add(*facts)
                    if self.solver.check() == z3.unsat:
                        return True
                finally:
                    self.solver.pop()
            lemmas = self.abstraction.monotonicity(self.atoms | atoms)
            if not lemmas or len(lemmas) > 5_000:
                return False
            self.solver.add(*lemmas)
            return bool(self.solver.check() == z3.unsat)
        finally:
            self.solver.pop()


def _replay_violates(
    tx: Tx, pre: dict[Key, int], env: BlockEnv, prop: str, apply: Callable[[Tx, Context], None]
) -> bool:
    """Run the counterexample — the same spec code — through the sequential engine and check
    the property on the concrete result."""
    engine = SequentialEngine()
    engine.apply = apply  # type: ignore[assignment]
    result = engine.execute(Block((tx,), env), pre)
    if not result.receipts[0].ok:
        return False
    concrete = Path([], {k: z3.IntVal(v) for k, v in pre.items()}, dict(result.writes),
                    list(result.receipts[0].events))  # fmt: skip
    for key in concrete.writes:
        concrete.pre.setdefault(key, z3.IntVal(0))
    check = next((c for name, _, c in PROPERTIES if name == prop), None) or _CUSTOM.get(prop)
    if check is None:
        return False
    claim = check(concrete, {})
    return claim is not None and z3.simplify(claim).eq(z3.BoolVal(False))


_CUSTOM: dict[str, Property] = {}


def assert_holds(
    operation: Callable[[Any, Context], None],
    tx_type: type[Tx],
    prop: str | Property = "conservation",
    *,
    budget_seconds: float = 30.0,
) -> Result:
    """For pytest: prove that ``operation`` (a spec function over ``ctx``, yours or the
    spec's) keeps ``prop`` for all pre-states; fail with the counterexample otherwise.

    ``prop`` is a built-in property's name or a function ``(path, args) -> z3 claim | None``
    over the path's ``pre``/``writes``/``events`` (see the built-in ones in this module).
    """
    if isinstance(prop, str):
        name = prop
        check = next((c for n, _, c in PROPERTIES if n == prop), None)
        if check is None:
            raise ValueError(f"unknown property {prop!r}: {', '.join(n for n, _, _ in PROPERTIES)}")
    else:
        name, check = getattr(prop, "__name__", "custom"), prop
        _CUSTOM[name] = prop
    prover = Prover(budget_seconds=budget_seconds, apply=operation)
    kind = getattr(tx_type, "KIND", "") or tx_type.__name__
    (result,) = prover.prove(kind, {name: check}, tx_type)
    if result.verdict == COUNTEREXAMPLE:
        c = result.counterexample
        assert c is not None
        raise AssertionError(f"{name} does not hold for {kind}: {c.tx} on pre-state {{{c.detail}}}")
    if result.verdict not in (PROVED, NOT_APPLICABLE):
        raise AssertionError(f"{name} for {kind}: {result.verdict} {result.note}".strip())
    return result
