"""Timing engines on one workload, fairly, and checking every result against sequential.

Each engine first runs once untimed (the warm-up: imports, caches, process pools) and that run
is checked transaction by transaction against the sequential reference. Then ``runs``
repetitions follow; within each, every engine runs once, in an order rotated per repetition, so
that drift of a shared machine (another job, thermal throttling) hits all engines alike. Each
timed run's final state is compared with the reference too: an engine that is right only
sometimes is caught. A wrong engine gets no more timed runs — its speed means nothing.

The check itself is the checker's (``txlanes.checker.equivalence.run_divergence``), handed in
as a :data:`Judge` by whoever runs the bench: engines never depend on their checker.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from txlanes.models.context import Key
from txlanes.models.workload import Workload

from ..external import ExternalEngineError
from ..result import BlockResult, Engine
from ..run import RunResult, run_workload
from ..sequential import SequentialEngine

Tick = Callable[[str], None]

#: (workload, its sequential run's blocks, an engine's blocks, whether the engine reports
#: traces) → the first divergence, explained, or None
Judge = Callable[[Workload, Sequence[BlockResult], Sequence[BlockResult], bool], str | None]


class Contender(NamedTuple):
    """An engine under measurement, as the engine registry resolves its spec."""

    spec: str
    engine: Engine
    traces: bool  # whether it reports traces (else receipts and writes are compared)
    kinds: frozenset[str] | None  # the transaction kinds it supports; None: all


@dataclass
class Row:
    """One engine on one workload: the seconds of each timed run and what went wrong, if any."""

    engine: str
    workload: str
    txs: int
    seconds: list[float] = field(default_factory=list)
    #: per timed run, the seconds reading every receipt and trace took afterwards: engines
    #: that hand back lazily decoded results (the multi-core engine) pay their decoding here
    materialize: list[float] = field(default_factory=list)
    #: engine counters ("executions", "aborts", ...), mean per timed run
    stats: dict[str, float] = field(default_factory=dict)
    #: the first divergence from sequential, explained, or an engine error
    problem: str | None = None
    #: transaction kinds of the workload the engine does not support (then it does not run)
    unsupported: tuple[str, ...] = ()

    @property
    def tps(self) -> list[float]:
        return [self.txs / s if s > 0 else float("inf") for s in self.seconds]

    @property
    def median_tps(self) -> float:
        return statistics.median(self.tps) if self.seconds else float("nan")

    @property
    def median_tps_with_results(self) -> float:
        """TPS counting the time to read every receipt and trace back, too."""
        if not self.seconds:
            return float("nan")
        return statistics.median(
            self.txs / (s + m) for s, m in zip(self.seconds, self.materialize, strict=True)
        )

    @property
    def iqr(self) -> tuple[float, float]:
        """The first and third quartiles of TPS over the timed runs."""
        if len(self.seconds) < 2:
            return (self.median_tps, self.median_tps)
        q1, _, q3 = statistics.quantiles(self.tps, n=4, method="inclusive")
        return (q1, q3)

    @property
    def reexecutions(self) -> float | None:
        """Executions per transaction beyond the first, where the engine counts executions."""
        executions = self.stats.get("executions")
        return None if executions is None or not self.txs else executions / self.txs - 1


@dataclass(frozen=True)
class Reference:
    """The sequential run of a workload, block by block."""

    workload: Workload
    run: RunResult

    @classmethod
    def of(cls, workload: Workload) -> Reference:
        return cls(workload, run_workload(SequentialEngine(), workload))


def measure(
    name: str,
    workload: Workload,
    engines: Sequence[Contender],
    runs: int,
    tick: Tick,
    judge: Judge,
    ref: Reference | None = None,
) -> list[Row]:
    """Rows for each engine on ``workload``: warm-up and check (by ``judge``), then the timed
    runs."""
    ref = ref or Reference.of(workload)
    txs = sum(len(block.txs) for block in workload.blocks)
    kinds = {tx.KIND for tx in workload.transactions()}
    rows = [
        Row(c.spec, name, txs, unsupported=tuple(sorted(kinds - (c.kinds or kinds))))
        for c in engines
    ]
    counters = [Counter[str]() for _ in engines]
    #: each engine's final state from its fully checked warm-up: later runs that end there
    #: need no second full check (an engine in another serial order ends elsewhere than
    #: sequential execution, every time)
    checked: dict[int, dict[Key, int]] = {}

    def attempt(i: int, check: bool) -> RunResult | None:
        """Run engine i; check its result fully if ``check``, else when its final state differs
        from the checked warm-up's."""
        spec, engine, traces, _ = engines[i]
        try:
            with _collector_paused():
                run = run_workload(engine, workload)
        except ExternalEngineError:
            raise  # not a verdict on its results: it could not be heard (exit 2)
        except Exception as err:  # an engine that fails is reported, not a crash of the bench
            rows[i].problem = f"{spec} failed: {type(err).__name__}: {err}"
            return None
        if check or run.state != checked[i]:
            rows[i].problem = judge(workload, ref.run.blocks, run.blocks, traces)
            checked[i] = run.state
        return run

    for i, contender in enumerate(engines):
        tick(f"{name} · {contender.spec} · warm-up")
        if not rows[i].unsupported:
            attempt(i, check=True)
    for r in range(runs):
        for i in _rotated(len(engines), r):
            tick(f"{name} · {engines[i].spec} · run {r + 1}/{runs}")
            if rows[i].problem is not None or rows[i].unsupported:
                continue
            run = attempt(i, check=False)
            if run is not None and rows[i].problem is None:
                rows[i].seconds.append(run.seconds)
                rows[i].materialize.append(_materialize(run))
                for block in run.blocks:
                    counters[i].update(block.stats)
    for row, counter in zip(rows, counters, strict=True):
        if row.problem is not None:
            row.seconds.clear()
            row.materialize.clear()
        elif row.seconds:
            row.stats = {k: v / len(row.seconds) for k, v in counter.items()}
    return rows


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Time with the cyclic garbage collector off, as ``timeit`` does: its pauses grow with
    everything else the process holds and would land on whichever engine runs at the time."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _materialize(run: RunResult) -> float:
    start = time.perf_counter()
    for block in run.blocks:
        for receipt, trace in zip(block.receipts, block.traces, strict=True):
            del receipt, trace
    return time.perf_counter() - start


def _rotated(n: int, r: int) -> list[int]:
    return [(r + i) % n for i in range(n)]
