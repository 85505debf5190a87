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
        # Python raises on a zero divisor; z3 leaves x/0 unspecified. Make the crash a path.
        if self.explorer.decide(den == 0):
            raise ZeroDivisionError(f"unchecked {op} by a symbolic divisor that can be 0")
        # For a negative dividend z3's Euclidean division differs from Python's floor division.
        if self.explorer.decide(z3.Or(num < 0, den < 0)):
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
        self.explorer.assume(root * root <= self.term, self.term < (root + 1) * (root + 1))
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


class OutOfTime(Exception):
    """The exploration's time budget ran out: some paths were not explored."""


@dataclass
class Explorer:
    """Depth-first exploration of every feasible path, by re-execution with decision prefixes.

    ``budget_seconds`` bounds the whole exploration; when it runs out, ``complete`` is False and
    whatever was not explored must not be claimed.
    """

    timeout_ms: int = 10_000
    budget_seconds: float = float("inf")
    complete: bool = True
    assumptions: list[z3.BoolRef] = field(default_factory=list)
    _prefix: list[bool] = field(default_factory=list)
    _taken: list[bool] = field(default_factory=list)
    _pending: list[list[bool]] = field(default_factory=list)
    _condition: list[z3.BoolRef] = field(default_factory=list)
    _fresh: int = 0
    _deadline: float = float("inf")
    unknown_branches: int = 0

    def fresh(self, name: str) -> Term:
        self._fresh += 1
        return z3.Int(f"{name}!{self._fresh}")

    def assume(self, *facts: z3.BoolRef) -> None:
        """Facts true on every path from here (definitions of fresh symbols)."""
        self._condition.extend(facts)

    def _feasible(self, extra: z3.BoolRef) -> z3.CheckSatResult:
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms)
        solver.add(*self.assumptions, *self._condition, extra)
        return solver.check()

    def decide(self, cond: z3.BoolRef) -> bool:
        if time.perf_counter() > self._deadline:
            raise OutOfTime
        depth = len(self._taken)
        if depth < len(self._prefix):
            choice = self._prefix[depth]
        else:
            can_true = self._feasible(cond)
            can_false = self._feasible(z3.Not(cond))
            if z3.unknown in (can_true, can_false):
                self.unknown_branches += 1
            true_ok, false_ok = can_true != z3.unsat, can_false != z3.unsat
            if true_ok and false_ok:
                self._pending.append([*self._taken, False])
                choice = True
            elif true_ok or false_ok:
                choice = true_ok
            else:
                raise RuntimeError("an infeasible path was entered")  # cannot happen
        self._taken.append(choice)
        self._condition.append(cond if choice else z3.Not(cond))
        return choice

    def explore(self, run: Callable[[Explorer], Path]) -> list[Path]:
        """Run ``run`` once per feasible path; each run re-creates its symbols identically."""
        paths: list[Path] = []
        self._pending = [[]]
        self._deadline = time.perf_counter() + self.budget_seconds
        while self._pending:
            self._prefix = self._pending.pop()
            self._taken, self._condition, self._fresh = [], [], 0
            try:
                path = run(self)
            except OutOfTime:
                self.complete = False
                break
            path.condition = list(self._condition)
            paths.append(path)
        return paths


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
        if not 0 <= value <= MAX_UINT256:
            raise Revert("uint256 out of range")
        self.writes[key] = value

    def require(self, condition: Any, reason: str) -> None:
        if not condition:
            raise Revert(reason)

    def emit(self, event: Event) -> None:
        self.events.append(event)
