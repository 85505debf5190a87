"""One engine subprocess: JSON lines to its stdin, lines from its stdout, always under a deadline.

Every wait is a ``select`` on non-blocking pipes bounded by what is left of the deadline, so an
engine that stops reading, stops answering or never exits cannot hang txlanes; a stuck engine's
whole process group is killed (it may have spawned helpers). Its stderr is drained all along —
an engine blocked on a full stderr pipe would look hung — and its last lines are kept, because
they are usually what explains a crash.
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

from .protocol import excerpt

_CHUNK = 1 << 16


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

    def record(self, stream: str, line: str) -> None:
        self.count += 1
        entry = {"n": self.count, "stream": stream, "line": line}
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
        self._partial: dict[str, bytearray] = {"from-engine": bytearray(), "stderr": bytearray()}
        self._answers: deque[str] = deque()
        self._stdout_open = True
        self.stdout_lines = 0
        self.stderr_tail: deque[str] = deque(maxlen=5)
        self.dead = False

    def exchange(self, message: dict[str, Any], timeout: float) -> object:
        """Send ``message`` and return the engine's next stdout line, parsed as JSON."""
        deadline = time.monotonic() + timeout
        line = json.dumps(message, separators=(",", ":"))
        self.transcript.record("to-engine", line)
        self._write((line + "\n").encode(), deadline, timeout)
        answer = self._next_line(deadline, timeout)
        try:
            return json.loads(answer)
        except ValueError:
            raise EngineFailure(
                f"wrote line {self.stdout_lines} that is not JSON: {excerpt(answer)}"
            ) from None

    def close(self, grace: float = 2.0) -> None:
        """Close stdin (the engine's cue to exit), give it ``grace`` seconds, then kill it."""
        if self.dead:
            return
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(grace)
        self.kill()

    def kill(self) -> None:
        """Kill the engine's process group (idempotent) and release the pipes."""
        if self.dead:
            return
        self.dead = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
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

    def _next_line(self, deadline: float, timeout: float) -> str:
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
                self._line(name, bytes(partial))
                partial.clear()
            return False
        partial += chunk
        *lines, rest = partial.split(b"\n")
        self._partial[name] = bytearray(rest)
        for raw in lines:
            self._line(name, raw)
        return True

    def _line(self, name: str, raw: bytes | bytearray) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        self.transcript.record(name, text)
        if name == "stderr":
            self.stderr_tail.append(text)
        else:
            self.stdout_lines += 1
            self._answers.append(text)

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
