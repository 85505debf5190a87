"""Per-operation proofs over the spec: PROVED where the spec is right, a confirmed
counterexample where a seeded spec bug breaks a property, UNKNOWN when out of time."""

from __future__ import annotations

import pytest

from txlanes.checker.proofs import COUNTEREXAMPLE, NOT_APPLICABLE, PROVED, UNKNOWN, Prover
from txlanes.checker.spec_mutants import SPEC_MUTANTS

FAST_KINDS = [
    "erc20.transfer",
    "erc20.transfer_from",
    "erc20.approve",
    "erc20.mint",
    "erc20.burn",
    "oracle.set_price",
    "gov.deposit",
    "gov.withdraw",
    "gov.cast_vote",
    "gov.execute",
    "opt.write",
    "opt.buy",
    "opt.settle",
    "stake.update_pool",
    "stake.emergency_withdraw",
]


@pytest.mark.parametrize("kind", FAST_KINDS)
def test_properties_are_proved(kind: str) -> None:
    results = Prover(timeout_ms=5_000).prove(kind)
    assert results
    for result in results:
        assert result.verdict in (PROVED, NOT_APPLICABLE), (
            result.prop,
            result.verdict,
            result.note,
        )
    assert any(r.verdict == PROVED for r in results)


@pytest.mark.parametrize("name", sorted(SPEC_MUTANTS))
def test_spec_mutants_are_refuted_with_a_confirmed_counterexample(name: str) -> None:
    kind, prop, apply = SPEC_MUTANTS[name]
    results = {r.prop: r for r in Prover(apply=apply).prove(kind)}
    result = results[prop]
    assert result.verdict == COUNTEREXAMPLE
    assert result.counterexample is not None and result.counterexample.confirmed


def test_the_self_transfer_counterexample_is_a_self_transfer() -> None:
    _, _, apply = SPEC_MUTANTS["transfer-reads-receiver-first"]
    result = next(
        r for r in Prover(apply=apply).prove("erc20.transfer") if r.prop == "conservation"
    )
    assert result.counterexample is not None
    tx = result.counterexample.tx
    assert tx.sender == tx.to and tx.amount > 0  # type: ignore[attr-defined]


def test_an_exhausted_budget_is_unknown_never_proved() -> None:
    results = Prover(budget_seconds=0.0).prove("erc20.transfer_from")
    assert {r.verdict for r in results} == {UNKNOWN}
