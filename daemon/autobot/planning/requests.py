"""Operator requests: journaled intents turned into planned actions, or rejected with a reason.

The CLI journals a request; the planner validates it against the snapshot and answers with a
``PlannedAction`` (carrying ``request_id``) or a ``Rejected``. Gating is the same as for automatic
work: a cancel is action 7 (timelocked, routed to a bot with timelock >= 900 s); clear-clamp,
rotate and cleanup have no action id (journaled and gated locally). A request's kind is the ``ActionKind`` it
asks for (``autobot feed clear-clamp`` writes a ``clamp`` request).

==============  ==========================================  ================================
request (kind)  valid when                                  action (key)
==============  ==========================================  ================================
cancel          lottery exists, not FINALIZED/CANCELED,     ``Cancel`` (``cancel:<id>:<reason>``)
                reason 1..255, no cancel already open
clamp           feed exists and is clamped                  ``ClearClamp`` (``clamp:<asset>:<req>``)
refund          lottery CANCELED, not archived; forces the  ``RefundPlan`` (``refund:<id>:<round>``)
                plan past auto_refund / PAYOUT review
rotate          operator registered; resulting policy       ``RotateBot`` (``rotate:<op>:<req>``)
                valid (non-empty ids, max_failures > 0,
                expiry in the future, 5/6/7 need >= 900 s,
                a locked-out bot needs max > failures)
unpause         VRF requests paused, the deposit's stored   ``ResumeRequests``
                balances healthy (effective balance at or   (``unpause:0:<req>``; action 5,
                above the required minimum and the floor),  sensitive: a bot with a
                no resume already in progress               timelock >= 900 s announces it)
cleanup         no cleanup already open                     ``CleanupRoles`` (``cleanup:0:<req>``)
==============  ==========================================  ================================

A rotation keeps the bot's current value for every field the request leaves unset;
``expires_in`` is seconds from the snapshot's chain time. Resuming while the deposit is short would
only last until the next snapshot pauses requests again (docs/package.md §2.7): the request is
refused with the shortfall and what the runbook asks (top up to ``required_minimum x 1.2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from autobot.domain.actions import MIN_SENSITIVE_TIMELOCK_SECS, ActionKind, is_sensitive
from autobot.domain.feeds import PriceFeed
from autobot.domain.snapshot import Snapshot
from autobot.domain.values import MAX_U8, normalise_address
from autobot.planning.plan import ActionKey, Escalation, PlanContext, PlannedAction, Recipe
from autobot.planning.recipes import Cancel, CleanupRoles, ClearClamp, ResumeRequests, RotateBot
from autobot.planning.refunds import plan_refund

__all__ = [
    "CancelRequest",
    "CleanupRequest",
    "ClearClampRequest",
    "OperatorRequest",
    "RefundRequest",
    "Rejected",
    "RequestOutcome",
    "RotateRequest",
    "UnpauseRequest",
    "decide",
    "plan",
    "request_from_journal",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequest:
    request_id: int
    lottery_id: int
    reason: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearClampRequest:
    request_id: int
    asset_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRequest:
    """Start or resume a refund plan for a canceled lottery."""

    request_id: int
    lottery_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RotateRequest:
    """``rotate_bot`` for ``operator``; ``None`` keeps the bot's current value."""

    request_id: int
    operator: str
    max_failures: int | None = None
    timelock_secs: int | None = None
    expires_in: int | None = None
    allowed_actions: tuple[int, ...] | None = None
    cron_spec: str | None = None  # text; encoded as UTF-8 bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class UnpauseRequest:
    """``vrf_deposit::resume_requests``: VRF requests run again (``autobot vrf resume``)."""

    request_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanupRequest:
    """``autobot roles cleanup``: run ``roles::cleanup_expired_admin`` as the admin."""

    request_id: int


type OperatorRequest = (
    CancelRequest
    | ClearClampRequest
    | RefundRequest
    | RotateRequest
    | UnpauseRequest
    | CleanupRequest
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """A request the snapshot does not allow, and why (shown to the operator, journaled)."""

    request_id: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestOutcome:
    actions: tuple[PlannedAction, ...] = ()
    rejected: tuple[Rejected, ...] = ()


def _opt_int(params: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = params.get(name)
        if value is not None:
            return int(value)
    return None


def request_from_journal(
    request_id: int, kind: str, subject: str, params: Mapping[str, Any]
) -> OperatorRequest | None:
    """The planner's view of a journaled request (``RequestRecord``: kind, subject, params).

    ``kind`` is the journal's ``RequestKind`` value: the ``ActionKind`` it asks for (``cancel``,
    ``clamp``, ``refund``, ``rotate``); ``None`` for the executor's own (``retry``, ``park``). Raises
    ``ValueError`` for a subject or parameter of the wrong shape (reject the request with it).
    A rotate subject must already be an address (names are resolved by the caller, from config).
    """
    match kind:
        case ActionKind.CANCEL:
            reason = _opt_int(params, "reason", "reason_code")
            if reason is None:
                raise ValueError("cancel request without a reason")
            return CancelRequest(request_id=request_id, lottery_id=int(subject), reason=reason)
        case ActionKind.CLAMP:
            return ClearClampRequest(request_id=request_id, asset_id=int(subject))
        case ActionKind.REFUND:
            return RefundRequest(request_id=request_id, lottery_id=int(subject))
        case ActionKind.CLEANUP:
            return CleanupRequest(request_id=request_id)
        case ActionKind.ROTATE:
            allowed = params.get("allowed_actions")
            cron = params.get("cron_spec", params.get("cron"))
            return RotateRequest(
                request_id=request_id,
                operator=subject,
                max_failures=_opt_int(params, "max_failures"),
                timelock_secs=_opt_int(params, "timelock_secs", "timelock"),
                expires_in=_opt_int(params, "expires_in"),
                allowed_actions=None if allowed is None else tuple(int(a) for a in allowed),
                cron_spec=None if cron is None else str(cron),
            )
        case ActionKind.UNPAUSE:
            return UnpauseRequest(request_id=request_id)
    return None


def _action(key: ActionKey, recipe: Recipe, request_id: int, why: str, now: int) -> PlannedAction:
    return PlannedAction(
        key=key,
        recipe=recipe,
        due_at=now,
        reason=why,
        request_id=request_id,
    )


def _cancel(req: CancelRequest, snapshot: Snapshot, ctx: PlanContext) -> PlannedAction | str:
    view = snapshot.lotteries.get(req.lottery_id)
    if view is None:
        return f"lottery {req.lottery_id} not found"
    if view.status.is_terminal:
        return f"lottery {req.lottery_id} is {view.status.name}: cannot be canceled"
    if not 1 <= req.reason <= MAX_U8:
        return f"cancel reason must be 1..255, got {req.reason}"
    if ctx.is_open(ActionKind.CANCEL, req.lottery_id):
        return f"a cancellation of lottery {req.lottery_id} is already in progress"
    recipe = Cancel(lottery_id=req.lottery_id, reason=req.reason)
    why = f"operator request {req.request_id}: cancel with reason {req.reason}"
    key = ActionKey(ActionKind.CANCEL, req.lottery_id, req.reason)
    return _action(key, recipe, req.request_id, why, snapshot.now)


def _clear_clamp(
    req: ClearClampRequest, snapshot: Snapshot, ctx: PlanContext
) -> PlannedAction | str:
    feed: PriceFeed | None = snapshot.feeds.get(req.asset_id)
    if feed is None:
        return f"no price feed for asset {req.asset_id}"
    if not feed.clamp_active:
        return f"feed {req.asset_id} is not clamped"
    if ctx.is_open(ActionKind.CLAMP, req.asset_id):
        return f"a clear-clamp of asset {req.asset_id} is already in progress"
    recipe = ClearClamp(asset_id=req.asset_id)
    why = f"operator request {req.request_id}: clear the clamp"
    key = ActionKey(ActionKind.CLAMP, req.asset_id, req.request_id)
    return _action(key, recipe, req.request_id, why, snapshot.now)


def _cleanup(req: CleanupRequest, snapshot: Snapshot, ctx: PlanContext) -> PlannedAction | str:
    if ctx.is_open(ActionKind.CLEANUP, 0):
        return "a cleanup of expired caps is already in progress"
    why = f"operator request {req.request_id}: remove expired partner and premium caps"
    key = ActionKey(ActionKind.CLEANUP, 0, req.request_id)
    return _action(key, CleanupRoles(), req.request_id, why, snapshot.now)


def _refund(req: RefundRequest, snapshot: Snapshot, ctx: PlanContext) -> PlannedAction | str:
    view = snapshot.lotteries.get(req.lottery_id)
    if view is None:
        return f"lottery {req.lottery_id} not found"
    if ctx.is_open(ActionKind.REFUND, req.lottery_id):
        return f"a refund plan for lottery {req.lottery_id} is already in progress"
    outcome = plan_refund(view, snapshot, ctx, forced=True)
    if outcome is None:
        return f"lottery {req.lottery_id} is {view.status.name}: nothing to refund or archive"
    if isinstance(outcome, Escalation):
        return f"{outcome.kind}: {outcome.reason}"
    return PlannedAction(
        key=outcome.key,
        recipe=outcome.recipe,
        due_at=outcome.due_at,
        reason=f"operator request {req.request_id}: {outcome.reason}",
        request_id=req.request_id,
    )


def _rotate(req: RotateRequest, snapshot: Snapshot, ctx: PlanContext) -> PlannedAction | str:
    try:
        operator = normalise_address(req.operator)
    except ValueError:
        return f"not an address: {req.operator!r}"
    bot = snapshot.bot(operator)
    if bot is None:
        return f"operator {operator} is not registered"
    if ctx.is_open(ActionKind.ROTATE, operator):
        return f"a rotation of {operator} is already in progress"
    allowed = bot.allowed_actions if req.allowed_actions is None else req.allowed_actions
    timelock = bot.timelock_secs if req.timelock_secs is None else req.timelock_secs
    max_failures = bot.max_failures if req.max_failures is None else req.max_failures
    expires_at = bot.expires_at if req.expires_in is None else snapshot.now + req.expires_in
    cron = bot.cron_spec if req.cron_spec is None else req.cron_spec.encode()
    if not allowed:
        return "allowed_actions must not be empty"
    if max_failures <= 0:
        return "max_failures must be > 0"
    if expires_at <= snapshot.now:
        return (
            f"the expiry is {snapshot.now - expires_at} s before the chain's time now: not after it"
        )
    sensitive = sorted(a for a in allowed if is_sensitive(a))
    if sensitive and timelock < MIN_SENSITIVE_TIMELOCK_SECS:
        return (
            f"actions {sensitive} need a timelock >= {MIN_SENSITIVE_TIMELOCK_SECS}s, "
            f"got {timelock}s"
        )
    if bot.is_locked_out and max_failures <= bot.failure_count:
        return (
            f"bot is locked out at {bot.failure_count} failures: max_failures must exceed it, "
            f"got {max_failures}"
        )
    recipe = RotateBot(
        operator=operator,
        cron_spec_hex=cron.hex(),
        allowed_actions=tuple(allowed),
        timelock_secs=timelock,
        max_failures=max_failures,
        expires_at=expires_at,
    )
    why = f"operator request {req.request_id}: rotate {operator}"
    key = ActionKey(ActionKind.ROTATE, operator, req.request_id)
    return _action(key, recipe, req.request_id, why, snapshot.now)


def _unpause(req: UnpauseRequest, snapshot: Snapshot, ctx: PlanContext) -> PlannedAction | str:
    deposit = snapshot.deposit
    if not deposit.requests_paused:
        return "VRF requests are not paused: there is nothing to resume"
    if ctx.is_open(ActionKind.UNPAUSE, 0):
        return "resuming VRF requests is already in progress"
    short = deposit.shortfall
    if short is not None:
        target = deposit.suggested_top_up + deposit.effective_balance
        return (
            f"the VRF deposit is still short: {short}; resuming now would last only until the "
            f"next snapshot pauses requests again. Top up the dVRF deposit to at least "
            f"{max(target, deposit.effective_floor)} (required_minimum x 1.2, and no less than the "
            "floor) and record a snapshot: a healthy snapshot resumes requests by itself"
        )
    why = (
        f"operator request {req.request_id}: resume VRF requests paused since "
        f"{deposit.paused_since_ts} (effective balance {deposit.effective_balance})"
    )
    key = ActionKey(ActionKind.UNPAUSE, 0, req.request_id)
    return _action(key, ResumeRequests(), req.request_id, why, snapshot.now)


def decide(snapshot: Snapshot, ctx: PlanContext) -> RequestOutcome:
    """Every journaled request in order; a request planned earlier in the pass blocks a duplicate."""
    actions: list[PlannedAction] = []
    rejected: list[Rejected] = []
    for req in ctx.requests:
        local = ctx if not actions else _with_open(ctx, actions)
        result: PlannedAction | str
        match req:
            case CancelRequest():
                result = _cancel(req, snapshot, local)
            case ClearClampRequest():
                result = _clear_clamp(req, snapshot, local)
            case RefundRequest():
                result = _refund(req, snapshot, local)
            case RotateRequest():
                result = _rotate(req, snapshot, local)
            case UnpauseRequest():
                result = _unpause(req, snapshot, local)
            case CleanupRequest():
                result = _cleanup(req, snapshot, local)
        if isinstance(result, str):
            rejected.append(Rejected(request_id=req.request_id, reason=result))
        else:
            actions.append(result)
    return RequestOutcome(actions=tuple(actions), rejected=tuple(rejected))


def _with_open(ctx: PlanContext, actions: list[PlannedAction]) -> PlanContext:
    return replace(ctx, open_actions=ctx.open_actions | {a.key for a in actions})


def plan(snapshot: Snapshot, ctx: PlanContext) -> list[PlannedAction]:
    """``decide(...).actions`` as a list (the planner signature)."""
    return list(decide(snapshot, ctx).actions)
