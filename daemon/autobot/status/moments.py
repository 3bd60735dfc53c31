"""Moments as people see them: chain time, and when the wall clock gets there.

The package compares every deadline with **chain time** (block timestamps), which need not run at
the wall clock's pace (the localnet's demo runs 60 chain seconds per wall second; a real chain's
blocks may lag). A ``Moment`` therefore carries the chain time (ISO-8601 UTC) and, for a moment
still ahead of the chain, the **expected** wall-clock time the chain reaches it, from the chain
clock autobot learned from the blocks it saw (``scheduling.ChainClockMap``). A past moment gets
no wall-clock estimate (the chain may not have existed then: the demo seeds lotteries days back in
chain time). The page counts down to the expected wall time.

The same rules in text, for the operator CLI and the daemon's log (``Clocks``): a chain-time moment
is always labelled ``chain time …``; one still ahead also says when it is expected on the wall
clock (``in 15 s (expected 2026-12-06 08:38:19 UTC; chain time 2026-12-06 10:53:28 UTC)``); a
time without a label is a wall-clock time. Raw unix seconds never reach a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ClockLine",
    "Clocks",
    "Moments",
    "chain_text",
    "countdown_text",
    "duration_text",
    "iso",
    "pretty",
    "wall_text",
]


def iso(ts: float) -> str:
    """``2025-01-31T12:00:00Z`` (whole seconds, UTC)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pretty(iso_text: str) -> str:
    """``2025-01-31T12:00:00Z`` → ``2025-01-31 12:00:00 UTC``."""
    return iso_text.replace("T", " ").replace("Z", " UTC")


def duration_text(seconds: float) -> str:
    """``45 s``, ``15 min``, ``2 h 5 min``, ``3 d 4 h`` (the sign is dropped)."""
    s = int(abs(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7_200:
        return f"{s // 60} min"
    if s < 172_800:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(s // 3_600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def countdown_text(seconds: float) -> str:
    """``in 45 s``, ``in 15 min``, ``in 2 h 5 min``, ``in 3 d 4 h``; ``due now`` once passed."""
    if int(seconds) <= 0:
        return "due now"
    return f"in {duration_text(seconds)}"


def wall_text(wall_ts: float) -> str:
    """A wall-clock moment: ``2025-01-31 12:00:00 UTC``."""
    return pretty(iso(wall_ts))


def chain_text(chain_ts: float) -> str:
    """A chain-time moment, labelled: ``chain time 2025-01-31 12:00:00 UTC``."""
    return f"chain time {pretty(iso(chain_ts))}"


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Clocks:
    """Both clocks at one instant, for text: the chain at ``chain_now`` (its latest block as read)
    at host wall time ``wall_now``, and the learned ``line`` (``None``: the chain's pace is not
    known, so chain-time moments are only labelled, never converted)."""

    chain_now: int
    wall_now: float
    line: ClockLine | None = None

    def expected_wall(self, chain_ts: int) -> float | None:
        """When the wall clock is expected to see chain time ``chain_ts`` (only ahead of now)."""
        if self.line is None or chain_ts <= self.chain_now:
            return None
        return self.line.wall_at(chain_ts)

    def moment(self, chain_ts: int) -> str:
        """A chain-time moment for people (see the module docstring)."""
        wall = self.expected_wall(chain_ts)
        if wall is not None:
            until = countdown_text(wall - self.wall_now)
            return f"{until} (expected {wall_text(wall)}; {chain_text(chain_ts)})"
        if chain_ts == self.chain_now:
            return f"{chain_text(chain_ts)} (the chain's latest block)"
        side = "ahead" if chain_ts > self.chain_now else "earlier"
        gap = duration_text(chain_ts - self.chain_now)
        return f"{chain_text(chain_ts)} ({gap} {side} in chain time)"

    def wall(self, wall_ts: float) -> str:
        """A wall-clock moment with how long ago (or until): ``… UTC (12 s ago)``."""
        gap = wall_ts - self.wall_now
        if abs(gap) < 1:
            return f"{wall_text(wall_ts)} (just now)"
        rel = f"in {duration_text(gap)}" if gap > 0 else f"{duration_text(gap)} ago"
        return f"{wall_text(wall_ts)} ({rel})"
