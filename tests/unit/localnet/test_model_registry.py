"""lottery_registry and cancellation: status transitions and the cancel sequence (§2.1, §4)."""

from __future__ import annotations

import pytest
from model_builders import (
    ADMIN,
    NOW,
    STRANGER,
    abort,
    add_lottery,
    call,
    config,
    demo_model,
    empty_model,
    names,
)

from autobot.localnet.model import LotteryStatus


def test_auto_close_moves_active_to_closing_and_freezes_the_snapshot() -> None:
    model = demo_model()
    assert call(model, "lottery_registry", "advance_status", 1, 2) == []
    lottery = model.state.lotteries[1]
    assert (lottery.status, lottery.snapshot_frozen) == (LotteryStatus.CLOSING, True)


@pytest.mark.parametrize(
    ("lottery_id", "next_status", "signer", "code"),
    [
        (1, 2, STRANGER, 0x1202),
        (1, 3, ADMIN, 0x1204),
        (4, 1, ADMIN, 0x1204),
        (2, 2, ADMIN, 0x1204),
    ],
    ids=["not-admin", "skip-to-draw-requested", "from-canceled", "closing-again"],
)
def test_advance_status_refusals(lottery_id: int, next_status: int, signer: str, code: int) -> None:
    model = demo_model()
    err = abort(
        model, "lottery_registry", "advance_status", lottery_id, next_status, signers=(signer,)
    )
    assert (err.code, err.module) == (code, "lottery_registry")


def test_closing_a_lottery_whose_snapshot_is_frozen_aborts_snapshot_frozen() -> None:
    model = empty_model()
    model.seed_lottery(7, config(), status=LotteryStatus.ACTIVE, snapshot_frozen=True)
    assert abort(model, "lottery_registry", "advance_status", 7, 2).code == 0x1207


def test_cancel_records_the_sales_and_opens_refunds() -> None:
    model = demo_model()
    events = call(model, "cancellation", "cancel_lottery_admin", 1, 2, NOW)
    assert names(events) == ["history::LotteryCanceledEvent"]
    assert events[0].data == {
        "event_version": 1,
        "event_category": 1,
        "lottery_id": "1",
        "previous_status": 1,
        "reason_code": 2,
        "tickets_sold": "120",
        "proceeds_accum": str(120 * 1_234_567),
        "timestamp": str(NOW),
    }
    assert model.state.sales[1].refund_active
    assert model.state.lotteries[1].snapshot_frozen


def test_cancel_without_sales_records_zeros() -> None:
    model = empty_model()
    add_lottery(model, 7, status=LotteryStatus.DRAFT, tickets=0)
    events = call(model, "cancellation", "cancel_lottery_admin", 7, 3, NOW)
    assert (events[0].data["tickets_sold"], events[0].data["proceeds_accum"]) == ("0", "0")


@pytest.mark.parametrize(
    ("lottery_id", "reason", "signer", "code"),
    [(1, 3, STRANGER, 0x1202), (1, 0, ADMIN, 0x1211), (4, 3, ADMIN, 0x1204)],
    ids=["not-admin", "reason-zero", "already-canceled"],
)
def test_cancel_refusals_abort_in_lottery_registry(
    lottery_id: int, reason: int, signer: str, code: int
) -> None:
    model = demo_model()
    err = abort(
        model, "cancellation", "cancel_lottery_admin", lottery_id, reason, NOW, signers=(signer,)
    )
    assert (err.code, err.module) == (code, "lottery_registry")
