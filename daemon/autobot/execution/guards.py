"""Off-chain guards: ``ensure_action`` (docs/package.md §1.5) replicated before every step (docs/decisions.md §4).

The chain does not enforce actions 1, 2, 5, 6 and 7 (no entry takes an ``AutomationCap``), so
autobot checks, before it announces, executes or records under a bot, what ``ensure_action`` would:

===================== ======================================================================
guard                 refuses when
===================== ======================================================================
``expiry``            ``now > expires_at`` (the last valid second is inclusive; 0x1A04)
``failure_budget``    ``failure_count >= max_failures`` (lockout; 0x1A06)
``allowed_action``    the action id is not in the bot's ``allowed_actions`` (0x1A05)
``pending_slot``      announcing, and the bot's pending slot already holds a hash (0x1A08)
``timelock_policy``   the bot allows 5, 6 or 7 with a timelock under 900 s (refused for every id:
                      such a bot breaches the handbook's policy and is reported, never used)
===================== ======================================================================

The order is the chain's check order (live → allowed → pending), with the policy last. ``Guards``
runs them, stops at the first refusal, logs it (``guard_refused``) and counts it
(``autobot_guard_refusals_total{guard}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from autobot.domain.actions import MIN_SENSITIVE_TIMELOCK_SECS
from autobot.domain.bots import Bot
from autobot.errors import GuardRefused
from autobot.execution.telemetry import ExecutionMetrics, NullExecutionMetrics

__all__ = [
    "DEFAULT_GUARDS",
    "AllowedActionGuard",
    "ExpiryGuard",
    "FailureBudgetGuard",
    "Guard",
    "GuardContext",
    "Guards",
    "PendingSlotGuard",
    "TimelockPolicyGuard",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardContext:
    """One step about to be taken under ``bot``: which action, at which chain time.

    ``announcing`` is true for ``announce_dry_run`` (which needs the pending slot free).
    """

    bot: Bot
    action_id: int
    now: int
    announcing: bool = False


class Guard(Protocol):
    """A named check; ``check`` returns ``None`` to let the step pass, else the reason."""

    name: str

    def check(self, ctx: GuardContext) -> str | None: ...


class ExpiryGuard:
    name = "expiry"

    def check(self, ctx: GuardContext) -> str | None:
        if ctx.bot.is_expired(ctx.now):
            return f"bot expired {ctx.now - ctx.bot.expires_at} s ago in chain time"
        return None


class FailureBudgetGuard:
    name = "failure_budget"

    def check(self, ctx: GuardContext) -> str | None:
        bot = ctx.bot
        if bot.is_locked_out:
            return (
                f"failure budget spent ({bot.failure_count} of {bot.max_failures}): "
                "rotate_bot with a higher max_failures"
            )
        return None


class AllowedActionGuard:
    name = "allowed_action"

    def check(self, ctx: GuardContext) -> str | None:
        if not ctx.bot.allows(ctx.action_id):
            allowed = ",".join(str(a) for a in ctx.bot.allowed_actions)
            return f"action {ctx.action_id} is not among the bot's allowed actions [{allowed}]"
        return None


class PendingSlotGuard:
    name = "pending_slot"

    def check(self, ctx: GuardContext) -> str | None:
        if ctx.announcing and ctx.bot.pending_action_hash:
            return (
                f"pending slot holds 0x{ctx.bot.pending_action_hash.hex()} "
                f"(executes {ctx.bot.pending_execute_after - ctx.now} s from now in chain time)"
            )
        return None


class TimelockPolicyGuard:
    name = "timelock_policy"

    def check(self, ctx: GuardContext) -> str | None:
        if ctx.bot.timelock_breach:
            return (
                f"bot allows sensitive actions (5, 6, 7) with a timelock of "
                f"{ctx.bot.timelock_secs} s < {MIN_SENSITIVE_TIMELOCK_SECS} s"
            )
        return None


DEFAULT_GUARDS: tuple[Guard, ...] = (
    ExpiryGuard(),
    FailureBudgetGuard(),
    AllowedActionGuard(),
    PendingSlotGuard(),
    TimelockPolicyGuard(),
)


class Guards:
    """Runs the guards in order; the first refusal is logged, counted and returned/raised."""

    def __init__(
        self,
        guards: Sequence[Guard] = DEFAULT_GUARDS,
        *,
        metrics: ExecutionMetrics | None = None,
    ) -> None:
        self._guards = tuple(guards)
        self._metrics = metrics if metrics is not None else NullExecutionMetrics()

    def refusal(self, ctx: GuardContext, *, action_key: str | None = None) -> GuardRefused | None:
        """The first guard that refuses the step (logged and counted), or ``None``."""
        for guard in self._guards:
            reason = guard.check(ctx)
            if reason is not None:
                log.warning(
                    "guard_refused",
                    guard=guard.name,
                    reason=reason,
                    operator=ctx.bot.operator,
                    action_id=ctx.action_id,
                    action_key=action_key,
                )
                self._metrics.guard_refused(guard.name)
                return GuardRefused(guard=guard.name, reason=reason)
        return None

    def check(self, ctx: GuardContext, *, action_key: str | None = None) -> None:
        """Raise ``GuardRefused`` for the first refusal."""
        refused = self.refusal(ctx, action_key=action_key)
        if refused is not None:
            raise refused
