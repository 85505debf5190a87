"""`txlanes bench`: the dependency bound, the modelled (virtual-time) Block-STM curve, the
reports' consistency, and that a wrong engine is caught rather than timed."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path

import pytest

from txlanes.checker.equivalence import reference, run_divergence
from txlanes.cli import main
from txlanes.executor.bench.depbound import dependency_bound, longest_chain
from txlanes.executor.bench.measure import Contender, measure
from txlanes.executor.bench.modelled import model
from txlanes.executor.blockstm.virtual_time import ModelledBlockSTM
from txlanes.executor.result import BlockResult, TxTrace
from txlanes.executor.sequential import SequentialEngine
from txlanes.models.context import Key
from txlanes.models.erc20 import BAL, Transfer
from txlanes.models.generate import TOKEN, transfers
from txlanes.models.workload import Block, Workload

A, B, C = ("k", 1), ("k", 2), ("k", 3)


def _trace(reads: dict[Key, int]) -> TxTrace:
    return TxTrace(reads, {})


def test_longest_chain_follows_reads_of_earlier_writes() -> None:
    # 0 -> 2 -> 3 is the longest chain (3 txs); 1 and 4 hang off the pre-state.
    traces = [
        _trace({A: -1}),
        _trace({B: -1}),
        _trace({A: 0}),
        _trace({A: 2, B: 1}),
        _trace({C: -1}),
    ]
    assert longest_chain(traces) == 3
    # Blocks run one after another: a second block of two independent txs adds a chain of 1.
    bound = dependency_bound([traces, [_trace({A: -1}), _trace({B: -1})]])
    assert (bound.total, bound.longest) == (7, 4)
    assert bound.speedup == pytest.approx(7 / 4)


def test_a_fully_serial_block_has_no_parallelism() -> None:
    chain = [_trace({A: i - 1}) for i in range(6)]  # each reads its predecessor's write
    assert dependency_bound([chain]).speedup == 1.0
    assert dependency_bound([[]]).speedup == 1.0


def test_modelled_speedup_collapses_under_contention_and_grows_without_it() -> None:
    ticks: list[str] = []
    contended = transfers(txs=60, accounts=2, seed=3)
    serial = model("transfers-2", contended, ticks.append, run_divergence, (1, 2, 8))
    free = model(
        "transfers-10000",
        transfers(txs=60, accounts=10_000, seed=3),
        ticks.append,
        run_divergence,
        (1, 2, 8),
    )
    assert len(ticks) == 6
    assert serial.problem is None and free.problem is None  # modelled runs are checked too
    assert serial.speedup(1) == free.speedup(1) == 1.0
    # Two accounts: every transfer depends on the one before; more workers buy nothing over
    # sequential execution (Block-STM's bookkeeping even costs a little).
    assert all(serial.over_sequential(w) < 1.05 for w in (1, 2, 8))
    # Ten thousand accounts: nearly no conflicts, so the curve climbs.
    assert free.speedup(2) > 1.8
    assert free.speedup(8) > 4 * serial.speedup(8)


def test_virtual_time_is_deterministic_and_serial_with_one_worker() -> None:
    workload = transfers(txs=30, accounts=5, seed=1)
    block, state = workload.blocks[0], workload.state
    spans = []
    for _ in range(2):
        engine = ModelledBlockSTM(4)
        result = engine.execute(block, state)
        assert result.writes == SequentialEngine().execute(block, state).writes
        spans.append(engine.clock.elapsed)
    assert spans[0] == spans[1] > 0
    one = ModelledBlockSTM(1)
    one.execute(block, state)
    assert one.clock.elapsed > spans[0]  # 4 workers finish earlier than 1


class DropsAWrite:
    """A fast wrong engine: sequential, but the last transaction's last write is lost."""

    name = "drops-a-write"

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        result = SequentialEngine().execute(block, state)
        last = result.traces[-1]
        if last.writes:
            key = list(last.writes)[-1]
            writes = {k: v for k, v in last.writes.items() if k != key}
            result.traces[-1] = TxTrace(last.reads, writes, last.incarnations)
            result.writes.pop(key, None)
        return result


def _bench(tmp_path: Path, *extra: str) -> int:
    return main(
        ["bench", "--quick", "--workload", "transfers-10", "--txs", "40", "--scale", "60",
         "--reports", str(tmp_path), *extra]
    )  # fmt: skip


def test_bench_reports_are_consistent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench(tmp_path, "--engine", "blockstm:2", "--engine", "sharded:2") == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["equivalent"] is True and report["problems"] == []
    env = report["environment"]
    assert env["seed"] == 0 and env["runs"] == 5 and env["cores"] >= 1 and env["python"]
    rows = {r["engine"]: r for r in report["results"]}
    assert list(rows) == ["sequential", "blockstm:2", "sharded:2"]
    for row in rows.values():
        assert row["equivalent"] and len(row["seconds"]) == 5
        assert row["tps_median"] == pytest.approx(statistics.median(40 / s for s in row["seconds"]))
        q1, q3 = row["tps_iqr"]
        assert q1 <= row["tps_median"] <= q3
        ratio = row["tps_median"] / rows["sequential"]["tps_median"]
        assert row["speedup"] == pytest.approx(ratio)
    assert rows["blockstm:2"]["reexecutions_per_tx"] >= 0
    bound = report["dependency_bound"]["transfers-10"]
    assert bound["txs"] == 40 and 1 <= bound["longest_chain"] <= 40
    (modelled,) = report["modelled"]
    assert modelled["label"].startswith("modelled") and modelled["speedup"]["1"] == 1.0
    assert [(r["engine"], r["txs"]) for r in report["scaling"]] == [(e, 60) for e in rows]
    for png in ("speedup-vs-contention.png", "tps-vs-workers.png", "modelled-speedup.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "bench.md").read_text()
    assert "Every engine computed exactly what sequential execution computes." in md
    assert "not measured" in md
    assert "transfers-10" in capsys.readouterr().out


def test_a_wrong_engine_is_marked_and_fails_the_bench(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _bench(tmp_path, "--engine", f"{__name__}:DropsAWrite", "--no-plots")
    assert code == 1
    out = capsys.readouterr().out
    assert f"WRONG {__name__}:DropsAWrite on transfers-10: block 0, tx 39" in out
    report = json.loads((tmp_path / "bench.json").read_text())
    wrong = next(r for r in report["results"] if r["engine"].endswith(":DropsAWrite"))
    assert not wrong["equivalent"] and wrong["tps_median"] is None and wrong["seconds"] == []
    assert report["equivalent"] is False
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    "args",
    [
        ["--workload", "nope"],
        ["--engine", "blockstm:x"],
        ["--engine", "nosuchmodule:Engine"],
        ["--engine", "blockstm:0"],
        ["--runs", "3"],
        ["--txs", "0"],
    ],
)
def test_bad_arguments_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--quick", "--reports", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("txlanes: error: ") and err.count("\n") == 1
    assert not (tmp_path / "bench.json").exists()


class ReversesEachBlock:
    """A correct engine that promises another serial order: each block in reverse."""

    name = "reverses"

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        order = list(reversed(range(len(block.txs))))
        result = reference(block, state, order)
        result.order = order
        return result


def test_an_engine_in_another_serial_order_is_judged_on_its_own_states() -> None:
    """Reversing a block of transfers that overdraw changes which revert, so the engine's state
    after block 0 is not sequential execution's — and block 1 must be judged from there."""
    state = {(BAL, TOKEN, 1): 10}
    first = Block((Transfer(1, TOKEN, 2, 10), Transfer(2, TOKEN, 3, 10)))
    second = Block((Transfer(3, TOKEN, 1, 10), Transfer(2, TOKEN, 1, 10)))
    workload = Workload(state, [first, second])
    contender = Contender("reverses", ReversesEachBlock(), True, None)
    (row,) = measure("reversed", workload, [contender], 5, lambda _: None, run_divergence)
    assert row.problem is None and len(row.seconds) == 5
