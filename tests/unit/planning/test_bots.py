"""Bots: alert states, routing eligibility, and escalation when nobody can carry work."""

from __future__ import annotations

from plan_builders import NOW, OPERATOR, bot, ctx, lottery, snapshot

from autobot.domain.actions import ActionId
from autobot.domain.bots import Bot
from autobot.domain.lotteries import LotteryStatus
from autobot.planning import bots, plan_all
from autobot.planning.bots import BotAlertKind


def _kinds(*b: Bot) -> list[BotAlertKind]:
    return [a.kind for a in bots.alerts(snapshot(bots=b), ctx())]


def test_a_healthy_bot_raises_no_alert() -> None:
    assert _kinds(bot()) == []


def test_one_failure_from_the_limit_is_an_alert() -> None:
    assert _kinds(bot(max_failures=5, failures=4)) == [BotAlertKind.FAILURE_LIMIT_NEAR]
    assert _kinds(bot(max_failures=5, failures=3)) == []


def test_a_bot_at_its_failure_limit_is_locked_out() -> None:
    (alert,) = bots.alerts(snapshot(bots=(bot(max_failures=3, failures=3),)), ctx())
    assert (alert.kind, alert.operator, alert.value) == (BotAlertKind.LOCKED_OUT, OPERATOR, 3)


def test_expiry_within_a_day_is_an_alert() -> None:
    assert _kinds(bot(expires_at=NOW + 86_400)) == [BotAlertKind.EXPIRING]
    assert _kinds(bot(expires_at=NOW + 86_401)) == []


def test_an_expired_bot_is_reported_as_expired() -> None:
    assert _kinds(bot(expires_at=NOW - 1)) == [BotAlertKind.EXPIRED]


def test_a_pending_announcement_older_than_timelock_plus_fifteen_minutes_is_stale() -> None:
    # announced at pending_execute_after - timelock; stale when age > timelock + 900
    announced = NOW - 900 - 900 - 1
    assert _kinds(bot(timelock=900, pending_execute_after=announced + 900)) == [
        BotAlertKind.PENDING_STALE
    ]
    assert _kinds(bot(timelock=900, pending_execute_after=announced + 901)) == []


def test_a_sensitive_bot_below_900_seconds_breaches_the_timelock_policy() -> None:
    assert _kinds(bot(allowed=(6,), timelock=600)) == [BotAlertKind.TIMELOCK_BREACH]


def test_a_locked_out_bot_carries_nothing_until_its_failures_drop_below_the_limit() -> None:
    assert not bots.can_carry(bot(max_failures=3, failures=3), ActionId.AUTO_CLOSE, NOW)
    assert bots.can_carry(bot(max_failures=4, failures=3), ActionId.AUTO_CLOSE, NOW)


def test_a_busy_bot_is_still_a_route() -> None:
    assert bots.can_carry(bot(pending_execute_after=NOW + 10), ActionId.AUTO_CLOSE, NOW)


def test_sensitive_actions_need_a_timelock_of_900_seconds() -> None:
    assert not bots.can_carry(bot(allowed=(1,), timelock=60), ActionId.CANCEL, NOW)
    assert bots.can_carry(bot(allowed=(1, 7), timelock=900), ActionId.CANCEL, NOW)


def test_planned_work_no_bot_can_carry_is_escalated() -> None:
    # given a close is due but the only bot is locked out
    snap = snapshot(lottery(1, sales_end=NOW - 1), bots=(bot(max_failures=2, failures=2),))
    result = plan_all(snap, ctx())
    assert [str(a.key) for a in result.actions] == ["close:1:0"]
    (esc,) = result.escalations
    assert (esc.kind, esc.subject) == ("bot_unavailable", int(ActionId.AUTO_CLOSE))


def test_no_escalation_when_a_live_bot_can_carry_the_work() -> None:
    snap = snapshot(lottery(1, LotteryStatus.ACTIVE, sales_end=NOW - 1), bots=(bot(),))
    assert plan_all(snap, ctx()).escalations == ()
