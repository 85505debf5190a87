"""What one ``txlanes bench`` does: the configuration, and running it into a :class:`Bench`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from txlanes.models.generate import transfers

from ..registry import resolve
from .depbound import DependencyBound, dependency_bound
from .measure import Contender, Judge, Reference, Row, Tick, measure
from .modelled import WORKERS, Modelled, model
from .workloads import ACCOUNTS, WORKLOADS


@dataclass(frozen=True)
class Config:
    workloads: tuple[str, ...]
    engines: tuple[str, ...]
    #: transactions per workload (blocks of 1,000)
    txs: int
    #: timed runs per engine and workload, after one warm-up
    runs: int
    seed: int
    #: workloads whose Block-STM curve is modelled, on their first ``model_txs`` transactions
    model_workloads: tuple[str, ...]
    model_txs: int
    model_workers: tuple[int, ...]
    #: the scaling table: one block of each size (transfers among 1,000 accounts)
    scale_sizes: tuple[int, ...]
    scale_engines: tuple[str, ...]
    scale_runs: int
    #: the multi-core engine's headline: transfers among 10,000 accounts (low contention) in
    #: big blocks, so that forking per block is amortised as a node's block would amortise it
    low_contention_txs: int
    low_contention_block: int
    low_contention_engines: tuple[str, ...]
    quick: bool = False

    @property
    def modelled(self) -> tuple[str, ...]:
        return tuple(name for name in self.workloads if name in self.model_workloads)

    def steps(self) -> int:
        """Progress ticks: every engine run, every modelled worker count."""
        engines = len(self.engines)
        return (
            len(self.workloads) * engines * (1 + self.runs)
            + len(self.low_contention_engines) * (1 + self.runs)
            + len(self.modelled) * len(self.model_workers)
            + len(self.scale_sizes) * len(self.scale_engines) * (1 + self.scale_runs)
        )

    def select(self, workloads: tuple[str, ...], engines: tuple[str, ...]) -> Config:
        """This configuration with the user's choices: named workloads are all modelled, named
        engines are also the scaling table's, and sequential — the baseline of every speedup —
        always runs first."""
        config = self
        if workloads:
            config = replace(config, workloads=workloads, model_workloads=workloads)
        if engines:
            chosen = ("sequential", *(e for e in engines if e != "sequential"))
            config = replace(
                config, engines=chosen, scale_engines=chosen, low_contention_engines=chosen
            )
        return replace(config, model_txs=min(config.model_txs, config.txs))


#: The issue's engine set; sharded runs on the simulated transport.
DEFAULT_ENGINES = (
    "sequential",
    "blockstm:1",
    "blockstm:2",
    "blockstm:4",
    "multicore:1",
    "multicore:2",
    "sharded:4",
)

LOW_CONTENTION_ACCOUNTS = 10_000
LOW_CONTENTION = f"transfers among {LOW_CONTENTION_ACCOUNTS:,} accounts"

_SWEEP = tuple(name for name in WORKLOADS if not name.endswith("+fee"))

FULL = Config(
    workloads=tuple(WORKLOADS),
    engines=DEFAULT_ENGINES,
    txs=2_000,
    runs=5,
    seed=0,
    model_workloads=(*_SWEEP, "transfers-10000+fee"),
    model_txs=500,
    model_workers=WORKERS,
    scale_sizes=(1_000, 10_000, 100_000),
    scale_engines=("sequential", "blockstm:4", "multicore:2"),
    scale_runs=3,
    low_contention_txs=40_000,
    low_contention_block=10_000,
    low_contention_engines=("sequential", "multicore:1", "multicore:2"),
)

QUICK = Config(
    workloads=(
        "transfers-2",
        "transfers-100",
        "transfers-10000",
        "erc20",
        "defi",
        "transfers-10000+fee",
    ),
    engines=("sequential", "blockstm:1", "blockstm:2", "multicore:1", "multicore:2"),
    txs=300,
    runs=5,
    seed=0,
    model_workloads=("transfers-2", "transfers-100", "transfers-10000"),
    model_txs=100,
    model_workers=(1, 2, 4, 8),
    scale_sizes=(1_000, 10_000, 100_000),
    scale_engines=("sequential",),
    scale_runs=3,
    low_contention_txs=4_000,
    low_contention_block=2_000,
    low_contention_engines=("sequential", "multicore:1", "multicore:2"),
    quick=True,
)


@dataclass
class Bench:
    config: Config
    rows: list[Row] = field(default_factory=list)
    bounds: dict[str, DependencyBound] = field(default_factory=dict)
    modelled: list[Modelled] = field(default_factory=list)
    scaling: list[Row] = field(default_factory=list)
    low_contention: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        """Every divergence from sequential and every engine failure, in the order found."""
        rows = (*self.rows, *self.low_contention, *self.scaling)
        found = [f"{r.engine} on {r.workload}: {r.problem}" for r in rows if r.problem]
        found += [f"modelled Block-STM on {m.workload}: {m.problem}" for m in self.modelled
                  if m.problem]  # fmt: skip
        return found


Engines = dict[str, Contender]


def specs(config: Config) -> list[str]:
    """Every engine spec the run needs, once each, in order."""
    named = (*config.engines, *config.low_contention_engines, *config.scale_engines)
    return list(dict.fromkeys(named))


def build_engines(
    config: Config, timeout: float = 60.0, reports: Path = Path("reports")
) -> Engines:
    """Every engine the run needs, once, by spec; ``TargetError`` for a spec that names none
    (external engines: ``timeout`` seconds per block, transcripts under ``reports``)."""
    engines = {}
    for spec in specs(config):
        target = resolve(spec, timeout=timeout, reports=reports)
        engines[spec] = Contender(spec, target.engine(), target.traces, target.kinds)
    return engines


#: One independent piece of a run: a workload of the sweep, the low-contention table, or one
#: size of the scaling table. Each measures all its engines on one machine, so its speedups are
#: same-run ratios wherever it runs.
Part = tuple[str, str | int]


def parts(config: Config) -> list[tuple[Part, int]]:
    """The run's parts, in report order, each with its number of progress ticks."""
    engines, runs = len(config.engines), 1 + config.runs
    sweep: list[tuple[Part, int]] = [
        (("sweep", name), engines * runs + len(config.model_workers) * (name in config.modelled))
        for name in config.workloads
    ]
    low: list[tuple[Part, int]] = [(("low", 0), len(config.low_contention_engines) * runs)]
    scale: list[tuple[Part, int]] = [
        (("scale", size), len(config.scale_engines) * (1 + config.scale_runs))
        for size in config.scale_sizes
    ]
    return [*sweep, *low, *scale]


def run_part(part: Part, config: Config, built: Engines, tick: Tick, judge: Judge) -> Bench:
    """Measure one part; the result is a :class:`Bench` holding just that part."""
    kind, what = part
    piece = Bench(config)
    if kind == "sweep":
        name = str(what)
        workload = WORKLOADS[name].build(config.txs, config.seed)
        ref = Reference.of(workload)
        piece.bounds[name] = dependency_bound([b.traces for b in ref.run.blocks])
        engines = [built[spec] for spec in config.engines]
        piece.rows = measure(name, workload, engines, config.runs, tick, judge, ref)
        if name in config.modelled:
            small = WORKLOADS[name].build(config.model_txs, config.seed)
            piece.modelled.append(model(name, small, tick, judge, config.model_workers))
    elif kind == "low":
        low = transfers(
            txs=config.low_contention_txs,
            accounts=LOW_CONTENTION_ACCOUNTS,
            seed=config.seed,
            block_size=config.low_contention_block,
        )
        engines = [built[spec] for spec in config.low_contention_engines]
        piece.low_contention = measure(LOW_CONTENTION, low, engines, config.runs, tick, judge)
    else:
        size = int(what)
        workload = transfers(txs=size, accounts=ACCOUNTS, seed=config.seed)
        engines = [built[spec] for spec in config.scale_engines]
        rows = measure(f"{size:,} txs", workload, engines, config.scale_runs, tick, judge)
        piece.scaling = rows
    return piece


def merge(config: Config, pieces: list[Bench], seconds: float) -> Bench:
    """The parts' results as one run, in report order."""
    bench = Bench(config, seconds=seconds)
    for piece in pieces:
        bench.rows += piece.rows
        bench.bounds |= piece.bounds
        bench.modelled += piece.modelled
        bench.low_contention += piece.low_contention
        bench.scaling += piece.scaling
    return bench


def run(config: Config, built: Engines, tick: Tick, judge: Judge) -> Bench:
    """Measure, check (by ``judge``), model and scale as ``config`` says, with engines from
    build_engines."""
    start = time.perf_counter()
    pieces = [run_part(part, config, built, tick, judge) for part, _ in parts(config)]
    return merge(config, pieces, time.perf_counter() - start)
