"""Block-STM's collaborative scheduler (Algorithms 4 and 5 of the paper).

Two shared indices hand out work in block order: ``execution_idx`` (the next transaction to execute)
and ``validation_idx`` (the next to validate). Aborts and dependencies move them back;
``decrease_cnt`` and ``num_active_tasks`` make completion detection safe against a worker that is
about to create new work. Every access to shared state is preceded by a runtime point labelled with
what it is about to do (``runtime.POINTS``), so the deterministic runtime can interleave workers
between any two of them, and a schedule can preempt a worker at a named one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Final

from .runtime import labelled

READY_TO_EXECUTE: Final = 0
EXECUTING: Final = 1
EXECUTED: Final = 2
ABORTING: Final = 3

EXECUTION: Final = 0
VALIDATION: Final = 1

#: A task: (kind, transaction index, incarnation).
Task = tuple[int, int, int]


class Scheduler:
    def __init__(
        self,
        size: int,
        point: Callable[[], None],
        make_lock: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self.size = size
        self._point = labelled(point)
        self.execution_idx = 0
        self.validation_idx = 0
        self.decrease_cnt = 0
        self.num_active_tasks = 0
        self.done_marker = False
        self._counters = make_lock()
        self.incarnation = [0] * size
        self.status = [READY_TO_EXECUTE] * size
        self._status_locks = [make_lock() for _ in range(size)]
        self.dependencies: list[list[int]] = [[] for _ in range(size)]
        self._dependency_locks = [make_lock() for _ in range(size)]

    # -- shared counters (atomics in the paper) ------------------------------------------------

    def _add_active(self, delta: int) -> None:
        self._point("active-count")
        with self._counters:
            self.num_active_tasks += delta

    def _fetch_and_increment(self, attr: str) -> int:
        self._point("fetch-index")
        with self._counters:
            value: int = getattr(self, attr)
            setattr(self, attr, value + 1)
            return value

    def decrease_execution_idx(self, target: int) -> None:
        self._point("decrease-execution-idx")
        with self._counters:
            self.execution_idx = min(self.execution_idx, target)
            self.decrease_cnt += 1

    def decrease_validation_idx(self, target: int) -> None:
        self._point("decrease-validation-idx")
        with self._counters:
            self.validation_idx = min(self.validation_idx, target)
            self.decrease_cnt += 1

    def done(self) -> bool:
        self._point("done")
        return self.done_marker

    def check_done(self) -> None:
        self._point("check-done")
        observed = self.decrease_cnt
        self._point("check-done-counters")
        with self._counters:
            if (
                min(self.execution_idx, self.validation_idx) >= self.size
                and self.num_active_tasks == 0
                and observed == self.decrease_cnt
            ):
                self.done_marker = True

    # -- handing out tasks ---------------------------------------------------------------------

    def try_incarnate(self, txn_idx: int) -> tuple[int, int] | None:
        if txn_idx < self.size:
            self._point("incarnate")
            with self._status_locks[txn_idx]:
                if self.status[txn_idx] == READY_TO_EXECUTE:
                    self.status[txn_idx] = EXECUTING
                    return (txn_idx, self.incarnation[txn_idx])
        self._add_active(-1)
        return None

    def next_version_to_execute(self) -> tuple[int, int] | None:
        self._point("next-execution")
        if self.execution_idx >= self.size:
            self.check_done()
            return None
        self._add_active(1)
        return self.try_incarnate(self._fetch_and_increment("execution_idx"))

    def next_version_to_validate(self) -> tuple[int, int] | None:
        self._point("next-validation")
        if self.validation_idx >= self.size:
            self.check_done()
            return None
        self._add_active(1)
        idx = self._fetch_and_increment("validation_idx")
        if idx < self.size:
            self._point("validation-status")
            with self._status_locks[idx]:
                incarnation, status = self.incarnation[idx], self.status[idx]
            if status == EXECUTED:
                return (idx, incarnation)
        self._add_active(-1)
        return None

    def next_task(self) -> Task | None:
        self._point("next-task")
        if self.validation_idx < self.execution_idx:
            version = self.next_version_to_validate()
            if version is not None:
                return (VALIDATION, *version)
        else:
            version = self.next_version_to_execute()
            if version is not None:
                return (EXECUTION, *version)
        return None

    # -- dependencies --------------------------------------------------------------------------

    def add_dependency(self, txn_idx: int, blocking_idx: int) -> bool:
        """Park ``txn_idx`` behind ``blocking_idx``; False if that one already finished."""
        self._point("add-dependency")
        with self._dependency_locks[blocking_idx]:
            with self._status_locks[blocking_idx]:
                if self.status[blocking_idx] == EXECUTED:
                    return False
            with self._status_locks[txn_idx]:
                self.status[txn_idx] = ABORTING
            self.dependencies[blocking_idx].append(txn_idx)
        self._add_active(-1)
        return True

    def set_ready_status(self, txn_idx: int) -> None:
        self._point("set-ready")
        with self._status_locks[txn_idx]:
            self.incarnation[txn_idx] += 1
            self.status[txn_idx] = READY_TO_EXECUTE

    def resume_dependencies(self, dependents: list[int]) -> None:
        for dependent in dependents:
            self.set_ready_status(dependent)
        if dependents:
            self.decrease_execution_idx(min(dependents))

    # -- finishing tasks -----------------------------------------------------------------------

    def finish_execution(self, txn_idx: int, incarnation: int, wrote_new: bool) -> Task | None:
        self._point("finish-execution")
        with self._status_locks[txn_idx]:
            self.status[txn_idx] = EXECUTED
        self._point("take-dependents")
        with self._dependency_locks[txn_idx]:
            dependents, self.dependencies[txn_idx] = self.dependencies[txn_idx], []
        self.resume_dependencies(dependents)
        self._point("revalidate")
        if self.validation_idx > txn_idx:
            if not wrote_new:
                return (VALIDATION, txn_idx, incarnation)
            self.decrease_validation_idx(txn_idx)
        self._add_active(-1)
        return None

    def try_validation_abort(self, txn_idx: int, incarnation: int) -> bool:
        self._point("validation-abort")
        with self._status_locks[txn_idx]:
            if self.incarnation[txn_idx] == incarnation and self.status[txn_idx] == EXECUTED:
                self.status[txn_idx] = ABORTING
                return True
        return False

    def finish_validation(self, txn_idx: int, aborted: bool) -> Task | None:
        if aborted:
            self.set_ready_status(txn_idx)
            self.decrease_validation_idx(txn_idx + 1)
            self._point("finish-validation")
            if self.execution_idx > txn_idx:
                version = self.try_incarnate(txn_idx)
                if version is not None:
                    return (EXECUTION, *version)
                return None  # try_incarnate already released the active task
        self._add_active(-1)
        return None
