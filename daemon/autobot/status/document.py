"""The status document: what ``/status.json`` says, built from one sweep's facts (pure).

``build_document(facts)`` turns the daemon's latest snapshot (every live lottery, the aggregate
views), the planners' context (SLA and deadline settings), the journal's facts (open and recently
finished actions, incidents) and the chain clock into one JSON-ready ``dict`` that
``status/assets/status.schema.json`` describes (``SCHEMA_VERSION``). It reads nothing and keeps
nothing: the reporter calls it once per sweep; requests are answered from the bytes it produced.

Time is presented honestly. Every moment is a ``Moment``: the **chain time** (ISO-8601 UTC, the
block timestamps the package compares against) and, for a moment still ahead of the chain, the
**expected wall-clock time** the chain reaches it, estimated from the blocks seen
(``scheduling.ChainClockMap``; the localnet's demo runs its chain 60 times faster than the wall
clock, a real chain at about 1). A past moment has no wall-clock estimate (``null``). No unix
numbers are published for moments.

Published are public facts only: on-chain state (lottery ids, counts, amounts, the bots' public
addresses, price feed flags) and what autobot did on chain, each phrased from a fixed vocabulary
(``timeline.py``). Never endpoint URLs, operator key names, error text, transaction or action
hashes, or journal-internal keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autobot.domain.actions import ActionId
from autobot.domain.bots import Bot
from autobot.domain.draws import MAX_VRF_ATTEMPTS, VrfStatus
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.domain.refunds import CancelReason
from autobot.domain.snapshot import LotteryView, Snapshot, StatusOverview, compute_overview
from autobot.journal.records import ActionRecord, ActionState, Incident
from autobot.planning import refunds
from autobot.planning.plan import PlanContext
from autobot.status.moments import ClockLine, Moments, iso
from autobot.status.timeline import KIND_ACTIONS, public_incidents, timeline_events

__all__ = [
    "PHASES",
    "SCHEMA_VERSION",
    "TIMELINE_SECONDS",
    "StatusFacts",
    "build_document",
    "lottery_phase",
]

SCHEMA_VERSION = 1
"""Bumped on any change a reader could trip over (a removed or renamed key, a changed meaning)."""
TIMELINE_SECONDS = 86_400
"""The timeline and ``recently_finished`` cover the last 24 hours of chain time."""

PHASES = (
    "draft",
    "selling",
    "closing",
    "drawing",
    "winners_pending",
    "payout",
    "cancelled",
    "finalized",
)
"""A lottery's phase as players see it (``lottery_phase``); the last only in ``recently_finished``."""

Json = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusFacts:
    """Everything one status document is built from (one sweep's worth)."""

    snapshot: Snapshot  # every live lottery (the watchlist's kept views) and the aggregate views
    context: PlanContext  # the SLA and deadline settings (and what the journal knows)
    generated_at: float  # host wall seconds
    clock: ClockLine | None  # None before the chain clock is known
    refresh_seconds: float
    max_age_seconds: int
    open_actions: Sequence[ActionRecord] = ()
    finished_actions: Sequence[ActionRecord] = ()  # done, newest first (the timeline)
    incidents: Sequence[Incident] = ()  # newest first
    finished_lotteries: Mapping[int, tuple[int, LotteryView]] = field(default_factory=dict)
    """Lotteries this daemon saw become terminal: id → (chain second seen, final view)."""
    playbook: PlaybookReport | None = None
    """The sweep's playbook report (the dual-write remainder); ``None``: none yet."""


def build_document(facts: StatusFacts) -> Json:
    """The status document (see the module doc and ``status.schema.json``)."""
    snapshot = facts.snapshot
    now = snapshot.now
    moment = Moments(now, facts.clock)
    live = sorted(snapshot.lotteries.values(), key=lambda v: v.lottery_id)
    next_actions = _next_actions(facts.open_actions)
    sla = {s.lottery_id: s for s in refunds.sla(snapshot, facts.context)}
    since = now - TIMELINE_SECONDS
    finished = [
        _finished(view, seen, moment)
        for lottery_id, (seen, view) in sorted(facts.finished_lotteries.items())
        if seen >= since and lottery_id not in snapshot.lotteries
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(facts.generated_at),
        "refresh_seconds": facts.refresh_seconds,
        "max_age_seconds": facts.max_age_seconds,
        "chain": {
            "chain_id": facts.context.chain_id,
            "height": snapshot.height,
            "time": iso(now),
            "rate": None if facts.clock is None else round(facts.clock.rate, 3),
        },
        "overview": {
            "all": _overview(snapshot.overview),
            "live": _overview(compute_overview(live, now)),
        },
        "lotteries": [
            _lottery(view, moment, facts.context, sla.get(view.lottery_id), next_actions)
            for view in live
        ],
        "recently_finished": finished,
        "vrf_deposit": _deposit(snapshot, moment),
        "payout_queue": _payout_queue(snapshot, live, moment),
        "dual_write": _dual_write(facts.playbook),
        "price_feeds": [_feed(feed, now, moment) for _, feed in sorted(snapshot.feeds.items())],
        "bots": [_bot(bot, now, moment, facts.open_actions) for bot in snapshot.bots],
        "incidents": public_incidents(facts.incidents),
        "timeline": {
            "from": iso(since),
            "to": iso(now),
            "events": [
                {"kind": kind, "lottery_id": lottery_id, "at": moment(ts)}
                for kind, lottery_id, ts in timeline_events(
                    facts.finished_actions,
                    finished_lotteries=facts.finished_lotteries,
                    cancellations=(v for v in live if v.status == LotteryStatus.CANCELED),
                    since=since,
                )
            ],
        },
    }


def _overview(overview: StatusOverview) -> Json:
    return {name: getattr(overview, name) for name in StatusOverview.__dataclass_fields__}


def lottery_phase(view: LotteryView, now: int) -> str:
    """The phase a player would name (``PHASES``): an ACTIVE lottery past its sales end is
    already ``closing`` (autobot closes it), a DRAWN one is ``winners_pending``."""
    match view.status:
        case LotteryStatus.DRAFT:
            return "draft"
        case LotteryStatus.ACTIVE:
            return "selling" if now <= view.config.sales_end else "closing"
        case LotteryStatus.CLOSING:
            return "closing"
        case LotteryStatus.DRAW_REQUESTED:
            return "drawing"
        case LotteryStatus.DRAWN:
            return "winners_pending"
        case LotteryStatus.PAYOUT:
            return "payout"
        case LotteryStatus.CANCELED:
            return "cancelled"
        case LotteryStatus.FINALIZED:
            return "finalized"
    raise AssertionError(view.status)  # pragma: no cover - every status is matched


def _next_actions(open_actions: Sequence[ActionRecord]) -> dict[int, ActionRecord]:
    """The open action of each lottery (the earliest journaled when several)."""
    found: dict[int, ActionRecord] = {}
    for record in open_actions:
        if record.kind in KIND_ACTIONS and record.subject_id not in found:
            found[record.subject_id] = record
    return found


def _lottery(
    view: LotteryView,
    moment: Moments,
    ctx: PlanContext,
    sla: refunds.RefundSla | None,
    next_actions: Mapping[int, ActionRecord],
) -> Json:
    now = moment.now
    entry = _lottery_core(view, moment, phase=lottery_phase(view, now))
    vrf = view.vrf
    if view.status in (LotteryStatus.CLOSING, LotteryStatus.DRAW_REQUESTED) or (
        vrf.status != VrfStatus.IDLE and not view.status.is_terminal
    ):
        requested = vrf.status == VrfStatus.REQUESTED
        entry["draw"] = {
            "vrf_status": vrf.status.name.lower(),
            "attempt": vrf.attempt,
            "max_attempts": MAX_VRF_ATTEMPTS,
            "requested_at": moment.maybe(vrf.last_request_ts),
            "next_retry_at": moment.maybe(vrf.retry_after_ts) if requested else None,
            "deadline": (
                moment(vrf.last_request_ts + ctx.vrf_deadline_seconds)
                if requested and vrf.last_request_ts > 0
                else None
            ),
        }
    if sla is not None:
        entry["sla"] = {
            "state": sla.state.value,
            "breached": sla.breached,
            "first_batch_due": moment(sla.first_batch_due),
            "completion_due": moment(sla.completion_due),
        }
    record = next_actions.get(view.lottery_id)
    if record is not None:
        entry["next_action"] = {
            "action": KIND_ACTIONS[record.kind],
            "may_execute_at": (
                moment(record.execute_at)
                if record.execute_at is not None and record.state is ActionState.WAITING
                else None
            ),
        }
    return entry


def _lottery_core(view: LotteryView, moment: Moments, *, phase: str) -> Json:
    """The parts of a lottery shown both while live and once finished."""
    entry: Json = {
        "id": view.lottery_id,
        "status": view.status.name.lower(),
        "phase": phase,
        "tickets_sold": view.tickets_sold,
        "sales_start": moment(view.config.sales_start),
        "sales_end": moment(view.config.sales_end),
        "draw": None,
        "winners": None,
        "payout": None,
        "cancellation": None,
        "refund": None,
        "sla": None,
        "next_action": None,
    }
    winners = view.winners
    if winners.initialized:
        entry["winners"] = {"assigned": winners.total_assigned, "required": winners.total_required}
        entry["payout"] = {
            "rounds": winners.payout_round,
            "winner_batches": winners.next_winner_batch_no,
            "last_payout_at": moment.maybe(winners.last_payout_ts),
        }
    record = view.cancellation
    if record is not None:
        try:
            reason = CancelReason(record.reason_code).name.lower()
        except ValueError:
            reason = "other"
        entry["cancellation"] = {
            "reason": reason,
            "reason_code": record.reason_code,
            "at": moment(record.canceled_ts),
        }
    if view.status == LotteryStatus.CANCELED:
        progress = view.refund
        sold = progress.tickets_sold
        percent = 100.0 if sold == 0 else round(100 * progress.tickets_refunded / sold, 1)
        entry["refund"] = {
            "tickets_refunded": progress.tickets_refunded,
            "tickets_sold": sold,
            "percent": percent,
            "amount_refunded": progress.amount_refunded,
            "amount_total": progress.proceeds_accum,
            "rounds": progress.refund_round,
            "last_batch_at": moment.maybe(progress.last_refund_ts),
            "complete": progress.complete,
        }
    return entry


def _finished(view: LotteryView, seen: int, moment: Moments) -> Json:
    phase = "finalized" if view.status == LotteryStatus.FINALIZED else "cancelled"
    entry = _lottery_core(view, moment, phase=phase)
    entry["archived"] = view.archived
    entry["finished_at"] = moment(seen)
    return entry


def _deposit(snapshot: Snapshot, moment: Moments) -> Json:
    deposit = snapshot.deposit
    return {
        "requests_paused": deposit.requests_paused,
        "paused_since": moment.maybe(deposit.paused_since_ts) if deposit.requests_paused else None,
        "effective_balance": deposit.effective_balance,
        "required_minimum": deposit.required_minimum,
        "healthy": not deposit.requests_paused and not deposit.is_low,
    }


def _payout_queue(snapshot: Snapshot, live: Sequence[LotteryView], moment: Moments) -> Json:
    cap = snapshot.cap
    return {
        "winners_pending": sum(v.winners.winners_pending for v in live),
        "payout_backlog": sum(v.winners.payout_backlog for v in live),
        "lotteries_in_payout": sum(v.status == LotteryStatus.PAYOUT for v in live),
        "refund_tickets_pending": sum(
            v.refund.remaining_tickets for v in live if v.status == LotteryStatus.CANCELED
        ),
        "operations_budget_remaining": None if cap is None else cap.operations_budget_remaining,
        "operations_budget_total": None if cap is None else cap.operations_budget_total,
        "next_batch_at": None if cap is None else moment.maybe(cap.next_batch_at),
    }


def _dual_write(report: PlaybookReport | None) -> Json | None:
    """The dual-write remainder: summaries whose expected hash still waits for the archive's
    write (``DualWriteControl``); ``None`` until the control was read."""
    if report is None or report.dual_write_enabled is None:
        return None
    return {
        "enabled": report.dual_write_enabled,
        "remainder": report.dual_write_expected,
        "waiting_long": report.dual_write_pending,
        "waiting_long_after_seconds": report.dual_write_pending_after_seconds,
        "mismatches": report.dual_write_mismatch,
    }


def _feed(feed: PriceFeed, now: int, moment: Moments) -> Json:
    stale = feed.is_stale(now)
    if feed.fallback_active:
        state = "fallback"
    elif feed.clamp_active:
        state = "clamped"
    elif stale:
        state = "stale"
    else:
        state = "healthy"
    return {
        "asset_id": feed.asset_id,
        "state": state,
        "healthy": state == "healthy",
        "stale": stale,
        "clamped": feed.clamp_active,
        "fallback": feed.fallback_active,
        "last_update": moment.maybe(feed.last_updated_ts),
        "age_seconds": feed.age(now),
        "staleness_window_seconds": feed.staleness_window,
    }


def _bot(bot: Bot, now: int, moment: Moments, open_actions: Sequence[ActionRecord]) -> Json:
    if bot.is_expired(now):
        state = "expired"
    elif bot.is_locked_out:
        state = "locked_out"
    else:
        state = "live"
    pending: Json | None = None
    if bot.has_pending:
        # which action the slot holds: autobot's own announcement (same operator, announced)
        ours = next(
            (
                a
                for a in open_actions
                if a.operator == bot.operator
                and a.action_hash is not None
                and a.action_hash == bot.pending_action_hash
            ),
            None,
        )
        action_id = ours.action_id if ours is not None else None
        pending = {
            "action": ActionId(action_id).name.lower() if action_id in _ACTION_IDS else None,
            "lottery_id": ours.subject_id
            if ours is not None and ours.kind in KIND_ACTIONS
            else None,
            "may_execute_at": moment(bot.pending_execute_after),
            "ready": bot.pending_ready(now),
        }
    return {
        "address": bot.operator,
        "state": state,
        "failures": bot.failure_count,
        "max_failures": bot.max_failures,
        "failures_left": bot.failures_left,
        "timelock_seconds": bot.timelock_secs,
        "expires_at": moment(bot.expires_at),
        "pending": pending,
    }


_ACTION_IDS = frozenset(int(a) for a in ActionId)
