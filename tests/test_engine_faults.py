"""Engines that misbehave in ways a correct-looking driver still trips on (issue 19): a huge
answer, a malformed one, helpers that outlive the engine, a name too long for a file, a
multi-core child that is stopped rather than killed. Never a hang, never a verdict from an
engine that was not heard, nothing left running.

The subprocess engine is tests/fake_engines/fault_engine.py (the sequential reference with one
fault).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from txlanes.checker.equivalence import first_divergence
from txlanes.executor import SequentialEngine
from txlanes.executor.external import ExternalEngine, ExternalEngineError
from txlanes.executor.external.engine import transcript_name
from txlanes.executor.external.protocol import ProtocolError, decode, parse_hello, parse_result
from txlanes.executor.multicore import MultiCoreEngine
from txlanes.executor.multicore.wire import LaneLost, Message, make_pipe, send
from txlanes.models.demo import demo_workload
from txlanes.models.generate import transfers

ROOT = Path(__file__).resolve().parents[1]
FAULT = [sys.executable, str(ROOT / "tests" / "fake_engines" / "fault_engine.py")]


def fault(*args: str) -> list[str]:
    return [*FAULT, *args]


@contextlib.contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail (rather than hang the suite) if the body has not returned after ``seconds``."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie (its parent, not this test, reaps it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- case 1: reading is linear -----------------------------------------------------------------


def test_a_32_mib_answer_is_read_within_the_engine_timeout(tmp_path: Path) -> None:
    """Quadratic reading took 23.5 s for this size: over the timeout, a correct engine reported
    silent. The answer must also be the right one."""
    workload = demo_workload()
    block = workload.blocks[0]
    command = fault("pad", str(32 << 20))
    with ExternalEngine(command, timeout=15, transcript_dir=tmp_path) as engine:
        got = engine.execute(block, workload.state)
    want = SequentialEngine().execute(block, workload.state)
    assert got.writes == want.writes and list(got.receipts) == list(want.receipts)


# -- case 2: a malformed answer is the engine's protocol error ----------------------------------

DIGITS = "1" * 5000
TOO_BIG = str(2**256)

#: What replaces the first write's value in an otherwise correct answer → what the error says.
MALFORMED = {
    "5000-digit-number": (DIGITS, "an integer of 5000 digits; a uint256 has at most 78 digits"),
    "5000-digit-string": (f'"{DIGITS}"', "must be an integer in [0, 2**256-1], got '1111"),
    "2**256-string": (f'"{TOO_BIG}"', "must be an integer in [0, 2**256-1]"),
    "deep-nesting": ("[" * 50_000 + "]" * 50_000, "nested deeper than the JSON reader allows"),
    "nan": ("NaN", "NaN is not a JSON number"),
    "not-utf-8": ('"caf\udce9"', "wrote line 2 that is not UTF-8 (byte 0xe9 at offset"),
    "bool": ("true", "must be an integer in [0, 2**256-1], got True"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_answer_is_a_named_protocol_error(tmp_path: Path, case: str) -> None:
    spliced, said = MALFORMED[case]
    workload = demo_workload()
    engine = ExternalEngine(fault("splice", "--", spliced), timeout=10, transcript_dir=tmp_path)
    with pytest.raises(ExternalEngineError) as caught:
        engine.execute(workload.blocks[0], workload.state)
    message = str(caught.value)
    assert message.startswith("engine 'fault' (") and "block request 1: " in message
    assert said in message
    assert len(message) < 1000 + len(engine.command)  # one readable line, whatever was sent
    transcript = tmp_path / "external-fault-transcript.jsonl"
    assert message.endswith(f"; transcript: {transcript}") and transcript.exists()
    assert engine._process.dead


def test_the_cli_exits_2_on_a_malformed_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from txlanes.cli import main

    command = shlex.join(fault("splice", f'"{DIGITS}"'))
    args = ["check", "--engine-cmd", command, "--contention", "payments", "--examples", "3"]
    assert main([*args, "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the progress line
    assert last.startswith("txlanes: error: engine 'fault' (")
    assert "block request 1: broke the protocol: writes[" in last


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (b"-Infinity", r"^is not strict JSON: -Infinity is not a JSON number"),
        (b"[1, " + b"9" * 5000 + b"]", r"^is not strict JSON: \[1\]: an integer of 5000 digits"),
        (b'{"a": 1, "a": 2}', r"^is not strict JSON: a: appears twice in one object"),
        (b"\xff", r"^is not UTF-8 \(byte 0xff at offset 0\)$"),
        (b"[" * 10**5, r"^is not strict JSON: nested deeper"),
        (b"{'single': 'quotes'}", r"^is not JSON: \"\{'single'"),
    ],
)
def test_a_line_is_read_as_strict_json(line: bytes, said: str) -> None:
    with pytest.raises(ProtocolError, match=said):
        decode(line)
    assert decode(b'{"n": ' + b"9" * 78 + b"}") == {"n": int("9" * 78)}  # a uint256 spelling


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_a_version_that_only_equals_1_in_python_is_refused(version: object) -> None:
    caps = {"kinds": ["erc20.transfer"], "traces": False}
    hello = {"type": "hello", "version": version, "engine": "e", "capabilities": caps}
    with pytest.raises(ProtocolError, match=r"^version: txlanes speaks protocol version 1"):
        parse_hello(hello)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"id": True}, r"^id: answered block request True while request 1 was asked"),
        ({"writes": {"erc20.bal:1:" + DIGITS: 1}}, r"^writes\['erc20.bal.*: not a state key"),
        ({"stats": {"n": False}}, r"^stats\['n'\]: must be an integer, got False"),
        ({"receipts": [{"ok": True, "reason": "x" * 10**6, "events": []}]}, r"got 'xxx.{,80}$"),
        ({"writes": {"erc20.bal:1:1": [[[[[[[[[1]]]]]]]]]}}, r"got \[\[\[\[\.\.\.\]\]\]\]$"),
        ({"writes": {"erc20.bal:1:1": 1.5}}, r"must be an integer in \[0, 2\*\*256-1\]"),
    ],
)
def test_ill_typed_fields_are_protocol_errors(answer: dict[str, object], said: str) -> None:
    ok = {"type": "result", "id": 1, "writes": {}, "receipts": [], **answer}
    txs = len(ok["receipts"])  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match=said):
        parse_result(ok, 1, txs, traces=False)


# -- case 3: nothing the engine started outlives it ---------------------------------------------


@pytest.mark.parametrize("how", ["close", "kill"])
def test_helpers_the_engine_started_are_stopped_with_it(tmp_path: Path, how: str) -> None:
    """One helper in the engine's group, one that left it with setsid (stdio on /dev/null):
    neither is left running once the engine is closed, or killed for misbehaving."""
    pids_file = tmp_path / "pids"
    engine = ExternalEngine(fault("spawn", str(pids_file)), timeout=10, transcript_dir=tmp_path)
    pids = [int(line) for line in pids_file.read_text().split()]
    assert len(pids) == 2 and not any(gone(pid) for pid in pids)
    engine.close() if how == "close" else engine._process.kill()
    assert eventually(lambda: all(gone(pid) for pid in pids)), [p for p in pids if not gone(p)]


# -- case 4: transcripts under --reports, whatever the engine's name ----------------------------


def test_a_5000_character_name_still_saves_a_transcript(tmp_path: Path) -> None:
    paths = []
    for tail in ("a", "b"):  # two names that differ only past the cut: two transcripts
        command = fault("--pad-name", "5000", "--name", tail, "crash")
        engine = ExternalEngine(command, timeout=10, transcript_dir=tmp_path / "reports")
        with pytest.raises(ExternalEngineError) as caught:
            engine.execute(demo_workload().blocks[0], demo_workload().state)
        message = str(caught.value)
        assert message.startswith("engine 'xxxx") and len(message) < 600 + len(engine.command)
        path = Path(message.rpartition("; transcript: ")[2])
        assert path.parent == tmp_path / "reports" and len(path.name.encode()) <= 255
        assert json.loads(path.read_text().splitlines()[1])["stream"] == "from-engine"
        paths.append(path)
    assert paths[0] != paths[1]


def test_transcript_names_are_safe_and_short_names_unchanged() -> None:
    assert transcript_name("node-lanes") == "external-node-lanes-transcript.jsonl"
    assert transcript_name("a/../b c") == "external-a_.._b_c-transcript.jsonl"
    assert len(transcript_name("\udcff" * 300)) < 120


def test_a_transcript_that_cannot_be_saved_does_not_hide_the_engine_failure(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the reports folder should be")
    engine = ExternalEngine(fault("crash"), timeout=10, transcript_dir=blocker)
    with pytest.raises(ExternalEngineError, match=r"exited with code 3 before answering.*; the "
                       r"transcript could not be saved as "):  # fmt: skip
        engine.execute(demo_workload().blocks[0], demo_workload().state)


# -- case 5: a stopped multi-core child --------------------------------------------------------


def test_a_stopped_child_is_lost_by_the_deadline_and_reaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGSTOP: its pipe stays open and silent. The parent waits 0.5 s, kills it, runs its
    chunks itself: the block is still exactly sequential; the child is reaped by the next."""
    forked: list[int] = []
    real_fork = os.fork

    def recording_fork() -> int:
        pid = real_fork()
        forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recording_fork)
    workload = transfers(txs=40, accounts=30, seed=3)
    block, state = workload.blocks[0], workload.state
    engine = MultiCoreEngine(
        2, chunk=4, parent_chunk=4, child_timeout=0.5, die_after=1, die_signal=signal.SIGSTOP
    )
    with within(60):
        got = engine.execute(block, state)
    want = SequentialEngine().execute(block, state)
    assert got.writes == want.writes
    assert first_divergence(want, got, block.txs, state) is None
    assert got.stats["recovered_chunks"] == 5 - 1  # it owns 5 chunks of 4 and sent one
    (child,) = forked
    with within(60):
        MultiCoreEngine(1).execute(block, state)  # reaps the children of earlier blocks
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)


def test_a_send_to_a_reader_that_stopped_reading_ends_at_its_deadline() -> None:
    read_fd, write_fd = make_pipe()
    os.set_blocking(write_fd, False)
    try:
        big = Message(0, b"x" * (4 << 20), b"")  # more than any pipe buffers
        with within(60), pytest.raises(LaneLost, match="process 1 stopped reading"):
            send(write_fd, big, 1, time.monotonic() + 0.2)
    finally:
        os.close(read_fd)
        os.close(write_fd)
