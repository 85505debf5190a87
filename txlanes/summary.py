"""Turning a run into numbers people read: counts by transaction type, reverts and TPS."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tabulate import tabulate

from txlanes.executor.run import RunResult
from txlanes.models.workload import Workload


@dataclass(frozen=True)
class RunSummary:
    engine: str
    txs: int
    reverted: int
    seconds: float
    by_type: dict[str, tuple[int, int]]  # kind → (txs, reverted)

    @property
    def tps(self) -> float:
        return self.txs / self.seconds if self.seconds > 0 else float("inf")


def summarize(engine: str, workload: Workload, run: RunResult) -> RunSummary:
    total: Counter[str] = Counter()
    reverted: Counter[str] = Counter()
    for block, result in zip(workload.blocks, run.blocks, strict=True):
        for tx, receipt in zip(block.txs, result.receipts, strict=True):
            total[tx.KIND] += 1
            if not receipt.ok:
                reverted[tx.KIND] += 1
    by_type = {kind: (total[kind], reverted[kind]) for kind in sorted(total)}
    return RunSummary(engine, sum(total.values()), sum(reverted.values()), run.seconds, by_type)


def render(summary: RunSummary) -> str:
    rows = [[kind, n, r] for kind, (n, r) in summary.by_type.items()]
    rows.append(["total", summary.txs, summary.reverted])
    table = tabulate(rows, headers=["transaction type", "txs", "reverted"], tablefmt="github")
    return (
        f"{table}\n\nengine {summary.engine}: {summary.txs} txs in {summary.seconds:.3f} s "
        f"= {summary.tps:,.0f} TPS"
    )
