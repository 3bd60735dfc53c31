"""Small builders for planner tests: domain values with sensible defaults, one line per case.

Imported by the tests of this folder as a plain module (pytest's default ``prepend`` import mode
puts this directory on ``sys.path``); the name is unique across the test tree on purpose.
"""

from __future__ import annotations

from typing import Any

from autobot.domain.bots import Bot
from autobot.domain.draws import RetryPolicy, RetryStrategy, VrfState, VrfStatus, WinnerProgress
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import (
    Accounting,
    AutoClosePolicy,
    LotteryConfig,
    LotteryStatus,
    PrizeSlot,
    SalesDistribution,
)
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.domain.values import normalise_address
from autobot.planning.plan import ActionKey, PlanContext

NOW = 1_700_000_000
HEIGHT = 4242
CHAIN_ID = 6
OPERATOR = normalise_address("0xa11ce")
OTHER_OPERATOR = normalise_address("0xb0b")


def config(
    *,
    sales_end: int = NOW - 100,
    prize_winners: tuple[int, ...] = (1,),
    grace: int | None = None,
    auto_close: bool = True,
    retry: RetryStrategy = RetryStrategy.FIXED,
    operations_bps: int = 0,
) -> LotteryConfig:
    return LotteryConfig(
        sales_start=sales_end - 86_400,
        sales_end=sales_end,
        prize_plan=tuple(
            PrizeSlot(slot_id=i, winners_per_slot=w) for i, w in enumerate(prize_winners)
        ),
        auto_close=AutoClosePolicy(enabled=auto_close, grace_period_secs=grace or 0),
        retry_policy=RetryPolicy(strategy=retry),
        distribution=SalesDistribution(
            prize_bps=10_000 - operations_bps, operations_bps=operations_bps
        ),
    )


def lottery(
    lottery_id: int = 1,
    status: LotteryStatus = LotteryStatus.ACTIVE,
    *,
    tickets: int = 10,
    proceeds: int = 1_000,
    vrf: VrfState | None = None,
    winners: WinnerProgress | None = None,
    refund: RefundProgress | None = None,
    cancellation: Cancellation | None = None,
    accounting: Accounting | None = None,
    **config_kw: Any,
) -> LotteryView:
    return LotteryView(
        lottery_id=lottery_id,
        status=status,
        config=config(**config_kw),
        vrf=vrf or VrfState(),
        winners=winners or WinnerProgress(),
        refund=refund
        or RefundProgress(
            active=status == LotteryStatus.CANCELED and tickets > 0,
            tickets_sold=tickets,
            proceeds_accum=proceeds,
        ),
        cancellation=cancellation,
        accounting=accounting or Accounting(total_sales=proceeds),  # sales match proceeds
    )


def requested(
    lottery_id: int = 1,
    *,
    attempt: int = 1,
    last_request_ts: int = NOW - 1_000,
    retry_after_ts: int = NOW - 400,
    strategy: RetryStrategy = RetryStrategy.FIXED,
    **kw: Any,
) -> LotteryView:
    """A DRAW_REQUESTED lottery waiting for its VRF callback."""
    vrf = VrfState(
        status=VrfStatus.REQUESTED,
        attempt=attempt,
        consumed=False,
        retry_after_ts=retry_after_ts,
        retry_strategy=strategy,
        last_request_ts=last_request_ts,
        request_id=100 + attempt,
    )
    return lottery(lottery_id, LotteryStatus.DRAW_REQUESTED, vrf=vrf, retry=strategy, **kw)


def canceled(
    lottery_id: int = 4,
    *,
    tickets: int = 10,
    proceeds: int = 1_000,
    canceled_ts: int = NOW - 600,
    previous: LotteryStatus = LotteryStatus.CLOSING,
    refund_round: int = 0,
    tickets_refunded: int = 0,
    prize_refunded: int = 0,
    operations_refunded: int = 0,
    last_refund_ts: int = 0,
    prize_allocated: int = 0,
    operations_allocated: int = 0,
    **kw: Any,
) -> LotteryView:
    progress = RefundProgress(
        active=tickets > 0,
        refund_round=refund_round,
        tickets_refunded=tickets_refunded,
        prize_refunded=prize_refunded,
        operations_refunded=operations_refunded,
        last_refund_ts=last_refund_ts,
        tickets_sold=tickets,
        proceeds_accum=proceeds,
    )
    record = Cancellation(
        reason_code=2,
        canceled_ts=canceled_ts,
        previous_status=previous,
        tickets_sold=tickets,
        proceeds_accum=proceeds,
    )
    accounting = Accounting(
        total_allocated=prize_allocated, total_operations_allocated=operations_allocated
    )
    return lottery(
        lottery_id,
        LotteryStatus.CANCELED,
        refund=progress,
        cancellation=record,
        accounting=accounting,
        **kw,
    )


def cap(
    *,
    max_batch_size: int = 0,
    budget: int = 10**12,
    used: int = 0,
    cooldown: int = 0,
    last_batch_at: int = 0,
    last_nonce: int = 0,
    stride: int = 0,
) -> PayoutBatchCap:
    return PayoutBatchCap(
        holder=normalise_address("0xad0"),
        max_batch_size=max_batch_size,
        operations_budget_total=budget,
        operations_budget_used=used,
        cooldown_secs=cooldown,
        last_batch_at=last_batch_at,
        last_nonce=last_nonce,
        nonce_stride=stride,
    )


def bot(
    operator: str = OPERATOR,
    *,
    allowed: tuple[int, ...] = (1, 2, 6, 7),
    timelock: int = 900,
    max_failures: int = 5,
    failures: int = 0,
    expires_at: int = NOW + 30 * 86_400,
    pending_execute_after: int = 0,
    cron_spec: bytes = b"*/5 * * * *",
) -> Bot:
    return Bot(
        operator=normalise_address(operator),
        allowed_actions=allowed,
        timelock_secs=timelock,
        max_failures=max_failures,
        failure_count=failures,
        expires_at=expires_at,
        pending_action_hash=b"\x01" * 32 if pending_execute_after else b"",
        pending_execute_after=pending_execute_after,
        has_pending=bool(pending_execute_after),
        cron_spec=cron_spec,
    )


def feed(
    asset_id: int = 1,
    *,
    age: int = 10,
    window: int = 300,
    fallback: bool = False,
    clamped: bool = False,
) -> PriceFeed:
    return PriceFeed(
        asset_id=asset_id,
        price=100_000,
        decimals=4,
        last_updated_ts=NOW - age,
        staleness_window=window,
        fallback_active=fallback,
        fallback_reason=1 if fallback else 0,
        clamp_active=clamped,
    )


def snapshot(
    *lotteries: LotteryView,
    now: int = NOW,
    bots: tuple[Bot, ...] = (),
    feeds: tuple[PriceFeed, ...] = (),
    payout_cap: PayoutBatchCap | None = None,
    paused: bool = False,
    draw_feature: int | None = None,
) -> Snapshot:
    """``draw_feature``: the DRAW feature's mode in an initialised switch (``None``: no switch)."""
    return Snapshot.build(
        now=now,
        height=HEIGHT,
        lotteries=lotteries,
        bots=bots,
        feeds=feeds,
        cap=payout_cap,
        deposit=VrfDepositStatus(requests_paused=paused, paused_since_ts=now - 60 if paused else 0),
        features=FeatureSwitch(
            initialized=draw_feature is not None,
            modes={} if draw_feature is None else {1: 1, 2: 1, 3: draw_feature, 4: 1},
        ),
    )


def ctx(*, open_keys: tuple[str, ...] = (), **kw: Any) -> PlanContext:
    kw.setdefault("chain_id", CHAIN_ID)
    return PlanContext(open_actions=frozenset(ActionKey.parse(k) for k in open_keys), **kw)
