"""After Hypothesis: the smallest example that still fails the same way, for every engine.

Hypothesis shrinks the workload, worker count and schedule together, which often stalls (a
smaller workload under the same schedule interleaves differently), and it cannot shrink a race
on real threads at all: a step that happens not to fail looks like a pass. Here each candidate
is run ``runs`` times — once for a deterministic engine — and kept when one run fails with the
same :func:`signature`, so minimizing never slides to another bug. A deterministic engine's
candidate is also tried under a few sibling schedules (:func:`siblings`: the same kind of
schedule on other seeds), since the smaller block usually needs another interleaving to fail
the same way; the replay records the choices of the one that failed. The passes, repeated until
none helps or time is up: drop a block, drop a transaction, merge two blocks, drop the fee,
fewer workers, smaller quantities (0, 1, then halving).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

from txlanes.executor.blockstm import Schedule
from txlanes.executor.registry import Target
from txlanes.models.tx import Tx
from txlanes.models.workload import Block, Workload, tx_fields

from .example import failure_of, run_example, taken_choices
from .failure import Failure, FailureKind, Problem

#: Fields that hold a quantity (an amount, a price, a time) rather than naming something (an
#: account, a token, a market): only these are made smaller.
QUANTITIES = frozenset({"liquidity", "tokens", "cap", "premium", "price", "size", "strike"})

Signature = tuple[FailureKind, str | None]


def signature(problem: Problem) -> Signature:
    """What makes two failures the same bug for minimizing: the kind, and what diverged (a
    receipt, a read, a write, the diff) or which invariant broke."""
    if problem.divergence is not None:
        return problem.kind, problem.divergence.aspect
    if problem.violation is not None:
        return problem.kind, problem.violation.invariant
    return problem.kind, None


@dataclass
class _Example:
    workload: Workload
    workers: int


def _is_quantity(name: str) -> bool:
    return name.startswith("amount") or name in QUANTITIES


def _smaller(example: _Example, target: Target) -> Iterator[_Example]:
    """Candidates, each strictly smaller than ``example``, the biggest cuts first."""
    blocks, workers = example.workload.blocks, example.workers

    def with_blocks(new: list[Block]) -> _Example:
        return _Example(Workload(example.workload.state, new), workers)

    if len(blocks) > 1:
        for b in range(len(blocks)):
            yield with_blocks([*blocks[:b], *blocks[b + 1 :]])
    for b, block in enumerate(blocks):
        for start, stop in _cuts(len(block.txs)):
            smaller = Block(block.txs[:start] + block.txs[stop:], block.env)
            yield with_blocks([*blocks[:b], smaller, *blocks[b + 1 :]])
    for b in range(len(blocks) - 1):
        merged = Block(blocks[b].txs + blocks[b + 1].txs, blocks[b].env)
        yield with_blocks([*blocks[:b], merged, *blocks[b + 2 :]])
    for b, block in enumerate(blocks):
        if block.env.fee:
            free = Block(block.txs, dataclasses.replace(block.env, fee=0))
            yield with_blocks([*blocks[:b], free, *blocks[b + 1 :]])
    if target.counts is not None and target.count is None:
        for fewer in range(1, workers):
            yield _Example(example.workload, fewer)
    for b, block in enumerate(blocks):
        for t, tx in enumerate(block.txs):
            for lower in _lower_quantities(tx):
                txs = (*block.txs[:t], lower, *block.txs[t + 1 :])
                yield with_blocks([*blocks[:b], Block(txs, block.env), *blocks[b + 1 :]])


def _cuts(size: int) -> Iterator[tuple[int, int]]:
    """Ranges of transactions to drop from a block of ``size``: halves, quarters, ... then one
    at a time (delta debugging's complements), so a block of a hundred shrinks in tens of runs
    where dropping one at a time would need hundreds."""
    width = size // 2
    while width > 1:
        yield from ((start, min(start + width, size)) for start in range(0, size, width))
        width //= 2
    yield from ((t, t + 1) for t in range(size))


def _lower_quantities(tx: Tx) -> Iterator[Tx]:
    for spec in tx_fields(type(tx)):
        value = getattr(tx, spec.name)
        if spec.is_bool or not _is_quantity(spec.name) or value == 0:
            continue
        for lower in dict.fromkeys((0, 1, value // 2)):
            if lower < value:
                yield dataclasses.replace(tx, **{spec.name: lower})


#: How many sibling schedules a deterministic engine's candidate is also tried under, once it
#: has at most ``SIBLINGS_FROM`` transactions (a large candidate is costly to run four times, and
#: the big cuts come first anyway).
SIBLINGS = 3
SIBLINGS_FROM = 16


def siblings(schedule: Schedule) -> list[Schedule]:
    """``schedule``, then the same kind of schedule (stickiness, PCT depth, delays) without its
    explicit prefix on other seeds."""
    seed = schedule.seed or 0
    return [schedule] + [
        dataclasses.replace(schedule, choices=[], seed=seed + k) for k in range(1, SIBLINGS + 1)
    ]


def minimize(
    target: Target, failure: Failure, schedule: Schedule | None, *, runs: int, seconds: float
) -> Failure:
    """The smallest example found within ``seconds`` that still fails like ``failure`` (one of
    ``runs`` runs, under ``schedule`` for a deterministic engine), with — for an engine that is
    not deterministic — how often it reproduces out of ``runs``."""
    deadline = time.perf_counter() + seconds
    want = signature(failure.problem)
    best, problem = _Example(failure.workload, failure.workers), failure.problem
    interleaves = target.deterministic and target.schedules and schedule is not None
    tries = siblings(schedule) if interleaves and schedule is not None else [schedule]
    failing = schedule

    def fails(example: _Example) -> Problem | None:
        nonlocal failing
        small = sum(len(block.txs) for block in example.workload.blocks) <= SIBLINGS_FROM
        for _ in range(runs):
            for sibling in tries if small else [failing]:
                found = run_example(target, example.workload, example.workers, sibling)
                if found is not None and signature(found) == want:
                    failing = sibling
                    return found
        return None

    progress = True
    while progress and time.perf_counter() < deadline:
        progress = False
        for candidate in _smaller(best, target):
            if time.perf_counter() > deadline:
                break
            found = fails(candidate)
            if found is not None:
                best, problem, progress = candidate, found, True
                break
    choices = failure.schedule
    changed = best.workload is not failure.workload or best.workers != failure.workers
    if target.deterministic and failing is not None and changed:
        choices = taken_choices(target, best.workload, best.workers, failing)
    smallest = failure_of(target, failure.contention, problem, best.workload, best.workers, choices)
    if not target.deterministic:
        reproduced = sum(
            (found := run_example(target, best.workload, best.workers, None)) is not None
            and signature(found) == want
            for _ in range(runs)
        )
        smallest.reproduced = (reproduced, runs)
    return smallest
