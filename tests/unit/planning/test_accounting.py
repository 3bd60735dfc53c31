"""The accounting reconciliation: each check, and the fast count agreeing with the checks."""

from __future__ import annotations

import random
from dataclasses import replace

from autobot.domain.lotteries import Accounting
from autobot.domain.refunds import RefundProgress
from autobot.planning.accounting import mismatches, reconcile

GOOD = Accounting(
    total_sales=1_000, total_allocated=700, total_operations_allocated=250, total_prize_paid=300
)
SOLD = RefundProgress(tickets_sold=10, proceeds_accum=1_000)


def failed(accounting: Accounting, refund: RefundProgress) -> list[str]:
    return [c.name for c in reconcile(7, accounting, refund) if not c.holds]


def test_consistent_books_pass_every_check_and_nothing_sold_is_consistent() -> None:
    assert failed(GOOD, SOLD) == [] and mismatches(GOOD, SOLD) == 0
    assert failed(Accounting(), RefundProgress()) == []


def test_each_check_fails_on_its_own_inconsistency() -> None:
    cases = {
        "sales_match_proceeds": (replace(GOOD, total_sales=999), SOLD),
        "allocations_within_sales": (replace(GOOD, total_operations_allocated=301), SOLD),
        "prize_paid_within_allocated": (replace(GOOD, total_prize_paid=701), SOLD),
        "operations_paid_within_allocated": (replace(GOOD, total_operations_paid=251), SOLD),
        "refunds_within_proceeds": (
            GOOD,
            replace(SOLD, prize_refunded=900, operations_refunded=101),
        ),
        "tickets_refunded_within_sold": (GOOD, replace(SOLD, tickets_refunded=11)),
    }
    for name, (accounting, refund) in cases.items():
        assert failed(accounting, refund) == [name]
    check = next(c for c in reconcile(3, *cases["prize_paid_within_allocated"]) if not c.holds)
    assert (check.lottery_id, check.left, check.right) == (3, 701, 700)


def test_the_fast_count_is_the_number_of_failed_checks() -> None:
    rng = random.Random(15)
    values = (0, 1, 5, 10, 100, 999, 1_000, 1_001)
    for _ in range(2_000):
        a = Accounting(**{f: rng.choice(values) for f in (
            "total_sales", "total_allocated", "total_prize_paid",
            "total_operations_paid", "total_operations_allocated",
        )})  # fmt: skip
        r = RefundProgress(**{f: rng.choice(values) for f in (
            "tickets_sold", "proceeds_accum", "tickets_refunded",
            "prize_refunded", "operations_refunded",
        )})  # fmt: skip
        assert mismatches(a, r) == len(failed(a, r))
