"""Adya's anomalies, each on the smallest history that shows it, and histories from files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import execute
from txlanes.checker.history import History, HistoryError, TxRecord, block_order, load_history
from txlanes.checker.serializability import find_anomaly
from txlanes.executor import PRE_STATE
from txlanes.models.erc20 import BAL, Transfer

X, Y = (BAL, 1, 1), (BAL, 1, 2)


def history(*txs: TxRecord, order: dict | None = None) -> History:  # type: ignore[type-arg]
    records = list(txs)
    return History(records, order if order is not None else block_order(records))


def test_a_serial_history_has_no_anomaly() -> None:
    h = history(TxRecord(writes={X: 1}), TxRecord(reads={X: 0}, writes={Y: 2}))
    assert find_anomaly(h) is None


def test_g0_write_cycle() -> None:
    h = history(
        TxRecord(writes={X: 1, Y: 1}),
        TxRecord(writes={X: 2, Y: 2}),
        order={X: [0, 1], Y: [1, 0]},
    )
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G0"
    assert {(e.src, e.dst, e.kind) for e in anomaly.cycle} == {(0, 1, "ww"), (1, 0, "ww")}
    assert "T1 overwrote T0's write of erc20.bal:1:1" in anomaly.explain()


def test_g1a_aborted_read() -> None:
    h = history(TxRecord(writes={X: 1}, aborted=True), TxRecord(reads={X: 0}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1a"
    assert "T1 read erc20.bal:1:1 from T0, which aborted" in anomaly.explain()


def test_g1a_read_of_a_write_that_never_happened() -> None:
    h = history(TxRecord(writes={}), TxRecord(reads={X: 0}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1a"


def test_g1b_intermediate_read() -> None:
    h = history(TxRecord(writes={X: 5}), TxRecord(reads={X: 0}, read_values={X: 3}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1b"
    assert "= 3 from T0, whose final write was 5" in anomaly.explain()


def test_g1c_circular_information_flow() -> None:
    h = history(TxRecord(reads={Y: 1}, writes={X: 1}), TxRecord(reads={X: 0}, writes={Y: 1}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G1c"
    assert {e.kind for e in anomaly.cycle} == {"wr"}


def test_g_single_read_skew() -> None:
    # T0 reads x before T1 writes it, but reads y after T1 wrote it.
    h = history(TxRecord(reads={X: PRE_STATE, Y: 1}), TxRecord(writes={X: 1, Y: 1}))
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G-single"
    assert sorted(e.kind for e in anomaly.cycle) == ["rw", "wr"]
    assert "T0 read erc20.bal:1:1 from the initial state, and T1 installed the next version" in (
        anomaly.explain()
    )


def test_g2_write_skew() -> None:
    h = history(
        TxRecord(reads={X: PRE_STATE, Y: PRE_STATE}, writes={X: 1}),
        TxRecord(reads={X: PRE_STATE, Y: PRE_STATE}, writes={Y: 1}),
    )
    anomaly = find_anomaly(h)
    assert anomaly is not None and anomaly.name == "G2"
    assert [e.kind for e in anomaly.cycle] == ["rw", "rw"]


def test_shortest_cycle_is_reported() -> None:
    # A long G1c cycle 0→1→2→3→0 and a short one 4→5→4: the short one is reported.
    keys = [(BAL, 2, i) for i in range(6)]
    txs = [TxRecord(writes={keys[i]: 1}) for i in range(6)]
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 4)]:
        txs[b].reads[keys[a]] = a
    anomaly = find_anomaly(history(*txs))
    assert anomaly is not None and len(anomaly.cycle) == 2


def test_sequential_engine_histories_are_serializable() -> None:
    state = {X: 10, Y: 10}
    txs = [Transfer(1, 1, 2, 3), Transfer(2, 1, 1, 4), Transfer(1, 1, 1, 1), Transfer(2, 1, 3, 50)]
    _, result = execute(state, txs)
    assert find_anomaly(History.from_result(result)) is None


def test_history_files_load_and_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    doc = {
        "format": "txlanes-history",
        "version": 1,
        "txs": [
            {"reads": {"erc20.bal:1:1": -1, "erc20.bal:1:2": -1}, "writes": {"erc20.bal:1:1": 1}},
            {"reads": {"erc20.bal:1:1": -1, "erc20.bal:1:2": -1}, "writes": {"erc20.bal:1:2": 1}},
        ],
    }
    path.write_text(json.dumps(doc))
    anomaly = find_anomaly(load_history(path))
    assert anomaly is not None and anomaly.name == "G2"
    doc["txs"][1]["reads"]["erc20.bal:1:1"] = 7  # type: ignore[index]
    path.write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match=r"txs\[1\]\.reads\['erc20.bal:1:1'\]: writer 7"):
        load_history(path)
    doc["version_order"] = {"erc20.bal:1:1": [1]}
    doc["txs"][1]["reads"]["erc20.bal:1:1"] = -1  # type: ignore[index]
    path.write_text(json.dumps(doc))
    with pytest.raises(HistoryError, match="must list exactly the committed writers"):
        load_history(path)
