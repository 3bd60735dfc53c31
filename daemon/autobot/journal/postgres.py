"""``PostgresJournal``: the journal in a PostgreSQL database (psycopg 3), for more than one host.

``[journal] backend = "postgres"``. The same SQL as the SQLite journal (``core.py``), on psycopg
connections in autocommit mode (writes on one, under the journal's lock; reads on another); every
write is one explicit ``READ COMMITTED`` transaction, so a row and the state change it implies land
together or not at all, durably (the server's ``synchronous_commit``) before the call returns. ``READ COMMITTED`` is
enough: every multi-statement write guards its invariant with a conditional ``UPDATE`` (an action
changes only from the states the caller expects; a transaction settles only while live), a unique
index (one live or executed transaction per sender and sequence number) or the leader lease's row
lock (below), each of which PostgreSQL re-checks against the newest committed row.

**Leader lease and fencing** (``LeasedJournal``; ``[ha]``, part of the daemon's HA): one row in
``leader_lease`` whose times are the database's (``clock_timestamp()``), so the hosts' clocks never
matter. ``acquire_or_renew`` takes the row ``FOR UPDATE``: it renews the caller's live lease (same
epoch), takes over a free or expired one (``epoch + 1``), or reports the holder. After
``fence(epoch)``, every write's transaction first reads the row ``FOR KEY SHARE`` and refuses with
``FencedOut`` — changing nothing — unless the epoch is still the bound one and the lease has not
expired. The share lock keeps a takeover (which needs ``FOR UPDATE``) waiting until that write has
committed, so no write of a deposed leader can land after a takeover. Lease calls use a
connection of their own, so a renewal never queues behind journal work.

A stalled process cannot hold those locks for long: sessions set
``idle_in_transaction_session_timeout`` (and ``statement_timeout``), and the lease transaction a
``lock_timeout``. A lost connection (server restart, terminated session) found out at a
transaction's ``BEGIN`` or at a read is replaced at once and the call goes on (nothing of it had
reached the server); one lost in the middle of a write fails that write with ``JournalError`` and
is replaced at the next call. Whether such a write landed is then unknown, which is why the
daemon stops on any ``JournalError`` and recovers from the journal at its next start.

Every psycopg error becomes ``JournalError`` in one place, ``_translated``, with what to do about
it; messages name the database by ``Dsn.describe()`` (never the password). PostgreSQL text cannot
hold NUL characters: a NUL in a text value (only a node's error text could carry one) is stored as
U+FFFD.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any, NoReturn

import psycopg
import structlog
from psycopg import conninfo as libpq
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row

from autobot.clock import Clock
from autobot.errors import FencedOut, JournalError
from autobot.journal.core import Conn, JournalCore
from autobot.journal.dsn import Dsn
from autobot.journal.protocol import Lease
from autobot.journal.records import Row
from autobot.journal.schema import SCHEMA_VERSION, migration_statements, tables

__all__ = ["SCHEMA_LOCK_KEY", "Connection", "PostgresJournal", "connect", "translated"]

log = structlog.get_logger(__name__)

SCHEMA_LOCK_KEY = 0x6175_746F_626F_7401  # pg_advisory_xact_lock: one migrating instance at a time
"""The advisory lock that serialises schema migrations of instances starting together."""

_SESSION_DEFAULTS = {
    "application_name": "autobot",
    "connect_timeout": "10",
    # a dead server or network is noticed within about 10 s rather than the kernel's hours
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
}
IDLE_IN_TRANSACTION_TIMEOUT = "10s"  # a frozen process's open transaction releases its locks
STATEMENT_TIMEOUT = "30s"

Connection = psycopg.AsyncConnection[DictRow]


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """The shared SQL's ``?`` parameters as psycopg's ``%s`` (the SQL holds no ``%`` or ``?``
    of its own: checked here)."""
    if "%" in sql:
        raise ValueError(f"a literal % in journal SQL would be read as a parameter: {sql[:60]!r}")
    return sql.replace("?", "%s")


def _pg_params(params: Sequence[object]) -> tuple[object, ...]:
    return tuple(
        p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in params
    )


class _PgConn:
    """``core.Conn`` on a psycopg connection (rows are dicts)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        cursor = await self._conn.execute(_pg_sql(sql), _pg_params(params))
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        async with self._conn.cursor() as cursor:  # psycopg pipelines these: one round trip
            await cursor.executemany(_pg_sql(sql), [_pg_params(r) for r in rows])

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        cursor = await self._conn.execute(_pg_sql(sql), _pg_params(params))
        return list(await cursor.fetchall())

    async def fetch_optional(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        cursor = await self._conn.execute(_pg_sql(sql), _pg_params(params))
        return await cursor.fetchone()

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row:
        row = await self.fetch_optional(sql, params)
        if row is None:
            raise JournalError(f"journal row vanished inside its own transaction: {sql}")
        return row


# ---------------------------------------------------------------------------- errors

_LOST = (
    "the connection to PostgreSQL was lost (server restarted, session terminated, or the "
    "network): autobot stops without its journal; it reconnects when started again, and "
    "recovery settles whatever was in flight"
)


def _hint(exc: psycopg.Error) -> str:
    state = exc.sqlstate or ""
    text = str(exc).lower()
    if isinstance(exc, pg_errors.NumericValueOutOfRange):
        return "an integer beyond the journal's signed 64-bit range (a chain value no honest node returns, or a bug: report it)"
    if state.startswith("23"):
        return "a journal invariant was violated (this is a bug: report it)"
    if state in ("28P01", "28000") or "authentication failed" in text:
        return (
            "PostgreSQL refused the login: check the user and password in the DSN, and the "
            "server's pg_hba.conf for this host and user"
        )
    if state == "3D000" or ("database" in text and "does not exist" in text):
        return (
            "the database does not exist: create it (deploy/ha/roles.sql) or fix dbname in the DSN"
        )
    if state == "25006":
        return (
            "the database is read-only (a hot standby, or default_transaction_read_only): point "
            "the DSN at the primary"
        )
    if state == "42501":
        return (
            "the database role lacks a privilege: grant what deploy/ha/roles.sql grants "
            "(the daemon's role owns the journal's schema)"
        )
    if state == "42P01":
        return "the journal's tables are missing: start the daemon once (it creates them)"
    if state.startswith("53"):
        return "the database server is out of resources (disk full, memory, connections): free them, then restart autobot"
    if state in ("55P03", "57014"):
        return "the database did not answer in time (a lock held by another session, or an overloaded server)"
    if state in ("40001", "40P01"):
        return "a concurrent writer conflicted: is a second daemon writing without [ha] enabled?"
    if state.startswith("XX"):
        return "the database reports corruption: stop autobot and have the database checked (amcheck) or restored"
    if state.startswith(("08", "57P")) or isinstance(exc, psycopg.OperationalError):
        return (
            _LOST
            if state or "closed" in text or "terminat" in text
            else (
                "cannot reach PostgreSQL: check that it runs and accepts connections (pg_isready) "
                "and the DSN's host, port and dbname"
            )
        )
    return "unexpected PostgreSQL error"


def _raise_translated(where: str, doing: str, exc: psycopg.Error) -> NoReturn:
    state = exc.sqlstate or type(exc).__name__
    lines = str(exc).strip().splitlines()
    detail = (exc.diag.message_primary if exc.sqlstate else None) or (lines[0] if lines else "")
    raise JournalError(
        f"journal {where}: {doing} failed ({state}: {detail}); {_hint(exc)}"
    ) from exc


# ---------------------------------------------------------------------------- the journal


class _Session:
    """One connection for one purpose, used by one caller at a time, replaced by a fresh one at
    the next use after it was lost (whatever was in flight then failed with ``JournalError``)."""

    def __init__(self, dsn: Dsn, purpose: str, conn: Connection | None = None) -> None:
        self.dsn = dsn
        self.purpose = purpose
        self.lock = asyncio.Lock()
        self._conn = conn
        self.closed = False

    async def connection(self) -> Connection:
        """Call under ``lock``."""
        if self.closed:
            raise JournalError(
                f"journal {self.dsn.describe()}: used after close (a bug: report it)"
            )
        if self._conn is None or self._conn.closed or self._conn.broken:
            fresh = self._conn is not None
            self._conn = None
            self._conn = await connect(self.dsn, f"connecting ({self.purpose})")
            if fresh:
                log.info("journal_reconnected", journal=self.dsn.describe(), purpose=self.purpose)
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One ``READ COMMITTED`` transaction on this session's connection, committed when the
        block ends and abandoned (the connection closed: the server rolls it back) when it
        raises. Call under ``lock``.

        A connection that died while idle (a server restart, a terminated session) is only found
        out at its next statement: when that is the ``BEGIN``, nothing of this transaction
        reached the server, so it is begun once more on a fresh connection instead of failing.
        """
        conn = await self.connection()
        try:
            await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        except psycopg.OperationalError:
            if not conn.broken:
                raise
            log.info(
                "journal_connection_found_lost", journal=self.dsn.describe(), purpose=self.purpose
            )
            conn = await self.connection()
            await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            yield conn
            await conn.execute("COMMIT")
        except BaseException:
            await self.discard_if_busy()
            raise

    async def read(self, sql: str, params: Sequence[object]) -> list[Row]:
        """One read (autocommit); repeated once on a fresh connection if the connection turned
        out to be lost (a read changes nothing). Call under ``lock``."""
        conn = await self.connection()
        try:
            return await _PgConn(conn).fetch_all(sql, params)
        except psycopg.OperationalError:
            if not conn.broken:
                await self.discard_if_busy()
                raise
            log.info(
                "journal_connection_found_lost", journal=self.dsn.describe(), purpose=self.purpose
            )
        except BaseException:
            await self.discard_if_busy()
            raise
        conn = await self.connection()
        try:
            return await _PgConn(conn).fetch_all(sql, params)
        except BaseException:
            await self.discard_if_busy()
            raise

    async def discard_if_busy(self) -> None:
        """After a failure inside a transaction: never reuse a connection left half-way."""
        conn = self._conn
        if conn is not None and conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.close()

    async def close(self) -> None:
        self.closed = True
        if self._conn is not None and not self._conn.closed:
            await self._conn.close()


class PostgresJournal(JournalCore):
    """The journal in PostgreSQL. Open with ``await PostgresJournal.open(dsn, clock=...)``;
    close when done.

    Three connections: the writer (every write, one transaction at a time), the reader (every
    read, so a read never queues behind a write; it sees what writes committed, which is all a
    caller has seen returned) and, once used, the lease's.
    """

    def __init__(self, *, dsn: Dsn, clock: Clock, conn: Connection) -> None:
        self._dsn = dsn
        self._clock = clock
        self._writer = _Session(dsn, "writes", conn)
        self._reader = _Session(dsn, "reads")
        self._leaser = _Session(dsn, "the leader lease")
        self._epoch: int | None = None
        self._fence_required = False
        self._hold = IDLE_IN_TRANSACTION_TIMEOUT  # a fenced write's idle limit: half the lease

    @property
    def location(self) -> str:
        return self._dsn.describe()

    @property
    def dsn(self) -> Dsn:
        return self._dsn

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, dsn: Dsn | str, *, clock: Clock, create: bool = True) -> PostgresJournal:
        """Connect and bring the schema to this autobot's version (creating it when ``create``;
        otherwise a database without a journal is refused, as the CLI must not make one).

        Instances starting together migrate one at a time (an advisory lock). A journal written by
        a newer autobot, an unreachable server or a refused login raise ``JournalError``.
        """
        dsn = dsn if isinstance(dsn, Dsn) else Dsn(dsn)
        conn = await connect(dsn, "opening")
        try:
            with translated(dsn.describe(), "opening"):
                for version in await _prepare(conn, dsn.describe(), create=create):
                    log.info("journal_migrated", journal=dsn.describe(), version=version)
        except BaseException:
            await conn.close()
            raise
        return cls(dsn=dsn, clock=clock, conn=conn)

    async def check_writable(self) -> None:
        """Raise ``JournalError`` now if the journal cannot take a write (a read-only standby,
        a role without the privilege): a write to every table is attempted and rolled back."""
        async with self._writer.lock:
            with translated(self.location, "checking that it is writable"):
                conn = await self._writer.connection()
                await conn.execute("BEGIN")
                try:
                    for table in tables("postgres"):
                        key = table.columns[0].name  # any column: the update changes nothing
                        await conn.execute(f"UPDATE {table.name} SET {key} = {key} WHERE false")
                finally:
                    await conn.execute("ROLLBACK")

    async def close(self) -> None:
        with translated(self.location, "closing"):
            for session in (self._writer, self._reader, self._leaser):
                await session.close()

    @asynccontextmanager
    async def _write(self, doing: str, *, fenced: bool = True) -> AsyncIterator[Conn]:
        if fenced and self._fence_required and self._epoch is None:
            raise FencedOut(
                f"journal {self.location}: {doing} refused: this instance does not lead (no lease "
                "epoch bound): a standby writes nothing; nothing was written",
                epoch=0,
                current=None,
            )
        async with self._writer.lock:
            with translated(self.location, doing):
                async with self._writer.transaction() as conn:
                    db = _PgConn(conn)
                    if fenced and self._epoch is not None:
                        await self._check_fence(db, self._epoch, doing)
                    yield db

    async def _read(self, doing: str, sql: str, params: Collection[Any] = ()) -> list[Row]:
        async with self._reader.lock:
            with translated(self.location, doing):
                return await self._reader.read(sql, tuple(params))

    # ------------------------------------------------------------------ lease and fencing

    @property
    def fenced_epoch(self) -> int | None:
        return self._epoch

    def require_fence(self) -> None:
        """From now on refuse every write (``FencedOut``) until ``fence`` binds an epoch: a
        standby writes nothing. (``add_request``, the operators', is never fenced.)"""
        self._fence_required = True

    def fence(self, epoch: int) -> None:
        """Bind every later write to ``epoch`` (see the module docstring)."""
        if epoch < 1:
            raise ValueError(f"a fencing epoch is at least 1 (a lease taken), got {epoch}")
        self._epoch = epoch

    async def _check_fence(self, db: _PgConn, epoch: int, doing: str) -> None:
        # The share lock holds a takeover up until this transaction ends: a writer frozen in
        # the middle of it (a stopped process) loses its session after half a lease idle, not
        # after the session's general limit, so the takeover waits no longer than the lease.
        row = await db.fetch_optional(
            "SELECT epoch, holder, expires_at, expires_at > clock_timestamp() AS live,"
            " set_config('idle_in_transaction_session_timeout', ?, true) AS idle_limit"
            " FROM leader_lease WHERE name = 'leader' FOR KEY SHARE",
            (self._hold,),
        )
        if row is not None and int(row["epoch"]) == epoch and row["live"]:
            return
        current = None if row is None else int(row["epoch"])
        if current != epoch:
            why = f"the lease is now epoch {current} held by {row['holder'] if row else None!r}"
        else:
            why = f"the lease expired at {row['expires_at'] if row else None} (database time)"
        raise FencedOut(
            f"journal {self.location}: {doing} refused: this instance's leader lease "
            f"(epoch {epoch}) is gone ({why}); nothing was written: it must stop signing",
            epoch=epoch,
            current=current,
        )

    @asynccontextmanager
    async def _lease_transaction(self, doing: str, lock_seconds: float) -> AsyncIterator[_PgConn]:
        async with self._leaser.lock:
            with translated(self.location, doing):
                async with self._leaser.transaction() as conn:
                    db = _PgConn(conn)
                    await db.execute(
                        "SELECT set_config('lock_timeout', ?, true)",
                        (f"{max(1, int(lock_seconds * 1000))}ms",),
                    )
                    yield db

    async def acquire_or_renew(self, instance_id: str, lease_seconds: float) -> Lease:
        """Renew the caller's live lease, take over a free or expired one (``epoch + 1``), or
        report who holds it (``acquired=False``). Times are the database's."""
        if not instance_id:
            raise ValueError("instance_id must not be empty")
        if not lease_seconds > 0:
            raise ValueError(f"lease_seconds must be positive, got {lease_seconds}")
        self._hold = f"{max(100, int(lease_seconds * 500))}ms"
        async with self._lease_transaction("acquiring the leader lease", lease_seconds / 2) as db:
            await db.execute(
                "INSERT INTO leader_lease (name, epoch) VALUES ('leader', 0)"
                " ON CONFLICT (name) DO NOTHING"
            )
            row = await db.fetch_one(
                "SELECT epoch, holder, expires_at, expires_at > clock_timestamp() AS live"
                " FROM leader_lease WHERE name = 'leader' FOR UPDATE"
            )
            interval = f"{lease_seconds:.6f} seconds"
            if row["holder"] == instance_id and row["live"]:
                row = await db.fetch_one(
                    "UPDATE leader_lease SET renewed_at = clock_timestamp(),"
                    " expires_at = clock_timestamp() + CAST(? AS interval)"
                    " WHERE name = 'leader' RETURNING epoch, holder, expires_at,"
                    " EXTRACT(EPOCH FROM expires_at - clock_timestamp()) AS remaining",
                    (interval,),
                )
                return _lease(row, acquired=True, took_over=False)
            if row["holder"] is None or not row["live"]:
                row = await db.fetch_one(
                    "UPDATE leader_lease SET holder = ?, epoch = epoch + 1,"
                    " acquired_at = clock_timestamp(), renewed_at = clock_timestamp(),"
                    " expires_at = clock_timestamp() + CAST(? AS interval)"
                    " WHERE name = 'leader' RETURNING epoch, holder, expires_at,"
                    " EXTRACT(EPOCH FROM expires_at - clock_timestamp()) AS remaining",
                    (instance_id, interval),
                )
                log.info("leader_lease_taken", instance_id=instance_id, epoch=row["epoch"])
                return _lease(row, acquired=True, took_over=True)
            remaining = await db.fetch_one(
                "SELECT EXTRACT(EPOCH FROM expires_at - clock_timestamp()) AS remaining"
                " FROM leader_lease WHERE name = 'leader'"
            )
            return Lease(
                epoch=int(row["epoch"]),
                holder=row["holder"],
                expires_at=row["expires_at"],
                acquired=False,
                remaining_seconds=float(remaining["remaining"]),
            )

    async def lease(self) -> Lease:
        """The lease as it stands (``acquired`` is always ``False``: nothing is taken)."""
        async with self._lease_transaction("reading the leader lease", 5.0) as db:
            row = await db.fetch_optional(
                "SELECT epoch, holder, expires_at,"
                " EXTRACT(EPOCH FROM expires_at - clock_timestamp()) AS remaining"
                " FROM leader_lease WHERE name = 'leader'"
            )
        if row is None:
            return Lease(epoch=0, holder=None, expires_at=None, acquired=False)
        remaining = row["remaining"]
        return Lease(
            epoch=int(row["epoch"]),
            holder=row["holder"],
            expires_at=row["expires_at"],
            acquired=False,
            remaining_seconds=0.0 if remaining is None else float(remaining),
        )

    async def release(self, instance_id: str) -> bool:
        """End ``instance_id``'s live lease now (a clean stop); ``False`` if it held none. The
        epoch stays: whoever takes the lease next starts a new one, and this journal's fenced
        writes are refused from now on."""
        async with self._lease_transaction("releasing the leader lease", 5.0) as db:
            changed = await db.execute(
                "UPDATE leader_lease SET expires_at = clock_timestamp()"
                " WHERE name = 'leader' AND holder = ? AND expires_at > clock_timestamp()",
                (instance_id,),
            )
        if changed:
            log.info("leader_lease_released", instance_id=instance_id)
        return changed == 1


def _lease(row: Row, *, acquired: bool, took_over: bool) -> Lease:
    expires: datetime = row["expires_at"]
    return Lease(
        epoch=int(row["epoch"]),
        holder=row["holder"],
        expires_at=expires,
        acquired=acquired,
        took_over=took_over,
        remaining_seconds=float(row["remaining"]),
    )


# ---------------------------------------------------------------------------- connecting, schema


@contextmanager
def translated(where: str, doing: str) -> Iterator[None]:
    """The one place psycopg errors become ``JournalError`` (with what to do about them)."""
    try:
        yield
    except psycopg.Error as exc:
        _raise_translated(where, doing, exc)


async def connect(dsn: Dsn, doing: str) -> Connection:
    given = libpq.conninfo_to_dict(dsn.reveal())
    options = {k: v for k, v in _SESSION_DEFAULTS.items() if k not in given}
    with translated(dsn.describe(), doing):
        conn = await psycopg.AsyncConnection.connect(
            libpq.make_conninfo(dsn.reveal(), **options), autocommit=True, row_factory=dict_row
        )
        try:
            await conn.set_isolation_level(psycopg.IsolationLevel.READ_COMMITTED)
            await conn.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, false),"
                " set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false)",
                (IDLE_IN_TRANSACTION_TIMEOUT, STATEMENT_TIMEOUT),
            )
        except BaseException:
            await conn.close()
            raise
    return conn


async def _prepare(conn: Connection, where: str, *, create: bool) -> list[int]:
    """Every missing migration, each in a transaction of its own under the advisory lock."""
    applied: list[int] = []
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            exists = await (
                await conn.execute("SELECT to_regclass('autobot_schema_version') IS NOT NULL AS ok")
            ).fetchone()
            if not (exists and exists["ok"]):
                if not create:
                    raise JournalError(
                        f"journal {where}: the database holds no autobot journal: the daemon "
                        "creates it on its first start; is the DSN the daemon's?"
                    )
                await conn.execute(
                    "CREATE TABLE autobot_schema_version ("
                    " version INTEGER PRIMARY KEY,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())"
                )
            found_row = await (
                await conn.execute(
                    "SELECT COALESCE(MAX(version), 0) AS version FROM autobot_schema_version"
                )
            ).fetchone()
            found = int(found_row["version"]) if found_row else 0
            if found > SCHEMA_VERSION:
                raise JournalError(
                    f"journal {where} has schema version {found}, newer than this autobot's "
                    f"{SCHEMA_VERSION}: run the newer autobot, or restore a backup made by this one"
                )
            if found == SCHEMA_VERSION:
                return applied
            version = found + 1
            for statement in migration_statements(version, "postgres"):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO autobot_schema_version (version) VALUES (%s)", (version,)
            )
        applied.append(version)
