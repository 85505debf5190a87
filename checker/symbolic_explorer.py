"""The path explorer: every feasible path through a spec function run on symbolic values.

A symbolic condition used as a Python ``bool`` calls :meth:`Explorer.decide`, which asks the
solver which outcomes are feasible under the path so far and explores each, by re-running the
function with a recorded prefix of decisions (so the spec runs unmodified, once per path). A
time budget marks an exploration incomplete rather than cutting it silently. A read-only
helper's paths can be merged into one if-then-else value (:meth:`Explorer.merge`, reached from
``models.context.read_only`` through the symbolic context), so that its forks do not multiply
its caller's.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import z3

from txlanes.models.context import Event, Key, Revert

from .abstraction import Abstraction
from .symbolic_values import Sym, SymBool, Term, Uninterpretable, as_term


@dataclass
class Path:
    """One feasible path through an operation, with everything a property needs."""

    condition: list[z3.BoolRef]
    pre: dict[Key, Term]  # the symbol of every key read or written, as it was before
    writes: dict[Key, Any]  # key → Sym or int
    events: list[Event]
    reverted: str | None = None  # the revert reason
    error: str | None = None  # an exception other than Revert: a spec bug on this path
    #: a branch on the way was taken because the solver could not rule it out (a timeout), not
    #: because it found it feasible: the path may be infeasible
    uncertain: bool = False


class OutOfTime(Exception):
    """The exploration's time budget ran out: some paths were not explored."""


class Infeasible(Exception):
    """The path's condition is unsatisfiable (a condition added without a solver call made it
    so): the path does not exist and is dropped."""


class Answer(enum.Enum):
    """A solver's answer to "is this satisfiable?" (not a proof verdict: checker/verdict.py)."""

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, result: Any) -> Answer:
        """The answer of a z3 ``check()`` result."""
        return cls.SAT if result == z3.sat else cls.UNSAT if result == z3.unsat else cls.UNKNOWN


class Effects(Protocol):
    """What a symbolic context has recorded of a run: a merged call may add to ``pre`` (the
    symbols of keys it reads) but not change ``writes`` or ``events``."""

    pre: dict[Key, Term]
    writes: dict[Key, Any]
    events: list[Event]


@dataclass
class _Summary:
    """A merged call: its outcomes (kind, condition, value) and what it left on the path."""

    outcomes: list[tuple[str, z3.BoolRef, Any]]
    facts: list[z3.BoolRef]
    pre: dict[Key, Term]
    fresh: int
    uncertain: bool


@dataclass
class Explorer:
    """Depth-first exploration of every feasible path, by re-execution with decision prefixes.

    ``budget_seconds`` bounds the whole exploration; when it runs out, ``complete`` is False and
    whatever was not explored must not be claimed.

    A branch's feasibility is first checked on the linear :class:`Abstraction` of the path
    (unsatisfiable there: infeasible, soundly), then exactly within ``exact_ms``; a branch the
    solver cannot decide is explored (an over-approximation, sound for proofs) and its paths
    are marked ``uncertain``. With ``prune_reverts``, ``require`` adds its condition to the path
    instead of forking to a revert path: proofs look only at success paths.
    """

    timeout_ms: int = 10_000
    budget_seconds: float = float("inf")
    complete: bool = True
    assumptions: list[z3.BoolRef] = field(default_factory=list)
    prune_reverts: bool = False
    exact_ms: int | None = None  # the exact feasibility check's timeout (None: timeout_ms)
    abstraction: Abstraction = field(default_factory=lambda: Abstraction())
    _prefix: list[bool] = field(default_factory=list)
    _taken: list[bool] = field(default_factory=list)
    _pending: list[tuple[list[bool], bool]] = field(default_factory=list)
    _condition: list[z3.BoolRef] = field(default_factory=list)
    _fresh: int = 0
    _deadline: float = float("inf")
    _uncertain: bool = False
    _hoist: list[z3.BoolRef] | None = None  # while summarizing a merged call: its facts
    _summaries: dict[tuple[tuple[bool, ...], int], _Summary] = field(default_factory=dict)
    _merges: int = 0
    _solver: Any = None  # the abstraction's incremental solver, and what it holds:
    _stack: list[tuple[z3.BoolRef, frozenset[int]]] = field(default_factory=list)
    _asserted_atoms: set[int] = field(default_factory=set)
    unknown_branches: int = 0

    @property
    def uncertain(self) -> bool:
        """Whether the current path took a branch the solver could not show feasible."""
        return self._uncertain

    def fresh(self, name: str) -> Term:
        self._fresh += 1
        return z3.Int(f"{name}!{self._fresh}")

    def assume(self, *facts: z3.BoolRef) -> None:
        """Facts true on every path from here (definitions of fresh symbols)."""
        self._condition.extend(facts)
        if self._hoist is not None:
            self._hoist.extend(facts)

    def require(self, cond: z3.BoolRef) -> None:
        """Continue only where ``cond`` holds, without a solver call (the other side reverts)."""
        self._condition.append(cond)

    def feasible(self, formulas: list[z3.BoolRef], exact_ms: int | None = None) -> Answer:
        """SAT, UNSAT or UNKNOWN: the abstraction first (UNSAT there is UNSAT), then exactly."""
        verdict, abstracted = self._abstract_check(formulas)
        if verdict == z3.unsat:
            return Answer.UNSAT
        if not abstracted:  # nothing was abstracted: this was the exact query
            return Answer.SAT if verdict == z3.sat else Answer.UNKNOWN
        if exact_ms == 0:
            return Answer.UNKNOWN
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms if exact_ms is None else exact_ms)
        solver.add(*formulas)
        return Answer.of(solver.check())

    def _abstract_check(self, formulas: list[z3.BoolRef]) -> tuple[Any, bool]:
        """The abstraction of ``formulas`` on one incremental solver: a scope per formula, so
        the next query (a path's condition grows, or shares a prefix) re-adds only the rest."""
        if self._solver is None:
            self._solver = z3.Solver()
            self._solver.set("timeout", min(self.timeout_ms, 2_000))
        solver, stack = self._solver, self._stack
        shared = 0
        for asserted, formula in zip(stack, formulas, strict=False):
            if asserted[0] is not formula and not asserted[0].eq(formula):
                break
            shared += 1
        if len(stack) > shared:
            solver.pop(len(stack) - shared)
            for _, atoms in stack[shared:]:
                self._asserted_atoms.difference_update(atoms)
            del stack[shared:]
        abstracted = any(atoms for _, atoms in stack)
        for formula in formulas[shared:]:
            term, atoms = self.abstraction.term(formula)
            new = atoms - self._asserted_atoms
            solver.push()
            solver.add(term, *self.abstraction.facts(frozenset(new)))
            self._asserted_atoms |= new
            stack.append((formula, new))
            abstracted = abstracted or bool(atoms)
        return solver.check(), abstracted

    def _feasible(self, extra: z3.BoolRef) -> Answer:
        return self.feasible([*self.assumptions, *self._condition, extra], self.exact_ms)

    def decide(self, cond: z3.BoolRef) -> bool:
        if time.perf_counter() > self._deadline:
            raise OutOfTime
        depth = len(self._taken)
        if depth < len(self._prefix):
            choice = self._prefix[depth]
        else:
            sat, unsat, unknown = Answer.SAT, Answer.UNSAT, Answer.UNKNOWN
            can_true = self._feasible(cond)
            # where cond cannot hold, the path (if it exists at all) goes on without it
            can_false = self._feasible(z3.Not(cond)) if can_true != unsat else unknown
            if unknown in (can_true, can_false):
                self.unknown_branches += 1
            true_ok, false_ok = can_true != unsat, can_false != unsat
            if true_ok and false_ok:
                self._pending.append(([*self._taken, False], self._uncertain or can_false != sat))
                choice = True
            elif true_ok or false_ok:
                choice = true_ok
            else:  # the path itself is infeasible: a required condition contradicts it
                raise Infeasible
            if (can_true if choice else can_false) != sat and can_true != unsat:
                self._uncertain = True
        self._taken.append(choice)
        self._condition.append(cond if choice else z3.Not(cond))
        return choice

    def explore(self, run: Callable[[Explorer], Path]) -> list[Path]:
        """Run ``run`` once per feasible path; each run re-creates its symbols identically."""
        paths: list[Path] = []
        self._pending = [([], False)]
        self._summaries = {}
        self._deadline = time.perf_counter() + self.budget_seconds
        while self._pending:
            self._prefix, self._uncertain = self._pending.pop()
            self._taken, self._condition, self._fresh, self._merges = [], [], 0, 0
            try:
                path = run(self)
            except OutOfTime:
                self.complete = False
                break
            except Infeasible:
                continue
            path.condition = list(self._condition)
            path.uncertain = path.uncertain or self._uncertain
            paths.append(path)
        return paths

    # -- merging a read-only call's paths into one value ----------------------------------------

    def merge(self, call: Callable[[], Any], ctx: Effects, name: str) -> Any:
        """The result of ``call`` (a read-only spec helper) as one if-then-else value over all of
        its paths, instead of one path each: exact, because the helper's outcomes partition the
        states it can run in. Reverts and crashes inside it stay branches of the caller."""
        self._merges += 1
        key = (tuple(self._taken), self._merges)
        summary = self._summaries.get(key)
        if summary is None:
            summary = self._summarize(call, ctx, name)
            self._summaries[key] = summary
        else:
            ctx.pre.update(summary.pre)
            self._fresh = summary.fresh
        self.assume(*summary.facts)
        self._uncertain = self._uncertain or summary.uncertain
        for kind in ("error", "revert"):
            chosen = [(c, v) for k, c, v in summary.outcomes if k == kind]
            if not chosen:
                continue
            if kind == "revert" and self.prune_reverts:
                self.require(z3.Not(z3.Or(*[c for c, _ in chosen])))
            elif self.decide(z3.Or(*[c for c, _ in chosen])):
                raise chosen[0][1]
        values = [(c, v) for k, c, v in summary.outcomes if k == "ok"]
        if not values:
            raise Infeasible
        self.require(z3.Or(*[c for c, _ in values]))
        return self._combine(values, name)

    def _summarize(self, call: Callable[[], Any], ctx: Effects, name: str) -> _Summary:
        saved = (self._prefix, self._taken, self._pending, self._condition, self._summaries,
                 self._merges, self._hoist, self._uncertain)  # fmt: skip
        base = list(self._condition)
        hoist: list[z3.BoolRef] = []
        writes, events, known = dict(ctx.writes), len(ctx.events), set(ctx.pre)
        outcomes: list[tuple[str, z3.BoolRef, Any]] = []
        pending: list[tuple[list[bool], bool]] = [([], False)]
        uncertain = False
        self._pending, self._summaries, self._hoist = pending, {}, hoist
        try:
            while pending:
                self._prefix, self._uncertain = pending.pop()
                # facts an earlier run of the helper made (symbols it read) hold here too
                self._taken, self._condition, self._merges = [], [*base, *hoist], 0
                try:
                    outcome: tuple[str, Any] = ("ok", call())
                except Revert as revert:
                    outcome = ("revert", revert)
                except Infeasible:
                    continue
                except Uninterpretable as err:
                    if not self._uncertain:
                        raise
                    outcome = ("error", err)  # on a maybe-infeasible branch: the caller judges
                except OutOfTime:
                    raise
                except Exception as err:  # a crash stays a crash of the caller's path
                    outcome = ("error", err)
                if (
                    ctx.writes.keys() != writes.keys()
                    or len(ctx.events) != events
                    or any(ctx.writes[k] is not v for k, v in writes.items())
                ):
                    raise Uninterpretable(f"{name} writes state or emits: it cannot be merged")
                condition = z3.And(*self._condition[len(base) :])  # with the facts: harmless
                outcomes.append((outcome[0], condition, outcome[1]))
                uncertain = uncertain or self._uncertain
        finally:
            (self._prefix, self._taken, self._pending, self._condition, self._summaries,
             self._merges, self._hoist, self._uncertain) = saved  # fmt: skip
        pre = {k: v for k, v in ctx.pre.items() if k not in known}
        return _Summary(outcomes, hoist, pre, self._fresh, uncertain)

    def _combine(self, values: list[tuple[z3.BoolRef, Any]], name: str) -> Any:
        first = values[0][1]
        if isinstance(first, tuple):
            if not all(isinstance(v, tuple) and len(v) == len(first) for _, v in values):
                raise Uninterpretable(f"{name} returns tuples of different shapes")
            return tuple(
                self._combine([(c, v[i]) for c, v in values], name) for i in range(len(first))
            )
        if all(_same(v, first) for _, v in values):
            return first
        if all(isinstance(v, bool) for _, v in values):
            return SymBool(z3.Or(*[c for c, v in values if v]), self)
        if not all(isinstance(v, (int, Sym)) and not isinstance(v, bool) for _, v in values):
            raise Uninterpretable(f"{name} returns values that cannot be merged: {values}")
        term = as_term(values[-1][1])
        for condition, value in reversed(values[:-1]):
            term = z3.If(condition, as_term(value), term)
        return Sym(term, self)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Sym) and isinstance(b, Sym):
        return bool(a.term.eq(b.term))
    return type(a) is type(b) and not isinstance(a, (Sym, SymBool)) and bool(a == b)
