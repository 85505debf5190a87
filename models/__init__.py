"""txlanes.models — WHAT runs: the executable DeFi state-transition spec and workloads.

Importing this package registers every transaction type of every protocol.
"""

if __name__ != "txlanes.models":  # the repository root on sys.path: a second copy of each module
    raise ImportError(f"import txlanes.models, not {__name__!r} (a second copy: other classes)")

from . import spec as _spec  # noqa: F401  (registers every protocol's transactions)
from .context import BlockEnv, Context, Event, Key, Revert
from .spec import execute_tx
from .tx import KEY_SCHEMAS, TX_TYPES, Tx, UnknownTransaction
from .uint import MAX_UINT256
from .workload import Block, Workload, WorkloadError, load_workload, save_workload

__all__ = [
    "KEY_SCHEMAS",
    "MAX_UINT256",
    "TX_TYPES",
    "Block",
    "BlockEnv",
    "Context",
    "Event",
    "Key",
    "Revert",
    "Tx",
    "UnknownTransaction",
    "Workload",
    "WorkloadError",
    "execute_tx",
    "load_workload",
    "save_workload",
]
