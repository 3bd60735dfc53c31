"""``sales``: ticket purchases and the per-lottery sales state other modules read (§2.1, §5.1).

**Purchases** (``purchase_tickets_public``, ``purchase_tickets_premium``; the buyer signs, every
other argument is the caller's: ``now_ts`` and ``current_block`` included). The checks run in the
package's order (``purchase_internal``): quantity 1..128 (0x1601, 0x1602) → feature PURCHASE →
lottery ACTIVE (0x120F) → ``sales_start <= now_ts <= sales_end`` (0x120E) → the ledger (0x1202)
→ the sales state is created on first use → the grace window (0x160A) → the rate limits (0x1608
per block, 0x1609 per buyer and window) → total and per-address limits (0x1603, 0x1604) →
tickets appended → the sale's amount (0x1605 beyond u64) and its split → ``TicketPurchaseEvent``.
The premium entry first requires the buyer's ``PremiumAccessCap`` (0x1106, asserted in
``sales``) to be active (0x1107 in ``roles``) and lifts the grace window.

**Rate limits** count purchase *transactions*, not tickets, per lottery: at most 64 in one
``current_block`` (the block counter resets when the argument changes) and 10 per buyer in a
window of 60 seconds of ``now_ts`` (``RateTrack``, reset once ``now_ts >= window_start + 60``).
Only a purchase that passes both is counted. **Grace window**: a buyer holding no tickets of the
lottery is refused when ``now_ts + 15 >= sales_end`` (not when ``sales_end <= 15``, never with
premium). Each refusal emits ``history::PurchaseRateLimitHitEvent`` (reason 1 block, 2 window, 3
grace) and then aborts, which discards the event: no such event ever reaches the chain
(docs/package.md §10.16), here as in the package.

**Accounting** (``economics``): the sale amount is split by the lottery's distribution with
floor division and the rounding remainder added to the prize share (``split_amount``);
``total_allocated`` grows by prize + reserve, ``total_operations_allocated`` by operations. With
``jackpot_bps == 0`` the two allocations add up to ``proceeds_accum`` exactly. Scenario seeding
(``seed_purchases``) runs the same arithmetic purchase by purchase, without the checks.

Tickets are stored as runs of one buyer (``Purchase``; consecutive purchases by one buyer merge);
the package stores them in chunks of 256 buyers, which the snapshot hash reproduces (only *full*
chunks enter it, as in the package, where the chunk counter advances only when a chunk fills
up). Each buyer's ticket count and ``RateTrack`` are one ``BuyerState`` (``PackageState.buyers``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from autobot.localnet.model import feature_switch, registry, roles
from autobot.localnet.model.core import (
    U64_MAX,
    Args,
    CallContext,
    LotteryStatus,
    ModelAbort,
    add_u64,
    bcs_address,
    bcs_u16,
    bcs_u64,
    bcs_vector,
    j_u64,
    sha3,
)
from autobot.localnet.model.state import (
    Accounting,
    BuyerState,
    PackageState,
    Purchase,
    SalesDistribution,
    SalesState,
    buyer_key,
)

__all__ = [
    "CHUNK_CAPACITY",
    "GRACE_WINDOW_SECS",
    "MAX_PURCHASES_PER_BLOCK",
    "MAX_PURCHASES_PER_WINDOW",
    "MAX_TICKETS_PER_TX",
    "RATE_LIMIT_WINDOW_SECS",
    "begin_refund",
    "buyer_tickets",
    "has_state",
    "new_sales_state",
    "purchase_tickets_premium",
    "purchase_tickets_public",
    "record_payouts",
    "record_refund_batch",
    "snapshot_for_draw",
    "split_amount",
    "state_totals",
    "ticket_owner",
    "totals",
]

MODULE = "sales"
CHUNK_CAPACITY = 256
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
E_PAYOUT_ALLOC_EXCEEDED = 0x1304
E_OPERATIONS_ALLOC_EXCEEDED = 0x1305
E_WINNER_INDEX_OUT_OF_RANGE = 0x1803
E_REFUND_NOT_ACTIVE = 0x1811
E_REFUND_ROUND_NON_MONOTONIC = 0x1812
E_REFUND_LIMIT_TICKETS = 0x1813
E_REFUND_LIMIT_FUNDS = 0x1814
E_REFUND_STATUS_INVALID = 0x1815
E_REFUND_BATCH_EMPTY = 0x1816
E_REFUND_TIMESTAMP = 0x1817
_BPS = 10_000


def split_amount(amount: int, d: SalesDistribution) -> tuple[int, int, int, int]:
    """(prize, jackpot, operations, reserve): floor shares, remainder to prize."""
    prize = amount * d.prize_bps // _BPS
    jackpot = amount * d.jackpot_bps // _BPS
    operations = amount * d.operations_bps // _BPS
    reserve = amount * d.reserve_bps // _BPS
    remainder = amount - (prize + jackpot + operations + reserve)
    return prize + remainder, jackpot, operations, reserve


def new_sales_state(
    *,
    ticket_price: int,
    distribution: SalesDistribution,
    purchases: Sequence[Purchase],
    last_purchase_ts: int,
) -> SalesState:
    """Sales state after ``purchases``, with the package's per-purchase accounting."""
    accounting = Accounting()
    tickets = proceeds = 0
    for purchase in purchases:
        amount = purchase.quantity * ticket_price
        prize, _jackpot, operations, reserve = split_amount(amount, distribution)
        tickets += purchase.quantity
        proceeds += amount
        accounting = Accounting(
            total_sales=accounting.total_sales + amount,
            total_allocated=accounting.total_allocated + prize + reserve,
            total_operations_allocated=accounting.total_operations_allocated + operations,
        )
    return SalesState(
        ticket_price=ticket_price,
        tickets_sold=tickets,
        proceeds_accum=proceeds,
        last_purchase_ts=last_purchase_ts if purchases else 0,
        distribution=distribution,
        accounting=accounting,
        purchases=tuple(purchases),
    )


def has_state(state: PackageState, lottery_id: int) -> bool:
    return state.g.sales and lottery_id in state.sales


def _require(state: PackageState, lottery_id: int, code: int = E_REGISTRY_MISSING) -> SalesState:
    if not state.g.sales:
        raise ModelAbort(E_REGISTRY_MISSING, "sales")
    sales = state.sales.get(lottery_id)
    if sales is None:
        raise ModelAbort(code, "sales")
    return sales


def totals(c: CallContext, lottery_id: int) -> tuple[int, int, int]:
    """``sales_totals``: (tickets_sold, proceeds_accum, last_purchase_ts)."""
    return state_totals(c.state, lottery_id)


def state_totals(state: PackageState, lottery_id: int) -> tuple[int, int, int]:
    """``sales_totals`` of ``state``: aborts ``E_REGISTRY_MISSING`` without sales state."""
    s = _require(state, lottery_id)
    return s.tickets_sold, s.proceeds_accum, s.last_purchase_ts


def accounting(state: PackageState, lottery_id: int) -> Accounting:
    """``accounting_snapshot``: aborts ``E_REGISTRY_MISSING`` without sales state."""
    return _require(state, lottery_id).accounting


def buyer_tickets(state: PackageState, lottery_id: int, buyer: str) -> int:
    """``per_address_count``: the tickets ``buyer`` holds in the lottery (0 if none)."""
    record = state.buyers.get(buyer_key(lottery_id, buyer))
    return 0 if record is None else record.tickets


# --- purchases ------------------------------------------------------------------------------


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


# --- refunds and payouts --------------------------------------------------------------------


def begin_refund(c: CallContext, lottery_id: int) -> None:
    if not c.state.g.sales:
        c.abort(E_REGISTRY_MISSING, "sales")
    if lottery_id not in c.state.sales:
        return
    s = c.write(c.state.sales, lottery_id)
    if not s.refund_active:
        s.refund_active = True
        s.refund_round = 0
        s.refund_tickets_processed = 0
        s.refund_prize_total = 0
        s.refund_operations_total = 0
        s.last_refund_ts = 0


def record_refund_batch(
    c: CallContext, lottery_id: int, refund_round: int, tickets: int, prize: int, ops: int, ts: int
) -> tuple[int, int, int]:
    """Check and record one refund batch; returns cumulative (tickets, prize, operations)."""
    if tickets == 0 and prize == 0 and ops == 0:
        c.abort(E_REFUND_BATCH_EMPTY, "sales")
    s = _require(c.state, lottery_id, E_REFUND_STATUS_INVALID)
    if not s.refund_active:
        c.abort(E_REFUND_NOT_ACTIVE, "sales")
    if refund_round != s.refund_round + 1:
        c.abort(E_REFUND_ROUND_NON_MONOTONIC, "sales")
    if s.last_refund_ts > 0 and ts < s.last_refund_ts:
        c.abort(E_REFUND_TIMESTAMP, "sales")
    processed = s.refund_tickets_processed + tickets
    if processed > s.tickets_sold:
        c.abort(E_REFUND_LIMIT_TICKETS, "sales")
    if s.refund_prize_total + s.refund_operations_total + prize + ops > s.proceeds_accum:
        c.abort(E_REFUND_LIMIT_FUNDS, "sales")
    live = c.write(c.state.sales, lottery_id)
    live.refund_tickets_processed = processed
    live.refund_prize_total += prize
    live.refund_operations_total += ops
    live.refund_round = refund_round
    live.last_refund_ts = ts
    return processed, live.refund_prize_total, live.refund_operations_total


def record_payouts(c: CallContext, lottery_id: int, prize: int, ops: int) -> None:
    """Count paid amounts against the accounting allocations."""
    s = _require(c.state, lottery_id)
    acc = s.accounting
    if prize > 0 and acc.total_prize_paid + prize > acc.total_allocated:
        c.abort(E_PAYOUT_ALLOC_EXCEEDED, "economics")
    if ops > 0 and acc.total_operations_paid + ops > acc.total_operations_allocated:
        c.abort(E_OPERATIONS_ALLOC_EXCEEDED, "economics")
    live = c.write(c.state.sales, lottery_id)
    live.accounting = Accounting(
        total_sales=acc.total_sales,
        total_allocated=acc.total_allocated,
        total_prize_paid=acc.total_prize_paid + prize,
        total_operations_paid=acc.total_operations_paid + ops,
        total_operations_allocated=acc.total_operations_allocated,
        jackpot_allowance_token=acc.jackpot_allowance_token,
    )


def ticket_owner(state: PackageState, lottery_id: int, ticket_index: int) -> str:
    if not state.g.sales or lottery_id not in state.sales:
        raise ModelAbort(E_WINNER_INDEX_OUT_OF_RANGE, "sales")
    s = state.sales[lottery_id]
    if ticket_index >= s.tickets_sold:
        raise ModelAbort(E_WINNER_INDEX_OUT_OF_RANGE, "sales")
    start = 0
    for purchase in s.purchases:
        if ticket_index < start + purchase.quantity:
            return purchase.buyer
        start += purchase.quantity
    raise ModelAbort(E_WINNER_INDEX_OUT_OF_RANGE, "sales")  # pragma: no cover - runs sum to sold


def _buyers(purchases: Sequence[Purchase]) -> Iterator[str]:
    for purchase in purchases:
        for _ in range(purchase.quantity):
            yield purchase.buyer


def _accounting_bcs(a: Accounting) -> bytes:
    return b"".join(
        bcs_u64(v)
        for v in (
            a.total_sales,
            a.total_allocated,
            a.total_prize_paid,
            a.total_operations_paid,
            a.total_operations_allocated,
            a.jackpot_allowance_token,
        )
    )


def snapshot_for_draw(state: PackageState, lottery_id: int) -> tuple[bytes, int, int]:
    """(snapshot_hash, tickets_sold, proceeds_accum) as ``sales::snapshot_for_draw`` computes.

    The hash chains sha3 over each full 256-ticket chunk's BCS ``(chunk_seq, start_index,
    vector<address>)``, then over the totals, distribution and accounting.
    """
    if not state.g.sales or lottery_id not in state.sales:
        return sha3(b"lottery_multi::snapshot_empty"), 0, 0
    s = state.sales[lottery_id]
    digest = sha3(b"lottery_multi::snapshot_seed")
    chunk: list[str] = []
    seq = 0
    for buyer in _buyers(s.purchases):
        chunk.append(buyer)
        if len(chunk) == CHUNK_CAPACITY:
            body = bcs_u64(seq) + bcs_u64(seq * CHUNK_CAPACITY) + bcs_vector(chunk, bcs_address)
            digest = sha3(digest + body)
            chunk = []
            seq += 1
    d = s.distribution
    tail = (
        bcs_u64(s.tickets_sold)
        + bcs_u64(s.proceeds_accum)
        + b"".join(
            bcs_u16(v) for v in (d.prize_bps, d.jackpot_bps, d.operations_bps, d.reserve_bps)
        )
        + _accounting_bcs(s.accounting)
    )
    return sha3(digest + tail), s.tickets_sold, s.proceeds_accum
