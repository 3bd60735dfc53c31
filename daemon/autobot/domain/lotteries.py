"""Lotteries: status, configuration and accounting (docs/package.md §2.1, §6).

Only the parts autobot decides on are typed: the sales window and auto-close policy (auto-close),
the prize plan (``rng_count`` and the number of winners), the VRF retry policy (draw retries) and
the sales split plus accounting (refund amounts). Opaque blobs (reward payloads, backend config)
are kept as bytes so nothing is lost, but nothing reads them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from autobot.domain.draws import RetryPolicy

__all__ = [
    "Accounting",
    "AutoClosePolicy",
    "LotteryConfig",
    "LotteryStatus",
    "LotteryStatusView",
    "PrizeSlot",
    "SalesDistribution",
]


class LotteryStatus(enum.IntEnum):
    """``types::STATUS_*``; transitions in ``TRANSITIONS`` (``is_transition_allowed``)."""

    DRAFT = 0
    ACTIVE = 1
    CLOSING = 2
    DRAW_REQUESTED = 3
    DRAWN = 4
    PAYOUT = 5
    FINALIZED = 6
    CANCELED = 7

    @property
    def is_terminal(self) -> bool:
        """FINALIZED and CANCELED accept no transition."""
        return self in (LotteryStatus.FINALIZED, LotteryStatus.CANCELED)

    def can_become(self, next_status: LotteryStatus) -> bool:
        """``lottery_registry::is_transition_allowed``."""
        return next_status in TRANSITIONS[self]


TRANSITIONS: dict[LotteryStatus, frozenset[LotteryStatus]] = {
    LotteryStatus.DRAFT: frozenset({LotteryStatus.ACTIVE, LotteryStatus.CANCELED}),
    LotteryStatus.ACTIVE: frozenset({LotteryStatus.CLOSING, LotteryStatus.CANCELED}),
    LotteryStatus.CLOSING: frozenset(
        {LotteryStatus.DRAW_REQUESTED, LotteryStatus.FINALIZED, LotteryStatus.CANCELED}
    ),
    LotteryStatus.DRAW_REQUESTED: frozenset({LotteryStatus.DRAWN, LotteryStatus.CANCELED}),
    LotteryStatus.DRAWN: frozenset({LotteryStatus.PAYOUT, LotteryStatus.CANCELED}),
    LotteryStatus.PAYOUT: frozenset({LotteryStatus.FINALIZED, LotteryStatus.CANCELED}),
    LotteryStatus.FINALIZED: frozenset(),
    LotteryStatus.CANCELED: frozenset(),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LotteryStatusView:
    """``views::get_lottery_status(id)``."""

    status: LotteryStatus
    snapshot_frozen: bool = False
    primary_type: int = 0
    tags_mask: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PrizeSlot:
    """One prize-plan slot; ``winners_per_slot`` is a u16 on-chain."""

    slot_id: int
    winners_per_slot: int
    reward_type: int = 0
    reward_payload: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesDistribution:
    """How each sale is split, in basis points (the four sum to 10 000)."""

    prize_bps: int = 10_000
    jackpot_bps: int = 0
    operations_bps: int = 0
    reserve_bps: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoClosePolicy:
    """Stored but never read on-chain (§2.1). Enabled: autobot closes at ``sales_end + grace``;
    disabled: the lottery is never closed automatically ("closing by hand"). The default (tests'
    convenience) is enabled without grace; the chain's value is always read."""

    enabled: bool = True
    grace_period_secs: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LotteryConfig:
    """``views::get_lottery(id)`` (the package's ``Config``)."""

    sales_start: int
    sales_end: int
    ticket_price: int = 1
    max_tickets_total: int = 0
    max_tickets_per_address: int = 0
    prize_plan: tuple[PrizeSlot, ...] = (PrizeSlot(slot_id=0, winners_per_slot=1),)
    distribution: SalesDistribution = field(default_factory=SalesDistribution)
    auto_close: AutoClosePolicy = field(default_factory=AutoClosePolicy)
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    winners_dedup: bool = True
    draw_algo: int = 0
    primary_type: int = 0
    tags_mask: int = 0
    config_version: int = 1
    run_id: int = 0
    event_slug: bytes = b""
    series_code: bytes = b""
    reward_backend_type: int = 0
    reward_backend_blob: bytes = b""

    @property
    def rng_count(self) -> int:
        """Random numbers one draw requests: the prize plan's length (must be 1..255)."""
        return len(self.prize_plan)

    @property
    def winners_total(self) -> int:
        """``total_required`` of the winner progress: the sum of ``winners_per_slot``."""
        return sum(slot.winners_per_slot for slot in self.prize_plan)

    @property
    def close_after(self) -> int:
        """The last second of sales, plus the grace period when auto-close is enabled.

        Auto-close is due when ``now > close_after`` (§11 "Auto-close").
        """
        grace = self.auto_close.grace_period_secs if self.auto_close.enabled else 0
        return self.sales_end + grace


@dataclass(frozen=True, slots=True, kw_only=True)
class Accounting:
    """``views::accounting_snapshot(id)``; refunds do not touch it (§4)."""

    total_sales: int = 0
    total_allocated: int = 0
    total_prize_paid: int = 0
    total_operations_paid: int = 0
    total_operations_allocated: int = 0
    jackpot_allowance_token: int = 0
