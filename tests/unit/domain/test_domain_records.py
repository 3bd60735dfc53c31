"""Bots, feeds, refunds, caps and the deposit: the predicates planners and metrics share."""

from __future__ import annotations

from autobot.domain.bots import Bot
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import AutoClosePolicy, LotteryConfig, LotteryStatus, PrizeSlot
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.refunds import Cancellation, CancelReason, RefundProgress
from autobot.domain.values import normalise_address

OP = normalise_address("0xa")


def test_bot_preflight_replicates_ensure_action() -> None:
    bot = Bot(
        operator=OP, allowed_actions=(1, 2), timelock_secs=60, max_failures=3, expires_at=1000
    )
    assert bot.may_take(1, 1000)
    assert not bot.may_take(1, 1001)  # expired (expires_at is inclusive)
    assert not bot.may_take(7, 10)  # not allowed
    assert not Bot(
        operator=OP, allowed_actions=(1,), timelock_secs=0, max_failures=3, expires_at=9
    ).may_take(1, 1)
    locked = Bot(
        operator=OP,
        allowed_actions=(1,),
        timelock_secs=60,
        max_failures=2,
        expires_at=9,
        failure_count=2,
    )
    assert locked.is_locked_out and locked.failures_left == 0 and not locked.may_take(1, 1)
    pending = Bot(
        operator=OP,
        allowed_actions=(1,),
        timelock_secs=60,
        max_failures=2,
        expires_at=99,
        has_pending=True,
        pending_execute_after=50,
        pending_action_hash=b"h",
    )
    assert (
        not pending.may_take(1, 1) and pending.pending_ready(50) and not pending.pending_ready(49)
    )


def test_sensitive_action_with_short_timelock_is_a_breach() -> None:
    bot = Bot(
        operator=OP, allowed_actions=(2, 6), timelock_secs=120, max_failures=3, expires_at=10**9
    )
    assert bot.timelock_breach and not bot.may_take(2, 1)
    assert not Bot(
        operator=OP, allowed_actions=(2, 6), timelock_secs=900, max_failures=3, expires_at=9
    ).timelock_breach


def test_feed_staleness_and_clamp_prediction() -> None:
    feed = PriceFeed(
        asset_id=1, price=10_000, decimals=8, last_updated_ts=100, staleness_window=300
    )
    assert not feed.is_stale(400) and feed.is_stale(401) and not feed.is_stale(50)
    assert feed.is_usable(400)
    assert not feed.would_clamp(12_000) and feed.would_clamp(12_001)
    assert not PriceFeed(asset_id=1, price=0, decimals=8, last_updated_ts=0).would_clamp(10**9)


def test_config_derives_rng_count_winners_and_close_time() -> None:
    config = LotteryConfig(
        sales_start=0,
        sales_end=100,
        prize_plan=(
            PrizeSlot(slot_id=0, winners_per_slot=2),
            PrizeSlot(slot_id=1, winners_per_slot=3),
        ),
        auto_close=AutoClosePolicy(enabled=True, grace_period_secs=30),
    )
    assert (config.rng_count, config.winners_total, config.close_after) == (2, 5, 130)
    assert LotteryConfig(sales_start=0, sales_end=100).close_after == 100
    assert LotteryStatus.ACTIVE.can_become(LotteryStatus.CLOSING)
    assert not LotteryStatus.CANCELED.can_become(LotteryStatus.ACTIVE)
    assert LotteryStatus.FINALIZED.is_terminal


def test_refund_progress_completion_and_sla() -> None:
    cancel = Cancellation(
        reason_code=1, canceled_ts=1000, previous_status=LotteryStatus.DRAW_REQUESTED
    )
    assert cancel.reason is CancelReason.VRF_FAILURE
    assert (
        Cancellation(reason_code=9, canceled_ts=0, previous_status=LotteryStatus.ACTIVE).reason
        is None
    )
    fresh = RefundProgress(active=True, tickets_sold=10, proceeds_accum=100)
    assert not fresh.complete and fresh.remaining_tickets == 10
    assert fresh.sla_breached(cancel, 1000 + 43_201) and not fresh.sla_breached(
        cancel, 1000 + 43_200
    )
    partial = RefundProgress(
        active=True,
        refund_round=1,
        tickets_refunded=5,
        prize_refunded=50,
        last_refund_ts=2000,
        tickets_sold=10,
        proceeds_accum=100,
    )
    assert partial.sla_breached(cancel, 1000 + 86_401) and not partial.sla_breached(
        cancel, 1000 + 86_400
    )
    done = RefundProgress(
        active=True,
        refund_round=2,
        tickets_refunded=10,
        prize_refunded=80,
        operations_refunded=20,
        last_refund_ts=3000,
        tickets_sold=10,
        proceeds_accum=100,
    )
    assert done.complete and done.remaining_amount == 0 and not done.sla_breached(cancel, 10**9)
    assert RefundProgress().complete  # nothing sold, nothing to refund


def test_cap_limits_and_deposit_alert() -> None:
    cap = PayoutBatchCap(
        holder=OP,
        max_batch_size=10,
        operations_budget_total=100,
        operations_budget_used=90,
        cooldown_secs=60,
        last_batch_at=1000,
        last_nonce=3,
        nonce_stride=1,
    )
    assert cap.cooling_down(1059) and not cap.cooling_down(1060)
    assert cap.batch_fits(10) and not cap.batch_fits(11)
    assert cap.nonce_ok(4) and not cap.nonce_ok(5)
    assert cap.budget_allows(10) and not cap.budget_allows(11)
    assert cap.operations_budget_remaining == 10
    deposit = VrfDepositStatus(effective_balance=50, required_minimum=100)
    assert deposit.is_low and deposit.suggested_top_up == 70
