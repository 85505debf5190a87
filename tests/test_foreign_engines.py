"""Engines txlanes did not write (``pkg.module:Class``): every way they fail is a named result
within a deadline, their counterexamples are minimized, and a replay never claims FIXED for a
failure it could not re-run faithfully."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.failure import FailureKind
from txlanes.checker.profiles import CONTENTION
from txlanes.checker.replay import failure_from_json, replay
from txlanes.executor.registry import resolve

ENGINES = '''
import random, sys, threading
RACE = random.Random()  # not the global random, which Hypothesis seeds the same every example
from txlanes.executor.result import BlockResult, Receipt
from txlanes.executor.sequential import SequentialEngine


class Deadlocks(SequentialEngine):
    """Waits forever on a thread of its own that never finishes (not a daemon)."""
    def execute(self, block, state):
        never = threading.Event()
        stuck = threading.Thread(target=never.wait)
        stuck.start()
        stuck.join()


class Exits(SequentialEngine):
    def execute(self, block, state):
        sys.exit(0)


class ReturnsNothing(SequentialEngine):
    def execute(self, block, state):
        return None


class LosesApproveEvents(SequentialEngine):
    """One transaction is enough: an approve's receipt loses its event."""
    def execute(self, block, state):
        result = super().execute(block, state)
        result.receipts = [
            Receipt(r.ok, r.reason, ()) if tx.KIND == "erc20.approve" else r
            for tx, r in zip(block.txs, result.receipts)
        ]
        return result


class SometimesDropsADiff(SequentialEngine):
    """Not deterministic: half the time a block of two or more loses its diff."""
    reports_traces = False
    def execute(self, block, state):
        result = super().execute(block, state)
        if len(block.txs) >= 2 and RACE.random() < 0.5:
            result.writes = {}
        return result


class Counted(SequentialEngine):
    seen = set()
    deterministic = True
    def __init__(self, workers):
        Counted.seen.add(workers)
'''


@pytest.fixture
def engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "foreign_engines.py").write_text(ENGINES)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "foreign_engines"


def _check(tmp_path: Path, spec: str, *extra: str) -> tuple[int, dict[str, object], float]:
    """``txlanes check`` in its own interpreter (an engine may leave a thread behind)."""
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    argv = [sys.executable, "-m", "txlanes", "check", "--engine", spec, "--reports",
            str(tmp_path / "r"), "--contention", "payments", *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    seconds = time.perf_counter() - start
    report = json.loads((tmp_path / "r" / "check.json").read_text()) if done.returncode < 2 else {}
    return done.returncode, report, seconds


@pytest.mark.parametrize(
    ("engine", "kind", "said"),
    [
        ("Deadlocks", "hang", "did not finish within 1 s"),
        ("Exits", "crash", "engine raised SystemExit"),
        ("ReturnsNothing", "crash", "engine returned NoneType, not a BlockResult"),
    ],
)
def test_every_way_a_foreign_engine_fails_is_a_named_failure(
    engines: str, tmp_path: Path, engine: str, kind: str, said: str
) -> None:
    code, report, seconds = _check(tmp_path, f"{engines}:{engine}", "--engine-timeout", "1")
    assert code == 1
    (result,) = report["results"]  # type: ignore[index]
    assert result["failure"]["kind"] == kind and said in result["failure"]["message"]
    assert seconds < 90  # the deadline, shrinking, and exiting past the stuck thread


def test_a_one_transaction_bug_is_reported_with_one_transaction(engines: str) -> None:
    target = resolve(f"{engines}:LosesApproveEvents")
    assert not target.deterministic
    # the profiles shaped like traffic (edges spends its draws on special values, witnesses
    # on the spec's revert paths)
    for contention in (c for c in CONTENTION if c.edges == 1 and not c.witnesses):
        (outcome,) = Campaign([target], contentions=(contention,), examples=100).run()
        if contention.mix is None or "erc20.approve" in contention.mix:
            assert outcome.failure is not None, contention.name
            assert outcome.failure.txs == 1, (contention.name, outcome.failure.workload)
            assert outcome.failure.reproduced == (5, 5)


def test_a_failure_that_needs_luck_says_how_often_it_reproduced(engines: str) -> None:
    target = resolve(f"{engines}:SometimesDropsADiff")
    (outcome,) = Campaign([target], contentions=CONTENTION[1:2], examples=100).run()
    failure = outcome.failure
    assert failure is not None and failure.kind is FailureKind.DIVERGENCE
    assert failure.txs == 2  # the smallest block that can fail
    assert failure.reproduced is not None
    failed, runs = failure.reproduced
    assert runs == 5 and 0 <= failed <= runs


def test_replay_never_says_fixed_for_a_failure_it_could_not_rerun_faithfully(
    engines: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from txlanes.checker.replay import failure_to_json
    from txlanes.cli import main

    target = resolve(f"{engines}:SometimesDropsADiff")
    (outcome,) = Campaign([target], contentions=CONTENTION[1:2], examples=100).run()
    assert outcome.failure is not None
    doc = failure_to_json(outcome.failure)
    doc["target"] = "sequential"  # the same example on an engine that passes it: deterministic
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(doc))
    assert main(["replay", str(fixed)]) == 0
    assert "FIXED" in capsys.readouterr().out
    one_tx = copy.deepcopy(doc) | {"target": f"{engines}:SometimesDropsADiff"}
    one_tx["workload"]["blocks"][0]["txs"] = one_tx["workload"]["blocks"][0]["txs"][:1]
    racy = tmp_path / "racy.json"
    racy.write_text(json.dumps(one_tx))  # one transaction: this engine never fails it
    assert main(["replay", str(racy)]) == 0
    out = capsys.readouterr().out
    assert "NOT REPRODUCED" in out and "in all 20 runs" in out and "FIXED:" not in out
    replayed = replay(failure_from_json(doc | {"target": f"{engines}:SometimesDropsADiff"}))
    assert replayed.runs >= replayed.failed >= 1 and replayed.failure is not None


def test_an_engine_that_takes_workers_gets_the_campaigns(engines: str) -> None:
    target = resolve(f"{engines}:Counted")
    assert target.deterministic and target.counts == "workers"
    module = sys.modules[engines]
    module.Counted.seen.clear()
    Campaign([target], contentions=CONTENTION[:1], examples=60).run()
    assert module.Counted.seen == {2, 3, 4}
