"""The equivalence checker names the first diverging transaction, key, values and writers."""

from __future__ import annotations

import copy

from txlanes.checker.equivalence import first_divergence
from txlanes.executor import PRE_STATE, BlockResult, Receipt, SequentialEngine
from txlanes.models import Block
from txlanes.models.erc20 import BAL, Transfer

T = 1
STATE = {(BAL, T, 1): 100}
BLOCK = Block((Transfer(1, T, 2, 10), Transfer(2, T, 3, 4)))


def reference() -> BlockResult:
    return SequentialEngine().execute(BLOCK, STATE)


def test_identical_results_have_no_divergence() -> None:
    assert first_divergence(reference(), reference(), BLOCK.txs, STATE) is None


def test_stale_read_names_tx_key_values_and_writers() -> None:
    observed = copy.deepcopy(reference())
    observed.traces[1].reads[(BAL, T, 2)] = PRE_STATE  # tx 1 missed tx 0's credit
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None
    assert (found.tx_index, found.aspect, found.key) == (1, "read", (BAL, T, 2))
    assert (found.expected_writer, found.observed_writer) == (0, PRE_STATE)
    assert (found.expected, found.observed) == (10, 0)
    text = found.explain()
    assert "tx 1 (erc20.transfer sender=2, token=1, to=3, amount=4)" in text
    assert "read erc20.bal:1:2 from the write of tx 0" in text
    assert "but from the pre-state in the engine: expected 10, observed 0" in text


def test_receipt_write_and_state_divergences() -> None:
    observed = copy.deepcopy(reference())
    observed.receipts[0] = Receipt(False, "ERC20: transfer amount exceeds balance", ())
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None and (found.tx_index, found.aspect) == (0, "receipt")

    observed = copy.deepcopy(reference())
    observed.traces[1].writes[(BAL, T, 3)] = 5
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None
    assert (found.tx_index, found.aspect, found.expected, found.observed) == (1, "write", 4, 5)

    observed = copy.deepcopy(reference())
    del observed.writes[(BAL, T, 3)]
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None
    assert (found.tx_index, found.aspect, found.key) == (None, "state", (BAL, T, 3))
    assert found.observed == "absent"


def test_extra_read_and_missing_receipts_are_divergences() -> None:
    observed = copy.deepcopy(reference())
    observed.traces[0].reads[(BAL, T, 9)] = PRE_STATE
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None and (found.aspect, found.key, found.expected_writer) == (
        "read",
        (BAL, T, 9),
        None,
    )
    observed = copy.deepcopy(reference())
    observed.receipts.pop()
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None and "receipts" in found.explain()


def test_without_traces_only_receipts_and_state_count() -> None:
    observed = copy.deepcopy(reference())
    observed.traces.clear()
    assert first_divergence(reference(), observed, BLOCK.txs, STATE, traces=False) is None


def test_a_key_read_twice_from_two_writers_is_a_non_repeatable_read() -> None:
    observed = copy.deepcopy(reference())
    first = observed.traces[1]
    # tx 1 read its own balance from tx 0's write, and again from the pre-state
    observed.traces[1] = first._replace(rereads=(((BAL, T, 2), PRE_STATE),))
    found = first_divergence(reference(), observed, BLOCK.txs, STATE)
    assert found is not None
    assert (found.tx_index, found.aspect, found.key) == (1, "repeatable read", (BAL, T, 2))
    assert (found.expected_writer, found.observed_writer) == (0, PRE_STATE)
    assert (found.expected, found.observed) == (10, 0)
    assert "read erc20.bal:1:2 twice in one incarnation" in found.explain()


def test_a_repeated_read_of_the_same_version_is_fine() -> None:
    observed = copy.deepcopy(reference())
    observed.traces[1] = observed.traces[1]._replace(rereads=(((BAL, T, 2), 0),))
    assert first_divergence(reference(), observed, BLOCK.txs, STATE) is None
