"""The package's view results (node JSON) decoded into domain values (docs/package.md §6).

One function per view, each strict in the way ``chain/codec.py`` describes: a wrong shape raises
``RpcProtocolError`` naming the view and field path. Field names are the Move structs' own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
from autobot.chain.flat import build_flat
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

_BPS_BITS: Mapping[str, int] = dict.fromkeys(
    ("prize_bps", "jackpot_bps", "operations_bps", "reserve_bps"), 16
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


def _flat[T](
    cls: type[T], raw: object, path: str, *, bits: Mapping[str, int] | None = None, **given: object
) -> T:
    """``cls`` from the view object ``raw``: every field not ``given`` by its type (an ``int`` a
    u64, or as many bits as ``bits`` says)."""
    widths = bits or {}

    def read(name: str, kind: type) -> object:
        if kind is bool:
            return _bool(raw, name, path)
        if kind is bytes:
            return _bytes(raw, name, path)
        value, value_path = _sub(raw, name, path)
        return uint(value, value_path, widths.get(name, 64))

    return build_flat(cls, read, given)


def _enum[E](raw: object, name: str, path: str, cls: Callable[[int], E]) -> E:
    value, value_path = _sub(raw, name, path)
    return enum_value(value, value_path, cls)


def decode_overview(raw: object, path: str = "status_overview") -> StatusOverview:
    return _flat(StatusOverview, raw, path)


def decode_bot(raw: object, path: str) -> Bot:
    actions_raw, actions_path = _sub(raw, "allowed_actions", path)
    actions = tuple(
        uint(item, f"{actions_path}[{i}]")
        for i, item in enumerate(array(actions_raw, actions_path))
    )
    operator = address(field(obj(raw, path), "operator", path), f"{path}.operator")
    return _flat(Bot, raw, path, operator=operator, allowed_actions=actions)


def decode_bot_list(raw: object, path: str = "list_automation_bots") -> tuple[Bot, ...]:
    return tuple(decode_bot(item, f"{path}[{i}]") for i, item in enumerate(array(raw, path)))


def decode_bot_option(raw: object, path: str = "get_automation_bot") -> Bot | None:
    inner = option(raw, path)
    return None if inner is None else decode_bot(inner, f"{path}.vec[0]")


def decode_refund_progress(raw: object, path: str = "get_refund_progress") -> RefundProgress:
    return _flat(RefundProgress, raw, path)


def decode_cancellation(raw: object, path: str = "get_cancellation") -> Cancellation | None:
    inner = option(raw, path)
    if inner is None:
        return None
    path = f"{path}.vec[0]"
    reason = _u8(inner, "reason_code", path)
    canceled_ts = _u64(inner, "canceled_ts", path)
    previous = _enum(inner, "previous_status", path, LotteryStatus)
    return _flat(
        Cancellation,
        inner,
        path,
        reason_code=reason,
        canceled_ts=canceled_ts,
        previous_status=previous,
    )


def decode_deposit(raw: object, path: str = "get_vrf_deposit_status") -> VrfDepositStatus:
    # the ledger's config is no view's: 0 here (storage reads fill it)
    return _flat(VrfDepositStatus, raw, path, effective_floor=0, min_balance_multiplier_bps=0)


def decode_status(raw: object, path: str = "get_lottery_status") -> LotteryStatusView:
    status = _enum(raw, "status", path, LotteryStatus)
    return _flat(LotteryStatusView, raw, path, bits={"primary_type": 8}, status=status)


def _retry_policy(raw: object, path: str) -> RetryPolicy:
    strategy = _enum(raw, "strategy", path, RetryStrategy)
    return _flat(RetryPolicy, raw, path, strategy=strategy)


def _prize_slot(raw: object, path: str) -> PrizeSlot:
    return _flat(PrizeSlot, raw, path, bits={"winners_per_slot": 16, "reward_type": 8})


def decode_config(raw: object, path: str = "get_lottery") -> LotteryConfig:
    window, window_path = _sub(raw, "sales_window", path)
    limits, limits_path = _sub(raw, "ticket_limits", path)
    split, split_path = _sub(raw, "sales_distribution", path)
    plan_raw, plan_path = _sub(raw, "prize_plan", path)
    close, close_path = _sub(raw, "auto_close_policy", path)
    backend, backend_path = _sub(raw, "reward_backend", path)
    retry, retry_path = _sub(raw, "vrf_retry_policy", path)

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
        distribution=_flat(SalesDistribution, split, split_path, bits=_BPS_BITS),
        auto_close=_flat(AutoClosePolicy, close, close_path),
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
    return _flat(Accounting, raw, path)


def decode_flag(raw: object, path: str = "is_enabled") -> bool:
    """A view answering one ``bool`` (``feature_switch::is_enabled``)."""
    return boolean(raw, path)


def decode_id_list(raw: object, path: str = "list_active") -> tuple[int, ...]:
    return tuple(uint(item, f"{path}[{i}]") for i, item in enumerate(array(raw, path)))


def decode_vrf_state(raw: object, path: str = "vrf_state_view") -> VrfState:
    status = _enum(raw, "status", path, VrfStatus)
    return _flat(
        VrfState,
        raw,
        path,
        bits={"attempt": 8},
        status=status,
        retry_strategy=_enum(raw, "retry_strategy", path, RetryStrategy),
    )


def decode_winner_progress(raw: object, path: str = "winner_progress") -> WinnerProgress:
    return _flat(WinnerProgress, raw, path)


def decode_price_feed(raw: object, path: str = "get_price_view") -> PriceFeed:
    return _flat(PriceFeed, raw, path, bits={"decimals": 8, "fallback_reason": 8})


def decode_cap(raw: object, path: str = "payout_batch_cap_view") -> PayoutBatchCap | None:
    inner = option(raw, path)
    if inner is None:
        return None
    path = f"{path}.vec[0]"
    holder = address(field(obj(inner, path), "holder", path), f"{path}.holder")
    return _flat(PayoutBatchCap, inner, path, holder=holder)
