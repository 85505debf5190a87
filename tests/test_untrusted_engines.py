"""Engines txlanes did not write, loaded and called without trusting them (issue 19): whatever
a ``pkg.module:Class`` engine does at import, construction, in what it declares or in
``execute`` — exit, raise any ``BaseException``, return the wrong thing, never return — is a
configuration error (exit 2) or a named failure (exit 1) saying what it did, never a pass and
never txlanes exiting with the engine's own code. The user's Ctrl-C still stops txlanes (130).
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from txlanes.checker.campaign import Campaign
from txlanes.checker.example import run_example
from txlanes.checker.failure import FailureKind, Outcome, Status
from txlanes.checker.profiles import Contention
from txlanes.cli import main
from txlanes.executor.blockstm import Schedule
from txlanes.executor.registry import Target, TargetError, resolve
from txlanes.models.demo import demo_workload

HEADER = """
import sys, threading
from txlanes.executor.sequential import SequentialEngine
RELEASE = threading.Event()  # set by the test's teardown: a stuck engine thread then ends
"""

Write = Callable[[str], str]


@pytest.fixture
def module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Write]:
    """Writes an engine module (``HEADER`` + the source) named after the test; its name."""
    name = "untrusted_" + re.sub(r"\W", "_", request.node.name)
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(source: str) -> str:
        (tmp_path / f"{name}.py").write_text(HEADER + source)
        return name

    yield write
    loaded = sys.modules.pop(name, None)
    if loaded is not None:
        loaded.RELEASE.set()


def check(tmp_path: Path, spec: str, *extra: str) -> int:
    """``txlanes check`` in-process; an engine's ``SystemExit`` escaping it fails the test (it
    would have been the process's exit code: 0, a silent pass)."""
    argv = ["check", "--engine", spec, "--examples", "5", "--contention", "payments"]
    try:
        return main([*argv, "--reports", str(tmp_path / "r"), *extra])
    except SystemExit as exit_:
        pytest.fail(f"txlanes exited with the engine's own SystemExit({exit_.code!r})")


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a configuration error prints (after any progress line)."""
    (line,) = [s for s in capsys.readouterr().err.splitlines() if s.startswith("txlanes:")]
    assert line.startswith("txlanes: error: ")
    return line


# -- the spec itself -------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["..a:B", ":", "mod:", "a b:C", "mod:Outer.Inner"])
def test_a_spec_not_of_the_form_pkg_module_class_is_exit_2_naming_the_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    assert check(tmp_path, spec) == 2
    line = error_line(capsys)
    assert f"engine {spec!r}" in line and "pkg.module:Class" in line


def test_a_command_that_cannot_be_split_is_exit_2_naming_the_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(tmp_path, "cmd:'unbalanced") == 2
    line = error_line(capsys)
    assert 'engine "cmd:\'unbalanced"' in line and "No closing quotation" in line
    assert "cmd:COMMAND" in line


# -- import ------------------------------------------------------------------------------------


def test_a_module_that_exits_at_import_is_exit_2_not_a_silent_pass(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module("sys.exit(0)\n")
    assert check(tmp_path, f"{name}:Engine") == 2
    line = error_line(capsys)
    assert f"cannot import {name!r}: at import, the module raised SystemExit(0)" in line
    assert not (tmp_path / "r" / "check.json").exists()  # no report that says anything held


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("raise RuntimeError('no GPU here')\n", "raised RuntimeError: no GPU here"),
        ("def broken(:\n", "raised SyntaxError: invalid syntax"),
        ("raise KeyboardInterrupt\n", "raised KeyboardInterrupt()"),  # on its own, at import
        ("import no_such_dependency_of_the_engine\n", "no_such_dependency_of_the_engine"),
    ],
)
def test_a_module_that_fails_at_import_is_exit_2_saying_how(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, said: str
) -> None:
    name = module(source)
    assert check(tmp_path, f"{name}:Engine") == 2
    line = error_line(capsys)
    assert f"cannot import {name!r}" in line and said in line


def test_a_module_that_does_not_finish_importing_is_exit_2_within_the_timeout(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module("RELEASE.wait()\n")
    assert check(tmp_path, f"{name}:Engine", "--engine-timeout", "0.2") == 2
    assert "did not finish within 0.2 s (--engine-timeout)" in error_line(capsys)


# -- construction and what it declares ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raises", "said"),
    [
        ("RuntimeError('no licence')", "RuntimeError: no licence"),
        ("SystemExit(0)", "SystemExit(0)"),
    ],
)
def test_a_constructor_that_raises_is_exit_2(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str], raises: str, said: str
) -> None:
    name = module(f"class Engine(SequentialEngine):\n    def __init__(self): raise {raises}\n")
    assert check(tmp_path, f"{name}:Engine") == 2
    assert f"constructing it failed: it raised {said}" in error_line(capsys)


def test_a_constructor_that_fails_at_another_n_is_a_named_crash(module: Write) -> None:
    name = module(
        "class Engine(SequentialEngine):\n"
        "    def __init__(self, workers):\n"
        "        if workers != 2: raise SystemExit(workers)\n"  # the probe builds it with 2
    )
    problem = run_example(resolve(f"{name}:Engine"), demo_workload(), 3, None)
    assert problem is not None and problem.kind is FailureKind.CRASH
    assert problem.message == "block 0: constructing it failed: it raised SystemExit(3)"


@pytest.mark.parametrize(
    ("declares", "said"),
    [
        ("capabilities = 5", "reading its capabilities failed: it raised TypeError"),
        ("capabilities = 'erc20.transfer'", "capabilities must be a collection of transaction"),
        (
            "capabilities = ['erc20.transfer', 7]",
            "capabilities names a int, not a transaction kind",
        ),
        ("capabilities = ['erc20.teleport']", "capabilities names 'erc20.teleport', not a"),
        ("capabilities = ()", "capabilities is empty"),
        (
            "@property\n    def capabilities(self): raise SystemExit(4)",
            "reading its capabilities failed: it raised SystemExit(4)",
        ),
        (
            "@property\n    def capabilities(self): return (k for k in [1/0])",
            "reading its capabilities failed: it raised ZeroDivisionError",
        ),
        ("reports_traces = 'no'", "reports_traces must be True or False, not a str"),
        ("reports_traces = None", "reports_traces must be True or False, not a NoneType"),
        (
            "@property\n    def reports_traces(self): raise LookupError('traces?')",
            "reading its reports_traces failed: it raised LookupError: traces?",
        ),
        ("deterministic = 1", "deterministic must be True or False, not a int"),
        ("execute = None", "has no execute(block, state) method"),
    ],
)
def test_what_an_engine_declares_is_read_without_trusting_it(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str], declares: str, said: str
) -> None:
    name = module(f"class Engine(SequentialEngine):\n    {declares}\n")
    assert check(tmp_path, f"{name}:Engine") == 2
    line = error_line(capsys)
    assert f"engine '{name}:Engine'" in line and said in line


# -- execute -----------------------------------------------------------------------------------


#: (what execute does, the failure kind, what the report says it did)
EXECUTE = [
    ("sys.exit(0)", "crash", "block 0: engine raised SystemExit(0) in execute"),
    ("raise KeyboardInterrupt", "crash", "engine raised KeyboardInterrupt() in execute"),
    ("raise GeneratorExit", "crash", "engine raised GeneratorExit() in execute"),
    ("raise Mine('custom')", "crash", "engine raised Mine('custom') in execute"),
    ("return 42", "crash", "block 0: engine returned int, not a BlockResult"),
    ("RELEASE.wait()", "hang", "block 0: the engine's execute did not finish within 0.2 s"),
]


@pytest.mark.parametrize(
    ("body", "kind", "said", "deterministic"),
    # a deterministic engine's failing example is also re-run to record its choices
    [(*case, False) for case in EXECUTE]
    + [(*case, True) for case in EXECUTE if case[0] in ("sys.exit(0)", "RELEASE.wait()")],
)
def test_whatever_execute_does_is_a_named_failure(
    module: Write,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    body: str,
    kind: str,
    said: str,
    deterministic: bool,
) -> None:
    name = module(
        "class Mine(BaseException): pass\n"
        "class Engine(SequentialEngine):\n"
        f"    deterministic = {deterministic}\n"
        f"    def execute(self, block, state): {body}\n"
    )
    assert check(tmp_path, f"{name}:Engine", "--engine-timeout", "0.2") == 1
    assert said in capsys.readouterr().out
    (result,) = json.loads((tmp_path / "r" / "check.json").read_text())["results"]
    assert result["failure"]["kind"] == kind
    message = result["failure"]["message"]
    assert said in message and "\n" not in message and len(message) < 400


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("raise SystemExit('bye')", "block 0: engine raised SystemExit('bye') in execute"),
        ("raise ValueError('x' * 10**6)", "block 0: engine raised ValueError: xxx"),
        ("return None", "block 0: engine returned NoneType, not a BlockResult"),
        (
            "return super().execute(block, state).receipts",
            "block 0: engine returned list, not a BlockResult",
        ),
    ],
)
def test_more_of_what_execute_does_is_named_in_one_bounded_line(
    module: Write, body: str, said: str
) -> None:
    """The same path as above, one example each (without a campaign's shrinking)."""
    name = module(f"class Engine(SequentialEngine):\n    def execute(self, block, state): {body}\n")
    problem = run_example(resolve(f"{name}:Engine"), demo_workload(), 2, None)
    assert problem is not None and problem.kind is FailureKind.CRASH
    assert problem.message.startswith(said)
    assert "\n" not in problem.message and len(problem.message) < 400


def test_the_users_ctrl_c_still_stops_txlanes(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SIGINT delivered to txlanes' own thread while it waits for the engine: exit 130, not a
    failure of the engine (which raising KeyboardInterrupt in its own thread is)."""
    name = module(
        "import signal\n"
        "class Engine(SequentialEngine):\n"
        "    def execute(self, block, state):\n"
        "        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)\n"
        "        RELEASE.wait()\n"
    )
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert check(tmp_path, f"{name}:Engine", "--engine-timeout", "60") == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    assert "txlanes: interrupted" in capsys.readouterr().err


def test_run_and_replay_call_the_engine_under_the_same_guard(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module(
        "class Engine(SequentialEngine):\n    def execute(self, block, state): sys.exit(0)\n"
    )
    workload = tmp_path / "w.json"
    assert main(["gen", "transfers", "--txs", "4", "-o", str(workload)]) == 0
    argv = [
        "run",
        str(workload),
        "--engine",
        f"{name}:Engine",
        "--output",
        str(tmp_path / "o.json"),
    ]
    assert main(argv) == 2  # txlanes run judges nothing: an engine it could not use
    assert "engine raised SystemExit(0) in execute" in error_line(capsys)
    assert check(tmp_path, f"{name}:Engine") == 1
    (failure,) = (tmp_path / "r" / "failures").iterdir()
    capsys.readouterr()
    assert main(["replay", str(failure)]) == 1
    assert "engine raised SystemExit(0) in execute" in capsys.readouterr().out


# -- sizes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("blockstm:100000", "a whole number from 1 to 256"),
        (f"blockstm:{2**63}", "a whole number from 1 to 256"),
        ("blockstm:" + "9" * 5000, "a whole number from 1 to 256"),
        ("blockstm:-1", "a whole number from 1 to 256"),
        ("multicore?chunk=1000000", "option chunk='1000000': a whole number >= 1, at most 100000"),
        ("multicore?chunk=-5", "at most 100000"),
        ("multicore?chunk=nan", "at most 100000"),
        ("blockstm-det?max-steps=1e300", "option max-steps='1e300': a whole number >= 1, at most"),
        ("blockstm-det?max-steps=99999999999", "at most 10000000"),
    ],
)
def test_an_absurd_size_in_a_spec_is_exit_2_with_the_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, said: str
) -> None:
    assert check(tmp_path, spec) == 2
    assert said in error_line(capsys)


@pytest.mark.parametrize("workers", [10_000, 0, True])
def test_an_n_asked_of_a_built_engine_is_checked_too(workers: int) -> None:
    """A failure file edited to ``"workers": 10000`` reaches ``build`` through replay."""
    for spec in ("blockstm", "mutant:skip-validation"):
        with pytest.raises(TargetError, match="a whole number from 1 to 256"):
            resolve(spec).build(workers, None)


@pytest.fixture
def no_threads() -> Iterator[None]:
    """A machine that cannot start another thread: each thread asks for a 1 TiB stack."""
    threading.stack_size(2**40)
    try:
        yield
    finally:
        threading.stack_size(0)


def test_a_thread_the_machine_cannot_start_is_exit_2_not_a_crash(no_threads: None) -> None:
    workload = demo_workload()
    with pytest.raises(TargetError, match=r"could not start its threads .* use a smaller N"):
        run_example(resolve("blockstm:2"), workload, 2, None)
    user = Target("user", lambda n, s: resolve("sequential").engine(), block_timeout=1.0)
    assert run_example(user, workload, 2, None) is None  # a built-in engine needs no thread


def test_a_user_engine_out_of_threads_is_exit_2(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module(
        "class Engine(SequentialEngine):\n"
        "    def execute(self, block, state):\n"
        "        threading.stack_size(2**40)\n"
        "        try:\n"
        "            threading.Thread(target=print).start()\n"
        "        finally:\n"
        "            threading.stack_size(0)\n"
    )
    assert check(tmp_path, f"{name}:Engine") == 2
    assert "could not start its threads (can't start new thread)" in error_line(capsys)


# -- nothing checked is never "held" ------------------------------------------------------------


def test_an_engine_every_profile_was_skipped_for_is_not_held(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module("class Engine(SequentialEngine):\n    capabilities = ['amm.sync']\n")
    assert check(tmp_path, f"{name}:Engine") == 2
    line = error_line(capsys)
    assert f"nothing was checked of {name}:Engine" in line and "payments" in line
    # beside an engine that was checked: still not a pass
    assert check(tmp_path, f"{name}:Engine", "--engine", "sequential") == 2
    assert f"nothing was checked of {name}:Engine" in error_line(capsys)


def test_a_campaign_that_ran_no_example_is_not_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def ran_nothing(self: Campaign, target: Target, contention: Contention) -> Outcome:
        return Outcome(target.spec, contention.name)

    monkeypatch.setattr(Campaign, "check", ran_nothing)
    assert check(tmp_path, "sequential") == 2
    assert "nothing was checked of sequential · payments: no example ran" in error_line(capsys)
    assert Outcome("sequential", "payments").status is Status.UNCHECKED  # never HELD


def test_a_well_behaved_engine_still_holds(
    module: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module(
        "class Engine(SequentialEngine):\n"
        "    capabilities = ('erc20.transfer', 'erc20.approve')\n"
        "    reports_traces = False\n"
        "    deterministic = True\n"
        "    def __init__(self, workers): self.workers = workers\n"
    )
    assert check(tmp_path, f"{name}:Engine") == 0
    assert "1 held, 0 failed" in capsys.readouterr().out
    target = resolve(f"{name}:Engine")
    assert (target.kinds, target.traces, target.deterministic, target.counts) == (
        frozenset({"erc20.transfer", "erc20.approve"}),
        False,
        True,
        "workers",
    )
    assert target.build(3, Schedule()).workers == 3  # type: ignore[attr-defined]
