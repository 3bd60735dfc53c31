"""Draws (action 2): first VRF request, retries, manual schedules, winners; VRF-failure cancel.

Per lottery, by status (§2.2-§2.5, docs/decisions.md §1, §9):

* **CLOSING** with tickets: ``request_draw_admin`` (key ``draw:<id>:<attempt + 1>``). No
  tickets: an escalation, no action.
* **DRAW_REQUESTED**, VRF REQUESTED without a callback:

  - the chain answered ``E_VRF_PENDING`` to a retry (strict contract, ``ctx.escalated_draws``):
    never retry; escalate (``vrf_pending``) and, once ``vrf_deadline_seconds`` have passed since
    the last request and ``cancel_on_vrf_failure`` holds, cancel with reason 1 (action 7);
  - stored attempt at the maximum (5): the next request runs the package's exhaustion path
    (VRF FAILED + cancel reason 1), so it is planned only when ``cancel_on_vrf_failure`` holds,
    else escalated (``vrf_exhausted``);
  - MANUAL strategy with no retry moment stored: once ``manual_retry_delay_seconds`` have passed
    since the last request, ``schedule_manual_retry_admin`` for the moment of execution (key
    ``schedule:<id>:<attempt>``); with no delay configured: escalate
    (``vrf_manual_unscheduled``) and treat it like a pending draw for the deadline;
  - otherwise, once ``retry_after_ts`` has passed: request again.
* **DRAWN**: ``compute_winners_admin`` in ``ceil(remaining / winners_batch_limit)`` batches, one
  action (key ``winners:<id>:<next_winner_batch_no>``).

**Pre-flight** (``planning/preconditions.py``): a request or a manual schedule that is due but
whose readable preconditions do not hold — the DRAW feature off, the deposit's requests paused —
is not planned: each refusal is an escalation of its lottery (``draw_feature_disabled``,
``vrf_requests_paused``), and the draw is planned once they hold again (the sweep reads the switch
and the deposit every time). Never a simulation that would abort, never a bot failure.

A lottery with an open cancel action gets nothing else.
"""

from __future__ import annotations

from autobot.domain.actions import ActionKind
from autobot.domain.draws import MAX_VRF_ATTEMPTS, RetryStrategy, VrfStatus
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.refunds import CancelReason
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.planning.plan import (
    ActionKey,
    Decision,
    Escalation,
    PlanContext,
    PlannedAction,
    Recipe,
)
from autobot.planning.preconditions import (
    E_VRF_REQUESTS_PAUSED,
    Refusal,
    draw_request_refusals,
    manual_schedule_refusals,
)
from autobot.planning.recipes import Cancel, ComputeWinners, RequestDraw, ScheduleManualRetry

__all__ = ["decide", "plan", "winner_batches"]

DRAW, SCHEDULE, WINNERS, CANCEL = (
    ActionKind.DRAW,
    ActionKind.SCHEDULE,
    ActionKind.WINNERS,
    ActionKind.CANCEL,
)


def winner_batches(remaining: int, batch_limit: int) -> int:
    """``ceil(remaining / batch_limit)``: the calls that assign every remaining winner."""
    if batch_limit < 1:
        raise ValueError(f"winners batch limit must be >= 1, got {batch_limit}")
    return -(-remaining // batch_limit)


class _Policy:
    """One pass over the lotteries; collects actions, escalations and wake-up times."""

    def __init__(self, snapshot: Snapshot, ctx: PlanContext) -> None:
        self.snapshot = snapshot
        self.ctx = ctx
        self.now = snapshot.now
        self.actions: list[PlannedAction] = []
        self.escalations: list[Escalation] = []
        self.wake_at: list[int] = []

    def run(self) -> Decision:
        for lottery_id in sorted(self.snapshot.lotteries):
            view = self.snapshot.lotteries[lottery_id]
            if self.ctx.is_open(CANCEL, lottery_id):
                continue
            if view.status == LotteryStatus.CLOSING:
                self._closing(view)
            elif view.status == LotteryStatus.DRAW_REQUESTED:
                self._requested(view)
            elif view.status == LotteryStatus.DRAWN:
                self._drawn(view)
        return Decision(
            actions=tuple(self.actions),
            escalations=tuple(self.escalations),
            wake_at=tuple(self.wake_at),
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _add(self, key: ActionKey, recipe: Recipe, reason: str) -> None:
        self.actions.append(
            PlannedAction(
                key=key,
                recipe=recipe,
                due_at=self.now,
                reason=reason,
            )
        )

    def _escalate(self, kind: str, view: LotteryView, reason: str, since: int = 0) -> None:
        self.escalations.append(
            Escalation(kind=kind, subject=view.lottery_id, reason=reason, since=since)
        )

    def _refused(self, view: LotteryView, refusals: tuple[Refusal, ...]) -> bool:
        """Escalate every refusal of a due call (pre-flight); True if there was one."""
        for refusal in refusals:
            paused = refusal.code == E_VRF_REQUESTS_PAUSED
            since = self.snapshot.deposit.paused_since_ts if paused else 0
            self._escalate(refusal.kind, view, refusal.reason, since=since)
        return bool(refusals)

    def _drawing(self, lottery_id: int) -> bool:
        return self.ctx.is_open(DRAW, lottery_id) or self.ctx.is_open(SCHEDULE, lottery_id)

    def _request(self, view: LotteryView, reason: str) -> None:
        if self._refused(view, draw_request_refusals(self.snapshot)):
            return
        attempt = view.vrf.attempt
        recipe = RequestDraw(
            lottery_id=view.lottery_id,
            closing_block_height=self.snapshot.height,
            chain_id=self.ctx.chain_id,
            num_confirmations=self.ctx.num_confirmations,
            attempt=attempt,
        )
        self._add(ActionKey(DRAW, view.lottery_id, attempt + 1), recipe, reason)

    # -- statuses --------------------------------------------------------------------------------

    def _closing(self, view: LotteryView) -> None:
        if self._drawing(view.lottery_id):
            return
        if view.tickets_sold == 0:
            self._escalate("closing_without_tickets", view, "CLOSING with no tickets sold")
            return
        vrf = view.vrf
        if vrf.retry_after_ts > self.now:
            self.wake_at.append(vrf.retry_after_ts)
            return
        self._request(view, f"sales closed with {view.tickets_sold} tickets: request the draw")

    def _requested(self, view: LotteryView) -> None:
        vrf = view.vrf
        if vrf.status != VrfStatus.REQUESTED or self._drawing(view.lottery_id):
            return
        deadline = vrf.last_request_ts + self.ctx.vrf_deadline_seconds
        if view.lottery_id in self.ctx.escalated_draws:
            self._escalate(
                "vrf_pending",
                view,
                f"retry refused with E_VRF_PENDING (attempt {vrf.attempt}); no more retries",
                since=vrf.last_request_ts,
            )
            self._cancel_after(view, deadline)
            return
        if vrf.attempt >= MAX_VRF_ATTEMPTS:
            self._exhausted(view, deadline)
            return
        if vrf.retry_strategy == RetryStrategy.MANUAL and vrf.retry_after_ts == 0:
            self._manual(view, deadline)
            return
        if vrf.retry_due(self.now):
            self._request(view, f"no VRF callback for attempt {vrf.attempt}: request again")
        elif vrf.retry_after_ts > 0:
            self.wake_at.append(vrf.retry_after_ts)

    def _exhausted(self, view: LotteryView, deadline: int) -> None:
        vrf = view.vrf
        due = vrf.retry_after_ts if vrf.retry_after_ts > 0 else deadline
        if not self.ctx.cancel_on_vrf_failure:
            self._escalate(
                "vrf_exhausted",
                view,
                f"{vrf.attempt} VRF attempts without a callback; cancellation is not automatic",
                since=vrf.last_request_ts,
            )
        elif self.now >= due:
            self._request(view, f"{vrf.attempt} VRF attempts failed: run the exhaustion cancel")
        else:
            self.wake_at.append(due)

    def _manual(self, view: LotteryView, deadline: int) -> None:
        vrf = view.vrf
        delay = self.ctx.manual_retry_delay_seconds
        if delay is None:
            self._escalate(
                "vrf_manual_unscheduled",
                view,
                f"MANUAL retry policy, attempt {vrf.attempt} unanswered: schedule a retry",
                since=vrf.last_request_ts,
            )
            self._cancel_after(view, deadline)
            return
        due = vrf.last_request_ts + delay
        if self.now < due:
            self.wake_at.append(due)
            return
        if self._refused(view, manual_schedule_refusals(self.snapshot)):
            return
        recipe = ScheduleManualRetry(lottery_id=view.lottery_id, attempt=vrf.attempt)
        self._add(
            ActionKey(SCHEDULE, view.lottery_id, vrf.attempt),
            recipe,
            f"MANUAL retry policy: attempt {vrf.attempt} unanswered for {delay}s",
        )

    def _cancel_after(self, view: LotteryView, deadline: int) -> None:
        if not self.ctx.cancel_on_vrf_failure:
            return
        if self.now < deadline:
            self.wake_at.append(deadline)
            return
        reason = int(CancelReason.VRF_FAILURE)
        recipe = Cancel(lottery_id=view.lottery_id, reason=reason)
        self._add(
            ActionKey(CANCEL, view.lottery_id, reason),
            recipe,
            f"no VRF callback {self.ctx.vrf_deadline_seconds}s after the last request: cancel",
        )

    def _drawn(self, view: LotteryView) -> None:
        if self.ctx.is_open(WINNERS, view.lottery_id):
            return
        w = view.winners
        remaining = w.remaining if w.initialized else view.config.winners_total
        if remaining == 0:
            return
        limit = self.ctx.winners_batch_limit
        recipe = ComputeWinners(
            lottery_id=view.lottery_id,
            batch_limit=limit,
            batches=winner_batches(remaining, limit),
            start_batch_no=w.next_winner_batch_no,
        )
        self._add(
            ActionKey(WINNERS, view.lottery_id, w.next_winner_batch_no),
            recipe,
            f"{remaining} winners to assign in {recipe.batches} batch(es) of {limit}",
        )


def decide(snapshot: Snapshot, ctx: PlanContext) -> Decision:
    """Draw, retry, schedule, winners and VRF-failure cancel decisions for every lottery."""
    return _Policy(snapshot, ctx).run()


def plan(snapshot: Snapshot, ctx: PlanContext) -> list[PlannedAction]:
    """``decide(...).actions`` as a list (the planner signature)."""
    return list(decide(snapshot, ctx).actions)
