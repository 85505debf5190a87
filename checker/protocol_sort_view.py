"""The commit protocol's `View` over uninterpreted sorts, for proofs about any number of shards.

Transactions, shards and accounts are uninterpreted z3 sorts and every state variable is a
function over them (:class:`Universe`); an action run on a :class:`SortView` builds each
updated function by substitution, so that `prove_inductive` (checker/protocol_proofs.py) can
check the invariant for every instance size at once.

It lives in checker/, not beside `FiniteView` in executor/sharded/finite.py: FiniteView is what
the simulator and the sharded engine run the protocol on (and executor/ never imports
checker/), whereas SortView is z3 through and through and only proofs use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from txlanes.executor.sharded.protocol import ACCOUNT, SHARD, STATE, TXN


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
        body = _as_term(fn(*xs, self.funcs[var](*xs)), STATE[var][1])
        self.funcs[var] = lambda *ys: z3.substitute(body, *zip(xs, ys, strict=True))

    def update_row(self, var: str, t: Any, fn: Callable[[Any, Any], Any]) -> None:
        old = self.funcs[var]
        (x,) = self._vars((SHARD,))
        body = _as_term(fn(x, old(t, x)), STATE[var][1])

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


def _as_term(value: Any, kind: str) -> Any:
    """A z3 term for a value an update computed (a Python constant where it did not depend on
    state)."""
    if isinstance(value, bool | int):
        return z3.BoolVal(value) if kind == "bool" else z3.IntVal(value)
    return value


class Universe:
    """The sorts, the rigid functions (an instance's shape: who takes part where, on which
    account, with what amounts) and the pre-state functions of the inductive proofs."""

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
