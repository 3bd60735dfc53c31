"""Refunds (action 6): one plan per canceled lottery, every remaining batch plus the archive.

A CANCELED lottery that is not archived gets a ``RefundPlan`` (key ``refund:<id>:<first round>``)
planned from its *current* on-chain progress, so an interrupted plan resumes with the remaining
batches. Amounts come from ``batches.plan_batches`` (cumulative rounding, docs/decisions.md §6); batch
sizes respect the PayoutBatchCap's ``max_batch_size`` and the optional ``ctx.refund_batch_size``;
timestamps respect the cap's cooldown (batches ``cooldown_secs`` apart), the last refund timestamp
and the cancellation time. A lottery with no tickets sold (or every refund done) is archived only.

Not planned, escalated instead: no PayoutBatchCap (``refund_cap_missing``), a nonce stride the
rounds cannot satisfy (``refund_cap_nonce``: stride > 1, or stride 1 with ``last_nonce`` not
the current round), an operations budget too small for the operations refund
(``refund_budget``), a cancellation from PAYOUT (``refund_needs_review``: paid amounts are not
reconciled; an operator refund request forces the plan), or ``ctx.auto_refund`` off (requests
only). A plan whose last batch would land after the 24 h SLA raises ``refund_sla_at_risk``.

``sla(snapshot, ctx)`` reports every refund's SLA state (first batch within
``ctx.refund_first_batch_sla_seconds`` of the cancellation, 12 h by default; complete within
``ctx.refund_complete_sla_seconds``, 24 h) for metrics.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from autobot.domain.actions import ActionKind
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.planning.batches import RefundStart, allocation_weights, plan_batches
from autobot.planning.plan import ActionKey, Decision, Escalation, PlanContext, PlannedAction
from autobot.planning.recipes import RefundPlan, is_archived

__all__ = ["KIND", "RefundSla", "SlaState", "decide", "plan", "plan_refund", "sla"]

KIND = ActionKind.REFUND


class SlaState(enum.StrEnum):
    """Where one refund stands against the handbook SLA (§7: 12 h first batch, 24 h complete)."""

    AWAITING_FIRST_BATCH = "awaiting_first_batch"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FIRST_BATCH_BREACHED = "first_batch_breached"
    COMPLETION_BREACHED = "completion_breached"


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundSla:
    """One canceled lottery's refund SLA, for metrics (``refund_sla_*``)."""

    lottery_id: int
    state: SlaState
    canceled_ts: int
    first_batch_due: int
    completion_due: int
    remaining_tickets: int

    @property
    def breached(self) -> bool:
        return self.state in (SlaState.FIRST_BATCH_BREACHED, SlaState.COMPLETION_BREACHED)


def _pending(view: LotteryView) -> bool:
    """Canceled and not yet archived (as the chain shows)."""
    return view.status == LotteryStatus.CANCELED and not is_archived(view)


def sla(snapshot: Snapshot, ctx: PlanContext) -> tuple[RefundSla, ...]:
    """The SLA state of every canceled, not archived lottery with tickets sold."""
    now = snapshot.now
    out: list[RefundSla] = []
    for lottery_id in sorted(snapshot.lotteries):
        view = snapshot.lotteries[lottery_id]
        record = view.cancellation
        if not _pending(view) or record is None or view.tickets_sold == 0:
            continue
        progress = view.refund
        first_due = record.canceled_ts + ctx.refund_first_batch_sla_seconds
        full_due = record.canceled_ts + ctx.refund_complete_sla_seconds
        if progress.complete:
            state = SlaState.COMPLETE
        elif progress.refund_round == 0:
            breached = now > first_due
            state = SlaState.FIRST_BATCH_BREACHED if breached else SlaState.AWAITING_FIRST_BATCH
        elif now > full_due:
            state = SlaState.COMPLETION_BREACHED
        else:
            state = SlaState.IN_PROGRESS
        out.append(
            RefundSla(
                lottery_id=lottery_id,
                state=state,
                canceled_ts=record.canceled_ts,
                first_batch_due=first_due,
                completion_due=full_due,
                remaining_tickets=progress.remaining_tickets,
            )
        )
    return tuple(out)


def _batch_size(snapshot: Snapshot, ctx: PlanContext, remaining: int) -> int:
    limits = [max(1, remaining)]
    if snapshot.cap is not None and snapshot.cap.max_batch_size > 0:
        limits.append(snapshot.cap.max_batch_size)
    if ctx.refund_batch_size is not None and ctx.refund_batch_size > 0:
        limits.append(ctx.refund_batch_size)
    return min(limits)


def plan_refund(
    view: LotteryView, snapshot: Snapshot, ctx: PlanContext, *, forced: bool = False
) -> PlannedAction | Escalation | None:
    """The refund plan for one lottery, the escalation that blocks it, or ``None`` (nothing to do).

    ``forced`` (an operator's refund request) skips the ``auto_refund`` switch and the PAYOUT
    review rule; every chain constraint still applies.
    """
    lottery_id = view.lottery_id
    record = view.cancellation
    if not _pending(view):
        return None
    if record is None:
        return Escalation(
            kind="refund_record_missing",
            subject=lottery_id,
            reason="CANCELED without a cancellation record: archive would abort",
        )
    if not forced and not ctx.auto_refund:
        return None
    if not forced and record.previous_status == LotteryStatus.PAYOUT:
        return Escalation(
            kind="refund_needs_review",
            subject=lottery_id,
            reason="canceled from PAYOUT: paid amounts need review before refunds",
            since=record.canceled_ts,
        )
    progress = view.refund
    tickets_sold, proceeds = progress.tickets_sold, progress.proceeds_accum
    if tickets_sold > 0 and not progress.active:
        return Escalation(
            kind="refund_not_active", subject=lottery_id, reason="tickets sold but refunds inactive"
        )
    start = RefundStart(
        round=progress.refund_round,
        tickets=progress.tickets_refunded,
        prize=progress.prize_refunded,
        operations=progress.operations_refunded,
    )
    prize_w, ops_w = allocation_weights(
        prize_allocated=view.accounting.total_allocated,
        operations_allocated=view.accounting.total_operations_allocated,
        operations_bps=view.config.distribution.operations_bps,
    )
    try:
        batches = (
            plan_batches(
                tickets_sold=tickets_sold,
                proceeds=proceeds,
                prize_weight=prize_w,
                ops_weight=ops_w,
                batch_size=_batch_size(snapshot, ctx, progress.remaining_tickets),
                start=start,
            )
            if tickets_sold > 0
            else ()
        )
    except ValueError as exc:
        return Escalation(kind="refund_progress_invalid", subject=lottery_id, reason=str(exc))

    cooldown, not_before = 0, max(progress.last_refund_ts, record.canceled_ts)
    if batches:
        cap = snapshot.cap
        if cap is None:
            return Escalation(
                kind="refund_cap_missing",
                subject=lottery_id,
                reason="no PayoutBatchCap issued: refund batches would abort",
            )
        if not (cap.nonce_stride == 0 or (cap.nonce_stride == 1 and cap.last_nonce == start.round)):
            return Escalation(
                kind="refund_cap_nonce",
                subject=lottery_id,
                reason=(
                    f"cap nonce stride {cap.nonce_stride}, last nonce {cap.last_nonce}: round "
                    f"{start.round + 1} cannot pass; re-issue the cap (stride 0)"
                ),
            )
        ops_total = sum(b.operations for b in batches)
        if not cap.budget_allows(ops_total):
            return Escalation(
                kind="refund_budget",
                subject=lottery_id,
                reason=(
                    f"operations refund {ops_total} exceeds the cap's remaining budget "
                    f"{cap.operations_budget_remaining}"
                ),
            )
        cooldown = cap.cooldown_secs
        not_before = max(not_before, cap.last_batch_at, cap.next_batch_at)

    recipe = RefundPlan(
        lottery_id=lottery_id,
        batches=tuple(b.as_tuple() for b in batches),
        cooldown_secs=cooldown,
        not_before=not_before,
        canceled_ts=record.canceled_ts,
        archive=True,
    )
    first_round = batches[0].round if batches else start.round + 1
    what = f"{len(batches)} refund batch(es) from round {first_round}" if batches else "archive"
    return PlannedAction(
        key=ActionKey(KIND, lottery_id, first_round),
        recipe=recipe,
        due_at=snapshot.now,
        reason=f"canceled {snapshot.now - record.canceled_ts} s ago in chain time: {what}",
    )


def _sla_risk(
    action: PlannedAction, view: LotteryView, snapshot: Snapshot, ctx: PlanContext
) -> Escalation | None:
    recipe = action.recipe
    record = view.cancellation
    if not isinstance(recipe, RefundPlan) or not recipe.batches or record is None:
        return None
    start = max(snapshot.now, recipe.not_before)
    last_ts = start + (len(recipe.batches) - 1) * recipe.cooldown_secs
    due = record.canceled_ts + ctx.refund_complete_sla_seconds
    if last_ts <= due:
        return None
    return Escalation(
        kind="refund_sla_at_risk",
        subject=view.lottery_id,
        reason=(
            f"the last refund batch can go {last_ts - snapshot.now} s from now in chain time, "
            f"after the SLA ends ({due - snapshot.now} s from now)"
        ),
        since=record.canceled_ts,
    )


def decide(snapshot: Snapshot, ctx: PlanContext) -> Decision:
    """Refund plans (or the escalations that block them) for every canceled lottery."""
    actions: list[PlannedAction] = []
    escalations: list[Escalation] = []
    for lottery_id in sorted(snapshot.lotteries):
        view = snapshot.lotteries[lottery_id]
        if ctx.is_open(KIND, lottery_id):
            continue
        outcome = plan_refund(view, snapshot, ctx)
        if isinstance(outcome, PlannedAction):
            actions.append(outcome)
            risk = _sla_risk(outcome, view, snapshot, ctx)
            if risk is not None:
                escalations.append(risk)
        elif isinstance(outcome, Escalation):
            escalations.append(outcome)
    return Decision(actions=tuple(actions), escalations=tuple(escalations))


def plan(snapshot: Snapshot, ctx: PlanContext) -> list[PlannedAction]:
    """``decide(...).actions`` as a list (the planner signature)."""
    return list(decide(snapshot, ctx).actions)
