"""Draws (action 2): requests, retries, manual schedules, escalations, winners, VRF cancel."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plan_builders import CHAIN_ID, HEIGHT, NOW, ctx, lottery, requested, snapshot

from autobot.domain.actions import ActionId
from autobot.domain.draws import RetryStrategy, VrfState, VrfStatus, WinnerProgress
from autobot.domain.lotteries import LotteryStatus
from autobot.planning import ComputeWinners, draws


def test_a_closing_lottery_with_tickets_gets_its_draw_requested() -> None:
    # given a CLOSING lottery with tickets and a healthy deposit
    snap = snapshot(lottery(1, LotteryStatus.CLOSING), now=NOW)
    # when planning with 3 confirmations
    (action,) = draws.plan(snap, ctx(num_confirmations=3))
    # then request_draw_admin(id, execute_at, block height, chain id, confirmations), attempt 1
    assert str(action.key) == "draw:1:1"
    assert action.action_id == ActionId.RETRY_VRF
    (timed,) = action.recipe.calls(NOW + 120)
    assert timed.call.render() == (
        f"draw::request_draw_admin(u64:1, u64:{NOW + 120}, u64:{HEIGHT}, u8:{CHAIN_ID}, u64:3)"
    )


def test_a_closing_lottery_without_tickets_is_escalated_not_drawn() -> None:
    decision = draws.decide(snapshot(lottery(1, LotteryStatus.CLOSING, tickets=0)), ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["closing_without_tickets"]


def test_no_draw_is_requested_while_the_deposit_is_paused() -> None:
    decision = draws.decide(snapshot(lottery(1, LotteryStatus.CLOSING), paused=True), ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["vrf_requests_paused"]


@pytest.mark.parametrize("mode", [0, 2])  # DISABLED, PREMIUM_ONLY (the admin has no premium)
def test_no_draw_is_requested_while_the_draw_feature_is_off(mode: int) -> None:
    # given a CLOSING lottery and the package's DRAW feature off
    decision = draws.decide(snapshot(lottery(1, LotteryStatus.CLOSING), draw_feature=mode), ctx())
    # then nothing is planned (no simulation that would abort E_FEATURE_DISABLED): an escalation
    assert decision.actions == ()
    (escalation,) = decision.escalations
    assert (escalation.kind, escalation.subject) == ("draw_feature_disabled", 1)
    assert "E_FEATURE_DISABLED" in escalation.reason


def test_both_refusals_are_escalated_and_the_draw_comes_once_they_clear() -> None:
    blocked = snapshot(lottery(1, LotteryStatus.CLOSING), paused=True, draw_feature=0)
    kinds = [e.kind for e in draws.decide(blocked, ctx()).escalations]
    assert kinds == ["draw_feature_disabled", "vrf_requests_paused"]  # the package's order
    clear = snapshot(lottery(1, LotteryStatus.CLOSING), draw_feature=1)
    assert [str(a.key) for a in draws.plan(clear, ctx())] == ["draw:1:1"]


def test_a_due_retry_and_a_manual_schedule_wait_for_the_draw_feature_too() -> None:
    retry = snapshot(requested(1, attempt=1, retry_after_ts=NOW - 1), draw_feature=0)
    assert draws.plan(retry, ctx()) == []
    manual = snapshot(
        requested(1, retry_after_ts=0, last_request_ts=NOW - 10_000, strategy=RetryStrategy.MANUAL),
        draw_feature=0,
    )
    decision = draws.decide(manual, ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["draw_feature_disabled"]


def test_an_unknown_draw_feature_entry_is_a_refusal_too() -> None:
    snap = snapshot(lottery(1, LotteryStatus.CLOSING))
    switch = replace(snap.features, initialized=True)  # a registry without a DRAW entry
    (escalation,) = draws.decide(replace(snap, features=switch), ctx()).escalations
    assert "E_FEATURE_UNKNOWN" in escalation.reason


def test_a_draw_past_its_retry_window_is_requested_again() -> None:
    # given attempt 1 unanswered and its retry moment passed
    snap = snapshot(requested(1, attempt=1, retry_after_ts=NOW - 1))
    # when planning, then attempt 2 is requested
    (action,) = draws.plan(snap, ctx())
    assert str(action.key) == "draw:1:2"


def test_a_retry_moment_that_has_just_come_is_due() -> None:
    assert len(draws.plan(snapshot(requested(1, retry_after_ts=NOW)), ctx())) == 1


def test_a_draw_inside_its_retry_window_waits_and_asks_to_be_woken() -> None:
    decision = draws.decide(snapshot(requested(1, retry_after_ts=NOW + 50)), ctx())
    assert decision.actions == ()
    assert decision.wake_at == (NOW + 50,)


def test_a_draw_refused_with_vrf_pending_is_escalated_and_never_retried() -> None:
    # given the chain answered E_VRF_PENDING to a retry of lottery 1 (journal)
    snap = snapshot(requested(1, retry_after_ts=NOW - 1, last_request_ts=NOW - 10))
    decision = draws.decide(snap, ctx(escalated_draws=frozenset({1})))
    # then no retry, one escalation
    assert decision.actions == ()
    (esc,) = decision.escalations
    assert (esc.kind, esc.subject, esc.since) == ("vrf_pending", 1, NOW - 10)


def test_an_escalated_draw_past_the_vrf_deadline_is_canceled_when_the_policy_says_so() -> None:
    snap = snapshot(requested(3, last_request_ts=NOW - 3_600))
    policy = ctx(
        escalated_draws=frozenset({3}), vrf_deadline_seconds=3_600, cancel_on_vrf_failure=True
    )
    (action,) = draws.plan(snap, policy)
    assert str(action.key) == "cancel:3:1"
    assert action.action_id == ActionId.CANCEL
    assert action.sensitive
    (timed,) = action.recipe.calls(NOW + 900)
    assert (
        timed.call.render() == f"cancellation::cancel_lottery_admin(u64:3, u8:1, u64:{NOW + 900})"
    )


def test_an_escalated_draw_is_not_canceled_before_the_deadline() -> None:
    snap = snapshot(requested(3, last_request_ts=NOW - 100))
    policy = ctx(
        escalated_draws=frozenset({3}), vrf_deadline_seconds=3_600, cancel_on_vrf_failure=True
    )
    decision = draws.decide(snap, policy)
    assert decision.actions == ()
    assert decision.wake_at == (NOW + 3_500,)


def test_an_escalated_draw_is_never_canceled_when_the_policy_is_off() -> None:
    snap = snapshot(requested(3, last_request_ts=NOW - 10_000))
    policy = ctx(escalated_draws=frozenset({3}), cancel_on_vrf_failure=False)
    assert draws.plan(snap, policy) == []


def test_a_manual_draw_gets_a_retry_scheduled_after_the_configured_delay() -> None:
    # given a MANUAL draw unanswered for 600 s, with no retry moment stored
    view = requested(
        1,
        strategy=RetryStrategy.MANUAL,
        retry_after_ts=0,
        last_request_ts=NOW - 600,
    )
    # when planning with a 600 s manual delay
    (action,) = draws.plan(snapshot(view), ctx(manual_retry_delay_seconds=600))
    # then schedule_manual_retry_admin(id, execute_at, execute_at)
    assert str(action.key) == "schedule:1:1"
    (timed,) = action.recipe.calls(NOW + 60)
    assert timed.call.render() == (
        f"draw::schedule_manual_retry_admin(u64:1, u64:{NOW + 60}, u64:{NOW + 60})"
    )


def test_a_manual_draw_waits_for_the_configured_delay() -> None:
    view = requested(1, strategy=RetryStrategy.MANUAL, retry_after_ts=0, last_request_ts=NOW - 1)
    decision = draws.decide(snapshot(view), ctx(manual_retry_delay_seconds=600))
    assert decision.actions == ()
    assert decision.wake_at == (NOW + 599,)


def test_a_manual_draw_without_a_configured_delay_is_escalated() -> None:
    view = requested(1, strategy=RetryStrategy.MANUAL, retry_after_ts=0)
    decision = draws.decide(snapshot(view), ctx(manual_retry_delay_seconds=None))
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["vrf_manual_unscheduled"]


def test_an_exhausted_draw_runs_the_package_exhaustion_cancel_under_the_policy() -> None:
    view = requested(1, attempt=5, retry_after_ts=NOW - 1)
    (action,) = draws.plan(snapshot(view), ctx(cancel_on_vrf_failure=True))
    assert str(action.key) == "draw:1:6"


def test_an_exhausted_draw_is_escalated_when_cancelling_is_not_automatic() -> None:
    view = requested(1, attempt=5, retry_after_ts=NOW - 1)
    decision = draws.decide(snapshot(view), ctx(cancel_on_vrf_failure=False))
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["vrf_exhausted"]


def test_a_drawn_lottery_gets_every_winner_batch_under_one_action() -> None:
    # given 120 winners still to assign and a batch limit of 50
    view = lottery(
        1,
        LotteryStatus.DRAWN,
        vrf=VrfState(status=VrfStatus.FULFILLED, attempt=1, consumed=False),
        winners=WinnerProgress(initialized=True, total_required=150, total_assigned=30),
    )
    (action,) = draws.plan(snapshot(view), ctx(winners_batch_limit=50))
    # then one action, three compute_winners_admin batches
    assert isinstance(action.recipe, ComputeWinners)
    assert action.recipe.batches == 3
    assert len(action.recipe.calls(NOW)) == 3


def test_a_fresh_drawn_lottery_takes_the_winner_count_from_its_prize_plan() -> None:
    view = lottery(1, LotteryStatus.DRAWN, prize_winners=(2, 3))
    (action,) = draws.plan(snapshot(view), ctx(winners_batch_limit=2))
    assert str(action.key) == "winners:1:0"
    assert isinstance(action.recipe, ComputeWinners)
    assert action.recipe.batches == 3


def test_resumed_winner_computation_is_keyed_by_the_next_batch_number() -> None:
    progress = WinnerProgress(
        initialized=True, total_required=10, total_assigned=4, next_winner_batch_no=2
    )
    (action,) = draws.plan(snapshot(lottery(1, LotteryStatus.DRAWN, winners=progress)), ctx())
    assert str(action.key) == "winners:1:2"


def test_a_draw_with_an_open_action_is_not_planned_twice() -> None:
    snap = snapshot(lottery(1, LotteryStatus.CLOSING))
    assert draws.plan(snap, ctx(open_keys=("draw:1:1",))) == []


def test_a_lottery_being_canceled_gets_no_draw_work() -> None:
    snap = snapshot(requested(1, retry_after_ts=NOW - 1))
    assert draws.plan(snap, ctx(open_keys=("cancel:1:2",))) == []


@given(st.integers(0, 10_000), st.integers(1, 500))
def test_winner_batches_cover_the_remaining_winners_exactly(remaining: int, limit: int) -> None:
    batches = draws.winner_batches(remaining, limit)
    assert batches * limit >= remaining > (batches - 1) * limit or remaining == batches == 0
