"""Symbolic values: what the spec computes with when it runs under z3.

The spec is not encoded a second time: its own functions run, and the values they get are
:class:`Sym` (a z3 integer term) and :class:`SymBool` (a z3 condition). Python's operators on
them build terms; a condition used as a Python ``bool`` (``if``, ``require``, ``min``) asks the
:class:`Decider` — the path explorer (checker/symbolic_explorer.py) — which way to go. z3
integers are unbounded, exactly like Python's, and the spec's own checks (``uint``) bound them,
so the symbolic semantics is the concrete one. Anything the values cannot interpret (``int()``
of a term, a term as a dict key) raises :class:`Uninterpretable` naming it — never skipped.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import z3


class Uninterpretable(TypeError):
    """A construct the symbolic values cannot interpret; the message names it."""


#: a z3 integer term (z3 ships no type information, so it is Any to mypy)
Term: TypeAlias = Any


class Decider(Protocol):
    """What a symbolic value needs from the exploration it belongs to."""

    def decide(self, cond: z3.BoolRef) -> bool:
        """Which way a condition goes on this path (the explorer forks on it)."""
        ...

    def fresh(self, name: str) -> Term:
        """A new integer symbol, named the same on every re-run of the path."""
        ...

    def assume(self, *facts: z3.BoolRef) -> None:
        """Facts true on every path from here (definitions of fresh symbols)."""
        ...


def as_term(value: object) -> Term:
    """The z3 term of a symbolic value or a Python int (a bool counts as 0 or 1)."""
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

    def __init__(self, term: Term, explorer: Decider) -> None:
        self.term = term
        self.explorer = explorer

    def _wrap(self, term: Term) -> Sym:
        return Sym(term, self.explorer)

    def __add__(self, other: object) -> Sym:
        return self._wrap(self.term + as_term(other))

    def __radd__(self, other: object) -> Sym:
        return self._wrap(as_term(other) + self.term)

    def __sub__(self, other: object) -> Sym:
        return self._wrap(self.term - as_term(other))

    def __rsub__(self, other: object) -> Sym:
        return self._wrap(as_term(other) - self.term)

    def __mul__(self, other: object) -> Sym:
        return self._wrap(self.term * as_term(other))

    def __rmul__(self, other: object) -> Sym:
        return self._wrap(as_term(other) * self.term)

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
        return self._divide(self.term, as_term(other), "//")

    def __rfloordiv__(self, other: object) -> Sym:
        return self._divide(as_term(other), self.term, "//")

    def __mod__(self, other: object) -> Sym:
        return self._divide(self.term, as_term(other), "%")

    def __neg__(self) -> Sym:
        return self._wrap(-self.term)

    def __lt__(self, other: object) -> SymBool:
        return SymBool(self.term < as_term(other), self.explorer)

    def __le__(self, other: object) -> SymBool:
        return SymBool(self.term <= as_term(other), self.explorer)

    def __gt__(self, other: object) -> SymBool:
        return SymBool(self.term > as_term(other), self.explorer)

    def __ge__(self, other: object) -> SymBool:
        return SymBool(self.term >= as_term(other), self.explorer)

    def __eq__(self, other: object) -> SymBool:  # type: ignore[override]
        return SymBool(self.term == as_term(other), self.explorer)

    def __ne__(self, other: object) -> SymBool:  # type: ignore[override]
        return SymBool(self.term != as_term(other), self.explorer)

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

    def __init__(self, term: z3.BoolRef, explorer: Decider) -> None:
        self.term = term
        self.explorer = explorer

    def __bool__(self) -> bool:
        return self.explorer.decide(self.term)

    def __invert__(self) -> SymBool:
        return SymBool(z3.Not(self.term), self.explorer)

    def __repr__(self) -> str:
        return f"SymBool({self.term})"
