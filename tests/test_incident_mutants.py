"""The incident catalogue (executor/incident_mutants.py): every mutant is a real bug — wrong on
an example its correct engine gets right — and the default campaign kills every one
(docs/mutants.md, "Incident mutants")."""

from __future__ import annotations

import re

import pytest

from txlanes.checker.example import run_example
from txlanes.checker.kill import kill_isolated
from txlanes.executor.blockstm import Schedule
from txlanes.executor.incident_mutants import INCIDENT_MUTANTS
from txlanes.executor.mutants import ENGINE_MUTANTS, HARD_MUTANTS, Mutant
from txlanes.executor.registry import resolve
from txlanes.models import Block, Workload, amm, world
from txlanes.models.context import Key
from txlanes.models.erc20 import (
    ADMIN,
    ALLOWANCE,
    BAL,
    SUPPLY,
    Approve,
    Mint,
    Transfer,
    TransferFrom,
)
from txlanes.models.tx import Tx
from txlanes.models.uint import MAX_UINT256

KILLED = [m for m in ENGINE_MUTANTS if m.name in {i.name for i in INCIDENT_MUTANTS}]


@pytest.mark.parametrize("mutant", KILLED, ids=lambda m: m.name)
def test_default_budget_kills(mutant: Mutant) -> None:
    result = kill_isolated(mutant)
    assert result.killed, f"{result.mutant} survived the default campaign"
    assert result.txs is not None and result.txs <= 12, result.message


def test_the_catalogue() -> None:
    """At least twelve, named apart from each other and from the first catalogue, each citing
    its incident, all in ENGINE_MUTANTS."""
    incidents = list(INCIDENT_MUTANTS)
    names = [m.name for m in (*ENGINE_MUTANTS, *HARD_MUTANTS)]
    assert len(incidents) >= 12 and len(set(names)) == len(names)
    assert len(KILLED) == len(INCIDENT_MUTANTS)
    for incident in incidents:
        assert re.search(r"\((.* )?(\S+ #\d+|CVE-\d{4}-\d+|CodeHawks)", incident.bug), incident


# -- each one is a real bug: wrong where its correct engine is right ---------------------------

TOKEN = 1


def _state(**extra: int) -> dict[Key, int]:
    """Accounts 1 and 2 hold 1,000 of the token; ``admin`` (if given) may mint it."""
    state: dict[Key, int] = {(BAL, TOKEN, 1): 1000, (BAL, TOKEN, 2): 1000, (SUPPLY, TOKEN): 2000}
    if "admin" in extra:
        state[(ADMIN, TOKEN)] = extra["admin"]
    return state


def _one(*txs: Tx, state: dict[Key, int] | None = None) -> Workload:
    return Workload(state or _state(), [Block(tuple(txs))])


def _demos() -> dict[str, tuple[str, Workload, int]]:
    """Mutant → (its correct engine, an example, the worker count)."""
    # tx 1 reads 1's balance speculatively: it succeeds on the pre-state, reverts after tx 0
    flip_to_revert = _one(Transfer(1, TOKEN, 2, 600), Transfer(1, TOKEN, 3, 600))
    # tx 1 reverts on the pre-state and succeeds after tx 0 has paid 2
    flip_to_success = _one(Transfer(1, TOKEN, 2, 600), Transfer(2, TOKEN, 3, 1500))
    allowance = {**_state(), (ALLOWANCE, TOKEN, 1, 2): MAX_UINT256}
    return {
        "stale-write-left-published": ("blockstm-det", flip_to_revert, 2),
        # two swaps on the pool of tokens 1,000 and 1,001: each reads the reserves twice
        "non-repeatable-read": (
            "blockstm-det",
            Workload(
                world.World(2).genesis(),
                [
                    Block(
                        (
                            amm.AddLiquidity(2, 1000, 1001, 26140, 424174, 0, 0, 2),
                            amm.SwapExactOut(2, 1000, 1001, 10941, 10**6, 2),
                            amm.AddLiquidity(1, 1001, 1000, 497837, 355738, 0, 0, 1),
                            amm.SwapExactIn(2, 1000, 1001, 7493, 0, 2),
                            amm.SwapExactOut(1, 1001, 1000, 69252, 10**6, 1),
                        )
                    )
                ],
            ),
            3,
        ),
        "own-write-from-mvmemory": ("blockstm-det", _one(Transfer(1, TOKEN, 1, 1)), 2),
        "incarnation-verdict-cache": ("blockstm-det", flip_to_success, 2),
        # the second block reads 1's balance, which the first wrote
        "state-cache-across-blocks": (
            "blockstm-det",
            Workload(_state(), [Block((Transfer(1, TOKEN, 2, 100),))] * 2),
            2,
        ),
        # chunks [0] [1 2] (child) [3] [4 5] (child): tx 1 is redone (it reverts after tx 0),
        # so 3's balance is fixed; the child's next chunk spent the 500 it speculated
        "multicore-stale-dirty-set": (
            "multicore:2?chunk=2",
            _one(
                Transfer(1, TOKEN, 2, 1000),
                Transfer(1, TOKEN, 3, 500),
                Transfer(2, TOKEN, 4, 1),
                Transfer(4, TOKEN, 5, 0),
                Transfer(3, TOKEN, 6, 100),
                Transfer(4, TOKEN, 5, 0),
            ),
            2,
        ),
        # chunks [0] [1 2] (child): the child's transfer of 1's whole balance writes 0
        "multicore-merge-drops-deletions": (
            "multicore:2?chunk=2",
            _one(Approve(2, TOKEN, 3, 5), Transfer(1, TOKEN, 2, 1000), Approve(2, TOKEN, 4, 5)),
            2,
        ),
        "sharded-read-from-wrong-shard": (
            "sharded",
            _one(Transfer(1, TOKEN, 2, 100), Transfer(2, TOKEN, 3, 50)),
            2,
        ),
        # tx 1's reconnaissance reverts without reading 3's balance: at commit it is deferred
        "sharded-deferral-lost": ("sharded", flip_to_success, 2),
        "sharded-reconnaissance-leaks": ("sharded", _one(Transfer(1, TOKEN, 2, 100)), 2),
        "unchecked-arithmetic": (
            "sequential",
            _one(Mint(9, TOKEN, 1, MAX_UINT256), state=_state(admin=9)),
            1,
        ),
        "self-transfer-doubles": ("sequential", _one(Transfer(1, TOKEN, 1, 100)), 1),
        "infinite-allowance-spent": (
            "sequential",
            _one(TransferFrom(2, TOKEN, 1, 3, 100), state=allowance),
            1,
        ),
        "zero-checks-swapped": ("sequential", _one(Transfer(0, TOKEN, 0, 5)), 1),
        "amounts-as-u64": ("sequential", _one(Approve(1, TOKEN, 2, 2**64)), 1),
        "amounts-through-float": ("sequential", _one(Approve(1, TOKEN, 2, 2**53 + 1)), 1),
    }


DEMOS = _demos()


def test_every_mutant_has_an_example() -> None:
    assert set(DEMOS) == {i.name for i in INCIDENT_MUTANTS}


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_wrong_where_the_correct_engine_is_right(name: str) -> None:
    correct, workload, workers = DEMOS[name]
    mutant = resolve(f"mutant:{name}")
    for seed in range(100):  # a schedule (an interleaving, a fault plan) under which it fails
        schedule = Schedule([], seed, 0.0)
        if run_example(mutant, workload, workers, schedule) is not None:
            assert run_example(resolve(correct), workload, workers, schedule) is None
            return
    pytest.fail(f"{name} got the example right under 100 schedules")


def test_the_correct_engines_get_the_examples_right() -> None:
    for name, (correct, workload, workers) in DEMOS.items():
        target = resolve(correct)
        for seed in range(5):
            assert run_example(target, workload, workers, Schedule([], seed, 0.9)) is None, name


# -- the hard ones: a focused search finds each --------------------------------------------------
