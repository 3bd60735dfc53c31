"""Cancellation and refunds (docs/package.md §4, §6, docs/decisions.md §6).

A canceled lottery is refunded in batches that must end *exactly* at ``tickets_sold`` and
``proceeds_accum`` (archiving checks both), so the progress view carries the totals it is
measured against.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from autobot.domain.lotteries import LotteryStatus

__all__ = [
    "REFUND_FIRST_BATCH_SLA_SECS",
    "REFUND_FULL_SLA_SECS",
    "CancelReason",
    "Cancellation",
    "RefundProgress",
]

REFUND_FIRST_BATCH_SLA_SECS = 43_200
REFUND_FULL_SLA_SECS = 86_400


class CancelReason(enum.IntEnum):
    """Named reason codes; the chain accepts any non-zero u8, so records keep the raw int."""

    VRF_FAILURE = 1
    COMPLIANCE = 2
    OPERATIONS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancellation:
    """``views::get_cancellation(id)`` when some: the ``CancellationRecord``."""

    reason_code: int
    canceled_ts: int
    previous_status: LotteryStatus
    tickets_sold: int = 0
    proceeds_accum: int = 0

    @property
    def reason(self) -> CancelReason | None:
        """The named reason, or ``None`` for a code the package does not name."""
        try:
            return CancelReason(self.reason_code)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundProgress:
    """``views::get_refund_progress(id)`` (zeros without sales state; ``active`` never resets)."""

    active: bool = False
    refund_round: int = 0
    tickets_refunded: int = 0
    prize_refunded: int = 0
    operations_refunded: int = 0
    last_refund_ts: int = 0
    tickets_sold: int = 0
    proceeds_accum: int = 0

    @property
    def remaining_tickets(self) -> int:
        """``tickets_sold - tickets_refunded`` (never negative)."""
        return max(0, self.tickets_sold - self.tickets_refunded)

    @property
    def amount_refunded(self) -> int:
        """Cumulative prize + operations refunds."""
        return self.prize_refunded + self.operations_refunded

    @property
    def remaining_amount(self) -> int:
        """``proceeds_accum`` not yet refunded (never negative)."""
        return max(0, self.proceeds_accum - self.amount_refunded)

    @property
    def complete(self) -> bool:
        """What ``archive_canceled_lottery_admin`` requires (§4).

        No tickets sold: nothing to do. Otherwise every ticket refunded, at least one round,
        a batch timestamp, and the full proceeds refunded.
        """
        if self.tickets_sold == 0:
            return True
        return (
            self.tickets_refunded == self.tickets_sold
            and self.refund_round > 0
            and self.last_refund_ts > 0
            and self.amount_refunded >= self.proceeds_accum
        )

    def sla_breached(self, cancellation: Cancellation | None, now: int) -> bool:
        """One lottery's contribution to §6 ``refund_sla_breach``."""
        if not self.active or cancellation is None:
            return False
        if self.refund_round == 0:
            return now > cancellation.canceled_ts + REFUND_FIRST_BATCH_SLA_SECS
        return (
            self.tickets_refunded < self.tickets_sold
            and now > cancellation.canceled_ts + REFUND_FULL_SLA_SECS
        )
