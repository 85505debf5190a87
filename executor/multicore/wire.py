"""What processes send each other, and how, over pipes.

A child sends the parent, per chunk, its traces (which the parent decodes to validate them)
and its receipts (kept encoded until someone reads them); the parent sends every child, per
chunk, the chunk's writes — or, to the child that ran it, only the fixes. All in ``marshal``,
the fastest codec CPython has, framed with a small header.

The parent's waits have deadlines: a child that is stopped (SIGSTOP) or stuck neither closes
its pipe nor writes, and would hang the block; past the deadline it counts as lost, like a dead
one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import NamedTuple

_HEADER = struct.Struct("<iII")  # chunk index, length of the first part, of the second
_F_SETPIPE_SZ = 1031  # Linux: grow a pipe so a process rarely blocks on a slow reader
_PIPE_BYTES = 1 << 20


class LaneLost(Exception):
    """A process that will not deliver: its pipe closed (it died), or it stayed silent past a
    deadline (stopped, stuck, or too slow to wait for)."""

    def __init__(self, lane: int, what: str = "exited mid-block") -> None:
        super().__init__(f"process {lane} {what}")
        self.lane = lane


def make_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    # above the system's pipe-max-size the default size works, only slower
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    return read_fd, write_fd


class Message(NamedTuple):
    """One chunk's news, in two parts (the second may be empty)."""

    chunk: int
    first: bytes
    second: bytes


def send(fd: int, message: Message, lane: int = 0, deadline: float | None = None) -> None:
    """Write all of it (a pipe takes large writes in pieces). With a ``deadline`` ``fd`` must
    be non-blocking: a reader that stopped reading (``lane``) is :class:`LaneLost` then."""
    chunk, first, second = message
    view = memoryview(_HEADER.pack(chunk, len(first), len(second)) + first + second)
    while view:
        if deadline is not None and not select.select([], [fd], [], _left(deadline))[1]:
            raise LaneLost(lane, "stopped reading")
        with contextlib.suppress(BlockingIOError):
            view = view[os.write(fd, view) :]


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


class Inbox:
    """Messages from other processes, by sender, read as they come so no writer ever blocks:
    waiting for one child's next message drains every pipe that has data."""

    def __init__(self, fds: Mapping[int, int]) -> None:
        self._fds = dict(fds)  # lane → read end
        self._lane_of = {fd: lane for lane, fd in self._fds.items()}
        self._buffers = {lane: bytearray() for lane in self._fds}
        self._queues: dict[int, deque[Message]] = {lane: deque() for lane in self._fds}
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
                chunk, first_len, second_len = _HEADER.unpack_from(buffer)
                middle = _HEADER.size + first_len
                end = middle + second_len
                if len(buffer) < end:
                    break
                first, second = bytes(buffer[_HEADER.size : middle]), bytes(buffer[middle:end])
                del buffer[:end]
                self._queues[lane].append(Message(chunk, first, second))

    def take(self, lane: int, chunk: int) -> Message | None:
        """The message for ``chunk`` if it has arrived (it must be ``lane``'s next)."""
        queue = self._queues[lane]
        if not queue:
            return None
        if queue[0].chunk != chunk:
            raise RuntimeError(f"lane {lane} sent chunk {queue[0].chunk} where {chunk} was due")
        return queue.popleft()

    def wait(self, lane: int, chunk: int, deadline: float | None = None) -> Message:
        """Block until ``lane`` sends ``chunk``; :class:`LaneLost` if its pipe closes first, or
        if the ``deadline`` (``time.monotonic``) passes."""
        while True:
            message = self.take(lane, chunk)
            if message is not None:
                return message
            if lane in self._closed:
                raise LaneLost(lane)
            if deadline is None:
                self._pump(None)
            elif (left := _left(deadline)) > 0:
                self._pump(left)
            else:
                raise LaneLost(lane, f"sent nothing for chunk {chunk} before the deadline")


def close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        os.close(fd)
