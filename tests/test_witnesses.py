"""The spec's witnesses (checker/witnesses.py): each committed witness reaches the pairs it
claims, the search that grows them finds and shrinks witnesses, and the ``witnesses`` profile
runs every one of them through an engine before it generates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from txlanes.checker.campaign import Campaign
from txlanes.checker.coverage import expected
from txlanes.checker.example import run_example
from txlanes.checker.profiles import CONTENTION
from txlanes.checker.witness_search import reached, search, shrink
from txlanes.checker.witnesses import load
from txlanes.executor.registry import resolve
from txlanes.executor.result import BlockResult, Receipt
from txlanes.executor.sequential import SequentialEngine
from txlanes.models.context import Key
from txlanes.models.workload import Block

WITNESSES = next(c for c in CONTENTION if c.witnesses)


def test_every_committed_witness_reaches_what_it_claims() -> None:
    """A change to the spec that moves a revert path fails here: regrow with make witnesses."""
    wanted, reference = set(expected()), resolve("sequential")
    for witness in load():
        assert witness.reaches, witness
        assert set(witness.reaches) <= reached(witness.blocks) & wanted, witness
        # the spec itself passes it: every invariant holds (an engine can be judged on it)
        assert run_example(reference, witness.workload, 2, None) is None, witness


def test_the_search_finds_pairs_and_shrinks_each_witness() -> None:
    found = search(2.0, seed_=3, generated=30)
    assert len(found) >= 20  # generated workloads alone reach dozens of pairs
    for pair, blocks in list(found.items())[:10]:
        small = shrink(list(blocks), pair)
        assert pair in reached(small)
        assert sum(len(b.txs) for b in small) <= sum(len(b.txs) for b in blocks)
        # shrunk: no single transaction can go (each one is needed to reach the pair)
        for b, block in enumerate(small):
            for i in range(len(block.txs)):
                txs = block.txs[:i] + block.txs[i + 1 :]
                rest = [*small[:b], Block(txs, block.env), *small[b + 1 :]]
                assert pair not in reached([x for x in rest if x.txs])


def test_the_profile_runs_every_fitting_witness_first() -> None:
    erc20_only = frozenset({"erc20.transfer", "erc20.approve", "erc20.transfer_from"})
    shape = WITNESSES.restricted(erc20_only)
    assert shape is not None
    fitting = shape.fitting_witnesses()
    assert fitting and all(w.kinds <= erc20_only for w in fitting)
    assert len(fitting) < len(load())
    budget = len(fitting) + 3
    (outcome,) = Campaign([resolve("sequential")], contentions=(shape,), examples=budget).run()
    assert outcome.failure is None and outcome.examples == len(fitting) + budget
    # a budget below the witnesses' count runs that many of them
    (outcome,) = Campaign([resolve("sequential")], contentions=(shape,), examples=2).run()
    assert outcome.examples == 2 + 2


class _RenamesOneRareRevert(SequentialEngine):
    """Right everywhere but on one revert path random generation does not reach: the reason of
    an AMM reserve overflow is reported as a failed K check."""

    name = "renames-overflow"

    def execute(self, block: Block, state: Mapping[Key, int]) -> BlockResult:
        result = super().execute(block, state)
        result.receipts = [
            Receipt(r.ok, "UniswapV2: K", r.events) if r.reason == "UniswapV2: OVERFLOW" else r
            for r in result.receipts
        ]
        return result


def test_a_wrong_reason_on_a_rare_path_fails_the_witnesses_profile() -> None:
    assert any(reason == "UniswapV2: OVERFLOW" for w in load() for _, reason in w.reaches), (
        "a witness of the AMM's reserve overflow"
    )
    target = dataclasses.replace(resolve("sequential"), build=lambda *_: _RenamesOneRareRevert())
    (outcome,) = Campaign([target], contentions=(WITNESSES,)).run()  # the default budget
    assert outcome.failure is not None and "UniswapV2: OVERFLOW" in outcome.failure.message
    assert outcome.failure.txs <= 6  # the witness, shrunk
