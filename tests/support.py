"""Small helpers the tests share: run transactions through the reference engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
