"""Seeded bugs: engine variants the toolkit must catch. Its claim of power is that it kills all.

Each mutant is a one-method change to a correct engine, named after the real bug class it
stands for. Production Block-STM implementations have shipped several of these. The catalogue is
documented in docs/mutants.md; tests/test_mutants.py asserts that the default check budget kills
every one. They live beside the engines they break, so the one engine registry
(``registry.py``) names them as ``mutant:NAME`` like any other engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from txlanes.models import amm, erc20
from txlanes.models.context import Context, Key
from txlanes.models.spec import charge_fee, execute_tx
from txlanes.models.tx import Tx

from .blockstm import BlockSTMEngine, Schedule
from .blockstm.mvmemory import (
    NOT_FOUND,
    READ_ERROR,
    MVMemory,
    ReadResult,
    Version,
)
from .blockstm.scheduler import ABORTING, READY_TO_EXECUTE, Scheduler, Task
from .incident_mutants import INCIDENT_MUTANTS
from .multicore import MultiCoreEngine
from .multicore.chunks import (
    Chunk,
    RawTrace,
    Redone,
    Runner,
    Validate,
    Validated,
    validate,
)
from .result import Engine
from .sequential import SequentialEngine
from .sharded.engine import simulated_sharded
from .sharded.protocol import PROTOCOL_MUTANTS, TwoPhaseCommit


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    #: (workers, schedule) → the buggy engine (deterministic: the schedule decides every choice)
    build: Callable[[int, Schedule], Engine]
    #: what the worker count counts in this engine
    counts: str = "workers"


def _blockstm(
    memory: type[MVMemory] = MVMemory, scheduler: type[Scheduler] = Scheduler, name: str = ""
) -> Callable[[int, Schedule], Engine]:
    def build(workers: int, schedule: Schedule) -> Engine:
        engine = BlockSTMEngine.deterministic(workers, schedule, max_steps=200_000)
        engine.name = f"mutant:{name}"
        engine.memory_type, engine.scheduler_type = memory, scheduler
        return engine

    return build


# -- multi-version memory ---------------------------------------------------------------------


class _SkipValidation(MVMemory):
    def validate_read_set(self, txn_idx: int) -> bool:
        return True


class _ValidateWriterOnly(MVMemory):
    def validate_read_set(self, txn_idx: int) -> bool:
        for key, version in self.last_reads[txn_idx].items():
            status, idx, _, _ = self.read(key, txn_idx)
            if status == READ_ERROR:
                return False
            if (None if status == NOT_FOUND else idx) != (None if version is None else version[0]):
                return False
        return True


class _EstimatePassesValidation(MVMemory):
    def validate_read_set(self, txn_idx: int) -> bool:
        for key, version in self.last_reads[txn_idx].items():
            status, idx, incarnation, _ = self.read(key, txn_idx)
            if status == READ_ERROR:
                if version is not None and version[0] == idx:
                    continue  # "it is being re-executed, the value will surely be the same"
                return False
            if status == NOT_FOUND:
                if version is not None:
                    return False
            elif version != (idx, incarnation):
                return False
        return True


class _ReadsAtOrBelow(MVMemory):
    def _read(self, key: Key, txn_idx: int) -> ReadResult:
        return super()._read(key, txn_idx + 1)


class _SkipPreStateValidation(MVMemory):
    def validate_read_set(self, txn_idx: int) -> bool:
        reads = self.last_reads[txn_idx]
        versioned: dict[Key, Version | None] = {k: v for k, v in reads.items() if v is not None}
        saved, self.last_reads[txn_idx] = reads, versioned
        try:
            return super().validate_read_set(txn_idx)
        finally:
            self.last_reads[txn_idx] = saved


class _DropReexecutionWrites(MVMemory):
    def record(
        self,
        txn_idx: int,
        incarnation: int,
        reads: dict[Key, Version | None],
        writes: dict[Key, int],
    ) -> bool:
        if incarnation > 0 and self.last_written[txn_idx]:
            writes = dict(self.last_written[txn_idx])  # keep the first incarnation's writes
        return super().record(txn_idx, incarnation, reads, writes)


class _SnapshotLowestWriter(MVMemory):
    def snapshot(self) -> dict[Key, int]:
        out = super().snapshot()
        for key, writers in self._writers.items():
            if len(writers) > 1:
                entry = self._entries[key][writers[0]]
                if isinstance(entry, tuple):
                    out[key] = entry[1]
        return out


# -- scheduler ---------------------------------------------------------------------------------


class _NoRevalidationAfterNewWrite(Scheduler):
    def finish_execution(self, txn_idx: int, incarnation: int, wrote_new: bool) -> Task | None:
        return super().finish_execution(txn_idx, incarnation, False)


class _DoneBeforeValidation(Scheduler):
    def check_done(self) -> None:
        self._point()
        with self._counters:
            if self.execution_idx >= self.size:  # ignores validation_idx and active tasks
                self.done_marker = True


class _IncarnationNotBumped(Scheduler):
    def set_ready_status(self, txn_idx: int) -> None:
        self._point()
        with self._status_locks[txn_idx]:
            self.status[txn_idx] = READY_TO_EXECUTE


class _LostWakeUp(Scheduler):
    def resume_dependencies(self, dependents: list[int]) -> None:
        for dependent in dependents:
            self.set_ready_status(dependent)  # but execution_idx is never moved back


class _AddDependencyWithoutStatusCheck(Scheduler):
    def add_dependency(self, txn_idx: int, blocking_idx: int) -> bool:
        # Missing: re-checking, under the lock, that the blocking transaction has not finished
        # meanwhile. If it has, nobody will ever resume the dependent: a lost wake-up race.
        self._point()
        with self._dependency_locks[blocking_idx]:
            with self._status_locks[txn_idx]:
                self.status[txn_idx] = ABORTING
            self.dependencies[blocking_idx].append(txn_idx)
        self._add_active(-1)
        return True


# -- the spec, as an engine re-implements it -----------------------------------------------------


def _fee_rounded_for_the_trader(tx: Tx, ctx: Context) -> None:
    """An engine's native AMM that takes the 0.3% fee as ``amount_in * 3 // 1000`` — floored in
    the trader's favour — instead of Uniswap's ``amount_in * 997`` inside the formula."""
    if not isinstance(tx, amm.SwapExactIn):
        execute_tx(tx, ctx)
        return
    charge_fee(tx, ctx)
    pair, reserve_in, reserve_out, zero_for_one = amm.route(ctx, tx.token_in, tx.token_out)
    ctx.require(tx.amount_in > 0 and reserve_in > 0, "UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT")
    net_in = tx.amount_in - tx.amount_in * 3 // 1000
    amount_out = net_in * reserve_out // (reserve_in + net_in)
    ctx.require(amount_out >= tx.amount_out_min, "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT")
    erc20.move(ctx, tx.token_in, tx.sender, pair, tx.amount_in)
    amm.swap_out(ctx, pair, zero_for_one, amount_out, tx.to)


def _spec_mutant(
    apply: Callable[[Tx, Context], None], name: str
) -> Callable[[int, Schedule], Engine]:
    return lambda workers, schedule: SequentialEngine.running(apply, f"mutant:{name}")


def sharded(protocol: type[TwoPhaseCommit]) -> Callable[[int, Schedule], Engine]:
    """The sharded engine on the simulated network running a buggy ``protocol``, built as the
    correct one is (``txlanes.executor.registry``): the worker count is the shard count, the
    schedule names the healing fault plan."""
    return lambda shards, schedule: simulated_sharded(shards, schedule.as_seed(), protocol())


# -- multi-core engine ------------------------------------------------------------------------


def _keep_speculation(
    runner: Runner, chunk: Chunk, traces: list[RawTrace], dirty: set[Key]
) -> Validated:
    """the parent keeps a child's chunk as the child ran it, without looking at what the
    child could not have seen"""
    return validate(runner, chunk, traces, set())


def _redo_without_dirtying(
    runner: Runner, chunk: Chunk, traces: list[RawTrace], dirty: set[Key]
) -> Validated:
    """a re-executed transaction's writes are not marked dirty, so a later transaction that
    read its first run's values is kept"""
    redone: Redone = {}
    fixed: set[Key] = set()
    for offset, (reads, writes, _) in enumerate(traces):
        index = chunk.start + offset
        if not dirty.isdisjoint(reads):
            receipt, (new_reads, new_writes, _) = runner.run_one(index, {})
            redone[offset] = receipt, (new_reads, new_writes, 2)
            fixed.update(writes, new_writes)
            continue
        for key, value in writes.items():
            runner.overlay[key] = (index, value)
    return Validated(redone, fixed)


def multicore(validation: Validate, name: str) -> Callable[[int, Schedule], Engine]:
    """The multi-core engine with a seeded validation bug: small chunks, so that the
    campaign's small blocks spread over the processes (the worker count)."""

    def build(workers: int, schedule: Schedule) -> Engine:
        engine = MultiCoreEngine(workers, chunk=2)
        engine.name, engine.validate = f"mutant:{name}", validation  # type: ignore[assignment]
        return engine

    return build


def _multicore_mutant(name: str, validation: Validate) -> Mutant:
    bug = " ".join((validation.__doc__ or "").split())
    return Mutant(name, bug, multicore(validation, name), "processes")


#: The commit protocol's seeded bugs, run inside the sharded engine (docs/commit-protocol.md).
PROTOCOL_ENGINE_MUTANTS: tuple[Mutant, ...] = tuple(
    Mutant(name, (cls.__doc__ or "").strip().splitlines()[0], sharded(cls), "shards")
    for name, cls in PROTOCOL_MUTANTS.items()
)

ENGINE_MUTANTS: tuple[Mutant, ...] = (
    *(
        Mutant(name, bug, _blockstm(name=name, **parts))  # type: ignore[arg-type]
        for name, bug, parts in [
            ("skip-validation", "validation always succeeds", {"memory": _SkipValidation}),
            (
                "validate-writer-not-version",
                "validation compares the writer's index but not its incarnation",
                {"memory": _ValidateWriterOnly},
            ),
            (
                "estimate-passes-validation",
                "a read whose writer is being re-executed (ESTIMATE) is assumed still valid",
                {"memory": _EstimatePassesValidation},
            ),
            (
                "read-at-or-below",
                "a transaction reads versions at index <= its own instead of < its own",
                {"memory": _ReadsAtOrBelow},
            ),
            (
                "skip-pre-state-validation",
                "validation re-checks only reads that saw a block write, not pre-state reads",
                {"memory": _SkipPreStateValidation},
            ),
            (
                "drop-reexecution-writes",
                "a re-execution's writes are dropped; the first incarnation's stay published",
                {"memory": _DropReexecutionWrites},
            ),
            (
                "snapshot-lowest-writer",
                "the final state takes a key's lowest writer instead of its highest",
                {"memory": _SnapshotLowestWriter},
            ),
            (
                "no-revalidation-after-new-write",
                "a re-execution that writes a new key does not re-validate higher transactions",
                {"scheduler": _NoRevalidationAfterNewWrite},
            ),
            (
                "done-before-validation",
                "committed once all transactions are handed out, before validation ends",
                {"scheduler": _DoneBeforeValidation},
            ),
            (
                "incarnation-not-bumped",
                "an aborted transaction re-executes under its old incarnation number",
                {"scheduler": _IncarnationNotBumped},
            ),
            (
                "lost-wake-up",
                "a transaction waiting on a dependency is marked ready but never rescheduled",
                {"scheduler": _LostWakeUp},
            ),
        ]
    ),
    Mutant(
        "amm-fee-rounding",
        "an engine's native AMM floors the 0.3% fee in the trader's favour",
        _spec_mutant(_fee_rounded_for_the_trader, "amm-fee-rounding"),
    ),
    *PROTOCOL_ENGINE_MUTANTS,
    _multicore_mutant("multicore-keep-speculation", _keep_speculation),
    Mutant(
        "add-dependency-without-status-check",
        "a race: a transaction waits on one that finished meanwhile and is never woken",
        _blockstm(
            scheduler=_AddDependencyWithoutStatusCheck, name="add-dependency-without-status-check"
        ),
    ),
    *(Mutant(*incident) for incident in INCIDENT_MUTANTS),
)

#: Seeded bugs the default budget does not reliably kill (documented in docs/mutants.md); a
#: focused search does, and tests/test_mutants.py holds it to that.
HARD_MUTANTS: tuple[Mutant, ...] = (
    _multicore_mutant("multicore-redo-without-dirtying", _redo_without_dirtying),
)
