"""Ray, the optional dependency, in one place: connecting to a cluster and gathering tasks.

Ray is an optional extra (``pip install txlanes[ray]``); it is imported only when used, so
importing this module never needs it. Its users: the sharded engine's Ray transport
(``sharded/ray_actors.py``), the benchmark's parts as Ray tasks (``bench/on_ray.py``) and the
checker's campaigns as Ray tasks (``txlanes.checker.ray_campaign``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any


class RayUnavailable(ValueError):
    """Ray is not installed, or no Ray instance could be started or reached: a configuration
    problem (exit code 2), not a failure of the engine."""


def connect(address: str | None) -> Any:
    """The ``ray`` module, initialised: a new local instance, or the cluster at ``address``."""
    try:
        ray = importlib.import_module("ray")
    except ImportError:
        raise RayUnavailable("the ray transport needs Ray: pip install 'txlanes[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)  # fmt: skip
        except Exception as err:  # Ray raises many kinds; all mean "no cluster here"
            where = address or "a local instance"
            raise RayUnavailable(f"cannot start or reach Ray at {where}: {err}") from None
    return ray


def gather(ray: Any, futures: Sequence[Any], finished: Callable[[int, Any], None]) -> list[Any]:
    """Every task's result in submission order, telling ``finished(index, result)`` as each
    task completes (in whatever order they do)."""
    results: list[Any] = [None] * len(futures)
    waiting = {future: i for i, future in enumerate(futures)}
    while waiting:
        (done,), _ = ray.wait(list(waiting), num_returns=1)
        i = waiting.pop(done)
        results[i] = ray.get(done)
        finished(i, results[i])
    return results
