"""A finite protocol instance and the view that runs the protocol's actions over it.

The same `FiniteView` serves the concrete simulator (every value a Python int or bool) and the
bounded model checker (indices concrete, values z3 terms): where every operand is concrete the
logic is Python's, and otherwise the pluggable ``logic`` (z3's) builds a term. Guards that are
concretely false disable the action at once; symbolic guards are collected for the solver.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .protocol import ACCOUNT, SHARD, STATE, TXN, TwoPhaseCommit

Index = tuple[int, ...]
State = dict[str, dict[Index, Any]]
Step = tuple[str, Index]  # an action and its parameters


class Disabled(Exception):
    """The action's guard is false in this state."""


class Logic(Protocol):
    """Term constructors for non-concrete operands (z3's And, Or, Not, Implies, If, Sum)."""

    def And(self, *a: Any) -> Any: ...
    def Or(self, *a: Any) -> Any: ...
    def Not(self, a: Any) -> Any: ...
    def Implies(self, a: Any, b: Any) -> Any: ...
    def If(self, c: Any, a: Any, b: Any) -> Any: ...


@dataclass(frozen=True)
class Instance:
    """Transactions over shards: who participates where, on which account, with what amounts.

    Amounts and initial balances are ints for the simulator, or z3 terms for the model checker.
    """

    shards: int
    txns: int
    accounts: int
    part: frozenset[tuple[int, int]]
    account: Mapping[tuple[int, int], int]
    debit: Mapping[tuple[int, int], Any]
    credit: Mapping[tuple[int, int], Any]
    balance: tuple[Any, ...]

    def domain(self, sort: str) -> range:
        return range({TXN: self.txns, SHARD: self.shards, ACCOUNT: self.accounts}[sort])

    def indices(self, sorts: tuple[str, ...]) -> Iterator[Index]:
        return itertools.product(*(self.domain(s) for s in sorts))

    def rigid(self, name: str, t: int, *rest: int) -> Any:
        p = rest[-1]
        if name == "part":
            return (t, p) in self.part
        if name == "conflict":  # two participants on one account
            o = rest[0]
            return {(t, p), (o, p)} <= self.part and self.account[t, p] == self.account[o, p]
        if name == "account":
            return self.account[t, p]
        amounts = self.debit if name == "debit" else self.credit
        return amounts.get((t, p), 0)

    def with_amounts(
        self, debit: Mapping[tuple[int, int], Any], credit: Mapping[tuple[int, int], Any],
        balance: tuple[Any, ...],
    ) -> Instance:  # fmt: skip
        return Instance(
            self.shards, self.txns, self.accounts, self.part, self.account, debit, credit, balance
        )


def standard_instance(shards: int) -> Instance:
    """Two transactions that contend on one key. t0 moves 3 from shard 0 to shard 1; t1 moves 4
    from the same account on shard 0 to every other shard. The account holds 7, enough for both,
    so only the locks keep them apart. Shard p has accounts 2p (t0's, and t1's on shard 0) and
    2p+1."""
    if shards < 2:
        raise ValueError(f"a cross-shard transaction needs at least 2 shards, got {shards}")
    part = {(0, 0), (0, 1)} | {(1, p) for p in range(shards)}
    account = {
        (t, p): 2 * p + (1 if t == 1 and p > 0 else 0) for t in (0, 1) for p in range(shards)
    }
    credit = {(0, 1): 3} | {(1, p): 0 for p in range(1, shards)}
    credit[1, 1] = 4 - (shards - 2)
    credit |= {(1, p): 1 for p in range(2, shards)}
    if credit[1, 1] < 0:
        raise ValueError(f"the standard instance supports at most 6 shards, got {shards}")
    return Instance(
        shards=shards,
        txns=2,
        accounts=2 * shards,
        part=frozenset(part),
        account=account,
        debit={(0, 0): 3, (1, 0): 4},
        credit=credit,
        balance=(7,) + (0,) * (2 * shards - 1),
    )


def initial_state(instance: Instance) -> State:
    state: State = {}
    for var, (sorts, kind) in STATE.items():
        zero = False if kind == "bool" else 0
        state[var] = {i: zero for i in instance.indices(sorts)}
    state["balance"] = {(a,): b for a, b in enumerate(instance.balance)}
    return state


class ViewLogic:
    """The logic half of a `View`: concrete where the operands are, else the z3-like ``logic``.
    Subclasses supply state access and ``domain``."""

    logic: Logic | None = None
    guards: list[Any]

    def domain(self, sort: str) -> Iterable[Any]:
        raise NotImplementedError

    def _symbolic(self) -> Logic:
        if self.logic is None:
            raise TypeError("a non-concrete value reached the concrete protocol view")
        return self.logic

    def require(self, *conditions: Any) -> None:
        for c in conditions:
            if c is False:
                raise Disabled
            if c is not True:
                self.guards.append(c)

    def and_(self, *conditions: Any) -> Any:
        return self._fold(conditions, absorbing=False, build=lambda c: self._symbolic().And(*c))

    def or_(self, *conditions: Any) -> Any:
        return self._fold(conditions, absorbing=True, build=lambda c: self._symbolic().Or(*c))

    @staticmethod
    def _fold(
        conditions: tuple[Any, ...], absorbing: bool, build: Callable[[list[Any]], Any]
    ) -> Any:
        """Decide concretely where a concrete operand settles it; build a term for the rest."""
        if any(c is absorbing for c in conditions):
            return absorbing
        rest = [c for c in conditions if c is not (not absorbing)]
        if not rest:
            return not absorbing
        return rest[0] if len(rest) == 1 else build(rest)

    def not_(self, condition: Any) -> Any:
        return (not condition) if isinstance(condition, bool) else self._symbolic().Not(condition)

    def implies(self, a: Any, b: Any) -> Any:
        return self.or_(self.not_(a), b)

    def ite(self, condition: Any, then: Any, other: Any) -> Any:
        if isinstance(condition, bool):
            return then if condition else other
        return self._symbolic().If(condition, then, other)

    def forall(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        return self.and_(*(fn(x) for x in self.domain(sort)))

    def exists(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        return self.or_(*(fn(x) for x in self.domain(sort)))

    def sum(self, sort: str, fn: Callable[[Any], Any]) -> Any:
        return sum((fn(x) for x in self.domain(sort)), 0)


# Here, not by SortView: the simulator (explore.py) runs on it; executor/ never imports checker/
class FiniteView(ViewLogic):
    """The protocol's `View` over a finite instance (see the module docstring)."""

    def __init__(self, instance: Instance, state: State, logic: Logic | None = None) -> None:
        self.instance = instance
        self.state = {var: dict(entries) for var, entries in state.items()}
        self.logic = logic
        self.guards = []

    def domain(self, sort: str) -> range:
        return self.instance.domain(sort)

    def get(self, var: str, *index: Any) -> Any:
        return self.state[var][index]

    def set(self, var: str, index: tuple[Any, ...], value: Any) -> None:
        self.state[var][index] = value

    def update(self, var: str, fn: Callable[..., Any]) -> None:
        self.state[var] = {i: fn(*i, old) for i, old in self.state[var].items()}

    def update_row(self, var: str, t: Any, fn: Callable[[Any, Any], Any]) -> None:
        entries = self.state[var]
        for i in [i for i in entries if i[0] == t]:
            entries[i] = fn(i[1], entries[i])

    def rigid(self, name: str, *index: Any) -> Any:
        return self.instance.rigid(name, *index)


def steps(protocol: TwoPhaseCommit, instance: Instance) -> Iterator[Step]:
    """Every action instance: each action with each tuple of parameters."""
    for action, sorts in protocol.ACTIONS.items():
        for params in instance.indices(sorts):
            yield action, params


def run_step(view: FiniteView, protocol: TwoPhaseCommit, step: Step) -> None:
    """Run one action on the view; raises Disabled when its guard is concretely false."""
    action, params = step
    getattr(protocol, action)(view, *params)


def successor(
    protocol: TwoPhaseCommit, instance: Instance, state: State, step: Step
) -> State | None:
    """The concrete next state, or None when the step is not enabled."""
    view = FiniteView(instance, state)
    try:
        run_step(view, protocol, step)
    except Disabled:
        return None
    return view.state
