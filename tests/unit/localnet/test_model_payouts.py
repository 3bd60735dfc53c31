"""payouts and roles: winners in batches, payout rounds, refunds, archive, PayoutBatchCap (§2.5, §4, §5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_builders import (
    ADMIN,
    NOW,
    STRANGER,
    abort,
    add_lottery,
    call,
    demo_model,
    empty_model,
    fulfil,
    names,
    request,
)

from autobot.localnet.model import LotteryStatus, PackageModel


def drawn(model: PackageModel, lottery_id: int) -> None:
    request(model, lottery_id, NOW)
    fulfil(model, lottery_id)


def to_payout(model: PackageModel, lottery_id: int) -> None:
    drawn(model, lottery_id)
    call(model, "payouts", "compute_winners_admin", lottery_id, 1_000)


# --- winners --------------------------------------------------------------------------------


def test_winners_are_computed_in_batches_and_the_last_one_moves_to_payout() -> None:
    model = demo_model()
    drawn(model, 2)  # prize plan 1 + 3 + 10 = 14 winners
    sizes = []
    for _ in range(3):
        events = call(model, "payouts", "compute_winners_admin", 2, 5)
        assert names(events) == ["history::WinnersComputedEvent"]
        sizes.append(events[0].data["assigned_in_batch"])
    assert sizes == ["5", "5", "4"]
    assert events[0].data["total_assigned"] == "14"
    assert events[0].data["batch_no"] == "2"
    assert model.state.lotteries[2].status == LotteryStatus.PAYOUT
    assert model.view("payouts", "winner_progress", [2]) == [
        {
            "initialized": True,
            "total_required": "14",
            "total_assigned": "14",
            "payout_round": "0",
            "next_winner_batch_no": "3",
            "last_payout_ts": "0",
        }
    ]


def test_deduplicated_winners_are_distinct_tickets_in_range() -> None:
    model = demo_model()
    drawn(model, 2)
    call(model, "payouts", "compute_winners_admin", 2, 100)
    tickets = [r.ticket_index for r in model.state.winners[2].records]
    assert len(set(tickets)) == 14
    assert all(0 <= t < 80 for t in tickets)


def test_winner_hashes_reach_the_finalization_snapshot() -> None:
    model = demo_model()
    drawn(model, 2)
    events = call(model, "payouts", "compute_winners_admin", 2, 100)
    snap = model.view("draw", "finalization_snapshot", [2])[0]
    assert isinstance(snap, dict)
    assert snap["winners_batch_hash"] == events[0].data["winners_batch_hash"]
    assert snap["checksum_after_batch"] == events[0].data["checksum_after_batch"]


def test_winner_computation_is_deterministic() -> None:
    first, second = demo_model(), demo_model()
    for model in (first, second):
        drawn(model, 2)
        call(model, "payouts", "compute_winners_admin", 2, 100)
    assert first.state.winners[2].records == second.state.winners[2].records


def test_more_winners_than_tickets_exhausts_deduplication() -> None:
    model = empty_model()
    add_lottery(model, 7, tickets=2, plan=(3,))
    drawn(model, 7)
    assert abort(model, "payouts", "compute_winners_admin", 7, 10).code == 0x1804


@pytest.mark.parametrize(
    ("limit", "signer", "code"),
    [(0, ADMIN, 0x1501), (5, STRANGER, 0x1202)],
    ids=["zero-limit", "not-admin"],
)
def test_compute_winners_refusals(limit: int, signer: str, code: int) -> None:
    model = demo_model()
    drawn(model, 2)
    assert (
        abort(model, "payouts", "compute_winners_admin", 2, limit, signers=(signer,)).code == code
    )


def test_compute_winners_before_the_draw_aborts_status_invalid() -> None:
    model = demo_model()
    assert abort(model, "payouts", "compute_winners_admin", 2, 5).code == 0x1210


def test_compute_winners_after_all_assigned_aborts() -> None:
    model = demo_model()
    to_payout(model, 2)
    assert abort(model, "payouts", "compute_winners_admin", 2, 5).code == 0x1802


# --- payout rounds and finalisation ---------------------------------------------------------


def test_a_payout_round_counts_against_the_accounting() -> None:
    model = demo_model()
    to_payout(model, 2)
    events = call(model, "payouts", "record_payout_batch_admin", 2, 1, 14, 1_000, 10, NOW + 5)
    assert names(events) == ["history::PayoutBatchEvent"]
    accounting = model.view("views", "accounting_snapshot", [2])[0]
    assert isinstance(accounting, dict)
    assert (accounting["total_prize_paid"], accounting["total_operations_paid"]) == ("1000", "10")


@pytest.mark.parametrize(
    ("round_", "prize", "ops", "code", "module"),
    [
        (2, 0, 0, 0x1806, "payouts"),
        (1, 10**15, 0, 0x1304, "economics"),
        (1, 0, 10**12, 0x1305, "economics"),
    ],
    ids=["skipped-round", "prize-over-allocation", "ops-over-allocation"],
)
def test_payout_round_refusals(round_: int, prize: int, ops: int, code: int, module: str) -> None:
    model = demo_model()
    to_payout(model, 2)
    err = abort(model, "payouts", "record_payout_batch_admin", 2, round_, 1, prize, ops, NOW)
    assert (err.code, err.module) == (code, module)


def test_finalize_archives_the_summary_and_moves_to_finalized() -> None:
    model = demo_model()
    to_payout(model, 2)
    call(model, "payouts", "record_payout_batch_admin", 2, 1, 14, 0, 0, NOW + 5)
    events = call(model, "payouts", "finalize_lottery_admin", 2, NOW + 10)
    assert names(events) == ["history::LotteryFinalizedEvent"]
    assert model.state.lotteries[2].status == LotteryStatus.FINALIZED
    summary = model.view("views", "get_lottery_summary", [2])[0]
    assert isinstance(summary, dict)
    assert (summary["status"], summary["payout_round"], summary["finalized_at"]) == (
        6,
        "1",
        str(NOW + 10),
    )
    assert model.view("views", "list_finalized_ids", [0, 10]) == [["2"]]


def test_finalize_before_payout_aborts_status_invalid() -> None:
    model = demo_model()
    drawn(model, 2)
    assert abort(model, "payouts", "finalize_lottery_admin", 2, NOW).code == 0x1210


# --- PayoutBatchCap -------------------------------------------------------------------------


def cap(
    model: PackageModel,
    *,
    size: int = 500,
    budget: int = 10**15,
    cooldown: int = 0,
    stride: int = 0,
) -> None:
    call(model, "roles", "set_payout_batch_cap_admin", ADMIN, size, budget, cooldown, stride)


def refund(
    model: PackageModel, round_: int, tickets: int, prize: int, ops: int, ts: int
) -> list[object]:
    return list(
        call(model, "payouts", "force_refund_batch_admin", 4, round_, tickets, prize, ops, ts)
    )


@pytest.mark.parametrize(
    ("cap_kwargs", "first", "second", "code"),
    [
        ({"size": 10}, None, (1, 11, 0, 0, NOW), 0x1808),
        ({"cooldown": 60}, (1, 1, 0, 0, NOW), (2, 1, 0, 0, NOW + 59), 0x1809),
        ({"stride": 1}, None, (2, 1, 0, 0, NOW), 0x180A),
        ({"budget": 5}, None, (1, 1, 0, 6, NOW), 0x180B),
    ],
    ids=["too-large", "cooldown", "nonce", "budget"],
)
def test_payout_batch_cap_checks(
    cap_kwargs: dict[str, int], first: tuple[int, ...] | None, second: tuple[int, ...], code: int
) -> None:
    model = demo_model()
    cap(model, **cap_kwargs)
    if first is not None:
        refund(model, *first)
    err = abort(model, "payouts", "force_refund_batch_admin", 4, *second)
    assert (err.code, err.module) == (code, "roles")


def test_without_a_cap_a_refund_aborts_cap_missing() -> None:
    model = demo_model()
    call(model, "roles", "revoke_payout_batch_cap_admin")
    err = abort(model, "payouts", "force_refund_batch_admin", 4, 1, 1, 0, 0, NOW)
    assert (err.code, err.module) == (0x1104, "roles")


def test_setting_a_cap_replaces_the_old_one_with_revoke_and_grant_events() -> None:
    model = demo_model()
    events = call(model, "roles", "set_payout_batch_cap_admin", STRANGER, 7, 8, 9, 0)
    assert names(events) == [
        "roles::PayoutBatchCapRevokedEvent",
        "roles::PayoutBatchCapGrantedEvent",
    ]
    assert events[1].data == {
        "holder": STRANGER,
        "max_batch_size": "7",
        "operations_budget_total": "8",
        "cooldown_secs": "9",
        "nonce_stride": "0",
    }
    view = model.view("roles", "payout_batch_cap_view", [])[0]
    assert isinstance(view, dict)
    assert view["vec"][0]["operations_budget_used"] == "0"


# --- refunds and archive --------------------------------------------------------------------


def refund_plan(
    tickets: int, prize_total: int, ops_total: int, batch: int
) -> list[tuple[int, int, int]]:
    """Batches by cumulative rounding, ending exactly at the totals (docs/decisions.md §6)."""
    out, done, prize_done, ops_done = [], 0, 0, 0
    while done < tickets:
        n = min(batch, tickets - done)
        done += n
        prize_to = prize_total * done // tickets
        ops_to = ops_total * done // tickets
        out.append((n, prize_to - prize_done, ops_to - ops_done))
        prize_done, ops_done = prize_to, ops_to
    return out


def test_refunds_to_exact_totals_then_archive() -> None:
    model = demo_model()
    sales = model.state.sales[4]
    acc = sales.accounting
    assert acc.total_allocated + acc.total_operations_allocated == sales.proceeds_accum
    plan = refund_plan(sales.tickets_sold, acc.total_allocated, acc.total_operations_allocated, 500)
    for i, (tickets, prize, ops) in enumerate(plan, start=1):
        events = call(
            model, "payouts", "force_refund_batch_admin", 4, i, tickets, prize, ops, NOW + i
        )
        assert names(events) == ["history::RefundBatchEvent"]
    assert events[0].data["total_tickets_refunded"] == "1234"
    assert events[0].data["total_amount_refunded"] == str(sales.proceeds_accum)
    overview = model.view("views", "status_overview", [NOW + 10])[0]
    assert isinstance(overview, dict)
    assert overview["refund_batch_pending"] == "0"
    events = call(model, "payouts", "archive_canceled_lottery_admin", 4, NOW + 10)
    assert names(events) == ["history::LotteryFinalizedEvent"]
    summary = model.view("views", "get_lottery_summary", [4])[0]
    assert isinstance(summary, dict)
    assert (summary["status"], summary["payout_round"], summary["tickets_sold"]) == (7, "3", "1234")
    assert model.state.lotteries[4].status == LotteryStatus.CANCELED


def test_archiving_again_with_the_same_summary_is_idempotent() -> None:
    model = demo_model()
    cap(model, size=0)
    s = model.state.sales[4]
    call(
        model,
        "payouts",
        "force_refund_batch_admin",
        4,
        1,
        s.tickets_sold,
        s.accounting.total_allocated,
        s.accounting.total_operations_allocated,
        NOW,
    )
    call(model, "payouts", "archive_canceled_lottery_admin", 4, NOW + 10)
    assert names(call(model, "payouts", "archive_canceled_lottery_admin", 4, NOW + 10)) == [
        "history::LotteryFinalizedEvent"
    ]
    assert abort(model, "payouts", "archive_canceled_lottery_admin", 4, NOW + 11).code == 0x1B02


@pytest.mark.parametrize(
    ("batches", "finalized_at", "code"),
    [
        ([], NOW, 0x1818),
        ([(1, 1234, 0, 0)], NOW, 0x1819),
        ([], NOW - 301, 0x1817),
    ],
    ids=["no-refunds", "funds-missing", "before-cancel"],
)
def test_archive_refusals(
    batches: list[tuple[int, int, int, int]], finalized_at: int, code: int
) -> None:
    model = demo_model()
    cap(model, size=0)
    for round_, tickets, prize, ops in batches:
        call(model, "payouts", "force_refund_batch_admin", 4, round_, tickets, prize, ops, NOW)
    assert abort(model, "payouts", "archive_canceled_lottery_admin", 4, finalized_at).code == code


@pytest.mark.parametrize(
    ("lottery_id", "args", "code", "module"),
    [
        (2, (1, 1, 0, 0, NOW), 0x1815, "payouts"),
        (4, (1, 0, 0, 0, NOW), 0x1816, "sales"),
        (4, (2, 1, 0, 0, NOW), 0x1812, "sales"),
        (4, (1, 1235, 0, 0, NOW), 0x1813, "sales"),
        (4, (1, 1, 10**12, 0, NOW), 0x1814, "sales"),
    ],
    ids=["not-canceled", "empty", "round-skipped", "too-many-tickets", "too-much-money"],
)
def test_refund_batch_refusals(
    lottery_id: int, args: tuple[int, ...], code: int, module: str
) -> None:
    model = demo_model()
    cap(model, size=0)  # no size limit, so the sales checks are reached
    err = abort(model, "payouts", "force_refund_batch_admin", lottery_id, *args)
    assert (err.code, err.module) == (code, module)


def test_a_refund_batch_older_than_the_last_aborts_refund_timestamp() -> None:
    model = demo_model()
    call(model, "payouts", "force_refund_batch_admin", 4, 1, 1, 0, 0, NOW)
    assert (
        abort(model, "payouts", "force_refund_batch_admin", 4, 2, 1, 0, 0, NOW - 1).code == 0x1817
    )


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(min_value=1, max_value=500))
def test_any_batch_size_refunds_exactly_and_archives(batch: int) -> None:
    model = demo_model()
    s = model.state.sales[4]
    acc = s.accounting
    for i, (tickets, prize, ops) in enumerate(
        refund_plan(s.tickets_sold, acc.total_allocated, acc.total_operations_allocated, batch),
        start=1,
    ):
        call(model, "payouts", "force_refund_batch_admin", 4, i, tickets, prize, ops, NOW)
    call(model, "payouts", "archive_canceled_lottery_admin", 4, NOW)
    assert 4 in model.state.summaries
