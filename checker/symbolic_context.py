"""The spec's ``ctx`` under z3: symbolic state for the symbolic values and the path explorer.

Every key read is one fresh uint256 symbol (made on first use and recorded in ``pre``, the
frame a property compares against); configuration keys can be fixed to concrete values; a key
with a symbolic component is :class:`Uninterpretable`. With the explorer's ``prune_reverts``,
``require`` adds its condition to the path instead of forking to a revert path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from txlanes.models.context import BlockEnv, Event, Key, Revert
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import key_to_str

from .symbolic_explorer import Explorer
from .symbolic_values import Sym, SymBool, Term, Uninterpretable


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

    def merge_read_only(self, helper: Callable[..., Any], *args: Any) -> Any:
        """A ``@read_only`` spec helper's call as one if-then-else value over all its paths
        (:meth:`Explorer.merge`), so that its forks do not multiply the caller's."""
        name = f"{helper.__module__}.{helper.__qualname__}"
        return self.explorer.merge(lambda: helper(self, *args), self, name)

    def emit(self, event: Event) -> None:
        self.events.append(event)
