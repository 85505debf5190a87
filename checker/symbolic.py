"""Symbolic execution of the spec itself: the same spec functions, with z3 terms as values.

There is no second encoding of any operation. A :class:`SymbolicContext` hands the spec values
that are z3 integer terms wrapped in :class:`Sym`; Python operators on them build terms, and a
comparison used as a condition (``if``, ``require``, ``min``) calls ``__bool__``, where the
:class:`Explorer` forks: it asks the solver which outcomes are feasible under the path so far and
explores each, by re-running the spec with a recorded prefix of decisions. z3 integers are
unbounded, exactly like Python's, and the spec's own checks (``uint``) bound them, so the
symbolic semantics is the concrete one. Anything the symbolic values cannot interpret (a key
component that is symbolic, ``int()`` of a term, an unknown helper) raises
:class:`Uninterpretable` naming it — never skipped silently.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import z3

from txlanes.models.context import BlockEnv, Event, Key, Revert
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import key_to_str


class Uninterpretable(TypeError):
    """A construct the symbolic values cannot interpret; the message names it."""


#: a z3 integer term (z3 ships no type information, so it is Any to mypy)
Term: TypeAlias = Any


def _term(value: object) -> Term:
    if isinstance(value, Sym):
        return value.term
    if isinstance(value, bool):
        return z3.IntVal(int(value))
    if isinstance(value, int):
        return z3.IntVal(value)
    raise Uninterpretable(f"cannot use a {type(value).__name__} in symbolic arithmetic")


class Sym:
    """A symbolic integer: Python's operators build z3 terms."""

    __slots__ = ("explorer", "term")

    def __init__(self, term: Term, explorer: Explorer) -> None:
        self.term = term
        self.explorer = explorer

    def _wrap(self, term: Term) -> Sym:
        return Sym(term, self.explorer)

    def __add__(self, other: object) -> Sym:
        return self._wrap(self.term + _term(other))

    def __radd__(self, other: object) -> Sym:
        return self._wrap(_term(other) + self.term)

    def __sub__(self, other: object) -> Sym:
        return self._wrap(self.term - _term(other))

    def __rsub__(self, other: object) -> Sym:
        return self._wrap(_term(other) - self.term)

    def __mul__(self, other: object) -> Sym:
        return self._wrap(self.term * _term(other))

    def __rmul__(self, other: object) -> Sym:
        return self._wrap(_term(other) * self.term)

    def _divide(self, num: Term, den: Term, op: str) -> Sym:
        constant = den.as_long() if z3.is_int_value(den) else None
        # Python raises on a zero divisor; z3 leaves x/0 unspecified. Make the crash a path.
        if constant == 0 or (constant is None and self.explorer.decide(den == 0)):
            raise ZeroDivisionError(f"unchecked {op} by a symbolic divisor that can be 0")
        # For a negative dividend z3's Euclidean division differs from Python's floor division.
        if self.explorer.decide(num < 0 if constant is not None and constant > 0 else
                                z3.Or(num < 0, den < 0)):  # fmt: skip
            raise Uninterpretable(f"{op} of a possibly negative value")
        return self._wrap(num / den if op == "//" else num % den)

    def __floordiv__(self, other: object) -> Sym:
        return self._divide(self.term, _term(other), "//")

    def __rfloordiv__(self, other: object) -> Sym:
        return self._divide(_term(other), self.term, "//")

    def __mod__(self, other: object) -> Sym:
        return self._divide(self.term, _term(other), "%")

    def __neg__(self) -> Sym:
        return self._wrap(-self.term)

    def __lt__(self, other: object) -> SymBool:
        return SymBool(self.term < _term(other), self.explorer)

    def __le__(self, other: object) -> SymBool:
        return SymBool(self.term <= _term(other), self.explorer)

    def __gt__(self, other: object) -> SymBool:
        return SymBool(self.term > _term(other), self.explorer)

    def __ge__(self, other: object) -> SymBool:
        return SymBool(self.term >= _term(other), self.explorer)

    def __eq__(self, other: object) -> SymBool:  # type: ignore[override]
        return SymBool(self.term == _term(other), self.explorer)

    def __ne__(self, other: object) -> SymBool:  # type: ignore[override]
        return SymBool(self.term != _term(other), self.explorer)

    def __bool__(self) -> bool:
        return self.explorer.decide(self.term != 0)

    def __isqrt__(self) -> Sym:
        """Floor square root: a fresh r with r*r <= x < (r+1)*(r+1) (x is never negative here)."""
        if self.explorer.decide(self.term < 0):
            raise ValueError("isqrt of a negative value")
        root = self.explorer.fresh("isqrt")
        self.explorer.assume(
            root >= 0, root * root <= self.term, self.term < (root + 1) * (root + 1)
        )
        return self._wrap(root)

    def __hash__(self) -> int:
        raise Uninterpretable(f"a symbolic value ({self.term}) was used as a key or set member")

    def __index__(self) -> int:
        raise Uninterpretable(f"a symbolic value ({self.term}) was used where an int is needed")

    __int__ = __index__

    def __repr__(self) -> str:
        return f"Sym({self.term})"


class SymBool:
    """A symbolic condition; using it as a Python bool forks the exploration."""

    __slots__ = ("explorer", "term")

    def __init__(self, term: z3.BoolRef, explorer: Explorer) -> None:
        self.term = term
        self.explorer = explorer

    def __bool__(self) -> bool:
        return self.explorer.decide(self.term)

    def __invert__(self) -> SymBool:
        return SymBool(z3.Not(self.term), self.explorer)

    def __repr__(self) -> str:
        return f"SymBool({self.term})"


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


SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


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

    def feasible(self, formulas: list[z3.BoolRef], exact_ms: int | None = None) -> str:
        """SAT, UNSAT or UNKNOWN: the abstraction first (UNSAT there is UNSAT), then exactly."""
        verdict, abstracted = self._abstract_check(formulas)
        if verdict == z3.unsat:
            return UNSAT
        if not abstracted:  # nothing was abstracted: this was the exact query
            return SAT if verdict == z3.sat else UNKNOWN
        if exact_ms == 0:
            return UNKNOWN
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms if exact_ms is None else exact_ms)
        solver.add(*formulas)
        verdict = solver.check()
        return SAT if verdict == z3.sat else UNSAT if verdict == z3.unsat else UNKNOWN

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

    def _feasible(self, extra: z3.BoolRef) -> str:
        return self.feasible([*self.assumptions, *self._condition, extra], self.exact_ms)

    def decide(self, cond: z3.BoolRef) -> bool:
        if time.perf_counter() > self._deadline:
            raise OutOfTime
        depth = len(self._taken)
        if depth < len(self._prefix):
            choice = self._prefix[depth]
        else:
            can_true = self._feasible(cond)
            # where cond cannot hold, the path (if it exists at all) goes on without it
            can_false = self._feasible(z3.Not(cond)) if can_true != UNSAT else UNKNOWN
            if UNKNOWN in (can_true, can_false):
                self.unknown_branches += 1
            true_ok, false_ok = can_true != UNSAT, can_false != UNSAT
            if true_ok and false_ok:
                self._pending.append(([*self._taken, False], self._uncertain or can_false != SAT))
                choice = True
            elif true_ok or false_ok:
                choice = true_ok
            else:  # the path itself is infeasible: a required condition contradicts it
                raise Infeasible
            if (can_true if choice else can_false) != SAT and can_true != UNSAT:
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

    def merge(self, call: Callable[[], Any], ctx: SymbolicContext, name: str) -> Any:
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

    def _summarize(self, call: Callable[[], Any], ctx: SymbolicContext, name: str) -> _Summary:
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
        term = _term(values[-1][1])
        for condition, value in reversed(values[:-1]):
            term = z3.If(condition, _term(value), term)
        return Sym(term, self)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Sym) and isinstance(b, Sym):
        return bool(a.term.eq(b.term))
    return type(a) is type(b) and not isinstance(a, (Sym, SymBool)) and bool(a == b)


class SymbolicContext:
    """The spec's ``ctx`` over symbolic state: every key read is a fresh uint256 symbol."""

    def __init__(
        self,
        explorer: Explorer,
        env: BlockEnv,
        fixed: dict[Key, int] | None = None,
        fixed_schemas: frozenset[str] = frozenset(),
    ):
        self.explorer = explorer
        self.block = env
        self.fixed = fixed or {}  # keys with concrete values (configuration)
        self.fixed_schemas = fixed_schemas  # schemas whose absent keys are concretely 0
        self.pre: dict[Key, Term] = {}
        self.writes: dict[Key, Any] = {}
        self.events: list[Event] = []

    @staticmethod
    def _concrete(key: Key) -> None:
        for part in key:
            if isinstance(part, Sym):
                raise Uninterpretable(
                    f"key {key[0]} has a symbolic component ({part.term}); give the "
                    "configuration it comes from a concrete value"
                )

    def symbol(self, key: Key) -> Term:
        """The pre-state value of ``key``: one uint256 symbol per key, made on first use."""
        if key not in self.pre:
            term = z3.Int(key_to_str(key))
            self.pre[key] = term
            self.explorer.assume(term >= 0, term <= MAX_UINT256)
            value = self._fixed(key)
            if value is not None:
                self.explorer.assume(term == value)
        return self.pre[key]

    def _fixed(self, key: Key) -> int | None:
        if key in self.fixed:
            return self.fixed[key]
        return 0 if key[0] in self.fixed_schemas else None

    def read(self, key: Key) -> Any:
        self._concrete(key)
        if key in self.writes:
            return self.writes[key]
        value = self._fixed(key)
        if value is not None:
            self.symbol(key)
            return value
        return Sym(self.symbol(key), self.explorer)

    def write(self, key: Key, value: Any) -> None:
        self._concrete(key)
        self.symbol(key)  # the frame: every written key has a pre-state symbol
        if isinstance(value, Sym) and self.explorer.prune_reverts:
            self.explorer.require(z3.And(value.term >= 0, value.term <= MAX_UINT256))
        elif not 0 <= value <= MAX_UINT256:
            raise Revert("uint256 out of range")
        self.writes[key] = value

    def require(self, condition: Any, reason: str) -> None:
        if self.explorer.prune_reverts and isinstance(condition, (Sym, SymBool)):
            term = condition.term if isinstance(condition, SymBool) else condition.term != 0
            self.explorer.require(term)
        elif not condition:
            raise Revert(reason)

    def emit(self, event: Event) -> None:
        self.events.append(event)


# -- a linear over-approximation of nonlinear integer terms -------------------------------------

_NONLINEAR = (z3.Z3_OP_MUL, z3.Z3_OP_IDIV, z3.Z3_OP_MOD)


@dataclass
class _Atom:
    """A fresh integer standing for one nonlinear subterm, and the sound facts about it."""

    var: Term
    facts: list[z3.BoolRef]
    deps: frozenset[int]  # atoms whose facts these facts mention
    factors: tuple[Term, Term] | None = None  # a product's two (abstracted) factors


class Abstraction:
    """Replaces every product of two non-constant terms, and every ``div``/``mod`` with a
    non-constant operand, by a fresh integer constrained only by facts that hold for the exact
    operation (signs, zeros, ones, bounds; ``x // c`` and ``x % c`` with a constant ``c > 0``
    exactly). Identical subterms get the same integer. Every model of the exact formula extends
    to one of the abstracted formula, so an unsatisfiable abstraction proves the exact formula
    unsatisfiable; a satisfiable one proves nothing.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Term, frozenset[int]]] = {}
        self._keep: list[Term] = []  # keeps memoized ASTs alive, so their ids stay unique
        self._atoms: dict[int, _Atom] = {}  # by the atom var's id
        self._products: dict[tuple[int, int], Term] = {}
        self._orders_made: dict[tuple[int, ...], list[z3.BoolRef]] = {}  # by the atoms' ids
        self._count = 0

    def _fresh(self, name: str) -> Term:
        self._count += 1
        return z3.Int(f"abs.{name}!{self._count}")

    def _atom(self, var: Term, facts: list[z3.BoolRef], deps: frozenset[int] = frozenset(),
              factors: tuple[Term, Term] | None = None) -> tuple[Term, frozenset[int]]:  # fmt: skip
        self._keep.append(var)
        self._atoms[var.get_id()] = _Atom(var, facts, deps, factors)
        return var, frozenset({var.get_id()}) | deps

    def product(self, x: Term, y: Term) -> tuple[Term, frozenset[int]]:
        """The atom of ``x * y`` for two abstracted (linear) factors, commutatively shared."""
        ids = sorted((x.get_id(), y.get_id()))
        key = (ids[0], ids[1])
        if key in self._products:
            var = self._products[key]
            return var, frozenset({var.get_id()}) | self._atoms[var.get_id()].deps
        var = self._fresh("mul")
        self._products[key] = var
        self._keep += [x, y]
        facts = [
            z3.Implies(z3.Or(x == 0, y == 0), var == 0),
            z3.Implies(x == 1, var == y),
            z3.Implies(y == 1, var == x),
            z3.Implies(z3.And(x >= 0, y >= 0), var >= 0),
            z3.Implies(z3.And(x >= 1, y >= 0), var >= y),
            z3.Implies(z3.And(y >= 1, x >= 0), var >= x),
        ]
        if x.eq(y):
            facts += [var >= 0, var >= x]
        return self._atom(var, facts, factors=(x, y))

    def term(self, t: Term) -> tuple[Term, frozenset[int]]:
        """``t`` abstracted, and the atoms it mentions (with their dependencies)."""
        key = t.get_id()
        found = self._memo.get(key)
        if found is not None:
            return found
        result = self._abstract(t)
        self._memo[key] = result
        self._keep.append(t)
        return result

    def _abstract(self, t: Term) -> tuple[Term, frozenset[int]]:
        if not z3.is_app(t) or t.num_args() == 0:
            return t, frozenset()
        kind = t.decl().kind()
        children = t.children()
        parts = [self.term(c) for c in children]
        atoms = frozenset().union(*(a for _, a in parts))
        args = [p for p, _ in parts]
        if kind not in _NONLINEAR and all(a is c for a, c in zip(args, children, strict=True)):
            return t, atoms  # nothing below was abstracted
        if kind == z3.Z3_OP_MUL:
            constant = [a for a in args if z3.is_int_value(a)]
            symbolic = [a for a in args if not z3.is_int_value(a)]
            if len(symbolic) <= 1:
                return _rebuild(t, args) if len(args) > 1 else args[0], atoms
            acc = symbolic[0]
            for factor in symbolic[1:]:
                acc, more = self.product(acc, factor)
                atoms |= more
            for c in constant:
                acc = acc * c
            return acc, atoms
        if kind in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD):
            x, y = args
            if z3.is_int_value(y) and y.as_long() > 0:
                c = y.as_long()
                q, r = self._fresh("div"), self._fresh("mod")
                var, own = self._atom(
                    q if kind == z3.Z3_OP_IDIV else r, [x == c * q + r, r >= 0, r < c]
                )
                self._keep += [q, r]
                return var, atoms | own
            if kind == z3.Z3_OP_IDIV:
                q = self._fresh("div")
                m, more = self.product(q, y)
                facts = [
                    z3.Implies(y >= 1, z3.And(m <= x, x < m + y)),
                    z3.Implies(z3.And(x >= 0, y >= 1), z3.And(q >= 0, q <= x)),
                    z3.Implies(z3.And(x >= 0, x < y), q == 0),
                    z3.Implies(z3.And(y >= 1, x >= y), q >= 1),
                    z3.Implies(y == 1, q == x),
                ]
                var, own = self._atom(q, facts, deps=more)
                return var, atoms | own
            r = self._fresh("mod")
            facts = [
                z3.Implies(y >= 1, z3.And(r >= 0, r < y)),
                z3.Implies(z3.And(x >= 0, y >= 1), r <= x),
                z3.Implies(z3.And(x >= 0, x < y), r == x),
            ]
            var, own = self._atom(r, facts)
            return var, atoms | own
        if kind in _NONLINEAR or kind in (z3.Z3_OP_POWER, z3.Z3_OP_REM):
            raise Uninterpretable(f"cannot abstract {t.decl()}")  # pragma: no cover
        return _rebuild(t, args), atoms

    def facts(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        return [f for a in sorted(atoms) for f in self._atoms[a].facts]

    def monotonicity(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        """``0 <= x <= k*u and 0 <= y <= m*v`` implies ``x*y <= k*m*(u*v)``, for every pair of
        products among ``atoms`` and scales ``k``, ``m`` from 1 and the coefficients of ``x``,
        ``y`` (any scale is sound; these are the ones a proof is likely to need)."""
        products = [self._atoms[a] for a in sorted(atoms) if self._atoms[a].factors is not None]
        lemmas: list[z3.BoolRef] = []
        for p, q in itertools.permutations(products, 2):
            assert p.factors is not None and q.factors is not None
            x, y = p.factors
            for u, v in (q.factors, q.factors[::-1]):
                for k in _scales(x):
                    for m in _scales(y):
                        lemmas.append(
                            z3.Implies(
                                z3.And(x >= 0, x <= k * u, y >= 0, y <= m * v),
                                p.var <= k * m * q.var,
                            )
                        )
        return lemmas

    def structure(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        """Exact identities and order facts between the products among ``atoms``, with the
        facts of the atoms they introduce. All hold for every integer value of the factors:

        - a factor that is an ``If(c, a, b)``: ``c ⇒ p == a·y``, ``¬c ⇒ p == b·y``;
        - a factor that is a linear sum: ``p`` equals the sum of the products of its terms
          (distributivity), each an atom shared with the rest of the abstraction;
        - products with a common factor ``y``: ``x == u ⇒ x·y == u·y``, and
          ``x >= u + 1 ⇒ x·y >= u·y + y`` for ``y >= 0`` (``<=`` for ``y <= 0``);
        - four products ``x·y, x·v, u·y, u·v``: ``(x - u)·(y - v)`` has the sign of its
          factors' product (a rectangle).
        """
        known = set(atoms)
        lemmas: list[z3.BoolRef] = []
        todo = [a for a in sorted(atoms) if self._atoms[a].factors is not None]
        while todo and len(known) - len(atoms) < _MAX_STRUCTURE_ATOMS:
            atom = self._atoms[todo.pop()]
            assert atom.factors is not None
            x, y = atom.factors
            made: frozenset[int] = frozenset()
            for f, other in ((x, y), (y, x)):
                if z3.is_app(f) and f.decl().kind() == z3.Z3_OP_ITE:
                    c, a, b = f.children()
                    then, more = self._times(a, other)
                    made |= more
                    other_, more = self._times(b, other)
                    made |= more
                    lemmas += [z3.Implies(c, atom.var == then),
                               z3.Implies(z3.Not(c), atom.var == other_)]  # fmt: skip
                    break
            else:
                lx, ly = _linear(x), _linear(y)
                if max(len(lx), len(ly)) > 1 and len(lx) * len(ly) <= _MAX_DISTRIBUTED:
                    total: list[Term] = []
                    for (u, k), (v, m) in itertools.product(lx, ly):
                        term, more = self._times(u, v)
                        made |= more
                        total.append(term * (k * m) if k * m != 1 else term)
                    lemmas.append(atom.var == z3.Sum(total))
            for a in sorted(made - known):
                known.add(a)
                lemmas += self._atoms[a].facts
                if self._atoms[a].factors is not None:
                    todo.append(a)
        lemmas += self._orders(frozenset(known))
        return lemmas

    def _times(self, a: Term, b: Term) -> tuple[Term, frozenset[int]]:
        """``a * b`` as the abstraction writes it: linear when a factor is a constant."""
        if z3.is_int_value(a) or z3.is_int_value(b):
            return a * b, frozenset()
        return self.product(a, b)

    def _orders(self, atoms: frozenset[int]) -> list[z3.BoolRef]:
        """The common-factor and rectangle facts of :meth:`structure`."""
        partners: dict[int, dict[int, tuple[Term, Term]]] = {}  # factor → partner → (it, p)
        for a in sorted(atoms):
            atom = self._atoms[a]
            if atom.factors is None:
                continue
            x, y = atom.factors
            partners.setdefault(y.get_id(), {})[x.get_id()] = (x, atom.var)
            partners.setdefault(x.get_id(), {})[y.get_id()] = (y, atom.var)
        factor = {f: t for group in partners.values() for f, (t, _) in group.items()}
        lemmas: list[z3.BoolRef] = []
        for f, group in partners.items():
            y = factor.get(f)
            if y is None:
                continue
            for (x, p), (u, q) in itertools.permutations(group.values(), 2):
                key: tuple[int, ...] = (p.get_id(), q.get_id(), f)
                found = self._orders_made.get(key)
                if found is None:
                    found = self._orders_made[key] = [
                        z3.Implies(x == u, p == q),
                        z3.Implies(z3.And(y >= 0, x >= u + 1), p >= q + y),
                        z3.Implies(z3.And(y <= 0, x >= u + 1), p <= q + y),
                    ]
                lemmas += found
        for (f, fs), (g, gs) in itertools.combinations(partners.items(), 2):
            common = sorted(fs.keys() & gs.keys())
            for i, j in itertools.combinations(common, 2):
                (y, xy), (v, xv) = fs[i], fs[j]
                uy, uv = gs[i][1], gs[j][1]
                key = (xy.get_id(), xv.get_id(), uy.get_id(), uv.get_id())
                found = self._orders_made.get(key)
                if found is None:
                    x, u = factor[f], factor[g]
                    same = z3.Or(z3.And(x >= u, y >= v), z3.And(x <= u, y <= v))
                    differ = z3.Or(z3.And(x >= u, y <= v), z3.And(x <= u, y >= v))
                    found = self._orders_made[key] = [
                        z3.Implies(same, xy + uv >= xv + uy),
                        z3.Implies(differ, xy + uv <= xv + uy),
                    ]
                lemmas += found
                if len(lemmas) > _MAX_ORDER_LEMMAS:
                    return lemmas
        return lemmas


#: bounds on what :meth:`Abstraction.structure` adds: atoms it may introduce, products one
#: distributed product may expand into, and order facts
_MAX_STRUCTURE_ATOMS = 64
_MAX_DISTRIBUTED = 6
_MAX_ORDER_LEMMAS = 5_000


def _linear(t: Term) -> list[tuple[Term, int]]:
    """``t`` as ``Σ k·leaf``: its terms that are not sums, differences, negations or constant
    multiples, with their coefficients (a constant's leaf is the literal 1)."""
    coeffs: dict[int, tuple[Term, int]] = {}

    def visit(node: Term, k: int) -> None:
        kind = node.decl().kind() if z3.is_app(node) else None
        if z3.is_int_value(node):
            one = z3.IntVal(1)
            prev = coeffs.get(one.get_id(), (one, 0))[1]
            coeffs[one.get_id()] = (one, prev + k * node.as_long())
        elif kind == z3.Z3_OP_ADD:
            for child in node.children():
                visit(child, k)
        elif kind == z3.Z3_OP_SUB:
            first, *rest = node.children()
            visit(first, k)
            for child in rest:
                visit(child, -k)
        elif kind == z3.Z3_OP_UMINUS:
            visit(node.children()[0], -k)
        elif (
            kind == z3.Z3_OP_MUL
            and node.num_args() == 2
            and any(z3.is_int_value(c) for c in node.children())
        ):
            c, leaf = sorted(node.children(), key=lambda n: not z3.is_int_value(n))
            visit(leaf, k * c.as_long())
        else:
            prev = coeffs.get(node.get_id(), (node, 0))[1]
            coeffs[node.get_id()] = (node, prev + k)

    visit(t, 1)
    return [(leaf, k) for leaf, k in coeffs.values() if k != 0]


def _scales(t: Term) -> list[int]:
    """1 and the positive constant coefficients in a linear term."""
    found = {1}
    todo = [t]
    while todo:
        node = todo.pop()
        if z3.is_app(node) and node.num_args():
            if node.decl().kind() == z3.Z3_OP_MUL:
                found |= {c.as_long() for c in node.children() if z3.is_int_value(c)}
            todo.extend(node.children())
    return sorted(c for c in found if c > 0)


def _rebuild(t: Term, args: list[Term]) -> Term:
    """``t``'s operator applied to ``args`` (z3's low-level call: this is the hot path)."""
    array = (z3.Ast * len(args))()
    for i, arg in enumerate(args):
        array[i] = arg.as_ast()
    ctx = t.ctx
    return z3.z3._to_expr_ref(z3.Z3_mk_app(ctx.ref(), t.decl().ast, len(args), array), ctx)
