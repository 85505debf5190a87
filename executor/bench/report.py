"""The benchmark's reports: bench.json (with the environment), bench.md and the terminal tables.

Measured numbers and modelled ones are kept apart and labelled: a modelled speedup comes from
virtual time (docs/benchmark.md), never from a clock.
"""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from typing import Any

from tabulate import tabulate

from .measure import Row
from .suite import Bench

_PACKAGES = ("txlanes", "hypothesis", "z3-solver", "networkx", "matplotlib", "tabulate", "rich")


def environment(bench: Bench) -> dict[str, Any]:
    """What a reader needs to compare two runs: the machine, the software, the settings."""
    versions: dict[str, str | None] = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    config = bench.config
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "versions": versions,
        "seed": config.seed,
        "runs": config.runs,
        "quick": config.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(bench.seconds, 1),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def speedup(bench: Bench, row: Row) -> float | None:
    """Median TPS over the sequential median of the same workload in the same run."""
    for base in (*bench.rows, *bench.low_contention):
        if base.workload == row.workload and base.engine == "sequential" and base.seconds:
            return row.median_tps / base.median_tps if row.seconds else None
    return None


def _row_json(bench: Bench | None, row: Row) -> dict[str, Any]:
    q1, q3 = row.iqr
    out = {
        "engine": row.engine,
        "workload": row.workload,
        "txs": row.txs,
        "equivalent": row.problem is None,
        "unsupported_kinds": list(row.unsupported),
        "problem": row.problem,
        "seconds": row.seconds,
        "tps_median": row.median_tps if row.seconds else None,
        "tps_iqr": [q1, q3] if row.seconds else None,
        "materialize_seconds": row.materialize,
        "tps_median_with_results": row.median_tps_with_results if row.seconds else None,
        "reexecutions_per_tx": row.reexecutions,
        "aborts": row.stats.get("aborts"),
        "stats": row.stats,
    }
    if bench is not None:
        out["speedup"] = speedup(bench, row)
    return out


def to_json(bench: Bench) -> dict[str, Any]:
    config = bench.config
    return {
        "format": "txlanes-bench",
        "version": 1,
        "environment": environment(bench),
        "config": {
            "workloads": list(config.workloads),
            "engines": list(config.engines),
            "txs": config.txs,
            "model_txs": config.model_txs,
            "model_workers": list(config.model_workers),
            "scale_sizes": list(config.scale_sizes),
            "scale_runs": config.scale_runs,
        },
        "equivalent": not bench.problems,
        "problems": bench.problems,
        "results": [_row_json(bench, r) for r in bench.rows],
        "dependency_bound": {
            name: {"txs": b.total, "longest_chain": b.longest, "speedup": b.speedup}
            for name, b in bench.bounds.items()
        },
        "modelled": [
            {
                "label": "modelled (virtual time), not measured",
                "workload": m.workload,
                "txs": m.txs,
                "sequential_makespan": m.sequential,
                "makespans": m.makespans,
                "executions": m.executions,
                "speedup": {w: m.speedup(w) for w in m.makespans},
                "speedup_over_sequential": {w: m.over_sequential(w) for w in m.makespans},
                "equivalent": m.problem is None,
            }
            for m in bench.modelled
        ],
        "low_contention": {
            "workload": bench.low_contention[0].workload if bench.low_contention else None,
            "block_size": config.low_contention_block,
            "results": [_row_json(bench, r) for r in bench.low_contention],
        },
        "scaling": [_row_json(None, r) for r in bench.scaling],
    }


def _tps(row: Row) -> str:
    if row.unsupported:
        return "n/a"
    if row.problem is not None:
        return "WRONG" if "failed:" not in row.problem else "FAILED"
    return f"{row.median_tps:,.0f}"


def _x(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def headline(bench: Bench, fmt: str = "github") -> str:
    """Per workload: sequential TPS, each engine's measured speedup, the bounds."""
    engines = [e for e in bench.config.engines if e != "sequential"]
    top = max(bench.config.model_workers)
    modelled = {m.workload: m for m in bench.modelled}
    rows = []
    for name in bench.config.workloads:
        by_engine = {r.engine: r for r in bench.rows if r.workload == name}
        cells = [by_engine[e] for e in engines]
        m = modelled.get(name)
        rows.append(
            [name, _tps(by_engine["sequential"])]
            + [_x(speedup(bench, r)) if r.seconds else _tps(r) for r in cells]
            + [_x(bench.bounds[name].speedup), _x(m.over_sequential(top)) if m else ""]
        )
    headers = [
        "workload",
        "sequential TPS",
        *engines,
        "dependency bound",
        f"modelled Block-STM, {top} workers",
    ]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def _measured(bench: Bench, r: Row) -> list[str]:
    """Median TPS, its interquartile range, speedup."""
    q1, q3 = r.iqr
    return [_tps(r), f"{q1:,.0f}–{q3:,.0f}" if r.seconds else "", _x(speedup(bench, r))]


def _reexecutions(r: Row) -> str:
    return "" if r.reexecutions is None else f"{r.reexecutions:.3f}"


def details(bench: Bench, fmt: str = "github") -> str:
    """Every engine on every workload: median TPS, IQR, speedup, re-executions, aborts."""
    rows = [
        [
            r.workload,
            r.engine,
            *_measured(bench, r),
            _reexecutions(r),
            "" if "aborts" not in r.stats else f"{r.stats['aborts']:.1f}",
        ]
        for r in bench.rows
    ]
    headers = ["workload", "engine", "TPS (median)", "TPS IQR", "speedup", "re-exec/tx", "aborts"]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def low_contention_table(bench: Bench, fmt: str = "github") -> str:
    """The multi-core engine against sequential on big low-contention blocks."""
    rows = [
        [
            r.engine,
            *_measured(bench, r),
            f"{r.median_tps_with_results:,.0f}" if r.seconds else "",
            _reexecutions(r),
        ]
        for r in bench.low_contention
    ]
    headers = [
        "engine",
        "TPS (median)",
        "TPS IQR",
        "speedup",
        "TPS reading all results",
        "re-exec/tx",
    ]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def modelled_table(bench: Bench, fmt: str = "github") -> str:
    workers = bench.config.model_workers
    rows = [
        [f"{m.workload} ({m.txs} txs)"]
        + [f"{m.speedup(w):.2f} / {m.over_sequential(w):.2f}" for w in workers]
        for m in bench.modelled
    ]
    headers = ["workload", *(f"{w} workers" for w in workers)]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def scaling_table(bench: Bench, fmt: str = "github") -> str:
    """Time per block and per transaction as the block grows, and the growth factor."""
    rows: list[list[str]] = []
    previous: dict[str, float] = {}
    for r in bench.scaling:
        seconds = r.txs / r.median_tps if r.seconds else None
        grown = previous.get(r.engine)
        rows.append(
            [
                r.engine,
                f"{r.txs:,}",
                "WRONG" if r.problem else f"{seconds:.3f}",
                "" if r.problem or seconds is None else f"{seconds / r.txs * 1e6:.1f}",
                "" if grown is None or seconds is None else f"{seconds / grown:.1f}x",
            ]
        )
        if seconds is not None:
            previous[r.engine] = seconds
    rows.sort(key=lambda row: row[0])  # stable: sizes stay in order within an engine
    headers = ["engine", "block size", "seconds (median)", "µs per tx", "time vs previous size"]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def markdown(bench: Bench, plots: list[str]) -> str:
    env = environment(bench)
    config = bench.config
    verdict = (
        "Every engine computed exactly what sequential execution computes."
        if not bench.problems
        else "**Divergences from sequential execution** (their rows are WRONG, not timed):\n\n"
        + "\n".join(f"- {p}" for p in bench.problems)
    )
    parts = [
        "# txlanes bench",
        f"{'Quick run' if config.quick else 'Full run'} on {env['cpu']} "
        f"({env['cores_available']} of {env['cores']} cores available), {env['python']}, "
        f"txlanes {env['versions']['txlanes']}, seed {config.seed}, {env['date']}; "
        f"{config.txs:,} txs per workload in blocks of up to 1,000, {config.runs} timed runs "
        f"per engine after a warm-up, engines interleaved. {env['seconds']} s in all.",
        verdict,
        "## Headline\n\nMeasured speedup is median TPS over the sequential median of the same "
        "run. The dependency bound is total work over the longest read-after-write chain "
        "(unlimited cores, equal costs). The last column is **modelled** (virtual time, "
        "over sequential execution), not measured.",
        headline(bench),
        f"## Low contention, big blocks: the multi-core engine\n\n"
        f"{config.low_contention_txs:,} transfers among 10,000 accounts in blocks of "
        f"{config.low_contention_block:,}, {config.runs} timed runs per engine after a "
        'warm-up, interleaved; speedup over the sequential median of this table. "TPS '
        'reading all results" also counts reading every receipt and trace back afterwards, '
        "which for the multi-core engine includes decoding what its child processes sent "
        "(it decodes lazily, docs/multicore.md).",
        low_contention_table(bench),
        "## Every engine\n\nTPS median and interquartile range over the timed runs; "
        "re-executions per transaction and aborts are the engine's own counters, per run.",
        details(bench),
        f"## Modelled Block-STM (virtual time — not measured)\n\nEach cell: speedup over "
        f"Block-STM with 1 worker / over sequential execution, on the first "
        f"{config.model_txs} transactions. Cost model and its comparison with the Block-STM "
        "paper: docs/benchmark.md.",
        modelled_table(bench),
        f"## Scaling with block size\n\nTransfers among 1,000 accounts in one block; median "
        f"of {config.scale_runs} runs after a warm-up.",
        scaling_table(bench),
    ]
    if plots:
        parts.append("## Plots\n\n" + "\n".join(f"![{p}]({p})" for p in plots))
    return "\n\n".join(parts) + "\n"
