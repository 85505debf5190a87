"""The multi-core engine: chunks of the block speculated on forked processes, finalized in order.

CPython threads share one core, so a real speedup needs processes; and inter-process traffic
costs about as much per transaction as executing one, so the design keeps it small:

- **fork per block.** Children inherit the block and the pre-state copy-on-write: nothing is
  pickled on the way in.
- **chunks dealt round-robin.** Lane ``i`` owns chunks ``i, i+N, ...`` (128 transactions by
  default). It speculates a chunk on every chunk it already knows; the only chunks it misses are
  the ones the other lanes run at the same moment, so the window of possible conflicts is N-1
  chunks, not half the block.
- **finalize in order.** When the missed chunks' diffs arrive, the lane keeps each
  transaction whose reads they did not touch and re-executes the rest on the exact state
  (:mod:`.chunks`), then sends its chunk's diff to every other lane. A chunk's result is final
  the moment it is sent; the parent assembles the block from them.
- **a lane that dies is replaced by the parent.** Its pipe closes; the parent kills the other
  children and runs every chunk it has not received itself, exactly once, so nothing is lost
  or duplicated.

Receipts and traces from children stay encoded until read (:mod:`.lazy`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import Mapping

from txlanes.models.context import Key
from txlanes.models.spec import execute_tx
from txlanes.models.workload import Block

from ..result import BlockResult
from .chunks import ChunkResult, Lane, Overlay
from .lazy import LazyResults, Segment
from .wire import (
    RESULTS_ONLY,
    Inbox,
    LaneLost,
    Message,
    close_all,
    decode_diff,
    decode_results,
    encode_diff,
    encode_results,
    make_pipe,
    send,
)

Plan = list[tuple[int, int]]


def _plan(count: int, chunk: int) -> Plan:
    return [(start, min(start + chunk, count)) for start in range(0, count, chunk)]


class _Links:
    """One lane's view of the others: its inbox, and a pipe to each of them."""

    def __init__(self, me: int, lanes: int, plan: Plan, lane: Lane) -> None:
        self.me, self.lanes, self.plan, self.lane = me, lanes, plan, lane
        self.inbox = Inbox({})
        self.outs: dict[int, int] = {}

    def owner(self, chunk: int) -> int:
        return chunk % self.lanes

    def receive(self, chunk: int) -> Overlay:
        """The diff of another lane's ``chunk``, waiting for it if need be."""
        return decode_diff(self.inbox.wait(self.owner(chunk), chunk).diff)

    def publish(self, chunk: int, result: ChunkResult) -> None:
        if not self.outs:
            return
        diff = encode_diff(result.diff)
        for fd in self.outs.values():
            send(fd, Message(chunk, result.executions, diff, b""))


class _ParentLinks(_Links):
    """The parent keeps every chunk's diff and results and takes over the chunks of a lost lane."""

    def __init__(self, me: int, lanes: int, plan: Plan, lane: Lane) -> None:
        super().__init__(me, lanes, plan, lane)
        self.diffs: list[Overlay] = [{} for _ in plan]
        self.segments: list[Segment | None] = [None] * len(plan)
        self.executions = 0
        self.children: list[int] = []
        self.lost = False
        self.recovered = 0  # chunks the parent ran for a lost lane

    def receive(self, chunk: int) -> Overlay:
        owner = self.owner(chunk)
        if self.lost:
            message = self.inbox.take(owner, chunk)
            if message is None:
                return self._run_here(chunk)
        else:
            try:
                message = self.inbox.wait(owner, chunk)
            except LaneLost:
                self._abandon_children()
                return self.receive(chunk)
        self.executions += message.executions
        self.diffs[chunk] = decode_diff(message.diff)
        return self.diffs[chunk]

    def _run_here(self, chunk: int) -> Overlay:
        """A lost lane's chunk, run by the parent on the exact state: final as it is."""
        self.keep(chunk, self.lane.speculate(*self.plan[chunk]))
        self.recovered += 1
        return self.diffs[chunk]

    def keep(self, chunk: int, result: ChunkResult) -> None:
        self.diffs[chunk] = result.diff
        self.segments[chunk] = (result.receipts, result.traces)
        self.executions += result.executions

    def publish(self, chunk: int, result: ChunkResult) -> None:
        self.keep(chunk, result)
        if not self.lost:
            # a child that died will be noticed when its pipe closes, on the next receive
            with contextlib.suppress(BrokenPipeError):
                super().publish(chunk, result)

    def collect(self) -> list[Segment]:
        """Every chunk's results. A lane that died after sending a chunk's diff but before its
        results: the chunk is run again on the state before it, which gives the same results
        (the spec is deterministic) — checked against the diff already applied."""
        segments: list[Segment] = []
        for chunk, segment in enumerate(self.segments):
            if segment is None:
                segment = self.inbox.results(self.owner(chunk), chunk)
            if segment is None:
                segment = self._rerun(chunk)
            segments.append(segment)
        return segments

    def _rerun(self, chunk: int) -> Segment:
        before: Overlay = {}
        for diff in self.diffs[:chunk]:
            before.update(diff)
        lane = type(self.lane)(self.lane.txs, self.lane.env, self.lane.pre, self.lane.apply)
        lane.final.update(before)
        result = lane.speculate(*self.plan[chunk])
        if result.diff != self.diffs[chunk]:
            raise RuntimeError(f"chunk {chunk} ran twice with different writes: not deterministic")
        self.recovered += 1
        return (result.receipts, result.traces)

    def _abandon_children(self) -> None:
        """Stop every child: the parent now runs whatever it has not received."""
        self.lost = True
        self.stop_children()
        self.inbox.poll()  # keep what had been sent in full before the end

    def stop_children(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.children = []


class _ChildLinks(_Links):
    """A child sends each chunk's diff to everyone, then its results to the parent — off the
    chain of finalizations, which waits only for diffs. It may be told to die (tests)."""

    def __init__(self, me: int, lanes: int, plan: Plan, lane: Lane, die_after: int | None) -> None:
        super().__init__(me, lanes, plan, lane)
        self.die_after = die_after
        self.sent = 0  # messages: a diff, then results, per chunk

    def _may_die(self) -> None:
        if self.sent == self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)
        self.sent += 1

    def publish(self, chunk: int, result: ChunkResult) -> None:
        self._may_die()
        super().publish(chunk, result)
        self._may_die()
        send(self.outs[0], Message(chunk, RESULTS_ONLY, b"", encode_results(result)))


def _run_lane(links: _Links) -> None:
    """Speculate, catch up, finalize and publish each of this lane's chunks, in block order.

    A lane speculates chunk ``j`` on exactly the chunks before ``j - N + 1`` — never on
    whatever happens to have arrived — so which transactions re-execute does not depend on
    timing: the engine is deterministic, and its statistics reproducible.
    """
    lane, me, lanes = links.lane, links.me, links.lanes
    applied = 0  # chunks [0, applied) are in lane.final
    for chunk in range(me, len(links.plan), lanes):
        spec = lane.speculate(*links.plan[chunk])
        missed: set[Key] = set()
        for earlier in range(applied, chunk):
            diff = links.receive(earlier)
            missed.update(diff)
            lane.final.update(diff)
        result = lane.finalize(spec, missed)
        lane.final.update(result.diff)
        applied = chunk + 1
        links.publish(chunk, result)
    if me == 0:
        for chunk in range(applied, len(links.plan)):
            lane.final.update(links.receive(chunk))


class MultiCoreEngine:
    """Optimistic execution on ``processes`` forked processes; results identical to sequential.

    ``die_after`` is fault injection for tests: the second process kills itself (SIGKILL) after
    sending that many messages — even: just before a chunk's diff; odd: between a chunk's diff
    and its results.
    """

    name = "multicore"
    #: The spec entry point; overridable so a seeded spec bug can be built on this engine.
    apply = staticmethod(execute_tx)
    #: What a process does with a chunk; overridable so seeded engine bugs can be built.
    lane_type = Lane

    def __init__(
        self, processes: int | None = None, *, chunk: int = 128, die_after: int | None = None
    ) -> None:
        self.processes = len(os.sched_getaffinity(0)) if processes is None else processes
        if self.processes < 1:
            raise ValueError(f"--processes must be >= 1, got {self.processes}")
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self.chunk = chunk
        self.die_after = die_after

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        plan = _plan(len(block.txs), self.chunk)
        lanes = max(1, min(self.processes, len(plan)))
        lane = self.lane_type(block.txs, block.env, state, self.apply)
        links = _ParentLinks(0, lanes, plan, lane)
        pipes = {(a, b): make_pipe() for a in range(lanes) for b in range(lanes) if a != b}
        kept = [fd for pair in pipes.values() for fd in pair]
        # Frozen objects are skipped by the collector: neither side's collections then touch
        # (and so copy) the pages the processes share.
        gc.freeze()
        try:
            for me in range(1, lanes):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the child
                    _child(me, lanes, plan, lane, pipes, self.die_after)
                links.children.append(pid)
            kept = _wire(links, pipes)
            _run_lane(links)
            segments = links.collect()
        finally:
            gc.unfreeze()
            links.stop_children()  # they are done or, after an error here, of no use
            close_all(kept)
        count = len(block.txs)
        results = LazyResults(segments, decode_results)
        stats = {
            "executions": links.executions,
            "aborts": links.executions - count,
            "chunks": len(plan),
            "processes": lanes,
            "recovered_chunks": links.recovered,
        }
        writes = {key: value for key, (_, value) in lane.final.items()}
        return BlockResult(writes, results.receipts(count), results.traces(count), stats)


def _wire(links: _Links, pipes: Mapping[tuple[int, int], tuple[int, int]]) -> list[int]:
    """Keep this lane's ends of the pipes and close the rest, so a dead writer reads as EOF."""
    me = links.me
    ins: dict[int, int] = {}
    for (a, b), (read_fd, write_fd) in pipes.items():
        if a == me:
            links.outs[b] = write_fd
            os.close(read_fd)
        elif b == me:
            ins[a] = read_fd
            os.close(write_fd)
        else:
            os.close(read_fd)
            os.close(write_fd)
    links.inbox = Inbox(ins)
    return [*ins.values(), *links.outs.values()]


def _child(
    me: int,
    lanes: int,
    plan: Plan,
    lane: Lane,
    pipes: Mapping[tuple[int, int], tuple[int, int]],
    die_after: int | None,
) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        links = _ChildLinks(me, lanes, plan, lane, die_after if me == 1 else None)
        _wire(links, pipes)
        _run_lane(links)
        code = 0
    except BaseException:  # the parent notices the closed pipe and runs the chunks itself
        pass
    os._exit(code)
