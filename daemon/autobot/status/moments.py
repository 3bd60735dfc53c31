"""Moments as the status page shows them: chain time, and when the wall clock gets there.

The package compares every deadline with **chain time** (block timestamps), which need not run at
the wall clock's pace (the localnet's demo runs 60 chain seconds per wall second; a real chain's
blocks may lag). A ``Moment`` therefore carries the chain time (ISO-8601 UTC) and, for a moment
still ahead of the chain, the **expected** wall-clock time the chain reaches it, from the chain
clock autobot learned from the blocks it saw (``scheduling.ChainClockMap``). A past moment gets
no wall-clock estimate. The page counts down to the expected wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ClockLine", "Moments", "iso"]


def iso(ts: float) -> str:
    """``2025-01-31T12:00:00Z`` (whole seconds, UTC)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockLine:
    """The chain clock against the host's wall clock: chain time ``chain`` was (or is expected to
    be) reached at wall time ``wall``, and the chain advances ``rate`` chain seconds per wall
    second (``ChainClockMap.rate``)."""

    chain: float
    wall: float
    rate: float

    def wall_at(self, chain_ts: float) -> float:
        return self.wall + (chain_ts - self.chain) / self.rate


@dataclass(frozen=True, slots=True)
class Moments:
    """Chain second → ``Moment`` (``{"chain_time", "expected_wall_time"}``) as of chain time
    ``now``; ``expected_wall_time`` only for moments after ``now`` and with a known clock."""

    now: int
    clock: ClockLine | None

    def __call__(self, ts: int) -> dict[str, Any]:
        wall = None
        if self.clock is not None and ts > self.now:
            wall = iso(self.clock.wall_at(ts))
        return {"chain_time": iso(ts), "expected_wall_time": wall}

    def maybe(self, ts: int) -> dict[str, Any] | None:
        """A moment for a timestamp the package stores as 0 when unset."""
        return self(ts) if ts > 0 else None
