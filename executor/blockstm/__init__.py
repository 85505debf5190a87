"""Block-STM (Gelashvili et al., PPoPP'23) on real threads or a deterministic runtime."""

from .engine import BlockSTMEngine
from .runtime import DeterministicRuntime, Hang, Runtime, Schedule, ThreadRuntime

__all__ = ["BlockSTMEngine", "DeterministicRuntime", "Hang", "Runtime", "Schedule", "ThreadRuntime"]
