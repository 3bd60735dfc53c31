"""Opening the journal: migrations, WAL, integrity, and the errors a person can act on."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from autobot.clock import FakeClock
from autobot.domain.actions import ActionKey, ActionKind
from autobot.errors import JournalError
from autobot.feed_updates import PRICE_UPDATED
from autobot.journal.operations import EventCounts
from autobot.journal.records import ActionState, NewIncident, RequestKind, TxState
from autobot.journal.schema import SCHEMA_VERSION, migration_statements
from autobot.journal.store import SqliteJournal
from autobot.planning.recipes import recipe_from_json


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_a_new_journal_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    # given
    path = tmp_path / "journal.sqlite3"
    # when
    journal = await SqliteJournal.open(path, clock=FakeClock())
    await journal.close()
    # then
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert pragma(path, "journal_mode") == "wal"


async def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    # given
    path = tmp_path / "journal.sqlite3"
    await (await SqliteJournal.open(path, clock=FakeClock())).close()
    # when
    await (await SqliteJournal.open(path, clock=FakeClock())).close()
    # then
    assert pragma(path, "user_version") == SCHEMA_VERSION


async def test_a_journal_from_a_newer_autobot_is_refused(tmp_path: Path) -> None:
    # given
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    # when / then
    with pytest.raises(JournalError, match="newer than this autobot"):
        await SqliteJournal.open(path, clock=FakeClock())


async def test_a_file_that_is_not_a_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    # given
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not an SQLite database, just text " * 200)
    # when / then
    with pytest.raises(JournalError, match=r"corrupt.*restore the last backup"):
        await SqliteJournal.open(path, clock=FakeClock())


async def test_a_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    # given: a journal whose index pages are overwritten
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
        conn.execute("CREATE INDEX t_y ON t (y)")
        conn.executemany("INSERT INTO t (y) VALUES (?)", [(f"v{i:05d}" * 20,) for i in range(500)])
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, len(data), page * 5):
        data[offset + 100 : offset + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))
    # when / then
    with pytest.raises(JournalError, match="corrupt"):
        await SqliteJournal.open(path, clock=FakeClock())


async def test_a_missing_directory_is_reported_with_what_to_check(tmp_path: Path) -> None:
    # when / then
    with pytest.raises(JournalError, match="directory exists"):
        await SqliteJournal.open(tmp_path / "absent" / "journal.sqlite3", clock=FakeClock())


def test_every_migration_splits_into_complete_statements() -> None:
    # when
    statements = [s for v in range(1, SCHEMA_VERSION + 1) for s in migration_statements(v)]
    # then
    assert statements and all(sqlite3.complete_statement(s) for s in statements)


async def test_a_full_disk_is_reported_as_such(tmp_path: Path) -> None:
    # given: a journal that may not grow (SQLite's page limit stands in for a full disk)
    journal = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=FakeClock())
    await journal._db.execute("PRAGMA max_page_count = 1")  # reaching in: no public knob for this
    try:
        # when / then
        with pytest.raises(JournalError, match=r"SQLITE_FULL.*disk is full"):
            await journal.add_incident(
                NewIncident(type="t", description="x" * 100_000, responsible="r")
            )
    finally:
        await journal.close()


async def test_a_write_refused_as_read_only_is_reported_as_such(tmp_path: Path) -> None:
    # given: a connection that may only read (stands in for a read-only file when run as root)
    journal = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=FakeClock())
    await journal._db.execute("PRAGMA query_only = 1")  # reaching in: no public knob for this
    try:
        # when / then
        with pytest.raises(JournalError, match=r"SQLITE_READONLY.*read-only"):
            await journal.add_incident(NewIncident(type="t", description="d", responsible="r"))
    finally:
        await journal.close()


def write_schema_1_journal(path: Path) -> None:
    """A journal as autobot wrote it at schema 1: recipes typed by their old names, a
    clear-clamp request, and requests whose highest id was handed out already."""
    with sqlite3.connect(path) as conn:
        for statement in migration_statements(1):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        for key, kind, recipe in (
            ("close:1:0", "close", '{"lottery_id":1,"type":"auto_close"}'),
            ("refund:4:1", "refund",
             '{"archive":true,"batches":[[1,5,400,100]],"canceled_ts":0,"cooldown_secs":0,'
             '"lottery_id":4,"not_before":0,"type":"refund_plan"}'),
            ("clamp:2:7", "clamp", '{"asset_id":2,"type":"clear_clamp"}'),
            ("cancel:3:2", "cancel", '{"lottery_id":3,"reason":2,"type":"cancel"}'),
        ):  # fmt: skip
            conn.execute(
                "INSERT INTO actions (key, kind, subject_id, action_id, recipe, reason, due_at,"
                " state, created_wall, updated_wall, created_chain, updated_chain)"
                " VALUES (?, ?, 1, NULL, ?, 'r', 1, 'planned', 1, 1, 1, 1)",
                (key, kind, recipe),
            )
        for kind, subject in (("clear-clamp", "2"), ("cancel", "3"), ("retry", "close:1:0")):
            conn.execute(
                "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
                " VALUES (?, ?, 'op', 1)",
                (kind, subject),
            )
        conn.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'requests'")


async def test_a_schema_1_journal_is_migrated_to_one_spelling_of_each_kind(
    tmp_path: Path,
) -> None:
    # given: a journal written by a schema-1 autobot
    path = tmp_path / "journal.sqlite3"
    write_schema_1_journal(path)
    # when
    journal = await SqliteJournal.open(path, clock=FakeClock())
    try:
        actions = {a.key: a for a in await journal.list_actions()}
        requests = await journal.pending_requests()
        added = await journal.add_request(RequestKind.CLAMP, "5", requested_by="op")
    finally:
        await journal.close()
    # then: every recipe reads back, typed by its kind (the key's first part)
    assert pragma(path, "user_version") == SCHEMA_VERSION
    for key, action in actions.items():
        recipe = recipe_from_json(json.loads(action.recipe))
        assert recipe.KIND is action.kind is ActionKey.parse(key).kind
    assert json.loads(actions["refund:4:1"].recipe)["batches"] == [[1, 5, 400, 100]]
    # the clear-clamp request is a clamp request; ids go on where they stopped (never reused)
    assert [(r.id, r.kind, r.subject) for r in requests] == [
        (1, RequestKind.CLAMP, "2"),
        (2, RequestKind.CANCEL, "3"),
        (3, RequestKind.RETRY, "close:1:0"),
    ]
    assert added.id == 10
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "requests_pending" in indexes
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
                " VALUES ('clear-clamp', '2', 'op', 1)"
            )


# --- journals written by earlier releases --------------------------------------------------------

DATA = Path(__file__).parents[2] / "data"


def released_journal(path: Path, version: int) -> Path:
    """A journal file exactly as schema ``version``'s release wrote it, with rows."""
    with sqlite3.connect(path) as conn:
        conn.executescript((DATA / f"journal-v{version}.sql").read_text())
        conn.execute(f"PRAGMA user_version = {version:d}")
    return path


def v1_journal(path: Path) -> Path:
    """A journal file exactly as schema version 1 (the first release) wrote it, with rows."""
    return released_journal(path, 1)


def normalised_schema(path: Path) -> set[tuple[str, str, str]]:
    """Every table and index as (type, name, SQL), comments and layout taken out."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    out: set[tuple[str, str, str]] = set()
    for kind, name, sql in rows:
        text = re.sub(r"--[^\n]*", "", sql)
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
        text = re.sub(r"\s*,\s*", ", ", text).strip()
        out.add((kind, name, text))
    return out


async def test_a_journal_written_by_schema_version_1_opens_and_migrates(tmp_path: Path) -> None:
    # given: a journal the first release wrote
    path = v1_journal(tmp_path / "journal.sqlite3")
    # when
    async with await SqliteJournal.open(path, clock=FakeClock(wall=1_700_000_100.0)) as journal:
        # then: every row reads as before, and the journal takes writes
        close = await journal.get_action("close:1:0")
        refunds = await journal.transactions("refund:5:0")
        aborted = await journal.get_transaction("0x" + "01" * 32)
        log = await journal.incidents()
        pending = await journal.pending_requests()
        terminal = await journal.terminal_lotteries()
        checks = await journal.next_checks()
        await journal.add_incident(NewIncident(type="t", description="after", responsible="r"))
        await journal.update_action(
            "close:1:0", expect={ActionState.EXECUTING}, chain_now=200, state=ActionState.DONE
        )
    assert close is not None and close.state is ActionState.EXECUTING
    assert close.action_hash == b"\xab" * 32
    assert [t.call_index for t in refunds] == [0, 1, 2]
    assert [t.secondary for t in refunds] == [("0x" + "c" * 64,)] * 3
    assert aborted is not None and aborted.error_code == 2**64 - 1 and aborted.epoch is None
    assert aborted.state is TxState.ABORTED and aborted.raw == b"\x00\x01\xff"
    assert [i.description for i in log] == ["parked: needs a person"]
    assert [(r.id, r.kind.value, r.subject) for r in pending] == [(2, "refund", "5")]
    assert (terminal, checks) == (frozenset({9}), {5: 900, 6: 950})
    assert pragma(path, "user_version") == SCHEMA_VERSION


async def test_the_schema_description_builds_what_version_1_built(tmp_path: Path) -> None:
    # given: a journal migrated from version 1, and one created by this code
    old = v1_journal(tmp_path / "old.sqlite3")
    await (await SqliteJournal.open(old, clock=FakeClock())).close()
    new = tmp_path / "new.sqlite3"
    await (await SqliteJournal.open(new, clock=FakeClock())).close()
    # then: the same tables, columns, constraints and indexes
    assert normalised_schema(new) == normalised_schema(old)
    assert ("index", "transactions_live_sequence") in {(k, n) for k, n, _ in normalised_schema(new)}


async def test_a_journal_written_by_schema_version_2_opens_and_migrates(tmp_path: Path) -> None:
    # given: a journal the release of schema 2 (one spelling of each kind) wrote
    path = released_journal(tmp_path / "journal.sqlite3", 2)
    # when
    async with await SqliteJournal.open(path, clock=FakeClock(wall=1_700_000_200.0)) as journal:
        clamp = await journal.get_action("clamp:2:3")
        refunds = await journal.transactions("refund:5:0")
        pending = await journal.pending_requests()
        added = await journal.add_request(RequestKind.CLAMP, "4", requested_by="op")
    # then: its rows read as before; transactions it signed carry no fencing epoch
    assert clamp is not None and clamp.kind is ActionKind.CLAMP
    assert recipe_from_json(json.loads(clamp.recipe)).KIND is ActionKind.CLAMP
    assert [t.epoch for t in refunds] == [None, None, None]
    assert [(r.id, r.kind, r.subject) for r in pending] == [
        (2, RequestKind.REFUND, "5"),
        (3, RequestKind.CLAMP, "2"),
    ]
    assert added.id == 4
    assert pragma(path, "user_version") == SCHEMA_VERSION
    new = tmp_path / "new.sqlite3"
    await (await SqliteJournal.open(new, clock=FakeClock())).close()
    assert normalised_schema(path) == normalised_schema(new)


async def test_a_journal_written_by_schema_version_3_opens_and_migrates(tmp_path: Path) -> None:
    # given: a journal the release of schema 3 (events counted exactly once) wrote
    path = released_journal(tmp_path / "journal.sqlite3", 3)
    # when
    async with await SqliteJournal.open(path, clock=FakeClock(wall=1_700_000_400.0)) as journal:
        counted = await journal.event_counts(PRICE_UPDATED)
        refunds = await journal.transactions("refund:5:0")
        await journal.count_events(PRICE_UPDATED, next_height=150, seen=12, added={2: 1})
        again = await journal.event_counts(PRICE_UPDATED)
    # then: its counts read as before and take more; its transactions carry no fencing epoch
    assert counted == EventCounts(next_height=140, seen=11, counts={1: 5, 2: 1})
    assert again == EventCounts(next_height=150, seen=12, counts={1: 5, 2: 2})
    assert [t.epoch for t in refunds] == [None, None, None]
    assert pragma(path, "user_version") == SCHEMA_VERSION == 7
    new = tmp_path / "new.sqlite3"
    await (await SqliteJournal.open(new, clock=FakeClock())).close()
    assert normalised_schema(path) == normalised_schema(new)


async def test_a_journal_written_by_schema_version_4_opens_and_migrates(tmp_path: Path) -> None:
    # given: a journal the release of schema 4 (the unpause request) wrote
    path = released_journal(tmp_path / "journal.sqlite3", 4)
    # when
    async with await SqliteJournal.open(path, clock=FakeClock(wall=1_700_000_600.0)) as journal:
        pending = await journal.pending_requests()
        refunds = await journal.transactions("refund:5:0")
        counted = await journal.event_counts(PRICE_UPDATED)
        added = await journal.add_request(RequestKind.UNPAUSE, "0", requested_by="op")
        counts = await journal.action_counts()  # schema 7: kept by triggers, seeded from the rows
        every = await journal.list_actions(limit=1000)
    # then: its requests (unpause among them) and counts read as before, its ids go on, and its
    # transactions carry no fencing epoch
    assert [(r.id, r.kind, r.subject) for r in pending] == [
        (2, RequestKind.REFUND, "5"),
        (3, RequestKind.CLAMP, "2"),
        (5, RequestKind.UNPAUSE, "0"),
    ]
    assert added.id == 6
    assert counted == EventCounts(next_height=140, seen=11, counts={1: 5, 2: 1})
    assert every and {s: n for s, n in counts.items() if n} == dict(Counter(a.state for a in every))
    assert [t.epoch for t in refunds] == [None, None, None]
    assert pragma(path, "user_version") == SCHEMA_VERSION == 7
    new = tmp_path / "new.sqlite3"
    await (await SqliteJournal.open(new, clock=FakeClock())).close()
    assert normalised_schema(path) == normalised_schema(new)


async def test_a_schema_2_journal_takes_resume_requests_and_keeps_its_requests(
    tmp_path: Path,
) -> None:
    # given: a journal at schema 2 with a pending request and its ids handed out up to 9
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as conn:
        for version in (1, 2):
            for statement in migration_statements(version):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
            " VALUES ('cancel', '3', 'op', 1)"
        )
        conn.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'requests'")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # schema 2 refuses it
            conn.execute(
                "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
                " VALUES ('unpause', '0', 'op', 1)"
            )
    # when the current autobot opens it and an operator asks to resume VRF requests
    journal = await SqliteJournal.open(path, clock=FakeClock())
    try:
        added = await journal.add_request(RequestKind.UNPAUSE, "0", requested_by="op")
        requests = await journal.pending_requests()
    finally:
        await journal.close()
    # then the old request is still there and the new one continues the ids
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert [(r.id, r.kind) for r in requests] == [
        (1, RequestKind.CANCEL),
        (10, RequestKind.UNPAUSE),
    ]
    assert added.id == 10
