"""Which shard holds a state key.

- ``account`` (the default): a key that belongs to an account (a balance, an allowance's owner,
  a position, a vote) lives on that account's shard; contract-wide state (pool reserves, market
  indices, proposals) lives on the shard of the contract's id. Payments between accounts of one
  shard stay local; anything touching a contract's shared state usually crosses shards.
- ``key``: a stable hash of the whole key — the most even spread, and the most cross-shard
  traffic (the worst case for the commit protocol).

Both are stable across processes and runs (no Python ``hash``, which is salted per process).
A user may pass any ``shard_of(key, shards) -> int`` of their own.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from txlanes.models.context import Key
from txlanes.models.tx import KEY_SCHEMAS

Partitioner = Callable[[Key, int], int]

#: Key components that name the account a key belongs to, in order of preference.
ACCOUNT_COMPONENTS = ("account", "owner", "user", "voter")


def _mix(value: int) -> int:
    """A stable integer hash (splitmix64's finaliser) so consecutive ids spread over shards."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def by_account(key: Key, shards: int) -> int:
    schema = KEY_SCHEMAS.get(str(key[0]), ())
    for name in ACCOUNT_COMPONENTS:
        if name in schema:
            return _mix(int(key[1 + schema.index(name)])) % shards
    return _mix(int(key[1])) % shards if len(key) > 1 else 0


def by_key(key: Key, shards: int) -> int:
    return zlib.crc32(repr(key).encode()) % shards


PARTITIONERS: dict[str, Partitioner] = {"account": by_account, "key": by_key}
