"""``SqliteJournal``: the daemon's durable memory in one file (aiosqlite, WAL, ``synchronous=FULL``).

The embedded default (``[journal] backend = "sqlite"``): one file holds the actions and their
state, every signed transaction (written *before* it is submitted), the operator requests the CLI
writes, the incident log, the lotteries known terminal and per-lottery next-check times. The daemon
is the only writer of actions and transactions; the CLI only adds requests (WAL lets both open the
file at once; ``busy_timeout`` covers the overlap). High availability needs the PostgreSQL back end
(``postgres.py``); this one serves a single process.

The SQL is shared with PostgreSQL (``core.py``, ``operations.py``); this module is the SQLite
connection under it. Every ``sqlite3`` error is translated to ``JournalError`` here, in
``_translated``, with what to do about it: the rest of autobot never sees ``sqlite3``. The file's
setup and migrations are in ``schema.py``.

All writes run in ``BEGIN IMMEDIATE`` transactions under one lock, so a row and the state change it
implies (a signed transaction and its action's new state) land together or not at all.
``synchronous=FULL`` makes each commit durable before the call returns: a transaction row is on
disk before its bytes reach a node.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from autobot.clock import Clock
from autobot.errors import JournalError
from autobot.journal.core import Conn, JournalCore
from autobot.journal.protocol import ActionChanges
from autobot.journal.records import Row
from autobot.journal.schema import fetch_one, prepare, rollback

__all__ = ["ActionChanges", "SqliteJournal"]

log = structlog.get_logger(__name__)


_READ_ONLY_HINT = (
    "the file system is read-only: remount it read-write (after a kernel-forced read-only "
    "remount: check the disk and run fsck first), then restart autobot"
)
_FULL_HINT = (
    "the disk is full: free space, then restart autobot; it will not act without its journal"
)


def _file_system_problem(path: Path) -> str | None:
    """Why the journal's folder refuses writes, if it can be told: read-only or full.

    Only called on an error path. ``statvfs`` sees a read-only mount and a full disk; a file
    system the kernel turned read-only after an error (ext4 ``errors=remount-ro``) still reports
    ``rw`` there, so a probe file is created (and removed at once) to ask the kernel itself.
    """
    folder = path.parent
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return _READ_ONLY_HINT
    if stats.f_bavail == 0:
        return _FULL_HINT
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".autobot-probe-") as probe:
            probe.write(b"\0" * stats.f_bsize)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return _READ_ONLY_HINT
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return _FULL_HINT
    return None


@contextmanager
def _translated(path: Path, doing: str) -> Iterator[None]:
    """The one place ``sqlite3`` errors become ``JournalError`` (with what to do about them)."""
    try:
        yield
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
        where = f"journal {path}"
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR")) and (
            found := _file_system_problem(path)
        ):
            hint = found
        elif name.startswith("SQLITE_READONLY"):
            hint = "the file or its directory is read-only: the daemon user must own both"
        elif name == "SQLITE_FULL":
            hint = _FULL_HINT
        elif name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            hint = (
                "the file is corrupt: stop autobot, move the file aside (keep it for the "
                "post-mortem) and restore the last backup; recovery then reconciles it with the chain"
            )
        elif name.startswith("SQLITE_CANTOPEN"):
            hint = "cannot open the file: check that its directory exists and is writable"
        elif name.startswith("SQLITE_IOERR"):
            hint = "the disk reported an I/O error: check it (dmesg) before restarting autobot"
        elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            hint = "another process holds the write lock: is a second daemon running?"
        elif isinstance(exc, sqlite3.IntegrityError):
            hint = "a journal invariant was violated (this is a bug: report it)"
        else:
            hint = "unexpected SQLite error"
        raise JournalError(f"{where}: {doing} failed ({name}: {exc}); {hint}") from exc
    except OverflowError as exc:
        # sqlite3 binds integers as signed 64-bit; only error codes use the full u64 range and are
        # stored as such (records.to_sqlite_u64). Anything else this large is not a real value.
        raise JournalError(
            f"journal {path}: {doing} failed: an integer beyond the journal's signed 64-bit range "
            "(a chain value no honest node returns, or a bug: report it)"
        ) from exc


class _SqliteConn:
    """``core.Conn`` on an aiosqlite connection (rows are ``sqlite3.Row``: by name and index)."""

    __slots__ = ("_db",)

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        async with self._db.execute(sql, tuple(params)) as cursor:
            return cursor.rowcount

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._db.executemany(sql, [tuple(r) for r in rows])

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, tuple(params)))

    async def fetch_optional(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        async with self._db.execute(sql, tuple(params)) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            if row is not None:
                await cursor.fetchall()  # a RETURNING statement completes when read to its end
        return row

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row:
        row = await self.fetch_optional(sql, params)
        if row is None:
            raise JournalError(f"journal row vanished inside its own transaction: {sql}")
        return row


class SqliteJournal(JournalCore):
    """The journal in an SQLite file. Open with ``await SqliteJournal.open(path, clock=...)``;
    close when done."""

    def __init__(self, *, db: aiosqlite.Connection, path: Path, clock: Clock) -> None:
        self._db = db
        self._conn = _SqliteConn(db)
        self._clock = clock
        self._lock = asyncio.Lock()
        self.path = path

    @property
    def location(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls, path: str | Path, *, clock: Clock, busy_timeout_ms: int = 5_000
    ) -> SqliteJournal:
        """Open (creating if needed), check integrity, enable WAL, migrate to the current schema.

        A corrupt file, one written by a newer autobot, or one that cannot use WAL raises
        ``JournalError`` saying what to do.
        """
        path = Path(path)
        connecting = aiosqlite.connect(path, isolation_level=None)
        try:
            with _translated(path, "opening"):
                db = await connecting
        except JournalError:
            # aiosqlite stops its worker thread without waiting for it; let it finish while the
            # event loop still runs, or it reports to a closed loop later.
            worker = getattr(connecting, "_thread", None)
            if worker is not None:
                await asyncio.to_thread(worker.join, 5.0)
            raise
        try:
            with _translated(path, "opening"):
                db.row_factory = sqlite3.Row
                for version in await prepare(db, path=path, busy_timeout_ms=busy_timeout_ms):
                    log.debug("journal_migrated", path=str(path), version=version)
        except BaseException:
            await db.close()
            raise
        return cls(db=db, path=path, clock=clock)

    async def check_writable(self) -> None:
        """Raise ``JournalError`` now if the journal cannot take a write (a read-only file or
        file system), rather than at the daemon's first write: a write is attempted and rolled
        back, so nothing reaches the disk. The operator CLI does not call this: reading a journal
        on a read-only backup is fine."""
        async with self._lock:
            with _translated(self.path, "checking that it is writable"):
                version = (await fetch_one(self._db, "PRAGMA user_version", ()))[0]
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    await self._db.execute(f"PRAGMA user_version = {int(version):d}")
                finally:
                    await rollback(self._db)

    async def close(self) -> None:
        with _translated(self.path, "closing"):
            await self._db.close()

    @asynccontextmanager
    async def _write(self, doing: str, *, fenced: bool = True) -> AsyncIterator[Conn]:
        # ``fenced`` is moot here: an SQLite journal has one writer and no leader lease.
        async with self._lock:
            with _translated(self.path, doing):
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    await rollback(self._db)
                    raise
                await self._db.execute("COMMIT")

    async def _read(self, doing: str, sql: str, params: Collection[Any] = ()) -> list[Row]:
        async with self._lock:
            with _translated(self.path, doing):
                return list(await self._db.execute_fetchall(sql, tuple(params)))
