"""The accounting reconciliation of one lottery (the handbook's ``accounting_check.sh compare``).

Pure: from what ``views::accounting_snapshot`` and ``views::get_refund_progress`` answer
(docs/package.md §4, §5.1), the comparisons that must hold for every lottery, whatever its status:

============================  =======================================  ========
check                         left                                     holds if
============================  =======================================  ========
``sales_match_proceeds``      ``total_sales``                          ``==`` ``proceeds_accum``
``allocations_within_sales``  ``total_allocated`` + operations alloc.  ``<=`` ``total_sales``
``prize_paid_within_alloc``   ``total_prize_paid``                     ``<=`` ``total_allocated``
``operations_paid_within``    ``total_operations_paid``                ``<=`` operations alloc.
``refunds_within_proceeds``   prize + operations refunded              ``<=`` ``proceeds_accum``
``tickets_refunded_within``   ``tickets_refunded``                     ``<=`` ``tickets_sold``
============================  =======================================  ========

Each sale adds its amount to ``total_sales`` and to the sales state's ``proceeds_accum``, and
splits it into prize + reserve (``total_allocated``), operations and a jackpot part that is in
neither allocation: so the allocations stay within the sales (the jackpot is not overspent), and
payouts and refunds, which record transfers made off chain, stay within what was allocated or
sold. ``accounting_mismatch`` counts the checks that fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from autobot.domain.lotteries import Accounting
from autobot.domain.refunds import RefundProgress

__all__ = ["AccountingCheck", "Comparison", "mismatches", "reconcile"]


class Comparison(StrEnum):
    EQUAL = "=="
    AT_MOST = "<="


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountingCheck:
    """One comparison: ``left <op> right`` with the names of both sides."""

    lottery_id: int
    name: str
    left_name: str
    left: int
    comparison: Comparison
    right_name: str
    right: int

    @property
    def holds(self) -> bool:
        if self.comparison is Comparison.EQUAL:
            return self.left == self.right
        return self.left <= self.right


def reconcile(
    lottery_id: int, accounting: Accounting, refund: RefundProgress
) -> tuple[AccountingCheck, ...]:
    """Every check of the module's table for one lottery (a lottery without a sales state has
    zeros on both sides: every check holds)."""
    a, r = accounting, refund

    def check(
        name: str, left_name: str, left: int, op: Comparison, right_name: str, right: int
    ) -> AccountingCheck:
        return AccountingCheck(
            lottery_id=lottery_id,
            name=name,
            left_name=left_name,
            left=left,
            comparison=op,
            right_name=right_name,
            right=right,
        )

    return (
        check(
            "sales_match_proceeds",
            "total_sales",
            a.total_sales,
            Comparison.EQUAL,
            "proceeds_accum",
            r.proceeds_accum,
        ),
        check(
            "allocations_within_sales",
            "total_allocated+total_operations_allocated",
            a.total_allocated + a.total_operations_allocated,
            Comparison.AT_MOST,
            "total_sales",
            a.total_sales,
        ),
        check(
            "prize_paid_within_allocated",
            "total_prize_paid",
            a.total_prize_paid,
            Comparison.AT_MOST,
            "total_allocated",
            a.total_allocated,
        ),
        check(
            "operations_paid_within_allocated",
            "total_operations_paid",
            a.total_operations_paid,
            Comparison.AT_MOST,
            "total_operations_allocated",
            a.total_operations_allocated,
        ),
        check(
            "refunds_within_proceeds",
            "prize_refunded+operations_refunded",
            r.prize_refunded + r.operations_refunded,
            Comparison.AT_MOST,
            "proceeds_accum",
            r.proceeds_accum,
        ),
        check(
            "tickets_refunded_within_sold",
            "tickets_refunded",
            r.tickets_refunded,
            Comparison.AT_MOST,
            "tickets_sold",
            r.tickets_sold,
        ),
    )


def mismatches(accounting: Accounting, refund: RefundProgress) -> int:
    """How many of ``reconcile``'s checks fail, without building them (the daemon runs this for
    every lottery view it reads; ``reconcile`` only where one fails)."""
    a, r = accounting, refund
    return (
        (a.total_sales != r.proceeds_accum)
        + (a.total_allocated + a.total_operations_allocated > a.total_sales)
        + (a.total_prize_paid > a.total_allocated)
        + (a.total_operations_paid > a.total_operations_allocated)
        + (r.prize_refunded + r.operations_refunded > r.proceeds_accum)
        + (r.tickets_refunded > r.tickets_sold)
    )
