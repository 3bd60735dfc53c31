"""The journal contract suite's back ends: every test that takes ``journal`` (or
``open_journal``) runs once on SQLite (a file in ``tmp_path``) and once on PostgreSQL (a database
the test creates and drops, on the ``pg_server`` fixture's server).

``open_journal(clock)`` opens the test's journal again (a restart, or a second process on the same
storage); ``journal`` is one opened with the ``clock`` fixture and closed afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from autobot.clock import Clock, FakeClock
from autobot.journal.postgres import PostgresJournal
from autobot.journal.protocol import Journal
from autobot.journal.store import SqliteJournal

OpenJournal = Callable[[Clock], Awaitable[Journal]]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(wall=1_700_000_000.0)


@pytest.fixture
def open_journal(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> OpenJournal:
    if backend == "sqlite":
        path = tmp_path / "journal.sqlite3"

        async def sqlite(clock: Clock) -> Journal:
            return await SqliteJournal.open(path, clock=clock)

        return sqlite
    dsn = request.getfixturevalue("pg_database")

    async def postgres(clock: Clock) -> Journal:
        return await PostgresJournal.open(dsn, clock=clock)

    return postgres


@pytest.fixture
async def journal(open_journal: OpenJournal, clock: FakeClock) -> AsyncIterator[Journal]:
    j = await open_journal(clock)
    yield j
    await j.close()
