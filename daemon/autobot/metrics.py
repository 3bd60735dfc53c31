"""Prometheus metrics: the handbook's domain metrics and the daemon's own ``autobot_*`` metrics.

Domain metrics (handbook names, docs/package.md §7) are *derived state*: they are rendered at scrape time
from the last chain snapshot by ``SnapshotCollector``, so a lottery's series exist exactly while the
lottery is live and disappear with it (``accounting_mismatch``: only while a check fails) — label
cardinality is bounded by construction, and nothing has to remember to delete a stale series. The daemon's own metrics are ordinary counters,
gauges and histograms registered on the injected ``CollectorRegistry``.

Labels are bounded: operator names, asset ids, live lottery ids, action kinds, guard names,
endpoint paths without parameters. Never transaction hashes, never error text, never key material.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.registry import Collector

from autobot import __version__
from autobot.domain.features import Feature
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import LotteryView, Snapshot


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


@dataclass(frozen=True, slots=True)
class _LotteryFamily:
    """A gauge family with one series per lottery (label ``lottery_id``)."""

    name: str
    doc: str
    rows: Sequence[tuple[int, float]]  # (lottery id, value), by lottery id


class SnapshotCollector(Collector):
    """Renders the handbook's metrics from the latest ``DomainSample``.

    ``render`` is what ``/metrics`` calls: the families with a series per lottery (thousands at
    10,000 lotteries: ``sales_rate`` alone has one per selling lottery) are written by
    ``_lottery_text`` straight from the sample, the same bytes ``prometheus_client``'s encoders
    write for them at a fraction of the cost (a series is one formatted line, not a ``Sample``
    with a label dict escaped and sorted); the other families go through the encoder.
    ``collect`` (any other reader of the registry) yields every family."""

    def __init__(self) -> None:
        self._sample: DomainSample | None = None
        self._local = threading.local()  # set while ``render`` runs the encoder in this thread

    def update(self, sample: DomainSample) -> None:
        self._sample = sample

    def describe(self) -> Iterable[Metric]:
        return ()  # dynamic families: skip registry-time collision checks

    def collect(self) -> Iterator[Metric]:
        pinned: DomainSample | None = getattr(self._local, "sample", None)
        sample = pinned if pinned is not None else self._sample
        if sample is None:
            return
        yield from self._bots(sample)
        yield from self._feeds(sample)
        yield from self._payouts(sample)
        yield from self._vrf(sample)
        yield from self._features(sample)
        yield from self._attention(sample)
        yield from _playbook_families(sample.playbook)
        if pinned is None:  # render writes these itself
            for family in _lottery_families(sample):
                gauge = _gauge(family.name, family.doc, ["lottery_id"])
                for lottery_id, value in family.rows:
                    gauge.add_metric([str(lottery_id)], value)
                yield gauge

    def render(
        self, encoder: Callable[[CollectorRegistry], bytes], registry: CollectorRegistry
    ) -> bytes:
        """``registry`` (which holds this collector) as ``encoder`` writes it
        (``prometheus_client.exposition.choose_encoder``: text 0.0.4 or OpenMetrics)."""
        sample = self._sample
        if sample is None:
            return encoder(registry)
        self._local.sample = sample
        try:
            body = encoder(registry)
        finally:
            self._local.sample = None
        openmetrics = getattr(encoder, "func", encoder) is openmetrics_latest
        text = _lottery_text(_lottery_families(sample), openmetrics=openmetrics).encode()
        if openmetrics:
            if not body.endswith(_EOF):
                raise ValueError("an OpenMetrics exposition without its # EOF line")
            return body[: -len(_EOF)] + text + _EOF
        return body + text

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
    def _payouts(sample: DomainSample) -> Iterator[Metric]:
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
    def _features(sample: DomainSample) -> Iterator[Metric]:
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
    """The systems autobot watches and does not operate (``playbook_watch.py``); their families
    with a series per lottery are in ``_lottery_families``."""
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
    regressions = CounterMetricFamily(
        "payout_round_regressions",
        "Times a lottery's payout_round was read lower than before (since the daemon started)",
    )
    regressions.add_metric([], float(report.payout_round_regressions))
    yield regressions
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


def _lottery_families(sample: DomainSample) -> list[_LotteryFamily]:
    """Every family with a series per lottery, in the order ``render`` writes them."""
    refunds = sample.refunds
    report = sample.playbook
    return [
        _LotteryFamily(
            "refund_progress_round",
            "Refund rounds applied so far",
            [(r.lottery_id, float(r.round)) for r in refunds],
        ),
        _LotteryFamily(
            "refund_progress_remaining",
            "Tickets sold but not yet refunded",
            [(r.lottery_id, float(r.remaining)) for r in refunds],
        ),
        _LotteryFamily(
            "refund_progress_last_timestamp_seconds",
            "Timestamp of the last refund batch (unix time, 0 before the first)",
            [(r.lottery_id, float(r.last_ts)) for r in refunds],
        ),
        _LotteryFamily(
            "refund_sla_breach",
            "1 when the refund misses its 12 h / 24 h SLA",
            [(r.lottery_id, float(r.sla_breach)) for r in refunds],
        ),
        _LotteryFamily(
            "payout_round_gap",
            "Winner batches minus payout rounds (next_winner_batch_no - payout_round), live lotteries",
            [(i, float(gap)) for i, gap in sample.payout_round_gaps],
        ),
        _LotteryFamily(
            "lottery_auto_close_disabled",
            "1 for a live ACTIVE lottery whose AutoClosePolicy is disabled: closed by hand, "
            "never automatically",
            [(i, 1.0) for i in sample.auto_close_disabled],
        ),
        _LotteryFamily(
            "sales_rate",
            "Tickets a minute over the last window, from TicketPurchaseEvent; lotteries selling now",
            sorted(report.sales_rate.items()),
        ),
        _LotteryFamily(
            "payout_finalize_pending_seconds",
            "Chain seconds a PAYOUT lottery has waited for finalize_lottery_admin",
            [(i, float(v)) for i, v in sorted(report.payout_finalize_pending.items())],
        ),
        _LotteryFamily(
            "payout_round",
            "Payout batches recorded (winner_progress)",
            [(i, float(v)) for i, v in sorted(report.payout_rounds.items())],
        ),
        _LotteryFamily(
            "accounting_mismatch",
            "Accounting checks that fail for the lottery (autobot accounting LOTTERY shows them); "
            "lotteries whose books add up have no series",
            [(i, float(v)) for i, v in sorted(report.accounting_mismatch.items())],
        ),
    ]


_EOF = b"# EOF\n"


def _lottery_text(families: Iterable[_LotteryFamily], *, openmetrics: bool) -> str:
    """The families as the encoders write gauges: ``# HELP`` (escaped as the format wants),
    ``# TYPE``, then ``name{lottery_id="N"} value`` with the value as Go prints a float."""
    out: list[str] = []
    for family in families:
        doc = family.doc.replace("\\", r"\\").replace("\n", r"\n")
        if openmetrics:
            doc = doc.replace('"', r"\"")
        name = family.name
        out.append(f"# HELP {name} {doc}\n# TYPE {name} gauge\n")
        head = name + '{lottery_id="'
        out.extend(f'{head}{i}"}} {_go_float(v)}\n' for i, v in family.rows)
    return "".join(out)


def _go_float(value: float) -> str:
    """A value as ``prometheus_client.utils.floatToGoString`` writes it (Go's float format)."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go writes an exponent sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


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
        self.gave_way = Counter(
            "autobot_gave_way_seconds",
            "Wall seconds background steps held their requests back for an urgent one (a close)",
            registry=registry,
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
    """Compute the handbook metrics from one snapshot (pure: a fresh ``DomainSampler``).

    ``operator_names`` maps bot addresses to configured names so the ``operator`` label stays
    short and stable; unknown bots are labelled by address (still bounded: the registry is small).
    """
    return DomainSampler().sample(
        snapshot,
        operator_names=operator_names,
        feed_updates_total=feed_updates_total,
        escalations=escalations,
        open_incidents=open_incidents,
        playbook=playbook,
    )


@dataclass(frozen=True, slots=True)
class _LotteryRows:
    """What one lottery view adds to the per-lottery families (``None``: no series)."""

    refund: RefundSample | None
    gap: int | None
    by_hand: bool


def _rows(lottery_id: int, lottery: LotteryView, now: int) -> _LotteryRows:
    refund = lottery.refund
    refund_row = None
    if lottery.status == LotteryStatus.CANCELED and refund.active and not refund.complete:
        refund_row = RefundSample(
            lottery_id=lottery_id,
            round=refund.refund_round,
            remaining=refund.remaining_tickets,
            last_ts=refund.last_refund_ts,
            sla_breach=refund.sla_breached(lottery.cancellation, now),
        )
    winners = lottery.winners
    return _LotteryRows(
        refund=refund_row,
        gap=(
            winners.payout_round_gap
            if not lottery.status.is_terminal and winners.initialized
            else None
        ),
        by_hand=lottery.status == LotteryStatus.ACTIVE and not lottery.config.auto_close.enabled,
    )


class DomainSampler:
    """``sample_from_snapshot`` once per sweep, at the cost of what changed (one per engine).

    The watchlist keeps a lottery's view (the same object) until it reads the lottery again, so
    the per-lottery rows (refund progress, payout round gap, closed by hand) are derived again
    only for views replaced since the last sample, and the sorted rows rebuilt only when one of
    them changed; what depends on the chain time (a refund's SLA breach) is judged each sample
    for the lotteries with refund rows only. At 10,000 lotteries an idle sweep's sample was a
    pass over every live view (about 5 ms)."""

    def __init__(self) -> None:
        self._views: dict[int, LotteryView] = {}
        self._rows: dict[int, _LotteryRows] = {}
        self._refunds: dict[int, RefundSample] = {}
        self._gaps: dict[int, int] = {}
        self._by_hand: set[int] = set()
        self._refund_rows: tuple[RefundSample, ...] = ()
        self._gap_rows: tuple[tuple[int, int], ...] = ()
        self._by_hand_rows: tuple[int, ...] = ()

    def sample(
        self,
        snapshot: Snapshot,
        *,
        operator_names: Mapping[str, str],
        feed_updates_total: Mapping[int, int],
        escalations: Mapping[tuple[str, str], int] | None = None,
        open_incidents: Mapping[str, tuple[int, int, float]] | None = None,
        playbook: PlaybookReport | None = None,
    ) -> DomainSample:
        """This sweep's ``DomainSample`` (see ``sample_from_snapshot``)."""
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
        self._lotteries(snapshot.lotteries, now)
        overview = {
            name: int(getattr(snapshot.overview, name))
            for name in snapshot.overview.__dataclass_fields__
        }
        cap = snapshot.cap
        deposit = snapshot.deposit
        return DomainSample(
            bots=bots,
            feeds=feeds,
            refunds=self._refund_rows,
            payout_round_gaps=self._gap_rows,
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
            auto_close_disabled=self._by_hand_rows,
            features={int(f): snapshot.features.refusal(f) is None for f in Feature},
            escalations=dict(escalations or {}),
            open_incidents=dict(open_incidents or {}),
            playbook=playbook if playbook is not None else PlaybookReport(),
        )

    def _lotteries(self, lotteries: Mapping[int, LotteryView], now: int) -> None:
        known = self._views
        changed = [(i, v) for i, v in lotteries.items() if known.get(i) is not v]
        gone: set[int] = set()
        if len(known) + sum(i not in known for i, _ in changed) != len(lotteries):
            gone = known.keys() - lotteries.keys()
        dirty = False
        for lottery_id in gone:
            del known[lottery_id]
            before = self._rows.pop(lottery_id)
            dirty = dirty or before.refund is not None or before.gap is not None or before.by_hand
            self._refunds.pop(lottery_id, None)
            self._gaps.pop(lottery_id, None)
            self._by_hand.discard(lottery_id)
        for lottery_id, view in changed:
            known[lottery_id] = view
            rows = _rows(lottery_id, view, now)
            if rows == self._rows.get(lottery_id):
                continue
            self._rows[lottery_id] = rows
            dirty = True
            _put(self._refunds, lottery_id, rows.refund)
            _put(self._gaps, lottery_id, rows.gap)
            if rows.by_hand:
                self._by_hand.add(lottery_id)
            else:
                self._by_hand.discard(lottery_id)
        for lottery_id, row in self._refunds.items():  # the SLA moves with the chain's time
            view = known[lottery_id]
            breach = view.refund.sla_breached(view.cancellation, now)
            if breach != row.sla_breach:
                self._refunds[lottery_id] = replace(row, sla_breach=breach)
                dirty = True
        if dirty:
            self._refund_rows = tuple(v for _, v in sorted(self._refunds.items()))
            self._gap_rows = tuple(sorted(self._gaps.items()))
            self._by_hand_rows = tuple(sorted(self._by_hand))


def _put[V](table: dict[int, V], key: int, value: V | None) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
