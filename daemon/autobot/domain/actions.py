"""Bot action ids and what autobot does under each (docs/package.md §1.1, docs/decisions.md §8).

``ActionId`` is the package's number: it goes into ``announce_dry_run``/``record_*`` and into the
action hash's pre-image (the chain does not compare the recorded id with the announced one, so the
hash must bind it). ``ActionKind`` is autobot's own vocabulary: every kind of step the planners can
propose, with the id it is attested under, or ``None`` for steps that are journaled and gated
locally without a bot (price-feed admin calls, bot rotation and registration).
"""

from __future__ import annotations

import enum

__all__ = [
    "MIN_SENSITIVE_TIMELOCK_SECS",
    "SENSITIVE_ACTIONS",
    "ActionId",
    "ActionKind",
    "is_sensitive",
]


class ActionId(enum.IntEnum):
    """The package's action ids (``automation::action_*``)."""

    AUTO_CLOSE = 1
    RETRY_VRF = 2
    DEFRAGMENT_INDEX = 3  # unused by autobot
    TOPUP_VRF_DEPOSIT = 4  # unused by autobot (deposit is monitored, not topped up)
    UNPAUSE = 5
    PAYOUT_BATCH = 6
    CANCEL = 7


SENSITIVE_ACTIONS: frozenset[int] = frozenset(
    {ActionId.UNPAUSE, ActionId.PAYOUT_BATCH, ActionId.CANCEL}
)
"""Ids that need a bot with ``timelock_secs >= MIN_SENSITIVE_TIMELOCK_SECS`` (§1.1)."""

MIN_SENSITIVE_TIMELOCK_SECS = 900


def is_sensitive(action_id: int) -> bool:
    """True for ids 5, 6 and 7."""
    return action_id in SENSITIVE_ACTIONS


class ActionKind(enum.StrEnum):
    """Every kind of step autobot may take, routed per docs/decisions.md §8."""

    AUTO_CLOSE = "auto_close"  # lottery_registry::advance_status(id, 2)
    REQUEST_DRAW = "request_draw"  # draw::request_draw_admin (first request and retries)
    SCHEDULE_MANUAL_RETRY = "schedule_manual_retry"  # draw::schedule_manual_retry_admin
    COMPUTE_WINNERS = "compute_winners"  # payouts::compute_winners_admin batches
    REFUND_PLAN = "refund_plan"  # force_refund_batch_admin batches + archive, one hash
    CANCEL = "cancel"  # cancellation::cancel_lottery_admin
    UNPAUSE = "unpause"  # vrf_deposit::resume_requests
    SET_FALLBACK = "set_fallback"  # price_feed::set_fallback (no bot)
    CLEAR_CLAMP = "clear_clamp"  # price_feed::clear_clamp (operator request only, no bot)
    ROTATE_BOT = "rotate_bot"  # automation::rotate_bot (multi-agent, no bot)
    REGISTER_BOT = "register_bot"  # automation::register_bot (multi-agent, no bot)

    @property
    def action_id(self) -> ActionId | None:
        """The id this kind is announced and recorded under, or ``None`` (no attestation)."""
        return _ROUTES[self]

    @property
    def sensitive(self) -> bool:
        """True if the kind's id needs a bot with a timelock of at least 900 s."""
        action_id = _ROUTES[self]
        return action_id is not None and is_sensitive(action_id)


_ROUTES: dict[ActionKind, ActionId | None] = {
    ActionKind.AUTO_CLOSE: ActionId.AUTO_CLOSE,
    ActionKind.REQUEST_DRAW: ActionId.RETRY_VRF,
    ActionKind.SCHEDULE_MANUAL_RETRY: ActionId.RETRY_VRF,
    ActionKind.COMPUTE_WINNERS: ActionId.RETRY_VRF,
    ActionKind.REFUND_PLAN: ActionId.PAYOUT_BATCH,
    ActionKind.CANCEL: ActionId.CANCEL,
    ActionKind.UNPAUSE: ActionId.UNPAUSE,
    ActionKind.SET_FALLBACK: None,
    ActionKind.CLEAR_CLAMP: None,
    ActionKind.ROTATE_BOT: None,
    ActionKind.REGISTER_BOT: None,
}
