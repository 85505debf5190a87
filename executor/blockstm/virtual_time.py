"""Block-STM in virtual time: a modelled makespan for any number of workers, on any machine.

CPython's GIL keeps Block-STM's threads on one core, so their wall-clock time says nothing about
how the algorithm scales. This runtime answers that question by simulation instead. Like the
deterministic runtime, exactly one worker moves at a time and the worker code is unchanged; here
every worker carries a virtual clock, each step charges it a cost (:class:`Costs`), and at every
point the worker with the smallest clock moves next (ties: the lowest index). That is a
discrete-event simulation of ``workers`` truly parallel cores: each shared-memory access happens
at its worker's virtual instant, in global time order. The block's *makespan* is the largest
clock at the end; ``makespan(1) / makespan(W)`` is the modelled speedup of W workers.

The model has no caches, no memory bandwidth and no contention on the scheduler's atomics: it
shows what the algorithm's own dependencies and re-executions allow (docs/benchmark.md).
"""

from __future__ import annotations

import contextlib
import heapq
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from txlanes.models.context import Key

from .engine import BlockSTMEngine
from .mvmemory import MVMemory, ReadResult, Version
from .runtime import Hang, Worker, _Abandoned


@dataclass(frozen=True)
class Costs:
    """Virtual time units; one unit is one synchronisation step (an uncontended atomic).

    Execution dominates, as in the Block-STM paper, where running a transaction in the VM costs
    far more than validating it (re-reading versions) or a scheduler operation. Costs are
    charged where the work happens relative to the shared-memory accesses: a read's computation
    after the read, an incarnation's remaining work before it records its writes — so a
    transaction that reads a hot key early holds up its successors for its whole execution.
    """

    #: every point: each scheduler operation and each multi-version-memory access
    sync: int = 1
    #: each read during execution (a multi-version lookup), then the computation that uses it
    read: int = 5
    #: an incarnation that runs to its end: the rest of its computation (the epilogue, building
    #: its receipt and write set), before it records its writes
    finish: int = 50
    #: each write an incarnation records
    write: int = 5
    #: each read re-checked by a validation: a lookup and a version comparison
    validate_read: int = 2
    #: a worker that found no task polls again (it also waits for the next worker's step)
    idle: int = 1

    def sequential(self, reads: int, writes: int) -> int:
        """One transaction run once, in order, with none of Block-STM's bookkeeping."""
        return reads * (self.read + self.sync) + self.finish + writes * self.write + self.sync


_NO_LOCK = contextlib.nullcontext()


class VirtualTimeRuntime:
    """Workers on virtual clocks; the one with the smallest clock moves. Deterministic.

    Control passes between threads directly (a gate per worker), and a worker that is still the
    earliest keeps running, so one worker costs no thread switch at all. ``elapsed`` sums the
    makespans of every block run so far; ``max_steps`` is the watchdog, as on the deterministic
    runtime.
    """

    def __init__(
        self, workers: int = 4, costs: Costs | None = None, *, max_steps: int = 5_000_000
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.costs = costs or Costs()
        self.max_steps = max_steps
        self.elapsed = 0
        self.steps = 0
        self._local = threading.local()
        self._clock: list[int] = []
        self._waiting: list[tuple[int, int]] = []  # heap of (clock, worker) for parked workers
        self._gates: list[threading.Lock] = []
        self._aborting = False

    def lock(self) -> AbstractContextManager[object]:
        return _NO_LOCK

    def charge(self, units: int) -> None:
        """Advance the moving worker's clock by the cost of the work it is doing."""
        self._clock[self._local.id] += units

    @property
    def validating(self) -> bool:
        """Whether the moving worker is validating (its reads are version checks)."""
        return bool(getattr(self._local, "validating", False))

    @validating.setter
    def validating(self, value: bool) -> None:
        self._local.validating = value

    def point(self) -> None:
        me: int = self._local.id
        self._clock[me] += self.costs.sync
        self.steps += 1
        if self.steps > self.max_steps:
            raise Hang(f"no termination after {self.max_steps} virtual-time steps")
        waiting = self._waiting
        if waiting and waiting[0] < (self._clock[me], me):
            _, nxt = heapq.heapreplace(waiting, (self._clock[me], me))
            self._gates[nxt].release()
            self._gates[me].acquire()
            if self._aborting:
                raise _Abandoned

    def idle(self) -> None:
        """Nothing to do: nothing can change before another worker's next step, so skip to it."""
        me: int = self._local.id
        soonest = self._waiting[0][0] if self._waiting else 0
        self._clock[me] = max(self._clock[me] + self.costs.idle, soonest)
        self.point()

    def run(self, workers: Sequence[Worker]) -> None:
        n = len(workers)
        self._clock = [0] * n
        self._waiting = [(0, i) for i in range(1, n)]  # sorted, hence a heap
        self._gates = [threading.Lock() for _ in range(n)]
        for gate in self._gates:
            gate.acquire()
        self._aborting = False
        finished = threading.Event()
        errors: list[BaseException] = []

        def body(index: int, fn: Worker) -> None:
            self._local.id = index
            self._gates[index].acquire()
            try:
                if not self._aborting:
                    fn()
            except _Abandoned:
                return
            except BaseException as err:  # surfaced in the caller's thread below
                errors.append(err)
                self._aborting = True
                for _, parked in self._waiting:
                    self._gates[parked].release()
                finished.set()
                return
            if self._waiting:
                self._gates[heapq.heappop(self._waiting)[1]].release()
            else:
                finished.set()

        threads = [
            threading.Thread(target=body, args=(i, w), daemon=True) for i, w in enumerate(workers)
        ]
        for thread in threads:
            thread.start()
        self._gates[0].release()
        finished.wait()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        self.elapsed += max(self._clock, default=0)


class ModelledBlockSTM(BlockSTMEngine):
    """Block-STM on a :class:`VirtualTimeRuntime`, charging execution and validation their cost.

    The runtime alone sees only points; these memory and scheduler subclasses tell it what kind
    of work happens between them (a subclass per engine, because each is bound to its runtime).
    """

    name = "blockstm-modelled"

    def __init__(self, workers: int = 4, costs: Costs | None = None) -> None:
        self.clock = VirtualTimeRuntime(workers, costs)
        super().__init__(runtime=self.clock)
        self.memory_type = _timed_memory(self.clock)


def _timed_memory(rt: VirtualTimeRuntime) -> type[MVMemory]:
    costs = rt.costs

    class TimedMemory(MVMemory):
        def read(self, key: Key, txn_idx: int) -> ReadResult:
            found = super().read(key, txn_idx)
            rt.charge(costs.validate_read if rt.validating else costs.read)
            return found

        def record(
            self,
            txn_idx: int,
            incarnation: int,
            reads: dict[Key, Version | None],
            writes: dict[Key, int],
        ) -> bool:
            rt.charge(costs.finish + costs.write * len(writes))
            return super().record(txn_idx, incarnation, reads, writes)

        def validate_read_set(self, txn_idx: int) -> bool:
            rt.validating = True
            try:
                return super().validate_read_set(txn_idx)
            finally:
                rt.validating = False

    return TimedMemory
