"""The symbolic context runs the unmodified spec and explores every feasible path."""

from __future__ import annotations

import pytest
import z3

from txlanes.checker.symbolic_context import SymbolicContext
from txlanes.checker.symbolic_explorer import Explorer, Path
from txlanes.checker.symbolic_values import Sym, Uninterpretable
from txlanes.models import BlockEnv, Revert, execute_tx
from txlanes.models.erc20 import BAL, Transfer
from txlanes.models.uint import MAX_UINT256, isqrt


def explore_transfer(sender: int, to: int) -> list[Path]:
    def run(ex: Explorer) -> Path:
        ctx = SymbolicContext(ex, BlockEnv())
        amount = Sym(z3.Int("amount"), ex)
        ex.assume(amount.term >= 0, amount.term <= MAX_UINT256)
        path = Path([], ctx.pre, ctx.writes, ctx.events)
        try:
            execute_tx(Transfer(sender, 7, to, amount), ctx)  # type: ignore[arg-type]
        except Revert as revert:
            path.reverted = revert.reason
        return path

    return Explorer().explore(run)


def balance_delta(path: Path) -> z3.ArithRef:
    return z3.Sum(
        [
            (v.term if isinstance(v, Sym) else z3.IntVal(v)) - path.pre[k]
            for k, v in path.writes.items()
        ]
    )


@pytest.mark.parametrize(("sender", "to"), [(1, 2), (1, 1)])
def test_transfer_conserves_on_every_success_path(sender: int, to: int) -> None:
    paths = explore_transfer(sender, to)
    successes = [p for p in paths if p.reverted is None]
    assert successes, "no success path: the proof would be vacuous"
    for path in successes:
        solver = z3.Solver()
        solver.add(*path.condition, balance_delta(path) != 0)
        assert solver.check() == z3.unsat
    reasons = {p.reverted for p in paths} - {None}
    assert "ERC20: transfer amount exceeds balance" in reasons


def test_zero_address_paths_revert_without_branching_on_amount() -> None:
    paths = explore_transfer(0, 2)
    assert [p.reverted for p in paths] == ["ERC20: transfer from the zero address"]


def test_a_conservation_bug_is_found() -> None:
    """Reading both balances before writing either mints on a self-transfer."""

    def run(ex: Explorer) -> Path:
        ctx = SymbolicContext(ex, BlockEnv())
        amount = Sym(z3.Int("amount"), ex)
        ex.assume(amount.term >= 0)
        a, b = (BAL, 7, 1), (BAL, 7, 1)
        path = Path([], ctx.pre, ctx.writes, ctx.events)
        try:
            x, y = ctx.read(a), ctx.read(b)
            ctx.require(x >= amount, "balance")
            ctx.write(a, x - amount)
            ctx.write(b, y + amount)
        except Revert as revert:
            path.reverted = revert.reason
        return path

    (path,) = [p for p in Explorer().explore(run) if p.reverted is None]
    solver = z3.Solver()
    solver.add(*path.condition, balance_delta(path) != 0)
    assert solver.check() == z3.sat


def test_uninterpretable_constructs_fail_loudly() -> None:
    ex = Explorer()
    value = Sym(z3.Int("v"), ex)
    with pytest.raises(Uninterpretable, match="used where an int is needed"):
        int(value)
    with pytest.raises(Uninterpretable, match="symbolic component"):
        SymbolicContext(ex, BlockEnv()).read((BAL, value, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="isqrt cannot interpret"):
        isqrt(1.5)
