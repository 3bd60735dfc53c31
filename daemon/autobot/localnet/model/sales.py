"""``sales``: the per-lottery sales state other modules read (§2.1, §5.1).

The sales state of a lottery (totals, the refund counters, the rate-limit block counter) and each
buyer's ``BuyerState`` (its ``tickets_per_address`` count and ``RateTrack``) are written by the
purchases (``model.purchases``: the package's ``purchase_tickets_*`` entry functions), by scenario
seeding (``new_sales_state``, without the checks) and by refunds and payouts (the helpers below).

**Accounting** (``economics``): the sale amount is split by the lottery's distribution with
floor division and the rounding remainder added to the prize share (``split_amount``);
``total_allocated`` grows by prize + reserve, ``total_operations_allocated`` by operations. With
``jackpot_bps == 0`` the two allocations add up to ``proceeds_accum`` exactly, which is what a
refund planner splitting refunds by allocation needs.

Tickets are stored as runs of one buyer (``Purchase``; consecutive purchases by one buyer merge);
the package stores them in chunks of 256 buyers, which the snapshot hash reproduces (only *full*
chunks enter it, as in the package, where the chunk counter advances only when a chunk fills
up).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from autobot.localnet.model.core import (
    CallContext,
    ModelAbort,
    bcs_address,
    bcs_u16,
    bcs_u64,
    bcs_vector,
    sha3,
)
from autobot.localnet.model.state import (
    Accounting,
    PackageState,
    Purchase,
    SalesDistribution,
    SalesState,
    buyer_key,
)

__all__ = [
    "CHUNK_CAPACITY",
    "accounting",
    "begin_refund",
    "buyer_tickets",
    "has_state",
    "new_sales_state",
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
E_REGISTRY_MISSING = 0x1202
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
