"""One engine subprocess: JSON lines to its stdin, lines from its stdout, always under a deadline.

Every wait is a ``select`` on non-blocking pipes bounded by what is left of the deadline, so an
engine that stops reading, stops answering or never exits cannot hang txlanes. Reading is
linear in the answer's size: a line is gathered as a list of the chunks read and joined once
(the bench's 100,000-transfer answers are 23 MiB). Its stderr is drained all along — an engine
blocked on a full stderr pipe would look hung — and its last lines are kept, because they are
usually what explains a crash.

The engine runs in a session of its own, and when it is done everything it started goes with
it: its process group, the rest of its session, and every descendant still linked to it by
parenthood when it is stopped (a helper that called ``setsid``) — each sent SIGTERM, then
SIGKILL after a short grace. Out of reach: a daemon that double-forked out of the session
(its parent gone, nothing links it to the engine any more), and everything if txlanes itself
is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .protocol import ProtocolError, decode

#: One read takes what the pipe holds, up to this.
_CHUNK = 1 << 20
#: How much of one line the transcript keeps (the rest is counted in its entry's ``cut``): it
#: holds 34 lines, and a request or an answer can be tens of MiB.
_KEPT = 1 << 20
#: How much of one stderr line an error message quotes.
_QUOTED = 200
#: How long SIGTERM has to work before SIGKILL.
_TERM_GRACE = 0.5
_POLL = 0.01


class EngineFailure(Exception):
    """What the engine process did wrong (crashed, hung, wrote garbage), in words."""


class Transcript:
    """The lines exchanged with an engine: the first ``head`` (the handshake), then the last
    ``tail`` — a campaign sends thousands of blocks, and the failing exchange is what matters."""

    def __init__(self, head: int = 2, tail: int = 32) -> None:
        self.count = 0
        self.head: list[dict[str, Any]] = []
        self.head_size = head
        self.tail: deque[dict[str, Any]] = deque(maxlen=tail)

    def record(self, stream: str, line: str, cut: int = 0) -> None:
        """``cut``: how much of the line was left out (bytes, or characters of a request)."""
        self.count += 1
        entry: dict[str, Any] = {"n": self.count, "stream": stream, "line": line}
        if cut:
            entry["cut"] = cut
        (self.head if len(self.head) < self.head_size else self.tail).append(entry)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = (json.dumps(entry) + "\n" for entry in (*self.head, *self.tail))
        path.write_text("".join(lines), encoding="utf-8")
        return path


class EngineProcess:
    """A started engine; :meth:`exchange` sends one message and returns the parsed answer."""

    def __init__(self, argv: Sequence[str], transcript: Transcript) -> None:
        self.transcript = transcript
        try:
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, killed as a whole
            )
        except OSError as err:
            raise EngineFailure(f"could not be started: {err.strerror or err}") from None
        pipes = (self._proc.stdin, self._proc.stdout, self._proc.stderr)
        self._stdin, self._stdout, self._stderr = (p.fileno() for p in pipes if p is not None)
        self._selector = selectors.DefaultSelector()
        for fd, name in ((self._stdout, "from-engine"), (self._stderr, "stderr")):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ, name)
        os.set_blocking(self._stdin, False)
        self._partial: dict[str, list[bytes]] = {"from-engine": [], "stderr": []}
        self._answers: deque[bytes] = deque()
        self._stdout_open = True
        self.stdout_lines = 0
        self.stderr_tail: deque[str] = deque(maxlen=5)
        self.dead = False

    def exchange(self, message: dict[str, Any], timeout: float) -> object:
        """Send ``message`` and return the engine's next stdout line, parsed as JSON."""
        deadline = time.monotonic() + timeout
        line = json.dumps(message, separators=(",", ":"))
        self.transcript.record("to-engine", line[:_KEPT], max(len(line) - _KEPT, 0))
        self._write((line + "\n").encode(), deadline, timeout)
        answer = self._next_line(deadline, timeout)
        try:
            return decode(answer)
        except ProtocolError as err:
            raise EngineFailure(f"wrote line {self.stdout_lines} that {err}") from None

    def close(self, grace: float = 2.0) -> None:
        """Close stdin (the engine's cue to exit), give it ``grace`` seconds, then stop it and
        everything it started."""
        if self.dead:
            return
        helpers = _descendants(self._proc.pid)  # now: once it exits, its orphans lose the link
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(grace)
        self._stop(helpers)

    def kill(self) -> None:
        """Stop the engine and everything it started (idempotent), and release the pipes."""
        if not self.dead:
            self._stop(_descendants(self._proc.pid))

    def _stop(self, helpers: set[int]) -> None:
        """SIGTERM to the engine's group, session and ``helpers``; SIGKILL to what is left
        after a grace. The engine is reaped here; the others are not txlanes' children."""
        self.dead = True
        group = self._proc.pid  # the session's and group's id: the engine leads both
        helpers |= _descendants(group)
        _signal(group, helpers, signal.SIGTERM)
        deadline = time.monotonic() + _TERM_GRACE
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(_TERM_GRACE)
        while (left := {pid for pid in helpers if _alive(pid)}) and time.monotonic() < deadline:
            time.sleep(_POLL)
        _signal(group, left | _descendants(group), signal.SIGKILL)
        self._proc.wait()
        self._selector.close()
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a broken stdin cannot flush; closed anyway
                    pipe.close()

    # -- pumping ----------------------------------------------------------------------------------

    def _write(self, data: bytes, deadline: float, timeout: float) -> None:
        view = memoryview(data)
        self._selector.register(self._stdin, selectors.EVENT_WRITE, "stdin")
        try:
            while view:
                for name in self._wait(deadline, timeout):
                    if name != "stdin":
                        self._read(name)
                        continue
                    try:
                        view = view[os.write(self._stdin, view[:_CHUNK]) :]
                    except BlockingIOError:
                        pass
                    except BrokenPipeError:
                        raise self._exited(deadline) from None
        finally:
            if not self.dead:
                self._selector.unregister(self._stdin)

    def _next_line(self, deadline: float, timeout: float) -> bytes:
        while not self._answers:
            if not self._stdout_open:
                raise self._exited(deadline)
            for name in self._wait(deadline, timeout):
                self._read(name)
        return self._answers.popleft()

    def _wait(self, deadline: float, timeout: float) -> list[str]:
        remaining = deadline - time.monotonic()
        ready = self._selector.select(remaining) if remaining > 0 else []
        if not ready and time.monotonic() >= deadline:
            self.kill()
            raise EngineFailure(f"gave no answer within {timeout:g} s (killed)")
        return [key.data for key, _ in ready]

    def _read(self, name: str) -> bool:
        """Read what a pipe holds; False when it held nothing more (would block, or ended)."""
        fd = self._stdout if name == "from-engine" else self._stderr
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return False
        partial = self._partial[name]
        if not chunk:  # end of file: whatever is left is a last, unterminated line
            self._selector.unregister(fd)
            if name == "from-engine":
                self._stdout_open = False
            if partial:
                self._line(name, b"".join(partial))
                partial.clear()
            return False
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:  # only the new bytes are searched
            partial.append(chunk[start:end])
            self._line(name, b"".join(partial))
            partial.clear()
            start = end + 1
        if start < len(chunk):
            partial.append(chunk[start:])
        return True

    def _line(self, name: str, raw: bytes) -> None:
        raw = raw.removesuffix(b"\r")
        text = raw[:_KEPT].decode("utf-8", "replace")
        self.transcript.record(name, text, max(len(raw) - _KEPT, 0))
        if name == "stderr":
            self.stderr_tail.append(text[:_QUOTED])
        else:
            self.stdout_lines += 1
            self._answers.append(raw)

    def _exited(self, deadline: float) -> EngineFailure:
        """Why the engine stopped talking: its exit code and last words on stderr."""
        try:
            code = self._proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.kill()
            return EngineFailure("closed its stdout without exiting (killed)")
        while self._stderr in self._selector.get_map() and self._read("stderr"):
            pass  # stderr may still hold its last words
        self.kill()
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        said = (
            "; its last stderr lines: " + " | ".join(self.stderr_tail)
            if self.stderr_tail
            else "; it wrote nothing on stderr"
        )
        return EngineFailure(f"{how} before answering{said}")


def _signal(group: int, pids: set[int], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    """Running (a zombie is not: it only waits for its parent, not txlanes, to reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` from its state on (state, ppid, pgrp, session, ...); None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the name, in parentheses, may hold anything


def _descendants(root: int) -> set[int]:
    """Every living process below ``root`` by parenthood, or in ``root``'s session (Linux
    ``/proc``; elsewhere none: the process group is all that can be reached)."""
    try:
        pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return set()
    children: dict[int, list[int]] = {}
    session = set()
    for pid in pids:
        stat = _stat(pid)
        if stat is None or pid == root:
            continue
        children.setdefault(int(stat[1]), []).append(pid)
        if int(stat[3]) == root:
            session.add(pid)
    below: set[int] = set()
    stack = [root]
    while stack:
        fresh = [child for child in children.get(stack.pop(), []) if child not in below]
        below.update(fresh)
        stack.extend(fresh)
    return below | session
