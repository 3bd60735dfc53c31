"""The host clock, injected like every other collaborator (docs/conventions.md §5).

Two readings, never mixed up:

* ``wall()`` — seconds since the Unix epoch (UTC), from the host. Used for what the host decides:
  transaction expiry (docs/decisions.md §12: the SDK and the node compare expiry with wall time), journal
  wall timestamps, the incident log.
* ``monotonic()`` — seconds from an arbitrary origin that never goes backwards. Used for timeouts,
  backoff and "how long ago".

Chain time (docs/decisions.md §2) is neither: it comes from the gateway (``ChainGateway.chain_time()``) and is
what every ``now_ts`` argument of the package receives.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where the host's time comes from."""

    def wall(self) -> float:
        """Seconds since the Unix epoch (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never decreases."""
        ...


class SystemClock:
    """The real host clock."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when told to (tests).

    ``advance(seconds)`` moves both readings forward by the same amount; ``set_wall`` jumps the wall
    clock alone (as NTP can), never the monotonic one.
    """

    def __init__(self, *, wall: float = 1_700_000_000.0, monotonic: float = 1_000.0) -> None:
        self._wall = float(wall)
        self._monotonic = float(monotonic)

    def wall(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both readings forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError(f"a clock cannot advance by a negative amount ({seconds})")
        self._wall += seconds
        self._monotonic += seconds

    def set_wall(self, wall: float) -> None:
        """Jump the wall clock to ``wall`` (either direction); the monotonic reading stays."""
        self._wall = float(wall)

    def __repr__(self) -> str:
        return f"FakeClock(wall={self._wall}, monotonic={self._monotonic})"
