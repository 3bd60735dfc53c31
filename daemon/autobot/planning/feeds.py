"""Price feeds (§3; no action id: admin calls journaled and gated locally).

Every feed gets a ``FeedReport`` (stale / clamped / fallback, for metrics and alerts). With
``ctx.fallback_on_stale``:

* a stale feed not in fallback gets ``set_fallback(asset, true, ctx.fallback_reason)``;
* a feed autobot itself put in fallback (``ctx.fallbacks_set_by_autobot``, from the journal) is
  released with ``set_fallback(asset, false, 0)`` once it is fresh again **and not clamped**:
  ``set_fallback(false)`` also clears a clamp, and a clamp is never cleared automatically
  (docs/decisions.md §7; only an operator's clear-clamp request does that).

Keys are ``fallback:<asset>:<last_updated_ts>``: a feed goes stale, and comes back, only through
a change of ``last_updated_ts``, so each episode gets its own key.
"""

from __future__ import annotations

from dataclasses import dataclass

from autobot.domain.actions import ActionKind
from autobot.domain.feeds import PriceFeed
from autobot.domain.snapshot import Snapshot
from autobot.planning.plan import ActionKey, Decision, PlanContext, PlannedAction
from autobot.planning.recipes import SetFallback

__all__ = ["KIND", "FeedReport", "decide", "plan", "reports"]

KIND = ActionKind.FALLBACK


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedReport:
    """One asset's health: what ``latest_price`` would say, and who set its fallback."""

    asset_id: int
    age_seconds: int
    stale: bool
    clamped: bool
    fallback: bool
    fallback_by_autobot: bool
    stale_since: int  # chain time the feed became stale (0 while fresh)

    @property
    def usable(self) -> bool:
        return not (self.stale or self.clamped or self.fallback)


def _report(feed: PriceFeed, now: int, ctx: PlanContext) -> FeedReport:
    stale = feed.is_stale(now)
    return FeedReport(
        asset_id=feed.asset_id,
        age_seconds=feed.age(now),
        stale=stale,
        clamped=feed.clamp_active,
        fallback=feed.fallback_active,
        fallback_by_autobot=feed.fallback_active and feed.asset_id in ctx.fallbacks_set_by_autobot,
        stale_since=feed.last_updated_ts + feed.staleness_window + 1 if stale else 0,
    )


def reports(snapshot: Snapshot, ctx: PlanContext) -> tuple[FeedReport, ...]:
    """A report for every feed, by asset id."""
    return tuple(_report(snapshot.feeds[a], snapshot.now, ctx) for a in sorted(snapshot.feeds))


def _action(feed: PriceFeed, active: bool, reason: int, why: str, now: int) -> PlannedAction:
    recipe = SetFallback(asset_id=feed.asset_id, active=active, reason=reason)
    return PlannedAction(
        key=ActionKey(KIND, feed.asset_id, feed.last_updated_ts),
        recipe=recipe,
        due_at=now,
        reason=why,
    )


def decide(snapshot: Snapshot, ctx: PlanContext) -> Decision:
    """Fallback on stale feeds and release of autobot's own fallbacks; wake-ups at staleness."""
    now = snapshot.now
    actions: list[PlannedAction] = []
    wake_at: list[int] = []
    for asset_id in sorted(snapshot.feeds):
        feed = snapshot.feeds[asset_id]
        stale = feed.is_stale(now)
        if not stale:
            wake_at.append(feed.last_updated_ts + feed.staleness_window + 1)
        if not ctx.fallback_on_stale or ctx.is_open(KIND, asset_id):
            continue
        if stale and not feed.fallback_active:
            why = f"feed stale for {feed.age(now)}s (window {feed.staleness_window}s)"
            actions.append(_action(feed, True, ctx.fallback_reason, why, now))
        elif (
            feed.fallback_active
            and asset_id in ctx.fallbacks_set_by_autobot
            and not stale
            and not feed.clamp_active
        ):
            actions.append(_action(feed, False, 0, "feed fresh again: release our fallback", now))
    return Decision(actions=tuple(actions), wake_at=tuple(wake_at))


def plan(snapshot: Snapshot, ctx: PlanContext) -> list[PlannedAction]:
    """``decide(...).actions`` as a list (the planner signature)."""
    return list(decide(snapshot, ctx).actions)
