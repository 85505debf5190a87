"""The sharded engine on the simulated network: equivalent to sequential execution in the order
it reports, serializable, conserving, and finishing every transaction — under any healing fault
plan; blocked, visibly, when a crashed coordinator never comes back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import in_a_ray_process
from txlanes.checker.equivalence import first_divergence, reference
from txlanes.checker.history import History
from txlanes.checker.invariants import check_invariants
from txlanes.checker.serializability import find_anomaly
from txlanes.checker.strategies import workloads
from txlanes.cli import main
from txlanes.executor import SequentialEngine, run_workload
from txlanes.executor.result import apply_writes
from txlanes.executor.sharded.engine import Blocked, ShardedEngine
from txlanes.executor.sharded.node import COORDINATOR, Msg, Node, TxnInfo
from txlanes.executor.sharded.partition import by_account, by_key
from txlanes.executor.sharded.protocol import YES, TwoPhaseCommit
from txlanes.executor.sharded.simnet import Faults
from txlanes.models import Block, BlockEnv, Workload
from txlanes.models.amm import AddLiquidity
from txlanes.models.derivatives import LiquidatePosition
from txlanes.models.erc20 import BAL, Transfer
from txlanes.models.oracle import SetPrice
from txlanes.models.workload import load_workload
from txlanes.models.world import World


@st.composite
def fault_plans(draw: st.DrawFn, shards: int) -> Faults:
    crashes = draw(
        st.lists(
            st.tuples(
                st.integers(COORDINATOR, shards - 1), st.integers(0, 150), st.integers(1, 80)
            ),
            max_size=3,
        )
    )
    return Faults(
        seed=draw(st.integers(0, 2**16)),
        drop=draw(st.sampled_from([0.0, 0.1, 0.3])),
        duplicate=draw(st.sampled_from([0.0, 0.1, 0.3])),
        max_delay=draw(st.integers(1, 10)),
        crashes=tuple(crashes),
    )


@st.composite
def sharded_runs(draw: st.DrawFn) -> tuple[Workload, int, Faults]:
    shards = draw(st.integers(2, 4))
    workload = draw(workloads(block_size=(1, 10), blocks=2))
    return workload, shards, draw(fault_plans(shards))


@given(sharded_runs())
def test_sharded_equals_sequential_in_its_order_under_any_healing_faults(
    run: tuple[Workload, int, Faults],
) -> None:
    workload, shards, faults = run
    engine = ShardedEngine(shards, faults=faults)
    state = dict(workload.state)
    for block in workload.blocks:
        got = engine.execute(block, state)  # Blocked would fail the test: nothing may be lost
        want = reference(block, state, got.order)
        assert first_divergence(want, got, block.txs, state) is None
        assert find_anomaly(History.from_result(got)) is None
        post = dict(state)
        apply_writes(post, got.writes.items())
        assert check_invariants(state, post, got) is None
        if got.order is None:  # block order: the sequential engine's result, exactly
            assert first_divergence(SequentialEngine().execute(block, state), got,
                                    block.txs, state) is None  # fmt: skip
        state = post


def test_a_transaction_whose_keys_change_is_deferred_and_the_order_says_so() -> None:
    """The liquidation's keys depend on the price the transaction before it sets, so its
    reconnaissance (on the pre-block state) is wrong: it runs in a second round."""
    txs = (
        AddLiquidity(1, 1000, 1001, 0, 0, 0, 0, 1),
        SetPrice(900000, 1001, 2_500_000_000_000_000_000),
        LiquidatePosition(1, 0, 6, False),
        Transfer(2, 1000, 3, 1),
    )
    state = World(accounts=8).genesis()
    block = Block(txs, BlockEnv(1, 12))
    got = ShardedEngine(3).execute(block, state)
    assert got.stats["deferred"] >= 1 and got.stats["rounds"] >= 2
    assert got.order == [0, 1, 3, 2]
    assert first_divergence(reference(block, state, got.order), got, txs, state) is None


def test_a_coordinator_that_never_returns_blocks_visibly() -> None:
    state = {(BAL, 1000, a): 100 for a in range(1, 9)}
    txs = tuple(Transfer(a, 1000, 9 - a, 1) for a in range(1, 9))
    never = Faults(crashes=((COORDINATOR, 3, 10**9),))
    engine = ShardedEngine(4, faults=never, max_time=5_000)
    with pytest.raises(Blocked, match=r"nodes down: \[-1\].*undecided; locks held on shards"):
        engine.execute(Block(txs, BlockEnv(1, 12)), state)


def test_partitioners_are_stable_and_keep_an_accounts_keys_together() -> None:
    for account in range(1, 50):
        shards = {by_account((BAL, token, account), 4) for token in (1000, 1001, 1002)}
        assert len(shards) == 1  # every token balance of one account on one shard
    spread = {by_account((BAL, 1000, account), 4) for account in range(1, 50)}
    assert spread == {0, 1, 2, 3}
    assert {by_key((BAL, 1000, a), 3) for a in range(100)} == {0, 1, 2}
    # not Python's hash, which is salted per process: the same shards in another process
    script = "from txlanes.executor.sharded.partition import by_key, by_account\n" + (
        "print([f((('erc20.bal'), 1000, a), 7) for a in range(20) for f in (by_key, by_account)])"
    )
    here = [f((BAL, 1000, a), 7) for a in range(20) for f in (by_key, by_account)]
    other = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert other.stdout.strip() == str(here)


def test_a_node_runs_the_protocols_own_actions() -> None:
    """Sans-IO: a participant is handed PREPARE and answers with the vote the model's
    `vote_yes` sends; a conflicting attempt's lock disables it, exactly as in the model."""
    keys = {0: frozenset({(BAL, 1000, 1)}), 1: frozenset({(BAL, 1000, 2)})}
    node = Node(TwoPhaseCommit(), 2, 0)
    for t in ((0, 0), (1, 0)):
        node.txns[t] = TxnInfo(frozenset({0, 1}), keys)
        node.receive(Msg("prepare_sent", t, 0))
    assert node.run("vote_yes", (0, 0), 0) == [Msg("yes_sent", (0, 0), 0)]
    assert node.get("vote", (0, 0), 0) == YES and node.get("locked", (0, 0), 0)
    assert node.run("vote_yes", (1, 0), 0) is None  # same key, lock held
    assert node.run("vote_yes", (0, 0), 0) is None  # already voted
    coordinator = Node(TwoPhaseCommit(), 2, COORDINATOR)
    coordinator.txns[(0, 0)] = TxnInfo(frozenset({0, 1}), keys)
    sent = coordinator.run("begin", (0, 0))
    assert sent == [Msg("prepare_sent", (0, 0), 0), Msg("prepare_sent", (0, 0), 1)]


def test_run_cli_on_the_sharded_engine(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.json"
    out = tmp_path / "r.json"
    assert (
        main(["run", str(demo), "--engine", "sharded", "--shards", "3", "--output", str(out)]) == 0
    )
    workload = load_workload(demo)
    sharded = run_workload(ShardedEngine(3), workload)
    assert sharded.state == run_workload(SequentialEngine(), workload).state
    assert main(["run", str(demo), "--engine", "sharded", "--transport", "processes"]) == 0
    assert main(["run", str(demo), "--engine", "sharded", "--transport", "pigeon"]) == 2
    assert main(["run", str(demo), "--engine", "sharded", "--partition", "zip"]) == 2
    assert main(["run", str(demo), "--engine", "sequential", "--shards", "2"]) == 2


@settings(max_examples=5, deadline=None)
@given(workload=workloads(block_size=(5, 30), blocks=2), shards=st.integers(2, 3))
def test_shards_in_processes_equal_the_simulation_and_sequential(
    workload: Workload, shards: int
) -> None:
    """The same actors in real processes (real parallelism, real time): the same results."""
    state = dict(workload.state)
    for block in workload.blocks:
        got = ShardedEngine(shards, transport="processes").execute(block, state)
        simulated = ShardedEngine(shards).execute(block, state)
        want = reference(block, state, got.order)
        assert first_divergence(want, got, block.txs, state) is None
        assert (got.writes, got.receipts, got.order) == (
            simulated.writes, simulated.receipts, simulated.order,
        )  # fmt: skip
        apply_writes(state, got.writes.items())


def test_faults_are_injected_only_in_the_simulation() -> None:
    with pytest.raises(ValueError, match="only on the simulated network"):
        ShardedEngine(2, transport="processes", faults=Faults(drop=0.1))
    with pytest.raises(ValueError, match="unknown transport 'pigeon'"):
        ShardedEngine(2, transport="pigeon")


RAY_CHECK = """
from pathlib import Path
from txlanes.checker.equivalence import first_divergence, reference
from txlanes.executor.result import apply_writes
from txlanes.executor.sharded.engine import ShardedEngine
from txlanes.models.workload import load_workload

workload = load_workload(Path(DEMO))
state = dict(workload.state)
for block in workload.blocks:
    ray_result = ShardedEngine(3, transport="ray").execute(block, state)
    simulated = ShardedEngine(3).execute(block, state)
    want = reference(block, state, ray_result.order)
    assert first_divergence(want, ray_result, block.txs, state) is None
    assert (ray_result.writes, ray_result.receipts, ray_result.traces) == (
        simulated.writes, simulated.receipts, simulated.traces)
    apply_writes(state, ray_result.writes.items())
print("SAME")
"""


def test_shards_as_ray_actors_give_the_same_results() -> None:
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.json"
    in_a_ray_process(RAY_CHECK.replace("DEMO", repr(str(demo))))
