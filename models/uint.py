"""Solidity 0.8 checked arithmetic over unsigned 256-bit integers.

The spec does all arithmetic that can leave [0, 2**256-1] through these helpers so that an
out-of-range result reverts (as checked arithmetic does) instead of silently wrapping. They take
``ctx`` because a revert is a ``ctx.require``: the symbolic context turns each one into a path
condition, so the proofs see exactly the overflow checks the engines run.
"""

from __future__ import annotations

import math
from typing import Any

from .context import Checks

MAX_UINT256 = 2**256 - 1


def add(ctx: Checks, a: int, b: int) -> int:
    """``a + b``, reverting on overflow."""
    c = a + b
    ctx.require(c <= MAX_UINT256, "arithmetic overflow")
    return c


def sub(ctx: Checks, a: int, b: int, reason: str = "arithmetic underflow") -> int:
    """``a - b``, reverting with ``reason`` when ``b > a``."""
    ctx.require(a >= b, reason)
    return a - b


def mul(ctx: Checks, a: int, b: int) -> int:
    """``a * b``, reverting on overflow."""
    c = a * b
    ctx.require(c <= MAX_UINT256, "arithmetic overflow")
    return c


def div(ctx: Checks, a: int, b: int) -> int:
    """Floor ``a // b``, reverting on division by zero (Solidity panics)."""
    ctx.require(b != 0, "division by zero")
    return a // b


def isqrt(x: Any) -> Any:
    """Floor square root (Uniswap's Babylonian ``sqrt``).

    Concrete ints use :func:`math.isqrt`; any other value must interpret ``__isqrt__`` (the
    symbolic context does), so an uninterpretable value fails loudly rather than being skipped.
    """
    if isinstance(x, int):
        return math.isqrt(x)
    interpret = getattr(x, "__isqrt__", None)
    if interpret is None:
        raise TypeError(f"isqrt cannot interpret a value of type {type(x).__name__}")
    return interpret()
