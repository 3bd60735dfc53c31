"""plan_all: the policies in a fixed order, no duplicate work, one result."""

from __future__ import annotations

from plan_builders import NOW, bot, canceled, cap, ctx, feed, lottery, requested, snapshot

from autobot.domain.lotteries import LotteryStatus
from autobot.planning import CancelRequest, RefundRequest, plan_all


def test_every_policy_contributes_in_a_fixed_order() -> None:
    snap = snapshot(
        lottery(1, sales_end=NOW - 1),
        lottery(2, LotteryStatus.CLOSING),
        canceled(4),
        feeds=(feed(1, age=1_000),),
        bots=(bot(),),
        payout_cap=cap(),
    )
    result = plan_all(snap, ctx(fallback_on_stale=True))
    assert result.keys == ("draw:2:1", "close:1:0", "refund:4:1", f"fallback:1:{NOW - 1_000}")


def test_a_cancel_request_stops_the_draw_of_the_same_lottery() -> None:
    snap = snapshot(requested(3, retry_after_ts=NOW - 1), bots=(bot(),))
    result = plan_all(snap, ctx(requests=(CancelRequest(request_id=1, lottery_id=3, reason=3),)))
    assert result.keys == ("cancel:3:3",)


def test_a_refund_request_and_the_automatic_refund_plan_the_work_once() -> None:
    snap = snapshot(canceled(4), payout_cap=cap(), bots=(bot(),))
    result = plan_all(snap, ctx(requests=(RefundRequest(request_id=1, lottery_id=4),)))
    assert result.keys == ("refund:4:1",)
    assert result.actions[0].request_id == 1


def test_the_result_reports_the_earliest_future_wake_up() -> None:
    snap = snapshot(lottery(1, sales_end=NOW + 50), requested(2, retry_after_ts=NOW + 20))
    assert plan_all(snap, ctx()).wake_at == NOW + 20


def test_nothing_to_do_gives_an_empty_result() -> None:
    result = plan_all(snapshot(), ctx())
    assert result.actions == ()
    assert result.escalations == ()
    assert result.rejected_requests == ()
    assert result.wake_at is None
