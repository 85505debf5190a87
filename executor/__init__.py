"""txlanes.executor — HOW it runs: the engines, all behind ``Engine.execute(block, state)``."""

from .blockstm import BlockSTMEngine
from .result import PRE_STATE, BlockResult, Engine, Receipt, TxTrace, apply_writes
from .run import ENGINES, EngineOptions, RunResult, make_engine, run_workload
from .sequential import SequentialEngine

__all__ = [
    "ENGINES",
    "PRE_STATE",
    "BlockResult",
    "BlockSTMEngine",
    "Engine",
    "EngineOptions",
    "Receipt",
    "RunResult",
    "SequentialEngine",
    "TxTrace",
    "apply_writes",
    "make_engine",
    "run_workload",
]
