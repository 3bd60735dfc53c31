"""The concrete recipes: frozen, JSON-serialisable descriptions of admin work (plan.py contract).

Every timestamp argument is derived from ``execute_at`` (or from a floor fixed at plan time), so
``calls(execute_at)`` is a pure function and a restart rebuilds byte-identical calls from the
journaled recipe and execution time. ``recipe_from_json`` is the journal's way back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from autobot.domain import calls as c
from autobot.domain.actions import ActionKind
from autobot.domain.draws import VrfStatus
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.planning.plan import Recipe, TimedCall
from autobot.planning.preconditions import (
    Refusal,
    draw_request_refusals,
    manual_schedule_refusals,
)

__all__ = [
    "RECIPE_TYPES",
    "AutoClose",
    "Cancel",
    "CleanupRoles",
    "ClearClamp",
    "ComputeWinners",
    "RefundPlan",
    "RequestDraw",
    "ResumeRequests",
    "RotateBot",
    "ScheduleManualRetry",
    "SetFallback",
    "is_archived",
    "recipe_from_json",
]


def _lottery(snapshot: Snapshot, lottery_id: int) -> LotteryView | None:
    return snapshot.lotteries.get(lottery_id)


def is_archived(view: LotteryView) -> bool:
    """The lottery's cancellation is archived: its ``LotterySummary`` exists (§4)."""
    return view.archived


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoClose(Recipe):
    """``advance_status(id, 2)``: ACTIVE → CLOSING (the only transition autobot makes)."""

    KIND: ClassVar[ActionKind] = ActionKind.CLOSE
    lottery_id: int

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.advance_status(self.lottery_id, int(LotteryStatus.CLOSING))
        return (TimedCall(call=call, not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        view = _lottery(snapshot, self.lottery_id)
        return view is None or view.status != LotteryStatus.ACTIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDraw(Recipe):
    """``request_draw_admin(id, execute_at, closing_block_height, chain_id, confirmations)``.

    ``attempt`` is the stored VRF attempt when planned; the goal is reached once the chain shows
    a later attempt, a fulfilled/failed VRF, or the lottery past DRAW_REQUESTED. At a stored
    attempt of 5 the call runs the package's exhaustion path (VRF FAILED, cancel reason 1).
    """

    KIND: ClassVar[ActionKind] = ActionKind.DRAW
    lottery_id: int
    closing_block_height: int
    chain_id: int
    num_confirmations: int
    attempt: int

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.request_draw_admin(
            self.lottery_id,
            execute_at,
            self.closing_block_height,
            self.chain_id,
            self.num_confirmations,
        )
        return (TimedCall(call=call, not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        view = _lottery(snapshot, self.lottery_id)
        if view is None or view.status not in (LotteryStatus.CLOSING, LotteryStatus.DRAW_REQUESTED):
            return True
        return view.vrf.attempt > self.attempt or view.vrf.status in (
            VrfStatus.FULFILLED,
            VrfStatus.FAILED,
        )

    def refusals(self, snapshot: Snapshot) -> tuple[Refusal, ...]:
        return draw_request_refusals(snapshot)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleManualRetry(Recipe):
    """``schedule_manual_retry_admin(id, execute_at, execute_at + delay_secs)`` (MANUAL policy).

    ``attempt`` is the stored VRF attempt the retry follows; the goal is reached once a retry
    moment is stored, the attempt moved on, or the lottery left DRAW_REQUESTED.
    """

    KIND: ClassVar[ActionKind] = ActionKind.SCHEDULE
    lottery_id: int
    attempt: int
    delay_secs: int = 0

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        retry_after = max(1, execute_at + self.delay_secs)
        call = c.schedule_manual_retry_admin(self.lottery_id, execute_at, retry_after)
        return (TimedCall(call=call, not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        view = _lottery(snapshot, self.lottery_id)
        if view is None or view.status != LotteryStatus.DRAW_REQUESTED:
            return True
        vrf = view.vrf
        moved = vrf.attempt != self.attempt or vrf.status != VrfStatus.REQUESTED
        return moved or vrf.retry_after_ts > 0

    def refusals(self, snapshot: Snapshot) -> tuple[Refusal, ...]:
        return manual_schedule_refusals(snapshot)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeWinners(Recipe):
    """``batches`` * ``compute_winners_admin(id, batch_limit)`` under one hash.

    ``batches = ceil(remaining / batch_limit)`` when planned; ``start_batch_no`` is the
    ``next_winner_batch_no`` it started from (part of the key, for resumption).
    """

    KIND: ClassVar[ActionKind] = ActionKind.WINNERS
    PIPELINED: ClassVar[bool] = True
    lottery_id: int
    batch_limit: int
    batches: int
    start_batch_no: int = 0

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.compute_winners_admin(self.lottery_id, self.batch_limit)
        return tuple(TimedCall(call=call, not_before=execute_at) for _ in range(self.batches))

    def goal_reached(self, snapshot: Snapshot) -> bool:
        view = _lottery(snapshot, self.lottery_id)
        if view is None or view.status != LotteryStatus.DRAWN:
            return True
        w = view.winners
        return w.initialized and w.total_assigned >= w.total_required

    @property
    def call_count(self) -> int:
        return self.batches

    def calls_done(self, snapshot: Snapshot) -> int:
        view = _lottery(snapshot, self.lottery_id)
        if view is None or self.goal_reached(snapshot):
            return self.batches
        done = view.winners.next_winner_batch_no - self.start_batch_no
        return min(self.batches, max(0, done))


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundPlan(Recipe):
    """Every remaining ``force_refund_batch_admin`` batch of one lottery, then the archive.

    After an interruption, ``calls_done`` counts the batches whose round the chain already shows
    (``refund_round``), so the executor resumes at the first missing round.

    ``batches`` holds ``(round, tickets, prize, operations)``. Batch ``i`` (0-based) carries the
    timestamp ``start + i * cooldown_secs`` with ``start = max(execute_at, not_before)`` and is
    not submitted before it; ``not_before`` is fixed at plan time (the cap's next allowed batch
    time, the last refund timestamp). The archive's ``finalized_at`` is the last batch's
    timestamp (or ``start``), never below ``canceled_ts``.
    """

    KIND: ClassVar[ActionKind] = ActionKind.REFUND
    PIPELINED: ClassVar[bool] = True
    lottery_id: int
    batches: tuple[tuple[int, int, int, int], ...]
    cooldown_secs: int = 0
    not_before: int = 0
    canceled_ts: int = 0
    archive: bool = True

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        start = max(execute_at, self.not_before)
        out: list[TimedCall] = []
        ts = start
        for i, (round_, tickets, prize, ops) in enumerate(self.batches):
            ts = start + i * self.cooldown_secs
            call = c.force_refund_batch_admin(self.lottery_id, round_, tickets, prize, ops, ts)
            out.append(TimedCall(call=call, not_before=ts))
        if self.archive:
            finalized_at = max(ts, self.canceled_ts)
            call = c.archive_canceled_lottery_admin(self.lottery_id, finalized_at)
            out.append(TimedCall(call=call, not_before=ts))
        return tuple(out)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        view = _lottery(snapshot, self.lottery_id)
        if view is None or view.status != LotteryStatus.CANCELED:
            return True
        if self.archive:
            return is_archived(view)
        return view.refund.complete

    @property
    def call_count(self) -> int:
        return len(self.batches) + (1 if self.archive else 0)

    def calls_done(self, snapshot: Snapshot) -> int:
        view = _lottery(snapshot, self.lottery_id)
        if view is None or self.goal_reached(snapshot):
            return self.call_count
        applied = view.refund.refund_round
        return sum(1 for batch in self.batches if batch[0] <= applied)

    @property
    def first_round(self) -> int:
        return self.batches[0][0] if self.batches else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel(Recipe):
    """``cancel_lottery_admin(id, reason, execute_at)`` (action 7, sensitive)."""

    KIND: ClassVar[ActionKind] = ActionKind.CANCEL
    lottery_id: int
    reason: int

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.cancel_lottery_admin(self.lottery_id, self.reason, execute_at)
        return (TimedCall(call=call, not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        view = _lottery(snapshot, self.lottery_id)
        return view is None or view.status.is_terminal


@dataclass(frozen=True, slots=True, kw_only=True)
class SetFallback(Recipe):
    """``set_fallback(asset, active, reason)``; ``active=False`` also clears a clamp."""

    KIND: ClassVar[ActionKind] = ActionKind.FALLBACK
    asset_id: int
    active: bool
    reason: int

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.set_fallback(self.asset_id, self.active, self.reason)
        return (TimedCall(call=call, not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        feed = snapshot.feeds.get(self.asset_id)
        return feed is None or feed.fallback_active == self.active


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearClamp(Recipe):
    """``clear_clamp(asset, execute_at)`` (operator request only, docs/decisions.md §7)."""

    KIND: ClassVar[ActionKind] = ActionKind.CLAMP
    asset_id: int

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.clear_clamp(self.asset_id, execute_at)
        return (TimedCall(call=call, not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        feed = snapshot.feeds.get(self.asset_id)
        return feed is None or not feed.clamp_active


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanupRoles(Recipe):
    """``roles::cleanup_expired_admin(execute_at)`` (operator request only: ``autobot roles
    cleanup``). Without a snapshot of the caps its goal is never "already reached": removing
    nothing is a harmless success."""

    KIND: ClassVar[ActionKind] = ActionKind.CLEANUP

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        return (TimedCall(call=c.cleanup_expired_admin(execute_at), not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class RotateBot(Recipe):
    """``rotate_bot`` for ``operator`` (multi-agent: admin sends, operator co-signs).

    ``cron_spec_hex`` is the cron spec's bytes in hex (no ``0x``), since the spec is opaque.
    """

    KIND: ClassVar[ActionKind] = ActionKind.ROTATE
    operator: str
    cron_spec_hex: str
    allowed_actions: tuple[int, ...]
    timelock_secs: int
    max_failures: int
    expires_at: int

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        call = c.rotate_bot(
            bytes.fromhex(self.cron_spec_hex),
            self.allowed_actions,
            self.timelock_secs,
            self.max_failures,
            self.expires_at,
        )
        return (TimedCall(call=call, not_before=execute_at, secondary=(self.operator,)),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        bot = snapshot.bot(self.operator)
        if bot is None:
            return False
        return (
            bot.allowed_actions == self.allowed_actions
            and bot.timelock_secs == self.timelock_secs
            and bot.max_failures == self.max_failures
            and bot.expires_at == self.expires_at
            and bot.cron_spec == bytes.fromhex(self.cron_spec_hex)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeRequests(Recipe):
    """``vrf_deposit::resume_requests(execute_at)``: VRF requests paused by the deposit guard run
    again (action 5, sensitive: operator request only, ``autobot vrf resume``; the request is
    refused while the deposit is short, ``planning/requests.py``). The goal: not paused."""

    KIND: ClassVar[ActionKind] = ActionKind.UNPAUSE

    def calls(self, execute_at: int) -> tuple[TimedCall, ...]:
        return (TimedCall(call=c.resume_requests(execute_at), not_before=execute_at),)

    def goal_reached(self, snapshot: Snapshot) -> bool:
        return not snapshot.deposit.requests_paused


RECIPE_TYPES: Mapping[str, type[Recipe]] = {
    cls.KIND.value: cls
    for cls in (
        AutoClose,
        RequestDraw,
        ScheduleManualRetry,
        ComputeWinners,
        RefundPlan,
        Cancel,
        SetFallback,
        ClearClamp,
        RotateBot,
        ResumeRequests,
        CleanupRoles,
    )
}


def recipe_from_json(data: Mapping[str, Any]) -> Recipe:
    """The recipe ``data`` (from ``Recipe.to_json``) describes; ``ValueError`` if unknown.

    ``data["type"]`` is the recipe's ``ActionKind`` value (journals older than schema 2 spelled it
    otherwise; ``journal/schema.py`` migrates them)."""
    kind = data.get("type")
    cls = RECIPE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown recipe type {kind!r}")
    return cls.from_json(data)
