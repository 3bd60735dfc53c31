"""Automation bots as the chain reports them (``views::AutomationBotView``, docs/package.md §1.2, §6).

The chain enforces only the timelock protocol; ``ensure_action`` (expiry, failure budget, allowed
action) cannot be called from a transaction, so autobot replicates it off-chain (docs/decisions.md §4).
The predicates below are that replica, kept next to the data they read so planners and guards
agree on one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from autobot.domain.actions import MIN_SENSITIVE_TIMELOCK_SECS, is_sensitive
from autobot.domain.values import Address

__all__ = ["MANUAL_CONFIRMATION_TIMELOCK_SECS", "Bot"]

MANUAL_CONFIRMATION_TIMELOCK_SECS = 600
"""status_page.md: a timelock above this for non-sensitive actions needs manual confirmation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bot:
    """One registered operator and its ``AutomationState``.

    ``pending_action_hash`` is empty when nothing is announced; ``has_pending`` is the chain's
    own flag (hash non-empty) and is kept as reported. Byte fields are raw bytes, not hex.
    """

    operator: Address
    allowed_actions: tuple[int, ...]
    timelock_secs: int
    max_failures: int
    expires_at: int
    failure_count: int = 0
    success_streak: int = 0
    reputation_score: int = 0
    pending_action_hash: bytes = b""
    pending_execute_after: int = 0
    cron_spec: bytes = b""
    last_action_ts: int = 0
    last_action_hash: bytes = b""
    has_pending: bool = False

    def allows(self, action_id: int) -> bool:
        """``allowed(id)`` of §1.5: the id is in the bot's list."""
        return action_id in self.allowed_actions

    def is_expired(self, now: int) -> bool:
        """Past ``expires_at`` (the last valid second is inclusive)."""
        return now > self.expires_at

    @property
    def is_locked_out(self) -> bool:
        """At the failure limit every call aborts 0x1A06, ``record_success`` included."""
        return self.failure_count >= self.max_failures

    def is_live(self, now: int) -> bool:
        """``live(now)`` of §1.5: not expired and below the failure limit."""
        return not self.is_expired(now) and not self.is_locked_out

    @property
    def can_announce(self) -> bool:
        """A bot with timelock 0 can never announce (the chain aborts 0x1A07)."""
        return self.timelock_secs > 0

    @property
    def timelock_breach(self) -> bool:
        """Allows a sensitive id (5, 6, 7) with a timelock below 900 s (metric and refusal)."""
        return self.timelock_secs < MIN_SENSITIVE_TIMELOCK_SECS and any(
            is_sensitive(a) for a in self.allowed_actions
        )

    @property
    def timelock_high(self) -> bool:
        """Allows a non-sensitive id with a timelock above ``MANUAL_CONFIRMATION_TIMELOCK_SECS``:
        the status page's "needs manual confirmation" (docs/package.md §7), not a breach."""
        return self.timelock_secs > MANUAL_CONFIRMATION_TIMELOCK_SECS and any(
            not is_sensitive(a) for a in self.allowed_actions
        )

    def may_take(self, action_id: int, now: int) -> bool:
        """The full off-chain pre-flight for a new action (§11 "Bot pre-flight").

        Live, allowed, nothing pending, able to announce, and for a sensitive id a timelock of
        at least 900 s; a bot in breach of the timelock policy is refused for every id.
        """
        return (
            self.is_live(now)
            and self.allows(action_id)
            and not self.has_pending
            and self.can_announce
            and not self.timelock_breach
        )

    def pending_ready(self, now: int) -> bool:
        """An announced action may now be executed and recorded (``now >= execute_after``)."""
        return self.has_pending and now >= self.pending_execute_after

    @property
    def failures_left(self) -> int:
        """How many more failures before lockout (0 when locked out)."""
        return max(0, self.max_failures - self.failure_count)
