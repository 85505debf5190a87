"""Failure files: a counterexample saved as (engine spec, workload, workers, schedule), so that
``txlanes replay FILE`` re-runs it exactly and says FIXED or FAILED."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from txlanes.executor.blockstm import Schedule
from txlanes.models.workload import (
    WorkloadError,
    read_json_file,
    workload_from_json,
    workload_to_json,
)

from .campaign import Failure, run_example
from .targets import resolve

FORMAT = "txlanes-replay"


def failure_to_json(failure: Failure) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": 1,
        "target": failure.target,
        "contention": failure.contention,
        "kind": failure.kind,
        "message": failure.message,
        "workers": failure.workers,
        "schedule": failure.schedule,
        "workload": workload_to_json(failure.workload),
    }


def failure_from_json(obj: object) -> Failure:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise WorkloadError(f"format: must be {FORMAT!r}")
    if obj.get("version") != 1:
        raise WorkloadError(f"version: this txlanes reads version 1, got {obj.get('version')!r}")
    for name, kind in (("target", str), ("workers", int), ("kind", str), ("message", str)):
        if not isinstance(obj.get(name), kind):
            raise WorkloadError(f"{name}: missing or not a {kind.__name__}")
    schedule = obj.get("schedule")
    if schedule is not None and not (
        isinstance(schedule, list) and all(isinstance(c, int) and c >= 0 for c in schedule)
    ):
        raise WorkloadError("schedule: must be null or a list of integers >= 0")
    try:
        workload = workload_from_json(obj.get("workload"))
    except WorkloadError as err:
        raise WorkloadError(f"workload.{err}") from None
    return Failure(
        obj["target"],
        str(obj.get("contention", "")),
        obj["kind"],
        obj["message"],
        workload,
        obj["workers"],
        schedule,
    )


def load_failure(path: str | Path) -> Failure:
    obj = read_json_file(path)
    try:
        return failure_from_json(obj)
    except WorkloadError as err:
        raise WorkloadError(f"{path}: {err}") from None


def replay(failure: Failure, repetitions: int = 20) -> tuple[str, str] | None:
    """Re-run a failure: (kind, message) if it still fails, None if fixed.

    A deterministic target replays its exact schedule once; a thread target is re-run
    ``repetitions`` times, since a race need not repeat.
    """
    target = resolve(failure.target)
    if target.deterministic:
        schedule = Schedule(list(failure.schedule or []))
        return run_example(target, failure.workload, failure.workers, schedule)
    for _ in range(repetitions):
        problem = run_example(target, failure.workload, failure.workers, None)
        if problem is not None:
            return problem
    return None
