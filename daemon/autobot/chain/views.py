"""The package's view results (node JSON) decoded into domain values (docs/package.md §6).

One function per view, each strict in the way ``chain/codec.py`` describes: a wrong shape raises
``RpcProtocolError`` naming the view and field path. Field names are the Move structs' own.
"""

from __future__ import annotations

from autobot.chain.codec import (
    address,
    array,
    boolean,
    enum_value,
    field,
    hex_bytes,
    obj,
    option,
    uint,
)
from autobot.domain.bots import Bot
from autobot.domain.draws import (
    RetryPolicy,
    RetryStrategy,
    VrfState,
    VrfStatus,
    WinnerProgress,
)
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import (
    Accounting,
    AutoClosePolicy,
    LotteryConfig,
    LotteryStatus,
    LotteryStatusView,
    PrizeSlot,
    SalesDistribution,
)
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import StatusOverview

__all__ = [
    "decode_accounting",
    "decode_bot",
    "decode_bot_list",
    "decode_bot_option",
    "decode_cancellation",
    "decode_cap",
    "decode_config",
    "decode_deposit",
    "decode_flag",
    "decode_id_list",
    "decode_overview",
    "decode_price_feed",
    "decode_refund_progress",
    "decode_status",
    "decode_vrf_state",
    "decode_winner_progress",
]

_OVERVIEW_COUNTERS = (
    "total",
    "draft",
    "active",
    "closing",
    "draw_requested",
    "drawn",
    "payout",
    "finalized",
    "canceled",
    "vrf_requested",
    "vrf_fulfilled_pending",
    "vrf_retry_blocked",
    "winners_pending",
    "payout_backlog",
    "refund_active",
    "refund_batch_pending",
)


def _u64(o: object, name: str, path: str) -> int:
    return uint(field(obj(o, path), name, path), f"{path}.{name}")


def _u8(o: object, name: str, path: str) -> int:
    return uint(field(obj(o, path), name, path), f"{path}.{name}", 8)


def _bool(o: object, name: str, path: str) -> bool:
    return boolean(field(obj(o, path), name, path), f"{path}.{name}")


def _bytes(o: object, name: str, path: str) -> bytes:
    return hex_bytes(field(obj(o, path), name, path), f"{path}.{name}")


def _sub(o: object, name: str, path: str) -> tuple[object, str]:
    return field(obj(o, path), name, path), f"{path}.{name}"


def decode_overview(raw: object, path: str = "status_overview") -> StatusOverview:
    counters = {name: _u64(raw, name, path) for name in _OVERVIEW_COUNTERS}
    return StatusOverview(**counters, refund_sla_breach=_bool(raw, "refund_sla_breach", path))


def decode_bot(raw: object, path: str) -> Bot:
    actions_raw, actions_path = _sub(raw, "allowed_actions", path)
    actions = tuple(
        uint(item, f"{actions_path}[{i}]")
        for i, item in enumerate(array(actions_raw, actions_path))
    )
    return Bot(
        operator=address(field(obj(raw, path), "operator", path), f"{path}.operator"),
        allowed_actions=actions,
        timelock_secs=_u64(raw, "timelock_secs", path),
        max_failures=_u64(raw, "max_failures", path),
        expires_at=_u64(raw, "expires_at", path),
        failure_count=_u64(raw, "failure_count", path),
        success_streak=_u64(raw, "success_streak", path),
        reputation_score=_u64(raw, "reputation_score", path),
        pending_action_hash=_bytes(raw, "pending_action_hash", path),
        pending_execute_after=_u64(raw, "pending_execute_after", path),
        cron_spec=_bytes(raw, "cron_spec", path),
        last_action_ts=_u64(raw, "last_action_ts", path),
        last_action_hash=_bytes(raw, "last_action_hash", path),
        has_pending=_bool(raw, "has_pending", path),
    )


def decode_bot_list(raw: object, path: str = "list_automation_bots") -> tuple[Bot, ...]:
    return tuple(decode_bot(item, f"{path}[{i}]") for i, item in enumerate(array(raw, path)))


def decode_bot_option(raw: object, path: str = "get_automation_bot") -> Bot | None:
    inner = option(raw, path)
    return None if inner is None else decode_bot(inner, f"{path}.vec[0]")


def decode_refund_progress(raw: object, path: str = "get_refund_progress") -> RefundProgress:
    return RefundProgress(
        active=_bool(raw, "active", path),
        refund_round=_u64(raw, "refund_round", path),
        tickets_refunded=_u64(raw, "tickets_refunded", path),
        prize_refunded=_u64(raw, "prize_refunded", path),
        operations_refunded=_u64(raw, "operations_refunded", path),
        last_refund_ts=_u64(raw, "last_refund_ts", path),
        tickets_sold=_u64(raw, "tickets_sold", path),
        proceeds_accum=_u64(raw, "proceeds_accum", path),
    )


def decode_cancellation(raw: object, path: str = "get_cancellation") -> Cancellation | None:
    inner = option(raw, path)
    if inner is None:
        return None
    path = f"{path}.vec[0]"
    reason = _u8(inner, "reason_code", path)
    return Cancellation(
        reason_code=reason,
        canceled_ts=_u64(inner, "canceled_ts", path),
        previous_status=enum_value(
            field(obj(inner, path), "previous_status", path),
            f"{path}.previous_status",
            LotteryStatus,
        ),
        tickets_sold=_u64(inner, "tickets_sold", path),
        proceeds_accum=_u64(inner, "proceeds_accum", path),
    )


def decode_deposit(raw: object, path: str = "get_vrf_deposit_status") -> VrfDepositStatus:
    return VrfDepositStatus(
        total_balance=_u64(raw, "total_balance", path),
        minimum_balance=_u64(raw, "minimum_balance", path),
        effective_balance=_u64(raw, "effective_balance", path),
        required_minimum=_u64(raw, "required_minimum", path),
        last_update_ts=_u64(raw, "last_update_ts", path),
        requests_paused=_bool(raw, "requests_paused", path),
        paused_since_ts=_u64(raw, "paused_since_ts", path),
    )


def decode_status(raw: object, path: str = "get_lottery_status") -> LotteryStatusView:
    status_raw, status_path = _sub(raw, "status", path)
    return LotteryStatusView(
        status=enum_value(status_raw, status_path, LotteryStatus),
        snapshot_frozen=_bool(raw, "snapshot_frozen", path),
        primary_type=_u8(raw, "primary_type", path),
        tags_mask=_u64(raw, "tags_mask", path),
    )


def _retry_policy(raw: object, path: str) -> RetryPolicy:
    strategy_raw, strategy_path = _sub(raw, "strategy", path)
    return RetryPolicy(
        strategy=enum_value(strategy_raw, strategy_path, RetryStrategy),
        base_delay_secs=_u64(raw, "base_delay_secs", path),
        max_delay_secs=_u64(raw, "max_delay_secs", path),
    )


def _prize_slot(raw: object, path: str) -> PrizeSlot:
    winners_raw, winners_path = _sub(raw, "winners_per_slot", path)
    return PrizeSlot(
        slot_id=_u64(raw, "slot_id", path),
        winners_per_slot=uint(winners_raw, winners_path, 16),
        reward_type=_u8(raw, "reward_type", path),
        reward_payload=_bytes(raw, "reward_payload", path),
    )


def decode_config(raw: object, path: str = "get_lottery") -> LotteryConfig:
    window, window_path = _sub(raw, "sales_window", path)
    limits, limits_path = _sub(raw, "ticket_limits", path)
    split, split_path = _sub(raw, "sales_distribution", path)
    plan_raw, plan_path = _sub(raw, "prize_plan", path)
    close, close_path = _sub(raw, "auto_close_policy", path)
    backend, backend_path = _sub(raw, "reward_backend", path)
    retry, retry_path = _sub(raw, "vrf_retry_policy", path)

    def bps(name: str) -> int:
        value_raw, value_path = _sub(split, name, split_path)
        return uint(value_raw, value_path, 16)

    return LotteryConfig(
        sales_start=_u64(window, "sales_start", window_path),
        sales_end=_u64(window, "sales_end", window_path),
        ticket_price=_u64(raw, "ticket_price", path),
        max_tickets_total=_u64(limits, "max_tickets_total", limits_path),
        max_tickets_per_address=_u64(limits, "max_tickets_per_address", limits_path),
        prize_plan=tuple(
            _prize_slot(item, f"{plan_path}[{i}]")
            for i, item in enumerate(array(plan_raw, plan_path))
        ),
        distribution=SalesDistribution(
            prize_bps=bps("prize_bps"),
            jackpot_bps=bps("jackpot_bps"),
            operations_bps=bps("operations_bps"),
            reserve_bps=bps("reserve_bps"),
        ),
        auto_close=AutoClosePolicy(
            enabled=_bool(close, "enabled", close_path),
            grace_period_secs=_u64(close, "grace_period_secs", close_path),
        ),
        retry_policy=_retry_policy(retry, retry_path),
        winners_dedup=_bool(raw, "winners_dedup", path),
        draw_algo=_u8(raw, "draw_algo", path),
        primary_type=_u8(raw, "primary_type", path),
        tags_mask=_u64(raw, "tags_mask", path),
        config_version=_u64(raw, "config_version", path),
        run_id=_u64(raw, "run_id", path),
        event_slug=_bytes(raw, "event_slug", path),
        series_code=_bytes(raw, "series_code", path),
        reward_backend_type=_u8(backend, "backend_type", backend_path),
        reward_backend_blob=_bytes(backend, "config_blob", backend_path),
    )


def decode_accounting(raw: object, path: str = "accounting_snapshot") -> Accounting:
    return Accounting(
        total_sales=_u64(raw, "total_sales", path),
        total_allocated=_u64(raw, "total_allocated", path),
        total_prize_paid=_u64(raw, "total_prize_paid", path),
        total_operations_paid=_u64(raw, "total_operations_paid", path),
        total_operations_allocated=_u64(raw, "total_operations_allocated", path),
        jackpot_allowance_token=_u64(raw, "jackpot_allowance_token", path),
    )


def decode_flag(raw: object, path: str = "is_enabled") -> bool:
    """A view answering one ``bool`` (``feature_switch::is_enabled``)."""
    return boolean(raw, path)


def decode_id_list(raw: object, path: str = "list_active") -> tuple[int, ...]:
    return tuple(uint(item, f"{path}[{i}]") for i, item in enumerate(array(raw, path)))


def decode_vrf_state(raw: object, path: str = "vrf_state_view") -> VrfState:
    status_raw, status_path = _sub(raw, "status", path)
    strategy_raw, strategy_path = _sub(raw, "retry_strategy", path)
    return VrfState(
        status=enum_value(status_raw, status_path, VrfStatus),
        attempt=_u8(raw, "attempt", path),
        consumed=_bool(raw, "consumed", path),
        retry_after_ts=_u64(raw, "retry_after_ts", path),
        retry_strategy=enum_value(strategy_raw, strategy_path, RetryStrategy),
        last_request_ts=_u64(raw, "last_request_ts", path),
        request_id=_u64(raw, "request_id", path),
    )


def decode_winner_progress(raw: object, path: str = "winner_progress") -> WinnerProgress:
    return WinnerProgress(
        initialized=_bool(raw, "initialized", path),
        total_required=_u64(raw, "total_required", path),
        total_assigned=_u64(raw, "total_assigned", path),
        payout_round=_u64(raw, "payout_round", path),
        next_winner_batch_no=_u64(raw, "next_winner_batch_no", path),
        last_payout_ts=_u64(raw, "last_payout_ts", path),
    )


def decode_price_feed(raw: object, path: str = "get_price_view") -> PriceFeed:
    return PriceFeed(
        asset_id=_u64(raw, "asset_id", path),
        price=_u64(raw, "price", path),
        decimals=_u8(raw, "decimals", path),
        last_updated_ts=_u64(raw, "last_updated_ts", path),
        staleness_window=_u64(raw, "staleness_window", path),
        clamp_threshold_bps=_u64(raw, "clamp_threshold_bps", path),
        fallback_active=_bool(raw, "fallback_active", path),
        fallback_reason=_u8(raw, "fallback_reason", path),
        clamp_active=_bool(raw, "clamp_active", path),
    )


def decode_cap(raw: object, path: str = "payout_batch_cap_view") -> PayoutBatchCap | None:
    inner = option(raw, path)
    if inner is None:
        return None
    path = f"{path}.vec[0]"
    return PayoutBatchCap(
        holder=address(field(obj(inner, path), "holder", path), f"{path}.holder"),
        max_batch_size=_u64(inner, "max_batch_size", path),
        operations_budget_total=_u64(inner, "operations_budget_total", path),
        operations_budget_used=_u64(inner, "operations_budget_used", path),
        cooldown_secs=_u64(inner, "cooldown_secs", path),
        last_batch_at=_u64(inner, "last_batch_at", path),
        last_nonce=_u64(inner, "last_nonce", path),
        nonce_stride=_u64(inner, "nonce_stride", path),
    )
