"""Everything the planners read, at one chain time.

``Snapshot`` is the read layer's output and the planners' only input (``plan(snapshot, now)``).
The gateway fills it from the chain; tests build it directly, which is why every field but the
time has a default and ``Snapshot.build`` computes the overview from the lotteries given.

``compute_overview`` recomputes ``views::status_overview`` with the exact §6 formulas (a client
of the published package has no other way to get it: docs/package.md §6a), and its filtered
variant (``exclude_terminal=True``) leaves out finalized and archived lotteries, whose §6 counters
never age out (§10.10); ``with_terminal`` adds such lotteries back by their status alone, and
``live_overview`` is the two together: what the daemon exports (``watchlist.py`` keeps it with
``OverviewTally``; ``autobot status``). ``ChainActivity`` is what storage tells cheaply
about what has happened since a moment: event-handle counters and the registry's lengths.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from autobot.domain.bots import Bot
from autobot.domain.draws import VrfState, VrfStatus, WinnerProgress
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatus
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.values import ChainTime

__all__ = [
    "ChainActivity",
    "LotteryView",
    "OverviewTally",
    "Snapshot",
    "StatusOverview",
    "compute_overview",
    "live_overview",
    "with_terminal",
]


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
    def is_terminal(self) -> bool:
        """Finalized, or canceled and archived: nothing more happens to it."""
        return self.status == LotteryStatus.FINALIZED or (
            self.status == LotteryStatus.CANCELED and self.archived
        )

    @property
    def tickets_sold(self) -> int:
        """Tickets sold, as the sales state reports it (through the refund progress view)."""
        return self.refund.tickets_sold

    @property
    def proceeds(self) -> int:
        """``proceeds_accum``: the amount refunds must add up to."""
        return self.refund.proceeds_accum


def compute_overview(
    lotteries: Iterable[LotteryView], now: int, *, exclude_terminal: bool = False
) -> StatusOverview:
    """``status_overview(now)`` over ``lotteries``, by the §6 definitions.

    ``exclude_terminal``: the filtered variant, leaving out finalized lotteries and archived
    canceled ones (``LotteryView.is_terminal``) altogether.
    """
    counts = dict.fromkeys(_STATUS_FIELDS.values(), 0)
    total = vrf_requested = retry_blocked = fulfilled_pending = 0
    winners_pending = payout_backlog = refund_active = refund_batch_pending = 0
    sla_breach = False
    for lottery in lotteries:
        if exclude_terminal and lottery.is_terminal:
            continue
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


def with_terminal(
    overview: StatusOverview, terminal: Mapping[LotteryStatus, int]
) -> StatusOverview:
    """``overview`` plus lotteries known terminal, counted by status (and in ``total``) only:
    their VRF, winner and refund counters are left out (docs/package.md §10.10: they never age
    out of the package's own overview)."""
    changes: dict[str, int] = {
        _STATUS_FIELDS[status]: overview.count(status) + n for status, n in terminal.items() if n
    }
    changes["total"] = overview.total + sum(terminal.values())
    return replace(overview, **changes)  # type: ignore[arg-type]  # only the int counters


def live_overview(
    lotteries: Iterable[LotteryView],
    now: int,
    *,
    terminal: Mapping[LotteryStatus, int] | None = None,
) -> StatusOverview:
    """The overview autobot exports (its sweep, ``autobot status``): the §6 formulas over the
    live lotteries of ``lotteries``, plus the terminal ones — those among ``lotteries`` and the
    ``terminal`` counts known from elsewhere (the journal) — by status alone."""
    views = list(lotteries)
    counts = Counter(v.status for v in views if v.is_terminal)
    counts.update(terminal or {})
    return with_terminal(compute_overview(views, now, exclude_terminal=True), counts)


class OverviewTally:
    """``live_overview`` kept up to date one lottery at a time, for many kept views.

    ``set(view)`` replaces a lottery's contribution, ``discard(id)`` removes it; ``overview(now,
    terminal=...)`` costs the lotteries whose counters depend on ``now`` (VRF requests in their
    retry window, open refunds against their SLA), not every lottery kept. The counters that only
    a transaction changes are sums kept as views come and go. Equals ``live_overview`` over the
    views set (``tests/unit/domain``).
    """

    def __init__(self) -> None:
        self._views: dict[int, LotteryView] = {}
        self._sums: Counter[str] = Counter()
        self._requested: dict[int, VrfState] = {}  # REQUESTED: retry_blocked depends on now
        self._refunding: dict[int, LotteryView] = {}  # refund active: the SLA depends on now

    def __len__(self) -> int:
        return len(self._views)

    def set(self, view: LotteryView) -> None:
        self.discard(view.lottery_id)
        if view.is_terminal:
            return
        self._views[view.lottery_id] = view
        self._sums.update(_contribution(view))
        if view.vrf.status == VrfStatus.REQUESTED:
            self._requested[view.lottery_id] = view.vrf
        if view.refund.active:
            self._refunding[view.lottery_id] = view

    def discard(self, lottery_id: int) -> None:
        old = self._views.pop(lottery_id, None)
        if old is None:
            return
        self._sums.subtract(_contribution(old))
        self._requested.pop(lottery_id, None)
        self._refunding.pop(lottery_id, None)

    def overview(
        self, now: int, *, terminal: Mapping[LotteryStatus, int] | None = None
    ) -> StatusOverview:
        sums = self._sums
        live = StatusOverview(
            total=len(self._views),
            vrf_requested=sums["vrf_requested"],
            vrf_fulfilled_pending=sums["vrf_fulfilled_pending"],
            vrf_retry_blocked=sum(v.retry_blocked(now) for v in self._requested.values()),
            winners_pending=sums["winners_pending"],
            payout_backlog=sums["payout_backlog"],
            refund_active=sums["refund_active"],
            refund_batch_pending=sums["refund_batch_pending"],
            refund_sla_breach=any(
                v.refund.sla_breached(v.cancellation, now) for v in self._refunding.values()
            ),
            **{name: sums[name] for name in _STATUS_FIELDS.values()},
        )
        return with_terminal(live, terminal or {})


def _contribution(view: LotteryView) -> dict[str, int]:
    """A lottery's share of the overview's counters that do not depend on time."""
    out = {_STATUS_FIELDS[view.status]: 1}
    if view.vrf.status == VrfStatus.REQUESTED:
        out["vrf_requested"] = 1
    elif view.vrf.fulfilled_pending:
        out["vrf_fulfilled_pending"] = 1
    if view.winners.winners_pending:
        out["winners_pending"] = 1
    if view.winners.payout_backlog:
        out["payout_backlog"] = 1
    if view.refund.active:
        out["refund_active"] = 1
        out["refund_batch_pending"] = view.refund.remaining_tickets
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainActivity:
    """What the package's storage says has happened, read cheaply with its resources.

    ``events``: the ``counter`` of every event handle in the resources read, by event type
    (``"history::VrfRequestedEvent"``): how many such events the package has emitted, so a type
    whose counter did not move has no new event to scan. ``registered``: the lotteries in
    ``Registry.ordered_ids``; ``summarised``: those in ``ArchiveLedger.ordered_ids``.
    """

    events: Mapping[str, int] = field(default_factory=dict)
    registered: int = 0
    summarised: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", _freeze(self.events))


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
    activity: ChainActivity | None = None  # None: not read (a snapshot built by a test)

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
