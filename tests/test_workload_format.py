"""The workload file format: round trips, and precise errors that name the offending path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from txlanes.models import MAX_UINT256, Block, BlockEnv, Workload, WorkloadError, load_workload
from txlanes.models.erc20 import BAL, Transfer
from txlanes.models.workload import (
    key_from_str,
    key_to_str,
    workload_from_json,
    workload_to_json,
    workload_to_text,
)


def minimal(**block: Any) -> dict[str, Any]:
    tx = {"type": "erc20.transfer", "sender": 1, "token": 2, "to": 3, "amount": 4}
    return {
        "format": "txlanes-workload",
        "version": 1,
        "state": {"erc20.bal:2:1": "10"},
        "blocks": [{"number": 5, "txs": [tx]} | block],
    }


def test_round_trip_preserves_everything() -> None:
    workload = Workload(
        {(BAL, 2, 1): MAX_UINT256, (BAL, 2, 9): 3},
        [
            Block((Transfer(1, 2, 3, MAX_UINT256),), BlockEnv(4, 48, 9, 2, 1)),
            Block((), BlockEnv(5, 60)),
        ],
    )
    text = workload_to_text(workload)
    assert workload_from_json(json.loads(text)) == workload
    assert workload_from_json(workload_to_json(workload)) == workload


def test_large_values_are_strings_small_are_numbers() -> None:
    obj = workload_to_json(Workload({(BAL, 2, 1): 2**53, (BAL, 2, 3): 2**53 - 1}, []))
    assert obj["state"] == {"erc20.bal:2:1": str(2**53), "erc20.bal:2:3": 2**53 - 1}


def test_keys_round_trip_and_zero_state_values_are_dropped() -> None:
    assert key_from_str(key_to_str((BAL, 2, 3))) == (BAL, 2, 3)
    obj = minimal()
    obj["state"]["erc20.bal:2:9"] = 0
    assert (BAL, 2, 9) not in workload_from_json(obj).state


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda o: o["blocks"][0]["txs"][0].update(amount=-1),
            "blocks[0].txs[0].amount: must be an integer in [0, 2**256-1], got -1",
        ),
        (
            lambda o: o["blocks"][0]["txs"][0].update(amount=str(2**256)),
            "blocks[0].txs[0].amount: must be an integer in [0, 2**256-1]",
        ),
        (
            lambda o: o["blocks"][0]["txs"][0].update(amount=1.5),
            "blocks[0].txs[0].amount: must be an integer",
        ),
        (
            lambda o: o["blocks"][0]["txs"][0].update(amount=True),
            "blocks[0].txs[0].amount: must be an integer",
        ),
        (
            lambda o: o["blocks"][0]["txs"][0].update(type="erc20.steal"),
            "blocks[0].txs[0].type: unknown transaction type 'erc20.steal' (known: ",
        ),
        (
            lambda o: o["blocks"][0]["txs"][0].pop("to"),
            "blocks[0].txs[0].to: missing (required by erc20.transfer)",
        ),
        (
            lambda o: o["blocks"][0]["txs"][0].update(memo=1),
            "blocks[0].txs[0].memo: unknown field for erc20.transfer",
        ),
        (lambda o: o["blocks"][0].update(txs={}), "blocks[0].txs: must be a list"),
        (lambda o: o["blocks"][0].update(gas=1), "blocks[0].gas: unknown field"),
        (
            lambda o: o["blocks"][0].update(fee={"token": 1, "amount": 1}),
            "blocks[0].fee.recipient: missing",
        ),
        (lambda o: o["blocks"][0].update(number="x"), "blocks[0].number: must be an integer"),
        (
            lambda o: o["state"].update({"erc20.bal:2": 1}),
            "state['erc20.bal:2']: key erc20.bal takes 2 components (token, account), got 1",
        ),
        (lambda o: o["state"].update({"nope:1": 1}), "state['nope:1']: unknown key schema 'nope'"),
        (
            lambda o: o["state"].update({"erc20.bal:2:x": 1}),
            "state['erc20.bal:2:x'].account: must be an integer",
        ),
        (lambda o: o.update(version=2), "version: this txlanes reads version 1, got 2"),
        (lambda o: o.update(format="other"), "format: must be 'txlanes-workload'"),
        (lambda o: o.pop("blocks"), "blocks: must be a list of blocks"),
    ],
)
def test_invalid_workloads_name_the_path(mutate: Any, message: str) -> None:
    obj = minimal()
    mutate(obj)
    with pytest.raises(WorkloadError) as err:
        workload_from_json(obj)
    assert str(err.value).startswith(message)


def test_load_reports_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read"):
        load_workload(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(WorkloadError, match=r"not JSON \(line 1, column 12"):
        load_workload(bad)
