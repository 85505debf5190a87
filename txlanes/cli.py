"""The ``txlanes`` command line. Exit codes: 0 all held, 1 a property failed, 2 bad input.

Bad input (an invalid workload, an unknown engine, an unreadable file) is one line on stderr and
exit 2 — never a traceback. Set TXLANES_DEBUG=1 to see the traceback of an internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from txlanes import __version__
from txlanes.checker.demo import demo_workload
from txlanes.executor.blockstm import DeterministicRuntime, Schedule
from txlanes.executor.blockstm.runtime import schedule_from_json, schedule_to_json
from txlanes.executor.result import Engine
from txlanes.executor.run import ENGINES, EngineOptions, make_engine, run_workload
from txlanes.executor.sharded.book import ShardedRunError
from txlanes.models.generate import transfers
from txlanes.models.tx import UnknownTransaction
from txlanes.models.workload import WorkloadError, load_workload, state_to_json, workload_to_text
from txlanes.reports import block_result_to_json, write_atomic, write_json
from txlanes.summary import render, summarize

from . import cmd_bench, cmd_check, cmd_verify
from .errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="txlanes",
        description="Prove, test and measure parallel blockchain execution engines.",
    )
    parser.add_argument("--version", action="version", version=f"txlanes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="execute a workload file and report TPS")
    run.add_argument("workload", type=Path, help="a workload JSON file (docs/workload-format.md)")
    run.add_argument("--engine", default="sequential", help=f"one of: {', '.join(sorted(ENGINES))}")
    run.add_argument("--workers", type=int, help="blockstm: worker count (4)")
    run.add_argument(
        "--processes", type=int, help="multicore: processes (default: the CPUs available)"
    )
    run.add_argument("--shards", type=int, help="sharded: number of shards (4)")
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
        "--schedule-seed", type=int, help="blockstm: deterministic runtime, seeded schedule"
    )
    sched.add_argument(
        "--schedule",
        type=Path,
        help="blockstm: replay a schedule file, or the schedule a run result recorded",
    )
    run.add_argument(
        "--output",
        type=Path,
        help="where to write the JSON result (default: reports/run-<workload>-<engine>.json)",
    )
    run.set_defaults(handler=_cmd_run)

    gen = commands.add_parser("gen", help="write a generated workload file")
    gen.add_argument("kind", choices=["transfers", "demo"], help="what to generate")
    gen.add_argument("--txs", type=int, default=100_000, help="transfers: how many (100000)")
    gen.add_argument("--accounts", type=int, default=1_000, help="transfers: accounts (1000)")
    gen.add_argument("--block-size", type=int, help="transfers: txs per block (all in one)")
    gen.add_argument("--fee", type=int, default=0, help="transfers: fee every tx pays (0)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (0)")
    gen.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    gen.set_defaults(handler=_cmd_gen)

    cmd_check.add_parsers(commands)
    cmd_verify.add_parser(commands)
    cmd_bench.add_parser(commands)
    return parser


def _cmd_gen(args: argparse.Namespace, console: Console) -> int:
    if args.kind == "demo":
        workload = demo_workload()
    else:
        try:
            workload = transfers(
                txs=args.txs,
                accounts=args.accounts,
                seed=args.seed,
                block_size=args.block_size,
                fee=args.fee,
            )
        except ValueError as err:
            raise UsageError(str(err)) from None
    write_atomic(args.output, workload_to_text(workload))
    print(f"wrote {sum(len(b.txs) for b in workload.blocks)} txs to {args.output}")
    return EXIT_OK


def _engine_options(args: argparse.Namespace) -> EngineOptions:
    schedule, workers = None, args.workers
    if args.schedule_seed is not None:
        schedule = Schedule(seed=args.schedule_seed)
    elif args.schedule is not None:
        try:
            obj = json.loads(args.schedule.read_text())
            if isinstance(obj, dict) and obj.get("format") == "txlanes-run":
                obj = obj.get("schedule")  # a run result carries the schedule it took
                if obj is None:
                    raise ValueError("this run was not on the deterministic runtime")
            schedule, workers = schedule_from_json(obj)
        except (OSError, ValueError) as err:
            raise UsageError(f"{args.schedule}: {err}") from None
        if args.workers not in (None, workers):
            raise UsageError(
                f"{args.schedule} was recorded with {workers} workers, not {args.workers}"
            )
    return EngineOptions(
        workers,
        schedule,
        args.shards,
        args.transport,
        args.partition,
        args.ray_address,
        args.processes,
    )


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    try:
        engine = make_engine(args.engine, _engine_options(args))
    except ValueError as err:
        raise UsageError(str(err)) from None
    with console.status(f"loading {args.workload}"):
        start = time.perf_counter()
        workload = load_workload(args.workload)
        load_seconds = time.perf_counter() - start
    with console.status(f"executing {sum(len(b.txs) for b in workload.blocks)} txs"):
        try:
            run = run_workload(engine, workload)
        except ValueError as err:  # e.g. no Ray cluster to run on
            raise UsageError(str(err)) from None
        except ShardedRunError as err:
            console.print(f"[red]engine {engine.name} failed:[/red] {err}")
            return EXIT_FAILED
    summary = summarize(engine.name, workload, run)
    output = args.output or Path("reports") / f"run-{args.workload.stem}-{engine.name}.json"
    write_json(
        output,
        {
            "format": "txlanes-run",
            "version": 1,
            "engine": engine.name,
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


def _taken_schedule(engine: Engine) -> dict[str, object] | None:
    """The schedule a deterministic run took, to replay it with ``--schedule``."""
    runtime = getattr(engine, "runtime", None)
    if not isinstance(runtime, DeterministicRuntime):
        return None
    return schedule_to_json(Schedule(list(runtime.taken)), runtime.workers)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        code: int = args.handler(args, console)
    except (UsageError, WorkloadError, UnknownTransaction) as err:
        print(f"txlanes: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("txlanes: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # an internal bug: one line, traceback on demand
        if os.environ.get("TXLANES_DEBUG"):
            raise
        print(
            f"txlanes: internal error: {type(err).__name__}: {err} (TXLANES_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(main())
