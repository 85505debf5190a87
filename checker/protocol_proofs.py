"""z3 over the cross-shard commit protocol — the actions of executor/sharded/protocol.py, not a
second encoding of them.

- `bmc`: bounded model checking of a finite instance (N shards, amounts and balances symbolic)
  to depth k; a violation comes back as a step-by-step trace, confirmed by replaying it through
  the concrete simulator.
- `prove_inductive`: the invariant of protocol.INVARIANT for *any* number of shards,
  transactions and accounts (each an uninterpreted sort): Init ⇒ Inv, Inv ∧ action ⇒ Inv′ for
  every action, Inv ⇒ Safety; a counterexample to induction is printed readably. Conservation
  sums over shards, which first-order logic cannot; it is checked by `bmc`, and follows for any
  N from the per-(transaction, shard) escrow clause by summation (docs/commit-protocol.md).
- `vacuity`: the proofs' assumptions are satisfiable and every action can fire.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from txlanes.executor.sharded.explore import format_step, replay
from txlanes.executor.sharded.finite import (
    Disabled,
    FiniteView,
    Index,
    Instance,
    State,
    Step,
    initial_state,
    run_step,
    steps,
)
from txlanes.executor.sharded.protocol import (
    ACCOUNT,
    CONSERVATION,
    INVARIANT,
    SAFETY,
    SHARD,
    STATE,
    TXN,
    TwoPhaseCommit,
    value,
    well_formed,
)

PROVED, COUNTEREXAMPLE, UNKNOWN = "PROVED", "COUNTEREXAMPLE", "UNKNOWN"
LEMMA = "lemma: "  # an invariant clause bounded model checking uses but does not report


@dataclass
class ProtocolResult:
    scope: str  # "N shards, depth k" or "any number of shards"
    prop: str
    verdict: str
    seconds: float
    note: str = ""
    trace: list[str] = field(default_factory=list)  # the counterexample, one line per step


# -- bounded model checking -------------------------------------------------------------------


def symbolic_instance(shape: Instance) -> tuple[Instance, list[z3.BoolRef]]:
    """The instance's shape with every amount and initial balance symbolic: non-negative, and
    each transaction's debits summing to its credits."""
    debit = {k: z3.Int(f"debit{k}") for k in shape.part}
    credit = {k: z3.Int(f"credit{k}") for k in shape.part}
    balance = tuple(z3.Int(f"balance0[{a}]") for a in range(shape.accounts))
    facts = [x >= 0 for x in (*debit.values(), *credit.values(), *balance)]
    for t in shape.domain(TXN):
        mine = [k for k in shape.part if k[0] == t]
        facts.append(z3.Sum([debit[k] for k in mine]) == z3.Sum([credit[k] for k in mine]))
    return shape.with_amounts(debit, credit, balance), facts


def _fresh_state(instance: Instance, depth: int) -> State:
    state: State = {}
    for var, (sorts, kind) in STATE.items():
        make = z3.Bool if kind == "bool" else z3.Int
        state[var] = {i: make(f"{var}{list(i)}@{depth}") for i in instance.indices(sorts)}
    return state


def _transition(
    protocol: TwoPhaseCommit, instance: Instance, now: State, nxt: State, choice: z3.ArithRef
) -> tuple[list[z3.BoolRef], list[Step]]:
    """choice picks one enabled action instance; nxt is its result. Each next-state value is an
    if-then-else over only the action instances that change it, so the frame stays small."""
    guards: list[z3.BoolRef] = []
    menu: list[Step] = []
    changes: dict[tuple[str, Index], list[tuple[int, Any]]] = {}
    for step in steps(protocol, instance):
        view = FiniteView(instance, now, z3)
        try:
            run_step(view, protocol, step)
        except Disabled:
            continue
        j = len(menu)
        menu.append(step)
        guards.append(z3.Implies(choice == j, z3.And(*view.guards)))
        for var, entries in view.state.items():
            for i, term in entries.items():
                if term is not now[var][i]:
                    changes.setdefault((var, i), []).append((j, term))
    facts = [choice >= 0, choice < len(menu), *guards]
    for var, entries in now.items():
        for i, current in entries.items():
            term = current
            for j, changed in changes.get((var, i), []):
                term = z3.If(choice == j, changed, term)
            facts.append(nxt[var][i] == term)
    return facts, menu


def _property_terms(instance: Instance, state: State, initial: State) -> dict[str, Any]:
    """The reported properties, then the invariant's other clauses (checked as lemmas)."""
    view = FiniteView(instance, state, z3)
    terms = {name: prop(view) for name, prop in SAFETY.items()}
    terms[CONSERVATION] = value(view) == value(FiniteView(instance, initial, z3))
    terms |= {
        LEMMA + name: clause(view) for name, clause in INVARIANT.items() if name not in SAFETY
    }
    return terms


def bmc(
    protocol: TwoPhaseCommit,
    shape: Instance,
    depth: int,
    timeout_ms: int = 60_000,
    progress: Callable[[int], None] | None = None,
) -> list[ProtocolResult]:
    """Each property at every depth 0..k: PROVED (no violation within k steps, all amounts and
    balances), COUNTEREXAMPLE (the shortest trace, replayed concretely) or UNKNOWN."""
    instance, facts = symbolic_instance(shape)
    scope = f"{shape.shards} shards, depth {depth}"
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*facts)
    start = initial_state(instance)
    states = [start]
    choices: list[z3.ArithRef] = []
    menus: list[list[Step]] = []
    began = time.perf_counter()
    open_props = set(_property_terms(instance, start, start))
    results: dict[str, ProtocolResult] = {}
    for level in range(depth + 1):
        if progress is not None:
            progress(level)
        terms = _property_terms(instance, states[level], start)
        # One query for every open property first; one each only when something may fail. A
        # property proved at this depth is then asserted: implied by the path, it spares the
        # solver re-deriving it at every deeper level (conservation needs the escrow facts).
        if solver.check(z3.Or(*(z3.Not(terms[name]) for name in open_props))) != z3.unsat:
            for name in sorted(open_props):
                verdict = solver.check(z3.Not(terms[name]))
                if verdict == z3.unsat:
                    continue
                open_props.discard(name)
                if name.startswith(LEMMA):
                    continue
                seconds = time.perf_counter() - began
                if verdict == z3.sat:
                    model = _small_model(solver, z3.Not(terms[name]), instance)
                    trace = [menus[i][model.eval(c).as_long()] for i, c in enumerate(choices)]
                    results[name] = _counterexample(
                        protocol, shape, instance, model, trace, name, scope, seconds
                    )
                else:
                    results[name] = ProtocolResult(
                        scope, name, UNKNOWN, seconds,
                        f"solver: {solver.reason_unknown()} at depth {level}",
                    )  # fmt: skip
        solver.add(*(terms[name] for name in open_props))
        if level == depth or all(name.startswith(LEMMA) for name in open_props):
            break
        nxt = _fresh_state(instance, level + 1)
        choice = z3.Int(f"action@{level}")
        relation, menu = _transition(protocol, instance, states[level], nxt, choice)
        solver.add(*relation)
        states.append(nxt)
        choices.append(choice)
        menus.append(menu)
    for name in open_props - set(results):
        if name.startswith(LEMMA):
            continue
        results[name] = ProtocolResult(
            scope, name, PROVED, time.perf_counter() - began,
            f"no violation in {depth} steps, for all amounts and balances",
        )  # fmt: skip
    return [results[name] for name in [*SAFETY, CONSERVATION]]


def _small_model(solver: z3.Solver, goal: Any, instance: Instance) -> z3.ModelRef:
    """A model of the goal, with small amounts and balances where the goal allows them: a
    counterexample should be read, not decoded."""
    small = [x <= 10 for x in (*instance.debit.values(), *instance.credit.values())]
    small += [b <= 10 for b in instance.balance]
    model = solver.model()
    if solver.check(goal, *small) == z3.sat:
        model = solver.model()
    return model


def _counterexample(
    protocol: TwoPhaseCommit,
    shape: Instance,
    instance: Instance,
    model: z3.ModelRef,
    trace: list[Step],
    prop: str,
    scope: str,
    seconds: float,
) -> ProtocolResult:
    def concrete(term: Any) -> int:
        return model.eval(term, model_completion=True).as_long()  # type: ignore[no-any-return]

    witness = shape.with_amounts(
        {k: concrete(x) for k, x in instance.debit.items()},
        {k: concrete(x) for k, x in instance.credit.items()},
        tuple(concrete(b) for b in instance.balance),
    )
    lines = [f"amounts: {describe_amounts(witness)}"]
    lines += [f"{i}. {format_step(step)}" for i, step in enumerate(trace, 1)]
    try:
        _, broken = replay(protocol, witness, trace)
        confirmed = prop in broken
    except ValueError as err:
        confirmed, broken = False, [str(err)]
    note = (
        "confirmed by the concrete simulator"
        if confirmed
        else f"NOT reproduced by the concrete simulator ({', '.join(broken) or 'no violation'})"
    )
    return ProtocolResult(scope, prop, COUNTEREXAMPLE, seconds, note, lines)


def describe_amounts(instance: Instance) -> str:
    moves = [
        f"t{t} shard {p}: -{instance.debit.get((t, p), 0)} +{instance.credit.get((t, p), 0)}"
        for t, p in sorted(instance.part)
    ]
    balances = ", ".join(f"a{a}={b}" for a, b in enumerate(instance.balance) if b)
    return "; ".join(moves) + f"; initial balances {balances or 'all 0'}"


# -- the inductive invariant over uninterpreted sorts -------------------------------------------


class Unbounded(TypeError):
    """A construct first-order logic over unbounded sorts cannot express (a sum)."""


class SortView:
    """The protocol's `View` with transactions, shards and accounts as uninterpreted sorts and
    every state variable a function over them; updates build new functions eagerly (by
    substitution), so an action reads what it wrote, as in the finite view."""

    def __init__(
        self, sorts: dict[str, z3.SortRef], rigid: dict[str, z3.FuncDeclRef],
        funcs: dict[str, Callable[..., Any]],
    ) -> None:  # fmt: skip
        self.sorts, self._rigid, self.funcs = sorts, rigid, dict(funcs)
        self.guards: list[Any] = []
        self._fresh = 0

    def _vars(self, sorts: tuple[str, ...]) -> list[z3.ExprRef]:
        self._fresh += 1
        return [z3.Const(f"x{self._fresh}_{i}", self.sorts[s]) for i, s in enumerate(sorts)]

    def get(self, var: str, *index: Any) -> Any:
        return self.funcs[var](*index)

    def set(self, var: str, index: tuple[Any, ...], value: Any) -> None:
        old = self.funcs[var]

        def new(*ys: Any) -> Any:
            return z3.If(z3.And(*(y == i for y, i in zip(ys, index, strict=True))), value, old(*ys))

        self.funcs[var] = new

    def update(self, var: str, fn: Callable[..., Any]) -> None:
        xs = self._vars(STATE[var][0])
        body = _term(fn(*xs, self.funcs[var](*xs)), STATE[var][1])
        self.funcs[var] = lambda *ys: z3.substitute(body, *zip(xs, ys, strict=True))

    def update_row(self, var: str, t: Any, fn: Callable[[Any, Any], Any]) -> None:
        old = self.funcs[var]
        (x,) = self._vars((SHARD,))
        body = _term(fn(x, old(t, x)), STATE[var][1])

        def new(y_t: Any, y_p: Any) -> Any:
            return z3.If(y_t == t, z3.substitute(body, (x, y_p)), old(y_t, y_p))

        self.funcs[var] = new

    def rigid(self, name: str, *index: Any) -> Any:
        return self._rigid[name](*index)

    def require(self, *conditions: Any) -> None:
        self.guards.extend(conditions)

    def and_(self, *c: Any) -> Any:
        return z3.And(*c)

    def or_(self, *c: Any) -> Any:
        return z3.Or(*c)

    def not_(self, c: Any) -> Any:
        return z3.Not(c)

    def implies(self, a: Any, b: Any) -> Any:
        return z3.Implies(a, b)

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        return z3.If(c, a, b)

    def forall(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        (x,) = self._vars((sort,))
        return z3.ForAll([x], fn(x))

    def exists(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        (x,) = self._vars((sort,))
        return z3.Exists([x], fn(x))

    def sum(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        raise Unbounded(f"a sum over the unbounded sort {sort!r}")


def _term(value: Any, kind: str) -> Any:
    """A z3 term for a value an update computed (a Python constant where it did not depend on
    state)."""
    if isinstance(value, bool | int):
        return z3.BoolVal(value) if kind == "bool" else z3.IntVal(value)
    return value


class _Universe:
    def __init__(self) -> None:
        self.sorts = {s: z3.DeclareSort(s.capitalize()) for s in (TXN, SHARD, ACCOUNT)}
        self.rigid = {
            "part": z3.Function("part", self.sorts[TXN], self.sorts[SHARD], z3.BoolSort()),
            "account": z3.Function(
                "account", self.sorts[TXN], self.sorts[SHARD], self.sorts[ACCOUNT]
            ),
            "debit": z3.Function("debit", self.sorts[TXN], self.sorts[SHARD], z3.IntSort()),
            "credit": z3.Function("credit", self.sorts[TXN], self.sorts[SHARD], z3.IntSort()),
            "conflict": z3.Function(
                "conflict", self.sorts[TXN], self.sorts[TXN], self.sorts[SHARD], z3.BoolSort()
            ),
        }
        self.pre = {var: self._function(var, "") for var in STATE}

    def _function(self, var: str, suffix: str) -> z3.FuncDeclRef:
        sorts, kind = STATE[var]
        rng = z3.BoolSort() if kind == "bool" else z3.IntSort()
        return z3.Function(var + suffix, *(self.sorts[s] for s in sorts), rng)

    def view(self, funcs: dict[str, Callable[..., Any]] | None = None) -> SortView:
        return SortView(self.sorts, self.rigid, funcs or dict(self.pre))

    def init_funcs(self) -> dict[str, Callable[..., Any]]:
        funcs: dict[str, Callable[..., Any]] = {}
        for var, (_, kind) in STATE.items():
            zero = z3.BoolVal(False) if kind == "bool" else z3.IntVal(0)
            funcs[var] = (lambda *_, z=zero: z) if var != "balance" else self.pre[var]
        return funcs


def _conjunction(view: SortView) -> Any:
    return z3.And(*(clause(view) for clause in INVARIANT.values()))


def _check(facts: list[Any], timeout_ms: int) -> tuple[z3.CheckSatResult, z3.Solver]:
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*facts)
    return solver.check(), solver


def prove_inductive(protocol: TwoPhaseCommit, timeout_ms: int = 30_000) -> list[ProtocolResult]:
    """Init ⇒ Inv; for every action and every invariant clause, Inv ∧ action ⇒ clause′;
    Inv ⇒ each safety property. One result per obligation group."""
    scope = "any number of shards"
    u = _Universe()
    results: list[ProtocolResult] = []

    began = time.perf_counter()
    verdict, solver = _check(
        [well_formed(u.view()), z3.Not(_conjunction(u.view(u.init_funcs())))], timeout_ms
    )
    results.append(_verdict(scope, "Init ⇒ Inv", verdict, solver, began, "initial state"))

    for action, sorts in protocol.ACTIONS.items():
        began = time.perf_counter()
        failures: list[str] = []
        unknown: list[str] = []
        for clause_name, clause in INVARIANT.items():
            pre = u.view()
            params = [z3.Const(f"{action}_{i}", u.sorts[s]) for i, s in enumerate(sorts)]
            getattr(protocol, action)(pre, *params)
            post = u.view(pre.funcs)
            verdict, solver = _check(
                [well_formed(pre), _conjunction(u.view()), *pre.guards, z3.Not(clause(post))],
                timeout_ms,
            )
            if verdict == z3.sat:
                failures.append(_cti(u, solver.model(), action, params, pre.funcs, clause_name))
            elif verdict == z3.unknown:
                unknown.append(f"{clause_name}: {solver.reason_unknown()}")
        seconds = time.perf_counter() - began
        name = f"Inv ∧ {action} ⇒ Inv′"
        if failures:
            results.append(ProtocolResult(scope, name, COUNTEREXAMPLE, seconds,
                                          "counterexample to induction (may be unreachable)",
                                          failures[0].splitlines()))  # fmt: skip
        elif unknown:
            results.append(ProtocolResult(scope, name, UNKNOWN, seconds, "; ".join(unknown)))
        else:
            results.append(ProtocolResult(scope, name, PROVED, seconds,
                                          f"all {len(INVARIANT)} clauses preserved"))  # fmt: skip

    for prop_name, prop in SAFETY.items():
        began = time.perf_counter()
        verdict, solver = _check(
            [well_formed(u.view()), _conjunction(u.view()), z3.Not(prop(u.view()))], timeout_ms
        )
        results.append(_verdict(scope, f"Inv ⇒ {prop_name}", verdict, solver, began, ""))
    return results


def _verdict(
    scope: str, name: str, verdict: z3.CheckSatResult, solver: z3.Solver, began: float, what: str
) -> ProtocolResult:
    seconds = time.perf_counter() - began
    if verdict == z3.unsat:
        return ProtocolResult(scope, name, PROVED, seconds)
    if verdict == z3.unknown:
        return ProtocolResult(scope, name, UNKNOWN, seconds, f"solver: {solver.reason_unknown()}")
    return ProtocolResult(scope, name, COUNTEREXAMPLE, seconds, f"fails on an {what}".strip())


def _cti(
    u: _Universe,
    model: z3.ModelRef,
    action: str,
    params: list[Any],
    post: dict[str, Callable[..., Any]],
    clause: str,
) -> str:
    """A counterexample to induction, readably: the step, the broken clause, and every state
    variable that differs, before → after, on the model's finite universe."""
    universe = {s: model.get_universe(sort) or [] for s, sort in u.sorts.items()}
    names = {
        str(e): f"{label}{i}"
        for s, label in ((TXN, "t"), (SHARD, "shard "), (ACCOUNT, "a"))
        for i, e in enumerate(universe[s])
    }

    def show(term: Any) -> str:
        text = str(model.eval(term, model_completion=True))
        return names.get(text, text)

    def at(var: str, index: tuple[Any, ...]) -> str:
        return f"{var}[{', '.join(names.get(str(i), str(i)) for i in index)}]"

    args = [model.eval(p, model_completion=True) for p in params]
    lines = [f"step {action}({', '.join(show(a) for a in args)}) breaks {clause!r}"]
    for t in (a for a in args if a.sort() == u.sorts[TXN]):
        for p in universe[SHARD]:
            facts = ", ".join(f"{r}={show(u.rigid[r](t, p))}" for r in u.rigid if r != "conflict")
            lines.append(f"  {at('instance', (t, p))}: {facts}")
    for var, (sorts, _) in STATE.items():
        for index in itertools.product(*(universe[s] for s in sorts)):
            before, after = show(u.pre[var](*index)), show(post[var](*index))
            if before != after:
                lines.append(f"  {at(var, index)}: {before} → {after}")
            elif sorts[:1] == (TXN,) and any(index[0].eq(a) for a in args):
                lines.append(f"  {at(var, index)}: {before}")
    return "\n".join(lines)


def vacuity(protocol: TwoPhaseCommit, timeout_ms: int = 30_000) -> list[ProtocolResult]:
    """The invariant admits a state where a transaction committed on a shard, and every action
    is enabled in some state satisfying it: the proofs are not vacuously true."""
    scope = "any number of shards"
    u = _Universe()
    results = []
    t, p = z3.Const("t", u.sorts[TXN]), z3.Const("p", u.sorts[SHARD])
    base = [well_formed(u.view()), _conjunction(u.view())]
    goals: dict[str, list[Any]] = {
        "Inv with a committed shard": [u.pre["applied"](t, p) == 1],
    }
    for action, sorts in protocol.ACTIONS.items():
        view = u.view()
        getattr(protocol, action)(view, *(z3.Const(f"{action}_{i}", u.sorts[s])
                                         for i, s in enumerate(sorts)))  # fmt: skip
        goals[f"{action} enabled under Inv"] = view.guards
    for name, extra in goals.items():
        began = time.perf_counter()
        verdict, _ = _check([*base, *extra], timeout_ms)
        if verdict == z3.sat:
            outcome, note = PROVED, "satisfiable: not vacuous"
        elif verdict == z3.unknown:
            outcome, note = UNKNOWN, "solver gave up"
        else:
            outcome, note = COUNTEREXAMPLE, "the assumptions rule this out: the proof is vacuous"
        seconds = time.perf_counter() - began
        results.append(ProtocolResult(scope, f"vacuity: {name}", outcome, seconds, note))
    return results
