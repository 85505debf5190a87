"""Engines under test, named by a spec string, so that a failure file can rebuild its engine.

- ``blockstm`` — Block-STM on the deterministic runtime; schedules are generated and shrunk.
- ``blockstm-threads`` — Block-STM on real threads (preemptive, not replayable step by step).
- ``sequential`` — the reference itself (a sanity check of the harness).
- ``multicore`` — the multi-core engine, with the campaign's worker count as its processes and
  chunks of two transactions, so that small generated blocks spread over the processes.
- ``sharded`` — the sharded engine on the simulated network; the campaign's worker count is
  its shard count and the schedule's seed picks a fault plan (drops, duplicates, delays, a
  crash of a shard and of the coordinator — all healing).
- ``mutant:NAME`` — a seeded bug from txlanes.checker.mutants.
- ``pkg.module:Class`` — a user's engine: any class with ``execute(block, state)``.
- ``cmd:COMMAND`` — a user's engine in any language, a subprocess speaking the external-engine
  protocol (docs/external-engine-protocol.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from txlanes.executor.blockstm import BlockSTMEngine, Schedule
from txlanes.executor.external import ExternalEngine
from txlanes.executor.multicore import MultiCoreEngine
from txlanes.executor.result import Engine
from txlanes.executor.sequential import SequentialEngine
from txlanes.executor.sharded.protocol import TwoPhaseCommit

from .mutants import ENGINE_MUTANTS, HARD_MUTANTS, sharded


class TargetError(ValueError):
    """An engine spec that cannot be resolved: a clear message for exit code 2."""


@dataclass(frozen=True)
class Target:
    spec: str
    #: (workers, schedule) → engine; schedule is None for non-deterministic targets
    build: Callable[[int, Schedule | None], Engine]
    deterministic: bool
    traces: bool = True
    #: The transaction kinds the engine supports (None: all); workloads are generated from these.
    kinds: frozenset[str] | None = None


def _blockstm(workers: int, schedule: Schedule | None) -> Engine:
    return BlockSTMEngine.deterministic(workers, schedule, max_steps=500_000)


def _user_engine(spec: str) -> Target:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise TargetError(f"engine {spec!r}: cannot import {module_name!r} ({err})") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise TargetError(f"engine {spec!r}: module {module_name!r} has no attribute {attr!r}")
    try:
        probe = factory()
    except Exception as err:
        raise TargetError(f"engine {spec!r}: constructing it failed: {err}") from None
    if not callable(getattr(probe, "execute", None)):
        raise TargetError(f"engine {spec!r}: has no execute(block, state) method")
    traces = bool(getattr(probe, "reports_traces", True))
    kinds = getattr(probe, "capabilities", None)
    return Target(
        spec,
        lambda workers, schedule: factory(),
        False,
        traces,
        None if kinds is None else frozenset(kinds),
    )


def external(command: str, *, timeout: float = 10.0, reports: Path = Path("reports")) -> Target:
    """A subprocess engine. It starts now, so that its handshake — and so the transaction kinds
    it supports — is known before any workload is generated; one process serves every example.
    A misbehaving engine raises ``ExternalEngineError``."""
    engine = ExternalEngine(command, timeout=timeout, transcript_dir=reports)
    return Target(
        f"cmd:{command}", lambda *_: engine, False, engine.reports_traces, engine.capabilities
    )


def resolve(spec: str) -> Target:
    """The target a spec names; :class:`TargetError` if it names nothing."""
    if spec == "blockstm":
        return Target(spec, _blockstm, True)
    if spec == "blockstm-threads":
        return Target(spec, lambda workers, _: BlockSTMEngine(workers), False)
    if spec == "sequential":
        return Target(spec, lambda *_: SequentialEngine(), False)
    if spec == "multicore":  # deterministic: no schedule changes what it computes
        return Target(spec, lambda workers, _: MultiCoreEngine(workers, chunk=2), True)
    if spec == "sharded":
        return Target(spec, sharded(TwoPhaseCommit), True)
    if spec.startswith("mutant:"):
        name = spec.removeprefix("mutant:")
        for mutant in (*ENGINE_MUTANTS, *HARD_MUTANTS):
            if mutant.name == name:
                return Target(spec, _mutant_builder(mutant.build), True)
        known = ", ".join(m.name for m in ENGINE_MUTANTS)
        raise TargetError(f"unknown mutant {name!r} (known: {known})")
    if spec.startswith("cmd:"):
        return external(spec.removeprefix("cmd:"))
    if ":" in spec:
        return _user_engine(spec)
    raise TargetError(
        f"unknown engine {spec!r}: use blockstm, blockstm-threads, sequential, sharded, multicore, "
        "mutant:NAME, pkg.module:Class or cmd:COMMAND"
    )


def _mutant_builder(
    build: Callable[[int, Schedule], Engine],
) -> Callable[[int, Schedule | None], Engine]:
    return lambda workers, schedule: build(workers, schedule or Schedule())


#: What `txlanes check` tests by default: every built-in parallel engine.
DEFAULT_TARGETS = ("blockstm", "blockstm-threads", "sharded", "multicore")
