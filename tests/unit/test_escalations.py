"""What needs a person, as episodes (``escalations.py``): one incident-log row per episode (also
across restarts), the deposit's pause and resume, parked actions as long as their work is not
done, and actions parked by pre-flight started again once the chain allows them."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent / "planning"))
from plan_builders import NOW, ctx, lottery, requested, snapshot

from autobot.clock import FakeClock
from autobot.domain.actions import ActionKind
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.payouts import VrfDepositStatus
from autobot.domain.snapshot import Snapshot
from autobot.escalations import Attention, Escalations, OpenIncidents, Priority, priority_of
from autobot.journal.records import (
    ActionState,
    IncidentType,
    NewAction,
    NewTransaction,
    Outcome,
    TxPurpose,
    TxSettlement,
    TxState,
)
from autobot.journal.store import SqliteJournal
from autobot.planning import plan_all
from autobot.planning.recipes import RequestDraw, ResumeRequests


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    async with await SqliteJournal.open(tmp_path / "j.sqlite3", clock=FakeClock()) as j:
        yield j


async def sweep(escalations: Escalations, snap: Snapshot, journal: SqliteJournal) -> set[str]:
    counts = await journal.action_counts()
    update = await escalations.update(
        result=plan_all(snap, ctx()), snapshot=snap, parked=counts[ActionState.PARKED]
    )
    return {f"{a.reason} {a.subject}" for a, _ in update.attention}


async def rows(journal: SqliteJournal) -> list[tuple[str, str]]:
    return [(i.type, i.description) for i in reversed(await journal.incidents())]


def paused(snap: Snapshot, since: int = NOW - 60) -> Snapshot:
    deposit = VrfDepositStatus(
        total_balance=10,
        effective_balance=5,
        minimum_balance=10,
        required_minimum=12,
        requests_paused=True,
        paused_since_ts=since,
    )
    return replace(snap, deposit=deposit)


async def test_an_escalation_gets_one_row_per_episode_also_across_restarts(
    journal: SqliteJournal,
) -> None:
    stuck = snapshot(lottery(3, LotteryStatus.CLOSING, tickets=0))
    # when two sweeps see it, then a restarted daemon sees it again
    assert await sweep(Escalations(journal=journal), stuck, journal) == {
        "closing_without_tickets 3"
    }
    first = Escalations(journal=journal)
    await sweep(first, stuck, journal)
    await sweep(first, stuck, journal)
    # then one row, the handbook's incident type
    assert await rows(journal) == [
        ("Инцидент", "closing_without_tickets 3: CLOSING with no tickets sold")
    ]
    # when it clears and comes back: a new episode, a new row
    await sweep(first, snapshot(), journal)
    await sweep(first, stuck, journal)
    assert len(await rows(journal)) == 2
    # and a restart after it cleared (while down) and came back writes none twice
    restarted = Escalations(journal=journal)
    await sweep(restarted, stuck, journal)
    assert len(await rows(journal)) == 2


async def test_a_strict_vrf_escalation_is_left_to_the_executors_row(
    journal: SqliteJournal,
) -> None:
    # given a draw the executor parked as escalated (E_VRF_PENDING): the planner says vrf_pending
    snap = snapshot(requested(3))
    update = await Escalations(journal=journal).update(
        result=plan_all(snap, ctx(escalated_draws=frozenset({3}))), snapshot=snap, parked=0
    )
    # then it needs attention (the alert), but the engine writes no second row for the event
    assert [a for a, _ in update.attention] == [Attention(reason="vrf_pending", subject="3")]
    assert await journal.incidents() == []


async def test_the_deposits_pause_and_resume_are_rows_and_the_resume_links_autobots_tx(
    journal: SqliteJournal,
) -> None:
    tracker = Escalations(journal=journal, responsible="ops-bot")
    await sweep(tracker, paused(snapshot()), journal)
    await sweep(tracker, paused(snapshot()), journal)
    # a restart while still paused writes no second pause row
    tracker = Escalations(journal=journal, responsible="ops-bot")
    await sweep(tracker, paused(snapshot()), journal)
    # autobot's resume_requests executed
    key = "unpause:0:1"
    await journal.add_action(
        NewAction(key=key, kind=ActionKind.UNPAUSE, subject_id=0, action_id=5,
                  recipe='{"type": "unpause"}', reason="request 1", due_at=NOW),
        chain_now=NOW,
    )  # fmt: skip
    tx = "0x" + "ab" * 32
    await journal.add_transaction(
        NewTransaction(tx_hash=tx, action_key=key, action_hash=b"\x01" * 32,
                       purpose=TxPurpose.EXECUTE, call_index=0, call="{}", sender="0xad",
                       sequence_number=1, expires_at=2_000_000_000, raw=b"x"),
        expect={ActionState.PLANNED}, chain_now=NOW,
    )  # fmt: skip
    # the chain shows requests resumed before the executor followed the transaction: the
    # resume's row waits for its outcome (else it would lack the link)
    await sweep(tracker, snapshot(), journal)
    assert [i.type for i in await journal.incidents()] == [IncidentType.INCIDENT]
    await journal.settle_transaction(TxSettlement(tx_hash=tx, state=TxState.COMMITTED))
    await sweep(tracker, snapshot(), journal)
    await sweep(tracker, snapshot(), journal)
    logged = await journal.incidents()
    assert [i.type for i in reversed(logged)] == [IncidentType.INCIDENT, IncidentType.VRF_TOP_UP]
    resumed = logged[0]
    assert resumed.description.startswith("vrf_deposit_resumed deposit: VRF requests resumed by")
    assert (resumed.tx_hash, resumed.action_key, resumed.responsible) == (tx, key, "ops-bot")
    assert "effective 5, required minimum 12" in logged[1].description


async def test_a_parked_action_needs_attention_until_the_chain_shows_its_work_done(
    journal: SqliteJournal,
) -> None:
    # given a draw parked by the executor (not escalated: a record that aborted, say)
    recipe = RequestDraw(
        lottery_id=4, closing_block_height=1, chain_id=6, num_confirmations=1, attempt=0
    )
    await journal.add_action(
        NewAction(key="draw:4:1", kind=ActionKind.DRAW, subject_id=4, action_id=2,
                  recipe=json.dumps(recipe.to_json()),
                  reason="x", due_at=NOW),
        chain_now=NOW,
    )  # fmt: skip
    await journal.update_action(
        "draw:4:1", expect={ActionState.PLANNED}, chain_now=NOW, state=ActionState.PARKED
    )
    tracker = Escalations(journal=journal)
    closing = snapshot(lottery(4, LotteryStatus.CLOSING))
    assert "parked_draw 4" in await sweep(tracker, closing, journal)
    # when the lottery got drawn after all (the goal holds), or is gone: nothing left
    drawn = snapshot(lottery(4, LotteryStatus.DRAWN))
    assert "parked_draw 4" not in await sweep(tracker, drawn, journal)
    assert "parked_draw 4" not in await sweep(tracker, snapshot(), journal)


async def test_an_action_parked_by_pre_flight_is_started_again_once_it_may_run(
    journal: SqliteJournal,
) -> None:
    await journal.add_action(
        NewAction(key="unpause:0:1", kind=ActionKind.UNPAUSE, subject_id=0, action_id=5,
                  recipe=json.dumps(ResumeRequests().to_json()), reason="x",
                  due_at=NOW),
        chain_now=NOW,
    )  # fmt: skip
    recipe = RequestDraw(
        lottery_id=2, closing_block_height=1, chain_id=6, num_confirmations=1, attempt=0
    )
    await journal.add_action(
        NewAction(key="draw:2:1", kind=ActionKind.DRAW, subject_id=2, action_id=2,
                  recipe=json.dumps(recipe.to_json()), reason="x", due_at=NOW),
        chain_now=NOW,
    )  # fmt: skip
    await journal.update_action(
        "draw:2:1",
        expect={ActionState.PLANNED},
        chain_now=NOW,
        state=ActionState.PARKED,
        outcome=Outcome.ESCALATED,
        error_code=0x1403,
        error_name="E_FEATURE_DISABLED",
    )
    tracker = Escalations(journal=journal)
    closing = lottery(2, LotteryStatus.CLOSING)
    off = snapshot(closing, draw_feature=0)
    counts = await journal.action_counts()
    update = await tracker.update(
        result=plan_all(off, ctx()), snapshot=off, parked=counts[ActionState.PARKED]
    )
    # while the feature is off: the planner's escalation stands for it, nothing restarts
    assert update.retry == ()
    assert [a.reason for a, _ in update.attention] == ["draw_feature_disabled"]
    on = snapshot(closing, draw_feature=1)
    update = await tracker.update(
        result=plan_all(on, ctx()), snapshot=on, parked=counts[ActionState.PARKED]
    )
    assert [str(k) for k in update.retry] == ["draw:2:1"]


@pytest.mark.parametrize(
    ("reason", "priority"),
    [
        ("vrf_pending", Priority.HIGH),
        ("vrf_requests_paused", Priority.HIGH),
        ("refund_budget", Priority.HIGH),
        ("refund_sla_at_risk", Priority.HIGH),
        ("bot_unavailable", Priority.HIGH),
        ("parked_refund", Priority.HIGH),
        ("auto_close_disabled", Priority.MEDIUM),
        ("draw_feature_disabled", Priority.MEDIUM),
        ("parked_clamp", Priority.MEDIUM),
        ("parked_rotate", Priority.MEDIUM),
    ],
)
def test_an_incident_is_high_when_players_wait_on_it(reason: str, priority: Priority) -> None:
    assert priority_of(reason) is priority
    assert Priority.HIGH.sla_seconds == 24 * 3600 and Priority.MEDIUM.sla_seconds == 72 * 3600


async def test_open_incidents_are_counted_by_priority_against_the_sla_also_across_restarts(
    tmp_path: Path,
) -> None:
    clock = FakeClock(wall=1_800_000_000.0)
    stuck = snapshot(lottery(3, LotteryStatus.CLOSING, tickets=0))  # high: players wait
    by_hand = snapshot(
        lottery(3, LotteryStatus.CLOSING, tickets=0),
        lottery(4, LotteryStatus.ACTIVE, sales_end=NOW - 10, auto_close=False),
    )
    async with await SqliteJournal.open(tmp_path / "j.sqlite3", clock=clock) as journal:
        tracker = Escalations(journal=journal, wall=clock.wall)
        counts = await journal.action_counts()

        async def update(t: Escalations, snap: Snapshot) -> dict[Priority, OpenIncidents]:
            found = await t.update(
                result=plan_all(snap, ctx()), snapshot=snap, parked=counts[ActionState.PARKED]
            )
            return dict(found.open)

        # nothing open: every priority is reported, at zero
        assert await update(tracker, snapshot()) == {p: OpenIncidents() for p in Priority}
        # given an episode that began now
        assert (await update(tracker, stuck))[Priority.HIGH] == OpenIncidents(open=1)
        # when 25 hours pass (a medium one began an hour before the end)
        clock.advance(24 * 3600)
        opened = await update(tracker, by_hand)
        clock.advance(3600)
        opened = await update(tracker, by_hand)
        # then the high one is past its 24 h, the medium one is not past its 72 h
        assert opened[Priority.HIGH] == OpenIncidents(
            open=1, over_sla=1, oldest_seconds=25 * 3600.0
        )
        assert opened[Priority.MEDIUM] == OpenIncidents(open=1, over_sla=0, oldest_seconds=3600.0)
        # and a restarted daemon counts from the episode's row in the incident log, not from now
        restarted = Escalations(journal=journal, wall=clock.wall)
        again = await update(restarted, by_hand)
        assert again[Priority.HIGH] == OpenIncidents(open=1, over_sla=1, oldest_seconds=25 * 3600.0)
        # when it clears, it is no longer open
        assert (await update(restarted, snapshot()))[Priority.HIGH] == OpenIncidents()
