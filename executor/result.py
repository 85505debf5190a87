"""What every engine returns: receipts, the post-state diff and the per-transaction trace.

The trace is the contract between engines and the checker: per transaction, the reads of its
final incarnation with the writer each one saw, its writes, and how many incarnations it took.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from txlanes.models.context import Event, Key
from txlanes.models.workload import Block

#: The version a read saw when no transaction of the block had written the key before it.
PRE_STATE = -1


class Receipt(NamedTuple):
    """Outcome of one transaction. A reverted transaction has no events (EVM drops its logs)."""

    ok: bool
    reason: str | None
    events: tuple[Event, ...]


class TxTrace(NamedTuple):
    """One transaction's final incarnation: key → writer index read (or PRE_STATE), writes."""

    reads: dict[Key, int]
    writes: dict[Key, int]
    incarnations: int = 1


@dataclass
class BlockResult:
    """``writes`` is the post-state diff: every key the block wrote, with its final value."""

    writes: dict[Key, int]
    #: Sequences, not lists: an engine may hand back results it decodes only when read.
    receipts: Sequence[Receipt]
    traces: Sequence[TxTrace]
    stats: dict[str, int] = field(default_factory=dict)
    #: The serial order the result is equivalent to, when it is not block order (an engine that
    #: promises only serializability, like the sharded one).
    order: list[int] | None = None


class Engine(Protocol):
    """Anything that executes a block over a pre-state without mutating it."""

    name: str

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult: ...


def apply_writes(state: dict[Key, int], writes: Iterable[tuple[Key, int]]) -> None:
    """Apply a diff in place, keeping state canonical: a zero value is an absent key."""
    for key, value in writes:
        if value:
            state[key] = value
        else:
            state.pop(key, None)
