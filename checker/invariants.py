"""Invariants checked on every state a run produces, whatever engine produced it.

These hold of the spec itself (issue 5 proves them with z3); checking them on engine output
catches engines that corrupt state in ways that happen to agree with a buggy reference, and
gives a domain-level explanation ("token 1000 supply 3000000 but balances sum to 3000010").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from txlanes.executor.result import BlockResult
from txlanes.models import amm, erc20, lending, staking
from txlanes.models.context import Key
from txlanes.models.uint import MAX_UINT256
from txlanes.models.workload import key_to_str

State = Mapping[Key, int]


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def explain(self) -> str:
        return f"invariant {self.invariant} violated: {self.detail}"

    def to_json(self) -> dict[str, str]:
        return {"invariant": self.invariant, "detail": self.detail}


def supply_conserved(pre: State, post: State, result: BlockResult) -> Violation | None:
    """For every token, the balances sum to the total supply (mint and burn move both)."""
    totals: dict[int, int] = defaultdict(int)
    for key, value in post.items():
        if key[0] == erc20.BAL:
            totals[int(key[1])] += value
    tokens = {int(k[1]) for k in post if k[0] == erc20.SUPPLY} | set(totals)
    for token in sorted(tokens):
        supply = post.get((erc20.SUPPLY, token), 0)
        if totals[token] != supply:
            return Violation(
                "supply-conservation",
                f"token {token}: total supply {supply} but balances sum to {totals[token]}",
            )
    return None


def values_in_range(pre: State, post: State, result: BlockResult) -> Violation | None:
    for key, value in post.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_UINT256:
            return Violation("uint256-range", f"{key_to_str(key)} = {value!r}")
    return None


def reverts_change_nothing(pre: State, post: State, result: BlockResult) -> Violation | None:
    for index, (receipt, trace) in enumerate(zip(result.receipts, result.traces, strict=False)):
        if not receipt.ok and trace.writes:
            key = next(iter(trace.writes))
            return Violation(
                "revert-changes-nothing",
                f"tx {index} reverted ({receipt.reason}) but wrote {key_to_str(key)}",
            )
        if not receipt.ok and receipt.events:
            return Violation("revert-changes-nothing", f"tx {index} reverted but emitted events")
    return None


def lp_share_value_never_drops(pre: State, post: State, result: BlockResult) -> Violation | None:
    """Per Uniswap pair, reserve0*reserve1 per LP share squared never decreases: swaps grow K,
    and minting and burning round in the pool's favour. (With no burns, K itself never drops.)"""
    for key, supply_after in post.items():
        if key[0] != erc20.SUPPLY or (amm.TOKEN0, key[1]) not in post:
            continue
        pair = key[1]
        supply_before = pre.get(key, 0)
        if not supply_before or not supply_after:
            continue
        k_before = pre.get((amm.RESERVE0, pair), 0) * pre.get((amm.RESERVE1, pair), 0)
        k_after = post.get((amm.RESERVE0, pair), 0) * post.get((amm.RESERVE1, pair), 0)
        if k_after * supply_before**2 < k_before * supply_after**2:
            return Violation(
                "amm-share-value",
                f"pair {pair}: reserve product per LP share fell "
                f"(K {k_before} → {k_after}, LP supply {supply_before} → {supply_after})",
            )
    return None


def indices_monotone(pre: State, post: State, result: BlockResult) -> Violation | None:
    """Lending borrow indices and MasterChef's accRewardPerShare only grow."""
    for key, before in pre.items():
        if key[0] in (lending.BORROW_INDEX, staking.ACC_PER_SHARE) and post.get(key, 0) < before:
            return Violation(
                "indices-monotone", f"{key_to_str(key)} fell from {before} to {post.get(key, 0)}"
            )
    return None


Invariant = Callable[[State, State, BlockResult], Violation | None]

#: Every invariant, by name.
INVARIANTS: dict[str, Invariant] = {
    "supply-conservation": supply_conserved,
    "uint256-range": values_in_range,
    "revert-changes-nothing": reverts_change_nothing,
    "amm-share-value": lp_share_value_never_drops,
    "indices-monotone": indices_monotone,
}


def check_invariants(pre: State, post: State, result: BlockResult) -> Violation | None:
    """The first violated invariant of one block's transition, or None."""
    for invariant in INVARIANTS.values():
        found = invariant(pre, post, result)
        if found is not None:
            return found
    return None
