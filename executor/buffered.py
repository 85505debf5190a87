"""What every engine's ``ctx`` shares: writes buffered per transaction, checks, events.

Engines differ only in how they *read* (an overlay, multi-version memory, ...); the rest of the
context — a write buffer that reverts on out-of-range values, ``require``, ``emit`` — is this.
"""

from __future__ import annotations

from txlanes.models.context import Event, Key, Revert
from txlanes.models.uint import MAX_UINT256


class BufferedWrites:
    """Mixin for a ``Context``: subclasses define ``read`` and set ``writes`` and ``events``."""

    __slots__ = ()
    writes: dict[Key, int]
    events: list[Event]

    def write(self, key: Key, value: int) -> None:
        if not 0 <= value <= MAX_UINT256:
            raise Revert("uint256 out of range")
        self.writes[key] = value

    def require(self, condition: bool, reason: str) -> None:
        if not condition:
            raise Revert(reason)

    def emit(self, event: Event) -> None:
        self.events.append(event)
