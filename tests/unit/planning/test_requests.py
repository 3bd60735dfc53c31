"""Operator requests: validated against the snapshot, planned with the usual gating or rejected."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from plan_builders import NOW, OPERATOR, bot, canceled, cap, ctx, feed, lottery, requested, snapshot

from autobot.domain.actions import ActionId
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.payouts import VrfDepositStatus
from autobot.domain.snapshot import Snapshot
from autobot.planning import (
    CancelRequest,
    ClearClampRequest,
    OperatorRequest,
    RefundPlan,
    RefundRequest,
    Rejected,
    RotateBot,
    RotateRequest,
    UnpauseRequest,
)
from autobot.planning import requests as reqs


def _decide(snap: Snapshot, *requests: OperatorRequest, **kw: Any) -> reqs.RequestOutcome:
    return reqs.decide(snap, ctx(requests=requests, **kw))


def test_a_cancel_request_becomes_a_timelocked_cancel_action() -> None:
    # given a lottery waiting for its VRF callback and a request to cancel it (reason 2)
    outcome = _decide(snapshot(requested(3)), CancelRequest(request_id=7, lottery_id=3, reason=2))
    # then action 7, sensitive (routed to a bot with timelock >= 900), carrying the request id
    (action,) = outcome.actions
    assert str(action.key) == "cancel:3:2"
    assert action.action_id == ActionId.CANCEL
    assert action.sensitive
    assert action.request_id == 7
    (timed,) = action.recipe.calls(NOW + 900)
    assert (
        timed.call.render() == f"cancellation::cancel_lottery_admin(u64:3, u8:2, u64:{NOW + 900})"
    )


def test_a_cancel_request_for_an_unknown_lottery_is_rejected() -> None:
    outcome = _decide(snapshot(), CancelRequest(request_id=1, lottery_id=9, reason=2))
    assert outcome.rejected == (Rejected(request_id=1, reason="lottery 9 not found"),)


@pytest.mark.parametrize("status", [LotteryStatus.FINALIZED, LotteryStatus.CANCELED])
def test_a_cancel_request_for_a_finished_lottery_is_rejected(status: LotteryStatus) -> None:
    outcome = _decide(
        snapshot(lottery(3, status)), CancelRequest(request_id=1, lottery_id=3, reason=2)
    )
    (rejected,) = outcome.rejected
    assert "cannot be canceled" in rejected.reason


def test_a_second_cancel_of_the_same_lottery_in_one_pass_is_rejected() -> None:
    outcome = _decide(
        snapshot(requested(3)),
        CancelRequest(request_id=1, lottery_id=3, reason=2),
        CancelRequest(request_id=2, lottery_id=3, reason=3),
    )
    assert [a.request_id for a in outcome.actions] == [1]
    assert [r.request_id for r in outcome.rejected] == [2]


def test_a_clear_clamp_request_for_a_clamped_feed_is_planned_without_attestation() -> None:
    outcome = _decide(
        snapshot(feeds=(feed(2, clamped=True),)), ClearClampRequest(request_id=5, asset_id=2)
    )
    (action,) = outcome.actions
    assert str(action.key) == "clamp:2:5"
    assert action.action_id is None
    (timed,) = action.recipe.calls(NOW)
    assert timed.call.render() == f"price_feed::clear_clamp(u64:2, u64:{NOW})"


def test_a_clear_clamp_request_for_an_unclamped_feed_is_rejected() -> None:
    outcome = _decide(snapshot(feeds=(feed(2),)), ClearClampRequest(request_id=5, asset_id=2))
    assert outcome.rejected == (Rejected(request_id=5, reason="feed 2 is not clamped"),)


def test_a_refund_request_forces_a_plan_when_automatic_refunds_are_off() -> None:
    snap = snapshot(canceled(4), payout_cap=cap())
    outcome = _decide(snap, RefundRequest(request_id=3, lottery_id=4), auto_refund=False)
    (action,) = outcome.actions
    assert str(action.key) == "refund:4:1"
    assert isinstance(action.recipe, RefundPlan)
    assert action.request_id == 3


def test_a_refund_request_overrides_the_payout_review_rule() -> None:
    snap = snapshot(canceled(4, previous=LotteryStatus.PAYOUT), payout_cap=cap())
    assert len(_decide(snap, RefundRequest(request_id=3, lottery_id=4)).actions) == 1


def test_a_refund_request_still_obeys_the_cap() -> None:
    outcome = _decide(snapshot(canceled(4)), RefundRequest(request_id=3, lottery_id=4))
    (rejected,) = outcome.rejected
    assert rejected.reason.startswith("refund_cap_missing")


def test_a_refund_request_for_a_live_lottery_is_rejected() -> None:
    outcome = _decide(snapshot(lottery(4)), RefundRequest(request_id=3, lottery_id=4))
    (rejected,) = outcome.rejected
    assert "nothing to refund" in rejected.reason


def test_a_rotation_keeps_every_value_the_request_leaves_unset() -> None:
    current = bot(allowed=(1, 2), timelock=60, max_failures=3, failures=3, expires_at=NOW + 100)
    outcome = _decide(
        snapshot(bots=(current,)), RotateRequest(request_id=9, operator=OPERATOR, max_failures=6)
    )
    (action,) = outcome.actions
    assert str(action.key) == f"rotate:{OPERATOR}:9"
    assert action.action_id is None
    assert action.recipe == RotateBot(
        operator=OPERATOR,
        cron_spec_hex=current.cron_spec.hex(),
        allowed_actions=(1, 2),
        timelock_secs=60,
        max_failures=6,
        expires_at=NOW + 100,
    )


def test_a_rotation_applies_the_requested_values() -> None:
    req = RotateRequest(
        request_id=9,
        operator="0xA11CE",
        timelock_secs=1_200,
        expires_in=86_400,
        allowed_actions=(6, 7),
        cron_spec="0 * * * *",
    )
    (action,) = _decide(snapshot(bots=(bot(),)), req).actions
    assert isinstance(action.recipe, RotateBot)
    assert action.recipe.expires_at == NOW + 86_400
    assert action.recipe.allowed_actions == (6, 7)
    assert bytes.fromhex(action.recipe.cron_spec_hex) == b"0 * * * *"


def test_a_rotation_of_an_unregistered_operator_is_rejected() -> None:
    outcome = _decide(snapshot(), RotateRequest(request_id=9, operator=OPERATOR))
    (rejected,) = outcome.rejected
    assert "not registered" in rejected.reason


def test_a_rotation_allowing_sensitive_actions_below_900_seconds_is_rejected() -> None:
    req = RotateRequest(request_id=9, operator=OPERATOR, timelock_secs=600)
    (rejected,) = _decide(snapshot(bots=(bot(allowed=(1, 6)),)), req).rejected
    assert "timelock >= 900" in rejected.reason


def test_a_rotation_that_leaves_a_locked_out_bot_locked_is_rejected() -> None:
    req = RotateRequest(request_id=9, operator=OPERATOR, expires_in=3_600)
    (rejected,) = _decide(snapshot(bots=(bot(max_failures=3, failures=3),)), req).rejected
    assert "locked out" in rejected.reason


def test_a_rotation_to_an_expiry_in_the_past_is_rejected() -> None:
    req = RotateRequest(request_id=9, operator=OPERATOR, expires_in=0)
    (rejected,) = _decide(snapshot(bots=(bot(),)), req).rejected
    assert "expiry" in rejected.reason


def test_journaled_requests_map_to_planner_requests() -> None:
    assert reqs.request_from_journal(1, "cancel", "3", {"reason": 2}) == CancelRequest(
        request_id=1, lottery_id=3, reason=2
    )
    assert reqs.request_from_journal(2, "clamp", "2", {}) == ClearClampRequest(
        request_id=2, asset_id=2
    )
    assert reqs.request_from_journal(3, "refund", "4", {}) == RefundRequest(
        request_id=3, lottery_id=4
    )
    rotate = reqs.request_from_journal(
        4, "rotate", OPERATOR, {"timelock": 900, "allowed_actions": [1, 7], "cron": "x"}
    )
    assert rotate == RotateRequest(
        request_id=4,
        operator=OPERATOR,
        timelock_secs=900,
        allowed_actions=(1, 7),
        cron_spec="x",
    )


def test_executor_level_requests_are_not_the_planners() -> None:
    assert reqs.request_from_journal(5, "retry", "close:1:0", {}) is None


def test_a_journaled_cancel_without_a_reason_is_malformed() -> None:
    with pytest.raises(ValueError, match="reason"):
        reqs.request_from_journal(1, "cancel", "3", {})


def deposit(*, paused: bool = True, effective: int, floor: int = 1_000) -> VrfDepositStatus:
    return VrfDepositStatus(
        total_balance=effective + 500,
        minimum_balance=1_000,
        effective_balance=effective,
        required_minimum=1_200,
        requests_paused=paused,
        paused_since_ts=NOW - 600 if paused else 0,
        effective_floor=floor,
        min_balance_multiplier_bps=12_000,
    )


def with_deposit(status: VrfDepositStatus) -> Snapshot:
    return replace(snapshot(), deposit=status)


def test_a_resume_request_for_a_healthy_paused_deposit_becomes_action_5() -> None:
    outcome = _decide(with_deposit(deposit(effective=1_500)), UnpauseRequest(request_id=4))
    (action,) = outcome.actions
    assert str(action.key) == "unpause:0:4" and action.request_id == 4
    assert action.action_id == ActionId.UNPAUSE and action.sensitive  # a >= 900 s bot announces
    (timed,) = action.recipe.calls(NOW + 900)
    assert timed.call.render() == f"vrf_deposit::resume_requests(u64:{NOW + 900})"


@pytest.mark.parametrize(
    ("effective", "floor", "short"),
    [
        (1_100, 1_000, "below the required minimum 1200"),
        (1_300, 2_000, "below the effective floor 2000"),
    ],
)
def test_a_resume_request_while_the_deposit_is_short_is_refused_saying_why(
    effective: int, floor: int, short: str
) -> None:
    snap = with_deposit(deposit(effective=effective, floor=floor))
    (rejected,) = _decide(snap, UnpauseRequest(request_id=4)).rejected
    assert "the VRF deposit is still short" in rejected.reason and short in rejected.reason
    assert "Top up the dVRF deposit to at least" in rejected.reason


def test_a_resume_request_while_nothing_is_paused_is_refused() -> None:
    snap = with_deposit(deposit(paused=False, effective=5_000))
    (rejected,) = _decide(snap, UnpauseRequest(request_id=4)).rejected
    assert rejected.reason == "VRF requests are not paused: there is nothing to resume"


def test_a_second_resume_while_one_is_in_progress_is_refused() -> None:
    snap = with_deposit(deposit(effective=1_500))
    outcome = _decide(snap, UnpauseRequest(request_id=5), open_keys=("unpause:0:4",))
    assert outcome.rejected[0].reason == "resuming VRF requests is already in progress"


def test_a_journaled_resume_request_reads_back() -> None:
    assert reqs.request_from_journal(9, "unpause", "0", {}) == UnpauseRequest(request_id=9)
