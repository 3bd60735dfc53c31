"""Which block times autobot adopts as chain time: no minority of endpoints moves its clock.

Chain time decides what autobot releases (a timelock passed, a retry window opened, a feed stale, an
SLA breached; docs/decisions.md §2), and the package checks none of it (§4 there): a node that says
the chain is an hour ahead would make autobot act an hour early. So a block time is **adopted**
only when it is plausible:

* **The pace line.** The first reading adopted anchors a line. With several endpoints it needs
  answers from a majority of them (two at least; the first read fails otherwise and is retried,
  so a liar alone at a start or restart cannot draw it): the earliest of their current blocks,
  never later than the quorum time below. From there chain time may advance as fast as the
  host's monotonic clock times ``time_scale`` (a real network: 1; a localnet: its
  ``--time-scale``), plus ``tolerance_seconds``. A reading above the line is *ahead*: its endpoint is quarantined
  (``ClockAhead``, ``EndpointPool.ran_ahead``) and the next endpoint is asked.
* **A majority moves the line.** When every endpoint asked is ahead, each usable endpoint is read
  and the chain time a majority of the configured endpoints (and at least two) reports at or
  above — the quorum time — is adopted and becomes the new anchor: the chain really moved (a halt
  ended, a localnet advanced), and the endpoints that agreed leave quarantine.
* **A majority below it wins.** When the others answer and a majority of them is behind the
  reading, the quorum time is adopted (the reading was a minority's).
* **Otherwise, held or capped.** With several endpoints configured but none to confirm (the
  others silent), the last adopted time is kept (a pause, not a jump). With one endpoint, the
  reading is capped at the line: autobot's clock keeps the wall clock's pace and no more. An
  honest jump is then followed late, never early; a lone liar gains at most the tolerance.

Pure: ``TimeGuard`` holds the anchor and judges readings; ``supra.py`` asks the endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autobot.domain.values import ChainTime

__all__ = ["ClockPolicy", "TimeGuard"]

_MICROS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockPolicy:
    time_scale: float = 1.0
    """Chain seconds per wall second (``[chain] time_scale``)."""
    tolerance_seconds: float = 30.0
    """How far (chain seconds) a reading may run ahead of the pace line
    (``[chain] clock_tolerance_seconds``)."""


class TimeGuard:
    """The pace line and the quorum rule (module doc). Times are µs of chain time; ``at`` is
    the host's monotonic clock in seconds when the reading was taken."""

    def __init__(self, policy: ClockPolicy) -> None:
        if policy.time_scale <= 0 or policy.tolerance_seconds < 0:
            raise ValueError("time_scale must be positive and the tolerance not negative")
        self.policy = policy
        self._anchor: tuple[int, float] | None = None  # (chain µs, monotonic seconds)

    @property
    def anchored(self) -> bool:
        return self._anchor is not None

    def limit(self, *, at: float) -> int | None:
        """The latest chain time (µs) plausible at ``at``; ``None`` before the first anchor."""
        if self._anchor is None:
            return None
        chain, since = self._anchor
        ahead = max(0.0, at - since) * self.policy.time_scale + self.policy.tolerance_seconds
        return chain + int(ahead * _MICROS)

    def plausible(self, reading: ChainTime, *, at: float) -> bool:
        limit = self.limit(at=at)
        return limit is None or reading.micros <= limit

    def anchor(self, reading: ChainTime, *, at: float) -> None:
        """Draw the line through ``reading`` (the first one, or a quorum's)."""
        self._anchor = (reading.micros, at)

    def cap(self, reading: ChainTime, *, at: float) -> ChainTime:
        """``reading`` no later than the line allows (its height kept)."""
        limit = self.limit(at=at)
        if limit is None or reading.micros <= limit:
            return reading
        return ChainTime.from_micros(limit, height=reading.height, observed_at=reading.observed_at)

    @staticmethod
    def quorum(readings: Sequence[ChainTime], *, configured: int) -> ChainTime | None:
        """The latest time that a majority of the ``configured`` endpoints (two at least)
        reports at or above; ``None`` without such a majority among ``readings``."""
        need = max(2, configured // 2 + 1)
        if len(readings) < need:
            return None
        ordered = sorted(readings, key=lambda r: r.micros, reverse=True)
        return ordered[need - 1]
