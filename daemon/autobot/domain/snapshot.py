"""Everything the planners read, at one chain time.

``Snapshot`` is the read layer's output and the planners' only input (``plan(snapshot, now)``).
The gateway fills it from the chain; tests build it directly, which is why every field but the
time has a default and ``Snapshot.build`` computes the overview from the lotteries given.

``compute_overview`` recomputes ``views::status_overview`` with the exact §6 formulas, so the
daemon can also produce filtered variants (e.g. excluding terminal lotteries) and tests can check
the chain's numbers against the per-lottery views.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from autobot.domain.bots import Bot
from autobot.domain.draws import VrfState, VrfStatus, WinnerProgress
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatus
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.values import ChainTime

__all__ = ["LotteryView", "Snapshot", "StatusOverview", "compute_overview"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusOverview:
    """``views::status_overview(now_ts)``: counts by status plus the §6 health counters."""

    total: int = 0
    draft: int = 0
    active: int = 0
    closing: int = 0
    draw_requested: int = 0
    drawn: int = 0
    payout: int = 0
    finalized: int = 0
    canceled: int = 0
    vrf_requested: int = 0
    vrf_fulfilled_pending: int = 0
    vrf_retry_blocked: int = 0
    winners_pending: int = 0
    payout_backlog: int = 0
    refund_active: int = 0
    refund_batch_pending: int = 0
    refund_sla_breach: bool = False

    def count(self, status: LotteryStatus) -> int:
        """The per-status counter for ``status``."""
        return int(getattr(self, _STATUS_FIELDS[status]))


_STATUS_FIELDS: dict[LotteryStatus, str] = {
    LotteryStatus.DRAFT: "draft",
    LotteryStatus.ACTIVE: "active",
    LotteryStatus.CLOSING: "closing",
    LotteryStatus.DRAW_REQUESTED: "draw_requested",
    LotteryStatus.DRAWN: "drawn",
    LotteryStatus.PAYOUT: "payout",
    LotteryStatus.FINALIZED: "finalized",
    LotteryStatus.CANCELED: "canceled",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LotteryView:
    """Every per-lottery view autobot reads, for one lottery id."""

    lottery_id: int
    status: LotteryStatus
    config: LotteryConfig
    snapshot_frozen: bool = False
    accounting: Accounting = field(default_factory=Accounting)
    vrf: VrfState = field(default_factory=VrfState)
    winners: WinnerProgress = field(default_factory=WinnerProgress)
    refund: RefundProgress = field(default_factory=RefundProgress)
    cancellation: Cancellation | None = None
    archived: bool = False  # a LotterySummary exists (archive_canceled_lottery_admin / finalize)

    @property
    def tickets_sold(self) -> int:
        """Tickets sold, as the sales state reports it (through the refund progress view)."""
        return self.refund.tickets_sold

    @property
    def proceeds(self) -> int:
        """``proceeds_accum``: the amount refunds must add up to."""
        return self.refund.proceeds_accum


def compute_overview(lotteries: Iterable[LotteryView], now: int) -> StatusOverview:
    """``status_overview(now)`` over ``lotteries``, by the §6 definitions."""
    counts = dict.fromkeys(_STATUS_FIELDS.values(), 0)
    total = vrf_requested = retry_blocked = fulfilled_pending = 0
    winners_pending = payout_backlog = refund_active = refund_batch_pending = 0
    sla_breach = False
    for lottery in lotteries:
        total += 1
        counts[_STATUS_FIELDS[lottery.status]] += 1
        if lottery.vrf.status == VrfStatus.REQUESTED:
            vrf_requested += 1
            if lottery.vrf.retry_blocked(now):
                retry_blocked += 1
        elif lottery.vrf.fulfilled_pending:
            fulfilled_pending += 1
        if lottery.winners.winners_pending:
            winners_pending += 1
        if lottery.winners.payout_backlog:
            payout_backlog += 1
        if lottery.refund.active:
            refund_active += 1
            refund_batch_pending += lottery.refund.remaining_tickets
            sla_breach = sla_breach or lottery.refund.sla_breached(lottery.cancellation, now)
    return StatusOverview(
        total=total,
        vrf_requested=vrf_requested,
        vrf_fulfilled_pending=fulfilled_pending,
        vrf_retry_blocked=retry_blocked,
        winners_pending=winners_pending,
        payout_backlog=payout_backlog,
        refund_active=refund_active,
        refund_batch_pending=refund_batch_pending,
        refund_sla_breach=sla_breach,
        **counts,
    )


def _freeze[K, V](items: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(items))


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The chain as autobot saw it at ``time`` (one chain-time read, then the views).

    ``feeds`` is keyed by asset id, ``lotteries`` by lottery id; ``bots`` keeps the chain's order.
    ``cap`` is ``None`` when no PayoutBatchCap is issued.
    """

    time: ChainTime
    overview: StatusOverview = field(default_factory=StatusOverview)
    bots: tuple[Bot, ...] = ()
    feeds: Mapping[int, PriceFeed] = field(default_factory=dict)
    deposit: VrfDepositStatus = field(default_factory=VrfDepositStatus)
    cap: PayoutBatchCap | None = None
    lotteries: Mapping[int, LotteryView] = field(default_factory=dict)
    features: FeatureSwitch = field(default_factory=FeatureSwitch)  # default: no switch, no check

    def __post_init__(self) -> None:
        object.__setattr__(self, "feeds", _freeze(self.feeds))
        object.__setattr__(self, "lotteries", _freeze(self.lotteries))

    @property
    def now(self) -> int:
        """Chain time in seconds: the ``now_ts`` every call of this snapshot uses."""
        return self.time.seconds

    @property
    def height(self) -> int:
        """The block height the chain time was read at."""
        return self.time.height

    def bot(self, operator: str) -> Bot | None:
        """The bot registered for ``operator`` (a normalised address), if any."""
        return next((b for b in self.bots if b.operator == operator), None)

    @classmethod
    def build(
        cls,
        *,
        now: int,
        height: int = 1,
        lotteries: Iterable[LotteryView] = (),
        bots: Iterable[Bot] = (),
        feeds: Iterable[PriceFeed] = (),
        deposit: VrfDepositStatus | None = None,
        cap: PayoutBatchCap | None = None,
        features: FeatureSwitch | None = None,
    ) -> Snapshot:
        """A snapshot for tests: the overview is computed from ``lotteries`` at ``now``."""
        views = tuple(lotteries)
        return cls(
            time=ChainTime(seconds=now, height=height),
            overview=compute_overview(views, now),
            bots=tuple(bots),
            feeds={f.asset_id: f for f in feeds},
            deposit=deposit if deposit is not None else VrfDepositStatus(),
            cap=cap,
            lotteries={v.lottery_id: v for v in views},
            features=features if features is not None else FeatureSwitch(),
        )
