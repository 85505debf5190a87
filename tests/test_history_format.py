"""The history file format, versions 1 and 2 (docs/history-format.md), and `txlanes history`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from txlanes.checker.history import HistoryError, Read, history_from_json, load_history
from txlanes.checker.serializability import find_anomaly
from txlanes.cli import main
from txlanes.executor import PRE_STATE

DOC = Path(__file__).resolve().parent.parent / "docs" / "history-format.md"
X, Y = "erc20.bal:1:1", "erc20.bal:1:2"


def doc_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), re.DOTALL)
    return [json.loads(block) for block in blocks]


def test_the_documented_examples_load_and_say_what_the_page_says() -> None:
    v2, v1 = doc_examples()
    assert (v2["version"], v1["version"]) == (2, 1)
    h = history_from_json(v2)
    # T1 read X from the initial state, then from T0; T2 read Y, wrote it, read its own write.
    assert h.txs[1].reads[("erc20.bal", 1, 1)] == [Read(PRE_STATE, 10), Read(0, 7)]
    anomaly = find_anomaly(h)
    assert anomaly is not None
    assert (anomaly.name, anomaly.label) == ("G-single", "non-repeatable read")
    assert "T1 read erc20.bal:1:1 from the initial state, then from T0" in anomaly.explain()
    # Version 1: T0 and T1 both read both initial keys and each wrote one: write skew.
    anomaly = find_anomaly(history_from_json(v1))
    assert anomaly is not None and (anomaly.name, anomaly.label) == ("G2", "write skew")


def v1(*txs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format": "txlanes-history", "version": 1, "txs": list(txs), **extra}


def v2(*txs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format": "txlanes-history", "version": 2, "txs": list(txs), **extra}


def test_version_1_files_load_and_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    doc = v1(
        {"reads": {X: -1, Y: -1}, "writes": {X: 1}},
        {"reads": {X: -1, Y: -1}, "writes": {Y: 1}},
    )
    path.write_text(json.dumps(doc))
    anomaly = find_anomaly(load_history(path))
    assert anomaly is not None and anomaly.name == "G2"
    doc["txs"][1]["reads"][X] = 7
    path.write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match=r"txs\[1\]\.reads\['erc20.bal:1:1'\]: writer 7"):
        load_history(path)
    doc["version_order"] = {X: [1]}
    doc["txs"][1]["reads"][X] = -1
    path.write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match="must list exactly the committed writers"):
        load_history(path)


AT_X = r"txs\[0\]\.reads\['erc20.bal:1:1'\]"  # the path of T0's reads of X


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        (v1({"reads": {X: -1}, "read_values": {Y: 3}}), r"values\['erc20.bal:1:2'\]: the tr"),
        (v1({"aborted": "yes"}), r"txs\[0\]\.aborted: must be true or false"),
        (v1({"reads": {X: -2}}), AT_X + r": must be an integer >= -1"),
        (v2({"reads": {X: []}}), AT_X + r": must be a non-empty list"),
        (v2({"reads": {X: -1}}), AT_X + r": must be a non-empty list"),
        (v2({"reads": {X: [{"writer": -1}, {"writer": 7}]}}), AT_X + r"\[1\]\.writer: writer 7 is"),
        (v2({"reads": {X: [{"value": 3}]}}), AT_X + r"\[0\]\.writer: missing"),
        (v2({"reads": {X: [{"writer": -1, "seen": 3}]}}), AT_X + r"\[0\]\.seen: unknown field"),
        (v2({"reads": {X: [{"writer": -1, "value": -3}]}}), AT_X + r"\[0\]\.value: must be an"),
        (v2({"reads": {X: [7]}}), AT_X + r"\[0\]: must be an object"),
        (v2({"read_values": {X: 1}}), r"read_values: unknown field \(version 2 gives each read"),
        ({**v2(), "version": 3}, r"version: this txlanes reads versions 1 and 2, got 3"),
        ({**v2(), "version": True}, r"version: this txlanes reads versions 1 and 2, got True"),
    ],
)  # fmt: skip
def test_malformed_histories_are_rejected_with_their_path(doc: dict[str, Any], error: str) -> None:
    with pytest.raises(HistoryError, match=error):
        history_from_json(doc)


def run(tmp_path: Path, doc: dict[str, Any]) -> int:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    return main(["history", str(path)])


def test_history_command_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Polygon bor #2270's shape: T1 read X twice and saw the initial state, then T0's write.
    fuzzy = v2({"writes": {X: 1}}, {"reads": {X: [{"writer": -1}, {"writer": 0}]}})
    assert run(tmp_path, fuzzy) == 1
    assert "G-single — non-repeatable read: " in capsys.readouterr().out
    # The same reads with T1's own write between them are serializable.
    own = v2({"reads": {X: [{"writer": -1}, {"writer": 0}]}, "writes": {X: 1}})
    assert run(tmp_path, own) == 0
    assert "serializable" in capsys.readouterr().out
    # "Reading its own write" of a key it never wrote is an aborted read (a discarded write).
    for doc in (v1({"reads": {X: 0}}), v2({"reads": {X: [{"writer": 0}]}})):
        assert run(tmp_path, doc) == 1
        assert "G1a — aborted read" in capsys.readouterr().out
    # A malformed file is bad input: exit 2, one line on stderr.
    assert run(tmp_path, v2({"reads": {X: [{"writer": 5}]}})) == 2
    assert "writer 5 is not a transaction" in capsys.readouterr().err
