"""Each invariant fires on a transition that breaks it, and names what broke."""

from __future__ import annotations

from txlanes.checker.invariants import INVARIANTS, check_invariants
from txlanes.executor import BlockResult, Receipt, TxTrace
from txlanes.models import MAX_UINT256, Key
from txlanes.models.amm import RESERVE0, RESERVE1, TOKEN0
from txlanes.models.erc20 import BAL, SUPPLY
from txlanes.models.lending import BORROW_INDEX

OK = BlockResult({}, [], [])
PAIR = 500


def pool(r0: int, r1: int, supply: int) -> dict[Key, int]:
    return {
        (TOKEN0, PAIR): 1,
        (RESERVE0, PAIR): r0,
        (RESERVE1, PAIR): r1,
        (SUPPLY, PAIR): supply,
        (BAL, PAIR, 9): supply,
    }


def test_supply_conservation() -> None:
    pre = {(BAL, 1, 1): 5, (SUPPLY, 1): 5}
    assert INVARIANTS["supply-conservation"](pre, pre, OK) is None
    broken = INVARIANTS["supply-conservation"](pre, {**pre, (BAL, 1, 2): 1}, OK)
    assert broken is not None
    assert broken.explain() == (
        "invariant supply-conservation violated: token 1: total supply 5 but balances sum to 6"
    )


def test_values_in_range() -> None:
    broken = INVARIANTS["uint256-range"]({}, {(BAL, 1, 1): MAX_UINT256 + 1}, OK)
    assert broken is not None and "erc20.bal:1:1" in broken.detail


def test_reverted_transactions_change_nothing() -> None:
    result = BlockResult({}, [Receipt(False, "no", ())], [TxTrace({}, {(BAL, 1, 1): 3})])
    broken = INVARIANTS["revert-changes-nothing"]({}, {}, result)
    assert broken is not None and "tx 0 reverted (no) but wrote erc20.bal:1:1" in broken.detail


def test_lp_share_value() -> None:
    check = INVARIANTS["amm-share-value"]
    assert check(pool(100, 100, 100), pool(110, 100, 100), OK) is None  # a swap's fee grows K
    assert check(pool(100, 100, 100), pool(50, 50, 50), OK) is None  # a pro-rata burn
    broken = check(pool(100, 100, 100), pool(99, 100, 100), OK)
    assert broken is not None and broken.invariant == "amm-share-value"


def test_indices_monotone() -> None:
    key = (BORROW_INDEX, 0)
    assert INVARIANTS["indices-monotone"]({key: 5}, {key: 6}, OK) is None
    broken = INVARIANTS["indices-monotone"]({key: 5}, {key: 4}, OK)
    assert broken is not None and "lend.borrow_index:0 fell from 5 to 4" in broken.detail
    assert check_invariants({key: 5}, {key: 4}, OK) == broken
