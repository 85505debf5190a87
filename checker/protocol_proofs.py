"""z3 over the cross-shard commit protocol — the actions of executor/sharded/protocol.py, not a
second encoding of them.

- `bmc`: bounded model checking of a finite instance (N shards, amounts and balances symbolic)
  to depth k, on the simulator's `FiniteView` with z3 values; a violation comes back as a
  step-by-step trace, confirmed by replaying it through the concrete simulator.
- `prove_inductive`: the invariant of protocol.INVARIANT for *any* number of shards,
  transactions and accounts (each an uninterpreted sort, `SortView`:
  checker/protocol_sort_view.py): Init ⇒ Inv, Inv ∧ action ⇒ Inv′ for
  every action, Inv ⇒ Safety; a counterexample to induction is printed readably. Conservation
  sums over shards, which first-order logic cannot; it is checked by `bmc`, and follows for any
  N from the per-(transaction, shard) escrow clause by summation (docs/commit-protocol.md).
- `vacuity`: the proofs' assumptions are satisfiable and every action can fire.

Verdicts are checker/verdict.py's, as for the per-operation proofs.
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

from .protocol_sort_view import SortView, Universe
from .verdict import Verdict

LEMMA = "lemma: "  # an invariant clause bounded model checking uses but does not report


@dataclass
class ProtocolResult:
    scope: str  # "N shards, depth k" or "any number of shards"
    prop: str
    verdict: Verdict
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
                        scope, name, Verdict.UNKNOWN, seconds,
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
            scope, name, Verdict.PROVED, time.perf_counter() - began,
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
    return ProtocolResult(scope, prop, Verdict.COUNTEREXAMPLE, seconds, note, lines)


def describe_amounts(instance: Instance) -> str:
    moves = [
        f"t{t} shard {p}: -{instance.debit.get((t, p), 0)} +{instance.credit.get((t, p), 0)}"
        for t, p in sorted(instance.part)
    ]
    balances = ", ".join(f"a{a}={b}" for a, b in enumerate(instance.balance) if b)
    return "; ".join(moves) + f"; initial balances {balances or 'all 0'}"


# -- the inductive invariant over uninterpreted sorts -------------------------------------------


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
    u = Universe()
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
            results.append(ProtocolResult(scope, name, Verdict.COUNTEREXAMPLE, seconds,
                                          "counterexample to induction (may be unreachable)",
                                          failures[0].splitlines()))  # fmt: skip
        elif unknown:
            results.append(
                ProtocolResult(scope, name, Verdict.UNKNOWN, seconds, "; ".join(unknown))
            )
        else:
            results.append(ProtocolResult(scope, name, Verdict.PROVED, seconds,
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
        return ProtocolResult(scope, name, Verdict.PROVED, seconds)
    if verdict == z3.unknown:
        return ProtocolResult(
            scope, name, Verdict.UNKNOWN, seconds, f"solver: {solver.reason_unknown()}"
        )
    return ProtocolResult(
        scope, name, Verdict.COUNTEREXAMPLE, seconds, f"fails on an {what}".strip()
    )


def _cti(
    u: Universe,
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
    u = Universe()
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
            outcome, note = Verdict.PROVED, "satisfiable: not vacuous"
        elif verdict == z3.unknown:
            outcome, note = Verdict.UNKNOWN, "solver gave up"
        else:
            outcome, note = (
                Verdict.COUNTEREXAMPLE,
                "the assumptions rule this out: the proof is vacuous",
            )
        seconds = time.perf_counter() - began
        results.append(ProtocolResult(scope, f"vacuity: {name}", outcome, seconds, note))
    return results
