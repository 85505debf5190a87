"""Witnesses: for each (kind, revert reason) pair of the spec, a small workload that reaches it.

Random generation meets a revert that needs a deep state (a pool whose reserves no longer fit
112 bits, a borrow at the edge of its collateral, an option past its expiry) once in thousands
of examples, or never. So the pairs are reached by a search (checker/witness_search.py), once,
and what it finds is committed here (``witnesses.json``): the ``witnesses`` profile runs every
witness through every engine first, then witnesses with random transactions added among theirs
(docs/coverage.md). A one-line bug on a rare revert path of an engine fails the default check
instead of passing it. Regenerate with ``make witnesses`` when the spec changes; the tests fail
when a committed witness no longer reaches what it claims.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from txlanes.models.context import Key
from txlanes.models.workload import Block, Workload, block_from_json, block_to_json
from txlanes.models.world import World

#: The world witnesses start from: a few accounts, so the search meets its own writes.
ACCOUNTS = 4
PATH = Path(__file__).with_name("witnesses.json")
FORMAT, VERSION = "txlanes-witnesses", 1

Pair = tuple[str, str]


@dataclass(frozen=True)
class Witness:
    """A workload from the world's genesis (``ACCOUNTS`` accounts) and the pairs it reaches."""

    reaches: tuple[Pair, ...]
    blocks: tuple[Block, ...]

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(tx.KIND for block in self.blocks for tx in block.txs)

    @property
    def workload(self) -> Workload:
        return Workload(genesis(), list(self.blocks))


@functools.cache
def _genesis() -> dict[Key, int]:
    return World(ACCOUNTS).genesis()


def genesis() -> dict[Key, int]:
    """The witnesses' genesis (a fresh copy: engines and runs may write to theirs)."""
    return dict(_genesis())


# -- the committed corpus -----------------------------------------------------------------------


@functools.cache
def load(path: Path = PATH) -> tuple[Witness, ...]:
    obj = json.loads(path.read_text(encoding="utf-8"))
    assert obj["format"] == FORMAT and obj["version"] == VERSION and obj["accounts"] == ACCOUNTS
    return tuple(
        Witness(
            tuple((kind, reason) for kind, reason in entry["reaches"]),
            tuple(block_from_json(b, f"witnesses[{i}]") for b in entry["blocks"]),
        )
        for i, entry in enumerate(obj["witnesses"])
    )


def save(witnesses: Iterable[Witness], path: Path = PATH) -> None:
    entries = [
        {"reaches": [list(p) for p in w.reaches], "blocks": [block_to_json(b) for b in w.blocks]}
        for w in witnesses
    ]
    obj = {"format": FORMAT, "version": VERSION, "accounts": ACCOUNTS, "witnesses": entries}
    path.write_text(json.dumps(obj, indent=0) + "\n", encoding="utf-8")
