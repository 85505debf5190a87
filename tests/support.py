"""Small helpers the tests share: run transactions through the reference engine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping

import pytest

from txlanes.executor import BlockResult, SequentialEngine, apply_writes
from txlanes.models import Block, BlockEnv, Key, Tx


def execute(
    state: Mapping[Key, int], txs: Iterable[Tx], env: BlockEnv | None = None
) -> tuple[dict[Key, int], BlockResult]:
    """Run ``txs`` as one block on ``state``; return the post-state and the block result."""
    block = Block(tuple(txs), env or BlockEnv())
    result = SequentialEngine().execute(block, state)
    post = dict(state)
    apply_writes(post, result.writes.items())
    return post, result


def execute_one(
    state: Mapping[Key, int], tx: Tx, env: BlockEnv | None = None
) -> tuple[dict[Key, int], str | None]:
    """Run one transaction; return the post-state and its revert reason (None on success)."""
    post, result = execute(state, [tx], env)
    return post, result.receipts[0].reason


_RAY_START = """
import ray
try:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
except Exception as err:
    print("NO-RAY", err)
    raise SystemExit(0)
"""


def in_a_ray_process(script: str) -> None:
    """Run ``script`` on a local Ray instance with two CPUs, as CI has, in an interpreter of its
    own (Ray's threads and this suite's forked processes must not share one); it must print
    SAME last. Skipped with the reason only where Ray cannot start."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'txlanes[ray]')")
    done = subprocess.run([sys.executable, "-c", _RAY_START + script + "\nray.shutdown()\n"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    if done.stdout.startswith("NO-RAY"):
        pytest.skip(f"a local Ray instance cannot start here: {done.stdout}")
    assert done.stdout.strip().endswith("SAME"), done.stdout[-2000:]
