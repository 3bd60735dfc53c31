"""The planners' context for one sweep: the config's settings plus what the journal knows.

One builder for the daemon's sweep (``engine.py``) and the operator CLI (``control/survey.py``), so
the CLI tells the story the daemon acts on. ``settings`` is a ``PlanContext`` with the config's
values only (``sweep_context.plan_settings``); ``JournalKnowledge`` is what the journal knows, as
plain values (``sweep_context.read_journal`` reads it); ``plan_context`` puts them together. Pure.

Whether a lottery is archived is the chain's to say (``LotteryView.archived``): the journal's
terminal lotteries only decide which lotteries are not read again, never what is planned for one
the snapshot shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from autobot.domain.actions import ActionKey
from autobot.planning.plan import PlanContext
from autobot.planning.requests import OperatorRequest

__all__ = ["JournalKnowledge", "plan_context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalKnowledge:
    """What the journal knows that the planners need."""

    open_actions: frozenset[ActionKey] = frozenset()
    escalated_draws: frozenset[int] = frozenset()  # lotteries whose retry met E_VRF_PENDING
    fallbacks_set_by_autobot: frozenset[int] = frozenset()  # asset ids
    requests: tuple[OperatorRequest, ...] = ()  # pending, in the order they were written


def plan_context(
    settings: PlanContext, knowledge: JournalKnowledge, *, extra: Sequence[OperatorRequest] = ()
) -> PlanContext:
    """``settings`` with ``knowledge``; ``extra`` requests go after the journal's pending ones
    (the CLI checks a new request as the daemon would see it next)."""
    return replace(
        settings,
        open_actions=knowledge.open_actions,
        escalated_draws=knowledge.escalated_draws,
        fallbacks_set_by_autobot=knowledge.fallbacks_set_by_autobot,
        requests=(*knowledge.requests, *extra),
    )
