"""The journal contract (both back ends, see conftest.py): actions, transactions, requests,
incidents and lottery bookkeeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from autobot.clock import Clock, FakeClock
from autobot.errors import JournalConflict, JournalError
from autobot.journal.operations import EventCounts
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionState,
    NewAction,
    NewIncident,
    NewTransaction,
    Outcome,
    RequestKind,
    RequestState,
    TxPurpose,
    TxSettlement,
    TxState,
)

SENDER = "0x" + "a" * 64
OpenJournal = Callable[[Clock], Awaitable[Journal]]  # the conftest's open_journal


def new_action(key: str = "close:1:0", *, action_id: int | None = 1) -> NewAction:
    return NewAction(
        key=key,
        kind=key.split(":")[0],
        subject_id=1,
        action_id=action_id,
        recipe='{"type": "close", "lottery_id": 1}',
        reason="sales ended",
        due_at=100,
    )


def new_tx(seq: int, *, key: str = "close:1:0", tx_hash: str | None = None) -> NewTransaction:
    return NewTransaction(
        tx_hash=tx_hash or f"0x{seq:064x}",
        action_key=key,
        action_hash=b"\xab" * 32,
        purpose=TxPurpose.EXECUTE,
        call_index=0,
        call='{"module": "lottery_registry", "function": "advance_status", "args": []}',
        sender=SENDER,
        sequence_number=seq,
        expires_at=1_700_000_060,
        raw=b"\x01\x02" + seq.to_bytes(8, "little"),
    )


async def test_a_new_action_is_journaled_as_planned(journal: Journal) -> None:
    # when
    record, created = await journal.add_action(new_action(), chain_now=100)
    # then
    assert created
    assert record.state is ActionState.PLANNED
    assert (record.key, record.action_id, record.due_at, record.created_chain) == (
        "close:1:0",
        1,
        100,
        100,
    )
    assert record.action_hash is None and record.progress == 0 and record.attempts == 0


async def test_adding_a_known_key_keeps_the_existing_action(journal: Journal) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    await journal.update_action(
        "close:1:0", expect={ActionState.PLANNED}, chain_now=101, state=ActionState.EXECUTING
    )
    # when
    record, created = await journal.add_action(new_action(), chain_now=102)
    # then
    assert not created
    assert record.state is ActionState.EXECUTING


async def test_update_changes_columns_and_stamps_chain_and_wall_time(
    journal: Journal, clock: FakeClock
) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    clock.advance(5)
    # when
    record = await journal.update_action(
        "close:1:0",
        expect={ActionState.PLANNED},
        chain_now=130,
        operator=SENDER,
        timelock_secs=30,
        execute_at=160,
        action_hash=b"\xab" * 32,
        outcome=Outcome.MOOT,
    )
    # then
    assert record.action_hash == b"\xab" * 32
    assert (record.operator, record.timelock_secs, record.execute_at) == (SENDER, 30, 160)
    assert record.outcome is Outcome.MOOT
    assert (record.updated_chain, record.updated_wall) == (130, 1_700_000_005.0)
    assert record.created_wall == 1_700_000_000.0


async def test_update_from_an_unexpected_state_is_refused(journal: Journal) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    # when / then
    with pytest.raises(JournalConflict, match="is planned in the journal, expected one of"):
        await journal.update_action(
            "close:1:0", expect={ActionState.WAITING}, chain_now=100, state=ActionState.EXECUTING
        )


async def test_open_actions_leave_out_terminal_ones(journal: Journal) -> None:
    # given
    await journal.add_action(new_action("close:1:0"), chain_now=100)
    await journal.add_action(new_action("close:2:0"), chain_now=100)
    await journal.update_action(
        "close:2:0", expect={ActionState.PLANNED}, chain_now=100, state=ActionState.DONE
    )
    # when
    keys = [a.key for a in await journal.open_actions()]
    # then
    assert keys == ["close:1:0"]


async def test_a_signed_transaction_and_its_action_change_land_together(
    journal: Journal,
) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    # when
    tx = await journal.add_transaction(
        new_tx(7), expect={ActionState.PLANNED}, chain_now=100, state=ActionState.EXECUTING
    )
    # then
    assert tx.state is TxState.SIGNED and tx.submissions == 0
    assert tx.raw == new_tx(7).raw
    action = await journal.get_action("close:1:0")
    assert action is not None and action.state is ActionState.EXECUTING
    assert [t.tx_hash for t in await journal.live_transactions(SENDER)] == [tx.tx_hash]


async def test_a_failed_action_change_does_not_journal_the_transaction(
    journal: Journal,
) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    # when
    with pytest.raises(JournalConflict):
        await journal.add_transaction(
            new_tx(7), expect={ActionState.WAITING}, chain_now=100, state=ActionState.EXECUTING
        )
    # then
    assert await journal.get_transaction(new_tx(7).tx_hash) is None


async def test_two_live_transactions_cannot_share_a_sequence_number(
    journal: Journal,
) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    await journal.add_transaction(new_tx(7), expect=set(ActionState), chain_now=100)
    # when / then
    with pytest.raises(JournalError, match="invariant"):
        await journal.add_transaction(
            new_tx(7, tx_hash="0x" + "f" * 64), expect=set(ActionState), chain_now=100
        )


async def test_a_dropped_transaction_frees_its_sequence_number(journal: Journal) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    first = await journal.add_transaction(new_tx(7), expect=set(ActionState), chain_now=100)
    await journal.settle_transaction(TxSettlement(tx_hash=first.tx_hash, state=TxState.DROPPED))
    # when
    second = await journal.add_transaction(
        new_tx(7, tx_hash="0x" + "f" * 64), expect=set(ActionState), chain_now=100
    )
    # then
    assert second.sequence_number == 7
    assert await journal.highest_sequence(SENDER) == 7


async def test_highest_sequence_ignores_dropped_transactions(journal: Journal) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    await journal.add_transaction(new_tx(3), expect=set(ActionState), chain_now=100)
    dropped = await journal.add_transaction(new_tx(4), expect=set(ActionState), chain_now=100)
    await journal.settle_transaction(TxSettlement(tx_hash=dropped.tx_hash, state=TxState.DROPPED))
    # when / then
    assert await journal.highest_sequence(SENDER) == 3
    assert await journal.highest_sequence("0x" + "b" * 64) is None


async def test_resubmitting_counts_submissions(journal: Journal) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    tx = await journal.add_transaction(new_tx(1), expect=set(ActionState), chain_now=100)
    # when
    await journal.mark_submitted(tx.tx_hash)
    again = await journal.mark_submitted(tx.tx_hash)
    # then
    assert again.state is TxState.SUBMITTED and again.submissions == 2


async def test_an_incident_written_with_an_action_change_shares_its_fate(
    journal: Journal,
) -> None:
    # given
    await journal.add_action(new_action(), chain_now=100)
    incident = NewIncident(type="Dry-run", description="announced", responsible="autobot")
    # when: the action change is refused
    with pytest.raises(JournalConflict):
        await journal.update_action(
            "close:1:0", expect={ActionState.DONE}, chain_now=101, incident=incident
        )
    await journal.update_action(
        "close:1:0", expect={ActionState.PLANNED}, chain_now=101, incident=incident
    )
    # then: only the accepted change wrote its incident
    assert [i.description for i in await journal.incidents()] == ["announced"]


async def test_requests_are_pending_until_finished(journal: Journal) -> None:
    # given
    made = await journal.add_request(
        RequestKind.CANCEL, "4", requested_by="alice", params={"reason": 3}
    )
    # when
    pending = await journal.pending_requests()
    done = await journal.finish_request(made.id, state=RequestState.DONE, result="planned cancel")
    # then
    assert [(r.kind, r.subject, r.params) for r in pending] == [
        (RequestKind.CANCEL, "4", '{"reason": 3}')
    ]
    assert done.state is RequestState.DONE and done.result == "planned cancel"
    assert await journal.pending_requests() == []


async def test_every_request_kind_is_taken_unpause_included(journal: Journal) -> None:
    # given: one request of every kind the operator commands write (``autobot vrf resume``'s
    # unpause came with schema 4: the column's CHECK allows it on both back ends)
    for kind in RequestKind:
        await journal.add_request(kind, "0", requested_by="op")
    # when
    pending = await journal.pending_requests()
    # then
    assert [r.kind for r in pending] == list(RequestKind)
    assert RequestKind.UNPAUSE in {r.kind for r in pending}


async def test_incidents_read_newest_first_in_utc_minutes(
    journal: Journal, clock: FakeClock
) -> None:
    # given
    await journal.add_incident(
        NewIncident(type="Dry-run", description="first", responsible="autobot")
    )
    clock.advance(120)
    await journal.add_incident(
        NewIncident(
            type="Инцидент",
            description="second",
            responsible="autobot",
            action_hash=b"\x01\x02",
            tx_hash="0xabc",
        )
    )
    # when
    log = await journal.incidents()
    # then
    assert [i.description for i in log] == ["second", "first"]
    assert log[0].at_utc == "2023-11-14 22:15" and log[1].at_utc == "2023-11-14 22:13"
    assert (log[0].action_hash, log[0].tx_hash) == ("0x0102", "0xabc")


async def test_a_terminal_lottery_is_remembered_and_loses_its_next_check(
    journal: Journal,
) -> None:
    # given
    await journal.set_next_check(5, 900)
    await journal.set_next_check(6, 950)
    # when
    await journal.mark_terminal(5, status=6, chain_now=1_000)
    # then
    assert await journal.terminal_lotteries() == frozenset({5})
    assert await journal.next_checks() == {6: 950}


async def test_terminal_statuses_keep_the_status_each_was_marked_with(journal: Journal) -> None:
    # when
    await journal.mark_terminal_many({5: 6, 7: 7}, chain_now=1_000)
    await journal.mark_terminal(9, status=6, chain_now=1_010)
    # then
    assert await journal.terminal_statuses() == {5: 6, 7: 7, 9: 6}


async def test_event_counts_move_their_cursor_and_add_up_per_subject(
    open_journal: OpenJournal, clock: FakeClock
) -> None:
    event = "price_feed::PriceFeedUpdatedEvent"
    async with await open_journal(clock) as journal:
        # given: nothing counted yet
        assert await journal.event_counts(event) is None
        # when: a first cursor, then two batches of counts (a zero is not a row)
        await journal.count_events(event, next_height=11, seen=3, added={})
        await journal.count_events(event, next_height=20, seen=7, added={1: 3, 2: 1, 4: 0})
        await journal.count_events(event, next_height=25, seen=9, added={1: 2})
        await journal.count_events("other::Event", next_height=5, seen=1, added={1: 1})
    # then: the cursor is the last one, the counts their sums, also after reopening
    async with await open_journal(clock) as journal:
        assert await journal.event_counts(event) == EventCounts(
            next_height=25, seen=9, counts={1: 5, 2: 1}
        )
        assert await journal.event_counts("other::Event") == EventCounts(
            next_height=5, seen=1, counts={1: 1}
        )


async def test_next_check_is_replaced_not_duplicated(journal: Journal) -> None:
    # when
    await journal.set_next_check(6, 950)
    await journal.set_next_check(6, 1_200)
    # then
    assert await journal.next_checks() == {6: 1_200}


async def test_rows_survive_reopening(open_journal: OpenJournal, clock: FakeClock) -> None:
    # given
    async with await open_journal(clock) as first:
        await first.add_action(new_action(), chain_now=100)
        await first.add_transaction(new_tx(9), expect=set(ActionState), chain_now=100)
    # when
    async with await open_journal(clock) as second:
        # then
        assert (await second.get_action("close:1:0")) is not None
        assert await second.highest_sequence(SENDER) == 9
