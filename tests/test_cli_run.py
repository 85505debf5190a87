"""`txlanes run` and `txlanes gen`: exit codes, one-line errors, the summary and the JSON result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from txlanes.cli import main


def test_gen_then_run_reports_tps_and_writes_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = tmp_path / "w.json"
    assert main(["gen", "transfers", "--txs", "200", "--accounts", "5", "-o", str(workload)]) == 0
    out = tmp_path / "out" / "r.json"
    assert main(["run", str(workload), "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "erc20.transfer" in text and "TPS" in text
    result = json.loads(out.read_text())
    assert result["txs"] == 200 and result["engine"] == "sequential"
    assert len(result["blocks"][0]["receipts"]) == 200
    # Transfers among funded accounts conserve the token: the final balances sum to the supply.
    state = result["state"]
    balances = sum(int(v) for k, v in state.items() if k.startswith("erc20.bal:"))
    assert balances == int(state["erc20.supply:1"])


def test_bad_workload_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": "txlanes-workload",
                "version": 1,
                "blocks": [
                    {
                        "txs": [
                            {
                                "type": "erc20.transfer",
                                "sender": 1,
                                "token": 1,
                                "to": 2,
                                "amount": -5,
                            }
                        ]
                    }
                ],
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "txlanes", "run", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "txlanes: error: blocks[0].txs[0].amount: must be an integer in [0, 2**256-1], got -5"
    ]
    assert "Traceback" not in proc.stderr


def test_unknown_engine_and_missing_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    workload = tmp_path / "w.json"
    main(["gen", "transfers", "--txs", "3", "--accounts", "2", "-o", str(workload)])
    assert main(["run", str(workload), "--engine", "warp"]) == 2
    assert "unknown engine 'warp'" in capsys.readouterr().err


def test_failed_run_leaves_previous_report_intact(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("previous")
    assert main(["run", str(tmp_path / "missing.json"), "--output", str(out)]) == 2
    assert out.read_text() == "previous"


def test_a_deterministic_run_replays_from_its_result_file(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.json"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    args = ["run", str(demo), "--engine", "blockstm-det", "--workers", "3"]
    assert main([*args, "--schedule-seed", "5", "--output", str(first)]) == 0
    assert main([*args, "--schedule", str(first), "--output", str(second)]) == 0
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["blocks"] == b["blocks"] and a["state"] == b["state"]
    assert a["schedule"]["choices"] == b["schedule"]["choices"]
    sequential = tmp_path / "seq.json"
    assert main(["run", str(demo), "--output", str(sequential)]) == 0
    assert main([*args, "--schedule", str(sequential)]) == 2  # it recorded no schedule


def test_an_engine_command_that_does_not_start_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Found by the stress fuzz run: this was an internal error (exit 3)."""
    args = ["run", "examples/demo.json", "--engine", "cmd:/nonexistent/engine"]
    assert main([*args, "--output", str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not be started" in err
