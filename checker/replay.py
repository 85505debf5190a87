"""Failure files: a counterexample saved as (engine spec, workload, workers, schedule), so that
``txlanes replay FILE`` re-runs it exactly and says FIXED or FAILED.

Version 2 names engines in the one registry grammar; a version-1 file (written before
``blockstm`` meant real threads everywhere) is read with its engine renamed to what it ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from txlanes.executor.blockstm import Schedule
from txlanes.executor.registry import MAX_COUNT, Target, resolve
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import (
    WorkloadError,
    int_from_json,
    is_int,
    read_json_file,
    shown,
    workload_from_json,
    workload_to_json,
)

from .example import failure_of, preemptive_threads, run_example
from .failure import Failure, FailureKind, Problem

FORMAT = "txlanes-replay"
VERSION = 2

#: Version-1 spellings of the engines whose names changed meaning in version 2.
_V1_NAMES = {
    "blockstm": "blockstm-det",
    "blockstm-threads": "blockstm",
    "multicore": "multicore?chunk=2",
}


def failure_to_json(failure: Failure) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "target": failure.target,
        "contention": failure.contention,
        "kind": failure.kind.value,
        "message": failure.message,
        "problem": failure.problem.to_json(),
        "workers": failure.workers,
        "schedule": failure.schedule,
        "workload": workload_to_json(failure.workload),
    }


def _text(obj: dict[str, Any], name: str, default: str | None = None) -> str:
    value = obj.get(name, default)
    if not isinstance(value, str):
        raise WorkloadError(f"{name}: must be a string, got {shown(value)}")
    return value


def failure_from_json(obj: object) -> Failure:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise WorkloadError(f"format: must be {FORMAT!r}")
    version = obj.get("version")
    if not is_int(version) or version not in (1, VERSION):
        raise WorkloadError(f"version: this txlanes reads versions 1 and 2, got {shown(version)}")
    target, kind, message = (_text(obj, name) for name in ("target", "kind", "message"))
    # the N the engines accept: a larger one cannot start its threads (a crash, not a verdict)
    workers = int_from_json(obj.get("workers"), "workers", 1, MAX_COUNT)
    try:
        failure_kind = FailureKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in FailureKind)
        raise WorkloadError(f"kind: one of {known}, got {shown(kind)}") from None
    schedule = obj.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, list):
            raise WorkloadError(
                f"schedule: must be null or a list of integers >= 0, got {shown(schedule)}"
            )
        # worker indices, or a simulation's seed (``taken_choices``)
        schedule = [
            int_from_json(c, f"schedule[{i}]", 0, MAX_UINT256) for i, c in enumerate(schedule)
        ]
    try:
        workload = workload_from_json(obj.get("workload"))
    except WorkloadError as err:
        raise WorkloadError(f"workload.{err}") from None
    if version == 1:
        target = _V1_NAMES.get(target, target)
    stored = obj.get("problem")
    block = stored.get("block", 0) if isinstance(stored, dict) else 0
    problem = Problem(failure_kind, int_from_json(block, "problem.block"), message)
    return Failure(target, _text(obj, "contention", ""), problem, workload, workers, schedule)


def load_failure(path: str | Path) -> Failure:
    obj = read_json_file(path)
    try:
        failure = failure_from_json(obj)
    except WorkloadError as err:
        raise WorkloadError(f"{path}: {err}") from None
    failure.replay_file = Path(path)
    return failure


@dataclass(frozen=True)
class Replayed:
    """What re-running a saved failure showed."""

    #: how it fails now (its first failing run), or None if no run failed
    failure: Failure | None
    runs: int
    failed: int
    #: whether one run decides: a deterministic engine replays its schedule exactly
    deterministic: bool


def replay(failure: Failure, runs: int = 20, reports: Path = Path("reports")) -> Replayed:
    """Re-run a failure under the conditions the campaign ran it in.

    A deterministic target replays its exact schedule once. Any other target is re-run
    ``runs`` times with the campaign's preemptive thread switching, since a race need not
    repeat — and not reproducing it then is no proof that it is fixed. A ``cmd:`` engine's
    transcript, if it misbehaves, is saved under ``reports``.
    """
    target = resolve(failure.target, reports=reports)
    if target.deterministic:
        schedule = Schedule(list(failure.schedule or []))
        problem = run_example(target, failure.workload, failure.workers, schedule)
        return Replayed(_now(target, failure, problem), 1, int(problem is not None), True)
    found: list[Problem | None] = []
    with preemptive_threads():
        while len(found) < runs:
            found.append(run_example(target, failure.workload, failure.workers, None))
            if found[-1] is not None and found[-1].kind is FailureKind.HANG:
                break  # each hang leaves a thread behind: one is enough
    problems = [p for p in found if p is not None]
    now = _now(target, failure, problems[0] if problems else None)
    if now is not None:
        now.reproduced = (len(problems), len(found))
    return Replayed(now, len(found), len(problems), False)


def _now(target: Target, failure: Failure, problem: Problem | None) -> Failure | None:
    if problem is None:
        return None
    now = failure_of(
        target, failure.contention, problem, failure.workload, failure.workers, failure.schedule
    )
    now.replay_file = failure.replay_file
    return now
