"""Prometheus metrics: the handbook's domain metrics and the daemon's own ``autobot_*`` metrics.

Domain metrics (handbook names, docs/package.md §7) are *derived state*: they are rendered at scrape time
from the last chain snapshot by ``SnapshotCollector``, so a lottery's series exist exactly while the
lottery is live and disappear with it — label cardinality is bounded by construction, and nothing
has to remember to delete a stale series. The daemon's own metrics are ordinary counters,
gauges and histograms registered on the injected ``CollectorRegistry``.

Labels are bounded: operator names, asset ids, live lottery ids, action kinds, guard names,
endpoint paths without parameters. Never transaction hashes, never error text, never key material.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from autobot import __version__
from autobot.domain.features import Feature
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class BotSample:
    operator: str
    failure_count: int
    max_failures: int
    success_streak: int
    reputation_score: int
    timelock_seconds: int
    pending: bool
    pending_age_seconds: float
    expires_at: int
    timelock_breach: bool
    pending_execute_after: int = 0
    timelock_high: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSample:
    asset_id: int
    price: float
    last_update_ts: int
    age_seconds: float
    staleness_window_seconds: int
    stale: bool
    clamp_active: bool
    fallback_active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundSample:
    lottery_id: int
    round: int
    remaining: int
    last_ts: int
    sla_breach: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainSample:
    """Everything the domain metrics show, computed once per tick from a snapshot."""

    bots: tuple[BotSample, ...] = ()
    feeds: tuple[FeedSample, ...] = ()
    refunds: tuple[RefundSample, ...] = ()
    payout_round_gaps: tuple[tuple[int, int], ...] = ()  # (lottery id, gap), live lotteries only
    operations_budget_remaining: int | None = None
    operations_budget_total: int | None = None
    vrf_effective_balance: int = 0
    vrf_required_minimum: int = 0
    vrf_requests_paused: bool = False
    vrf_total_balance: int = 0
    vrf_minimum_balance: int = 0
    vrf_effective_floor: int = 0
    vrf_paused_since: int = 0
    overview: dict[str, int] = field(default_factory=dict)  # status_overview fields by name
    feed_updates_total: dict[int, int] = field(
        default_factory=dict
    )  # asset id -> Updated events seen
    auto_close_disabled: tuple[int, ...] = ()  # live ACTIVE lotteries closed by hand
    features: dict[int, bool] = field(default_factory=dict)  # feature id -> lets calls through
    escalations: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, subject)
    open_incidents: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    """Per priority: open incidents, those past the SLA, the oldest's age in seconds."""
    playbook: PlaybookReport = field(default_factory=PlaybookReport)  # playbook_watch.py


_VRF_GAUGES: tuple[tuple[str, str, str], ...] = (
    # (metric, DomainSample attribute, help)
    (
        "vrf_effective_balance",
        "vrf_effective_balance",
        "dVRF deposit effective balance as last reported",
    ),
    (
        "vrf_required_minimum",
        "vrf_required_minimum",
        "dVRF deposit required minimum (minimum x multiplier)",
    ),
    (
        "vrf_requests_paused",
        "vrf_requests_paused",
        "1 while VRF requests are paused by the deposit guard",
    ),
    (
        "vrf_requests_paused_since_timestamp_seconds",
        "vrf_paused_since",
        "paused_since_ts: chain second the deposit guard paused requests (0 when not paused)",
    ),
    (
        "vrf_total_balance",
        "vrf_total_balance",
        "dVRF deposit total_balance as last reported (deposit snapshot)",
    ),
    (
        "vrf_minimum_balance",
        "vrf_minimum_balance",
        "dVRF deposit minimum_balance as last reported (deposit snapshot)",
    ),
    (
        "vrf_effective_floor",
        "vrf_effective_floor",
        "effective_floor of the deposit ledger's config: an effective balance below it pauses "
        "requests",
    ),
)
"""The deposit's gauges (the ``status_overview`` gauges follow them), one value each."""


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


class SnapshotCollector(Collector):
    """Renders the handbook's metrics from the latest ``DomainSample``."""

    def __init__(self) -> None:
        self._sample: DomainSample | None = None

    def update(self, sample: DomainSample) -> None:
        self._sample = sample

    def describe(self) -> Iterable[Metric]:
        return ()  # dynamic families: skip registry-time collision checks

    def collect(self) -> Iterator[Metric]:
        sample = self._sample
        if sample is None:
            return
        yield from self._bots(sample)
        yield from self._feeds(sample)
        yield from self._refunds(sample)
        yield from self._payouts(sample)
        yield from self._vrf(sample)
        yield from self._lotteries(sample)
        yield from self._attention(sample)
        yield from self._playbook(sample.playbook)

    @staticmethod
    def _bots(sample: DomainSample) -> Iterator[Metric]:
        specs: list[tuple[str, str, str]] = [
            (
                "automation_failure_count",
                "Consecutive failures of the bot (handbook name, kept although it ends in _count)",
                "failure_count",
            ),
            (
                "automation_max_failures",
                "Failure limit at which the bot is locked out",
                "max_failures",
            ),
            ("automation_success_streak", "Consecutive successful actions", "success_streak"),
            (
                "automation_reputation_score",
                "Reputation: +1 per success, -1 per failure",
                "reputation_score",
            ),
            (
                "automation_timelock_seconds",
                "Minimum delay from dry-run announce to execution",
                "timelock_seconds",
            ),
            ("automation_pending", "1 while the bot has an announced action pending", "pending"),
            (
                "automation_pending_age_seconds",
                "Seconds since the pending action was announced (0 without one)",
                "pending_age_seconds",
            ),
            (
                "automation_expires_at_timestamp_seconds",
                "Last valid second of the bot registration (unix time)",
                "expires_at",
            ),
            (
                "automation_timelock_breach",
                "1 when the bot allows actions 5/6/7 with a timelock under 900 s",
                "timelock_breach",
            ),
            (
                "automation_pending_execute_after_timestamp_seconds",
                "pending_execute_after: earliest chain second the pending action may run and be "
                "recorded (unix time; 0 without one)",
                "pending_execute_after",
            ),
            (
                "automation_timelock_high",
                "1 when the bot allows a non-sensitive action with a timelock over 600 s "
                "(needs manual confirmation)",
                "timelock_high",
            ),
        ]
        for name, doc, attr in specs:
            family = _gauge(name, doc, ["operator"])
            for bot in sample.bots:
                family.add_metric([bot.operator], float(getattr(bot, attr)))
            yield family

    @staticmethod
    def _feeds(sample: DomainSample) -> Iterator[Metric]:
        specs: list[tuple[str, str, str]] = [
            ("price_feed_price", "Last accepted price, scaled by the feed's decimals", "price"),
            (
                "price_feed_last_update_timestamp_seconds",
                "Chain time of the last accepted update (unix time)",
                "last_update_ts",
            ),
            (
                "price_feed_age_seconds",
                "Chain seconds since the last accepted update",
                "age_seconds",
            ),
            (
                "price_feed_staleness_window_seconds",
                "Age above which the feed is stale",
                "staleness_window_seconds",
            ),
            ("price_feed_stale", "1 when the feed is older than its staleness window", "stale"),
            ("price_feed_clamp_active", "1 while the feed's clamp is active", "clamp_active"),
            ("price_feed_fallback_active", "1 while the feed is in fallback", "fallback_active"),
        ]
        for name, doc, attr in specs:
            family = _gauge(name, doc, ["asset_id"])
            for feed in sample.feeds:
                family.add_metric([str(feed.asset_id)], float(getattr(feed, attr)))
            yield family
        updates = CounterMetricFamily(
            "price_feed_updates",
            "PriceFeedUpdatedEvent events counted from the chain's events (counted once, across "
            "restarts: the cursor is in the journal)",
            labels=["asset_id"],
        )
        for asset_id, count in sorted(sample.feed_updates_total.items()):
            updates.add_metric([str(asset_id)], float(count))
        yield updates

    @staticmethod
    def _refunds(sample: DomainSample) -> Iterator[Metric]:
        specs: list[tuple[str, str, str]] = [
            ("refund_progress_round", "Refund rounds applied so far", "round"),
            ("refund_progress_remaining", "Tickets sold but not yet refunded", "remaining"),
            (
                "refund_progress_last_timestamp_seconds",
                "Timestamp of the last refund batch (unix time, 0 before the first)",
                "last_ts",
            ),
            ("refund_sla_breach", "1 when the refund misses its 12 h / 24 h SLA", "sla_breach"),
        ]
        for name, doc, attr in specs:
            family = _gauge(name, doc, ["lottery_id"])
            for refund in sample.refunds:
                family.add_metric([str(refund.lottery_id)], float(getattr(refund, attr)))
            yield family

    @staticmethod
    def _payouts(sample: DomainSample) -> Iterator[Metric]:
        gap = _gauge(
            "payout_round_gap",
            "Winner batches minus payout rounds (next_winner_batch_no - payout_round), live lotteries",
            ["lottery_id"],
        )
        for lottery_id, value in sample.payout_round_gaps:
            gap.add_metric([str(lottery_id)], float(value))
        yield gap
        if sample.operations_budget_total is not None:
            # The handbook fixes the name ``operations_budget_total``; exposing it as a counter
            # (it only changes when the cap is re-issued, which Prometheus reads as a reset)
            # keeps ``promtool check metrics`` clean about the ``_total`` suffix.
            budget = CounterMetricFamily(
                "operations_budget",
                "PayoutBatchCap operations budget (resets when the cap is re-issued)",
            )
            budget.add_metric([], float(sample.operations_budget_total))
            yield budget
        if sample.operations_budget_remaining is not None:
            yield GaugeMetricFamily(
                "operations_budget_remaining",
                "PayoutBatchCap operations budget not yet used",
                value=float(sample.operations_budget_remaining),
            )

    @staticmethod
    def _playbook(report: PlaybookReport) -> Iterator[Metric]:
        return _playbook_families(report)

    @staticmethod
    def _vrf(sample: DomainSample) -> Iterator[Metric]:
        for name, attribute, documentation in _VRF_GAUGES:
            yield GaugeMetricFamily(name, documentation, value=float(getattr(sample, attribute)))
        for field_name, value in sorted(sample.overview.items()):
            name = (
                "status_overview_lotteries"
                if field_name == "total"
                else f"status_overview_{field_name}"
            )
            yield GaugeMetricFamily(
                name, f"views::status_overview field {field_name}", value=float(value)
            )

    @staticmethod
    def _lotteries(sample: DomainSample) -> Iterator[Metric]:
        closing = _gauge(
            "lottery_auto_close_disabled",
            "1 for a live ACTIVE lottery whose AutoClosePolicy is disabled: closed by hand, "
            "never automatically",
            ["lottery_id"],
        )
        for lottery_id in sample.auto_close_disabled:
            closing.add_metric([str(lottery_id)], 1.0)
        yield closing
        features = _gauge(
            "feature_switch_enabled",
            "1 when the package's feature switch lets the feature through (1 PURCHASE, 2 CLOSE, "
            "3 DRAW, 4 PAYOUT; every feature while no switch is initialised)",
            ["feature_id"],
        )
        for feature_id, enabled in sorted(sample.features.items()):
            features.add_metric([str(feature_id)], float(enabled))
        yield features

    @staticmethod
    def _attention(sample: DomainSample) -> Iterator[Metric]:
        escalations = _gauge(
            "autobot_escalations",
            "Things a person must look at now, by reason (an escalation kind, or parked_<kind> "
            "for a parked action) and subject (lottery, asset, operator, deposit)",
            ["reason", "subject"],
        )
        for (reason, subject), count in sorted(sample.escalations.items()):
            escalations.add_metric([reason, subject], float(count))
        yield escalations
        families = (
            _gauge("autobot_incidents_open", "Open incidents (things a person must look at), by priority",
                   ["priority"]),
            _gauge("autobot_incidents_open_over_sla",
                   "Open incidents older than their priority's SLA (high 24 h, medium 72 h)",
                   ["priority"]),
            _gauge("autobot_incidents_open_oldest_seconds",
                   "Wall seconds the oldest open incident of a priority has been open",
                   ["priority"]),
        )  # fmt: skip
        for priority, values in sorted(sample.open_incidents.items()):
            for family, value in zip(families, values, strict=True):
                family.add_metric([priority], float(value))
        yield from families


def _playbook_families(report: PlaybookReport) -> Iterator[Metric]:
    """The systems autobot watches and does not operate (``playbook_watch.py``)."""
    rate = _gauge(
        "sales_rate",
        "Tickets a minute over the last window, from TicketPurchaseEvent; lotteries selling now",
        ["lottery_id"],
    )
    for lottery_id, value in sorted(report.sales_rate.items()):
        rate.add_metric([str(lottery_id)], value)
    yield rate
    purchases = CounterMetricFamily(
        "sales_purchase_events", "TicketPurchaseEvent events read since the daemon started"
    )
    purchases.add_metric([], float(report.purchases_seen))
    yield purchases
    hits = CounterMetricFamily(
        "purchase_rate_limit_hits",
        "PurchaseRateLimitHitEvent events the chain kept, read once a minute. The package "
        "aborts right after emitting one, so this stays 0 (docs/package.md 10.16)",
    )
    hits.add_metric([], float(report.purchase_rate_limit_hits))
    yield hits
    pending = _gauge(
        "payout_finalize_pending_seconds",
        "Chain seconds a PAYOUT lottery has waited for finalize_lottery_admin",
        ["lottery_id"],
    )
    for lottery_id, seconds in sorted(report.payout_finalize_pending.items()):
        pending.add_metric([str(lottery_id)], float(seconds))
    yield pending
    rounds = _gauge("payout_round", "Payout batches recorded (winner_progress)", ["lottery_id"])
    for lottery_id, value in sorted(report.payout_rounds.items()):
        rounds.add_metric([str(lottery_id)], float(value))
    yield rounds
    regressions = CounterMetricFamily(
        "payout_round_regressions",
        "Times a lottery's payout_round was read lower than before (since the daemon started)",
    )
    regressions.add_metric([], float(report.payout_round_regressions))
    yield regressions
    mismatch = _gauge(
        "accounting_mismatch",
        "Accounting checks that fail for the lottery (autobot accounting LOTTERY shows them)",
        ["lottery_id"],
    )
    for lottery_id, count in sorted(report.accounting_mismatch.items()):
        mismatch.add_metric([str(lottery_id)], float(count))
    yield mismatch
    for name, doc, value in (
        ("partner_caps", "PartnerPayoutCaps in the RoleStore", report.partner_caps),
        (
            "partner_cap_expiring",
            "Partner payout caps expiring within 24 h (or expired), or with no budget left",
            report.partner_cap_expiring,
        ),
        ("premium_caps", "PremiumAccessCaps in the RoleStore", report.premium_caps),
        (
            "premium_cap_expiring",
            "Premium access caps expiring within 24 h (or expired)",
            report.premium_cap_expiring,
        ),
        (
            "status_overview_pending_dual_write",
            "Expected dual-write hashes waiting for their summary (pending_expected_hashes)",
            report.dual_write_expected,
        ),
        (
            "dual_write_pending",
            "Expected dual-write hashes waiting longer than 2 h",
            report.dual_write_pending,
        ),
        (
            "dual_write_mismatch",
            "Lotteries whose stored summary hashes otherwise than their expected hash",
            report.dual_write_mismatch,
        ),
        (
            "dual_write_mismatch_free_seconds",
            "Chain seconds since a dual-write mismatch was last seen (since the start if none); "
            "the stage-6 goal is over 7 days",
            report.dual_write_mismatch_free_seconds,
        ),
    ):
        yield GaugeMetricFamily(name, doc, value=float(value))


class DaemonMetrics:
    """The daemon's own metrics, registered on an injected registry.

    Label values known up front (``guards``; every ``action_kinds`` with every ``action_outcomes``) get their
    series at 0 from the start: ``increase()`` and ``rate()`` cannot see the first event of a
    series that appears at 1, so the first failed action of a kind would never fire
    ``AutobotActionsFailing``, and a panel would show "no data" instead of 0.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        guards: Iterable[str] = (),
        action_kinds: Iterable[str] = (),
        action_outcomes: Iterable[str] = (),
    ) -> None:
        self.registry = registry
        self.build_info = Info("autobot_build", "autobot build information", registry=registry)
        self.build_info.info({"version": __version__})
        self.actions = Counter(
            "autobot_actions",
            "Actions finished, by kind and outcome",
            ["kind", "outcome"],
            registry=registry,
        )
        self.reaction = Histogram(
            "autobot_action_reaction_seconds",
            "Wall seconds from an action's due time to the submission of its first transaction",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=registry,
        )
        self.guard_refusals = Counter(
            "autobot_guard_refusals",
            "Steps refused by an off-chain guard",
            ["guard"],
            registry=registry,
        )
        self.rpc_requests = Counter(
            "autobot_rpc_requests",
            "RPC request attempts by endpoint (configured host[:port]) and outcome (ok = answered)",
            ["endpoint", "outcome"],
            registry=registry,
        )
        self.rpc_duration = Histogram(
            "autobot_rpc_duration_seconds",
            "RPC request attempt duration by endpoint",
            ["endpoint"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.tick_duration = Histogram(
            "autobot_tick_duration_seconds",
            "Duration of one sweep (read, plan, execute)",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.last_tick = Gauge(
            "autobot_last_tick_timestamp_seconds",
            "Wall time of the last completed sweep (unix time)",
            registry=registry,
        )
        self.chain_lag = Gauge(
            "autobot_chain_time_lag_seconds",
            "Wall clock minus the latest block's chain time, scaled to wall seconds",
            registry=registry,
        )
        self.journal_actions = Gauge(
            "autobot_journal_actions", "Journaled actions by state", ["state"], registry=registry
        )
        self.sequence_resyncs = Counter(
            "autobot_sequence_resyncs", "Sequence numbers re-read from the chain", registry=registry
        )
        # [ha]: who leads. A single instance (no [ha]) leads once it has recovered (epoch 0).
        self.ha_leader = Gauge(
            "autobot_ha_leader",
            "1 while this instance leads (it may sign and send), 0 while it stands by",
            registry=registry,
        )
        self.ha_epoch = Gauge(
            "autobot_ha_epoch",
            "The leader lease's fencing epoch this instance leads under, or last saw (0: no lease)",
            registry=registry,
        )
        self.ha_lease_age = Gauge(
            "autobot_ha_lease_age_seconds",
            "Seconds since this instance last renewed (leading) or read (standing by) the leader "
            "lease; a leader stops signing at lease_seconds / 2 (0 without [ha])",
            registry=registry,
        )
        self.ha_takeovers = Counter(
            "autobot_ha_takeovers",
            "Leader lease takeovers by this instance (each starts a new fencing epoch)",
            registry=registry,
        )
        self.snapshot = SnapshotCollector()
        registry.register(self.snapshot)
        for guard in guards:
            self.guard_refusals.labels(guard)
        outcomes = tuple(action_outcomes)
        for kind in action_kinds:
            for outcome in outcomes:
                self.actions.labels(kind, outcome)

    def rpc_request(self, *, endpoint: str, outcome: str, seconds: float) -> None:
        """One RPC attempt (``autobot.chain.endpoints.RpcObserver``, given to the gateway)."""
        self.rpc_requests.labels(endpoint, outcome).inc()
        self.rpc_duration.labels(endpoint).observe(seconds)


def make_registry(*, process_collectors: bool = True) -> CollectorRegistry:
    """A fresh registry with the process and platform collectors (no global default registry)."""
    from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

    registry = CollectorRegistry(auto_describe=True)
    if process_collectors:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def sample_from_snapshot(
    snapshot: Snapshot,
    *,
    operator_names: Mapping[str, str],
    feed_updates_total: Mapping[int, int],
    escalations: Mapping[tuple[str, str], int] | None = None,
    open_incidents: Mapping[str, tuple[int, int, float]] | None = None,
    playbook: PlaybookReport | None = None,
) -> DomainSample:
    """Compute the handbook metrics from one snapshot (pure; called once per tick).

    ``operator_names`` maps bot addresses to configured names so the ``operator`` label stays
    short and stable; unknown bots are labelled by address (still bounded: the registry is small).
    """
    now = snapshot.time.seconds
    bots = tuple(
        BotSample(
            operator=operator_names.get(bot.operator, bot.operator),
            failure_count=bot.failure_count,
            max_failures=bot.max_failures,
            success_streak=bot.success_streak,
            reputation_score=bot.reputation_score,
            timelock_seconds=bot.timelock_secs,
            pending=bot.has_pending,
            pending_age_seconds=(
                max(0, now - (bot.pending_execute_after - bot.timelock_secs))
                if bot.has_pending
                else 0
            ),
            expires_at=bot.expires_at,
            timelock_breach=bot.timelock_breach,
            pending_execute_after=bot.pending_execute_after if bot.has_pending else 0,
            timelock_high=bot.timelock_high,
        )
        for bot in snapshot.bots
    )
    feeds = tuple(
        FeedSample(
            asset_id=feed.asset_id,
            price=feed.price / (10**feed.decimals),
            last_update_ts=feed.last_updated_ts,
            age_seconds=float(feed.age(now)),
            staleness_window_seconds=feed.staleness_window,
            stale=feed.is_stale(now),
            clamp_active=feed.clamp_active,
            fallback_active=feed.fallback_active,
        )
        for _, feed in sorted(snapshot.feeds.items())
    )
    refunds: list[RefundSample] = []
    gaps: list[tuple[int, int]] = []
    by_hand: list[int] = []
    for lottery_id, lottery in sorted(snapshot.lotteries.items()):
        refund = lottery.refund
        if lottery.status == LotteryStatus.CANCELED and refund.active and not refund.complete:
            refunds.append(
                RefundSample(
                    lottery_id=lottery_id,
                    round=refund.refund_round,
                    remaining=refund.remaining_tickets,
                    last_ts=refund.last_refund_ts,
                    sla_breach=refund.sla_breached(lottery.cancellation, now),
                )
            )
        if not lottery.status.is_terminal and lottery.winners.initialized:
            gaps.append((lottery_id, lottery.winners.payout_round_gap))
        if lottery.status == LotteryStatus.ACTIVE and not lottery.config.auto_close.enabled:
            by_hand.append(lottery_id)
    overview = {
        name: int(getattr(snapshot.overview, name))
        for name in snapshot.overview.__dataclass_fields__
    }
    cap = snapshot.cap
    deposit = snapshot.deposit
    return DomainSample(
        bots=bots,
        feeds=feeds,
        refunds=tuple(refunds),
        payout_round_gaps=tuple(gaps),
        operations_budget_remaining=cap.operations_budget_remaining if cap else None,
        operations_budget_total=cap.operations_budget_total if cap else None,
        vrf_effective_balance=deposit.effective_balance,
        vrf_required_minimum=deposit.required_minimum,
        vrf_requests_paused=deposit.requests_paused,
        vrf_total_balance=deposit.total_balance,
        vrf_minimum_balance=deposit.minimum_balance,
        vrf_effective_floor=deposit.effective_floor,
        vrf_paused_since=deposit.paused_since_ts if deposit.requests_paused else 0,
        overview=overview,
        feed_updates_total=dict(feed_updates_total),
        auto_close_disabled=tuple(by_hand),
        features={int(f): snapshot.features.refusal(f) is None for f in Feature},
        escalations=dict(escalations or {}),
        open_incidents=dict(open_incidents or {}),
        playbook=playbook if playbook is not None else PlaybookReport(),
    )
