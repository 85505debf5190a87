"""What a check found, as data: every report (terminal, Markdown, JSON, JUnit, pytest) is drawn
from these, never rebuilt from a message, so each can show all of it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from txlanes.models.workload import Workload

from .equivalence import Divergence
from .invariants import Violation


class FailureKind(str, Enum):
    """How an engine failed an example."""

    DIVERGENCE = "divergence"  # a receipt, read, write or the diff differs from sequential
    INVARIANT = "invariant"  # a state it produced breaks an invariant of the spec
    CRASH = "crash"  # it raised
    HANG = "hang"  # it did not finish within its step or time budget
    INCARNATIONS = "incarnations"  # it re-executed a transaction beyond any need (a livelock)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with one run of an example: the evidence, and it explained."""

    kind: FailureKind
    #: the block it happened in
    block: int
    #: one paragraph, for people
    message: str
    divergence: Divergence | None = None
    violation: Violation | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "block": self.block,
            "message": self.message,
            "divergence": None if self.divergence is None else self.divergence.to_json(),
            "violation": None if self.violation is None else self.violation.to_json(),
        }


@dataclass
class Failure:
    """A shrunk, replayable counterexample: the engine, the example and what went wrong."""

    target: str
    contention: str
    problem: Problem
    workload: Workload
    workers: int
    #: every choice the deterministic runtime took (or the fault plan's seed); None: threads
    schedule: list[int] | None
    #: "3 workers" — the N it ran at, named as the engine counts it; "" for no such knob
    parallelism: str = ""
    #: the failure file it was saved to, for ``txlanes replay``
    replay_file: Path | None = None
    #: (runs that failed, runs) of the final example, for an engine that is not deterministic
    reproduced: tuple[int, int] | None = None

    @property
    def kind(self) -> FailureKind:
        return self.problem.kind

    @property
    def message(self) -> str:
        return self.problem.message

    @property
    def txs(self) -> int:
        return sum(len(b.txs) for b in self.workload.blocks)


class Status(str, Enum):
    """What one (engine, contention profile) campaign concluded."""

    HELD = "held"
    FAILED = "failed"
    UNCHECKED = "unchecked"  # no example ran: nothing held, whatever else is said

    def __str__(self) -> str:
        return self.value


@dataclass
class Outcome:
    target: str
    contention: str
    examples: int = 0
    seconds: float = 0.0
    seconds_to_failure: float | None = None
    failure: Failure | None = None

    @property
    def status(self) -> Status:
        if self.failure is not None:
            return Status.FAILED
        return Status.HELD if self.examples else Status.UNCHECKED
