"""``sales::purchase_tickets_public`` and ``purchase_tickets_premium``: ticket purchases (§2.1).

The buyer signs; every other argument is the caller's, ``now_ts`` and ``current_block`` included.
The checks run in the package's order (``purchase_internal``): quantity 1..128 (0x1601, 0x1602) →
feature PURCHASE → lottery ACTIVE (0x120F) → ``sales_start <= now_ts <= sales_end`` (0x120E) →
the ledger (0x1202) → the sales state is created on first use → the grace window (0x160A) → the
rate limits (0x1608 per block, 0x1609 per buyer and window) → total and per-address limits
(0x1603, 0x1604) → tickets appended → the sale's amount (0x1605 beyond u64) and its split →
``sales::TicketPurchaseEvent``. The premium entry first requires the buyer's ``PremiumAccessCap``
(0x1106, asserted in ``sales``) to be active (0x1107 in ``roles``) and lifts the grace window.
This module is the package's ``sales`` entry functions (every abort is raised in ``sales``, as in
the package); ``model.sales`` keeps the state they write.

**Rate limits** count purchase *transactions*, not tickets, per lottery: at most 64 in one
``current_block`` (the block counter restarts when the argument changes) and 10 per buyer in a
window of 60 seconds of ``now_ts`` (``RateTrack``, restarted once ``now_ts >= window_start +
60``). Only a purchase that passes both is counted. **Grace window**: a buyer holding no tickets
of the lottery is refused when ``now_ts + 15 >= sales_end`` (not when ``sales_end <= 15``, never
with premium). Each refusal emits ``history::PurchaseRateLimitHitEvent`` (reason 1 block, 2
window, 3 grace) and then aborts, which discards the event: no such event ever reaches the chain
(docs/package.md §10.16), here as in the package.
"""

from __future__ import annotations

from dataclasses import replace

from autobot.localnet.model import feature_switch, registry, roles
from autobot.localnet.model.core import (
    U64_MAX,
    Args,
    CallContext,
    LotteryStatus,
    add_u64,
    j_u64,
)
from autobot.localnet.model.sales import buyer_tickets, new_sales_state, split_amount
from autobot.localnet.model.state import Accounting, BuyerState, Purchase, buyer_key

__all__ = [
    "GRACE_WINDOW_SECS",
    "MAX_PURCHASES_PER_BLOCK",
    "MAX_PURCHASES_PER_WINDOW",
    "MAX_TICKETS_PER_TX",
    "RATE_LIMIT_WINDOW_SECS",
    "purchase_tickets_premium",
    "purchase_tickets_public",
]

MODULE = "sales"
MAX_TICKETS_PER_TX = 128
MAX_PURCHASES_PER_BLOCK = 64
RATE_LIMIT_WINDOW_SECS = 60
MAX_PURCHASES_PER_WINDOW = 10
GRACE_WINDOW_SECS = 15
RATE_LIMIT_REASON_BLOCK = 1
RATE_LIMIT_REASON_WINDOW = 2
RATE_LIMIT_REASON_GRACE = 3
EVENT_VERSION = 1
CATEGORY_SALES = 3

E_REGISTRY_MISSING = 0x1202
E_SALES_WINDOW_CLOSED = 0x120E
E_LOTTERY_NOT_ACTIVE = 0x120F
E_FEATURE_DISABLED = 0x1403
E_PREMIUM_CAP_MISSING = 0x1106
E_PURCHASE_QTY_ZERO = 0x1601
E_PURCHASE_QTY_LIMIT = 0x1602
E_PURCHASE_TOTAL_LIMIT = 0x1603
E_PURCHASE_ADDRESS_LIMIT = 0x1604
E_AMOUNT_OVERFLOW = 0x1605
E_PURCHASE_RATE_LIMIT_BLOCK = 0x1608
E_PURCHASE_RATE_LIMIT_WINDOW = 0x1609
E_PURCHASE_GRACE_RESTRICTED = 0x160A


# --- the entry functions -------------------------------------------------------------------


# --- the entry functions -------------------------------------------------------------------


def purchase_tickets_public(c: CallContext, a: Args) -> None:
    """``purchase_tickets_public(buyer, lottery_id, quantity, now_ts, current_block)``."""
    _purchase(c, a.u(0), a.u(1), a.u(2), a.u(3), premium=False)


def purchase_tickets_premium(c: CallContext, a: Args) -> None:
    """The premium entry: the buyer's cap must exist (asserted here) and be active (in roles)."""
    lottery_id, quantity, now_ts, current_block = a.u(0), a.u(1), a.u(2), a.u(3)
    buyer = c.signers[0]
    if not roles.has_premium_cap(c.state, buyer):
        c.abort(E_PREMIUM_CAP_MISSING, MODULE)
    roles.assert_premium_active(c.state, buyer, now_ts)
    _purchase(c, lottery_id, quantity, now_ts, current_block, premium=True)


def _purchase(
    c: CallContext, lottery_id: int, quantity: int, now_ts: int, block: int, *, premium: bool
) -> None:
    """``purchase_internal``: every check in the package's order, then the sale."""
    if quantity == 0:
        c.abort(E_PURCHASE_QTY_ZERO, MODULE)
    if quantity > MAX_TICKETS_PER_TX:
        c.abort(E_PURCHASE_QTY_LIMIT, MODULE)
    _feature_purchase(c, premium)
    lottery = registry.get_lottery(c.state, lottery_id)
    if lottery.status != LotteryStatus.ACTIVE:
        c.abort(E_LOTTERY_NOT_ACTIVE, MODULE)
    config = lottery.config
    if not config.sales_start <= now_ts <= config.sales_end:
        c.abort(E_SALES_WINDOW_CLOSED, MODULE)
    if not c.state.g.sales:
        c.abort(E_REGISTRY_MISSING, MODULE)
    if lottery_id not in c.state.sales:
        c.put(
            c.state.sales,
            lottery_id,
            new_sales_state(
                ticket_price=config.ticket_price,
                distribution=config.distribution,
                purchases=(),
                last_purchase_ts=0,
            ),
        )
    buyer = c.signers[0]
    existing = buyer_tickets(c.state, lottery_id, buyer)
    if _grace_restricted(existing, now_ts, config.sales_end, premium):
        _rate_limit_hit(c, lottery_id, buyer, now_ts, block, RATE_LIMIT_REASON_GRACE)
        c.abort(E_PURCHASE_GRACE_RESTRICTED, MODULE)
    reason = _check_and_update_rate_limits(c, lottery_id, buyer, now_ts, block)
    if reason:
        _rate_limit_hit(c, lottery_id, buyer, now_ts, block, reason)
        if reason == RATE_LIMIT_REASON_BLOCK:
            c.abort(E_PURCHASE_RATE_LIMIT_BLOCK, MODULE)
        c.abort(E_PURCHASE_RATE_LIMIT_WINDOW, MODULE)
    s = c.state.sales[lottery_id]
    if config.max_tickets_total > 0 and s.tickets_sold + quantity > config.max_tickets_total:
        c.abort(E_PURCHASE_TOTAL_LIMIT, MODULE)
    per_address = config.max_tickets_per_address
    if per_address > 0 and existing + quantity > per_address:
        c.abort(E_PURCHASE_ADDRESS_LIMIT, MODULE)
    record = c.state.buyers.get(buyer_key(lottery_id, buyer), BuyerState())
    c.put(
        c.state.buyers, buyer_key(lottery_id, buyer), replace(record, tickets=existing + quantity)
    )
    _append_tickets(c, lottery_id, buyer, quantity)
    amount, prize, jackpot, operations, reserve = _apply_sale(c, lottery_id, quantity, now_ts)
    s = c.state.sales[lottery_id]
    c.emit(
        MODULE,
        "TicketPurchaseEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_SALES),
            ("lottery_id", j_u64(lottery_id)),
            ("buyer", buyer),
            ("quantity", j_u64(quantity)),
            ("sale_amount", j_u64(amount)),
            ("prize_allocation", j_u64(prize)),
            ("jackpot_allocation", j_u64(jackpot)),
            ("operations_allocation", j_u64(operations)),
            ("reserve_allocation", j_u64(reserve)),
            ("tickets_sold", j_u64(s.tickets_sold)),
            ("proceeds_accum", j_u64(s.proceeds_accum)),
        ],
    )


def _feature_purchase(c: CallContext, premium: bool) -> None:
    """Feature PURCHASE (§2.1), once the switch exists; asserted here (0x1403 in ``sales``)."""
    if feature_switch.is_initialized(c.state) and not feature_switch.is_enabled(
        c.state, feature_switch.FEATURE_PURCHASE, premium=premium
    ):
        c.abort(E_FEATURE_DISABLED, MODULE)


def _grace_restricted(existing: int, now_ts: int, sales_end: int, premium: bool) -> bool:
    """``check_grace_window``: a first purchase in the last 15 seconds is refused."""
    if premium or sales_end <= GRACE_WINDOW_SECS:
        return False
    return now_ts + GRACE_WINDOW_SECS >= sales_end and existing == 0


def _check_and_update_rate_limits(
    c: CallContext, lottery_id: int, buyer: str, now_ts: int, block: int
) -> int:
    """The refusal reason (1 block, 2 window), or 0 after counting the purchase in both limits."""
    s = c.state.sales[lottery_id]
    last_block, block_count = s.last_purchase_block, s.block_purchase_count
    if last_block != block:
        last_block, block_count = block, 0
    if block_count + 1 > MAX_PURCHASES_PER_BLOCK:
        return RATE_LIMIT_REASON_BLOCK
    record = c.state.buyers.get(buyer_key(lottery_id, buyer), BuyerState())
    window_start, purchases = (
        (record.window_start, record.purchase_count) if record.tracked else (now_ts, 0)
    )
    if now_ts >= window_start + RATE_LIMIT_WINDOW_SECS:
        window_start, purchases = now_ts, 0
    if purchases + 1 > MAX_PURCHASES_PER_WINDOW:
        return RATE_LIMIT_REASON_WINDOW
    live = c.write(c.state.sales, lottery_id)
    live.last_purchase_block, live.block_purchase_count = last_block, block_count + 1
    c.put(
        c.state.buyers,
        buyer_key(lottery_id, buyer),
        replace(record, tracked=True, window_start=window_start, purchase_count=purchases + 1),
    )
    return 0


def _rate_limit_hit(
    c: CallContext, lottery_id: int, buyer: str, now_ts: int, block: int, reason: int
) -> None:
    """``emit_rate_limit_event``: emitted just before the abort that discards it (§10.16)."""
    c.emit(
        "history",
        "PurchaseRateLimitHitEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_SALES),
            ("lottery_id", j_u64(lottery_id)),
            ("buyer", buyer),
            ("timestamp", j_u64(now_ts)),
            ("current_block", j_u64(block)),
            ("reason_code", reason),
        ],
    )


def _append_tickets(c: CallContext, lottery_id: int, buyer: str, quantity: int) -> None:
    """``append_tickets``: the buyer's run grows when it bought the previous tickets too."""
    live = c.write(c.state.sales, lottery_id)
    runs = live.purchases
    if runs and runs[-1].buyer == buyer:
        merged = Purchase(buyer=buyer, quantity=runs[-1].quantity + quantity)
        live.purchases = (*runs[:-1], merged)
    else:
        live.purchases = (*runs, Purchase(buyer=buyer, quantity=quantity))


def _apply_sale(
    c: CallContext, lottery_id: int, quantity: int, now_ts: int
) -> tuple[int, int, int, int, int]:
    """``apply_sale``: totals, the split and the accounting; (amount, prize, jackpot, ops, reserve)."""
    live = c.write(c.state.sales, lottery_id)
    live.tickets_sold = add_u64(MODULE, live.tickets_sold, quantity)
    amount = quantity * live.ticket_price
    if amount > U64_MAX:
        c.abort(E_AMOUNT_OVERFLOW, MODULE)
    live.proceeds_accum = add_u64(MODULE, live.proceeds_accum, amount)
    live.last_purchase_ts = now_ts
    prize, jackpot, operations, reserve = split_amount(amount, live.distribution)
    acc = live.accounting
    live.accounting = Accounting(
        total_sales=add_u64("economics", acc.total_sales, amount),
        total_allocated=add_u64("economics", acc.total_allocated, prize, reserve),
        total_prize_paid=acc.total_prize_paid,
        total_operations_paid=acc.total_operations_paid,
        total_operations_allocated=add_u64("economics", acc.total_operations_allocated, operations),
        jackpot_allowance_token=acc.jackpot_allowance_token,
    )
    return amount, prize, jackpot, operations, reserve
