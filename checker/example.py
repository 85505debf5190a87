"""One example: a workload run through an engine and judged against sequential execution and
the spec's invariants, block by block — the unit every campaign, replay and pytest check runs."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from txlanes.executor.blockstm import DeterministicRuntime, Hang, Schedule
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import Target
from txlanes.executor.result import BlockResult, Engine, apply_writes
from txlanes.executor.sharded.simnet import Faults
from txlanes.models.context import Key
from txlanes.models.workload import Block, Workload

from .equivalence import first_divergence, reference
from .failure import Failure, FailureKind, Problem
from .invariants import check_invariants


class _Late(Exception):
    """The engine did not finish a block within its watchdog's deadline."""


class _Raised(Exception):
    """What the engine raised in its watchdog's thread — whatever it was (``SystemExit``
    included): the engine's failure, not the checker's."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _within(seconds: float, engine: Engine, block: Block, state: dict[Key, int]) -> object:
    """``engine.execute(block, state)`` on a thread of its own, waited for ``seconds``: an
    in-process engine that deadlocks or spins becomes a named hang instead of a gate that
    never answers (the thread is left behind, a daemon)."""
    box: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            box.append((True, engine.execute(block, state)))
        except BaseException as err:  # every way out of it is the engine's doing
            box.append((False, err))

    thread = threading.Thread(target=run, name="txlanes-engine-under-test", daemon=True)
    thread.start()
    thread.join(seconds)
    if not box:
        raise _Late()
    ok, value = box[0]
    if not ok:
        assert isinstance(value, BaseException)
        raise _Raised(value)
    return value


def max_incarnations(size: int) -> int:
    """The most incarnations a transaction of a block of ``size`` may take. Block-STM aborts a
    transaction when a lower one's re-execution changed what it read, so a transaction needs at
    most about one incarnation per transaction below it (measured on the built-in engines over
    the default campaign: never more than its index + 1); twice that, plus slack, is a bound
    only an engine whose re-execution does not converge exceeds."""
    return 2 * size + 2


def _excess_incarnations(result: BlockResult, size: int) -> tuple[int, int] | None:
    bound = max_incarnations(size)
    for i, trace in enumerate(result.traces):
        if trace.incarnations > bound:
            return i, trace.incarnations
    return None


def run_example(
    target: Target, workload: Workload, workers: int, schedule: Schedule | None
) -> Problem | None:
    """Run one workload through the target: the first problem, or None."""
    engine = target.build(workers, schedule if target.deterministic else None)
    state = dict(workload.state)
    for index, block in enumerate(workload.blocks):
        try:
            if target.block_timeout is None:
                got: object = engine.execute(block, state)
            else:
                got = _within(target.block_timeout, engine, block, state)
        except Hang as hang:
            return Problem(FailureKind.HANG, index, f"block {index}: {hang}")
        except _Late:
            seconds = f"{target.block_timeout:g}"
            message = f"block {index}: the engine did not finish within {seconds} s"
            return Problem(FailureKind.HANG, index, message)
        except ExternalEngineError:
            raise  # not a verdict on the engine's results: it could not be heard
        except _Raised as raised:
            err = raised.error
            if isinstance(err, Hang):  # a user engine on the scheduling hook's runtime
                return Problem(FailureKind.HANG, index, f"block {index}: {err}")
            message = f"block {index}: engine raised {type(err).__name__}: {err}"
            return Problem(FailureKind.CRASH, index, message)
        except Exception as err:
            message = f"block {index}: engine raised {type(err).__name__}: {err}"
            return Problem(FailureKind.CRASH, index, message)
        if not isinstance(got, BlockResult):
            message = f"block {index}: engine returned {type(got).__name__}, not a BlockResult"
            return Problem(FailureKind.CRASH, index, message)
        try:
            want = reference(block, state, got.order)
        except (ValueError, TypeError) as err:
            return Problem(FailureKind.DIVERGENCE, index, f"block {index}: {err}")
        excess = _excess_incarnations(got, len(block.txs)) if target.traces else None
        if excess is not None:
            i, incarnations = excess
            message = (
                f"block {index}, tx {i}: executed {incarnations} times in a block of "
                f"{len(block.txs)} (more than {max_incarnations(len(block.txs))}: re-execution "
                "that does not converge)"
            )
            return Problem(FailureKind.INCARNATIONS, index, message)
        divergence = first_divergence(
            want, got, block.txs, state, block=index, traces=target.traces
        )
        if divergence is not None:
            return Problem(FailureKind.DIVERGENCE, index, divergence.explain(), divergence)
        post = dict(state)
        apply_writes(post, got.writes.items())
        violation = check_invariants(state, post, got)
        if violation is not None:
            message = f"block {index}: {violation.explain()}"
            return Problem(FailureKind.INVARIANT, index, message, violation=violation)
        state = post
    return None


def taken_choices(
    target: Target, workload: Workload, workers: int, schedule: Schedule
) -> list[int]:
    """Re-run a deterministic example to record every choice it took (for an exact replay)."""
    engine = target.build(workers, schedule)
    runtime = getattr(engine, "runtime", None)
    state = dict(workload.state)
    for block in workload.blocks:
        try:
            result = engine.execute(block, state)
        except Exception:
            break
        apply_writes(state, result.writes.items())
    if isinstance(runtime, DeterministicRuntime):
        return list(runtime.taken)
    faults = getattr(engine, "faults", None)
    return [faults.seed] if isinstance(faults, Faults) else []  # a simulation's fault plan


@contextmanager
def preemptive_threads() -> Iterator[None]:
    """CPython switches threads every 5 ms by default; make it every microsecond so races
    between real threads actually happen while a thread target is checked."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def failure_of(
    target: Target,
    contention: str,
    problem: Problem,
    workload: Workload,
    workers: int,
    schedule: list[int] | None,
) -> Failure:
    """A failure of ``target`` on an example, with the parallelism named as the engine counts."""
    return Failure(
        target.spec, contention, problem, workload, workers, schedule, target.parallelism(workers)
    )
