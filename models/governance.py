"""DAO governance with OpenZeppelin Governor's essentials: GovernorCountingSimple's tallies,
its proposal states and their exact block boundaries, and a treasury transfer on execution.

Voting power: ERC20Votes checkpoints are replaced by an escrow. Voters deposit the voting token
into the governor; a vote weighs the voter's deposit and locks it until the end of that
proposal's voting period (``locked_until`` is the latest deadline the voter voted on). Tokens
counted on a proposal therefore cannot move to another account and be counted again while it is
open — the guarantee OZ's snapshots give — with state the spec can express as flat keys.
Treasury transfers can never spend deposits.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import erc20
from .context import Context, Key
from .tx import Tx, declare_keys, spec
from .uint import add, sub

TOKEN = "gov.token"
DELAY = "gov.voting_delay"
PERIOD = "gov.voting_period"
THRESHOLD = "gov.proposal_threshold"
QUORUM = "gov.quorum"
DEPOSIT = "gov.deposit"
DEPOSITS = "gov.deposits_total"
LOCKED_UNTIL = "gov.locked_until"
PROPOSER = "gov.proposer"
SNAPSHOT = "gov.snapshot"
DEADLINE = "gov.deadline"
PAY_TOKEN = "gov.pay_token"
RECIPIENT = "gov.recipient"
PAY_AMOUNT = "gov.pay_amount"
FOR = "gov.for"
AGAINST = "gov.against"
ABSTAIN = "gov.abstain"
VOTED = "gov.voted"
EXECUTED = "gov.executed"
CANCELED = "gov.canceled"

declare_keys(
    **{name: ("governor",) for name in (TOKEN, DELAY, PERIOD, THRESHOLD, QUORUM, DEPOSITS)},
    **{name: ("governor", "voter") for name in (DEPOSIT, LOCKED_UNTIL)},
    **{
        name: ("governor", "proposal")
        for name in (
            PROPOSER,
            SNAPSHOT,
            DEADLINE,
            PAY_TOKEN,
            RECIPIENT,
            PAY_AMOUNT,
            FOR,
            AGAINST,
            ABSTAIN,
            EXECUTED,
            CANCELED,
        )
    },
    **{VOTED: ("governor", "proposal", "voter")},
)

# ProposalState, as OpenZeppelin numbers it.
PENDING, ACTIVE, CANCELED_STATE, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED_STATE = range(8)
AGAINST_VOTE, FOR_VOTE, ABSTAIN_VOTE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class DepositVotes(Tx):
    KIND = "gov.deposit"
    governor: int
    amount: int


@dataclass(frozen=True, slots=True)
class WithdrawVotes(Tx):
    KIND = "gov.withdraw"
    governor: int
    amount: int


@dataclass(frozen=True, slots=True)
class Propose(Tx):
    """A proposal to pay ``amount`` of ``token`` from the treasury to ``recipient``."""

    KIND = "gov.propose"
    governor: int
    proposal: int
    token: int
    recipient: int
    amount: int


@dataclass(frozen=True, slots=True)
class CastVote(Tx):
    KIND = "gov.cast_vote"
    governor: int
    proposal: int
    support: int  # 0 against, 1 for, 2 abstain


@dataclass(frozen=True, slots=True)
class Execute(Tx):
    KIND = "gov.execute"
    governor: int
    proposal: int


@dataclass(frozen=True, slots=True)
class Cancel(Tx):
    KIND = "gov.cancel"
    governor: int
    proposal: int


def state_of(ctx: Context, gov: int, proposal: int) -> int:
    """Governor.state(): Active while snapshot < block <= deadline."""
    ctx.require(ctx.read((PROPOSER, gov, proposal)) != 0, "Governor: unknown proposal id")
    if ctx.read((EXECUTED, gov, proposal)):
        return EXECUTED_STATE
    if ctx.read((CANCELED, gov, proposal)):
        return CANCELED_STATE
    number = ctx.block.number
    if ctx.read((SNAPSHOT, gov, proposal)) >= number:
        return PENDING
    if ctx.read((DEADLINE, gov, proposal)) >= number:
        return ACTIVE
    votes_for = ctx.read((FOR, gov, proposal))
    quorum_reached = ctx.read((QUORUM, gov)) <= votes_for + ctx.read((ABSTAIN, gov, proposal))
    if quorum_reached and votes_for > ctx.read((AGAINST, gov, proposal)):
        return SUCCEEDED
    return DEFEATED


@spec(DepositVotes)
def apply_deposit(tx: DepositVotes, ctx: Context) -> None:
    token = ctx.read((TOKEN, tx.governor))
    ctx.require(token != 0, "Governor: no such governor")
    erc20.move(ctx, token, tx.sender, tx.governor, tx.amount)
    key = (DEPOSIT, tx.governor, tx.sender)
    ctx.write(key, add(ctx, ctx.read(key), tx.amount))
    total = (DEPOSITS, tx.governor)
    ctx.write(total, add(ctx, ctx.read(total), tx.amount))


@spec(WithdrawVotes)
def apply_withdraw(tx: WithdrawVotes, ctx: Context) -> None:
    token = ctx.read((TOKEN, tx.governor))
    ctx.require(token != 0, "Governor: no such governor")
    ctx.require(
        ctx.block.number > ctx.read((LOCKED_UNTIL, tx.governor, tx.sender)),
        "Governor: deposit locked by an open vote",
    )
    key = (DEPOSIT, tx.governor, tx.sender)
    ctx.write(key, sub(ctx, ctx.read(key), tx.amount, "Governor: withdraw exceeds deposit"))
    total = (DEPOSITS, tx.governor)
    ctx.write(total, ctx.read(total) - tx.amount)  # >= the sender's deposit, checked above
    erc20.move(ctx, token, tx.governor, tx.sender, tx.amount)


@spec(Propose)
def apply_propose(tx: Propose, ctx: Context) -> None:
    gov, proposal = tx.governor, tx.proposal
    ctx.require(ctx.read((TOKEN, gov)) != 0, "Governor: no such governor")
    ctx.require(tx.sender != 0, "Governor: invalid proposer")
    ctx.require(ctx.read((PROPOSER, gov, proposal)) == 0, "Governor: proposal already exists")
    ctx.require(
        ctx.read((DEPOSIT, gov, tx.sender)) >= ctx.read((THRESHOLD, gov)),
        "Governor: proposer votes below proposal threshold",
    )
    snapshot = add(ctx, ctx.block.number, ctx.read((DELAY, gov)))
    deadline = add(ctx, snapshot, ctx.read((PERIOD, gov)))
    for key, value in (
        (PROPOSER, tx.sender),
        (SNAPSHOT, snapshot),
        (DEADLINE, deadline),
        (PAY_TOKEN, tx.token),
        (RECIPIENT, tx.recipient),
        (PAY_AMOUNT, tx.amount),
    ):
        ctx.write((key, gov, proposal), value)
    ctx.emit(("ProposalCreated", gov, proposal, tx.sender, snapshot, deadline))


@spec(CastVote)
def apply_cast_vote(tx: CastVote, ctx: Context) -> None:
    gov, proposal = tx.governor, tx.proposal
    ctx.require(state_of(ctx, gov, proposal) == ACTIVE, "Governor: vote not currently active")
    voted = (VOTED, gov, proposal, tx.sender)
    ctx.require(ctx.read(voted) == 0, "GovernorVotingSimple: vote already cast")
    ctx.write(voted, 1)
    weight = ctx.read((DEPOSIT, gov, tx.sender))
    if tx.support == AGAINST_VOTE:
        tally = AGAINST
    elif tx.support == FOR_VOTE:
        tally = FOR
    else:
        ctx.require(
            tx.support == ABSTAIN_VOTE, "GovernorVotingSimple: invalid value for enum VoteType"
        )
        tally = ABSTAIN
    ctx.write((tally, gov, proposal), add(ctx, ctx.read((tally, gov, proposal)), weight))
    deadline = ctx.read((DEADLINE, gov, proposal))
    lock = (LOCKED_UNTIL, gov, tx.sender)
    if deadline > ctx.read(lock):
        ctx.write(lock, deadline)
    ctx.emit(("VoteCast", gov, proposal, tx.sender, tx.support, weight))


@spec(Execute)
def apply_execute(tx: Execute, ctx: Context) -> None:
    gov, proposal = tx.governor, tx.proposal
    ctx.require(state_of(ctx, gov, proposal) == SUCCEEDED, "Governor: proposal not successful")
    ctx.write((EXECUTED, gov, proposal), 1)
    token = ctx.read((PAY_TOKEN, gov, proposal))
    amount = ctx.read((PAY_AMOUNT, gov, proposal))
    if token == ctx.read((TOKEN, gov)):
        free = sub(ctx, ctx.read((erc20.BAL, token, gov)), ctx.read((DEPOSITS, gov)))
        ctx.require(free >= amount, "Governor: treasury cannot spend deposits")
    erc20.move(ctx, token, gov, ctx.read((RECIPIENT, gov, proposal)), amount)
    ctx.emit(("ProposalExecuted", gov, proposal))


@spec(Cancel)
def apply_cancel(tx: Cancel, ctx: Context) -> None:
    gov, proposal = tx.governor, tx.proposal
    ctx.require(state_of(ctx, gov, proposal) == PENDING, "Governor: too late to cancel")
    ctx.require(
        ctx.read((PROPOSER, gov, proposal)) == tx.sender, "Governor: only proposer can cancel"
    )
    ctx.write((CANCELED, gov, proposal), 1)
    ctx.emit(("ProposalCanceled", gov, proposal))


def genesis_governor(
    governor: int,
    token: int,
    *,
    voting_delay: int,
    voting_period: int,
    threshold: int,
    quorum: int,
) -> dict[Key, int]:
    """A governor voting with ``token``; fund its treasury with ERC-20 balances of its address."""
    if token == 0:
        raise ValueError("genesis_governor needs a voting token")
    return {
        (TOKEN, governor): token,
        (DELAY, governor): voting_delay,
        (PERIOD, governor): voting_period,
        (THRESHOLD, governor): threshold,
        (QUORUM, governor): quorum,
    }
