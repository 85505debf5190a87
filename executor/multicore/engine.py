"""The multi-core engine: children speculate chunks of the block, the parent validates in order.

CPython threads share one core, so a real speedup needs processes; and moving a transaction's
effects between processes costs a good part of executing it, so the design moves as little as
it can, and only one way per transaction:

- **fork per block.** Children inherit the block and the pre-state copy-on-write: nothing is
  pickled on the way in.
- **the parent is the only authority.** The block is cut into rounds: a chunk the parent runs
  on the exact state, then one chunk per child, which the child runs on what it has seen so far
  (:class:`.chunks.Schedule`). The parent folds each child chunk in, in block order, keeping
  every transaction whose reads the child could not have got wrong and re-executing the rest
  (:func:`.chunks.validate`). No chain of finalizations runs between processes: a child never
  waits for its own results to be checked.
- **children learn from the parent only**: each chunk's writes once it is final (a child's own
  chunk: only what the parent changed in it), a round late, at a fixed point.
- **a child that dies is replaced by the parent**: its pipe closes, and the parent runs its
  chunks itself on the exact state — nothing lost or run twice into the result. So is a child
  that stays silent past a deadline (stopped, stuck): the parent kills it and goes on.

Receipts of child chunks stay encoded until read (:mod:`.lazy`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import marshal
import math
import os
import signal
import time
from collections.abc import Mapping

from txlanes.models.context import Key
from txlanes.models.spec import execute_tx
from txlanes.models.workload import Block

from ..result import BlockResult
from .chunks import Overlay, RawTrace, Redone, Runner, Schedule, Validate, validate
from .lazy import LazyResults, Segment
from .wire import Inbox, LaneLost, Message, close_all, make_pipe, send

#: A fix for a key no transaction of the block has written (up to that chunk): the pre-state.
_UNWRITTEN = None
#: Fault injection: after sending that many chunks, the first child sends itself the signal.
_Fault = tuple[int, signal.Signals] | None


class _Parent:
    """Runs its chunks and validates the children's, in block order; tells the children."""

    def __init__(
        self, schedule: Schedule, runner: Runner, validate: Validate, timeout: float
    ) -> None:
        self.schedule, self.runner, self.validate = schedule, runner, validate
        self.timeout = timeout  # seconds a child may keep the parent waiting
        self.inbox = Inbox({})
        self.outs: dict[int, int] = {}  # child → write end of its pipe (non-blocking)
        self.children: dict[int, int] = {}  # child → its pid
        self.lost: set[int] = set()
        self.segments: list[Segment] = []
        self.written: list[Overlay] = []  # per chunk, its final writes
        self.fixed: list[set[Key]] = []  # per chunk, the keys its child must fix
        self.executions = self.recovered = 0
        chunks = schedule.chunks
        # the last chunk any child folds in before its last chunk: later ones are not sent
        self.last_needed = max(
            (schedule.seen(i) for i, chunk in enumerate(chunks) if chunk.owner), default=-1
        )

    def run(self) -> None:
        for index, chunk in enumerate(self.schedule.chunks):
            message = None if chunk.owner == 0 else self._receive(chunk.owner, index)
            fixed: set[Key] = set()
            if message is None:  # the parent's chunk, or a lost child's
                diff: Overlay = {}
                receipts, traces = self.runner.run(chunk, diff)
                self.segments.append(Segment(receipts, traces, {}))
                self.recovered += chunk.owner != 0
            else:
                traces = marshal.loads(message.first)
                redone, fixed = self.validate(self.runner, chunk, traces, self._dirty(index))
                self.executions += len(redone)
                self.segments.append(Segment(message.second, traces, redone))
                diff = self._written(traces, redone) if self.schedule.lanes > 2 else {}
            self.executions += chunk.stop - chunk.start
            self.written.append(diff)
            self.fixed.append(fixed)
            if chunk.owner == 0 and index <= self.last_needed:
                self._tell(index)

    def _written(self, traces: list[RawTrace], redone: Redone) -> Overlay:
        """A validated child chunk's final writes, which other children need to hear of."""
        keys = {key for _, writes, _ in traces for key in writes}
        keys.update(key for _, (_, writes, _) in redone.values() for key in writes)
        overlay = self.runner.overlay
        return {key: overlay[key] for key in keys if key in overlay}

    def _dirty(self, index: int) -> set[Key]:
        """Keys whose value the child running chunk ``index`` may have got wrong."""
        others, previous = self.schedule.missed(index)
        dirty: set[Key] = set().union(*(self.written[i] for i in others))
        if previous >= 0:
            dirty |= self.fixed[previous]
        return dirty

    def _receive(self, child: int, index: int) -> Message | None:
        """The child's chunk, or None when the child is gone (the parent runs it then)."""
        if child in self.lost:
            return None
        try:
            return self.inbox.wait(child, index, self._deadline())
        except LaneLost:
            self._lose(child)
            return None

    def _lose(self, child: int) -> None:
        """From now on the parent runs ``child``'s chunks. Killed now: a stopped child would
        never exit, and a slow one would fill its pipe for nothing."""
        self.lost.add(child)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.children[child], signal.SIGKILL)

    def _tell(self, index: int) -> None:
        """After the parent's chunk ``index``: what each child needs to know before its next
        chunk — the final writes of the chunks since the parent's previous one (of its own
        chunk, only the fix) and of this one."""
        overlay, lanes = self.runner.overlay, self.schedule.lanes
        since = range(max(index - lanes + 1, 0), index + 1)
        for child, fd in self.outs.items():
            if child in self.lost:
                continue
            news: list[tuple[int, Overlay | dict[Key, tuple[int, int] | None]]] = []
            for earlier in since:
                if self.schedule.chunks[earlier].owner != child:
                    news.append((earlier, self.written[earlier]))
                else:
                    fixed = self.fixed[earlier]
                    news.append((earlier, {key: overlay.get(key, _UNWRITTEN) for key in fixed}))
            # a child that died is noticed when the parent next waits for it
            try:
                send(fd, Message(index, marshal.dumps(news), b""), child, self._deadline())
            except BrokenPipeError:
                pass
            except LaneLost:
                self._lose(child)

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout

    def stop_children(self) -> None:
        """Kill them (they are done, or of no use after an error). Waiting for the kernel to
        tear them down would cost milliseconds per block: they are reaped later."""
        for pid in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _killed.extend(self.children.values())
        self.children = {}


#: Children killed but not yet reaped (by the next block, or at exit).
_killed: list[int] = []


@atexit.register
def _reap() -> None:
    while _killed:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(_killed.pop(), 0)


def _run_child(
    me: int, schedule: Schedule, runner: Runner, inbox: Inbox, out: int, fault: _Fault
) -> None:  # pragma: no cover - runs in the child
    """Speculate this child's chunks in order, folding in what the parent says at fixed points.

    The parent's news is about chunks before this child's latest ones, whose writes are in the
    overlay already and must stay: news never overwrites a key this child wrote since.
    """
    lanes, overlay = schedule.lanes, runner.overlay
    speculated: dict[int, Overlay] = {}  # own chunks the parent has not confirmed yet
    told = -lanes  # the parent's chunks up to this one have been heard
    for sent, index in enumerate(range(me, len(schedule.chunks), lanes)):
        for parents in range(told + lanes, schedule.seen(index) + 1, lanes):
            for earlier, news in marshal.loads(inbox.wait(0, parents).first):
                speculated.pop(earlier, None)
                for later in speculated.values():
                    for key in news.keys() & later.keys():
                        del news[key]
                if earlier % lanes != me:
                    overlay.update(news)
                    continue
                for key, entry in news.items():  # the fix of this child's own chunk
                    if entry is _UNWRITTEN:
                        overlay.pop(key, None)
                    else:
                        overlay[key] = entry
            told = parents
        diff = speculated[index] = {}
        receipts, traces = runner.run(schedule.chunks[index], diff)
        if fault is not None and sent == fault[0]:
            os.kill(os.getpid(), fault[1])
        send(out, Message(index, marshal.dumps(traces), marshal.dumps(receipts)))


class MultiCoreEngine:
    """Optimistic execution on ``processes`` forked processes; results identical to sequential.

    ``chunk`` is a child's chunk size; ``parent_chunk`` the parent's (default: a bit smaller,
    since validating the children's chunks is the parent's work too). ``child_timeout``: how
    long, in seconds, the parent waits for a child's chunk (or for room in its pipe) before it
    counts the child as lost and runs its chunks itself — the result is the same either way, so
    it only bounds a wait. ``die_after`` is fault injection for tests: the first child sends
    itself ``die_signal`` (SIGKILL; SIGSTOP stops it instead) after sending that many chunks.
    """

    name = "multicore"
    #: The spec entry point; overridable so a seeded spec bug can be built on this engine.
    apply = staticmethod(execute_tx)
    #: How the parent folds a child's chunk in; overridable so seeded bugs can be built.
    validate = staticmethod(validate)

    def __init__(
        self,
        processes: int | None = None,
        *,
        chunk: int = 128,
        parent_chunk: int | None = None,
        child_timeout: float = 10.0,
        die_after: int | None = None,
        die_signal: signal.Signals = signal.SIGKILL,
    ) -> None:
        self.processes = len(os.sched_getaffinity(0)) if processes is None else processes
        if self.processes < 1:
            raise ValueError(f"--processes must be >= 1, got {self.processes}")
        if chunk < 1 or (parent_chunk is not None and parent_chunk < 1):
            raise ValueError(f"chunk sizes must be >= 1, got {chunk} and {parent_chunk}")
        if not (math.isfinite(child_timeout) and child_timeout > 0):
            raise ValueError(f"child_timeout must be a number of seconds > 0, got {child_timeout}")
        self.chunk = chunk
        self.parent_chunk = parent_chunk or max(1, chunk * 4 // 5)
        self.child_timeout = child_timeout
        self.fault: _Fault = None if die_after is None else (die_after, die_signal)

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        _reap()
        count = len(block.txs)
        lanes = max(1, min(self.processes, -(-count // self.chunk)))
        schedule = Schedule(count, lanes, self.chunk, self.parent_chunk)
        runner = Runner(block.txs, block.env, state, self.apply)
        parent = _Parent(schedule, runner, self.validate, self.child_timeout)
        pipes = {lane: (make_pipe(), make_pipe()) for lane in range(1, lanes)}  # to, from
        child_ends = [fd for (to_read, _), (_, from_write) in pipes.values()
                      for fd in (to_read, from_write)]  # fmt: skip
        parent_ends = [fd for (_, to_write), (from_read, _) in pipes.values()
                       for fd in (to_write, from_read)]  # fmt: skip
        # Frozen objects are skipped by the collector: neither side's collections then touch
        # (and so copy) the pages the processes share.
        gc.freeze()
        try:
            for me in range(1, lanes):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the child
                    _child(me, schedule, runner, pipes, self.fault if me == 1 else None)
                parent.children[me] = pid
            close_all(child_ends)
            child_ends = []
            parent.outs = {lane: to_write for lane, ((_, to_write), _) in pipes.items()}
            for fd in parent.outs.values():
                os.set_blocking(fd, False)  # its sends have deadlines
            parent.inbox = Inbox({lane: from_read for lane, (_, (from_read, _)) in pipes.items()})
            parent.run()
        finally:
            gc.unfreeze()
            parent.stop_children()
            close_all(child_ends + parent_ends)
        stats = {
            "executions": parent.executions,
            "aborts": parent.executions - count,
            "chunks": len(schedule.chunks),
            "processes": lanes,
            "recovered_chunks": parent.recovered,
        }
        results = LazyResults(parent.segments)
        writes = {key: value for key, (_, value) in runner.overlay.items()}
        return BlockResult(writes, results.receipts(count), results.traces(count), stats)


def _child(
    me: int,
    schedule: Schedule,
    runner: Runner,
    pipes: Mapping[int, tuple[tuple[int, int], tuple[int, int]]],
    fault: _Fault,
) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        gc.disable()  # a short life: reference counting frees what it makes
        (to_read, _), (_, from_write) = pipes[me]
        close_all([fd for pair in pipes.values() for pipe in pair for fd in pipe
                   if fd not in (to_read, from_write)])  # fmt: skip
        _run_child(me, schedule, runner, Inbox({0: to_read}), from_write, fault)
        code = 0
    except BaseException:  # the parent notices the closed pipe and runs the chunks itself
        pass
    os._exit(code)
