"""The demo workload: every transaction type, succeeding, in three blocks (examples/demo.json).

It is the smallest complete tour of the spec and the main job's input (`make check`). It is
written here as code, on the generated workloads' world, and the committed JSON is checked
against it by the tests, so the two cannot drift.
"""

from __future__ import annotations

from . import amm, derivatives, erc20, governance, lending, oracle, staking
from . import world as w
from .context import BlockEnv
from .workload import Block, Workload
from .world import World

A, B, C, D = (w.FIRST_ACCOUNT + i for i in range(4))
T0, T1, T2 = w.TOKENS
PAIR = next(iter(w.PAIRS))


def demo_workload() -> Workload:
    """Three blocks over four accounts; block 2 pays a per-transaction fee to the hot account."""
    book, gov, chef = w.OPTION_BOOK, w.GOVERNOR, w.CHEF
    first = [
        erc20.Transfer(A, T0, B, 1_000),
        erc20.Approve(A, T1, C, 5_000),
        erc20.TransferFrom(C, T1, A, D, 2_000),
        erc20.Mint(w.ADMIN, T2, D, 10_000),
        erc20.Burn(w.ADMIN, T2, D, 5_000),
        amm.CreatePair(A, T0, T2, 2_002),
        amm.AddLiquidity(A, T0, T2, 100_000, 100_000, 0, 0, A),
        amm.AddLiquidity(B, T0, T1, 10_000, 10_000, 0, 0, B),
        amm.SwapExactIn(C, T0, T1, 10_000, 1, C),
        amm.SwapExactOut(D, T1, T0, 5_000, 20_000, D),
        amm.PairSwap(B, PAIR, 1_000, 0, 0, 900, B),
        amm.RemoveLiquidity(B, T0, T1, 1_000, 0, 0, B),
        amm.Sync(A, PAIR),
        lending.EnterMarket(C, 1),
        lending.Supply(C, 1, 100_000),
        lending.Borrow(A, 1, 10_000),
        lending.RepayBorrow(D, 1, A, 5_000),
        lending.Redeem(C, 1, 1_000_000),
        lending.Liquidate(C, 1, B, 100_000, 0),
        staking.Deposit(A, chef, 0, 1_000),
        staking.UpdatePool(B, chef, 1),
        derivatives.IncreasePosition(C, w.PERP_MARKET, True, 10_000, 50_000),
        derivatives.WriteOption(A, book, 3, w.PERP_ASSET, False, 2 * 10**18, 1_000, 1_000, 500, 0),
        derivatives.BuyOption(B, book, 3),
        derivatives.BuyOption(C, book, w.OPTION_FOR_SALE),
        derivatives.SettleOption(D, book, w.OPTION_EXPIRED),
        governance.DepositVotes(D, gov, 1_000),
        governance.Propose(A, gov, 3, w.TREASURY_TOKEN, D, 1_000),
        governance.CastVote(B, gov, w.OPEN_PROPOSAL, 1),
        governance.Execute(C, gov, w.PASSED_PROPOSAL),
        governance.Cancel(A, gov, w.PENDING_PROPOSAL),
    ]
    second = [
        erc20.Transfer(B, T0, C, 500),
        staking.Harvest(A, chef, 0),
        staking.Withdraw(B, chef, 0, 1_000),
        staking.EmergencyWithdraw(C, chef, 1),
        lending.ExitMarket(C, 1),
        derivatives.DecreasePosition(C, w.PERP_MARKET, True, 20_000),
        governance.CastVote(A, gov, 3, 1),
    ]
    third = [
        oracle.SetPrice(w.ADMIN, w.PERP_ASSET, 10**18),
        derivatives.LiquidatePosition(D, w.PERP_MARKET, A, True),
        derivatives.SettleOption(A, book, 3),
        governance.WithdrawVotes(D, gov, 1_000),
    ]
    fee = BlockEnv(number=4, timestamp=2_000, fee_recipient=A, fee_token=T0, fee=1)
    return Workload(
        World(accounts=4).genesis(),
        [
            Block(tuple(first), BlockEnv(number=2, timestamp=24)),
            Block(tuple(second), fee),
            Block(tuple(third), BlockEnv(number=200, timestamp=4_000)),
        ],
    )
