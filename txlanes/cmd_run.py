"""``txlanes run`` — execute a workload file through any engine and report TPS."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from txlanes.checker.schedules import load_schedule
from txlanes.executor.blockstm import DeterministicRuntime, Schedule
from txlanes.executor.blockstm.runtime import schedule_to_json
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import Target, TargetError, resolve, spec_with
from txlanes.executor.result import Engine, block_result_to_json
from txlanes.executor.run import run_workload
from txlanes.executor.sharded.book import ShardedRunError
from txlanes.files import write_json
from txlanes.models.workload import load_workload, state_to_json
from txlanes.summary import render, summarize

from .errors import EXIT_FAILED, EXIT_OK, UsageError
from .options import (
    COUNT,
    SEED,
    add_engine_options,
    check_output,
    engine_specs,
    engine_timeout,
    output_file,
)

#: Flags that set a built-in engine's N, by what N counts, and flags that set an option.
_COUNT_FLAGS = ("workers", "processes", "shards")
_OPTION_FLAGS = ("transport", "partition", "ray_address")


def add_parser(commands: Any) -> None:
    run = commands.add_parser("run", help="execute a workload file and report TPS")
    run.add_argument("workload", type=Path, help="a workload JSON file (docs/workload-format.md)")
    add_engine_options(run, many=False, default="sequential", timeout=60.0)
    run.add_argument(
        "--workers", type=COUNT, help=f"blockstm, blockstm-det: N, the workers, {COUNT} (4)"
    )
    run.add_argument(
        "--processes", type=COUNT, help=f"multicore: N, the processes, {COUNT} (the CPUs)"
    )
    run.add_argument("--shards", type=COUNT, help=f"sharded: N, the shards, {COUNT} (4)")
    run.add_argument(
        "--transport",
        help="sharded: sim (a simulated network, the default), processes (a process per "
        "shard) or ray (a Ray actor per shard)",
    )
    run.add_argument(
        "--partition", help="sharded: which shard holds a key — account (default) or key"
    )
    run.add_argument(
        "--ray-address", help="sharded, transport ray: the cluster (default: a local instance)"
    )
    sched = run.add_mutually_exclusive_group()
    sched.add_argument(
        "--schedule-seed",
        type=SEED,
        help=f"blockstm-det: a seeded schedule; sharded: a seeded healing fault plan; {SEED}",
    )
    sched.add_argument(
        "--schedule",
        type=Path,
        help="blockstm-det: replay a schedule file, or the schedule a run result recorded",
    )
    run.add_argument(
        "--output",
        type=output_file,
        help="where to write the JSON result (default: reports/run-<workload>-<engine>.json)",
    )
    run.set_defaults(handler=cmd_run)


def _target(args: argparse.Namespace) -> Target:
    specs = engine_specs(args, ("sequential",))
    if len(specs) > 1:
        raise UsageError("txlanes run takes one engine: --engine or --engine-cmd, not both")
    counts = {flag: getattr(args, flag) for flag in _COUNT_FLAGS if getattr(args, flag) is not None}
    options = {
        flag.replace("_", "-"): getattr(args, flag)
        for flag in _OPTION_FLAGS
        if getattr(args, flag) is not None
    }
    try:
        spec = spec_with(specs[0], counts=counts, options=options)
        # a cmd: engine's transcript goes beside the result
        reports = args.output.parent if args.output else Path("reports")
        return resolve(spec, timeout=engine_timeout(args), reports=reports)
    except (TargetError, ExternalEngineError) as err:  # it names nothing, or will not start
        raise UsageError(str(err)) from None


def _schedule(args: argparse.Namespace, target: Target) -> tuple[Schedule | None, int | None]:
    """The schedule the flags name, and the workers it was recorded with (if from a file)."""
    if args.schedule_seed is None and args.schedule is None:
        return None, None
    if not target.schedules:
        raise UsageError(
            f"engine {target.spec!r} takes no schedule (blockstm-det, sharded and mutants do)"
        )
    if args.schedule_seed is not None:
        return Schedule(seed=args.schedule_seed), None
    schedule, workers = load_schedule(args.schedule)  # a WorkloadError is exit 2
    if target.count not in (None, workers):
        raise UsageError(f"{args.schedule} was recorded with {workers} workers, not {target.count}")
    return schedule, workers


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    target = _target(args)
    schedule, recorded = _schedule(args, target)
    try:
        engine = target.build(target.count or recorded, schedule)
    except (TargetError, ExternalEngineError) as err:
        raise UsageError(str(err)) from None
    name = str(getattr(engine, "name", "") or target.spec)
    output = args.output or check_output("--output", _default_output(args.workload, name))
    with console.status(f"loading {args.workload}"):
        start = time.perf_counter()
        workload = load_workload(args.workload)
        load_seconds = time.perf_counter() - start
    with console.status(f"executing {sum(len(b.txs) for b in workload.blocks)} txs"):
        try:
            run = run_workload(engine, workload)
        except (ValueError, ExternalEngineError) as err:  # e.g. no Ray cluster to run on
            raise UsageError(f"engine {target.spec!r}: {err}") from None
        except ShardedRunError as err:
            console.print(f"[red]engine {target.spec} failed:[/red] {err}")
            return EXIT_FAILED
    summary = summarize(name, workload, run)
    write_json(
        output,
        {
            "format": "txlanes-run",
            "version": 1,
            "engine": name,
            "spec": target.spec,
            "workload": str(args.workload),
            "txs": summary.txs,
            "reverted": summary.reverted,
            "seconds": run.seconds,
            "tps": summary.tps,
            "by_type": {k: {"txs": n, "reverted": r} for k, (n, r) in summary.by_type.items()},
            "blocks": [block_result_to_json(b) for b in run.blocks],
            "state": state_to_json(run.state),
            "schedule": _taken_schedule(engine),
        },
    )
    print(render(summary))
    print(f"loaded in {load_seconds:.2f} s; result written to {output}")
    return EXIT_OK


def _default_output(workload: Path, engine: str) -> Path:
    """``reports/run-<workload>-<engine>.json``, its parts cut short to stay a legal file name."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", engine)[:80]
    return Path("reports") / f"run-{workload.stem[:80]}-{slug}.json"


def _taken_schedule(engine: Engine) -> dict[str, object] | None:
    """The schedule a deterministic run took, to replay it with ``--schedule``."""
    runtime = getattr(engine, "runtime", None)
    if not isinstance(runtime, DeterministicRuntime):
        return None
    return schedule_to_json(Schedule(list(runtime.taken)), runtime.workers)
