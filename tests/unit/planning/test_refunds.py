"""Refunds (action 6): cumulative-rounding batches, cap limits, resumption, archive, SLA."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from plan_builders import NOW, canceled, cap, ctx, lottery, snapshot

from autobot.domain.actions import ActionId
from autobot.domain.lotteries import LotteryStatus
from autobot.planning import RefundPlan, refunds
from autobot.planning.batches import RefundBatch, RefundStart, allocation_weights, plan_batches
from autobot.planning.refunds import SlaState

tickets_st = st.integers(1, 5_000)
proceeds_st = st.integers(0, 10**15)
weight_st = st.integers(0, 10**9)
batch_st = st.integers(1, 700)


def _check_batches(
    batches: tuple[RefundBatch, ...],
    start: RefundStart,
    tickets_sold: int,
    proceeds: int,
    batch_size: int,
) -> None:
    rounds = [b.round for b in batches]
    assert rounds == list(range(start.round + 1, start.round + 1 + len(batches)))
    assert all(b.tickets <= batch_size for b in batches)
    assert all(b.tickets >= 0 and b.prize >= 0 and b.operations >= 0 for b in batches)
    assert all(b.tickets + b.prize + b.operations > 0 for b in batches)
    assert start.tickets + sum(b.tickets for b in batches) == tickets_sold
    total = start.prize + start.operations + sum(b.prize + b.operations for b in batches)
    assert total == proceeds
    # only a final batch may carry no tickets (amounts left after every ticket was refunded)
    assert all(b.tickets > 0 for b in batches[:-1])


@given(tickets_st, proceeds_st, weight_st, weight_st, batch_st)
def test_a_fresh_plan_ends_exactly_at_tickets_and_proceeds(
    tickets_sold: int, proceeds: int, prize_w: int, ops_w: int, batch_size: int
) -> None:
    assume(prize_w + ops_w > 0)
    batches = plan_batches(
        tickets_sold=tickets_sold,
        proceeds=proceeds,
        prize_weight=prize_w,
        ops_weight=ops_w,
        batch_size=batch_size,
    )
    _check_batches(batches, RefundStart(), tickets_sold, proceeds, batch_size)
    assert len(batches) == -(-tickets_sold // batch_size)


@given(tickets_st, proceeds_st, weight_st, weight_st, batch_st)
def test_cumulative_amounts_follow_the_rounding_formula(
    tickets_sold: int, proceeds: int, prize_w: int, ops_w: int, batch_size: int
) -> None:
    assume(prize_w + ops_w > 0)
    batches = plan_batches(
        tickets_sold=tickets_sold,
        proceeds=proceeds,
        prize_weight=prize_w,
        ops_weight=ops_w,
        batch_size=batch_size,
    )
    cum_tickets = cum_prize = cum_ops = 0
    for b in batches:
        cum_tickets += b.tickets
        cum_prize += b.prize
        cum_ops += b.operations
        total = proceeds * cum_tickets // tickets_sold
        assert cum_prize + cum_ops == total
        assert cum_ops == total * ops_w // (prize_w + ops_w)


@given(tickets_st, proceeds_st, weight_st, weight_st, batch_st, st.data())
def test_resuming_after_any_batch_plans_exactly_the_remaining_batches(
    tickets_sold: int, proceeds: int, prize_w: int, ops_w: int, batch_size: int, data: st.DataObject
) -> None:
    assume(prize_w + ops_w > 0)

    def run(start: RefundStart) -> tuple[RefundBatch, ...]:
        return plan_batches(
            tickets_sold=tickets_sold,
            proceeds=proceeds,
            prize_weight=prize_w,
            ops_weight=ops_w,
            batch_size=batch_size,
            start=start,
        )

    full = run(RefundStart())
    done = data.draw(st.integers(0, len(full)))
    start = RefundStart(
        round=done,
        tickets=sum(b.tickets for b in full[:done]),
        prize=sum(b.prize for b in full[:done]),
        operations=sum(b.operations for b in full[:done]),
    )
    assert run(start) == full[done:]


@given(tickets_st, proceeds_st, weight_st, weight_st, batch_st, st.data())
def test_any_valid_resume_point_keeps_every_guarantee(
    tickets_sold: int, proceeds: int, prize_w: int, ops_w: int, batch_size: int, data: st.DataObject
) -> None:
    # given on-chain progress made by some other hand, off the formula
    tickets = data.draw(st.integers(0, tickets_sold))
    total = data.draw(st.integers(0, proceeds))
    ops = data.draw(st.integers(0, total))
    start = RefundStart(
        round=data.draw(st.integers(0, 50)), tickets=tickets, prize=total - ops, operations=ops
    )
    # when planning the rest
    batches = plan_batches(
        tickets_sold=tickets_sold,
        proceeds=proceeds,
        prize_weight=prize_w,
        ops_weight=ops_w,
        batch_size=batch_size,
        start=start,
    )
    # then consecutive rounds, sizes within the limit, exact totals, monotone, never all-zero
    _check_batches(batches, start, tickets_sold, proceeds, batch_size)


def test_zero_allocations_fall_back_to_the_sales_split_then_to_all_prize() -> None:
    assert allocation_weights(prize_allocated=700, operations_allocated=300, operations_bps=0) == (
        700,
        300,
    )
    assert allocation_weights(prize_allocated=0, operations_allocated=0, operations_bps=1_500) == (
        8_500,
        1_500,
    )
    assert allocation_weights(prize_allocated=0, operations_allocated=0, operations_bps=0) == (1, 0)


def test_a_canceled_lottery_gets_one_refund_plan_ending_in_the_archive() -> None:
    # given lottery 4 canceled with 10 tickets and 1000 proceeds, allocated 80/20, cap max 4
    view = canceled(4, tickets=10, proceeds=1_000, prize_allocated=800, operations_allocated=200)
    snap = snapshot(view, payout_cap=cap(max_batch_size=4))
    # when planning
    (action,) = refunds.plan(snap, ctx())
    # then one action 6 plan: rounds 1..3 of 4, 4, 2 tickets, then the archive
    assert str(action.key) == "refund:4:1"
    assert action.action_id == ActionId.PAYOUT_BATCH
    assert isinstance(action.recipe, RefundPlan)
    assert action.recipe.batches == ((1, 4, 320, 80), (2, 4, 320, 80), (3, 2, 160, 40))
    calls = action.recipe.calls(NOW + 900)
    assert [t.call.function for t in calls] == ["force_refund_batch_admin"] * 3 + [
        "archive_canceled_lottery_admin"
    ]


def test_a_lottery_without_tickets_is_only_archived() -> None:
    (action,) = refunds.plan(snapshot(canceled(4, tickets=0, proceeds=0)), ctx())
    assert isinstance(action.recipe, RefundPlan)
    assert action.recipe.batches == ()
    (timed,) = action.recipe.calls(NOW)
    assert timed.call.function == "archive_canceled_lottery_admin"


def test_an_interrupted_plan_resumes_from_the_on_chain_round() -> None:
    # given rounds 1 and 2 already recorded (8 of 10 tickets, 800 of 1000)
    view = canceled(
        4,
        refund_round=2,
        tickets_refunded=8,
        prize_refunded=800,
        last_refund_ts=NOW - 10,
    )
    (action,) = refunds.plan(snapshot(view, payout_cap=cap(max_batch_size=4)), ctx())
    # then the plan starts at round 3 with what is left
    assert str(action.key) == "refund:4:3"
    assert isinstance(action.recipe, RefundPlan)
    assert action.recipe.batches == ((3, 2, 200, 0),)


def test_a_fully_refunded_lottery_is_archived_only() -> None:
    view = canceled(
        4, refund_round=1, tickets_refunded=10, prize_refunded=1_000, last_refund_ts=NOW
    )
    (action,) = refunds.plan(snapshot(view, payout_cap=cap()), ctx())
    assert str(action.key) == "refund:4:2"
    assert isinstance(action.recipe, RefundPlan)
    assert action.recipe.batches == ()


def test_the_configured_batch_size_applies_below_the_caps_maximum() -> None:
    snap = snapshot(canceled(4, tickets=10), payout_cap=cap(max_batch_size=4))
    (action,) = refunds.plan(snap, ctx(refund_batch_size=3))
    assert isinstance(action.recipe, RefundPlan)
    assert [b[1] for b in action.recipe.batches] == [3, 3, 3, 1]


def test_batches_under_a_cooldown_are_spread_and_start_after_the_caps_last_batch() -> None:
    # given a cap that last recorded a batch 10 s ago with a 60 s cooldown
    snap = snapshot(
        canceled(4, tickets=10),
        payout_cap=cap(max_batch_size=5, cooldown=60, last_batch_at=NOW - 10),
    )
    (action,) = refunds.plan(snap, ctx())
    assert isinstance(action.recipe, RefundPlan)
    # when materialised before the cooldown ends, then the first batch waits for it
    stamps = [t.not_before for t in action.recipe.calls(NOW)]
    assert stamps == [NOW + 50, NOW + 110, NOW + 110]
    # and when materialised later, batch i is execute_at + i * cooldown
    assert [t.not_before for t in action.recipe.calls(NOW + 900)][:2] == [NOW + 900, NOW + 960]


def test_no_refund_plan_without_a_payout_batch_cap() -> None:
    decision = refunds.decide(snapshot(canceled(4)), ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["refund_cap_missing"]


def test_no_refund_plan_when_the_operations_budget_cannot_cover_it() -> None:
    view = canceled(4, prize_allocated=50, operations_allocated=50)
    decision = refunds.decide(snapshot(view, payout_cap=cap(budget=1_000, used=600)), ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["refund_budget"]


def test_a_nonce_stride_of_one_passes_only_when_the_last_nonce_is_the_current_round() -> None:
    good = snapshot(canceled(4), payout_cap=cap(stride=1, last_nonce=0))
    assert len(refunds.plan(good, ctx())) == 1
    bad = refunds.decide(snapshot(canceled(4), payout_cap=cap(stride=1, last_nonce=7)), ctx())
    assert [e.kind for e in bad.escalations] == ["refund_cap_nonce"]


def test_a_lottery_canceled_from_payout_waits_for_review() -> None:
    view = canceled(4, previous=LotteryStatus.PAYOUT)
    decision = refunds.decide(snapshot(view, payout_cap=cap()), ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["refund_needs_review"]


def test_automatic_refunds_can_be_switched_off() -> None:
    assert refunds.plan(snapshot(canceled(4), payout_cap=cap()), ctx(auto_refund=False)) == []


def test_an_archived_lottery_gets_no_plan() -> None:
    snap = snapshot(replace(canceled(4), archived=True), payout_cap=cap())
    assert refunds.plan(snap, ctx()) == []
    assert refunds.sla(snap, ctx()) == ()


def test_a_refund_with_an_open_plan_is_not_planned_twice() -> None:
    snap = snapshot(canceled(4), payout_cap=cap())
    assert refunds.plan(snap, ctx(open_keys=("refund:4:1",))) == []


def test_a_plan_that_cannot_finish_within_24_hours_is_flagged() -> None:
    view = canceled(4, tickets=10, canceled_ts=NOW - 80_000)
    snap = snapshot(view, payout_cap=cap(max_batch_size=1, cooldown=3_600))
    decision = refunds.decide(snap, ctx())
    assert len(decision.actions) == 1
    assert [e.kind for e in decision.escalations] == ["refund_sla_at_risk"]


def test_sla_awaits_the_first_batch_within_twelve_hours() -> None:
    (sla,) = refunds.sla(snapshot(canceled(4, canceled_ts=NOW - 43_200)), ctx())
    assert sla.state is SlaState.AWAITING_FIRST_BATCH
    assert sla.first_batch_due == NOW
    assert sla.completion_due == NOW + 43_200


def test_sla_is_breached_without_a_first_batch_after_twelve_hours() -> None:
    (sla,) = refunds.sla(snapshot(canceled(4, canceled_ts=NOW - 43_201)), ctx())
    assert sla.state is SlaState.FIRST_BATCH_BREACHED
    assert sla.breached


def test_sla_is_breached_when_refunds_are_incomplete_after_a_day() -> None:
    view = canceled(
        4, canceled_ts=NOW - 86_401, refund_round=1, tickets_refunded=5, prize_refunded=500
    )
    (sla,) = refunds.sla(snapshot(view), ctx())
    assert sla.state is SlaState.COMPLETION_BREACHED
    assert sla.remaining_tickets == 5


def test_sla_is_in_progress_between_first_batch_and_completion() -> None:
    view = canceled(4, canceled_ts=NOW - 50_000, refund_round=1, tickets_refunded=5)
    (sla,) = refunds.sla(snapshot(view), ctx())
    assert sla.state is SlaState.IN_PROGRESS


def test_sla_is_complete_once_every_ticket_and_coin_is_refunded() -> None:
    view = canceled(
        4,
        canceled_ts=NOW - 90_000,
        refund_round=2,
        tickets_refunded=10,
        prize_refunded=1_000,
        last_refund_ts=NOW - 1,
    )
    (sla,) = refunds.sla(snapshot(view), ctx())
    assert sla.state is SlaState.COMPLETE
    assert not sla.breached


def test_only_canceled_lotteries_with_tickets_have_an_sla() -> None:
    snap = snapshot(lottery(1), canceled(4, tickets=0, proceeds=0))
    assert refunds.sla(snap, ctx()) == ()


def test_the_sla_windows_come_from_the_configuration() -> None:
    snap = snapshot(canceled(4, canceled_ts=NOW - 100))
    (sla,) = refunds.sla(snap, ctx(refund_first_batch_sla_seconds=60))
    assert sla.state is SlaState.FIRST_BATCH_BREACHED


def test_progress_past_the_lotterys_totals_is_escalated_not_planned() -> None:
    view = canceled(4, tickets=10, refund_round=1, tickets_refunded=10, prize_refunded=2_000)
    decision = refunds.decide(snapshot(view, payout_cap=cap()), ctx())
    assert decision.actions == ()
    assert [e.kind for e in decision.escalations] == ["refund_progress_invalid"]


def test_batch_arithmetic_refuses_a_batch_size_below_one() -> None:
    with pytest.raises(ValueError, match="batch size"):
        plan_batches(tickets_sold=1, proceeds=1, prize_weight=1, ops_weight=0, batch_size=0)
