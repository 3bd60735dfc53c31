"""sales: ticket purchases, their check order, the anti-DoS limits and the accounting (§2.1, §5.1)."""

from __future__ import annotations

import pytest
from model_builders import (
    ADMIN,
    NOW,
    PRICE,
    STRANGER,
    abort,
    add_lottery,
    call,
    demo_model,
    dump,
    empty_model,
    names,
)

from autobot.localnet.model import LotteryStatus, ModelAbort, PackageModel
from autobot.localnet.model.core import Args, CallContext
from autobot.localnet.model.purchases import purchase_tickets_public
from autobot.localnet.model.state import BuyerState

BUYER = "0x" + "b0" * 32
OTHER = "0x" + "b1" * 32
END = NOW + 3_600


def open_lottery(model: PackageModel, lottery_id: int = 9, **kwargs: object) -> None:
    """An ACTIVE lottery selling until ``END``, without sales state yet."""
    options: dict[str, object] = {"sales_start": NOW - 60, "sales_end": END, **kwargs}
    add_lottery(model, lottery_id, status=LotteryStatus.ACTIVE, tickets=0, **options)


def buy(
    model: PackageModel,
    quantity: int = 1,
    *,
    lottery_id: int = 9,
    now: int = NOW,
    block: int = 1,
    buyer: str = BUYER,
    premium: bool = False,
) -> list[object]:
    function = "purchase_tickets_premium" if premium else "purchase_tickets_public"
    return list(call(model, "sales", function, lottery_id, quantity, now, block, signers=(buyer,)))


def refused(model: PackageModel, quantity: int = 1, **kwargs: object) -> tuple[int, str]:
    """A purchase that must abort (and change nothing): its (code, module)."""
    before = dump(model)
    with pytest.raises(ModelAbort) as caught:
        buy(model, quantity, **kwargs)  # type: ignore[arg-type]
    assert dump(model) == before
    return caught.value.code, caught.value.module


# --- a purchase -----------------------------------------------------------------------------


def test_the_first_purchase_creates_the_sales_state_and_splits_the_amount() -> None:
    model = empty_model()
    open_lottery(model, price=1_234_567)
    events = buy(model, 3, block=42)
    assert names(events) == ["sales::TicketPurchaseEvent"]  # type: ignore[arg-type]
    assert events[0].data == {  # type: ignore[attr-defined]
        "event_version": 1,
        "event_category": 3,
        "lottery_id": "9",
        "buyer": BUYER,
        "quantity": "3",
        "sale_amount": "3703701",
        "prize_allocation": "2222221",  # 2222220 + the rounding remainder 1
        "jackpot_allocation": "0",
        "operations_allocation": "925925",
        "reserve_allocation": "555555",
        "tickets_sold": "3",
        "proceeds_accum": "3703701",
    }
    s = model.state.sales[9]
    assert (s.tickets_sold, s.proceeds_accum, s.last_purchase_ts) == (3, 3_703_701, NOW)
    assert (s.last_purchase_block, s.block_purchase_count) == (42, 1)
    assert model.view("views", "accounting_snapshot", [9]) == [
        {
            "total_sales": "3703701",
            "total_allocated": "2777776",
            "total_prize_paid": "0",
            "total_operations_paid": "0",
            "total_operations_allocated": "925925",
            "jackpot_allowance_token": "0",
        }
    ]
    assert model.state.buyers[f"9:{BUYER}"] == BuyerState(
        tickets=3, tracked=True, window_start=NOW, purchase_count=1
    )


def test_purchases_append_tickets_in_order_and_a_buyers_run_grows() -> None:
    model = empty_model()
    open_lottery(model)
    buy(model, 2)
    buy(model, 3)
    buy(model, 1, buyer=OTHER)
    runs = [(p.buyer, p.quantity) for p in model.state.sales[9].purchases]
    assert runs == [(BUYER, 5), (OTHER, 1)]
    assert model.view("views", "get_refund_progress", [9])[0]["tickets_sold"] == "6"  # type: ignore[index]


def test_the_jackpot_share_is_not_allocated() -> None:
    model = empty_model()
    open_lottery(model, distribution=(5_000, 2_000, 2_000, 1_000))
    buy(model, 1)
    acc = model.state.sales[9].accounting
    assert (acc.total_sales, acc.total_allocated, acc.total_operations_allocated) == (
        PRICE,
        PRICE * 6_000 // 10_000,
        PRICE * 2_000 // 10_000,
    )


# --- the checks, in the package's order ------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "setup", "code"),
    [
        (0, {}, 0x1601),
        (129, {}, 0x1602),
        (0, {"status": LotteryStatus.CLOSING}, 0x1601),  # quantity first
        (1, {"status": LotteryStatus.CLOSING}, 0x120F),
        (1, {"status": LotteryStatus.DRAFT}, 0x120F),
        (1, {"sales_start": NOW + 1}, 0x120E),
        (1, {"sales_end": NOW - 1}, 0x120E),
        (1, {"max_total": 2, "tickets": 2}, 0x1603),
        (3, {"per_address": 2}, 0x1604),
        (2, {"price": 2**63}, 0x1605),
    ],
    ids=[
        "quantity-zero",
        "quantity-over-128",
        "quantity-before-status",
        "closing",
        "draft",
        "before-sales-start",
        "after-sales-end",
        "total-limit",
        "per-address-limit",
        "amount-overflow",
    ],
)
def test_purchase_refusals(quantity: int, setup: dict[str, object], code: int) -> None:
    model = empty_model()
    options = dict(setup)
    status = options.pop("status", LotteryStatus.ACTIVE)
    tickets = options.pop("tickets", 0)
    options = {"sales_start": NOW - 60, "sales_end": END, **options}
    add_lottery(model, 9, status=status, tickets=tickets, **options)  # type: ignore[arg-type]
    assert refused(model, quantity) == (code, "sales")


def test_a_sale_of_exactly_128_tickets_and_up_to_the_limits_passes() -> None:
    model = empty_model()
    open_lottery(model, max_total=130, per_address=128)
    buy(model, 128)
    buy(model, 2, buyer=OTHER)
    assert model.state.sales[9].tickets_sold == 130


def test_an_unknown_lottery_aborts_in_the_framework_table() -> None:
    model = empty_model()
    err = abort(model, "sales", "purchase_tickets_public", 77, 1, NOW, 1, signers=(BUYER,))
    assert (err.code, err.module) == (0x6507, "table")


def test_accumulated_proceeds_beyond_u64_stop_the_vm() -> None:
    model = empty_model()
    open_lottery(model, price=2**63)
    buy(model, 1)
    with pytest.raises(ModelAbort) as caught:
        buy(model, 1, buyer=OTHER)
    assert caught.value.vm_status(ADMIN) == "ARITHMETIC_ERROR"
    assert model.state.sales[9].tickets_sold == 1


# --- the anti-DoS limits --------------------------------------------------------------------


def test_the_65th_purchase_in_one_block_is_refused_and_the_next_block_resets() -> None:
    model = empty_model()
    open_lottery(model)
    buyers = ["0x" + f"{n:064x}" for n in range(1, 8)]
    for n in range(64):  # 7 buyers: each well under the window limit
        buy(model, 1, block=5, buyer=buyers[n % 7], now=NOW + n // 7 * 60)
    assert model.state.sales[9].block_purchase_count == 64
    assert refused(model, 1, block=5, buyer=OTHER) == (0x1608, "sales")
    buy(model, 1, block=6, buyer=OTHER)
    s = model.state.sales[9]
    assert (s.last_purchase_block, s.block_purchase_count) == (6, 1)


def test_the_11th_purchase_of_a_buyer_within_60_seconds_is_refused() -> None:
    model = empty_model()
    open_lottery(model)
    for n in range(10):
        buy(model, 1, block=n, now=NOW + n)  # window opened at NOW
    assert refused(model, 1, block=99, now=NOW + 59) == (0x1609, "sales")
    buy(model, 1, block=99, now=NOW + 59, buyer=OTHER)  # another buyer is not limited
    buy(model, 1, block=100, now=NOW + 60)  # the window restarts at NOW + 60
    assert model.state.buyers[f"9:{BUYER}"] == BuyerState(
        tickets=11, tracked=True, window_start=NOW + 60, purchase_count=1
    )


def test_the_block_limit_is_checked_before_the_window_limit() -> None:
    model = empty_model()
    open_lottery(model)
    for _ in range(10):
        buy(model, 1, block=3)
    buyers = ["0x" + f"{n:064x}" for n in range(1, 8)]
    for n in range(54):
        buy(model, 1, block=3, buyer=buyers[n % 7], now=NOW + 60 * (n // 7))
    assert refused(model, 1, block=3) == (0x1608, "sales")  # also over its window


def test_a_refused_purchase_counts_in_neither_limit() -> None:
    model = empty_model()
    open_lottery(model, per_address=1)
    buy(model, 1, block=8)
    assert refused(model, 1, block=8) == (0x1604, "sales")
    assert model.state.sales[9].block_purchase_count == 1
    assert model.state.buyers[f"9:{BUYER}"].purchase_count == 1


@pytest.mark.parametrize(
    ("now", "existing", "premium", "code"),
    [
        (END - 15, False, False, 0x160A),
        (END, False, False, 0x160A),
        (END - 16, False, False, None),
        (END - 15, True, False, None),
        (END - 5, False, True, None),
    ],
    ids=["new-buyer-15s-before", "new-buyer-at-end", "16s-before", "returning-buyer", "premium"],
)
def test_the_grace_window_refuses_only_new_buyers_without_premium(
    now: int, existing: bool, premium: bool, code: int | None
) -> None:
    model = empty_model()
    open_lottery(model)
    call(model, "roles", "grant_premium_access_admin", BUYER, 0, False, None)
    if existing:
        buy(model, 1, now=NOW)
    if code is None:
        buy(model, 1, now=now, premium=premium)
    else:
        assert refused(model, 1, now=now, premium=premium) == (code, "sales")


def test_no_grace_window_for_a_sales_end_within_the_first_15_seconds() -> None:
    model = empty_model()
    open_lottery(model, sales_start=0, sales_end=15)
    buy(model, 1, now=10)
    assert model.state.sales[9].tickets_sold == 1


def test_a_rate_limit_hit_is_emitted_and_discarded_by_the_abort() -> None:
    """§10.16: the package emits PurchaseRateLimitHitEvent and then aborts."""
    model = empty_model()
    open_lottery(model)
    for n in range(10):
        buy(model, 1, block=n)
    context = CallContext(package=ADMIN, state=model.state, signers=(BUYER,))
    with pytest.raises(ModelAbort) as caught:
        purchase_tickets_public(context, Args([9, 1, NOW, 77]))
    context.undo.rollback()
    assert caught.value.code == 0x1609
    assert [(e.type_tag, dict(e.data)) for e in context.events] == [
        (
            f"{ADMIN}::history::PurchaseRateLimitHitEvent",
            {
                "event_version": 1,
                "event_category": 3,
                "lottery_id": "9",
                "buyer": BUYER,
                "timestamp": str(NOW),
                "current_block": "77",
                "reason_code": 2,
            },
        )
    ]
    # through the model (what the node records) the event never appears
    with pytest.raises(ModelAbort):
        call(model, "sales", "purchase_tickets_public", 9, 1, NOW, 77, signers=(BUYER,))


# --- premium --------------------------------------------------------------------------------


def test_premium_purchase_needs_an_active_cap() -> None:
    model = empty_model()
    open_lottery(model)
    assert refused(model, 1, premium=True) == (0x1106, "sales")
    call(model, "roles", "grant_premium_access_admin", BUYER, NOW - 1, False, None)
    assert refused(model, 1, premium=True) == (0x1107, "roles")
    call(model, "roles", "grant_premium_access_admin", BUYER, NOW, False, None)
    buy(model, 1, premium=True)  # expires_at >= now is still active
    call(model, "roles", "grant_premium_access_admin", OTHER, 0, True, None)
    buy(model, 1, premium=True, buyer=OTHER, now=END)  # 0 never expires


def test_premium_cap_is_checked_before_the_purchase() -> None:
    model = empty_model()
    open_lottery(model)
    assert refused(model, 0, premium=True) == (0x1106, "sales")


# --- seeded sales ---------------------------------------------------------------------------


def test_seeded_buyers_hold_their_tickets_but_no_rate_track() -> None:
    model = demo_model()
    sales = model.state.sales[5]
    first = sales.purchases[0].buyer
    assert model.state.buyers[f"5:{first}"] == BuyerState(tickets=sales.purchases[0].quantity)
    # a seeded buyer is a returning buyer: the grace window lets it through
    end = model.state.lotteries[5].config.sales_end
    call(model, "sales", "purchase_tickets_public", 5, 1, end, 1, signers=(first,))
    with pytest.raises(ModelAbort) as caught:
        call(model, "sales", "purchase_tickets_public", 5, 1, end, 1, signers=(STRANGER,))
    assert caught.value.code == 0x160A
