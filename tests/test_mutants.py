"""The proof of power: the default `txlanes check` budget kills every catalogued mutant."""

from __future__ import annotations

import random

import pytest

from txlanes.checker.example import run_example
from txlanes.checker.kill import kill_isolated
from txlanes.executor.blockstm import Schedule
from txlanes.executor.incident_mutants import INCIDENT_MUTANTS
from txlanes.executor.mutants import ENGINE_MUTANTS, HARD_MUTANTS
from txlanes.executor.registry import resolve
from txlanes.models import Block, Workload
from txlanes.models.erc20 import BAL, SUPPLY, Transfer

#: The first catalogue (the incident catalogue's kills are tests/test_incident_mutants.py's).
FIRST = [m for m in ENGINE_MUTANTS if m.name not in {i.name for i in INCIDENT_MUTANTS}]


@pytest.mark.parametrize("mutant", FIRST, ids=lambda m: m.name)
def test_default_budget_kills(mutant: object) -> None:
    result = kill_isolated(mutant)  # type: ignore[arg-type]
    assert result.killed, f"{result.mutant} survived the default campaign"
    assert result.txs is not None and result.txs <= 12, result.message


def test_the_catalogue_has_at_least_twelve_distinct_mutants() -> None:
    names = [m.name for m in ENGINE_MUTANTS]
    assert len(names) >= 12 and len(set(names)) == len(names)


def test_correct_engines_are_not_reported() -> None:
    """The harness itself: the real engines survive the same campaign."""
    for spec in ("blockstm-det", "sequential"):
        target = resolve(spec)
        rng = random.Random(1)
        for trial in range(40):
            workload = _payments(rng)
            assert run_example(target, workload, 3, Schedule(seed=trial, stickiness=0.9)) is None


def _payments(rng: random.Random) -> Workload:
    state = {(BAL, 1, 1): 1000, (BAL, 1, 2): 1000, (SUPPLY, 1): 2000}
    txs = tuple(
        Transfer(rng.randint(1, 2), 1, rng.randint(1, 2), rng.randint(0, 1500))
        for _ in range(rng.randint(4, 10))
    )
    return Workload(dict(state), [Block(txs)])


def test_a_stale_kept_read_is_found_by_a_focused_search() -> None:
    """multicore-redo-without-dirtying shows only when a redone transaction changes a value a
    later one in its chunk read, and that later one touched nothing else that changed: the
    default profiles' blocks rarely have that shape (docs/mutants.md). Payments among six
    accounts, amounts near whole balances, find it within a few hundred blocks."""
    target, rng = resolve("mutant:multicore-redo-without-dirtying"), random.Random(0)
    for _ in range(400):
        state = {(BAL, 1, a): 1000 for a in range(1, 7)}
        state[(SUPPLY, 1)] = 6000
        txs = tuple(
            Transfer(
                rng.randint(1, 6),
                1,
                rng.randint(1, 6),
                rng.choice([rng.randint(0, 1000), 1000, 600]),
            )
            for _ in range(rng.randint(4, 10))
        )
        if run_example(target, Workload(state, [Block(txs)]), 2, None) is not None:
            return
    pytest.fail("the focused search did not find multicore-redo-without-dirtying in 400 blocks")


def test_every_hard_mutant_has_a_focused_search() -> None:
    assert {m.name for m in HARD_MUTANTS} == {"multicore-redo-without-dirtying"}
