"""The Block-STM engine: optimistic parallel execution with validation, in block order.

Each worker runs Algorithm 1 of the paper: take a task from the collaborative scheduler, execute
an incarnation against the multi-version memory or validate one, and report back. The committed
result is defined to equal sequential execution in block order — which is exactly what the
checker holds it to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from txlanes.executor.buffered import BufferedWrites
from txlanes.executor.result import PRE_STATE, BlockResult, Receipt, TxTrace
from txlanes.models.context import BlockEnv, Event, Key, Revert
from txlanes.models.spec import execute_tx
from txlanes.models.tx import Tx
from txlanes.models.workload import Block

from .mvmemory import NOT_FOUND, OK, MVMemory, Version
from .runtime import DeterministicRuntime, Runtime, Schedule, ThreadRuntime
from .scheduler import EXECUTION, VALIDATION, Scheduler, Task


class _Blocked(BaseException):
    """A read hit an ESTIMATE: stop this incarnation (BaseException so spec code can't catch it)."""

    def __init__(self, blocking_idx: int) -> None:
        self.blocking_idx = blocking_idx


@dataclass
class _Outcome:
    """What an incarnation produced: its receipt, or the exception the spec raised."""

    receipt: Receipt | None
    error: Exception | None = None
    #: reads of a key already read, with the version each saw (none here: see the context)
    rereads: tuple[tuple[Key, Version | None], ...] = ()


class _IncarnationCtx(BufferedWrites):
    """The spec's ``ctx`` during one incarnation: reads go through the multi-version memory.

    A key read twice returns the first value (repeatable reads), so what the incarnation computed
    from is exactly the version recorded and later validated.
    """

    __slots__ = ("block", "events", "mv", "pre", "reads", "rereads", "txn_idx", "values", "writes")

    def __init__(self, env: BlockEnv, mv: MVMemory, pre: Mapping[Key, int], txn_idx: int) -> None:
        self.block = env
        self.mv = mv
        self.pre = pre
        self.txn_idx = txn_idx
        self.reads: dict[Key, Version | None] = {}
        self.values: dict[Key, int] = {}
        self.writes: dict[Key, int] = {}
        self.events: list[Event] = []
        #: a second read of a key goes to ``values``, so there are none (a variant may add)
        self.rereads: tuple[tuple[Key, Version | None], ...] = ()

    def read(self, key: Key) -> int:
        if key in self.writes:
            return self.writes[key]
        if key in self.values:
            return self.values[key]
        status, idx, incarnation, value = self.mv.read(key, self.txn_idx)
        if status == OK:
            self.reads[key] = (idx, incarnation)
        elif status == NOT_FOUND:
            self.reads[key] = None
            value = self.pre.get(key, 0)
        else:
            raise _Blocked(idx)
        self.values[key] = value
        return value


@dataclass
class _Stats:
    executions: int = 0
    validations: int = 0
    aborts: int = 0
    dependency_waits: int = 0


@dataclass
class _BlockRun:
    """Everything one block's workers share."""

    txs: tuple[Tx, ...]
    env: BlockEnv
    pre: Mapping[Key, int]
    mv: MVMemory
    scheduler: Scheduler
    outcomes: list[_Outcome | None]
    idle: Callable[[], None]
    stats: list[_Stats] = field(default_factory=list)

    def worker(self, stats: _Stats) -> None:
        """Algorithm 1: loop over tasks until the scheduler says the block is done."""
        scheduler = self.scheduler
        task: Task | None = None
        while not scheduler.done():
            if task is not None and task[0] == EXECUTION:
                task = self.try_execute(task[1], task[2], stats)
            if task is not None and task[0] == VALIDATION:
                task = self.needs_reexecution(task[1], task[2], stats)
            if task is None:
                task = scheduler.next_task()
                if task is None:
                    self.idle()

    def try_execute(self, txn_idx: int, incarnation: int, stats: _Stats) -> Task | None:
        while True:
            stats.executions += 1
            ctx = _IncarnationCtx(self.env, self.mv, self.pre, txn_idx)
            try:
                execute_tx(self.txs[txn_idx], ctx)
                outcome = _Outcome(Receipt(True, None, tuple(ctx.events)))
            except _Blocked as blocked:
                if self.scheduler.add_dependency(txn_idx, blocked.blocking_idx):
                    stats.dependency_waits += 1
                    return None
                continue  # the blocking transaction finished meanwhile: retry at once
            except Revert as revert:
                outcome = _Outcome(Receipt(False, revert.reason, ()))
                ctx.writes = {}
            except Exception as err:  # possibly an artefact of an inconsistent speculative read
                outcome = _Outcome(None, err)
                ctx.writes = {}
            outcome.rereads = ctx.rereads
            self.outcomes[txn_idx] = outcome
            wrote_new = self.mv.record(txn_idx, incarnation, ctx.reads, ctx.writes)
            return self.scheduler.finish_execution(txn_idx, incarnation, wrote_new)

    def needs_reexecution(self, txn_idx: int, incarnation: int, stats: _Stats) -> Task | None:
        stats.validations += 1
        valid = self.mv.validate_read_set(txn_idx)
        aborted = not valid and self.scheduler.try_validation_abort(txn_idx, incarnation)
        if aborted:
            stats.aborts += 1
            self.mv.convert_writes_to_estimates(txn_idx)
        return self.scheduler.finish_validation(txn_idx, aborted)


class BlockSTMEngine:
    """Block-STM on a runtime: real threads by default, or a deterministic, replayable one."""

    name = "blockstm"
    #: Overridable by subclasses — this is how seeded bugs (mutants) are built.
    memory_type: type[MVMemory] = MVMemory
    scheduler_type: type[Scheduler] = Scheduler

    def __init__(self, workers: int = 4, runtime: Runtime | None = None) -> None:
        self.runtime: Runtime = runtime or ThreadRuntime(workers)

    @classmethod
    def deterministic(
        cls, workers: int = 4, schedule: Schedule | None = None, *, max_steps: int = 2_000_000
    ) -> BlockSTMEngine:
        """Block-STM on the deterministic runtime: the same (block, schedule) replays exactly."""
        return cls(runtime=DeterministicRuntime(workers, schedule, max_steps=max_steps))

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        size = len(block.txs)
        rt = self.runtime
        run = _BlockRun(
            block.txs,
            block.env,
            state,
            self.memory_type(size, rt.point, rt.lock()),
            self.scheduler_type(size, rt.point, rt.lock),
            [None] * size,
            rt.idle,
            [_Stats() for _ in range(rt.workers)],
        )
        if size:
            rt.run([functools.partial(run.worker, s) for s in run.stats])
        return _collect(run)


def _collect(run: _BlockRun) -> BlockResult:
    receipts: list[Receipt] = []
    traces: list[TxTrace] = []
    mv, scheduler = run.mv, run.scheduler
    for idx, outcome in enumerate(run.outcomes):
        if outcome is None:
            raise RuntimeError(f"Block-STM finished without executing transaction {idx}")
        if outcome.error is not None:
            raise outcome.error  # the final, validated incarnation raised: a real spec error
        assert outcome.receipt is not None  # an outcome has a receipt or an error
        receipts.append(outcome.receipt)
        reads = {k: (PRE_STATE if v is None else v[0]) for k, v in mv.last_reads[idx].items()}
        writes = mv.written_values(idx)
        rereads = (
            tuple((k, PRE_STATE if v is None else v[0]) for k, v in outcome.rereads)
            if outcome.rereads  # none from a correct engine: nothing to build per transaction
            else ()
        )
        traces.append(TxTrace(reads, writes, scheduler.incarnation[idx] + 1, rereads))
    stats = {
        "executions": sum(s.executions for s in run.stats),
        "validations": sum(s.validations for s in run.stats),
        "aborts": sum(s.aborts for s in run.stats),
        "dependency_waits": sum(s.dependency_waits for s in run.stats),
    }
    return BlockResult(mv.snapshot(), receipts, traces, stats)
