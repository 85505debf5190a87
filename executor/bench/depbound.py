"""The dependency-bound speedup: how fast any engine that respects the block's read-after-write
dependencies could go with unlimited cores, if every transaction cost the same.

Transaction j depends on i when j read a key whose value i wrote (the sequential trace records
the writer of every read). The longest chain of such dependencies must run one after another;
everything else could overlap. Total work over that chain bounds the speedup from above — for
engines that version writes (as Block-STM does) write-write and read-write order cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from txlanes.executor.result import TxTrace


@dataclass(frozen=True)
class DependencyBound:
    total: int  # transactions
    longest: int  # transactions on the longest dependency chain

    @property
    def speedup(self) -> float:
        return self.total / self.longest if self.longest else 1.0


def longest_chain(traces: Sequence[TxTrace]) -> int:
    """The number of transactions on the longest read-after-write chain of one block."""
    depth: list[int] = []
    for trace in traces:
        depth.append(1 + max((depth[i] for i in trace.reads.values() if i >= 0), default=0))
    return max(depth, default=0)


def dependency_bound(blocks: Sequence[Sequence[TxTrace]]) -> DependencyBound:
    """Over a workload's blocks, which run one after another: their totals and chains add up."""
    return DependencyBound(sum(map(len, blocks)), sum(map(longest_chain, blocks)))
