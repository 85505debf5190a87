"""Engines in other languages: the external-engine protocol, its driver, and the Node.js example.

The misbehaving engines are one Python script (tests/fake_engines/engine.py) told what to do
wrong; the Node engine is examples/node-engine, checked end to end as CI does.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.example import run_example
from txlanes.checker.profiles import CONTENTION, PROFILES, Contention
from txlanes.cli import main
from txlanes.executor.external import ExternalEngine, ExternalEngineError
from txlanes.executor.registry import resolve
from txlanes.executor.result import BlockResult
from txlanes.models.context import Key
from txlanes.models.demo import demo_workload
from txlanes.models.workload import Block

ROOT = Path(__file__).resolve().parents[1]
FAKE = shlex.join([sys.executable, str(ROOT / "tests" / "fake_engines" / "engine.py")])
NODE = shutil.which("node")
NODE_ENGINE = f"node {ROOT / 'examples' / 'node-engine' / 'engine.js'}"
needs_node = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not on PATH")


def fake(mode: str = "good", *extra: str) -> str:
    return " ".join([FAKE, "--mode", mode, *extra])


def test_a_correct_engine_over_the_protocol_is_equivalent_to_sequential(tmp_path: Path) -> None:
    target = resolve(f"cmd:{fake()}", reports=tmp_path)
    assert target.spec.startswith("cmd:") and target.traces
    assert run_example(target, demo_workload(), 2, None) is None  # every transaction type


#: What each misbehaviour of the fake engine is called in the error.
SAID = {
    "crash": "block request 1: exited with code 3 before answering; "
    "its last stderr lines: fake: out of cheese",
    "hang": "block request 1: gave no answer within 1 s (killed)",
    "garbage": "block request 1: wrote line 2 that is not JSON: \"thread 'main' panicked",
    "missing-ok": "block request 1: broke the protocol: receipts[0].ok: missing",
    "wrong-block": "block request 1: broke the protocol: "
    "id: answered block request 0 while request 1 was asked",
}


@pytest.mark.parametrize("mode", SAID)
def test_a_misbehaving_engine_is_named_killed_and_transcribed(tmp_path: Path, mode: str) -> None:
    workload = demo_workload()
    engine = ExternalEngine(fake(mode), timeout=1, transcript_dir=tmp_path)
    with pytest.raises(ExternalEngineError) as caught:
        engine.execute(workload.blocks[0], workload.state)
    message = str(caught.value)
    transcript = tmp_path / "external-fake-transcript.jsonl"
    assert message.startswith(f"engine 'fake' ({fake(mode)}), {SAID[mode]}")
    assert message.endswith(f"; transcript: {transcript}")
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [e["stream"] for e in lines[:3]] == ["to-engine", "from-engine", "to-engine"]
    assert json.loads(lines[2]["line"])["type"] == "execute"
    assert engine._process.dead
    with pytest.raises(ExternalEngineError) as again:  # no verdict from an engine not heard
        engine.execute(workload.blocks[0], workload.state)
    assert again.value is caught.value


def test_a_wrong_protocol_version_fails_the_handshake(tmp_path: Path) -> None:
    with pytest.raises(ExternalEngineError, match="handshake: version: txlanes speaks protocol "
                       "version 1, the engine answered 0; transcript: "):  # fmt: skip
        ExternalEngine(fake("old-version"), transcript_dir=tmp_path)


def test_an_engine_that_cannot_start_is_named() -> None:
    with pytest.raises(ExternalEngineError, match="could not be started: No such file"):
        ExternalEngine("/nonexistent/engine --fast")


@pytest.mark.parametrize("mode", ["crash", "hang"])
def test_check_exits_2_with_one_line_and_a_transcript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    args = ["check", "--engine-cmd", fake(mode), "--engine-timeout", "1"]
    assert main([*args, "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("txlanes: error: engine 'fake' (") and "block request 1: " in err
    assert (tmp_path / "external-fake-transcript.jsonl").exists()


def test_partial_capabilities_generate_only_the_declared_kinds(tmp_path: Path) -> None:
    kinds = "erc20.transfer,amm.swap_exact_in"
    target = resolve(f"cmd:{fake('good', '--kinds', kinds, '--no-traces')}", reports=tmp_path)
    assert target.kinds == {"erc20.transfer", "amm.swap_exact_in"} and not target.traces
    seen: set[str] = set()
    engine = target.build(2, None)

    class Recording:
        name = "recording"

        def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
            seen.update(tx.KIND for tx in block.txs)
            return engine.execute(block, state)  # refuses, loudly, any kind it did not declare

    recording = dataclasses.replace(target, build=lambda *_: Recording())
    campaign = Campaign([recording], PROFILES["ci"], CONTENTION, examples=15)
    outcomes = campaign.run()
    assert seen == {"erc20.transfer", "amm.swap_exact_in"}
    assert [o.contention for o in outcomes] == [c.name for c in CONTENTION]
    # every profile generates 15; the witnesses profile first runs each witness that fits
    shapes = (c.restricted(target.kinds) for c in CONTENTION)
    explicit = {shape.name: min(15, len(shape.explicit())) for shape in shapes if shape}
    assert all(o.failure is None and o.examples == 15 + explicit[o.contention] for o in outcomes)
    # "payments" keeps only its erc20 share of the mix; a profile with nothing left is skipped.
    payments = CONTENTION[0].restricted(target.kinds)
    assert payments is not None and payments.mix == ("erc20.transfer",)
    assert Contention("amm-only", 2, mix=("amm.sync",)).restricted(target.kinds) is None


def test_an_undeclared_kind_is_refused_before_it_reaches_the_engine(tmp_path: Path) -> None:
    workload = demo_workload()
    engine = ExternalEngine(fake("good", "--kinds", "erc20.transfer"), transcript_dir=tmp_path)
    with engine, pytest.raises(ExternalEngineError, match=r"does not support amm\.add_liquidity"):
        engine.execute(workload.blocks[0], workload.state)


@needs_node
def test_the_node_engine_passes_the_check(tmp_path: Path) -> None:
    args = ["check", "--engine-cmd", NODE_ENGINE, "--examples", "20"]
    assert main([*args, "--reports", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "check.json").read_text())
    assert [r["held"] for r in report["results"]] == [True] * len(CONTENTION)


@needs_node
def test_the_node_engine_with_a_lost_update_fails_with_a_small_replayable_counterexample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buggy = f"{NODE_ENGINE} --bug lost-update"
    args = ["check", "--engine-cmd", buggy, "--contention", "payments"]
    assert main([*args, "--reports", str(tmp_path)]) == 1
    (result,) = json.loads((tmp_path / "check.json").read_text())["results"]
    assert result["failure"]["kind"] == "divergence"
    assert result["failure"]["txs"] <= 4
    assert (
        "in sequential execution, but from the pre-state in the engine" in capsys.readouterr().out
    )
    assert main(["replay", result["failure"]["replay"]]) == 1  # rebuilt from cmd:COMMAND
    assert resolve(f"cmd:{NODE_ENGINE}").kinds == {
        "erc20.transfer", "erc20.approve", "erc20.transfer_from", "erc20.mint", "erc20.burn"
    }  # fmt: skip


def test_rereads_in_an_answer_are_read_and_checked() -> None:
    """An engine that reports every read of a key it read twice: parsed, and a second version
    of one key is a named non-repeatable read; a malformed reread is one clear line."""
    from txlanes.checker.equivalence import first_divergence
    from txlanes.executor.external.protocol import ProtocolError, parse_result
    from txlanes.executor.sequential import SequentialEngine
    from txlanes.models import Block
    from txlanes.models.erc20 import BAL, Transfer

    state = {(BAL, 1, 1): 100}
    block = Block((Transfer(1, 1, 2, 10), Transfer(2, 1, 3, 4)))
    key = "erc20.bal:1:2"
    answer = {
        "type": "result",
        "id": 1,
        "writes": {"erc20.bal:1:1": "90", "erc20.bal:1:2": "6", "erc20.bal:1:3": "4"},
        "receipts": [
            {"ok": True, "reason": None, "events": [["Transfer", "1", "1", "2", "10"]]},
            {"ok": True, "reason": None, "events": [["Transfer", "1", "2", "3", "4"]]},
        ],
        "traces": [
            {"reads": {"erc20.bal:1:1": -1, key: -1},
             "writes": {"erc20.bal:1:1": "90", key: "10"}},
            {"reads": {key: 0, "erc20.bal:1:3": -1},
             "writes": {key: "6", "erc20.bal:1:3": "4"}, "rereads": [[key, -1]]},
        ],
    }  # fmt: skip
    observed = parse_result(answer, 1, 2, traces=True)
    assert observed.traces[1].rereads == (((BAL, 1, 2), -1),)
    found = first_divergence(SequentialEngine().execute(block, state), observed, block.txs, state)
    assert found is not None and found.aspect == "repeatable read" and found.tx_index == 1
    answer["traces"][1]["rereads"] = [[key, 1]]  # type: ignore[index]
    with pytest.raises(ProtocolError, match=r"traces\[1\]\.rereads\[0\]: the writer must be"):
        parse_result(answer, 1, 2, traces=True)
