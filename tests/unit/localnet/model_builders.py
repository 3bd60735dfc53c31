"""Builders for package-model tests: a seeded model, short call helpers, abort capture."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from autobot.localnet.model import (
    LotteryConfig,
    LotteryStatus,
    ModelAbort,
    ModelEvent,
    PackageModel,
    PrizeSlot,
    Purchase,
    RetryPolicy,
    RetryStrategy,
    SalesDistribution,
)
from autobot.localnet.model.package import VrfRetryMode
from autobot.localnet.scenario import buyer_address, seed

ADMIN = "0x" + "ad" * 32
OP_A = "0x" + "a1" * 32
OP_B = "0x" + "b2" * 32
OP_C = "0x" + "c3" * 32
STRANGER = "0x" + "ee" * 32
NOW = 1_700_000_000
PRICE = 1_000
HASH = bytes(range(32))
OTHER_HASH = bytes(reversed(range(32)))


def demo_model(vrf_retry: VrfRetryMode = "intent") -> PackageModel:
    """The demo scenario at ``NOW`` with operators A and B."""
    model = PackageModel(package_address=ADMIN, vrf_retry=vrf_retry)
    seed(model, scenario="demo", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    return model


def empty_model(vrf_retry: VrfRetryMode = "intent") -> PackageModel:
    """Ledgers, automation, roles and price feed initialised; nothing registered."""
    model = PackageModel(package_address=ADMIN, vrf_retry=vrf_retry)
    seed(model, scenario="empty", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    return model


def config(
    *,
    plan: Sequence[int] = (1, 2),
    retry: RetryPolicy | None = None,
    dedup: bool = True,
    distribution: tuple[int, int, int, int] = (6_000, 0, 2_500, 1_500),
    sales_start: int = NOW - 86_400,
    sales_end: int = NOW - 600,
    price: int = PRICE,
    max_total: int = 100_000,
    per_address: int = 0,
) -> LotteryConfig:
    return LotteryConfig(
        event_slug=b"test",
        series_code=b"T",
        run_id=1,
        config_version=1,
        primary_type=0,
        tags_mask=0,
        sales_start=sales_start,
        sales_end=sales_end,
        ticket_price=price,
        max_tickets_total=max_total,
        max_tickets_per_address=per_address,
        distribution=SalesDistribution(
            prize_bps=distribution[0],
            jackpot_bps=distribution[1],
            operations_bps=distribution[2],
            reserve_bps=distribution[3],
        ),
        prize_plan=tuple(PrizeSlot(slot_id=i + 1, winners_per_slot=w) for i, w in enumerate(plan)),
        winners_dedup=dedup,
        draw_algo=0,
        auto_close_enabled=True,
        grace_period_secs=0,
        reward_backend_type=0,
        reward_backend_blob=b"",
        retry_policy=retry
        or RetryPolicy(strategy=RetryStrategy.FIXED, base_delay_secs=600, max_delay_secs=600),
    )


def add_lottery(
    model: PackageModel,
    lottery_id: int,
    *,
    status: LotteryStatus = LotteryStatus.CLOSING,
    tickets: int = 10,
    **kwargs: object,
) -> None:
    """A lottery with ``tickets`` tickets bought one by one by distinct buyers."""
    model.seed_lottery(lottery_id, config(**kwargs), status=status)  # type: ignore[arg-type]
    if tickets:
        purchases = [
            Purchase(buyer=buyer_address(lottery_id, n), quantity=1) for n in range(tickets)
        ]
        model.seed_sales(lottery_id, purchases, last_purchase_ts=NOW - 700)


def call(
    model: PackageModel,
    module: str,
    function: str,
    *args: object,
    signers: Sequence[str] = (ADMIN,),
) -> list[ModelEvent]:
    return model.call(module, function, signers=signers, args=list(args))


def abort(
    model: PackageModel,
    module: str,
    function: str,
    *args: object,
    signers: Sequence[str] = (ADMIN,),
) -> ModelAbort:
    """Run a call that must abort; also checks that it changed nothing."""
    before = dump(model)
    with pytest.raises(ModelAbort) as caught:
        call(model, module, function, *args, signers=signers)
    assert dump(model) == before
    return caught.value


def dump(model: PackageModel) -> str:
    return json.dumps(model.to_json(), sort_keys=True)


def names(events: Sequence[ModelEvent]) -> list[str]:
    return [e.type_tag.rsplit("::", 2)[-2] + "::" + e.type_tag.rsplit("::", 1)[-1] for e in events]


def request(model: PackageModel, lottery_id: int, now: int) -> list[ModelEvent]:
    return call(model, "draw", "request_draw_admin", lottery_id, now, 100, 6, 1)


def fulfil(model: PackageModel, lottery_id: int) -> list[ModelEvent]:
    """Deliver the dVRF callback of the lottery's current request."""
    nonce = model.state.draws[lottery_id].request_id
    return model.call(
        "draw", "vrf_callback", signers=[], args=model.vrf_callback_args(nonce), system=True
    )
