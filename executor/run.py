"""Run a whole workload through an engine, block after block, and time it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from txlanes.models.context import Key
from txlanes.models.workload import Workload

from .result import BlockResult, Engine, apply_writes


@dataclass
class RunResult:
    """The final state, each block's result, and the time spent inside ``execute``."""

    state: dict[Key, int]
    blocks: list[BlockResult] = field(default_factory=list)
    seconds: float = 0.0


def run_workload(engine: Engine, workload: Workload) -> RunResult:
    """Execute every block in order, each on the state the previous one left."""
    state = dict(workload.state)
    result = RunResult(state)
    for block in workload.blocks:
        start = time.perf_counter()
        block_result = engine.execute(block, state)
        result.seconds += time.perf_counter() - start
        apply_writes(state, block_result.writes.items())
        result.blocks.append(block_result)
    return result
