"""What every engine returns: receipts, the post-state diff and the per-transaction trace.

The trace is the contract between engines and the checker: per transaction, the reads of its
final incarnation with the writer each one saw, its writes, and how many incarnations it took.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from txlanes.models.context import Event, Key
from txlanes.models.workload import Block, state_to_json, uint_to_json

#: The version a read saw when no transaction of the block had written the key before it.
PRE_STATE = -1


class Receipt(NamedTuple):
    """Outcome of one transaction. A reverted transaction has no events (EVM drops its logs)."""

    ok: bool
    reason: str | None
    events: tuple[Event, ...]


class TxTrace(NamedTuple):
    """One transaction's final incarnation: key → writer index read (or PRE_STATE), writes.

    ``rereads`` are the other reads of a key the incarnation read more than once, each with the
    writer it saw, for an engine that reports every read: one transaction must see one version
    of a key however often it reads it (repeatable reads), so each must name the writer in
    ``reads``. An engine that serves a repeated read from its first value reports none.
    """

    reads: dict[Key, int]
    writes: dict[Key, int]
    incarnations: int = 1
    rereads: tuple[tuple[Key, int], ...] = ()


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


def event_to_json(event: Event) -> list[object]:
    return [uint_to_json(f) if isinstance(f, int) and not isinstance(f, bool) else f for f in event]


def receipt_to_json(receipt: Receipt) -> dict[str, Any]:
    return {
        "ok": receipt.ok,
        "reason": receipt.reason,
        "events": [event_to_json(e) for e in receipt.events],
    }


def block_result_to_json(result: BlockResult) -> dict[str, Any]:
    """A block's result as ``txlanes run`` writes it (receipts, the diff with zeros kept, stats)."""
    return {
        "receipts": [receipt_to_json(r) for r in result.receipts],
        "writes": state_to_json(result.writes, keep_zero=True),
        "stats": result.stats,
    }
