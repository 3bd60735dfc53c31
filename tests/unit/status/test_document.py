"""The status document: phases, honest moments, refunds and SLAs, what the public may see."""

from __future__ import annotations

import json

import jsonschema
import pytest
from status_builders import (
    NOW,
    OPERATOR,
    SCHEMA,
    WALL,
    action,
    bot,
    canceled,
    cap,
    facts,
    feed,
    incident,
    lottery,
    requested,
    snapshot,
)

from autobot.domain.draws import VrfState, VrfStatus, WinnerProgress
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import Snapshot, compute_overview
from autobot.domain.values import ChainTime
from autobot.journal.records import ActionState
from autobot.status.document import SCHEMA_VERSION, build_document
from autobot.status.moments import ClockLine, iso

VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def by_id(doc: dict[str, object], lottery_id: int) -> dict[str, object]:
    found = [x for x in doc["lotteries"] if x["id"] == lottery_id]  # type: ignore[attr-defined]
    assert len(found) == 1, doc["lotteries"]
    return found[0]  # type: ignore[no-any-return]


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


@pytest.mark.parametrize(
    ("view", "phase"),
    [
        (lottery(1, LotteryStatus.DRAFT, sales_end=NOW + 100), "draft"),
        (lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 100), "selling"),
        (lottery(1, LotteryStatus.ACTIVE, sales_end=NOW), "selling"),  # the last second sells
        (lottery(1, LotteryStatus.ACTIVE, sales_end=NOW - 1), "closing"),
        (lottery(1, LotteryStatus.CLOSING), "closing"),
        (requested(1), "drawing"),
        (lottery(1, LotteryStatus.DRAWN), "winners_pending"),
        (lottery(1, LotteryStatus.PAYOUT), "payout"),
        (canceled(1), "cancelled"),
    ],
)
def test_a_lottery_gets_the_phase_a_player_would_name(view: object, phase: str) -> None:
    doc = build_document(facts(snapshot(view)))  # type: ignore[arg-type]
    assert by_id(doc, 1)["phase"] == phase


def test_moments_ahead_of_the_chain_carry_the_expected_wall_time_past_ones_only_chain_time() -> (
    None
):
    # given: a chain running 60 times faster than the wall clock, a retry window 600 s ahead
    view = requested(3, attempt=2, last_request_ts=NOW - 60, retry_after_ts=NOW + 600)
    clock = ClockLine(chain=NOW, wall=WALL, rate=60.0)
    # when
    doc = build_document(facts(snapshot(view), clock=clock, vrf_deadline_seconds=1800))
    # then
    draw = by_id(doc, 3)["draw"]
    assert draw["next_retry_at"] == {  # type: ignore[index]
        "chain_time": iso(NOW + 600),
        "expected_wall_time": iso(WALL + 10),
    }
    assert draw["requested_at"] == {"chain_time": iso(NOW - 60), "expected_wall_time": None}  # type: ignore[index]
    assert draw["deadline"]["chain_time"] == iso(NOW - 60 + 1800)  # type: ignore[index]
    assert (draw["attempt"], draw["max_attempts"]) == (2, 5)  # type: ignore[index]
    assert doc["chain"] == {"chain_id": 6, "height": 4242, "time": iso(NOW), "rate": 60.0}


def test_without_a_chain_clock_no_wall_time_is_guessed() -> None:
    view = requested(3, retry_after_ts=NOW + 600)
    doc = build_document(facts(snapshot(view), clock=None))
    assert by_id(doc, 3)["draw"]["next_retry_at"]["expected_wall_time"] is None  # type: ignore[index]
    assert doc["chain"]["rate"] is None  # type: ignore[index]


def test_a_cancelled_lottery_shows_its_refund_progress_and_sla_deadlines() -> None:
    view = canceled(
        4,
        tickets=1234,
        proceeds=1_523_455_678,
        canceled_ts=NOW - 600,
        refund_round=1,
        tickets_refunded=500,
        prize_refunded=400_000_000,
        operations_refunded=217_283_500,
        last_refund_ts=NOW - 60,
    )
    doc = build_document(facts(snapshot(view, payout_cap=cap())))
    four = by_id(doc, 4)
    assert four["refund"] == {
        "tickets_refunded": 500,
        "tickets_sold": 1234,
        "percent": 40.5,
        "amount_refunded": 617_283_500,
        "amount_total": 1_523_455_678,
        "rounds": 1,
        "last_batch_at": {"chain_time": iso(NOW - 60), "expected_wall_time": None},
        "complete": False,
    }
    assert four["sla"]["state"] == "in_progress"  # type: ignore[index]
    assert four["sla"]["first_batch_due"]["chain_time"] == iso(NOW - 600 + 43_200)  # type: ignore[index]
    assert four["sla"]["completion_due"]["expected_wall_time"] == iso(WALL - 600 + 86_400)  # type: ignore[index]
    assert four["cancellation"]["reason"] == "compliance"  # type: ignore[index]
    assert doc["payout_queue"]["refund_tickets_pending"] == 734  # type: ignore[index]


def test_the_live_overview_leaves_out_terminal_lotteries_the_chains_counts_keep() -> None:
    live = canceled(4)
    archived = canceled(6)
    chain_counts = compute_overview([live, archived], NOW)  # the chain counts every lottery
    snap = Snapshot(
        time=ChainTime(seconds=NOW, height=1), overview=chain_counts, lotteries={4: live}
    )
    doc = build_document(facts(snap))
    assert doc["overview"]["all"]["canceled"] == 2  # type: ignore[index]
    assert doc["overview"]["live"]["canceled"] == 1  # type: ignore[index]


def test_a_finished_lottery_stays_listed_with_its_final_state_for_a_day() -> None:
    from dataclasses import replace

    done = canceled(4, tickets=10, refund_round=1, tickets_refunded=10, prize_refunded=1000,
                    last_refund_ts=NOW - 200)  # fmt: skip
    done = replace(done, archived=True)
    old = replace(canceled(7), archived=True)
    doc = build_document(
        facts(snapshot(), finished_lotteries={4: (NOW - 100, done), 7: (NOW - 90_000, old)})
    )
    (entry,) = doc["recently_finished"]  # type: ignore[misc]
    assert entry["id"] == 4 and entry["archived"] is True
    assert entry["refund"]["percent"] == 100 and entry["refund"]["complete"] is True
    assert entry["finished_at"]["chain_time"] == iso(NOW - 100)


def test_the_timeline_has_the_days_closes_draws_and_refunds_in_chain_order() -> None:
    cancelled = canceled(5, canceled_ts=NOW - 500)
    doc = build_document(
        facts(
            snapshot(cancelled),
            finished_actions=[
                action("refund:4:1", updated_chain=NOW - 10),
                action("draw:2:1", updated_chain=NOW - 300),
                action("close:1:0", updated_chain=NOW - 700),
                action("winners:2:0", updated_chain=NOW - 200),
                action("close:9:0", updated_chain=NOW - 90_000),  # older than a day
                action("fallback:3:17", updated_chain=NOW - 50),  # not a lottery's
            ],
        )
    )
    events = [(e["kind"], e["lottery_id"]) for e in doc["timeline"]["events"]]  # type: ignore[index]
    assert events == [
        ("closed", 1),
        ("cancelled", 5),
        ("draw_requested", 2),
        ("winners_computed", 2),
        ("refunded", 4),
    ]
    assert doc["timeline"]["from"] == iso(NOW - 86_400)  # type: ignore[index]


def test_a_bots_pending_slot_names_the_action_autobot_announced_and_when_it_may_run() -> None:
    busy = bot(OPERATOR, pending_execute_after=NOW + 900)
    announced = action(
        "refund:4:1",
        state=ActionState.WAITING,
        operator=OPERATOR,
        action_id=6,
        execute_at=NOW + 900,
        action_hash=b"\x01" * 32,
    )
    doc = build_document(facts(snapshot(canceled(4), bots=(busy,)), open_actions=[announced]))
    (entry,) = doc["bots"]  # type: ignore[misc]
    assert entry["pending"] == {
        "action": "payout_batch",
        "lottery_id": 4,
        "may_execute_at": {"chain_time": iso(NOW + 900), "expected_wall_time": iso(WALL + 900)},
        "ready": False,
    }
    assert entry["failures_left"] == 5 and entry["state"] == "live"
    assert by_id(doc, 4)["next_action"] == {
        "action": "refund",
        "may_execute_at": {"chain_time": iso(NOW + 900), "expected_wall_time": iso(WALL + 900)},
    }


def test_incidents_are_phrased_from_their_kind_and_subject_never_from_their_text() -> None:
    leak = (
        "tx 0x" + "ab" * 32 + " via http://10.0.0.7:27100/ aborted E_AUTOBOT_FAILURE_LIMIT"
        " operator 0x" + "cd" * 32
    )
    rows = [
        incident("Dry-run", leak, action_key="refund:4:1"),
        incident("Cancellation", leak, action_key="cancel:3:1"),
        incident("Refund", "payouts::archive_canceled_lottery_admin(u64:4) " + leak, action_key="refund:4:1"),
        incident("Refund", "payouts::force_refund_batch_admin(u64:4) " + leak, action_key="refund:4:1"),
        incident("Инцидент", leak, action_key="draw:3:2"),
        incident("Incident", "refund_budget 4: " + leak),
        incident("Incident", "bot_unavailable close:1:0: " + leak),
        incident("Release", leak),
    ]  # fmt: skip
    doc = build_document(facts(snapshot(), incidents=rows))
    published = [(i["type"], i["description"]) for i in doc["incidents"]]  # type: ignore[attr-defined]
    assert published[:5] == [
        ("announcement", "Automation announced refunding lottery 4 on chain; "
         "it runs once the bot's timelock has passed."),
        ("cancellation", "Lottery 3 was cancelled; its tickets will be refunded."),
        ("refund", "Every ticket of lottery 4 is refunded; the lottery is archived."),
        ("refund", "A refund batch of lottery 4 was paid."),
        ("attention", "Requesting the draw of lottery 3 needs an operator's attention."),
    ]  # fmt: skip
    assert published[5:] == [
        ("attention", "The refund of lottery 4 needs an operator's attention."),
        ("attention", "Planned work is waiting for an available automation bot."),
        ("other", "An operational event was logged."),
    ]
    text = json.dumps(doc)
    for secret in ("0xabab", "0xcdcd", "http", "10.0.0.7", "E_AUTOBOT", "27100"):
        assert secret not in text


def test_only_the_ten_newest_incidents_are_published() -> None:
    rows = [incident("Cancellation", "x", action_key=f"cancel:{n}:1") for n in range(15)]
    doc = build_document(facts(snapshot(), incidents=rows))
    assert [i["description"][:10] for i in doc["incidents"]] == ["Lottery 0 ", "Lottery 1 ", "Lottery 2 ", "Lottery 3 ", "Lottery 4 ", "Lottery 5 ", "Lottery 6 ", "Lottery 7 ", "Lottery 8 ", "Lottery 9 "]  # type: ignore[attr-defined]  # fmt: skip


def test_feeds_deposit_and_payout_queue_are_reported() -> None:
    drawn = lottery(2, LotteryStatus.PAYOUT,
                    winners=WinnerProgress(initialized=True, total_required=8, total_assigned=8,
                                           payout_round=1, next_winner_batch_no=3))  # fmt: skip
    snap = snapshot(
        drawn,
        feeds=(feed(1), feed(2, clamped=True), feed(3, age=4000), feed(4, fallback=True, age=4000)),
        paused=True,
        payout_cap=cap(budget=1000, used=250, cooldown=60, last_batch_at=NOW - 10),
    )
    doc = build_document(facts(snap))
    states = [(f["asset_id"], f["state"], f["healthy"]) for f in doc["price_feeds"]]  # type: ignore[attr-defined]
    assert states == [(1, "healthy", True), (2, "clamped", False), (3, "stale", False), (4, "fallback", False)]  # fmt: skip
    assert doc["vrf_deposit"]["requests_paused"] is True  # type: ignore[index]
    assert doc["vrf_deposit"]["healthy"] is False  # type: ignore[index]
    queue = doc["payout_queue"]
    assert queue["payout_backlog"] == 1 and queue["lotteries_in_payout"] == 1  # type: ignore[index]
    assert queue["operations_budget_remaining"] == 750  # type: ignore[index]
    assert queue["next_batch_at"]["chain_time"] == iso(NOW + 50)  # type: ignore[index]


def test_the_dual_write_remainder_is_published_once_the_control_was_read() -> None:
    # before the watch read DualWriteControl there is nothing to say (not "0 waiting")
    assert build_document(facts(snapshot()))["dual_write"] is None
    assert build_document(facts(snapshot(), playbook=PlaybookReport()))["dual_write"] is None
    report = PlaybookReport(
        dual_write_enabled=True,
        dual_write_expected=3,
        dual_write_pending=1,
        dual_write_mismatch=1,
        dual_write_pending_after_seconds=7_200,
    )
    doc = build_document(facts(snapshot(), playbook=report))
    assert doc["dual_write"] == {
        "enabled": True,
        "remainder": 3,
        "waiting_long": 1,
        "waiting_long_after_seconds": 7_200,
        "mismatches": 1,
    }
    assert not [e.message for e in VALIDATOR.iter_errors(doc)]


def rich() -> list[object]:
    from dataclasses import replace

    return [
        snapshot(),
        snapshot(
            lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 3600),
            lottery(2, LotteryStatus.CLOSING),
            requested(3, attempt=5, retry_after_ts=NOW + 30),
            lottery(
                5,
                LotteryStatus.DRAWN,
                vrf=VrfState(status=VrfStatus.FULFILLED, attempt=1, consumed=False),
                winners=WinnerProgress(initialized=True, total_required=10, total_assigned=3),
            ),
            canceled(4, tickets=0),
            canceled(6, tickets=3, canceled_ts=NOW - 50_000),
            bots=(
                bot(),
                bot("0xb0b", failures=5, max_failures=5),
                bot("0xc0c", expires_at=NOW - 1),
            ),
            feeds=(feed(1), feed(2, clamped=True)),
            payout_cap=cap(),
        ),
        snapshot(
            replace(canceled(8), cancellation=replace(canceled(8).cancellation, reason_code=99))
        ),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("snap", rich())
def test_every_document_validates_against_the_shipped_schema(snap: Snapshot) -> None:
    doc = build_document(
        facts(
            snap,
            finished_actions=[action("close:1:0"), action("refund:4:1")],
            incidents=[incident("Dry-run", "x", action_key="refund:4:1")],
            open_actions=[action("draw:3:5", state=ActionState.EXECUTING)],
        )
    )
    errors = [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors
    assert json.loads(json.dumps(doc)) == doc  # plain JSON values only
