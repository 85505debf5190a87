"""What a campaign generates: example budgets, contention profiles (the shapes of workloads)
and schedules. A profile is data, so a check, a mutant kill and a Ray task all generate the
same examples from the same names and seed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hypothesis import strategies as st

from txlanes.models.workload import Workload

from .schedules import SCHEDULES as SCHEDULES
from .strategies import GENERATORS, around_witnesses, workloads
from .witnesses import ACCOUNTS, Witness, load


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int
    thread_repetitions: int


PROFILES = {
    "ci": Profile("ci", 250, 2),
    "dev": Profile("dev", 1_000, 4),
    "stress": Profile("stress", 5_000, 8),
}


@dataclass(frozen=True)
class Contention:
    """A workload shape: Block-STM's sweep runs from 2 accounts (fully contended) upwards.

    Workloads are 1 to 3 blocks (a later block reads what an earlier one wrote: caches and
    state carried across a block boundary are exercised) whose environments vary: block
    numbers jump, the fee is sometimes off. ``block_size`` is (min, max): most blocks have at
    most 12 transactions, a few are large, up to the maximum (``strategies.LARGE_BLOCKS_PERCENT``),
    so that an engine's workers, chunks or shards all get some of a block.
    """

    name: str
    accounts: int
    hot_fraction: float = 0.0
    zipf: float = 0.0
    fee: int = 0
    mix: tuple[str, ...] | None = None  # None: every transaction type
    block_size: tuple[int, int] = (1, 200)
    blocks: tuple[int, int] = (1, 3)
    #: how much more often the spec's special values and cases are drawn (strategies._Pick)
    edges: int = 1
    #: run every witness of the spec (checker/witnesses.py) first, then generate around them
    witnesses: bool = False

    def fitting_witnesses(self) -> tuple[Witness, ...]:
        """The witnesses whose transactions are all of this shape's mix (none if it has none)."""
        if not self.witnesses:
            return ()
        kinds = frozenset(self.mix or GENERATORS)
        return tuple(w for w in load() if w.kinds <= kinds)

    def explicit(self) -> tuple[Workload, ...]:
        """Workloads every campaign of this shape runs before it generates any."""
        return tuple(w.workload for w in self.fitting_witnesses())

    def strategy(self) -> st.SearchStrategy[Workload]:
        if self.witnesses:
            return around_witnesses(self.fitting_witnesses(), mix=self.mix)
        return workloads(
            accounts=self.accounts,
            hot_fraction=self.hot_fraction,
            zipf=self.zipf,
            fee=self.fee,
            mix=self.mix,
            block_size=self.block_size,
            blocks=self.blocks,
            vary_env=True,
            edges=self.edges,
        )

    def restricted(self, kinds: frozenset[str] | None) -> Contention | None:
        """This shape with only the transaction kinds an engine supports; None if none is left."""
        if kinds is None:
            return self
        mix = tuple(kind for kind in (self.mix or sorted(GENERATORS)) if kind in kinds)
        shape = dataclasses.replace(self, mix=mix) if mix else None
        if shape is not None and self.witnesses and not shape.fitting_witnesses():
            return None
        return shape


CONTENTION = (
    Contention(
        "payments",
        accounts=3,
        hot_fraction=0.3,
        fee=1,
        mix=("erc20.transfer", "erc20.transfer_from", "erc20.approve"),
    ),
    Contention("contended", accounts=2),
    Contention("hot-key", accounts=50, hot_fraction=0.5, zipf=1.2, fee=1),
    Contention("low", accounts=1_000),
    # The middle of Block-STM's sweep: conflicts are neither everywhere nor nowhere.
    Contention("mid", accounts=8),
    # The spec's edges: boundary values, zero and fresh addresses, unknown ids and targeted
    # cases six times as often, to reach every (kind, revert reason) (docs/coverage.md).
    Contention("edges", accounts=4, edges=6),
    # Every (kind, revert reason) of the spec, each reached by a committed witness, run through
    # the engine as it is and with random transactions among its own (docs/coverage.md).
    Contention("witnesses", accounts=ACCOUNTS, witnesses=True),
)
