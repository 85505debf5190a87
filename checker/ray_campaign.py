"""``txlanes check --ray``: each (engine, contention profile) campaign a Ray task.

A check is a set of independent campaigns, so it spreads over a Ray cluster — or a local
instance — without changing what any campaign does: each task resolves its engine from the same
spec string, generates from the same seed and returns its :class:`Outcome` whole (a failure
carries its shrunk workload and schedule, so it replays anywhere). Outcomes come back in the
order the local run would give them; a task that fails outright fails the check with its error.
"""

from __future__ import annotations

from txlanes.executor.ray_cluster import RayUnavailable, connect, gather
from txlanes.executor.registry import resolve, runs_here

from .campaign import Campaign, CheckFinished, CheckStarted
from .failure import Outcome
from .profiles import Contention, Profile


def run_on_ray(campaign: Campaign, address: str | None = None) -> list[Outcome]:
    """Run ``campaign`` with every check a Ray task (``address``: a cluster; None: local)."""
    local = [t.spec for t in campaign.targets if runs_here(t.spec)]
    if local:
        raise RayUnavailable(f"{local[0]} is a subprocess of this machine: it cannot run on Ray")
    plan = campaign.plan()
    ray = connect(address)
    task = ray.remote(check_one)
    futures = []
    for target, contention in plan:
        campaign.publish(CheckStarted(target.spec, contention.name, campaign.budget()))
        futures.append(
            task.remote(
                target.spec,
                campaign.profile,
                contention,
                campaign.seed,
                campaign.examples,
                campaign.shrink_seconds,
            )
        )
    return gather(ray, futures, lambda _, outcome: campaign.publish(CheckFinished(outcome)))


def check_one(
    spec: str,
    profile: Profile,
    contention: Contention,
    seed: int,
    examples: int | None,
    shrink_seconds: float,
) -> Outcome:
    """One campaign, as the local run would do it (what a Ray task executes)."""
    target = resolve(spec)
    campaign = Campaign([target], profile, (contention,), seed, examples)
    campaign.shrink_seconds = shrink_seconds
    return campaign.check(target, contention)
