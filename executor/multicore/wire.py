"""What lanes send each other, and how, over pipes.

Every byte a lane encodes or decodes is time taken from execution, so the formats are lean:
a chunk's diff names pre-state keys by their position in the pre-state (all lanes are forks of
one process and share that order) and sends values with ``marshal``; receipts and traces go to
the parent as one ``marshal`` blob per chunk, decoded only when someone reads them.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import select
import struct
from collections import deque
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .chunks import ChunkResult, Overlay, RawReceipt, RawTrace

_HEADER = struct.Struct("<iiII")  # chunk index, executions, diff length, results length
#: ``executions`` of a message that carries only a chunk's receipts and traces
RESULTS_ONLY = -1
_F_SETPIPE_SZ = 1031  # Linux: grow a pipe so a lane rarely blocks on a slow reader
_PIPE_BYTES = 1 << 20


class LaneLost(Exception):
    """A lane's pipe closed before it sent what was expected: the process died."""

    def __init__(self, lane: int) -> None:
        super().__init__(f"lane {lane} exited mid-block")
        self.lane = lane


def make_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    # above the system's pipe-max-size the default size works, only slower
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    return read_fd, write_fd


def encode_diff(diff: Overlay) -> bytes:
    return marshal.dumps(list(diff.items()))


def decode_diff(data: bytes) -> Overlay:
    return dict(marshal.loads(data))


def encode_results(result: ChunkResult) -> bytes:
    return marshal.dumps((result.receipts, result.traces))


def decode_results(data: bytes) -> tuple[list[RawReceipt], list[RawTrace]]:
    receipts, traces = marshal.loads(data)
    return receipts, traces


class Message(NamedTuple):
    """A chunk's diff (what the chain of finalizations waits for), or its results alone."""

    chunk: int
    executions: int
    diff: bytes
    results: bytes


def send(fd: int, message: Message) -> None:
    """Write all of it (a pipe takes large writes in pieces)."""
    chunk, executions, diff, results = message
    header = _HEADER.pack(chunk, executions, len(diff), len(results))
    view = memoryview(header + diff + results)
    while view:
        view = view[os.write(fd, view) :]


class Inbox:
    """Messages from the other lanes, by sender, read as they come so no writer ever blocks.

    Waiting for one lane's next message drains every pipe that has data, which is what keeps
    two lanes that write to each other from both blocking on full pipes.
    """

    def __init__(self, fds: Mapping[int, int]) -> None:
        self._fds = dict(fds)  # lane → read end
        self._lane_of = {fd: lane for lane, fd in self._fds.items()}
        self._buffers = {lane: bytearray() for lane in self._fds}
        self._queues: dict[int, deque[Message]] = {lane: deque() for lane in self._fds}
        self._results: dict[tuple[int, int], bytes] = {}  # (lane, chunk) → results
        self._closed: set[int] = set()

    def _pump(self, timeout: float | None) -> None:
        open_fds = [fd for lane, fd in self._fds.items() if lane not in self._closed]
        if not open_fds:
            return
        ready, _, _ = select.select(open_fds, [], [], timeout)
        for fd in ready:
            lane = self._lane_of[fd]
            data = os.read(fd, _PIPE_BYTES)
            if not data:
                self._closed.add(lane)
                continue
            buffer = self._buffers[lane]
            buffer += data
            while len(buffer) >= _HEADER.size:
                chunk, executions, diff_len, results_len = _HEADER.unpack_from(buffer)
                end = _HEADER.size + diff_len + results_len
                if len(buffer) < end:
                    break
                diff = bytes(buffer[_HEADER.size : _HEADER.size + diff_len])
                results = bytes(buffer[_HEADER.size + diff_len : end])
                del buffer[:end]
                if executions == RESULTS_ONLY:
                    self._results[lane, chunk] = results
                else:
                    self._queues[lane].append(Message(chunk, executions, diff, results))

    def poll(self) -> None:
        """Take in whatever has arrived, without waiting."""
        self._pump(0)

    def take(self, lane: int, chunk: int) -> Message | None:
        """The message for ``chunk`` if it has arrived (it must be ``lane``'s next)."""
        queue = self._queues[lane]
        if not queue:
            return None
        if queue[0].chunk != chunk:
            raise RuntimeError(f"lane {lane} sent chunk {queue[0].chunk} where {chunk} was due")
        return queue.popleft()

    def wait(self, lane: int, chunk: int) -> Message:
        """Block until ``lane`` sends ``chunk``; :class:`LaneLost` if its pipe closes first."""
        while True:
            message = self.take(lane, chunk)
            if message is not None:
                return message
            if lane in self._closed:
                raise LaneLost(lane)
            self._pump(None)

    def results(self, lane: int, chunk: int) -> bytes | None:
        """``chunk``'s results once ``lane`` sends them; None if its pipe closed first."""
        while (lane, chunk) not in self._results:
            if lane in self._closed:
                return None
            self._pump(None)
        return self._results.pop((lane, chunk))


def close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        os.close(fd)
