"""Auto-close (action 1): ACTIVE past sales end (+ grace) goes to CLOSING, nothing else."""

from __future__ import annotations

import pytest
from plan_builders import NOW, ctx, lottery, snapshot

from autobot.domain.actions import ActionId
from autobot.domain.lotteries import LotteryStatus
from autobot.planning import autoclose


def test_an_active_lottery_past_its_sales_end_is_closed() -> None:
    # given an ACTIVE lottery whose sales ended a second ago
    snap = snapshot(lottery(1, sales_end=NOW - 1))
    # when planning
    (action,) = autoclose.plan(snap, ctx())
    # then one close action advances it to CLOSING under action 1
    assert str(action.key) == "close:1:0"
    assert action.action_id == ActionId.AUTO_CLOSE
    (timed,) = action.recipe.calls(NOW + 60)
    assert timed.call.render() == "lottery_registry::advance_status(u64:1, u8:2)"


def test_a_lottery_at_exactly_its_sales_end_is_not_closed_yet() -> None:
    decision = autoclose.decide(snapshot(lottery(1, sales_end=NOW)), ctx())
    assert decision.actions == ()
    assert decision.wake_at == (NOW + 1,)


def test_the_lotterys_enabled_grace_period_delays_the_close() -> None:
    snap = snapshot(lottery(1, sales_end=NOW - 10, grace=60))
    assert autoclose.plan(snap, ctx()) == []
    assert autoclose.decide(snap, ctx()).wake_at == (NOW + 51,)


def test_the_configured_grace_delays_the_close() -> None:
    snap = snapshot(lottery(1, sales_end=NOW - 10))
    assert autoclose.plan(snap, ctx(auto_close_grace_seconds=30)) == []
    assert len(autoclose.plan(snap, ctx(auto_close_grace_seconds=5))) == 1


@pytest.mark.parametrize("status", [s for s in LotteryStatus if s != LotteryStatus.ACTIVE])
def test_no_other_status_is_ever_advanced(status: LotteryStatus) -> None:
    snap = snapshot(lottery(1, status, sales_end=NOW - 1_000))
    assert autoclose.plan(snap, ctx()) == []


def test_a_lottery_with_an_open_close_action_is_not_planned_again() -> None:
    snap = snapshot(lottery(1, sales_end=NOW - 1))
    assert autoclose.plan(snap, ctx(open_keys=("close:1:0",))) == []


def test_a_lottery_being_canceled_is_not_closed() -> None:
    snap = snapshot(lottery(1, sales_end=NOW - 1))
    assert autoclose.plan(snap, ctx(open_keys=("cancel:1:2",))) == []


def test_a_lottery_whose_auto_close_policy_is_disabled_is_never_closed_automatically() -> None:
    # given an ACTIVE lottery whose AutoClosePolicy is disabled and whose sales ended long ago
    snap = snapshot(lottery(1, sales_end=NOW - 86_400, auto_close=False))
    # when planning
    decision = autoclose.decide(snap, ctx())
    # then no close is planned: a person closes it, and the escalation says so
    assert decision.actions == ()
    (escalation,) = decision.escalations
    assert (escalation.kind, escalation.subject) == ("auto_close_disabled", 1)
    assert "closing by hand" in escalation.reason


def test_a_disabled_policy_waits_for_the_sales_end_before_escalating() -> None:
    decision = autoclose.decide(snapshot(lottery(1, sales_end=NOW, auto_close=False)), ctx())
    assert decision.escalations == () and decision.actions == ()
    assert decision.wake_at == (NOW + 1,)
