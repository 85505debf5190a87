"""``txlanes bench --ray``: the run's parts as Ray tasks, on a local instance or a cluster.

A part (one workload of the sweep, the low-contention table, one size of the scaling table)
measures all its engines on one machine, sequential included, so every speedup it reports is
still a ratio of the same run on the same cores, wherever the part ran. Each task asks Ray for
as many CPUs as its most parallel engine uses, so that parts sharing a machine do not share
its cores while they are timed.
"""

from __future__ import annotations

import time

from txlanes.executor.sharded.ray_actors import RayUnavailable, connect, gather

from .engines import build_engine
from .measure import Tick
from .suite import Bench, Config, Part, merge, parts, run_part


def check_specs(config: Config) -> list[str]:
    """The run's engine specs; ``ValueError`` for one that names nothing or cannot leave this
    machine (a subprocess engine), before any task starts."""
    specs = sorted({*config.engines, *config.low_contention_engines, *config.scale_engines})
    local = [spec for spec in specs if spec.startswith("cmd:")]
    if local:
        raise RayUnavailable(f"{local[0]} is a subprocess of this machine: it cannot run on Ray")
    for spec in specs:
        build_engine(spec)
    return specs


def run_on_ray(config: Config, tick: Tick, address: str | None = None) -> Bench:
    """Run ``config`` with every part a Ray task (``address``: a cluster; None: local)."""
    specs = check_specs(config)
    ray = connect(address)
    task = ray.remote(num_cpus=max(map(_cpus, specs)))(measure_part)
    start = time.perf_counter()
    plan = parts(config)

    def finished(i: int, piece: Bench) -> None:
        part, steps = plan[i]
        for _ in range(steps):
            tick(f"{part[1]} · measured on Ray")

    pieces = gather(ray, [task.remote(part, config) for part, _ in plan], finished)
    return merge(config, pieces, time.perf_counter() - start)


def measure_part(part: Part, config: Config) -> Bench:
    """What a Ray task runs: the part's engines built here, from their specs."""
    specs = {*config.engines, *config.low_contention_engines, *config.scale_engines}
    return run_part(part, config, {spec: build_engine(spec) for spec in specs}, lambda _: None)


def _cpus(spec: str) -> int:
    """Cores an engine keeps busy: a multi-core engine its processes; threads share one."""
    name, _, count = spec.partition(":")
    return int(count) if name == "multicore" and count.isdigit() else 1
