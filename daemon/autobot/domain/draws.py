"""The draw: VRF request state, retry policy and winner progress (docs/package.md §2.2-§2.6, §5.1).

``compute_retry_schedule`` mirrors the package's function of the same name exactly, so a planner
can predict ``retry_after_ts`` before it asks, and tests can check the localnet against it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "E_VRF_PENDING",
    "MAX_VRF_ATTEMPTS",
    "RetryPolicy",
    "RetryStrategy",
    "VrfState",
    "VrfStatus",
    "WinnerProgress",
    "compute_retry_schedule",
    "retry_delay",
]

E_VRF_PENDING = 0x1701
"""A request while the VRF is REQUESTED (or FULFILLED, not consumed): under the strict contract
a draw whose callback never comes meets it for ever (docs/decisions.md §1)."""

MAX_VRF_ATTEMPTS = 5
"""At a stored ``attempt >= 5`` the next ``request_draw_admin`` runs the exhaustion path."""


class VrfStatus(enum.IntEnum):
    IDLE = 0
    REQUESTED = 1
    FULFILLED = 2
    FAILED = 3


class RetryStrategy(enum.IntEnum):
    FIXED = 0
    EXPONENTIAL = 1
    MANUAL = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """A lottery's ``vrf_retry_policy`` (default FIXED / 600 / 600)."""

    strategy: RetryStrategy = RetryStrategy.FIXED
    base_delay_secs: int = 600
    max_delay_secs: int = 600


def retry_delay(policy: RetryPolicy, attempt: int) -> int:
    """Seconds to wait after request number ``attempt`` (the new attempt, 1-based).

    FIXED, or the first attempt: ``base``. EXPONENTIAL: ``base`` doubled ``attempt - 1`` times,
    each step saturating at ``max``: a value already ``>= max`` or ``> max / 2`` (integer
    division, as Move does it) becomes ``max``. MANUAL has no delay (returns 0).
    """
    if policy.strategy == RetryStrategy.MANUAL:
        return 0
    delay = policy.base_delay_secs
    if policy.strategy == RetryStrategy.FIXED or attempt <= 1:
        return delay
    cap = policy.max_delay_secs
    for _ in range(attempt - 1):
        if delay >= cap or delay > cap // 2:
            return cap
        delay *= 2
    return delay


def compute_retry_schedule(policy: RetryPolicy, now: int, attempt: int) -> int:
    """The ``retry_after_ts`` the package stores for request number ``attempt`` made at ``now``.

    MANUAL → 0 (an operator must schedule with ``schedule_manual_retry_admin``); otherwise
    ``now + retry_delay(policy, attempt)``. Example base 300 / max 1800, attempts 1-5:
    +300, +600, +1200, +1800, +1800.
    """
    if policy.strategy == RetryStrategy.MANUAL:
        return 0
    return now + retry_delay(policy, attempt)


@dataclass(frozen=True, slots=True, kw_only=True)
class VrfState:
    """``draw::vrf_state_view(id)``; a lottery without draw state reads IDLE, consumed, zeros."""

    status: VrfStatus = VrfStatus.IDLE
    attempt: int = 0
    consumed: bool = True
    retry_after_ts: int = 0
    retry_strategy: RetryStrategy = RetryStrategy.FIXED
    last_request_ts: int = 0
    request_id: int = 0

    def retry_blocked(self, now: int) -> bool:
        """``vrf_retry_blocked`` of §6: requested, unconsumed, inside its retry window."""
        return (
            self.status == VrfStatus.REQUESTED
            and not self.consumed
            and self.retry_after_ts > 0
            and self.retry_after_ts > now
        )

    @property
    def fulfilled_pending(self) -> bool:
        """``vrf_fulfilled_pending`` of §6: numbers arrived, winners not yet started."""
        return self.status == VrfStatus.FULFILLED and not self.consumed

    @property
    def exhausted(self) -> bool:
        """The next request would run the exhaustion path (VRF FAILED, auto-cancel reason 1)."""
        return self.attempt >= MAX_VRF_ATTEMPTS

    def retry_due(self, now: int) -> bool:
        """Requested without a callback and the retry moment has come (intent variant)."""
        return (
            self.status == VrfStatus.REQUESTED
            and self.retry_after_ts > 0
            and now >= self.retry_after_ts
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WinnerProgress:
    """``payouts::winner_progress(id)``."""

    initialized: bool = False
    total_required: int = 0
    total_assigned: int = 0
    payout_round: int = 0
    next_winner_batch_no: int = 0
    last_payout_ts: int = 0

    @property
    def winners_pending(self) -> bool:
        """§6 ``winners_pending``: initialised and not every winner assigned."""
        return self.initialized and self.total_required > self.total_assigned

    @property
    def remaining(self) -> int:
        """Winners still to assign (0 when not initialised)."""
        return max(0, self.total_required - self.total_assigned) if self.initialized else 0

    @property
    def payout_backlog(self) -> bool:
        """§6 ``payout_backlog``: more winner batches than payout rounds."""
        return self.initialized and self.next_winner_batch_no > self.payout_round

    @property
    def payout_round_gap(self) -> int:
        """§5.1 ``next_winner_batch_no - payout_round`` (may be negative on-chain; kept signed)."""
        return self.next_winner_batch_no - self.payout_round
