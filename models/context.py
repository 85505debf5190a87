"""The only door from the spec to state: the :class:`Context` every engine supplies.

Spec functions never touch a dict, a lock or a solver; they call ``ctx.read``, ``ctx.write``,
``ctx.require`` and ``ctx.emit``. That is what lets the sequential engine, Block-STM and the z3
checker all run the very same spec code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

#: A state key: a schema name followed by integer components, e.g. ``("erc20.bal", token, acct)``.
Key = tuple[str | int, ...]
#: An event (log): its name followed by its integer fields, e.g. ``("Transfer", tok, a, b, 5)``.
Event = tuple[object, ...]


class Revert(Exception):
    """Raised by ``ctx.require``: the transaction reverts, its writes are discarded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BlockEnv:
    """What a block tells its transactions, and the optional per-transaction fee.

    When ``fee`` is non-zero every transaction first pays ``fee`` of ``fee_token`` to
    ``fee_recipient`` — the classic hot key that serialises naive parallel engines.
    """

    number: int = 1
    timestamp: int = 0
    fee_recipient: int = 0
    fee_token: int = 0
    fee: int = 0


class Checks(Protocol):
    """The part of a context pure formulas need: a way to revert."""

    def require(self, condition: bool, reason: str) -> None: ...


class Context(Checks, Protocol):
    """What a spec function may do. ``read`` of an absent key returns 0, as EVM storage does."""

    @property
    def block(self) -> BlockEnv: ...

    def read(self, key: Key) -> int: ...

    def write(self, key: Key, value: int) -> None: ...

    def emit(self, event: Event) -> None: ...


class Reverting:
    """A context-free ``Checks``: lets the spec's pure formulas run on plain integers."""

    def require(self, condition: bool, reason: str) -> None:
        if not condition:
            raise Revert(reason)


_Helper = TypeVar("_Helper", bound=Callable[..., object])


def read_only(helper: _Helper) -> _Helper:
    """Declare a spec helper read-only: it reads state through ``ctx`` and returns a value,
    never writing or emitting. A context that can merge all paths of such a call into one
    value — the z3 symbolic context, through its ``merge_read_only`` — does, so that the
    helper's branches do not multiply its caller's; every other context just calls it."""

    @functools.wraps(helper)
    def call(ctx: object, *args: object) -> object:
        merge = getattr(ctx, "merge_read_only", None)
        return helper(ctx, *args) if merge is None else merge(helper, *args)

    return cast(_Helper, call)
