"""One example: a workload run through an engine and judged against sequential execution and
the spec's invariants, block by block — the unit every campaign, replay and pytest check runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from txlanes.executor.blockstm import DeterministicRuntime, Hang, Schedule
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import (
    Misbehaved,
    Target,
    TargetError,
    block_result,
    describe,
    out_of_threads,
)
from txlanes.executor.result import BlockResult, apply_writes
from txlanes.executor.sharded.simnet import Faults
from txlanes.models.workload import Workload

from .equivalence import first_divergence, reference
from .failure import Failure, FailureKind, Problem
from .invariants import check_invariants


def _misbehaved(target: Target, workers: int, index: int, err: Misbehaved) -> Problem:
    """What an engine txlanes did not write did wrong in block ``index``, as a problem: a
    ``hang`` when it did not return in time (or its scheduling hook's runtime gave up), else a
    ``crash``."""
    if err.error is not None:
        _judge_no_machine(target, workers, err.error)
    hang = err.late or isinstance(err.error, Hang)
    return Problem(FailureKind.HANG if hang else FailureKind.CRASH, index, f"block {index}: {err}")


def _judge_no_machine(target: Target, workers: int, err: BaseException) -> None:
    """A :class:`TargetError` if the machine, not the engine, failed: no thread could be
    started, so no verdict can be drawn (exit 2, with the N that asked too much)."""
    if out_of_threads(err):
        at = target.parallelism(workers)
        raise TargetError(
            f"engine {target.spec!r}{f' at {at}' if at else ''} could not start its threads "
            f"({err}): the machine holds fewer; use a smaller N"
        ) from None


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
    try:
        engine = target.build(workers, schedule if target.deterministic else None)
    except Misbehaved as err:  # a user's engine whose constructor fails at this N
        return _misbehaved(target, workers, 0, err)
    state = dict(workload.state)
    for index, block in enumerate(workload.blocks):
        try:
            got = block_result(engine.execute(block, state))
        except Misbehaved as err:
            return _misbehaved(target, workers, index, err)
        except Hang as hang:
            return Problem(FailureKind.HANG, index, f"block {index}: {hang}")
        except (ExternalEngineError, TargetError):
            raise  # not a verdict on the engine's results: it could not be heard or built
        except Exception as err:
            _judge_no_machine(target, workers, err)
            message = f"block {index}: engine raised {describe(err)}"
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
    try:
        engine = target.build(workers, schedule)
    except Misbehaved:
        return []
    runtime = getattr(engine, "runtime", None)
    state = dict(workload.state)
    for block in workload.blocks:
        try:
            result = block_result(engine.execute(block, state))
        except Exception:  # the failure it was re-run for (a user's engine's under its guard)
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
