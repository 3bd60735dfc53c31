"""``plan_all``: every policy over one snapshot, in a fixed order, into one ``PlanResult``.

Order: operator requests first (an operator's cancel or refund wins over automatic work on the
same lottery), then draws (including the VRF-failure cancel), auto-close, refunds and price
feeds. Each policy sees the keys planned before it as open actions, so two policies never plan
the same work in one pass (and a planned cancel stops draws and closes of its lottery). Bot alerts
and ``bot_unavailable`` escalations (planned work no live bot could carry) close the pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from autobot.domain.snapshot import Snapshot
from autobot.planning import autoclose, bots, draws, feeds, refunds, requests
from autobot.planning.bots import BotAlert
from autobot.planning.feeds import FeedReport
from autobot.planning.plan import Decision, Escalation, PlanContext, PlannedAction
from autobot.planning.refunds import RefundSla
from autobot.planning.requests import Rejected

__all__ = ["PlanResult", "plan_all"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanResult:
    """One planning pass: work to do and everything to report."""

    actions: tuple[PlannedAction, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    feed_reports: tuple[FeedReport, ...] = ()
    bot_alerts: tuple[BotAlert, ...] = ()
    rejected_requests: tuple[Rejected, ...] = ()
    refund_sla: tuple[RefundSla, ...] = ()
    wake_at: int | None = None  # the earliest future chain time some policy has work

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(str(a.key) for a in self.actions)


def _opened(ctx: PlanContext, actions: Iterable[PlannedAction]) -> PlanContext:
    keys = {a.key for a in actions}
    return replace(ctx, open_actions=ctx.open_actions | keys) if keys else ctx


def plan_all(snapshot: Snapshot, ctx: PlanContext) -> PlanResult:
    """Run every policy in order (see the module doc) and combine their outputs."""
    outcome = requests.decide(snapshot, ctx)
    actions: list[PlannedAction] = list(outcome.actions)
    escalations: list[Escalation] = []
    wake_at: list[int] = []
    for policy in (draws.decide, autoclose.decide, refunds.decide, feeds.decide):
        decision: Decision = policy(snapshot, _opened(ctx, actions))
        actions.extend(decision.actions)
        escalations.extend(decision.escalations)
        wake_at.extend(decision.wake_at)
    escalations.extend(bots.unroutable(snapshot, actions))
    future = [t for t in wake_at if t > snapshot.now]
    return PlanResult(
        actions=tuple(actions),
        escalations=tuple(escalations),
        feed_reports=feeds.reports(snapshot, ctx),
        bot_alerts=bots.alerts(snapshot, ctx),
        rejected_requests=outcome.rejected,
        refund_sla=refunds.sla(snapshot, ctx),
        wake_at=min(future) if future else None,
    )
