"""The one strict JSON reader and its value checks, for every file format txlanes reads.

Each malformed input class is a row, per format: the loader raises a ``WorkloadError`` naming the
path of the value (or the file, for what is wrong with the whole file), and the command reading
the file exits 2 with one line, never an internal error. Then the wrong verdicts that lax reading
gave: a history with ``"aborted": "false"`` (an invented G1a) and a failure file with
``"workers": true`` (FIXED).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from txlanes.checker.history import load_history
from txlanes.checker.replay import load_failure
from txlanes.checker.schedules import load_schedule
from txlanes.cli import main
from txlanes.models import workload as workload_module
from txlanes.models.workload import (
    WorkloadError,
    bool_from_json,
    load_workload,
    parse_json,
    uint_from_json,
)

HOLE = "@HOLE@"  # where a row's raw JSON text goes
X = "erc20.bal:1:1"

WORKLOAD: dict[str, Any] = {
    "format": "txlanes-workload",
    "version": 1,
    "state": {X: 100, "erc20.supply:1": 100},
    "blocks": [
        {
            "txs": [
                {"type": "erc20.transfer", "sender": 1, "token": 1, "to": 2, "amount": 5},
                {"type": "perp.decrease", "sender": 1, "market": 1, "is_long": True, "size": 1},
            ]
        }
    ],
}
HISTORY: dict[str, Any] = {
    "format": "txlanes-history",
    "version": 2,
    "txs": [
        {"reads": {}, "writes": {X: 7}, "aborted": False},
        {"reads": {X: [{"writer": 0, "value": 7}]}},
    ],
}
FAILURE: dict[str, Any] = {
    "format": "txlanes-replay",
    "version": 2,
    "target": "blockstm-det",  # deterministic: one replay decides, FIXED or FAILED
    "contention": "payments",
    "kind": "divergence",
    "message": "saved by hand",
    "problem": {"block": 0},
    "workers": 2,
    "schedule": [0, 1],
    "workload": WORKLOAD,
}
SCHEDULE: dict[str, Any] = {
    "format": "txlanes-schedule",
    "version": 1,
    "workers": 2,
    "choices": [0, 1, 0],
    "seed": None,
}


@dataclass(frozen=True)
class Format:
    """A file format: its valid document, where each kind of value sits in it (as the path the
    error must name), how to load it and how to read it from the command line."""

    name: str
    doc: dict[str, Any]
    slots: dict[str, tuple[tuple[str | int, ...], str]]
    load: Callable[[Path], object]
    argv: Callable[[Path, Path], list[str]]


def _run_argv(path: Path, tmp: Path) -> list[str]:
    return ["run", str(path), "--output", str(tmp / "out.json")]


def _schedule_argv(path: Path, tmp: Path) -> list[str]:
    workload = tmp / "w.json"
    workload.write_text(json.dumps(WORKLOAD), encoding="utf-8")
    return [*_run_argv(workload, tmp), "--engine", "blockstm-det", "--schedule", str(path)]


TX0 = ("blocks", 0, "txs", 0)
FORMATS = {
    f.name: f
    for f in (
        Format(
            "workload",
            WORKLOAD,
            {
                "uint": ((*TX0, "amount"), "blocks[0].txs[0].amount"),
                "state": (("state", X), f"state['{X}']"),
                "bool": (("blocks", 0, "txs", 1, "is_long"), "blocks[0].txs[1].is_long"),
                "int": (("version",), "version"),
            },
            load_workload,
            _run_argv,
        ),
        Format(
            "history",
            HISTORY,
            {
                "uint": (("txs", 0, "writes", X), f"txs[0].writes['{X}']"),
                "state": (("txs", 1, "reads", X, 0, "value"), f"txs[1].reads['{X}'][0].value"),
                "bool": (("txs", 0, "aborted"), "txs[0].aborted"),
                "int": (("txs", 1, "reads", X, 0, "writer"), f"txs[1].reads['{X}'][0].writer"),
            },
            load_history,
            lambda path, _: ["history", str(path)],
        ),
        Format(
            "failure",
            FAILURE,
            {
                "uint": (("workload", *TX0, "amount"), "workload.blocks[0].txs[0].amount"),
                "state": (("schedule", 1), "schedule[1]"),
                "bool": (
                    ("workload", "blocks", 0, "txs", 1, "is_long"),
                    "workload.blocks[0].txs[1].is_long",
                ),
                "int": (("workers",), "workers"),
            },
            load_failure,
            lambda path, _: ["replay", str(path)],
        ),
        Format(
            "schedule",
            SCHEDULE,
            {
                "uint": (("choices", 1), "choices"),
                "state": (("seed",), "seed"),
                "int": (("workers",), "workers"),
            },
            load_schedule,
            _schedule_argv,
        ),
    )
}

#: (slot kind, raw JSON text put there): each a value outside the slot's type
VALUE_ROWS = [
    ("uint", "-0"),
    ("uint", '"-0"'),
    ("uint", '"+5"'),
    ("uint", '" 5"'),
    ("uint", '"0x10"'),
    ("uint", '"1_000"'),
    ("uint", '"007"'),
    ("uint", '""'),
    ("uint", str(2**256)),
    ("uint", json.dumps(str(2**256))),
    ("uint", "9" * 5000),
    ("uint", json.dumps("9" * 5000)),
    ("uint", "true"),
    ("uint", "1.5"),
    ("uint", "NaN"),
    ("uint", "-Infinity"),
    ("state", "-1"),
    ("state", str(2**256)),
    ("state", "false"),
    ("state", "Infinity"),
    ("bool", '"false"'),
    ("bool", '""'),
    ("bool", "0"),
    ("bool", "1"),
    ("bool", "null"),
    ("int", "true"),
    ("int", "1.0"),
    ("int", '"2"'),
    ("int", "9" * 5000),
]


def _with_hole(doc: dict[str, Any], where: tuple[str | int, ...]) -> str:
    """The document as text with ``HOLE`` (quoted) in place of the value at ``where``."""
    copy = json.loads(json.dumps(doc))
    node = copy
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = HOLE
    return json.dumps(copy)


def _value_cases() -> list[Any]:
    cases = []
    for fmt in FORMATS.values():
        for kind, raw in VALUE_ROWS:
            if kind in fmt.slots:
                where, path = fmt.slots[kind]
                text = _with_hole(fmt.doc, where).replace(json.dumps(HOLE), raw)
                case = pytest.param(fmt.name, text.encode(), path, id=f"{fmt.name}-{raw[:12]}")
                cases.append(case)
    return cases


#: (name, the file's bytes from the valid document's text): what is wrong with the whole file;
#: the message names the file (and the path, where there is one)
DEEP = "[" * 100_000 + "]" * 100_000
FILE_ROWS: list[tuple[str, Callable[[str], bytes], str]] = [
    ("not-utf8", lambda t: t.replace('"format"', '"f\xe9rmat"').encode("latin-1"), "not UTF-8"),
    ("bom", lambda t: b"\xef\xbb\xbf" + t.encode(), "byte-order mark"),
    ("utf16", lambda t: t.encode("utf-16"), "not UTF-8"),
    ("deep", lambda t: f'{t[:-1]}, "meta": {DEEP}}}'.encode(), "nested deeper"),
    ("duplicate", lambda t: f'{t[:-1]}, "format": "again"}}'.encode(), "format: appears twice"),
    ("truncated", lambda t: t[:-5].encode(), "not JSON"),
    ("top-nan", lambda _: b"NaN", "NaN is not a JSON number"),
]


def _file_cases() -> list[Any]:
    return [
        pytest.param(fmt.name, make(json.dumps(fmt.doc)), why, id=f"{fmt.name}-{name}")
        for fmt in FORMATS.values()
        for name, make, why in FILE_ROWS
    ]


def _refused_everywhere(
    fmt: Format, data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str], *expected: str
) -> None:
    """The loader raises naming all of ``expected``; the command exits 2 with one line naming
    them (``txlanes: error:``, never an internal error)."""
    path = tmp_path / f"{fmt.name}.json"
    path.write_bytes(data)
    with pytest.raises(WorkloadError) as err:
        fmt.load(path)
    assert all(part in str(err.value) for part in expected), err.value
    capsys.readouterr()
    assert main(fmt.argv(path, tmp_path)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("txlanes: error: "), lines
    assert all(part in lines[0] for part in expected), lines


@pytest.mark.parametrize(("name", "data", "path"), _value_cases())
def test_a_value_outside_its_type_is_refused_naming_its_path(
    name: str, data: bytes, path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused_everywhere(FORMATS[name], data, tmp_path, capsys, path)


@pytest.mark.parametrize(("name", "data", "why"), _file_cases())
def test_a_malformed_file_is_refused_naming_the_file(
    name: str, data: bytes, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused_everywhere(FORMATS[name], data, tmp_path, capsys, f"{name}.json: ", why)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_valid_document_loads_and_a_file_over_the_cap_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = FORMATS[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(fmt.doc), encoding="utf-8")
    fmt.load(path)  # the rows above are refused for what they change, not for the base
    monkeypatch.setattr(workload_module, "MAX_FILE_BYTES", len(json.dumps(fmt.doc)) - 1)
    _refused_everywhere(fmt, path.read_bytes(), tmp_path, capsys, "MiB, the largest file")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": 257}, "workers"),
        ({"workers": 10_000}, "workers"),
        ({"schedule": [-1]}, "schedule[0]"),
        ({"schedule": "0,1"}, "schedule"),
        ({"contention": None}, "contention"),
        ({"problem": {"block": True}}, "problem.block"),
        ({"version": 2.0}, "version"),
    ],
)
def test_failure_file_fields_are_bounded(
    change: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.dumps(FAILURE | change).encode()
    _refused_everywhere(FORMATS["failure"], data, tmp_path, capsys, f"{path}: ")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"workers": 257}, "workers"),
        ({"pct_depth": 10**12}, "pct_depth"),
        ({"pct_horizon": 2**256}, "pct_horizon"),  # found by the stress fuzz run
        ({"choices": [0, 256]}, "choices[1]"),
        ({"version": True}, "version"),
        ({"seed": -1}, "seed"),
    ],
)
def test_schedule_file_fields_are_bounded(
    change: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.dumps(SCHEDULE | change).encode()
    _refused_everywhere(FORMATS["schedule"], data, tmp_path, capsys, f"{path}: ")


def test_a_run_result_s_schedule_is_read_as_strictly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.dumps({"format": "txlanes-run", "schedule": SCHEDULE | {"workers": True}}).encode()
    _refused_everywhere(FORMATS["schedule"], data, tmp_path, capsys, "schedule.workers: ")


# -- the wrong verdicts ---------------------------------------------------------------------------


def _history_with_aborted(tmp_path: Path, aborted: object) -> Path:
    """T1 reads T0's write of X: a G1a exactly when T0 aborted."""
    path = tmp_path / "h.json"
    doc = json.loads(json.dumps(HISTORY))
    doc["txs"][0]["aborted"] = aborted
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_aborted_false_as_a_string_is_refused_not_an_invented_g1a(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", str(_history_with_aborted(tmp_path, False))]) == 0
    assert main(["history", str(_history_with_aborted(tmp_path, True))]) == 1
    assert "G1a" in capsys.readouterr().out  # what the history shows when T0 did abort
    assert main(["history", str(_history_with_aborted(tmp_path, "false"))]) == 2
    out = capsys.readouterr()
    assert "G1a" not in out.out and "txs[0].aborted: must be true or false" in out.err


def _failure(tmp_path: Path, workers: object) -> Path:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(FAILURE | {"workers": workers}), encoding="utf-8")
    return path


def test_workers_true_in_a_failure_file_is_refused_not_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(_failure(tmp_path, 2))]) == 0  # a correct engine: FIXED
    assert "FIXED" in capsys.readouterr().out
    for workers in (True, 10_000):
        assert main(["replay", str(_failure(tmp_path, workers))]) == 2
        out = capsys.readouterr()
        assert "FIXED" not in out.out and "FAILED" not in out.out
        assert re.search(r"workers: must be an integer in \[1, 256\]", out.err)


# -- the value checks, against oracles of their own -----------------------------------------------

CANONICAL = re.compile(r"0|[1-9][0-9]*")


@given(st.one_of(st.integers(-(2**300), 2**300), st.booleans(), st.floats(), st.none()))
def test_a_uint256_is_a_json_integer_in_range(value: object) -> None:
    ok = type(value) is int and 0 <= value < 2**256
    try:
        assert uint_from_json(value, "v") == value and ok
    except WorkloadError as err:
        assert not ok and str(err).startswith("v: must be an integer in [0, 2**256-1]")


@given(
    st.one_of(
        st.text(alphabet="0123456789+-_ x.٣", max_size=80),
        st.integers(0, 2**260).map(str),
        st.integers(0, 2**256).map(lambda n: "0" + str(n)),
    )
)
def test_a_uint256_string_is_its_canonical_decimal_digits(text: str) -> None:
    ok = CANONICAL.fullmatch(text) is not None and int(text) < 2**256
    try:
        assert uint_from_json(text, "v") == int(text) and ok
    except WorkloadError:
        assert not ok


@given(st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.none()))
def test_a_flag_is_true_or_false_only(value: object) -> None:
    try:
        assert bool_from_json(value, "f") is value
    except WorkloadError as err:
        assert not isinstance(value, bool) and str(err).startswith("f: must be true or false")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_the_strict_reader_reads_every_strict_json_document(doc: object) -> None:
    assert parse_json(json.dumps(doc), "doc") == doc
