"""The per-operation prover (``txlanes verify``): every property of every transaction type, for
all pre-states, on the spec functions themselves.

For each :class:`~.proof_cases.Case` of a transaction type, the symbolic context runs the spec
(``@read_only`` helpers merged) and the explorer yields every feasible success path; each
applicable property's claim is then checked on each path, first on the linear abstraction
(checker/abstraction.py), then exactly. A :class:`Result`'s verdict (checker/verdict.py) is
PROVED (the negation is unsatisfiable, on a path shown satisfiable), COUNTEREXAMPLE (a model,
replayed through the sequential engine to confirm it), UNKNOWN (a solver or the budget gave
up), N/A or VACUOUS — never a silent pass. :func:`assert_holds` is the pytest face.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from txlanes.executor.sequential import SequentialEngine
from txlanes.models import world as w
from txlanes.models.context import BlockEnv, Context, Key, Revert
from txlanes.models.spec import execute_tx
from txlanes.models.tx import Tx
from txlanes.models.workload import Block

from .abstraction import Abstraction, PathCheck
from .proof_cases import CONFIG_SCHEMAS, Case, cases
from .proof_properties import PROPERTIES, Property, property_named
from .symbolic_context import SymbolicContext
from .symbolic_explorer import Answer, Explorer, Infeasible, OutOfTime, Path
from .symbolic_values import Sym, Uninterpretable
from .verdict import Verdict


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
    verdict: Verdict
    seconds: float
    paths: int
    cases: int
    success_paths: int = 0
    counterexample: Counterexample | None = None
    note: str = ""
    #: a path this result was proved on is satisfiable (exact check): the proof is not vacuous
    witnessed: bool = False
    _tried: list[Path] = field(default_factory=list, repr=False)  # for a witness


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
    _path_checks: dict[int, PathCheck] = field(default_factory=dict, repr=False)
    _abstraction: Abstraction = field(default_factory=Abstraction, repr=False)
    _witnessed: dict[int, bool] = field(default_factory=dict, repr=False)

    def config(self) -> dict[Key, int]:
        return {k: v for k, v in self.world.genesis().items() if k[0] in CONFIG_SCHEMAS}

    def paths(self, case: Case, budget: float = float("inf")) -> tuple[list[tuple[Path, Tx]], bool]:
        """Every feasible path of one case, and whether the exploration completed."""
        config = self.config()
        apply = self.apply
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
                apply(tx, ctx)
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
            results[name] = Result(kind, name, Verdict.VACUOUS, 0.0, 0, len(all_cases))
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
                    if exists == Answer.SAT and path.error.startswith("Uninterpretable: "):
                        raise Uninterpretable(path.error.removeprefix("Uninterpretable: "))
                    if exists == Answer.SAT:
                        errors.append(f"{case.description}: {path.error}")
                    elif exists != Answer.UNSAT:  # the solver cannot tell if the path exists
                        undecided.append(f"{case.description}: {path.error}")
                if path.reverted is not None or path.error:
                    continue
                for name, prop in applicable:
                    results[name].success_paths += 1
                    self._check(results[name], path, tx, prop)
        out = list(results.values())
        for result in out:
            if result.verdict == Verdict.VACUOUS and result.success_paths:
                result.verdict = Verdict.NOT_APPLICABLE
            for path in result._tried[:2] if result.verdict == Verdict.PROVED else []:
                # nonlinear models can take longer to find: a second chance, with more time
                if not result.witnessed:
                    result.witnessed = self._satisfiable(path, self.timeout_ms)
            if result.verdict == Verdict.PROVED and not result.witnessed:
                result.verdict = Verdict.UNKNOWN  # every path proved on may be infeasible: vacuous
                result.note = "no path it was proved on could be shown satisfiable"
            if not complete and result.verdict != Verdict.COUNTEREXAMPLE:
                result.verdict = Verdict.UNKNOWN
                result.note = f"exploration stopped after {self.budget_seconds:.0f} s"
        for result in out:
            if undecided and result.verdict != Verdict.COUNTEREXAMPLE:
                result.verdict = Verdict.UNKNOWN
                result.note = f"on a path the solver could not decide: {undecided[0]}"
            if errors:
                result.note = f"spec raised on a feasible path: {errors[0]}"
        return out

    def _explorer(self) -> Explorer:
        return Explorer(self.timeout_ms, exact_ms=self.exact_ms)

    def _check(self, result: Result, path: Path, tx: Tx, prop: Property) -> None:
        claim = prop(path)
        if claim is None:
            return
        start = time.perf_counter()
        result.paths += 1
        try:
            verdict = self._decide(result, path, tx, claim, prop)
        finally:
            result.seconds += time.perf_counter() - start
        if verdict == Verdict.PROVED:
            if result.verdict == Verdict.VACUOUS:
                result.verdict = Verdict.PROVED
            if not result.witnessed and len(result._tried) < 8:
                result._tried.append(path)
                result.witnessed = self._satisfiable(path)
        elif verdict == Verdict.COUNTEREXAMPLE:
            result.verdict = Verdict.COUNTEREXAMPLE
        elif verdict == Verdict.UNKNOWN and result.verdict in (Verdict.VACUOUS, Verdict.PROVED):
            result.verdict = Verdict.UNKNOWN

    def _satisfiable(self, path: Path, timeout_ms: int = 0) -> bool:
        found = self._witnessed.get(id(path))
        if found is None or (not found and timeout_ms > self.exact_ms):
            solver = z3.Solver()
            solver.set("timeout", max(timeout_ms, self.exact_ms))
            solver.add(*path.condition)
            found = self._witnessed[id(path)] = solver.check() == z3.sat
        return found

    def _decide(
        self, result: Result, path: Path, tx: Tx, claim: z3.BoolRef, prop: Property
    ) -> Verdict | None:
        """PROVED, COUNTEREXAMPLE (confirmed by replay), UNKNOWN, or None (no such state)."""
        checker = self._path_checks.get(id(path))
        if checker is None:
            checker = PathCheck(path.condition, self.timeout_ms, self._abstraction)
            self._path_checks[id(path)] = checker
        if checker.refutes(claim):
            return Verdict.PROVED
        if result.verdict == Verdict.COUNTEREXAMPLE:
            return None  # one confirmed counterexample is reported; do not look for more
        solver = z3.Solver()
        solver.set("timeout", self.exact_ms)
        solver.add(*path.condition)
        if solver.check() == z3.unsat:  # vacuity: this path's assumptions must be satisfiable
            return None
        solver.add(z3.Not(claim))
        verdict = solver.check()
        if verdict == z3.unsat:
            return Verdict.PROVED
        if verdict == z3.sat:
            found = self._concretize(solver.model(), path, tx, prop)
            if found.confirmed:
                result.counterexample = found
                return Verdict.COUNTEREXAMPLE
            result.note = result.note or "a solver model was not reproduced by the engine"
        return Verdict.UNKNOWN

    def _concretize(self, model: Any, path: Path, tx: Tx, prop: Property) -> Counterexample:
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


def _replay_violates(
    tx: Tx, pre: dict[Key, int], env: BlockEnv, prop: Property, apply: Callable[[Tx, Context], None]
) -> bool:
    """Run the counterexample — the same spec code, unmerged — through the sequential engine
    and check the property on the concrete result."""
    engine = SequentialEngine()
    engine.apply = apply  # type: ignore[assignment]
    result = engine.execute(Block((tx,), env), pre)
    if not result.receipts[0].ok:
        return False
    concrete = Path([], {k: z3.IntVal(v) for k, v in pre.items()}, dict(result.writes),
                    list(result.receipts[0].events))  # fmt: skip
    for key in concrete.writes:
        concrete.pre.setdefault(key, z3.IntVal(0))
    claim = prop(concrete)
    return claim is not None and z3.simplify(claim).eq(z3.BoolVal(False))


def assert_holds(
    operation: Callable[[Any, Context], None],
    tx_type: type[Tx],
    prop: str | Property = "conservation",
    *,
    budget_seconds: float = 30.0,
) -> Result:
    """For pytest: prove that ``operation`` (a spec function over ``ctx``, yours or the
    spec's) keeps ``prop`` for all pre-states; fail with the counterexample otherwise.

    ``prop`` is a built-in property's name or a function ``(path) -> z3 claim | None`` over
    the path's ``pre``/``writes``/``events`` (see the built-in ones in
    checker/proof_properties.py).
    """
    if isinstance(prop, str):
        name, check = prop, property_named(prop)
    else:
        name, check = getattr(prop, "__name__", "custom"), prop
    prover = Prover(budget_seconds=budget_seconds, apply=operation)
    kind = getattr(tx_type, "KIND", "") or tx_type.__name__
    (result,) = prover.prove(kind, {name: check}, tx_type)
    if result.verdict == Verdict.COUNTEREXAMPLE:
        c = result.counterexample
        assert c is not None
        raise AssertionError(f"{name} does not hold for {kind}: {c.tx} on pre-state {{{c.detail}}}")
    if result.verdict not in (Verdict.PROVED, Verdict.NOT_APPLICABLE):
        raise AssertionError(f"{name} for {kind}: {result.verdict.value} {result.note}".strip())
    return result
