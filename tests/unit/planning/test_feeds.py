"""Price feeds: stale → fallback, release only our own fallback, never clear a clamp."""

from __future__ import annotations

from plan_builders import NOW, ctx, feed, snapshot

from autobot.planning import SetFallback, feeds, plan_all


def test_a_stale_feed_is_put_in_fallback_when_the_policy_says_so() -> None:
    # given asset 1 last updated 301 s ago with a 300 s window
    snap = snapshot(feeds=(feed(1, age=301),))
    # when planning with fallback_on_stale
    (action,) = feeds.plan(snap, ctx(fallback_on_stale=True, fallback_reason=4))
    # then set_fallback(1, true, 4), no attestation, keyed by the feed's last update
    assert str(action.key) == f"fallback:1:{NOW - 301}"
    assert action.action_id is None
    (timed,) = action.recipe.calls(NOW)
    assert timed.call.render() == "price_feed::set_fallback(u64:1, bool:true, u8:4)"


def test_a_feed_at_exactly_its_window_is_not_stale() -> None:
    snap = snapshot(feeds=(feed(1, age=300),))
    assert feeds.plan(snap, ctx(fallback_on_stale=True)) == []


def test_without_the_policy_a_stale_feed_is_only_reported() -> None:
    snap = snapshot(feeds=(feed(1, age=400),))
    assert feeds.plan(snap, ctx(fallback_on_stale=False)) == []
    (report,) = feeds.reports(snap, ctx())
    assert report.stale and not report.usable
    assert report.age_seconds == 400
    assert report.stale_since == NOW - 400 + 301


def test_a_feed_already_in_fallback_gets_nothing_more() -> None:
    snap = snapshot(feeds=(feed(1, age=400, fallback=True),))
    assert feeds.plan(snap, ctx(fallback_on_stale=True)) == []


def test_our_fallback_is_released_once_the_feed_is_fresh_again() -> None:
    snap = snapshot(feeds=(feed(1, age=5, fallback=True),))
    policy = ctx(fallback_on_stale=True, fallbacks_set_by_autobot=frozenset({1}))
    (action,) = feeds.plan(snap, policy)
    assert action.recipe == SetFallback(asset_id=1, active=False, reason=0)


def test_our_fallback_is_not_released_while_the_feed_is_clamped() -> None:
    snap = snapshot(feeds=(feed(1, age=5, fallback=True, clamped=True),))
    policy = ctx(fallback_on_stale=True, fallbacks_set_by_autobot=frozenset({1}))
    assert feeds.plan(snap, policy) == []


def test_a_fallback_someone_else_set_is_never_released() -> None:
    snap = snapshot(feeds=(feed(1, age=5, fallback=True),))
    assert feeds.plan(snap, ctx(fallback_on_stale=True)) == []


def test_a_feed_with_an_open_fallback_action_is_not_planned_twice() -> None:
    snap = snapshot(feeds=(feed(1, age=400),))
    policy = ctx(fallback_on_stale=True, open_keys=(f"fallback:1:{NOW - 400}",))
    assert feeds.plan(snap, policy) == []


def test_a_clamp_is_reported_and_never_cleared_automatically() -> None:
    snap = snapshot(feeds=(feed(2, clamped=True),))
    result = plan_all(snap, ctx(fallback_on_stale=True))
    assert result.actions == ()
    (report,) = result.feed_reports
    assert (report.asset_id, report.clamped, report.fallback) == (2, True, False)


def test_a_fresh_feed_asks_to_be_woken_when_it_would_go_stale() -> None:
    decision = feeds.decide(snapshot(feeds=(feed(1, age=100),)), ctx())
    assert decision.wake_at == (NOW - 100 + 301,)


def test_the_report_says_who_set_the_fallback() -> None:
    snap = snapshot(feeds=(feed(1, fallback=True), feed(2, fallback=True)))
    ours, theirs = feeds.reports(snap, ctx(fallbacks_set_by_autobot=frozenset({1})))
    assert ours.fallback_by_autobot and not theirs.fallback_by_autobot
