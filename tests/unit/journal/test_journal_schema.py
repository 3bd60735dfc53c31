"""Opening the journal: migrations, WAL, integrity, and the errors a person can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from autobot.clock import FakeClock
from autobot.errors import JournalError
from autobot.journal.records import NewIncident
from autobot.journal.schema import SCHEMA_VERSION, migration_statements
from autobot.journal.store import SqliteJournal


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
