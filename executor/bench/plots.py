"""PNG plots of a bench run (matplotlib, Agg backend: no display needed).

- speedup-vs-contention.png: measured speedup over sequential per engine across the transfer
  sweep's account counts, with the dependency bound and the modelled 32-worker Block-STM.
- tps-vs-workers.png: median TPS (IQR as error bars) of each worker-counted engine family.
- modelled-speedup.png: the modelled Block-STM curve per workload, 1 to 32 workers.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from .report import speedup
from .suite import Bench
from .workloads import WORKLOADS

_COUNTED = re.compile(r"^(?P<family>[\w.-]+):(?P<n>\d+)$")


def write_plots(bench: Bench, directory: Path) -> list[str]:
    """Write the plots that the run has data for; their file names, relative to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("speedup-vs-contention.png", _contention),
        ("tps-vs-workers.png", _workers),
        ("modelled-speedup.png", _modelled),
    ):
        fig, ax = plt.subplots(figsize=(9, 4.5))
        try:
            if draw(bench, ax):
                ax.grid(True, alpha=0.3)
                # beside the axes, not on them: with a dozen lines any corner hides some
                ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
                fig.tight_layout()
                fig.savefig(directory / name, dpi=120, bbox_inches="tight")
                written.append(name)
        finally:
            plt.close(fig)
    return written


def _contention(bench: Bench, ax: Axes) -> bool:
    sweep = [n for n in bench.config.workloads if n.startswith("transfers-")]
    if not sweep:
        return False
    for fee in (False, True):
        names = sorted((n for n in sweep if WORKLOADS[n].fee == fee),
                       key=lambda n: WORKLOADS[n].accounts)  # fmt: skip
        if not names:
            continue
        xs = [WORKLOADS[n].accounts for n in names]
        style = "--" if fee else "-"
        suffix = " (+fee)" if fee else ""
        for k, engine in enumerate(bench.config.engines[1:]):  # an engine keeps its colour
            ys = [_measured(bench, n, engine) for n in names]
            ax.plot(xs, ys, style, color=f"C{k}", marker="o", label=f"{engine}{suffix}")
        ax.plot(xs, [bench.bounds[n].speedup for n in names], style, color="black",
                label=f"dependency bound{suffix}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("accounts (fewer = more contention)")
    ax.set_ylabel("speedup over sequential (measured)")
    ax.set_title("Speedup vs contention, transfers")
    return True


def _measured(bench: Bench, workload: str, engine: str) -> float:
    for row in bench.rows:
        if row.workload == workload and row.engine == engine:
            return speedup(bench, row) or float("nan")
    return float("nan")


#: Workloads the TPS plot shows when the run has more than it can show legibly.
_SHOWN = ("transfers-2", "transfers-10000", "defi")


def _workers(bench: Bench, ax: Axes) -> bool:
    shown = [n for n in _SHOWN if n in bench.config.workloads] or bench.config.workloads[:3]
    families: dict[tuple[str, str], list[tuple[int, float, float, float]]] = {}
    for row in bench.rows:
        match = _COUNTED.match(row.engine)
        if match and row.seconds and row.workload in shown:
            q1, q3 = row.iqr
            point = (int(match["n"]), row.median_tps, q1, q3)
            families.setdefault((match["family"], row.workload), []).append(point)
    if not families:
        return False
    for (family, workload), points in sorted(families.items()):
        points.sort()
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        err = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=f"{family} · {workload}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("workers / processes / shards")
    ax.set_ylabel("TPS (median, IQR bars; measured)")
    ax.set_title("TPS vs workers")
    return True


def _modelled(bench: Bench, ax: Axes) -> bool:
    if not bench.modelled:
        return False
    for m in bench.modelled:
        workers = sorted(m.makespans)
        ax.plot(workers, [m.over_sequential(w) for w in workers], marker="o", label=m.workload)
    top = max(bench.config.model_workers)
    ax.plot([1, top], [1, top], ":", color="grey", label="linear")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup over sequential (MODELLED, virtual time)")
    ax.set_title("Modelled Block-STM speedup (not measured)")
    return True
