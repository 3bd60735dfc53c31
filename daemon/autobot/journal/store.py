"""``SqliteJournal``: the daemon's durable memory (aiosqlite, WAL, ``synchronous=FULL``).

One file holds the actions and their state, every signed transaction (written *before* it is
submitted), the operator requests the CLI writes, the incident log, the lotteries known terminal
and per-lottery next-check times. The daemon is the only writer of actions and transactions; the
CLI only adds requests (WAL lets both open the file at once; ``busy_timeout`` covers the overlap).

Every ``sqlite3`` error is translated to ``JournalError`` here, in ``_translated``, with what to do
about it: the rest of autobot never sees ``sqlite3``. The file's setup and migrations are in
``schema.py``; the SQL of requests, incidents and lottery bookkeeping in ``operations.py`` (a mixin
that runs on this class's connection, lock and error translation).

All writes run in ``BEGIN IMMEDIATE`` transactions under one lock, so a row and the state change it
implies (a signed transaction and its action's new state) land together or not at all.
``synchronous=FULL`` makes each commit durable before the call returns: a transaction row is on
disk before its bytes reach a node.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack

import aiosqlite
import structlog

from autobot.clock import Clock
from autobot.errors import JournalError
from autobot.journal.operations import OperationsTables
from autobot.journal.records import (
    OPEN_ACTION_STATES,
    ActionRecord,
    ActionState,
    NewAction,
    NewIncident,
    NewTransaction,
    Outcome,
    TxRecord,
    TxSettlement,
    to_sqlite_u64,
)
from autobot.journal.schema import fetch_one, fetch_one_or_none, prepare, rollback

__all__ = ["ActionChanges", "SqliteJournal"]

log = structlog.get_logger(__name__)


class ActionChanges(TypedDict, total=False):
    """Columns of an action the executor may change (``update_action(**changes)``)."""

    state: ActionState
    operator: str | None
    timelock_secs: int | None
    execute_at: int | None
    action_hash: bytes | None
    calls: str | None
    progress: int
    outcome: Outcome | None
    attempts: int
    next_check_at: int | None
    error_code: int | None
    error_name: str | None
    error_message: str | None


_OPEN = tuple(sorted(s.value for s in OPEN_ACTION_STATES))


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
            f"journal {path}: {doing} failed: an integer beyond SQLite's signed 64-bit range "
            "(a chain value no honest node returns, or a bug: report it)"
        ) from exc


class SqliteJournal(OperationsTables):
    """The journal. Open with ``await SqliteJournal.open(path, clock=...)``; close when done."""

    def __init__(self, *, db: aiosqlite.Connection, path: Path, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._lock = asyncio.Lock()
        self.path = path

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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _write(self, doing: str) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            with _translated(self.path, doing):
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    await rollback(self._db)
                    raise
                await self._db.execute("COMMIT")

    async def _read(self, doing: str, sql: str, params: Collection[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            with _translated(self.path, doing):
                return list(await self._db.execute_fetchall(sql, tuple(params)))

    # ------------------------------------------------------------------ actions

    async def add_action(self, new: NewAction, *, chain_now: int) -> tuple[ActionRecord, bool]:
        """Journal a planned action; returns ``(record, created)``. An existing key is kept as is."""
        [added] = await self.add_actions([new], chain_now=chain_now)
        return added

    async def add_actions(
        self, news: Sequence[NewAction], *, chain_now: int
    ) -> list[tuple[ActionRecord, bool]]:
        """``add_action`` for several, in one commit (a sweep's plan); in the order given."""
        if not news:
            return []
        wall = self._clock.wall()
        out: list[tuple[ActionRecord, bool]] = []
        async with self._write(f"adding {len(news)} actions") as db:
            for new in news:
                cursor = await db.execute(
                    "INSERT OR IGNORE INTO actions (key, kind, subject_id, action_id, recipe,"
                    " reason, due_at, state, created_wall, updated_wall, created_chain,"
                    " updated_chain) VALUES (?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?, ?, ?)",
                    (new.key, new.kind, new.subject_id, new.action_id, new.recipe, new.reason,
                     new.due_at, wall, wall, chain_now, chain_now),
                )  # fmt: skip
                created = cursor.rowcount == 1
                row = await fetch_one(db, "SELECT * FROM actions WHERE key = ?", (new.key,))
                out.append((ActionRecord.from_row(row), created))
        return out

    async def get_action(self, key: str) -> ActionRecord | None:
        found = await self._read("reading an action", "SELECT * FROM actions WHERE key = ?", (key,))
        return ActionRecord.from_row(found[0]) if found else None

    async def open_actions(self) -> list[ActionRecord]:
        """Every action not yet done/failed/moot/parked, oldest first."""
        marks = ", ".join("?" * len(_OPEN))
        found = await self._read(
            "listing open actions",
            f"SELECT * FROM actions WHERE state IN ({marks}) ORDER BY created_wall, key",
            _OPEN,
        )
        return [ActionRecord.from_row(r) for r in found]

    async def list_actions(
        self,
        *,
        states: Collection[ActionState] = (),
        kinds: Collection[str] = (),
        limit: int = 100,
    ) -> list[ActionRecord]:
        """Actions, newest first, optionally only in ``states`` and of ``kinds``."""
        clauses: list[str] = []
        params: list[object] = []
        for column, values in (("state", [s.value for s in states]), ("kind", list(kinds))):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        found = await self._read(
            "listing actions",
            f"SELECT * FROM actions {where} ORDER BY updated_wall DESC, key LIMIT ?",
            [*params, limit],
        )
        return [ActionRecord.from_row(r) for r in found]

    async def action_counts(self) -> dict[ActionState, int]:
        """How many actions are in each state (every state present, zeros included)."""
        found = await self._read(
            "counting actions", "SELECT state, COUNT(*) FROM actions GROUP BY state"
        )
        counts = dict.fromkeys(ActionState, 0)
        for state, count in found:
            counts[ActionState(state)] = int(count)
        return counts

    async def update_action(
        self,
        key: str,
        *,
        expect: Collection[ActionState],
        chain_now: int,
        incident: NewIncident | None = None,
        incidents: Sequence[NewIncident] = (),
        **changes: Unpack[ActionChanges],
    ) -> ActionRecord:
        """Change an action that is in one of ``expect``; write ``incident`` (and ``incidents``,
        in order, after it) in the same commit.

        Raises ``JournalError`` if the action is missing or in another state (a second writer).
        """
        async with self._write(f"updating action {key}") as db:
            record = await self._update(db, key, expect, chain_now, changes)
            for note in (incident, *incidents):
                if note is not None:
                    await self._incident(db, note)
            return record

    async def _update(
        self,
        db: aiosqlite.Connection,
        key: str,
        expect: Collection[ActionState],
        chain_now: int,
        changes: ActionChanges,
    ) -> ActionRecord:
        values: dict[str, object] = {k: _column(k, v) for k, v in changes.items()}
        values["updated_wall"] = self._clock.wall()
        values["updated_chain"] = chain_now
        states = [s.value for s in expect]
        sets = ", ".join(f"{name} = ?" for name in values)
        cursor = await db.execute(
            f"UPDATE actions SET {sets} WHERE key = ? AND state IN ({', '.join('?' * len(states))})",
            (*values.values(), key, *states),
        )
        row = await fetch_one_or_none(db, "SELECT * FROM actions WHERE key = ?", (key,))
        if row is None:
            raise JournalError(f"journal {self.path}: no action {key}")
        if cursor.rowcount != 1:
            raise JournalError(
                f"journal {self.path}: action {key} is {row['state']}, expected one of "
                f"{sorted(states)} (two writers for one action?)"
            )
        return ActionRecord.from_row(row)

    # ------------------------------------------------------------------ transactions

    async def add_transaction(
        self,
        tx: NewTransaction,
        *,
        expect: Collection[ActionState],
        chain_now: int,
        **changes: Unpack[ActionChanges],
    ) -> TxRecord:
        """Journal a signed transaction (state ``signed``) and its action's change in one commit."""
        [record] = await self.add_transactions([tx], expect=expect, chain_now=chain_now, **changes)
        return record

    async def add_transactions(
        self,
        txs: Sequence[NewTransaction],
        *,
        expect: Collection[ActionState],
        chain_now: int,
        **changes: Unpack[ActionChanges],
    ) -> list[TxRecord]:
        """``add_transaction`` for several (the pipelined calls of a recipe), in one commit:
        each transaction's action must be in ``expect`` and gets ``changes``."""
        if not txs:
            return []
        async with self._write(f"journaling {len(txs)} transaction(s)") as db:
            wall = self._clock.wall()
            await db.executemany(
                "INSERT INTO transactions (tx_hash, action_key, action_hash, purpose, call_index,"
                " call, secondary, sender, sequence_number, expires_at, raw, state, created_wall)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?)",
                [(tx.tx_hash, tx.action_key, tx.action_hash, tx.purpose.value, tx.call_index,
                  tx.call, json.dumps(list(tx.secondary)), tx.sender, tx.sequence_number,
                  tx.expires_at, tx.raw, wall) for tx in txs],
            )  # fmt: skip
            for key in dict.fromkeys(tx.action_key for tx in txs):
                await self._update(db, key, expect, chain_now, changes)
            marks = ", ".join("?" * len(txs))
            rows = await db.execute_fetchall(
                f"SELECT * FROM transactions WHERE tx_hash IN ({marks})", [t.tx_hash for t in txs]
            )
        by_hash = {r["tx_hash"]: TxRecord.from_row(r) for r in rows}
        return [by_hash[t.tx_hash] for t in txs]

    async def live_sequences(self, sender: str) -> list[int]:
        """The sequence numbers of ``sender``'s transactions that may still land, ascending."""
        found = await self._read(
            "listing live sequence numbers",
            "SELECT sequence_number FROM transactions WHERE state IN ('signed', 'submitted')"
            " AND sender = ? ORDER BY sequence_number",
            (sender,),
        )
        return [int(r[0]) for r in found]

    async def mark_submitted(self, tx_hash: str) -> TxRecord:
        """A node accepted (or re-accepted) these bytes: count it; ``signed`` becomes ``submitted``."""
        async with self._write(f"marking {tx_hash} submitted") as db:
            await db.execute(
                "UPDATE transactions SET submissions = submissions + 1, submitted_wall = ?,"
                " state = CASE state WHEN 'signed' THEN 'submitted' ELSE state END"
                " WHERE tx_hash = ?",
                (self._clock.wall(), tx_hash),
            )
            row = await fetch_one(db, "SELECT * FROM transactions WHERE tx_hash = ?", (tx_hash,))
        return TxRecord.from_row(row)

    async def settle_transaction(self, s: TxSettlement) -> TxRecord:
        """Record how a transaction ended (``committed``, ``aborted`` or ``dropped``)."""
        async with self._write(f"settling {s.tx_hash}") as db:
            return await self._settle(db, s)

    async def settle_transactions(self, settlements: Sequence[TxSettlement]) -> list[TxRecord]:
        """``settle_transaction`` for several, in one commit; a transaction no longer live
        (settled meanwhile) is left as it is. Returns the records of those settled now."""
        for s in settlements:
            if s.state.live:
                raise ValueError(f"a settlement ends a transaction; {s.state} is not an end")
        if not settlements:
            return []
        async with self._write(f"settling {len(settlements)} transactions") as db:
            wall = self._clock.wall()
            settled: list[TxRecord] = []
            for s in settlements:
                cursor = await db.execute(
                    "UPDATE transactions SET state = ?, error_code = ?, error_name = ?,"
                    " error_message = ?, settled_wall = ?"
                    " WHERE tx_hash = ? AND state IN ('signed', 'submitted')",
                    (s.state.value, to_sqlite_u64(s.error_code), s.error_name, s.error_message,
                     wall, s.tx_hash),
                )  # fmt: skip
                if cursor.rowcount == 1:
                    row = await fetch_one(
                        db, "SELECT * FROM transactions WHERE tx_hash = ?", (s.tx_hash,)
                    )
                    settled.append(TxRecord.from_row(row))
            return settled

    async def _settle(self, db: aiosqlite.Connection, s: TxSettlement) -> TxRecord:
        if s.state.live:
            raise ValueError(f"a settlement ends a transaction; {s.state} is not an end")
        await db.execute(
            "UPDATE transactions SET state = ?, error_code = ?, error_name = ?, error_message = ?,"
            " settled_wall = ? WHERE tx_hash = ?",
            (s.state.value, to_sqlite_u64(s.error_code), s.error_name, s.error_message,
             self._clock.wall(), s.tx_hash),
        )  # fmt: skip
        row = await fetch_one_or_none(
            db, "SELECT * FROM transactions WHERE tx_hash = ?", (s.tx_hash,)
        )
        if row is None:
            raise JournalError(f"journal {self.path}: no transaction {s.tx_hash}")
        return TxRecord.from_row(row)

    async def get_transaction(self, tx_hash: str) -> TxRecord | None:
        found = await self._read(
            "reading a transaction", "SELECT * FROM transactions WHERE tx_hash = ?", (tx_hash,)
        )
        return TxRecord.from_row(found[0]) if found else None

    async def known_hashes(self, tx_hashes: Collection[str]) -> set[str]:
        """Which of ``tx_hashes`` the journal holds (one read for many fresh signatures)."""
        hashes = sorted(set(tx_hashes))
        found: set[str] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            rows = await self._read(
                "looking up transaction hashes",
                f"SELECT tx_hash FROM transactions WHERE tx_hash IN ({', '.join('?' * len(chunk))})",
                tuple(chunk),
            )
            found.update(str(r["tx_hash"]) for r in rows)
        return found

    async def transactions(self, action_key: str) -> list[TxRecord]:
        """An action's transactions in the order they were signed."""
        found = await self._read(
            "listing transactions",
            "SELECT * FROM transactions WHERE action_key = ? ORDER BY created_wall, rowid",
            (action_key,),
        )
        return [TxRecord.from_row(r) for r in found]

    async def live_transactions(self, sender: str | None = None) -> list[TxRecord]:
        """Transactions that may still land (``signed``/``submitted``), by sender and sequence."""
        sql = "SELECT * FROM transactions WHERE state IN ('signed', 'submitted')"
        params: tuple[str, ...] = ()
        if sender is not None:
            sql, params = sql + " AND sender = ?", (sender,)
        found = await self._read(
            "listing live transactions", sql + " ORDER BY sender, sequence_number", params
        )
        return [TxRecord.from_row(r) for r in found]

    async def highest_sequence(self, sender: str, *, include_live: bool = True) -> int | None:
        """The highest sequence number ``sender`` used: executed on chain, or (``include_live``)
        signed and possibly still landing. Dropped transactions never count (their number is free).
        """
        states = ("committed", "aborted", "signed", "submitted")[: 4 if include_live else 2]
        found = await self._read(
            "reading the highest sequence number",
            "SELECT MAX(sequence_number) FROM transactions WHERE sender = ?"
            f" AND state IN ({', '.join('?' * len(states))})",
            (sender, *states),
        )
        value = found[0][0]
        return None if value is None else int(value)


def _column(name: str, value: object) -> object:
    if name == "error_code" and isinstance(value, int):
        return to_sqlite_u64(value)
    return value.value if isinstance(value, ActionState | Outcome) else value
