"""Per-operation proofs over the spec: PROVED where the spec is right, a confirmed
counterexample where a seeded spec bug breaks a property, UNKNOWN when out of time."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from txlanes.checker.proofs import (
    COUNTEREXAMPLE,
    NOT_APPLICABLE,
    PROVED,
    UNKNOWN,
    Prover,
    assert_holds,
)
from txlanes.checker.spec_mutants import SPEC_MUTANTS
from txlanes.models import Context, Tx, erc20

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
    "amm.remove_liquidity",
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


@dataclass(frozen=True, slots=True)
class Sweep(Tx):
    """A user's own operation: move the sender's whole balance of a token to ``to``."""

    KIND = "user.sweep"
    token: int
    to: int


def sweep(tx: Sweep, ctx: Context) -> None:
    erc20.move(ctx, tx.token, tx.sender, tx.to, ctx.read((erc20.BAL, tx.token, tx.sender)))


def leaky_sweep(tx: Sweep, ctx: Context) -> None:
    key = (erc20.BAL, tx.token, tx.sender)
    balance = ctx.read(key)
    ctx.write(key, 0)
    to = (erc20.BAL, tx.token, tx.to)
    ctx.write(to, ctx.read(to) + balance - balance // 100)  # drops a 1% "fee" on the floor


def test_a_users_own_operation_can_be_proved_from_pytest() -> None:
    result = assert_holds(sweep, Sweep, "conservation")
    assert result.verdict == PROVED
    with pytest.raises(AssertionError, match=r"conservation does not hold for user\.sweep"):
        assert_holds(leaky_sweep, Sweep, "conservation")
