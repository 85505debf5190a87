"""txlanes.executor — HOW it runs: the engines, all behind ``Engine.execute(block, state)``."""

if __name__ != "txlanes.executor":  # the repository root on sys.path: a second copy of each module
    raise ImportError(f"import txlanes.executor, not {__name__!r} (a second copy: other classes)")

from .blockstm import BlockSTMEngine
from .registry import Target, TargetError, resolve
from .result import PRE_STATE, BlockResult, Engine, Receipt, TxTrace, apply_writes
from .run import RunResult, run_workload
from .sequential import SequentialEngine

__all__ = [
    "PRE_STATE",
    "BlockResult",
    "BlockSTMEngine",
    "Engine",
    "Receipt",
    "RunResult",
    "SequentialEngine",
    "Target",
    "TargetError",
    "TxTrace",
    "apply_writes",
    "resolve",
    "run_workload",
]
