"""txlanes.executor.multicore — chunks speculated on forked processes, validated in order."""

from .engine import MultiCoreEngine

__all__ = ["MultiCoreEngine"]
