"""The bounds policy of the command line: every numeric option has a documented range, shown in
its ``--help`` and enforced before any work starts; every output path is checked writable
before any work starts, and a report that cannot be written at the end is exit 2 and no file."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

import pytest

from txlanes import options
from txlanes.cli import _parser, main
from txlanes.errors import UsageError
from txlanes.files import write_atomic

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.json"

#: What a command needs before its options; an output inside the test's own directory.
PREFIX = {
    "run": ["run", str(DEMO), "--output", "r.json"],
    "gen": ["gen", "transfers", "-o", "w.json"],
    "check": ["check"],
    "mutants": ["mutants"],
    "verify": ["verify"],
    "bench": ["bench"],
}

#: Every numeric option: the lowest and highest value it takes, and how its help shows them.
RANGES = [
    ("run", "--engine-timeout", "0.001", "86400", "0.001..86400"),
    ("run", "--workers", "1", "256", "1..256"),
    ("run", "--processes", "1", "256", "1..256"),
    ("run", "--shards", "1", "256", "1..256"),
    ("run", "--schedule-seed", "0", str(2**64 - 1), "0..2**64-1"),
    ("gen", "--txs", "0", "10000000", "0..10,000,000"),
    ("gen", "--accounts", "2", "10000000", "2..10,000,000"),
    ("gen", "--block-size", "1", "10000000", "1..10,000,000"),
    ("gen", "--fee", "0", str(2**256 - 1), "0..2**256-1"),
    ("gen", "--seed", "0", str(2**64 - 1), "0..2**64-1"),
    ("check", "--engine-timeout", "0.001", "86400", "0.001..86400"),
    ("check", "--seed", "0", str(2**64 - 1), "0..2**64-1"),
    ("check", "--examples", "1", "100000", "1..100,000"),
    ("mutants", "--seed", "0", str(2**64 - 1), "0..2**64-1"),
    ("verify", "--timeout", "0.001", "86400", "0.001..86400"),
    ("verify", "--shards", "2", "6", "2..6"),
    ("verify", "--depth", "1", "30", "1..30"),
    ("bench", "--engine-timeout", "0.001", "86400", "0.001..86400"),
    ("bench", "--runs", "5", "1000", "5..1,000"),
    ("bench", "--txs", "1", "10000000", "1..10,000,000"),
    ("bench", "--scale", "1", "10000000", "1..10,000,000"),
    ("bench", "--seed", "0", str(2**64 - 1), "0..2**64-1"),
]


def _bad_values(low: str, high: str) -> list[str]:
    """Just outside the range, and what is no number of its kind at all."""
    if "." in low:  # seconds: a float option
        return ["0", "-1", f"{float(high) + 1:g}", "nan", "inf", "-inf", "1e300", "x"]
    return [str(int(low) - 1), str(int(high) + 1), "7" * 5_000, "1.5", "x", ""]


REJECTED = [
    pytest.param(command, option, value, shown, id=f"{command} {option} {value[:14]}")
    for command, option, low, high, shown in RANGES
    for value in _bad_values(low, high)
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command's default ``reports/`` and outputs land in the test's own directory."""
    monkeypatch.chdir(tmp_path)


def _rejected(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv`` (a trailing unknown flag stops it from doing any work, should its value be
    accepted); assert exit 2 with one line and no traceback, and return that line."""
    assert main([*argv, "--stop-before-any-work"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    assert err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize(("command", "option", "value", "shown"), REJECTED)
def test_a_number_out_of_range_is_exit_2_naming_option_and_range(
    command: str, option: str, value: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _rejected([*PREFIX[command], f"{option}={value}"], capsys)
    low, high = shown.split("..")
    assert f"error: argument {option}: must be " in line
    assert f" from {low} to {high}" in line
    assert len(line) < 300  # a 5,000-digit value is cut short


@pytest.mark.parametrize(
    ("command", "option", "low", "high"),
    [pytest.param(*row[:4], id=f"{row[0]} {row[1]}") for row in RANGES],
)
def test_the_bounds_themselves_are_accepted(command: str, option: str, low: str, high: str) -> None:
    for value in (low, high):
        args = _parser().parse_args([*PREFIX[command], option, value])
        parsed = getattr(args, option.lstrip("-").replace("-", "_"))
        parsed = parsed[-1] if isinstance(parsed, list) else parsed
        assert parsed == type(parsed)(value)


@pytest.mark.parametrize(
    ("command", "option", "shown"),
    [pytest.param(row[0], row[1], row[4], id=f"{row[0]} {row[1]}") for row in RANGES],
)
def test_help_shows_each_range(
    command: str, option: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    assert f"{option}" in help_text and shown in help_text


def _numeric_actions() -> list[tuple[str, argparse.Action]]:
    subparsers = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [
        (name, action)
        for name, parser in subparsers.choices.items()
        for action in parser._actions
        if action.type in (int, float)
        or isinstance(action.type, options.Range)
        or action.type is options.block_size
    ]


@pytest.mark.parametrize(
    "action",
    [pytest.param(a, id=f"{name} {a.option_strings[-1]}") for name, a in _numeric_actions()],
)
def test_every_numeric_option_states_the_range_its_type_enforces(action: argparse.Action) -> None:
    assert action.type not in (int, float), "a bare int/float: give it an options.Range type"
    bounds = options.BLOCK_TXS if action.type is options.block_size else action.type
    assert str(bounds) in (action.help or "")


def test_the_table_lists_every_numeric_option() -> None:
    """A numeric option added later gets a row in RANGES (and so its out-of-range cases)."""
    listed = {(c, o) for c, o, *_ in RANGES} | {("check", "--block-size")}
    assert {(c, a.option_strings[-1]) for c, a in _numeric_actions()} == listed


def _paths(tmp: Path) -> dict[str, str]:
    (tmp / "a-file").write_text("")
    (tmp / "a-dir").mkdir()
    return {
        "empty": "",
        "under a file": str(tmp / "a-file" / "out"),
        "deep under a file": str(tmp / "a-file" / "sub" / "out"),
        "under a device": "/dev/null/out",
        "a name too long": str(tmp / ("n" * 300)),
    }


OUTPUTS = [
    ("gen", ["gen", "demo", "-o"], "-o/--output", "file"),
    ("run", ["run", str(DEMO), "--output"], "--output", "file"),
    *((c, [c, "--reports"], "--reports", "dir") for c in ("check", "mutants", "verify", "bench")),
]


@pytest.mark.parametrize(("command", "argv", "option", "kind"), OUTPUTS)
def test_an_output_path_that_cannot_be_written_is_exit_2_before_any_work(
    command: str,
    argv: list[str],
    option: str,
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = _paths(tmp_path)
    if kind == "file":
        cases |= {"a directory": str(tmp_path / "a-dir"), "a device": "/dev/null"}
        cases |= {"a trailing separator": str(tmp_path / "new") + os.sep}
    else:
        cases |= {"a regular file": str(tmp_path / "a-file"), "a device": "/dev/null"}
    before = sorted(tmp_path.rglob("*"))
    for case, path in cases.items():
        line = _rejected([*argv, path], capsys)
        assert f"error: argument {option}: " in line, case
        assert path[:19] in line, case
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing created


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_an_output_in_a_read_only_directory_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = _rejected(["gen", "demo", "-o", str(locked / "new" / "w.json")], capsys)
    assert "argument -o/--output" in line and f"{locked} is not writable" in line
    line = _rejected(["verify", "--reports", str(locked)], capsys)
    assert "argument --reports" in line and "not writable" in line


def test_the_default_output_of_run_is_checked_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reports").write_text("a file where run writes its result")
    assert main(["run", str(DEMO)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("txlanes: error: --output ") and err.count("\n") == 1
    assert "reports/run-demo-sequential.json" in err and "not a directory" in err


def test_a_size_the_machine_cannot_hold_is_refused_before_generating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A machine of 1 MiB: 1,000 transfers over 1,000 accounts do not fit."""
    sysconf = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 256}
    monkeypatch.setattr(options.os, "sysconf", sysconf.__getitem__)
    assert main(["gen", "transfers", "--txs", "1000", "-o", "w.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("txlanes: error: --txs 1,000 and --accounts 1,000 need about")
    assert "MiB of memory" in err and not (tmp_path / "w.json").exists()


def test_a_report_that_cannot_be_written_is_exit_2_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The disk fills up as the result is put in place: one line naming the path, and neither
    the result nor its temporary file is left behind."""

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("txlanes.files.os.replace", full)
    assert main(["gen", "demo", "-o", "out/w.json"]) == 2
    assert capsys.readouterr().err == (
        f"txlanes: error: cannot write out/w.json: {os.strerror(errno.ENOSPC)}\n"
    )
    assert list((tmp_path / "out").iterdir()) == []


def test_writing_over_a_directory_is_a_usage_error_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "kept").write_text("kept")
    with pytest.raises(UsageError, match=r"cannot write .*d: "):
        write_atomic(tmp_path / "d", "text")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["d", "kept"]
