"""`--ray`: the same check campaigns as Ray tasks give the same verdicts (and a failure found on
Ray replays here); the same bench parts as Ray tasks give the same rows, checks and bounds."""

from __future__ import annotations

import pytest

from tests.support import in_a_ray_process
from txlanes.checker.campaign import Campaign
from txlanes.checker.ray_campaign import run_on_ray
from txlanes.executor.ray_cluster import RayUnavailable
from txlanes.executor.registry import Target
from txlanes.executor.sequential import SequentialEngine

RAY_CAMPAIGN = """
from txlanes.checker.campaign import Campaign
from txlanes.checker.profiles import CONTENTION, PROFILES
from txlanes.checker.ray_campaign import run_on_ray
from txlanes.checker.replay import replay
from txlanes.executor.registry import resolve

specs = ["blockstm-det", "multicore?chunk=2", "mutant:skip-validation"]
shapes = tuple(c for c in CONTENTION if c.name in ("payments", "hot-key"))

def campaign():
    return Campaign([resolve(s) for s in specs], PROFILES["ci"], shapes, seed=0, examples=40)

def verdicts(outcomes):
    return [(o.target, o.contention, o.failure is None) for o in outcomes]

here = campaign().run()
there = run_on_ray(campaign())
assert verdicts(here) == verdicts(there), (verdicts(here), verdicts(there))
failed = [o.failure for o in there if o.failure is not None]
assert failed and all(f.target == "mutant:skip-validation" for f in failed)
assert all(replay(f).failure is not None for f in failed), "a Ray failure does not replay here"
print("SAME")
"""


RAY_BENCH = """
from dataclasses import replace
from pathlib import Path
from txlanes.checker.equivalence import run_divergence
from txlanes.executor.bench import suite
from txlanes.executor.bench.on_ray import run_on_ray

config = replace(
    suite.QUICK, workloads=("transfers-10", "erc20"), engines=("sequential", "multicore:2"),
    txs=200, model_workloads=(), scale_sizes=(300, 600), scale_engines=("sequential",),
    low_contention_txs=600, low_contention_block=300,
    low_contention_engines=("sequential", "multicore:2"),
)
engines = suite.build_engines(config, 10.0, Path("reports"))
here = suite.run(config, engines, lambda _: None, run_divergence)
there = run_on_ray(config, lambda _: None, run_divergence)

def shape(bench):
    rows = (*bench.rows, *bench.low_contention, *bench.scaling)
    return [(r.engine, r.workload, r.problem, len(r.seconds), r.stats) for r in rows]

assert not there.problems, there.problems
assert shape(here) == shape(there), (shape(here), shape(there))
assert here.bounds == there.bounds
print("SAME")
"""


def test_campaigns_as_ray_tasks_give_the_same_verdicts() -> None:
    in_a_ray_process(RAY_CAMPAIGN)


def test_bench_parts_as_ray_tasks_give_the_same_rows() -> None:
    """Multi-core statistics are deterministic, so they must match too."""
    in_a_ray_process(RAY_BENCH)


def test_a_subprocess_engine_is_refused_before_ray_starts() -> None:
    local = Target("cmd:./my-engine", lambda *_: SequentialEngine())
    with pytest.raises(RayUnavailable, match="cannot run on Ray"):
        run_on_ray(Campaign([local]))
