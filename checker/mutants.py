"""Seeded bugs: engine variants the toolkit must catch. Its claim of power is that it kills all.

Each mutant is a one-method change to a correct engine, named after the real bug class it
stands for. Production Block-STM implementations have shipped several of these. The catalogue is
documented in docs/mutants.md; tests/test_mutants.py asserts that the default check budget kills
every one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from txlanes.executor.blockstm import BlockSTMEngine, Schedule
from txlanes.executor.blockstm.mvmemory import (
    NOT_FOUND,
    READ_ERROR,
    MVMemory,
    ReadResult,
    Version,
)
from txlanes.executor.blockstm.scheduler import EXECUTING, READY_TO_EXECUTE, Scheduler, Task
from txlanes.executor.result import Engine
from txlanes.models.context import Key


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    #: (workers, schedule) → the buggy engine, on the deterministic runtime
    build: Callable[[int, Schedule], Engine]


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


class _IncarnateWithoutStatusCheck(Scheduler):
    def try_incarnate(self, txn_idx: int) -> tuple[int, int] | None:
        if txn_idx < self.size:
            self._point()
            with self._status_locks[txn_idx]:
                # Missing: "if status == READY_TO_EXECUTE". A transaction that is executing or
                # executed is incarnated again under the same incarnation number.
                self.status[txn_idx] = EXECUTING
                return (txn_idx, self.incarnation[txn_idx])
        self._add_active(-1)
        return None


#: The catalogue, in the order of docs/mutants.md.
ENGINE_MUTANTS: tuple[Mutant, ...] = tuple(
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
            "the block is committed once every transaction was handed out, before validation ends",
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
        (
            "incarnate-without-status-check",
            "a scheduler race lets two incarnations of one transaction run",
            {"scheduler": _IncarnateWithoutStatusCheck},
        ),
    ]
)
