"""What a campaign generates: example budgets, contention profiles (the shapes of workloads)
and schedules. A profile is data, so a check, a mutant kill and a Ray task all generate the
same examples from the same names and seed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hypothesis import strategies as st

from txlanes.executor.blockstm import Schedule
from txlanes.models.workload import Workload

from .strategies import GENERATORS, workloads


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
    """A workload shape: Block-STM's sweep runs from 2 accounts (fully contended) upwards."""

    name: str
    accounts: int
    hot_fraction: float = 0.0
    zipf: float = 0.0
    fee: int = 0
    mix: tuple[str, ...] | None = None  # None: every transaction type

    def strategy(self) -> st.SearchStrategy[Workload]:
        return workloads(
            accounts=self.accounts,
            hot_fraction=self.hot_fraction,
            zipf=self.zipf,
            fee=self.fee,
            mix=self.mix,
            block_size=(1, 12),
        )

    def restricted(self, kinds: frozenset[str] | None) -> Contention | None:
        """This shape with only the transaction kinds an engine supports; None if none is left."""
        if kinds is None:
            return self
        mix = tuple(kind for kind in (self.mix or sorted(GENERATORS)) if kind in kinds)
        return dataclasses.replace(self, mix=mix) if mix else None


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
)


#: Schedules: an explicit prefix (shrinkable), then either a seeded random stream (fine to
#: coarse interleavings) or PCT with a few priority change points.
SCHEDULES = st.one_of(
    st.builds(
        Schedule,
        st.lists(st.integers(0, 3), max_size=64),
        st.integers(0, 2**32 - 1),
        st.sampled_from([0.0, 0.9, 0.99]),
    ),
    st.builds(
        Schedule,
        st.just([]),
        st.integers(0, 2**32 - 1),
        st.just(0.0),
        st.integers(1, 4),
        st.sampled_from([200, 1_000, 5_000]),
    ),
)
