"""Seeded generators of large, simple workloads (for ``txlanes gen`` and the benchmark).

Hypothesis strategies (txlanes.checker) are the way to *search* for bugs; these are the way to
produce one big reproducible workload fast, e.g. 100,000 transfers over 1,000 accounts.
"""

from __future__ import annotations

import random

from .context import BlockEnv, Key
from .erc20 import ADMIN, BAL, SUPPLY, Transfer
from .uint import MAX_UINT256
from .workload import Block, Workload

TOKEN = 1
TOKEN_ADMIN = 1_000_000
FIRST_ACCOUNT = 1
INITIAL_BALANCE = 10**24


def funded_accounts(accounts: int, token: int = TOKEN) -> dict[Key, int]:
    """Genesis for ``accounts`` holders of ``token``, each with INITIAL_BALANCE; supply matches."""
    state: dict[Key, int] = {
        (BAL, token, FIRST_ACCOUNT + i): INITIAL_BALANCE for i in range(accounts)
    }
    state[(SUPPLY, token)] = INITIAL_BALANCE * accounts
    state[(ADMIN, token)] = TOKEN_ADMIN
    return state


def transfers(
    *, txs: int, accounts: int, seed: int = 0, block_size: int | None = None, fee: int = 0
) -> Workload:
    """``txs`` random ERC-20 transfers among ``accounts`` funded accounts.

    ``fee`` > 0 makes every transaction pay a fee to one recipient: the classic hot key.
    """
    if txs < 0 or accounts < 2:
        raise ValueError("transfers needs txs >= 0 and accounts >= 2")
    if block_size is not None and block_size < 1:  # else range() drops every transaction
        raise ValueError(f"transfers needs a block size >= 1, got {block_size}")
    if not 0 <= fee <= MAX_UINT256:  # else a file the workload format rejects
        raise ValueError(f"transfers needs a fee in 0..2**256-1, got {fee}")
    rng = random.Random(seed)
    hi = FIRST_ACCOUNT + accounts - 1
    all_txs = [
        Transfer(
            rng.randint(FIRST_ACCOUNT, hi),
            TOKEN,
            rng.randint(FIRST_ACCOUNT, hi),
            rng.randint(0, 10**18),
        )
        for _ in range(txs)
    ]
    size = block_size or max(txs, 1)
    fees = {"fee_recipient": TOKEN_ADMIN, "fee_token": TOKEN, "fee": fee} if fee else {}
    blocks = [
        Block(tuple(all_txs[i : i + size]), BlockEnv(i // size + 1, 12 * (i // size), **fees))
        for i in range(0, txs, size)
    ]
    return Workload(funded_accounts(accounts), blocks)
