"""``autobot journal migrate --from PATH.sqlite --to DSN``: move a deployment's SQLite journal into
an empty PostgreSQL database, verified row by row.

Stop the daemon first. The source file is opened as the daemon would (integrity check, migrated to
this autobot's schema) and read in one read transaction (a consistent snapshot). The target's
schema is created as the daemon would create it; then, in **one** PostgreSQL transaction that locks
the journal's tables:

1. every journal table must be empty (a non-empty target is refused: nothing is merged);
2. each table is copied with ``COPY`` in write order (``TABLES``: referenced tables first), the
   ``rowid``/identity values kept, identity sequences moved past them;
3. every table is verified: the row counts, then every row compared column by column with the
   source (text as PostgreSQL stores it: a NUL becomes U+FFFD);
4. only then it commits. A mismatch or any error rolls it all back: the target stays empty.

``copy_journal`` reports progress through ``say`` every ``PROGRESS_EVERY`` rows; the command
(``autobot.journal_setup.migrate_command``) reads its arguments and the DSN file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from autobot.clock import SystemClock
from autobot.errors import MigrationFailed
from autobot.journal.dsn import Dsn
from autobot.journal.postgres import Connection, PostgresJournal, connect, translated
from autobot.journal.schema import TABLES, Table, tables
from autobot.journal.store import SqliteJournal

__all__ = [
    "PROGRESS_EVERY",
    "MigrationReport",
    "copy_journal",
]

PROGRESS_EVERY = 10_000
BATCH = 2_000


@dataclass(slots=True)
class MigrationReport:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied and verified
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _order(table: Table) -> list[str]:
    """The columns that order a table's rows the same way on both sides."""
    if table.insertion_order:
        return ["rowid"]
    return [c.name for c in table.columns if c.primary_key] or list(table.primary_key)


def _columns(table: Table) -> list[str]:
    names = [c.name for c in table.columns]
    return [*names, "rowid"] if table.insertion_order else names


def _as_stored(value: object) -> object:
    """A source value as PostgreSQL holds it (text without NUL; BLOBs as bytes)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _source_rows(db: sqlite3.Connection, table: Table) -> Iterator[tuple[object, ...]]:
    cols = ", ".join(_columns(table))
    order = ", ".join(_order(table))
    cursor = db.execute(f"SELECT {cols} FROM {table.name} ORDER BY {order}")
    while batch := cursor.fetchmany(BATCH):
        for row in batch:
            yield tuple(_as_stored(v) for v in row)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


async def copy_journal(
    source: Path, target: Dsn, *, say: Callable[[str], None] = lambda _: None
) -> MigrationReport:
    """Copy and verify (see the module docstring); raises ``MigrationFailed`` / ``JournalError``."""
    started = time.monotonic()
    if not await asyncio.to_thread(source.is_file):  # opening would create an empty one
        raise MigrationFailed(f"no SQLite journal at {source}")
    clock = SystemClock()
    await (await SqliteJournal.open(source, clock=clock)).close()  # integrity, schema version
    await (await PostgresJournal.open(target, clock=clock)).close()  # the schema, as the daemon
    where = target.describe()
    the_tables = [t for t in tables("sqlite") if t.name in TABLES]
    report = MigrationReport()
    lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)
    try:
        lite.execute("BEGIN")  # one snapshot for the whole copy
        counts = {
            t.name: int(lite.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0])
            for t in the_tables
        }
        conn = await connect(target, "connecting to copy the journal")
        try:
            with translated(where, "copying the journal"):
                await conn.execute("SET statement_timeout = 0")
                async with conn.transaction():
                    await _refuse_non_empty(conn, the_tables, where)
                    for table in the_tables:
                        await _copy(conn, lite, table, counts[table.name], say)
                    await _advance_identities(conn, the_tables)
                    for table in the_tables:
                        report.rows[table.name] = await _verify(
                            conn, lite, table, counts[table.name], where, say
                        )
        finally:
            await conn.close()
    finally:
        lite.close()
    report.seconds = time.monotonic() - started
    return report


async def _refuse_non_empty(conn: Connection, the_tables: Sequence[Table], where: str) -> None:
    names = sql.SQL(", ").join(sql.Identifier(t.name) for t in the_tables)
    await conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(names))
    found: list[str] = []
    for table in the_tables:
        cursor = await conn.execute(
            sql.SQL("SELECT COUNT(*) AS n FROM {}").format(sql.Identifier(table.name))
        )
        row = await cursor.fetchone()
        if row and int(str(row["n"])):
            found.append(f"{table.name} ({row['n']} rows)")
    if found:
        raise MigrationFailed(
            f"journal {where} is not empty ({', '.join(found)}): migrate into an empty database "
            "(nothing is merged); nothing was written"
        )


async def _copy(
    conn: Connection,
    lite: sqlite3.Connection,
    table: Table,
    total: int,
    say: Callable[[str], None],
) -> None:
    cols = _columns(table)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    )
    done = 0
    async with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in _source_rows(lite, table):
            await copy.write_row(row)
            done += 1
            if done % PROGRESS_EVERY == 0:
                say(f"copying {table.name}: {done}/{total} rows")
    say(f"copied {table.name}: {done} rows")


async def _advance_identities(conn: Connection, the_tables: Sequence[Table]) -> None:
    for table in the_tables:
        columns = [c.name for c in table.columns if c.autoincrement]
        if table.insertion_order:
            columns.append("rowid")
        for column in columns:
            await conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, {c}), COALESCE(MAX({col}), 0) + 1,"
                    " false) FROM {tbl}"
                ).format(
                    t=sql.Literal(table.name),
                    c=sql.Literal(column),
                    col=sql.Identifier(column),
                    tbl=sql.Identifier(table.name),
                )
            )


async def _verify(
    conn: Connection,
    lite: sqlite3.Connection,
    table: Table,
    expected: int,
    where: str,
    say: Callable[[str], None],
) -> int:
    cols = _columns(table)
    order = _order(table)
    statement = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        sql.Identifier(table.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in order),
    )
    counted = await (
        await conn.execute(
            sql.SQL("SELECT COUNT(*) AS n FROM {}").format(sql.Identifier(table.name))
        )
    ).fetchone()
    found = int(str(counted["n"])) if counted else -1
    if found != expected:
        raise MigrationFailed(
            f"journal {where}: {table.name} has {found} rows after the copy, the source "
            f"{expected}; nothing was written"
        )
    checked = 0
    source = _source_rows(lite, table)
    async with conn.cursor(name=f"verify_{table.name}") as cursor:  # server-side: streamed
        await cursor.execute(statement)
        async for target_row in cursor:
            source_row = next(source)
            values = tuple(target_row[c] for c in cols)
            if values != source_row:
                column = next(c for c, a, b in zip(cols, source_row, values, strict=True) if a != b)
                i = cols.index(column)
                key = ", ".join(f"{c}={_shown(source_row[cols.index(c)])}" for c in order)
                raise MigrationFailed(
                    f"journal {where}: {table.name} row ({key}) differs in {column}: source "
                    f"{_shown(source_row[i])}, target {_shown(values[i])}; nothing was written"
                )
            checked += 1
            if checked % PROGRESS_EVERY == 0:
                say(f"verifying {table.name}: {checked}/{expected} rows")
    say(f"verified {table.name}: {checked} rows, every column")
    return checked
