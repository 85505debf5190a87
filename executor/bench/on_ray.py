"""``txlanes bench --ray``: the run's parts as Ray tasks, on a local instance or a cluster.

A part (one workload of the sweep, the low-contention table, one size of the scaling table)
measures all its engines on one machine, sequential included, so every speedup it reports is
still a ratio of the same run on the same cores, wherever the part ran. Each task asks Ray for
as many CPUs as its most parallel engine uses, so that parts sharing a machine do not share
its cores while they are timed.
"""

from __future__ import annotations

import os
import time

from txlanes.executor.ray_cluster import RayUnavailable, connect, gather

from ..registry import Target, resolve, runs_here
from .measure import Judge, Tick
from .suite import Bench, Config, Part, build_engines, merge, parts, run_part, specs


def check_specs(config: Config) -> list[Target]:
    """The run's engines; ``TargetError`` for a spec that names nothing, ``RayUnavailable`` for
    one that cannot leave this machine (a subprocess engine), before any task starts."""
    names = specs(config)
    local = [spec for spec in names if runs_here(spec)]
    if local:
        raise RayUnavailable(f"{local[0]} is a subprocess of this machine: it cannot run on Ray")
    return [resolve(spec) for spec in names]


def run_on_ray(config: Config, tick: Tick, judge: Judge, address: str | None = None) -> Bench:
    """Run ``config`` with every part a Ray task (``address``: a cluster; None: local)."""
    targets = check_specs(config)
    ray = connect(address)
    task = ray.remote(num_cpus=max(map(_cpus, targets)))(measure_part)
    start = time.perf_counter()
    plan = parts(config)

    def finished(i: int, piece: Bench) -> None:
        part, steps = plan[i]
        for _ in range(steps):
            tick(f"{part[1]} · measured on Ray")

    pieces = gather(ray, [task.remote(part, config, judge) for part, _ in plan], finished)
    return merge(config, pieces, time.perf_counter() - start)


def measure_part(part: Part, config: Config, judge: Judge) -> Bench:
    """What a Ray task runs: the part's engines built here, from their specs."""
    return run_part(part, config, build_engines(config), lambda _: None, judge)


def _cpus(target: Target) -> int:
    """Cores an engine keeps busy: a multi-core engine its processes; threads share one."""
    if target.counts != "processes":
        return 1
    return target.count or len(os.sched_getaffinity(0))
