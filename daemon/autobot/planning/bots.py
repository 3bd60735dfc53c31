"""Automation bots: alert states and whether any bot can carry an action (§1, §7, §11).

Bots are never changed automatically (``rotate_bot`` is an operator request, docs/decisions.md §7).
This module only reports:

* ``failure_limit_near`` — ``failure_count >= max_failures - 1`` (one failure from lockout);
* ``locked_out`` — ``failure_count >= max_failures``: every call aborts 0x1A06, so routing skips
  the bot until a rotation raises ``max_failures`` (it comes back by itself once the snapshot
  shows ``failure_count < max_failures``);
* ``expiring`` — ``expires_at`` within ``ctx.bot_expiry_warning_seconds`` (24 h); ``expired``;
* ``pending_stale`` — an announcement older than ``timelock + ctx.bot_pending_grace_seconds``
  (15 min); the announce time is ``pending_execute_after - timelock_secs``;
* ``timelock_breach`` — allows 5/6/7 with a timelock below 900 s.

``can_carry`` is the routing eligibility test without the "nothing pending" condition (a busy
bot is still a route); ``unroutable`` lists planned actions no bot could ever take.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from autobot.domain.actions import MIN_SENSITIVE_TIMELOCK_SECS, is_sensitive
from autobot.domain.bots import Bot
from autobot.domain.snapshot import Snapshot
from autobot.planning.plan import Escalation, PlanContext, PlannedAction

__all__ = ["BotAlert", "BotAlertKind", "alerts", "can_carry", "unroutable"]


class BotAlertKind(enum.StrEnum):
    FAILURE_LIMIT_NEAR = "failure_limit_near"
    LOCKED_OUT = "locked_out"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    PENDING_STALE = "pending_stale"
    TIMELOCK_BREACH = "timelock_breach"


@dataclass(frozen=True, slots=True, kw_only=True)
class BotAlert:
    """One alert state of one operator; ``value`` is the number the alert is about."""

    operator: str
    kind: BotAlertKind
    value: int
    detail: str


def _bot_alerts(bot: Bot, now: int, ctx: PlanContext) -> list[BotAlert]:
    out: list[BotAlert] = []

    def add(kind: BotAlertKind, value: int, detail: str) -> None:
        out.append(BotAlert(operator=bot.operator, kind=kind, value=value, detail=detail))

    if bot.is_locked_out:
        add(BotAlertKind.LOCKED_OUT, bot.failure_count, "at the failure limit: rotate_bot needed")
    elif bot.failure_count >= bot.max_failures - 1:
        add(
            BotAlertKind.FAILURE_LIMIT_NEAR,
            bot.failure_count,
            f"{bot.failure_count} of {bot.max_failures} failures",
        )
    if bot.is_expired(now):
        add(BotAlertKind.EXPIRED, bot.expires_at, "expired: rotate_bot needed")
    elif bot.expires_at - now <= ctx.bot_expiry_warning_seconds:
        add(BotAlertKind.EXPIRING, bot.expires_at, f"expires in {bot.expires_at - now}s")
    if bot.has_pending:
        announced_at = bot.pending_execute_after - bot.timelock_secs
        age = now - announced_at
        if age > bot.timelock_secs + ctx.bot_pending_grace_seconds:
            add(BotAlertKind.PENDING_STALE, age, f"announcement pending for {age}s")
    if bot.timelock_breach:
        add(
            BotAlertKind.TIMELOCK_BREACH,
            bot.timelock_secs,
            f"allows 5/6/7 with timelock {bot.timelock_secs}s < {MIN_SENSITIVE_TIMELOCK_SECS}s",
        )
    return out


def alerts(snapshot: Snapshot, ctx: PlanContext) -> tuple[BotAlert, ...]:
    """Every alert state of every registered bot, in the chain's bot order."""
    return tuple(a for bot in snapshot.bots for a in _bot_alerts(bot, snapshot.now, ctx))


def can_carry(bot: Bot, action_id: int, now: int) -> bool:
    """Live, allowed, able to announce, within the timelock policy (pending slot ignored)."""
    if not (bot.is_live(now) and bot.allows(action_id) and bot.can_announce):
        return False
    if bot.timelock_breach:
        return False
    return not is_sensitive(action_id) or bot.timelock_secs >= MIN_SENSITIVE_TIMELOCK_SECS


def unroutable(snapshot: Snapshot, actions: Iterable[PlannedAction]) -> tuple[Escalation, ...]:
    """One ``bot_unavailable`` escalation per action id that planned work needs and no bot takes."""
    needed = sorted({a.action_id for a in actions if a.action_id is not None})
    out: list[Escalation] = []
    for action_id in needed:
        if not any(can_carry(b, action_id, snapshot.now) for b in snapshot.bots):
            out.append(
                Escalation(
                    kind="bot_unavailable",
                    subject=int(action_id),
                    reason=f"no live bot may carry action {action_id.name} ({int(action_id)})",
                )
            )
    return tuple(out)
