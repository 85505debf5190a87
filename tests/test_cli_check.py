"""`txlanes check`, `replay` and `history`: the CI gate's exit codes, reports and replays."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from txlanes.checker.profiles import CONTENTION
from txlanes.cli import main
from txlanes.executor.registry import DEFAULT_CHECK


def test_check_passes_on_blockstm_and_writes_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--examples", "10", "--reports", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    checks = {(e, c.name) for e in DEFAULT_CHECK for c in CONTENTION}
    assert f"{len(checks)} held, 0 failed" in out
    report = json.loads((tmp_path / "check.json").read_text())
    assert {(r["engine"], r["contention"]) for r in report["results"]} == checks
    assert all(r["held"] for r in report["results"])
    suite = ET.parse(tmp_path / "check.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == (str(len(checks)), "0")
    assert "| blockstm " in (tmp_path / "check.md").read_text()


def test_check_fails_on_a_mutant_and_the_failure_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "check",
            "--engine",
            "mutant:skip-validation",
            "--contention",
            "hot-key",
            "--reports",
            str(tmp_path),
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "FAILED mutant:skip-validation · hot-key (divergence" in out
    failure = tmp_path / "failures" / "mutant_skip-validation-hot-key.json"
    assert f"replay: txlanes replay {failure}" in out
    suite = ET.parse(tmp_path / "check.xml").getroot()
    assert suite.get("failures") == "1"

    assert main(["replay", str(failure)]) == 1
    assert "FAILED mutant:skip-validation · hot-key (divergence" in capsys.readouterr().out
    # The same counterexample against the correct engine: FIXED.
    doc = json.loads(failure.read_text())
    doc["target"] = "blockstm-det"
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(doc))
    assert main(["replay", str(fixed)]) == 0
    assert "FIXED" in capsys.readouterr().out


def test_check_rejects_bad_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--engine", "warp", "--reports", str(tmp_path)]) == 2
    assert "unknown engine 'warp'" in capsys.readouterr().err
    assert main(["check", "--engine", "nosuchmodule:Engine", "--reports", str(tmp_path)]) == 2
    assert "cannot import 'nosuchmodule'" in capsys.readouterr().err
    assert main(["check", "--examples", "0", "--reports", str(tmp_path)]) == 2
    assert main(["replay", str(tmp_path / "missing.json")]) == 2


def test_history_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "h.json"
    skew = {"erc20.bal:1:1": -1, "erc20.bal:1:2": -1}
    doc = {
        "format": "txlanes-history",
        "version": 1,
        "txs": [
            {"reads": skew, "writes": {"erc20.bal:1:1": 1}},
            {"reads": skew, "writes": {"erc20.bal:1:2": 1}},
        ],
    }
    path.write_text(json.dumps(doc))
    assert main(["history", str(path)]) == 1
    assert "G2 — write skew" in capsys.readouterr().out
    doc["txs"][1]["reads"] = {"erc20.bal:1:1": 0}  # type: ignore[index]
    path.write_text(json.dumps(doc))
    assert main(["history", str(path)]) == 0
    assert "serializable" in capsys.readouterr().out


def test_verify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--ops", "erc20.transfer", "--reports", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| erc20.transfer" in out and "PROVED" in out
    report = json.loads((tmp_path / "verify.json").read_text())
    assert {(r["operation"], r["property"], r["result"]) for r in report["results"]} == {
        ("erc20.transfer", "conservation", "PROVED"),
        ("erc20.transfer", "uint256-range", "PROVED"),
    }
    assert main(["verify", "--ops", "erc20.steal", "--reports", str(tmp_path)]) == 2
    assert main(["verify", "--timeout", "0", "--reports", str(tmp_path)]) == 2
