"""Auto-close (action 1): an ACTIVE lottery whose sales are over goes to CLOSING.

The package stores an ``AutoClosePolicy`` but never reads it (§2.1); closing is entirely
off-chain, and autobot follows the policy:

* **enabled**: due when ``now > sales_end + grace``, where the grace is the larger of the
  lottery's own ``grace_period_secs`` and the daemon-wide ``ctx.auto_close_grace_seconds``;
* **disabled**: never closed automatically. Once its sales are over the lottery is "closing by
  hand": an escalation (``auto_close_disabled``) says a person closes it, and ``autobot status``
  and the metric ``lottery_auto_close_disabled`` show it.

The only transition autobot ever makes with ``advance_status`` is ACTIVE → CLOSING (docs/decisions.md §7).
"""

from __future__ import annotations

from autobot.domain.actions import ActionKind
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.planning.plan import ActionKey, Decision, Escalation, PlanContext, PlannedAction
from autobot.planning.recipes import AutoClose

__all__ = ["AUTO_CLOSE_DISABLED", "KIND", "close_after", "decide", "plan"]

KIND = ActionKind.CLOSE
AUTO_CLOSE_DISABLED = "auto_close_disabled"


def close_after(view: LotteryView, ctx: PlanContext) -> int:
    """The last second the lottery stays open; it is due strictly after this time."""
    return max(view.config.close_after, view.config.sales_end + ctx.auto_close_grace_seconds)


def decide(snapshot: Snapshot, ctx: PlanContext) -> Decision:
    """Close every ACTIVE lottery past its sales end (+ grace) not already being handled;
    escalate those whose policy says a person closes them."""
    now = snapshot.now
    actions: list[PlannedAction] = []
    escalations: list[Escalation] = []
    wake_at: list[int] = []
    for lottery_id in sorted(snapshot.lotteries):
        view = snapshot.lotteries[lottery_id]
        if view.status != LotteryStatus.ACTIVE:
            continue
        if ctx.is_open(KIND, lottery_id) or ctx.is_open(ActionKind.CANCEL, lottery_id):
            continue
        if not view.config.auto_close.enabled:
            if now > view.config.sales_end:
                escalations.append(
                    Escalation(
                        kind=AUTO_CLOSE_DISABLED,
                        subject=lottery_id,
                        reason=f"sales ended at {view.config.sales_end} and the lottery's "
                        "AutoClosePolicy is disabled: closing by hand (advance_status to "
                        "CLOSING), never automatically",
                        since=view.config.sales_end,
                    )
                )
            else:
                wake_at.append(view.config.sales_end + 1)
            continue
        deadline = close_after(view, ctx)
        if now <= deadline:
            wake_at.append(deadline + 1)
            continue
        recipe = AutoClose(lottery_id=lottery_id)
        actions.append(
            PlannedAction(
                key=ActionKey(KIND, lottery_id, 0),
                recipe=recipe,
                due_at=now,
                reason=(
                    f"sales ended {now - view.config.sales_end} s ago in chain time "
                    f"(grace {deadline - view.config.sales_end} s): close"
                ),
            )
        )
    return Decision(actions=tuple(actions), escalations=tuple(escalations), wake_at=tuple(wake_at))


def plan(snapshot: Snapshot, ctx: PlanContext) -> list[PlannedAction]:
    """``decide(...).actions`` as a list (the planner signature)."""
    return list(decide(snapshot, ctx).actions)
