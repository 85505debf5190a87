"""Run a whole workload through an engine, block after block, and time it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from txlanes.models.context import Key
from txlanes.models.workload import Workload

from .blockstm import BlockSTMEngine, Schedule
from .multicore import MultiCoreEngine
from .result import BlockResult, Engine, apply_writes
from .sequential import SequentialEngine
from .sharded.engine import ShardedEngine


@dataclass(frozen=True)
class EngineOptions:
    """Engine knobs from the CLI or a config; each engine rejects the ones it has no use for."""

    workers: int | None = None
    schedule: Schedule | None = None
    shards: int | None = None
    transport: str | None = None
    partition: str | None = None
    ray_address: str | None = None
    processes: int | None = None


def _only(options: EngineOptions, engine: str, *allowed: str) -> None:
    """Reject the knobs an engine has no use for, by their CLI names."""
    names = ("workers", "schedule", "shards", "transport", "partition", "ray_address", "processes")
    given = [name for name in names
             if getattr(options, name) is not None and name not in allowed]  # fmt: skip
    if given:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
        raise ValueError(f"engine {engine} takes no {flags}")


def _sequential(options: EngineOptions) -> Engine:
    _only(options, "sequential")
    return SequentialEngine()


def _sharded(options: EngineOptions) -> Engine:
    _only(options, "sharded", "shards", "transport", "partition", "ray_address")
    return ShardedEngine(
        4 if options.shards is None else options.shards,
        options.partition or "account",
        transport=options.transport or "sim",
        ray_address=options.ray_address,
    )


def _multicore(options: EngineOptions) -> Engine:
    _only(options, "multicore", "processes")
    return MultiCoreEngine(options.processes)


def _blockstm(options: EngineOptions) -> Engine:
    _only(options, "blockstm", "workers", "schedule")
    workers = 4 if options.workers is None else options.workers
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if options.schedule is not None:
        return BlockSTMEngine.deterministic(workers, options.schedule)
    return BlockSTMEngine(workers)


#: Built-in engines by the name the CLI and reports use.
ENGINES: dict[str, Callable[[EngineOptions], Engine]] = {
    "sequential": _sequential,
    "blockstm": _blockstm,
    "sharded": _sharded,
    "multicore": _multicore,
}


def make_engine(name: str, options: EngineOptions | None = None) -> Engine:
    """The built-in engine called ``name``; ``ValueError`` with a clear message otherwise."""
    factory = ENGINES.get(name)
    if factory is None:
        raise ValueError(f"unknown engine {name!r} (known: {', '.join(sorted(ENGINES))})")
    return factory(options or EngineOptions())


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
