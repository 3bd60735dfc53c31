"""Retention (``journal/retention.py``, finding 8: the journal was never pruned): finished work
older than the cutoff is exported, then pruned; open, parked, incidents and the latest fallback of
each feed stay. Part of the contract suite: every test that takes ``journal`` runs on SQLite and on
PostgreSQL (``conftest.py``); schema 7's counting triggers are the back ends' own (SQLite triggers,
PL/pgSQL functions), so their tests run on both too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionState,
    NewAction,
    NewIncident,
    NewTransaction,
    RequestKind,
    RequestState,
    TxPurpose,
)
from autobot.journal.store import SqliteJournal

SENDER = "0x" + "a" * 64
DAY = 86_400


async def action(
    j: Journal, key: str, *, state: ActionState, chain: int, recipe: str = "{}", seq: int = 0
) -> None:
    kind, subject, _ = key.split(":")
    new = NewAction(
        key=key, kind=kind, subject_id=int(subject), action_id=None, recipe=recipe,
        reason="t", due_at=chain,
    )  # fmt: skip
    await j.add_action(new, chain_now=chain)
    await j.add_transactions(
        [
            NewTransaction(
                tx_hash=f"0x{seq:064x}", action_key=key, action_hash=b"\xab" * 32,
                purpose=TxPurpose.EXECUTE, call_index=0, call="{}", sender=SENDER,
                sequence_number=seq, expires_at=0, raw=b"\x01" + bytes([seq]),
            )
        ],
        expect=set(ActionState),
        chain_now=chain,
    )  # fmt: skip
    if state is not ActionState.PLANNED:
        await j.update_action(key, expect=set(ActionState), chain_now=chain, state=state)


async def test_finished_work_past_the_cutoff_is_exported_then_pruned(
    journal: Journal, tmp_path: Path
) -> None:
    now = 100 * DAY
    # given: old finished actions, old open and parked ones, recent finished ones, incidents
    await action(journal, "close:1:0", state=ActionState.DONE, chain=now - 40 * DAY, seq=1)
    await action(journal, "draw:2:0", state=ActionState.FAILED, chain=now - 35 * DAY, seq=2)
    await action(journal, "close:3:0", state=ActionState.MOOT, chain=now - 31 * DAY, seq=3)
    await action(journal, "draw:4:0", state=ActionState.PARKED, chain=now - 50 * DAY, seq=4)
    await action(journal, "close:5:0", state=ActionState.EXECUTING, chain=now - 50 * DAY, seq=5)
    await action(journal, "close:6:0", state=ActionState.DONE, chain=now - 10 * DAY, seq=6)
    await journal.add_incident(
        NewIncident(type="t", description="about close:1:0", responsible="autobot",
                    action_key="close:1:0")
    )  # fmt: skip
    export = tmp_path / "j.sqlite3.pruned.jsonl"
    # when
    pruned = await journal.prune(chain_before=now - 30 * DAY, wall_before=0, export=export)
    # then: the three old finished ones and their transactions, exported first
    assert (pruned.actions, pruned.transactions, pruned.requests) == (3, 3, 0)
    kept = {a.key for a in await journal.list_actions(limit=100)}
    assert kept == {"draw:4:0", "close:5:0", "close:6:0"}
    assert await journal.get_transaction(f"0x{1:064x}") is None
    assert await journal.get_transaction(f"0x{4:064x}") is not None
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert sorted((x["table"], x["row"].get("key") or x["row"]["action_key"]) for x in lines) == [
        ("actions", "close:1:0"), ("actions", "close:3:0"), ("actions", "draw:2:0"),
        ("transactions", "close:1:0"), ("transactions", "close:3:0"),
        ("transactions", "draw:2:0"),
    ]  # fmt: skip
    assert [x["row"]["raw"] for x in lines if x["row"].get("tx_hash") == f"0x{1:064x}"] == ["0101"]
    assert [i.description for i in await journal.incidents()] == ["about close:1:0"]
    # and: a second pass finds nothing more
    again = await journal.prune(chain_before=now - 30 * DAY, wall_before=0, export=export)
    assert again.rows == 0


async def test_the_latest_fallback_of_each_feed_stays(journal: Journal, tmp_path: Path) -> None:
    now = 100 * DAY
    on, off = '{"type": "fallback", "active": true}', '{"type": "fallback", "active": false}'
    await action(journal, "fallback:1:0", state=ActionState.DONE, chain=now - 60 * DAY, recipe=off)
    await action(journal, "fallback:1:1", state=ActionState.DONE, chain=now - 50 * DAY, recipe=on,
                 seq=1)  # fmt: skip
    await action(journal, "fallback:2:0", state=ActionState.DONE, chain=now - 50 * DAY, recipe=on,
                 seq=2)  # fmt: skip
    export = tmp_path / "x.jsonl"
    pruned = await journal.prune(chain_before=now - 30 * DAY, wall_before=0, export=export)
    assert pruned.actions == 1
    kept = {a.key for a in await journal.list_actions(limit=100)}
    assert kept == {"fallback:1:1", "fallback:2:0"}  # what sweep_context reads to hold them


async def test_batches_and_handled_requests(journal: Journal, tmp_path: Path) -> None:
    now = 100 * DAY
    for i in range(5):
        await action(journal, f"close:{i}:0", state=ActionState.DONE, chain=now - 40 * DAY, seq=i)
    handled = await journal.add_request(RequestKind.PARK, "close:1:0", requested_by="ops")
    await journal.finish_request(handled.id, state=RequestState.DONE, result="ok")
    pending = await journal.add_request(RequestKind.PARK, "close:2:0", requested_by="ops")
    export = tmp_path / "x.jsonl"
    first = await journal.prune(
        chain_before=now - 30 * DAY, wall_before=2e9, export=export, batch=2
    )
    assert (first.actions, first.requests) == (2, 1)
    assert [r.id for r in await journal.pending_requests()] == [pending.id]
    second = await journal.prune(
        chain_before=now - 30 * DAY, wall_before=2e9, export=export, batch=2
    )
    third = await journal.prune(
        chain_before=now - 30 * DAY, wall_before=2e9, export=export, batch=2
    )
    assert (second.actions, third.actions) == (2, 1)
    assert await journal.list_actions(limit=100) == []
    await journal.vacuum()  # a new journal vacuums incrementally: no error, pages given back


async def test_a_new_journal_vacuums_incrementally(journal: Journal, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL: autovacuum reclaims pruned rows; vacuum() does nothing")
    assert isinstance(journal, SqliteJournal)
    [row] = await journal._read("t", "PRAGMA auto_vacuum")
    assert row[0] == 2  # INCREMENTAL


async def test_open_actions_are_every_state_but_the_final_ones(journal: Journal) -> None:
    # open_actions spells the partial index's condition (not the open states): the same set
    from autobot.journal.core import _FINAL_SQL
    from autobot.journal.records import OPEN_ACTION_STATES

    final = {s.strip(" '") for s in _FINAL_SQL.split(",")}
    assert {s.value for s in ActionState} - final == {s.value for s in OPEN_ACTION_STATES}
    for n, state in enumerate(ActionState):
        await action(journal, f"close:{n}:0", state=state, chain=n, seq=n)
    opened = {a.state for a in await journal.open_actions()}
    assert opened == set(OPEN_ACTION_STATES)


async def test_the_counts_follow_every_change(journal: Journal, tmp_path: Path) -> None:
    # the action_counts table kept by triggers, not a count of every row
    await action(journal, "close:1:0", state=ActionState.DONE, chain=0, seq=1)
    await action(journal, "close:2:0", state=ActionState.EXECUTING, chain=0, seq=2)
    counts = await journal.action_counts()
    assert (
        counts[ActionState.DONE],
        counts[ActionState.EXECUTING],
        counts[ActionState.PLANNED],
    ) == (1, 1, 0)
    await journal.prune(chain_before=10, wall_before=0, export=tmp_path / "x.jsonl")
    counts = await journal.action_counts()
    assert (counts[ActionState.DONE], counts[ActionState.EXECUTING]) == (0, 1)


async def test_the_counts_follow_updates_and_deletes_row_by_row(journal: Journal) -> None:
    # the triggers on each back end: a change of state moves one count, a change of anything
    # else moves none, and the counts agree with the rows
    await action(journal, "close:1:0", state=ActionState.PLANNED, chain=0, seq=1)
    await journal.update_action("close:1:0", expect={ActionState.PLANNED}, chain_now=1, attempts=2)
    await journal.update_action(
        "close:1:0", expect={ActionState.PLANNED}, chain_now=2, state=ActionState.EXECUTING
    )
    await journal.update_action(
        "close:1:0", expect={ActionState.EXECUTING}, chain_now=3, state=ActionState.EXECUTING
    )
    counts = await journal.action_counts()
    assert counts[ActionState.EXECUTING] == 1 and counts[ActionState.PLANNED] == 0
    assert sum(counts.values()) == len(await journal.list_actions(limit=100)) == 1


async def test_the_same_rows_are_pruned_and_exported_on_every_back_end(
    journal: Journal, tmp_path: Path
) -> None:
    # the export carries every column of every row (blobs as hex), whatever the back end
    now = 100 * DAY
    await action(journal, "close:1:0", state=ActionState.DONE, chain=now - 40 * DAY, seq=1)
    export = tmp_path / "x.jsonl"
    await journal.prune(chain_before=now - 30 * DAY, wall_before=0, export=export)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    [tx] = [x["row"] for x in lines if x["table"] == "transactions"]
    [act] = [x["row"] for x in lines if x["table"] == "actions"]
    assert (tx["action_hash"], tx["raw"], tx["sequence_number"]) == ("ab" * 32, "0101", 1)
    assert (act["key"], act["state"], act["updated_chain"]) == ("close:1:0", "done", now - 40 * DAY)
