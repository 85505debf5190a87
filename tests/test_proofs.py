"""Per-operation proofs over the spec: PROVED where the spec is right, a confirmed
counterexample where a seeded spec bug breaks a property, UNKNOWN when out of time."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import z3

from txlanes.checker.abstraction import Abstraction, PathCheck
from txlanes.checker.proof_properties import exchange_rate_never_drops, k_never_decreases
from txlanes.checker.prover import Prover, assert_holds
from txlanes.checker.spec_mutants import SPEC_MUTANTS
from txlanes.checker.verdict import Verdict
from txlanes.models import TX_TYPES, Context, Tx, amm, erc20, execute_tx, lending
from txlanes.models.uint import add, div, mul


@pytest.mark.parametrize("kind", sorted(TX_TYPES))
def test_every_operation_is_proved(kind: str) -> None:
    """Every property of every transaction type, for all pre-states: PROVED (on a path shown
    satisfiable — not vacuously) or not applicable; never UNKNOWN within the budget."""
    results = Prover(timeout_ms=10_000, budget_seconds=120).prove(kind)
    assert results
    for result in results:
        assert result.verdict in (Verdict.PROVED, Verdict.NOT_APPLICABLE), (
            result.prop,
            result.verdict,
            result.note,
        )
        assert result.verdict != Verdict.PROVED or result.witnessed
    assert any(r.verdict == Verdict.PROVED for r in results)


@pytest.mark.parametrize("name", sorted(SPEC_MUTANTS))
def test_spec_mutants_are_refuted_with_a_confirmed_counterexample(name: str) -> None:
    kind, prop, apply = SPEC_MUTANTS[name]
    results = {r.prop: r for r in Prover(apply=apply).prove(kind)}
    result = results[prop]
    assert result.verdict == Verdict.COUNTEREXAMPLE
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
    assert {r.verdict for r in results} == {Verdict.UNKNOWN}


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
    assert result.verdict == Verdict.PROVED
    with pytest.raises(AssertionError, match=r"conservation does not hold for user\.sweep"):
        assert_holds(leaky_sweep, Sweep, "conservation")


# -- nonlinear operations: proved on the linear abstraction ------------------------------------


def _swap_without_k(tx: Tx, ctx: Context) -> None:
    """UniswapV2Pair.swap without its K check: an input of 1 buys the whole pool."""
    if not isinstance(tx, amm.PairSwap):
        execute_tx(tx, ctx)
        return
    token0, token1 = ctx.read((amm.TOKEN0, tx.pair)), ctx.read((amm.TOKEN1, tx.pair))
    ctx.require(token0 != 0, "UniswapV2Router: PAIR_NOT_FOUND")
    if tx.amount0_in > 0:
        erc20.move(ctx, token0, tx.sender, tx.pair, tx.amount0_in)
    if tx.amount1_in > 0:
        erc20.move(ctx, token1, tx.sender, tx.pair, tx.amount1_in)
    reserve0, reserve1 = ctx.read((amm.RESERVE0, tx.pair)), ctx.read((amm.RESERVE1, tx.pair))
    ctx.require(tx.amount0_out < reserve0 and tx.amount1_out < reserve1, "LIQUIDITY")
    ctx.require(tx.to != token0 and tx.to != token1, "UniswapV2: INVALID_TO")
    if tx.amount0_out > 0:
        erc20.move(ctx, token0, tx.pair, tx.to, tx.amount0_out)
    if tx.amount1_out > 0:
        erc20.move(ctx, token1, tx.pair, tx.to, tx.amount1_out)
    balance0 = ctx.read((erc20.BAL, token0, tx.pair))
    balance1 = ctx.read((erc20.BAL, token1, tx.pair))
    amm._update(ctx, tx.pair, balance0, balance1)


def test_a_nonlinear_spec_bug_is_refuted_with_a_confirmed_counterexample() -> None:
    prover = Prover(apply=_swap_without_k, budget_seconds=60)
    (result,) = prover.prove("amm.pair_swap", {"amm-k": k_never_decreases})
    assert result.verdict == Verdict.COUNTEREXAMPLE
    assert result.counterexample is not None and result.counterexample.confirmed


def test_an_abstraction_alone_never_proves_a_false_nonlinear_claim() -> None:
    """x*y >= x is false for y = 0: the abstraction must not prove it (facts are sound)."""
    x, y = z3.Ints("x y")
    check = PathCheck([x >= 1, y >= 0], 5_000, Abstraction())
    assert not check.refutes(x * y >= x)
    assert check.refutes(x * (y + 1) >= x)  # provable: y + 1 >= 1
    assert not check.refutes((x * y) / 7 >= 1)
    assert check.refutes((x * (y + 1)) / x >= 1)


def test_the_abstractions_structure_facts_are_exact_and_sufficient() -> None:
    """Distributivity, a factor that is an if-then-else, common factors and rectangles: each
    proves what it should, and none proves a false claim."""
    x, y, z, u, v, s = z3.Ints("x y z u v s")
    c = z3.Bool("c")
    check = PathCheck([x >= 0, u >= 0], 5_000, Abstraction())
    assert check.refutes(x * (y + 2 * z - 3) == x * y + 2 * (x * z) - 3 * x)
    assert check.refutes(x * z3.If(c, 7, y) == z3.If(c, 7 * x, y * x))
    assert check.refutes(z3.Implies(z3.And(x >= u, y >= v), x * y + u * v >= x * v + u * y))
    assert not check.refutes(z3.Implies(x >= u, x * y >= u * y))  # false for y < 0
    assert not check.refutes(x * (y + 1) == x * y)  # false for x > 0
    assert not check.refutes(z3.Implies(x >= u + 1, x * y >= u * y + 1))  # false for y = 0
    # the stored exchange rate's step: a larger numerator never floors to a smaller rate
    floors = PathCheck([s >= 1, x >= 0, x <= u], 5_000, Abstraction())
    assert floors.refutes(x / s <= u / s)


def _mint_rounding_up(tx: Tx, ctx: Context) -> None:
    """CToken.mint with the tokens minted rounded up instead of down."""
    if not isinstance(tx, lending.Supply):
        execute_tx(tx, ctx)
        return
    underlying = lending._listed(ctx, tx.market)
    lending.accrue_interest(ctx, tx.market)
    rate = lending.exchange_rate(ctx, tx.market)
    erc20.move(ctx, underlying, tx.sender, ctx.read((lending.ADDRESS, tx.market)), tx.amount)
    minted = div(ctx, add(ctx, mul(ctx, tx.amount, lending.MANTISSA), rate - 1), rate)
    supply = (lending.TOTAL_SUPPLY, tx.market)
    ctx.write(supply, add(ctx, ctx.read(supply), minted))
    balance = (lending.BALANCE, tx.market, tx.sender)
    ctx.write(balance, add(ctx, ctx.read(balance), minted))


def test_a_mint_that_rounds_up_is_refuted_by_the_exchange_rate() -> None:
    """The stored exchange rate is not vacuously monotone: minting one rounding unit too many
    lowers it, and the exact solver's model replays through the engine."""
    prover = Prover(apply=_mint_rounding_up, budget_seconds=60)
    (result,) = prover.prove("lend.supply", {"lending-exchange-rate": exchange_rate_never_drops})
    assert result.verdict == Verdict.COUNTEREXAMPLE
    assert result.counterexample is not None and result.counterexample.confirmed
