"""txlanes.executor.multicore — optimistic execution on forked processes, finalized in order."""

from .engine import MultiCoreEngine

__all__ = ["MultiCoreEngine"]
