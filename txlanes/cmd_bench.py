"""``txlanes bench`` — TPS, speedups and bounds of engines on named workloads, each run checked
for equivalence with sequential execution (a fast wrong engine is not fast)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from txlanes.checker.equivalence import run_divergence
from txlanes.executor.bench import suite
from txlanes.executor.bench.on_ray import check_specs, run_on_ray
from txlanes.executor.bench.plots import write_plots
from txlanes.executor.bench.report import (
    headline,
    low_contention_table,
    markdown,
    scaling_table,
    to_json,
)
from txlanes.executor.bench.workloads import WORKLOADS
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.ray_cluster import RayUnavailable
from txlanes.executor.registry import TargetError
from txlanes.files import write_atomic, write_json

from . import options
from .errors import EXIT_FAILED, EXIT_OK, UsageError

#: A median and quartiles need 5 timed runs; past 1,000 more runs add time, not precision.
RUNS = options.Whole(5, 1_000, "a median and quartiles need 5")
SIZES = options.Whole(1, options.MAX_TXS, "about 1 KB of memory each")


def add_parser(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="measure engines on the contention sweep, checked against sequential"
    )
    bench.add_argument(
        "--quick", action="store_true", help="a small configuration for CI (under a minute)"
    )
    options.add_engine_options(
        bench, many=True, default="the suite's engines; sequential always runs", timeout=60.0
    )
    bench.add_argument(
        "--workload",
        action="append",
        metavar="NAME",
        help=f"repeatable; one of: {', '.join(WORKLOADS)}",
    )
    bench.add_argument(
        "--runs", type=RUNS, help=f"timed runs per engine after a warm-up, {RUNS}; default 5"
    )
    bench.add_argument(
        "--txs",
        type=SIZES,
        help=f"transactions per workload, {SIZES}; default 2000, quick 300",
    )
    bench.add_argument(
        "--scale",
        action="append",
        type=SIZES,
        metavar="TXS",
        help=f"block sizes of the scaling table, {SIZES} (repeatable; default 1000, 10000, 100000)",
    )
    bench.add_argument(
        "--seed", type=options.SEED, default=0, help=f"workload seed, {options.SEED} (0)"
    )
    options.add_reports_option(bench, "bench.md, bench.json and the plots")
    bench.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    options.add_ray_options(
        bench, "each workload (and the low-contention and scaling measurements)"
    )
    bench.set_defaults(handler=cmd_bench)


def _config(args: argparse.Namespace) -> suite.Config:
    base = suite.QUICK if args.quick else suite.FULL
    unknown = [name for name in args.workload or () if name not in WORKLOADS]
    if unknown:
        raise UsageError(f"unknown workload {unknown[0]!r} (known: {', '.join(WORKLOADS)})")
    runs = base.runs if args.runs is None else args.runs
    txs = base.txs if args.txs is None else args.txs
    sizes = tuple(args.scale or base.scale_sizes)
    options.fits_in_memory(
        f"blocks of --txs {txs:,} and --scale {max(sizes):,}",
        max(txs, *sizes) * options.BYTES_PER_TX,
    )
    config = replace(base, runs=runs, txs=txs, seed=args.seed, scale_sizes=sizes)
    return config.select(tuple(args.workload or ()), tuple(options.engine_specs(args, ())))


def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    config = _config(args)
    on_ray = args.ray or args.ray_address is not None
    timeout = options.engine_timeout(args)
    try:
        if on_ray:
            check_specs(config)
            engines: suite.Engines = {}
        else:
            engines = suite.build_engines(config, timeout, args.reports)
    except (TargetError, ExternalEngineError, RayUnavailable) as err:  # one line, exit 2
        raise UsageError(str(err)) from None
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("bench", total=config.steps())

        def tick(what: str) -> None:
            progress.update(task, description=what, advance=1)

        try:
            if on_ray:
                bench = run_on_ray(config, tick, run_divergence, args.ray_address)
            else:
                bench = suite.run(config, engines, tick, run_divergence)
        except (ExternalEngineError, RayUnavailable) as err:  # exit 2, one line
            raise UsageError(str(err)) from None
    try:
        plots = [] if args.no_plots else write_plots(bench, args.reports)
    except OSError as err:  # --reports was writable when the bench started
        raise UsageError(f"cannot write the plots in {args.reports}: {err}") from None
    write_json(args.reports / "bench.json", to_json(bench))
    write_atomic(args.reports / "bench.md", markdown(bench, plots))
    print(headline(bench, "simple"))
    print(f"\nlow contention, big blocks:\n{low_contention_table(bench, 'simple')}")
    print(f"\nscaling with block size:\n{scaling_table(bench, 'simple')}")
    for problem in bench.problems:
        print(f"\nWRONG {problem}")
    print(f"\n{bench.seconds:.1f} s; reports in {args.reports}/ (bench.md, bench.json"
          + "".join(f", {p}" for p in plots) + ")")  # fmt: skip
    return EXIT_FAILED if bench.problems else EXIT_OK
