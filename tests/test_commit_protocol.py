"""The cross-shard commit protocol: one transition system, checked two ways — exhaustively by the
concrete simulator and by z3 (bounded, and inductively for any number of shards) — with every
seeded protocol bug refuted by both, on traces that agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import z3

from txlanes.checker.protocol_proofs import bmc, prove_inductive, vacuity
from txlanes.checker.protocol_sort_view import SortView, Unbounded, Universe
from txlanes.checker.verdict import Verdict
from txlanes.cli import main
from txlanes.executor.sharded.explore import explore, replay
from txlanes.executor.sharded.finite import initial_state, standard_instance
from txlanes.executor.sharded.protocol import (
    ABORT,
    COMMIT,
    CONSERVATION,
    PROTOCOL_MUTANTS,
    SAFETY,
    TXN,
    TwoPhaseCommit,
    View,
)

#: The property each seeded bug breaks first (shortest trace), and that trace's length.
EXPECTED = {
    "commit-on-partial-vote": ("no double spend", 3),
    "release-locks-before-decision": ("lock safety", 4),
    "forget-vote-after-crash": ("no double spend", 3),
    "coordinator-decides-twice": (CONSERVATION, 6),
}


def test_the_protocol_is_safe_on_every_reachable_state_of_the_standard_instance() -> None:
    violation, seen = explore(TwoPhaseCommit(), standard_instance(2), depth=12)
    assert violation is None
    assert seen > 1_000  # the search went somewhere: both transactions interleave


def test_both_outcomes_are_reachable_so_safety_is_not_vacuous() -> None:
    instance = standard_instance(2)
    trace = [
        ("begin", (0,)), ("vote_yes", (0, 0)), ("vote_yes", (0, 1)), ("commit", (0,)),
        ("apply_commit", (0, 0)), ("apply_commit", (0, 1)),
        ("begin", (1,)), ("vote_no", (1, 1)), ("abort", (1,)), ("apply_abort", (1, 0)),
    ]  # fmt: skip
    states, broken = replay(TwoPhaseCommit(), instance, trace)
    assert broken == []
    final = states[-1]
    assert final["applied"][0, 0] == final["applied"][0, 1] == COMMIT
    assert final["applied"][1, 0] == ABORT
    # t0 moved 3 from account 0 (shard 0) to account 2 (shard 1); t1 refunded nothing it took.
    assert final["balance"][(0,)] == 7 - 3 and final["balance"][(2,)] == 3


def test_replay_names_a_step_that_is_not_enabled() -> None:
    with pytest.raises(ValueError, match=r"step 2 commit\(t0\) is not enabled"):
        replay(TwoPhaseCommit(), standard_instance(2), [("begin", (0,)), ("commit", (0,))])


@pytest.mark.parametrize("name", sorted(PROTOCOL_MUTANTS))
def test_the_simulator_finds_each_seeded_protocol_bug(name: str) -> None:
    violation, _ = explore(PROTOCOL_MUTANTS[name](), standard_instance(2), depth=8)
    assert violation is not None
    assert (violation.prop, len(violation.trace)) == EXPECTED[name]
    _, broken = replay(PROTOCOL_MUTANTS[name](), standard_instance(2), violation.trace)
    assert violation.prop in broken


def test_bounded_model_checking_proves_the_protocol_for_all_amounts() -> None:
    results = bmc(TwoPhaseCommit(), standard_instance(3), depth=8)
    assert {r.prop: r.verdict for r in results} == dict.fromkeys(
        [*SAFETY, CONSERVATION], Verdict.PROVED
    )


@pytest.mark.parametrize("name", sorted(PROTOCOL_MUTANTS))
def test_bounded_model_checking_refutes_each_seeded_bug_with_a_confirmed_trace(name: str) -> None:
    prop, shortest = EXPECTED[name]
    results = {r.prop: r for r in bmc(PROTOCOL_MUTANTS[name](), standard_instance(2), depth=8)}
    found = results[prop]
    assert found.verdict == Verdict.COUNTEREXAMPLE
    assert found.note == "confirmed by the concrete simulator"
    steps = [line for line in found.trace if line[0].isdigit()]
    # Symbolic amounts allow every behaviour of the concrete instance, so z3's shortest trace
    # is never longer than the simulator's.
    assert len(steps) <= shortest


def test_the_invariant_is_inductive_for_any_number_of_shards_and_not_vacuous() -> None:
    results = prove_inductive(TwoPhaseCommit()) + vacuity(TwoPhaseCommit())
    assert [r.prop for r in results if r.verdict != Verdict.PROVED] == []
    assert len([r for r in results if r.prop.startswith("Inv ∧")]) == len(TwoPhaseCommit.ACTIONS)


@pytest.mark.parametrize("name", sorted(PROTOCOL_MUTANTS))
def test_no_seeded_bug_keeps_the_invariant_inductive(name: str) -> None:
    failures = [r for r in prove_inductive(PROTOCOL_MUTANTS[name]()) if r.verdict != Verdict.PROVED]
    assert failures and all(r.verdict == Verdict.COUNTEREXAMPLE for r in failures)
    assert any("breaks" in line for r in failures for line in r.trace)


class PythonIf(TwoPhaseCommit):
    """An action that decides a state value with Python's `if`: wrong under a symbolic view."""

    def begin(self, v: View, t: Any) -> None:
        if v.get("started", t):
            return
        super().begin(v, t)


def test_a_python_condition_on_a_symbolic_value_fails_loudly() -> None:
    with pytest.raises(z3.Z3Exception, match="cannot be cast to concrete Boolean"):
        bmc(PythonIf(), standard_instance(2), depth=2)


def test_sums_are_refused_over_unbounded_sorts() -> None:
    u = Universe()
    view: SortView = u.view()
    with pytest.raises(Unbounded, match="sum over the unbounded sort 'txn'"):
        view.sum(TXN, lambda t: 1)


def test_the_standard_instance_is_balanced_and_rejects_too_few_shards() -> None:
    for shards in range(2, 7):
        instance = standard_instance(shards)
        for t in instance.domain(TXN):
            mine = [k for k in instance.part if k[0] == t]
            assert sum(instance.debit.get(k, 0) for k in mine) == sum(
                instance.credit.get(k, 0) for k in mine
            )
        assert initial_state(instance)["balance"][(0,)] == 7
    with pytest.raises(ValueError, match="at least 2 shards"):
        standard_instance(1)


def test_verify_checks_the_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--depth", "6", "--reports", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["results"] == []  # --depth alone: only the protocol
    verdicts = {(p["scope"], p["property"]): p["result"] for p in report["protocol"]}
    assert verdicts[("2 shards, depth 6", "conservation")] == Verdict.PROVED.value
    assert verdicts[("any number of shards", "Inv ⇒ atomicity")] == Verdict.PROVED.value
    assert "2pc · any number of shards" in capsys.readouterr().out


def test_verify_exits_1_on_a_seeded_protocol_bug_with_its_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["verify", "--protocol", "commit-on-partial-vote", "--depth", "4",
         "--reports", str(tmp_path)]
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "COUNTEREXAMPLE commit-on-partial-vote · 2 shards, depth 4 · no double spend" in out
    assert "3. commit(t" in out
    assert "commit(t" in (tmp_path / "verify.md").read_text()


@pytest.mark.parametrize("args", [["--shards", "1"], ["--shards", "7"], ["--depth", "0"]])
def test_verify_rejects_a_bad_protocol_scope(tmp_path: Path, args: list[str]) -> None:
    assert main(["verify", *args, "--reports", str(tmp_path)]) == 2
