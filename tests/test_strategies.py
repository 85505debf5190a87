"""The workload strategies: validated knobs, and knobs that change what is generated."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from txlanes.checker.strategies import GENERATORS, transactions, workloads
from txlanes.models import TX_TYPES, Tx, Workload
from txlanes.models.world import FIRST_ACCOUNT, TOKENS


@pytest.mark.parametrize(
    "kwargs",
    [
        {"accounts": 1},
        {"accounts": 10_001},
        {"accounts": True},
        {"hot_fraction": 1.5},
        {"hot_fraction": float("nan")},
        {"zipf": -1},
        {"mix": ["erc20.steal"]},
        {"mix": {"erc20.transfer": 0}},
        {"block_size": (5, 2)},
        {"blocks": 0},
        {"fee": -1},
    ],
)
def test_bad_knobs_raise_invalid_argument(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        workloads(**kwargs).example()  # type: ignore[arg-type]


def test_every_transaction_type_has_a_generator() -> None:
    assert set(GENERATORS) == set(TX_TYPES)


def sample(strategy: st.SearchStrategy[Tx], n: int = 300) -> list[Tx]:
    found: list[Tx] = []

    @settings(max_examples=n, database=None, derandomize=True)
    @given(strategy)
    def collect(tx: Tx) -> None:
        found.append(tx)

    collect()
    return found


def test_hot_fraction_concentrates_counterparties() -> None:
    mix = ["erc20.transfer"]
    cold = sample(transactions(accounts=1000, mix=mix))
    hot = sample(transactions(accounts=1000, hot_fraction=0.8, mix=mix))
    share = lambda txs: sum(t.to == FIRST_ACCOUNT for t in txs) / len(txs)  # type: ignore[attr-defined]  # noqa: E731
    assert share(hot) > 0.6 and share(hot) > share(cold) + 0.3


def test_zipf_skews_contracts_towards_the_first() -> None:
    txs = sample(transactions(accounts=10, zipf=2.0, mix=["erc20.transfer"]))
    counts = Counter(t.token for t in txs)  # type: ignore[attr-defined]
    # the first token most; the others (and the rare non-world tokens) share what is left
    assert counts[TOKENS[0]] > 2 * (counts[TOKENS[1]] + counts[TOKENS[2]])


def test_mix_weights_select_types() -> None:
    txs = sample(transactions(mix={"erc20.transfer": 3, "amm.sync": 1}))
    kinds = Counter(t.KIND for t in txs)
    assert set(kinds) == {"erc20.transfer", "amm.sync"}
    assert kinds["erc20.transfer"] > kinds["amm.sync"]


@settings(max_examples=20)
@given(workloads(blocks=3, block_size=(2, 4), fee=2))
def test_workload_shape(workload: Workload) -> None:
    assert len(workload.blocks) == 3
    assert all(2 <= len(b.txs) <= 4 for b in workload.blocks)
    assert all(b.env.fee == 2 and b.env.fee_recipient == FIRST_ACCOUNT for b in workload.blocks)
    assert [b.env.number for b in workload.blocks] == [2, 3, 4]
