"""The coverage table (checker/coverage.py): the spec's (kind, revert reason) pairs are enumerated
from its source, counted over generated workloads, and the default budget reaches them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.coverage import FEE, UNREACHABLE, Coverage, spec_reasons
from txlanes.checker.profiles import CONTENTION, PROFILES
from txlanes.cli import main
from txlanes.executor.registry import resolve
from txlanes.models import Block, Workload
from txlanes.models.erc20 import BAL, ZERO_ADDRESS, Transfer
from txlanes.models.tx import TX_TYPES
from txlanes.models.uint import MAX_UINT256


def test_the_enumeration_reads_the_spec_source() -> None:
    """Every kind has a row; reasons of the kind's own requires, of the helpers it calls, of
    the checked arithmetic and of the fee are all found."""
    reasons = spec_reasons()
    assert set(reasons) == {*TX_TYPES, FEE}
    transfer = set(reasons["erc20.transfer"])
    assert {
        "ERC20: transfer from the zero address",
        "ERC20: transfer to the zero address",
        "ERC20: transfer amount exceeds balance",
    } <= transfer
    assert "arithmetic overflow" in reasons["erc20.mint"]  # models/uint.py's checked add
    assert "ERC20: transfer amount exceeds balance" in reasons[FEE]
    assert all(pair in {(k, r) for k, rs in reasons.items() for r in rs} for pair in UNREACHABLE)


def test_counts_successes_reverts_and_boundary_classes() -> None:
    state = {(BAL, 1, 1): 100}
    txs = (
        Transfer(1, 1, 2, 10),  # succeeds
        Transfer(1, 1, ZERO_ADDRESS, 5),  # to the zero address
        Transfer(1, 1, 1, MAX_UINT256),  # to itself, more than the balance
    )
    coverage = Coverage().merge([Workload(state, [Block(txs)])] * 2)  # the same one twice
    assert coverage.examples == 1
    row = coverage.kinds["erc20.transfer"]
    assert row.ok == 1
    assert row.reverts == {
        "ERC20: transfer to the zero address": 1,
        "ERC20: transfer amount exceeds balance": 1,
    }
    assert row.classes["zero address"] == 1 and row.classes["self"] == 1
    assert row.classes["2**256-1"] == 1
    assert ("erc20.transfer", "ERC20: transfer from the zero address") in coverage.unreached()
    assert coverage.unexpected() == []


def test_the_default_budget_reaches_the_spec() -> None:
    """What the default campaign generates (every profile, profile ci, seed 0): every pair the
    spec can produce, every behaviour, and no pair declared unreachable."""
    coverage = Coverage()
    campaign = Campaign([resolve("sequential")], PROFILES["ci"], CONTENTION, seed=0)
    campaign.listeners.append(coverage)
    campaign.run()
    assert coverage.unexpected() == []
    assert coverage.missing_behaviours() == []
    assert coverage.unreached() == []


def test_check_coverage_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", "--engine", "sequential", "--examples", "20", "--coverage"]
    code = main([*args, "--contention", "payments", "--reports", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "| erc20.transfer " in out and "(kind, revert reason) pairs reached" in out
    report = json.loads((tmp_path / "coverage.json").read_text())
    assert report["format"] == "txlanes-coverage" and report["examples"] > 0
    assert report["kinds"]["erc20.transfer"]["txs"] > 0


def test_block_size_reaches_every_block(tmp_path: Path) -> None:
    """``--block-size 30..40``: every generated block has 30 to 40 transactions."""
    args = ["check", "--engine", "sequential", "--examples", "5", "--block-size", "30..40"]
    assert main([*args, "--contention", "low", "--coverage", "--reports", str(tmp_path)]) == 0
    behaviours = json.loads((tmp_path / "coverage.json").read_text())["behaviours"]
    assert behaviours["block of 13-64 txs"] > 0
    assert behaviours["block of 1 tx"] == 0


@pytest.mark.parametrize("value", ["0..3", "5..2", "a..b", "1..100001", ""])
def test_a_bad_block_size_is_one_line_and_exit_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--engine", "sequential", "--block-size", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("txlanes: error: argument --block-size")
