"""`txlanes check --ray`: the same campaigns as Ray tasks give the same verdicts, and a failure
found on Ray replays here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.ray_campaign import run_on_ray
from txlanes.checker.targets import Target
from txlanes.executor.sequential import SequentialEngine
from txlanes.executor.sharded.ray_actors import RayUnavailable

RAY_CAMPAIGN = """
import ray
from txlanes.checker.campaign import CONTENTION, PROFILES, Campaign
from txlanes.checker.ray_campaign import run_on_ray
from txlanes.checker.replay import replay
from txlanes.checker.targets import resolve

try:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
except Exception as err:
    print("NO-RAY", err)
    raise SystemExit(0)
specs = ["blockstm", "multicore", "mutant:skip-validation"]
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
assert all(replay(f) is not None for f in failed), "a Ray failure does not replay here"
ray.shutdown()
print("SAME")
"""


def test_campaigns_as_ray_tasks_give_the_same_verdicts() -> None:
    """On a local Ray instance with two CPUs, as CI has, in a process of its own (Ray's threads
    and this suite's forked processes must not share one)."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'txlanes[ray]')")
    done = subprocess.run(
        [sys.executable, "-c", RAY_CAMPAIGN], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    if done.stdout.startswith("NO-RAY"):
        pytest.skip(f"a local Ray instance cannot start here: {done.stdout}")
    assert done.stdout.strip().endswith("SAME")


def test_a_subprocess_engine_is_refused_before_ray_starts() -> None:
    local = Target("cmd:./my-engine", lambda *_: SequentialEngine(), False)
    with pytest.raises(RayUnavailable, match="cannot run on Ray"):
        run_on_ray(Campaign([local]))
