"""The demo workload and the generated workloads' world: complete, consistent, conserving."""

from __future__ import annotations

from pathlib import Path

import pytest

from txlanes.checker.invariants import check_invariants
from txlanes.executor import BlockSTMEngine, SequentialEngine, apply_writes
from txlanes.executor.blockstm import Schedule
from txlanes.models import TX_TYPES, Block, load_workload
from txlanes.models.demo import demo_workload
from txlanes.models.workload import workload_to_text
from txlanes.models.world import World

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.json"


def test_committed_demo_file_is_the_demo_workload() -> None:
    assert DEMO.read_text() == workload_to_text(demo_workload()), (
        "examples/demo.json is stale: run `txlanes gen demo -o examples/demo.json`"
    )
    assert load_workload(DEMO) == demo_workload()


@pytest.mark.parametrize(
    "engine",
    [SequentialEngine(), BlockSTMEngine.deterministic(3, Schedule(seed=1))],
    ids=["sequential", "blockstm"],
)
def test_demo_exercises_every_transaction_type_successfully(engine: object) -> None:
    workload = demo_workload()
    state = dict(workload.state)
    succeeded: set[str] = set()
    for block in workload.blocks:
        result = engine.execute(block, state)  # type: ignore[attr-defined]
        failed = [
            (tx.KIND, r.reason)
            for tx, r in zip(block.txs, result.receipts, strict=True)
            if not r.ok
        ]
        assert failed == []
        succeeded |= {tx.KIND for tx in block.txs}
        post = dict(state)
        apply_writes(post, result.writes.items())
        assert check_invariants(state, post, result) is None
        state = post
    assert succeeded == set(TX_TYPES)


@pytest.mark.parametrize("accounts", [2, 3, 8, 100])
def test_world_genesis_is_consistent(accounts: int) -> None:
    state = World(accounts).genesis()
    empty = SequentialEngine().execute(Block(()), state)
    assert check_invariants(state, state, empty) is None
    assert all(value > 0 for value in state.values())
