"""``next_check``: when a lottery must be read again although no change was seen."""

from __future__ import annotations

from dataclasses import replace

from plan_builders import CHAIN_ID, NOW, canceled, lottery, requested

from autobot.domain.draws import RetryStrategy, VrfState, VrfStatus
from autobot.domain.lotteries import LotteryStatus
from autobot.planning.plan import PlanContext
from autobot.planning.schedule import is_terminal, next_check

CTX = PlanContext(
    chain_id=CHAIN_ID,
    vrf_deadline_seconds=3_600,
    manual_retry_delay_seconds=600,
    refund_first_batch_sla_seconds=43_200,
    refund_complete_sla_seconds=86_400,
)


def test_an_active_lottery_is_checked_the_second_after_its_sales_end() -> None:
    view = lottery(status=LotteryStatus.ACTIVE, sales_end=NOW + 500)
    assert next_check(view, NOW, CTX) == NOW + 501


def test_the_auto_close_grace_delays_the_check() -> None:
    view = lottery(status=LotteryStatus.ACTIVE, sales_end=NOW + 500, grace=60)
    assert next_check(view, NOW, CTX) == NOW + 561
    wider = replace(CTX, auto_close_grace_seconds=120)
    assert next_check(lottery(status=LotteryStatus.ACTIVE, sales_end=NOW + 500), NOW, wider) == (
        NOW + 621
    )


def test_work_due_now_is_not_a_next_check() -> None:
    past_sales = lottery(status=LotteryStatus.ACTIVE, sales_end=NOW - 10)
    assert next_check(past_sales, NOW, CTX) is None
    assert next_check(lottery(status=LotteryStatus.DRAWN), NOW, CTX) is None


def test_idle_statuses_have_no_next_check() -> None:
    for status in (LotteryStatus.DRAFT, LotteryStatus.PAYOUT, LotteryStatus.FINALIZED):
        assert next_check(lottery(status=status), NOW, CTX) is None


def test_a_requested_draw_is_checked_at_its_retry_window_then_its_deadline() -> None:
    view = requested(last_request_ts=NOW - 100, retry_after_ts=NOW + 200)
    assert next_check(view, NOW, CTX) == NOW + 200
    assert next_check(view, NOW + 200, CTX) == NOW - 100 + 3_600


def test_a_manual_draw_is_checked_after_the_manual_retry_delay() -> None:
    view = requested(last_request_ts=NOW - 100, retry_after_ts=0, strategy=RetryStrategy.MANUAL)
    assert next_check(view, NOW, CTX) == NOW + 500


def test_a_closing_lottery_waits_for_its_stored_retry_window() -> None:
    vrf = VrfState(status=VrfStatus.FAILED, retry_after_ts=NOW + 30)
    assert next_check(lottery(status=LotteryStatus.CLOSING, vrf=vrf), NOW, CTX) == NOW + 30
    assert next_check(lottery(status=LotteryStatus.CLOSING), NOW, CTX) is None


def test_a_refund_is_checked_at_its_sla_moments() -> None:
    view = canceled(canceled_ts=NOW - 600)
    assert next_check(view, NOW, CTX) == NOW - 600 + 43_200
    started = canceled(canceled_ts=NOW - 600, refund_round=1, tickets_refunded=5)
    assert next_check(started, NOW, CTX) == NOW - 600 + 86_400
    done = canceled(
        canceled_ts=NOW - 600,
        refund_round=2,
        tickets_refunded=10,
        prize_refunded=1_000,
        last_refund_ts=NOW - 60,
    )
    assert next_check(done, NOW, CTX) is None


def test_a_pending_execution_brings_the_check_forward() -> None:
    view = lottery(status=LotteryStatus.ACTIVE, sales_end=NOW + 500)
    assert next_check(view, NOW, CTX, pending_until=NOW + 30) == NOW + 30
    assert next_check(view, NOW, CTX, pending_until=NOW - 1) == NOW + 501


def test_finalized_and_archived_lotteries_are_terminal() -> None:
    assert is_terminal(lottery(status=LotteryStatus.FINALIZED))
    assert is_terminal(replace(canceled(), archived=True))
    assert not is_terminal(canceled())
    assert not is_terminal(lottery(status=LotteryStatus.PAYOUT))
