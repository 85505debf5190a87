"""Transactions and the registry that maps each transaction type to its spec function.

A transaction is a frozen dataclass; its ``KIND`` (e.g. ``"erc20.transfer"``) names it in workload
files. Spec modules register the function that applies it with :func:`spec`. Engines dispatch
through :func:`execute_tx`, one dictionary lookup on the hot path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar, TypeVar

from .context import Context


@dataclasses.dataclass(frozen=True, slots=True)
class Tx:
    """Base of every transaction: who signed it."""

    KIND: ClassVar[str] = ""
    sender: int


T = TypeVar("T", bound=Tx)
SpecFn = Callable[[T, Context], None]

#: ``KIND`` → transaction class, for loading workloads.
TX_TYPES: dict[str, type[Tx]] = {}
#: transaction class → the spec function that applies it.
SPEC: dict[type[Tx], Callable[[Tx, Context], None]] = {}
#: state key schema name → the names of its integer components (for validation and docs).
KEY_SCHEMAS: dict[str, tuple[str, ...]] = {}


def spec(tx_type: type[T]) -> Callable[[SpecFn[T]], SpecFn[T]]:
    """Register the decorated function as the semantics of ``tx_type``."""

    def register(fn: SpecFn[T]) -> SpecFn[T]:
        kind = tx_type.KIND
        if not kind or kind in TX_TYPES:
            raise ValueError(f"transaction kind {kind!r} of {tx_type.__name__} is empty or taken")
        TX_TYPES[kind] = tx_type
        SPEC[tx_type] = fn  # type: ignore[assignment]
        return fn

    return register


def declare_keys(**schemas: tuple[str, ...]) -> None:
    """Declare state key schemas, e.g. ``declare_keys(**{"erc20.bal": ("token", "account")})``."""
    for name, parts in schemas.items():
        if name in KEY_SCHEMAS:
            raise ValueError(f"key schema {name!r} declared twice")
        KEY_SCHEMAS[name] = parts


class UnknownTransaction(LookupError):
    """A transaction whose type has no registered spec function."""


def spec_of(tx: Tx) -> Callable[[Tx, Context], None]:
    """The spec function for ``tx``; a clear error for an unregistered type."""
    try:
        return SPEC[type(tx)]
    except KeyError:
        raise UnknownTransaction(f"no spec registered for {type(tx).__name__}") from None
