"""Equivalence with sequential execution in block order — what Block-STM promises — or in the
serial order an engine reports (``BlockResult.order``: the sharded engine's promise).

Per transaction, in block order: the receipt, the reads (each key and the writer it saw), the
writes; then the block's post-state diff. The first difference is reported with the transaction,
the key, both values and which writer each side read, because "final states differ" alone sends
an engine's author on a day-long hunt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from txlanes.executor.result import (
    PRE_STATE,
    BlockResult,
    Receipt,
    TxTrace,
    apply_writes,
    receipt_to_json,
)
from txlanes.executor.sequential import SequentialEngine
from txlanes.models.context import Key
from txlanes.models.tx import Tx
from txlanes.models.workload import Block, Workload, key_to_str, tx_to_json, uint_to_json


@dataclass(frozen=True)
class Divergence:
    """The first place an engine's result differs from the reference."""

    block: int
    tx_index: int | None  # None: only the post-state differs
    aspect: str  # "receipt", "read", "repeatable read", "write" or "state"
    key: Key | None
    expected: object
    observed: object
    tx: Tx | None = None
    expected_writer: int | None = None
    observed_writer: int | None = None

    def explain(self) -> str:
        where = f"block {self.block}"
        if self.tx_index is not None:
            where += f", tx {self.tx_index}"
            if self.tx is not None:
                where += f" ({describe_tx(self.tx)})"
        key = key_to_str(self.key) if self.key is not None else ""
        if self.aspect == "read":
            same = (
                " (the same value, but another version: a stale read that happened to be "
                "harmless here)"
                if self.expected == self.observed
                else ""
            )
            return (
                f"{where}: read {key} from {_writer(self.expected_writer)} in sequential "
                f"execution, but from {_writer(self.observed_writer)} in the engine"
                + _values(self.expected, self.observed)
                + same
            )
        if self.aspect == "repeatable read":
            return (
                f"{where}: read {key} twice in one incarnation, from "
                f"{_writer(self.expected_writer)} and from {_writer(self.observed_writer)}"
                + _values(self.expected, self.observed)
                + " (a non-repeatable read: a transaction must see one version of a key)"
            )
        if self.aspect == "write":
            return f"{where}: wrote {key}" + _values(self.expected, self.observed)
        if self.aspect == "state":
            return f"{where}: post-state {key}" + _values(self.expected, self.observed)
        return f"{where}: receipt" + _values(self.expected, self.observed)

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "tx": self.tx_index,
            "aspect": self.aspect,
            "key": None if self.key is None else key_to_str(self.key),
            "expected": _value_to_json(self.expected),
            "observed": _value_to_json(self.observed),
            "expected_writer": self.expected_writer,
            "observed_writer": self.observed_writer,
        }


def _value_to_json(value: object) -> object:
    if isinstance(value, Receipt):
        return receipt_to_json(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return uint_to_json(value)
    return str(value)


def describe_tx(tx: Tx) -> str:
    """``erc20.transfer sender=1, token=2, ...`` — how reports name a transaction."""
    fields = tx_to_json(tx)
    kind = fields.pop("type")
    return f"{kind} " + ", ".join(f"{k}={v}" for k, v in fields.items())


def _writer(index: int | None) -> str:
    if index is None:
        return "nothing (the key was not read)"
    return "the pre-state" if index == PRE_STATE else f"the write of tx {index}"


def _values(expected: object, observed: object) -> str:
    return f": expected {expected!r}, observed {observed!r}"


_ABSENT = "absent"


def reference(block: Block, state: Mapping[Key, int], order: list[int] | None) -> BlockResult:
    """What sequential execution gives in ``order`` (block order when None), indexed by block
    position: the expected result for an engine that promises that serial order."""
    engine = SequentialEngine()
    if order is None:
        return engine.execute(block, state)
    if sorted(order) != list(range(len(block.txs))):
        raise ValueError(f"the engine's order is not a permutation of the block: {order}")
    ran = engine.execute(Block(tuple(block.txs[i] for i in order), block.env), state)

    def back(index: int) -> int:
        return index if index == PRE_STATE else order[index]

    at = {i: position for position, i in enumerate(order)}
    traces = [ran.traces[at[i]] for i in range(len(order))]
    return BlockResult(
        ran.writes,
        [ran.receipts[at[i]] for i in range(len(order))],
        [TxTrace({k: back(w) for k, w in t.reads.items()}, t.writes) for t in traces],
        ran.stats,
        order,
    )


def first_divergence(
    expected: BlockResult,
    observed: BlockResult,
    txs: tuple[Tx, ...],
    pre_state: Mapping[Key, int],
    *,
    block: int = 0,
    traces: bool = True,
) -> Divergence | None:
    """The first difference between two results of the same block, or None if equivalent.

    ``traces=False`` compares receipts and the post-state only, for engines that report no trace.
    """

    def seen(result: BlockResult, index: int, key: Key) -> object:
        """The value a read saw, reconstructed from the trace: the writer's write or pre-state."""
        return _seen_at(result, pre_state, index, key, result.traces[index].reads.get(key))

    if len(observed.receipts) != len(txs):
        return Divergence(
            block,
            None,
            "receipt",
            None,
            f"{len(txs)} receipts",
            f"{len(observed.receipts)} receipts",
        )
    if traces and len(observed.traces) != len(txs):
        return Divergence(
            block, None, "read", None, f"{len(txs)} traces", f"{len(observed.traces)} traces"
        )
    for i, tx in enumerate(txs):
        want, got = expected.receipts[i], observed.receipts[i]
        if want != got:
            return Divergence(block, i, "receipt", None, want, got, tx)
        if not traces:
            continue
        found = _diff_reads(expected.traces[i].reads, observed.traces[i].reads)
        if found is not None:
            key, want_w, got_w = found
            return Divergence(
                block,
                i,
                "read",
                key,
                seen(expected, i, key),
                seen(observed, i, key),
                tx,
                want_w,
                got_w,
            )
        trace = observed.traces[i]
        for key, writer in trace.rereads:
            first = trace.reads.get(key)
            if writer != first:
                return Divergence(
                    block,
                    i,
                    "repeatable read",
                    key,
                    seen(observed, i, key),
                    _seen_at(observed, pre_state, i, key, writer),
                    tx,
                    first,
                    writer,
                )
        wrong = _first_mismatch(expected.traces[i].writes, observed.traces[i].writes)
        if wrong is not None:
            return Divergence(
                block,
                i,
                "write",
                wrong,
                expected.traces[i].writes.get(wrong, _ABSENT),
                observed.traces[i].writes.get(wrong, _ABSENT),
                tx,
            )
    final = _first_mismatch(expected.writes, observed.writes)
    if final is not None:
        return Divergence(
            block,
            None,
            "state",
            final,
            expected.writes.get(final, _ABSENT),
            observed.writes.get(final, _ABSENT),
        )
    return None


def _seen_at(
    result: BlockResult, pre_state: Mapping[Key, int], index: int, key: Key, writer: int | None
) -> object:
    """The value transaction ``index`` saw reading ``key`` from ``writer``."""
    if writer is None:
        return _ABSENT
    if writer == PRE_STATE:
        return pre_state.get(key, 0)
    if 0 <= writer < index:
        return result.traces[writer].writes.get(key, _ABSENT)
    return f"<impossible writer {writer}>"


def _diff_reads(
    want: dict[Key, int], got: dict[Key, int]
) -> tuple[Key, int | None, int | None] | None:
    for key, writer in want.items():
        if got.get(key) != writer:
            return key, writer, got.get(key)
    for key, writer in got.items():
        if key not in want:
            return key, None, writer
    return None


def _first_mismatch(want: dict[Key, int], got: dict[Key, int]) -> Key | None:
    for key, value in want.items():
        if got.get(key, _ABSENT) != value:
            return key
    for key in got:
        if key not in want:
            return key
    return None


def run_divergence(
    workload: Workload,
    expected: Sequence[BlockResult],
    observed: Sequence[BlockResult],
    traces: bool = True,
) -> str | None:
    """The first divergence of a whole run from the sequential run ``expected``, explained.

    Each block is judged on the state the engine's own earlier blocks left: an engine that
    promises some serial order other than block order (``BlockResult.order``) ends a correct
    block in another state than sequential execution, and its next block starts there. Until
    such a block, that state is the sequential run's own.
    """
    state = dict(workload.state)
    own_chain = False
    for b, (block, got) in enumerate(zip(workload.blocks, observed, strict=True)):
        if got.order is None and not own_chain:
            want = expected[b]
        else:
            want = reference(block, state, got.order)
            own_chain = True
        found = first_divergence(want, got, block.txs, state, block=b, traces=traces)
        if found is not None:
            return found.explain()
        apply_writes(state, got.writes.items())
    return None
