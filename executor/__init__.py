"""txlanes.executor — HOW it runs: the engines, all behind ``Engine.execute(block, state)``."""

if __name__ != "txlanes.executor":  # e.g. "executor", with the repository root on sys.path
    raise ImportError(
        f"{__name__!r} is txlanes.executor under another name (is the repository root on"
        " sys.path?): import txlanes.executor instead. Two copies of a module have distinct"
        " classes, so an engine would reject the other copy's transactions (UnknownTransaction)."
    )

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
