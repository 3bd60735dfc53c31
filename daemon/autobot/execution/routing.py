"""Which operator carries an action (docs/decisions.md §8).

An action goes to the bot with the **smallest timelock** among those allowed to do it; sensitive
ids (5, 6, 7) only to bots with a timelock of at least 900 s. Only bots whose key autobot holds are
candidates. Operators work in parallel, one pending slot each: a bot whose slot is held by another
of autobot's open actions is *busy* and skipped without a refusal; every other candidate must pass
the guards (expiry, failure budget, allowed action, pending slot when announcing, timelock policy).
Ties on the timelock go to the lower address, so routing is deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from autobot.domain.actions import MIN_SENSITIVE_TIMELOCK_SECS, is_sensitive
from autobot.domain.bots import Bot
from autobot.errors import GuardRefused
from autobot.execution.guards import GuardContext, Guards

__all__ = ["Route", "Router"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """The chosen bot (``None``: no bot can take the action now) and why others were passed over."""

    bot: Bot | None
    refusals: tuple[tuple[str, GuardRefused], ...] = ()
    busy: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """A one-line account of why no bot was chosen (empty when one was)."""
        if self.bot is not None:
            return ""
        parts = [f"{op}: {refused}" for op, refused in self.refusals]
        parts += [f"{op}: busy with another action" for op in self.busy]
        return "; ".join(parts) or "no bot we hold a key for is allowed this action"


class Router:
    """Routes action ids to bots; ``operators`` are the addresses autobot holds keys for."""

    def __init__(self, *, guards: Guards, operators: Collection[str]) -> None:
        self._guards = guards
        self._operators = frozenset(operators)

    def candidates(self, action_id: int, bots: Sequence[Bot]) -> list[Bot]:
        """Bots we can sign for that are allowed ``action_id`` and fit its sensitivity, in order."""
        eligible = [
            b
            for b in bots
            if b.operator in self._operators
            and b.allows(action_id)
            and (not is_sensitive(action_id) or b.timelock_secs >= MIN_SENSITIVE_TIMELOCK_SECS)
        ]
        return sorted(eligible, key=lambda b: (b.timelock_secs, b.operator))

    def route(
        self,
        action_id: int,
        bots: Sequence[Bot],
        *,
        now: int,
        busy: Collection[str] = (),
        action_key: str | None = None,
    ) -> Route:
        """The first candidate that is not busy and passes every guard.

        ``busy`` holds operators whose pending slot another open action of ours occupies (bots
        with a timelock only: a timelock-0 bot has no slot to hold).
        """
        refusals: list[tuple[str, GuardRefused]] = []
        skipped: list[str] = []
        for bot in self.candidates(action_id, bots):
            if bot.timelock_secs > 0 and bot.operator in busy:
                skipped.append(bot.operator)
                continue
            ctx = GuardContext(
                bot=bot, action_id=action_id, now=now, announcing=bot.timelock_secs > 0
            )
            refused = self._guards.refusal(ctx, action_key=action_key)
            if refused is None:
                return Route(bot=bot, refusals=tuple(refusals), busy=tuple(skipped))
            refusals.append((bot.operator, refused))
        return Route(bot=None, refusals=tuple(refusals), busy=tuple(skipped))
