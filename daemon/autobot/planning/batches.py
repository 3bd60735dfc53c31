"""Refund batch arithmetic: cumulative rounding that ends exactly (docs/decisions.md §6).

``archive_canceled_lottery_admin`` requires the refunds to total exactly ``tickets_sold`` tickets
and ``proceeds_accum`` (prize + operations), so amounts are never computed per batch. Instead,
after the batch that brings the cumulative tickets to ``T_k``:

* cumulative total ``total_k = floor(proceeds * T_k / tickets_sold)`` — the last batch, at
  ``T_k = tickets_sold``, lands exactly on ``proceeds``;
* cumulative operations ``ops_k = floor(total_k * ops_weight / (prize_weight + ops_weight))``
  and cumulative prize ``prize_k = total_k - ops_k`` — both sums end exactly too;
* a batch's amounts are the differences of consecutive cumulative values.

The weights are the lottery's accounting allocation (``total_allocated`` for prizes,
``total_operations_allocated`` for operations). When both are zero the sales distribution's
``operations_bps`` against the rest of 10 000 is used; when that is zero too, everything is
refunded as prize (``ops_weight = 0``).

Resuming from on-chain progress that some other hand produced (amounts that do not sit on the
formula) keeps every guarantee: each cumulative value is clamped so that prize and operations
never decrease (``ops_k`` within ``[ops_{k-1}, total_k - prize_{k-1}]``), which leaves values
on the formula untouched. Every batch carries at least one ticket, except a final amount-only
batch when all tickets are already refunded but the proceeds are not; so no batch is ever
all-zero (``E_REFUND_BATCH_EMPTY``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RefundBatch", "RefundStart", "allocation_weights", "plan_batches"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundBatch:
    """One ``force_refund_batch_admin`` call's amounts (its timestamp is chosen later)."""

    round: int
    tickets: int
    prize: int
    operations: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.round, self.tickets, self.prize, self.operations)


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundStart:
    """Where refunds stand on chain: ``refund_round`` and the cumulative counters."""

    round: int = 0
    tickets: int = 0
    prize: int = 0
    operations: int = 0


def allocation_weights(
    *, prize_allocated: int, operations_allocated: int, operations_bps: int
) -> tuple[int, int]:
    """``(prize_weight, ops_weight)`` for the split; never both zero (see module doc)."""
    if prize_allocated + operations_allocated > 0:
        return prize_allocated, operations_allocated
    if 0 < operations_bps <= 10_000:
        return 10_000 - operations_bps, operations_bps
    return 1, 0


def _split(total: int, prize_weight: int, ops_weight: int) -> int:
    """Cumulative operations share of a cumulative ``total`` (floor)."""
    weight = prize_weight + ops_weight
    if weight == 0 or ops_weight == 0:
        return 0
    return total * ops_weight // weight


def plan_batches(
    *,
    tickets_sold: int,
    proceeds: int,
    prize_weight: int,
    ops_weight: int,
    batch_size: int,
    start: RefundStart = RefundStart(),
) -> tuple[RefundBatch, ...]:
    """The remaining refund batches from ``start`` to exactly (``tickets_sold``, ``proceeds``).

    ``batch_size`` is the most tickets per batch (``>= 1``). Returns ``()`` when nothing is
    left. Raises ``ValueError`` when ``start`` is past the totals (the chain would have refused
    it) or the arguments are negative.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    if min(tickets_sold, proceeds, prize_weight, ops_weight) < 0:
        raise ValueError("negative refund totals or weights")
    if min(start.round, start.tickets, start.prize, start.operations) < 0:
        raise ValueError("negative refund progress")
    if start.tickets > tickets_sold or start.prize + start.operations > proceeds:
        raise ValueError("refund progress is past the lottery's totals")

    batches: list[RefundBatch] = []
    round_ = start.round
    tickets = start.tickets
    prize = start.prize
    ops = start.operations
    while tickets < tickets_sold or prize + ops < proceeds:
        size = min(batch_size, tickets_sold - tickets)
        cum_tickets = tickets + size
        if cum_tickets == tickets_sold:
            cum_total = proceeds
        else:
            cum_total = max(proceeds * cum_tickets // tickets_sold, prize + ops)
        cum_ops = min(max(_split(cum_total, prize_weight, ops_weight), ops), cum_total - prize)
        cum_prize = cum_total - cum_ops
        round_ += 1
        batches.append(
            RefundBatch(
                round=round_,
                tickets=size,
                prize=cum_prize - prize,
                operations=cum_ops - ops,
            )
        )
        tickets, prize, ops = cum_tickets, cum_prize, cum_ops
    return tuple(batches)
