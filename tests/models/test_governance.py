"""Governor: the lifecycle at its exact boundary blocks, quorum and ties, every revert path."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.support import execute, execute_one
from txlanes.models import BlockEnv, Key, Tx
from txlanes.models.erc20 import BAL, SUPPLY
from txlanes.models.governance import (
    ABSTAIN,
    ACTIVE,
    AGAINST,
    CANCELED_STATE,
    DEFEATED,
    EXECUTED_STATE,
    FOR,
    PENDING,
    SUCCEEDED,
    Cancel,
    CastVote,
    DepositVotes,
    Execute,
    Propose,
    WithdrawVotes,
    genesis_governor,
    state_of,
)

GOV, V, T = 700, 70, 71
ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4


def genesis() -> dict[Key, int]:
    state = genesis_governor(GOV, V, voting_delay=2, voting_period=5, threshold=100, quorum=300)
    holdings = {ALICE: 500, BOB: 200, CAROL: 150, DAVE: 50}
    for who, amount in holdings.items():
        state[(BAL, V, who)] = amount
    state[(SUPPLY, V)] = sum(holdings.values())
    state[(BAL, T, GOV)] = 1000
    state[(SUPPLY, T)] = 1000
    return state


def at(block: int, state: dict[Key, int], *txs: Tx) -> dict[Key, int]:
    post, result = execute(state, txs, BlockEnv(number=block))
    assert all(r.ok for r in result.receipts), [r.reason for r in result.receipts]
    return post


def reason_at(block: int, state: dict[Key, int], tx: Tx) -> str | None:
    post, reason = execute_one(state, tx, BlockEnv(number=block))
    if reason is not None:
        assert post == state
    return reason


class _Probe:
    """A read-only ctx to ask the spec for a proposal's state."""

    def __init__(self, state: dict[Key, int], number: int) -> None:
        self.state, self.block = state, BlockEnv(number=number)

    def read(self, key: Key) -> int:
        return self.state.get(key, 0)

    def require(self, condition: bool, reason: str) -> None:
        assert condition, reason


def state_at(state: dict[Key, int], block: int, proposal: int = 1) -> int:
    return state_of(_Probe(state, block), GOV, proposal)  # type: ignore[arg-type]


def proposed() -> dict[Key, int]:
    state = at(
        10,
        genesis(),
        DepositVotes(ALICE, GOV, 500),
        DepositVotes(BOB, GOV, 200),
        DepositVotes(CAROL, GOV, 150),
        Propose(ALICE, GOV, 1, T, CAROL, 400),
    )
    return state  # snapshot 12, deadline 17


def test_full_lifecycle_at_the_boundary_blocks() -> None:
    state = proposed()
    assert [state_at(state, b) for b in (11, 12, 13, 17, 18)] == [
        PENDING,
        PENDING,
        ACTIVE,
        ACTIVE,
        DEFEATED,
    ]
    assert reason_at(12, state, CastVote(ALICE, GOV, 1, 1)) == "Governor: vote not currently active"
    state = at(13, state, CastVote(ALICE, GOV, 1, 1), CastVote(BOB, GOV, 1, 0))
    state = at(17, state, CastVote(CAROL, GOV, 1, 2))  # the deadline block still counts
    assert (state[(FOR, GOV, 1)], state[(AGAINST, GOV, 1)], state[(ABSTAIN, GOV, 1)]) == (
        500,
        200,
        150,
    )
    assert reason_at(18, state, CastVote(DAVE, GOV, 1, 1)) == "Governor: vote not currently active"
    assert state_at(state, 18) == SUCCEEDED
    # A voter's deposit is locked through the deadline block.
    assert reason_at(17, state, WithdrawVotes(ALICE, GOV, 1)) == (
        "Governor: deposit locked by an open vote"
    )
    state = at(18, state, Execute(BOB, GOV, 1), WithdrawVotes(ALICE, GOV, 500))
    assert state[(BAL, T, CAROL)] == 400 and state[(BAL, T, GOV)] == 600
    assert state[(BAL, V, ALICE)] == 500
    assert state_at(state, 19) == EXECUTED_STATE
    assert reason_at(19, state, Execute(BOB, GOV, 1)) == "Governor: proposal not successful"
    assert reason_at(19, state, Cancel(ALICE, GOV, 1)) == "Governor: too late to cancel"


def test_quorum_counts_for_and_abstain_exactly() -> None:
    for abstain, expected in ((100, SUCCEEDED), (99, DEFEATED)):
        state = genesis() | {(BAL, V, BOB): 200, (BAL, V, CAROL): abstain}
        state[(SUPPLY, V)] = 500 + 200 + abstain + 50
        state = at(
            10,
            state,
            DepositVotes(BOB, GOV, 200),
            DepositVotes(CAROL, GOV, abstain),
            Propose(BOB, GOV, 1, T, BOB, 1),
        )
        state = at(13, state, CastVote(BOB, GOV, 1, 1), CastVote(CAROL, GOV, 1, 2))
        # quorum 300 <= for 200 + abstain {100 | 99}
        assert state_at(state, 18) == expected


def test_a_tie_is_defeated() -> None:
    state = at(
        10,
        genesis(),
        DepositVotes(ALICE, GOV, 200),
        DepositVotes(BOB, GOV, 200),
        DepositVotes(CAROL, GOV, 150),
        Propose(ALICE, GOV, 1, T, ALICE, 1),
    )
    state = at(
        13, state, CastVote(ALICE, GOV, 1, 1), CastVote(BOB, GOV, 1, 0), CastVote(CAROL, GOV, 1, 2)
    )
    assert state_at(state, 18) == DEFEATED
    assert reason_at(18, state, Execute(ALICE, GOV, 1)) == "Governor: proposal not successful"


def test_cancel_is_only_for_the_proposer_while_pending_and_is_final() -> None:
    state = proposed()
    assert reason_at(11, state, Cancel(BOB, GOV, 1)) == "Governor: only proposer can cancel"
    state = at(11, state, Cancel(ALICE, GOV, 1))
    assert state_at(state, 13) == CANCELED_STATE
    assert reason_at(13, state, CastVote(ALICE, GOV, 1, 1)) == "Governor: vote not currently active"
    assert reason_at(20, state, Execute(ALICE, GOV, 1)) == "Governor: proposal not successful"
    assert reason_at(12, state, Cancel(ALICE, GOV, 1)) == "Governor: too late to cancel"


def test_revert_paths() -> None:
    state = proposed()
    cases = [
        (13, CastVote(DAVE, GOV, 9, 1), "Governor: unknown proposal id"),
        (13, CastVote(ALICE, GOV, 1, 3), "GovernorVotingSimple: invalid value for enum VoteType"),
        (11, Propose(ALICE, GOV, 1, T, ALICE, 1), "Governor: proposal already exists"),
        (
            11,
            Propose(DAVE, GOV, 2, T, DAVE, 1),
            "Governor: proposer votes below proposal threshold",
        ),
        (11, Propose(0, GOV, 2, T, DAVE, 1), "Governor: invalid proposer"),
        (11, Propose(ALICE, 9, 2, T, DAVE, 1), "Governor: no such governor"),
        (11, DepositVotes(DAVE, GOV, 51), "ERC20: transfer amount exceeds balance"),
        (11, DepositVotes(DAVE, 9, 1), "Governor: no such governor"),
        (11, WithdrawVotes(BOB, GOV, 201), "Governor: withdraw exceeds deposit"),
        (11, WithdrawVotes(BOB, 9, 1), "Governor: no such governor"),
    ]
    for block, tx, reason in cases:
        assert reason_at(block, state, tx) == reason, tx
    state = at(13, state, CastVote(ALICE, GOV, 1, 1))
    assert reason_at(14, state, CastVote(ALICE, GOV, 1, 0)) == (
        "GovernorVotingSimple: vote already cast"
    )


def test_the_treasury_cannot_spend_deposits() -> None:
    state = genesis() | {(BAL, V, GOV): 100, (SUPPLY, V): 1000}
    state = at(10, state, DepositVotes(ALICE, GOV, 500), Propose(ALICE, GOV, 1, V, BOB, 101))
    state = at(13, state, CastVote(ALICE, GOV, 1, 1))
    # The governor holds 600 V, of which 500 are deposits: only 100 are treasury.
    assert reason_at(18, state, Execute(BOB, GOV, 1)) == "Governor: treasury cannot spend deposits"


WHO = st.sampled_from([ALICE, BOB, CAROL, DAVE])
PROPOSAL = st.integers(1, 2)
GOV_TXS = st.one_of(
    st.builds(DepositVotes, WHO, st.just(GOV), st.integers(0, 300)),
    st.builds(WithdrawVotes, WHO, st.just(GOV), st.integers(0, 300)),
    st.builds(
        Propose, WHO, st.just(GOV), PROPOSAL, st.sampled_from([T, V]), WHO, st.integers(0, 600)
    ),
    st.builds(CastVote, WHO, st.just(GOV), PROPOSAL, st.integers(0, 3)),
    st.builds(Execute, WHO, st.just(GOV), PROPOSAL),
    st.builds(Cancel, WHO, st.just(GOV), PROPOSAL),
)


@given(st.lists(st.tuples(st.integers(0, 4), st.lists(GOV_TXS, max_size=4)), max_size=8))
def test_random_sequences_conserve_and_tallies_only_grow(
    steps: list[tuple[int, list[Tx]]],
) -> None:
    state, block = genesis(), 1
    for gap, txs in steps:
        block += gap
        post, _ = execute(state, txs, BlockEnv(number=block))
        for token in (V, T):
            total = sum(v for k, v in post.items() if k[0] == BAL and k[1] == token)
            assert total == post.get((SUPPLY, token), 0)
        for key in [k for k in state if k[0] in (FOR, AGAINST, ABSTAIN)]:
            assert post.get(key, 0) >= state[key]
        deposits = sum(v for k, v in post.items() if k[0] == "gov.deposit")
        assert post.get((BAL, V, GOV), 0) >= deposits
        state = post
