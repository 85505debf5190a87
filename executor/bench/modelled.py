"""Modelled Block-STM speedup at 1 to 32 workers, in virtual time (not measured: modelled).

Block-STM runs on :class:`~txlanes.executor.blockstm.virtual_time.VirtualTimeRuntime`, which
simulates truly parallel workers under a cost model, so the curve shows what the algorithm's
dependencies, aborts and re-executions allow on a machine with that many cores — something
CPython threads on this machine cannot show. Simulation hands control between threads at every
shared-memory access, so it is run on one modest block (a few hundred transactions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from txlanes.executor.blockstm.virtual_time import Costs, ModelledBlockSTM
from txlanes.models.workload import Workload

from .measure import Judge, Reference, Tick

WORKERS = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class Modelled:
    """Virtual-time makespans of one block by worker count, and of sequential execution."""

    workload: str
    txs: int
    makespans: dict[int, int]
    executions: dict[int, int]
    #: the same transactions run once each in order, with no Block-STM bookkeeping
    sequential: int
    problem: str | None = None

    def speedup(self, workers: int) -> float:
        """Over Block-STM with one worker (the curve's shape)."""
        return self.makespans[1] / self.makespans[workers]

    def over_sequential(self, workers: int) -> float:
        """Over sequential execution, as the Block-STM paper reports its speedups."""
        return self.sequential / self.makespans[workers]


def model(
    name: str,
    workload: Workload,
    tick: Tick,
    judge: Judge,
    workers: Sequence[int] = WORKERS,
    costs: Costs | None = None,
) -> Modelled:
    """Run the workload's first block on ``workers`` (which must include 1) virtual workers,
    each run checked by ``judge``."""
    costs = costs or Costs()
    if 1 not in workers:
        raise ValueError("the modelled curve needs 1 worker, its baseline")
    first = Workload(workload.state, workload.blocks[:1])
    ref = Reference.of(first)
    makespans, executions, problem = {}, {}, None
    for n in workers:
        tick(f"{name} · modelled Block-STM · {n} workers")
        engine = ModelledBlockSTM(n, costs)
        result = engine.execute(first.blocks[0], first.state)
        problem = problem or judge(first, ref.run.blocks, [result], True)
        makespans[n] = engine.clock.elapsed
        executions[n] = result.stats["executions"]
    sequential = sum(
        costs.sequential(len(t.reads), len(t.writes)) for t in ref.run.blocks[0].traces
    )
    return Modelled(name, len(first.blocks[0].txs), makespans, executions, sequential, problem)
