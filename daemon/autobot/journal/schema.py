"""The journal's schema, as an ordered list of migrations keyed by ``PRAGMA user_version``.

Migration *n* (1-based) takes a database at ``user_version = n - 1`` to ``n``; the store
(``SqliteJournal.open``) runs every missing one in a transaction of its own, version bump included,
so a crash mid-migration leaves the previous version intact. A database newer than this code (``user_version > SCHEMA_VERSION``) is refused:
an older daemon must not write rows it does not understand.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

import aiosqlite

from autobot.errors import JournalError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "fetch_one",
    "fetch_one_or_none",
    "migration_statements",
    "prepare",
    "rollback",
]

_V1 = """
CREATE TABLE actions (
    key            TEXT PRIMARY KEY,            -- "kind:subject:round"
    kind           TEXT NOT NULL,
    subject_id     INTEGER NOT NULL,            -- lottery or asset id (0 for a bot rotation)
    action_id      INTEGER,                     -- 1/2/5/6/7; NULL = no bot attestation
    recipe         TEXT NOT NULL,               -- JSON
    reason         TEXT NOT NULL,
    due_at         INTEGER NOT NULL,            -- chain seconds
    state          TEXT NOT NULL CHECK (state IN ('planned', 'announced', 'waiting',
                       'executing', 'recording', 'done', 'failed', 'moot', 'parked')),
    operator       TEXT,
    timelock_secs  INTEGER,
    execute_at     INTEGER,                     -- chain seconds, part of the hash
    action_hash    BLOB,
    calls          TEXT,                        -- JSON of the materialised admin calls
    progress       INTEGER NOT NULL DEFAULT 0,
    outcome        TEXT CHECK (outcome IN ('success', 'failure', 'moot', 'escalated')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_check_at  INTEGER,
    error_code     INTEGER,
    error_name     TEXT,
    error_message  TEXT,
    created_wall   REAL NOT NULL,
    updated_wall   REAL NOT NULL,
    created_chain  INTEGER NOT NULL,
    updated_chain  INTEGER NOT NULL
);
CREATE INDEX actions_open ON actions (state)
    WHERE state NOT IN ('done', 'failed', 'moot', 'parked');
CREATE INDEX actions_subject ON actions (kind, subject_id);

CREATE TABLE transactions (
    tx_hash          TEXT PRIMARY KEY,
    action_key       TEXT NOT NULL REFERENCES actions (key),
    action_hash      BLOB NOT NULL,              -- the action's hash when this was signed
    purpose          TEXT NOT NULL CHECK (purpose IN ('announce', 'execute', 'record')),
    call_index       INTEGER NOT NULL,
    call             TEXT NOT NULL,              -- JSON: module, function, typed args
    secondary        TEXT NOT NULL DEFAULT '[]', -- JSON list of co-signer addresses
    sender           TEXT NOT NULL,
    sequence_number  INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,           -- host wall seconds
    raw              BLOB NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('signed', 'submitted', 'committed',
                         'aborted', 'dropped')),
    error_code       INTEGER,
    error_name       TEXT,
    error_message    TEXT,
    submissions      INTEGER NOT NULL DEFAULT 0,
    created_wall     REAL NOT NULL,
    submitted_wall   REAL,
    settled_wall     REAL
);
-- One writer per account: at most one transaction that may still land per sequence number,
-- and never two executed ones.
CREATE UNIQUE INDEX transactions_live_sequence ON transactions (sender, sequence_number)
    WHERE state IN ('signed', 'submitted', 'committed', 'aborted');
CREATE INDEX transactions_action ON transactions (action_key);

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('cancel', 'clear-clamp', 'refund', 'retry',
                        'park', 'rotate')),
    subject         TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    requested_by    TEXT NOT NULL,
    requested_wall  REAL NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done',
                        'rejected')),
    handled_wall    REAL,
    result          TEXT
);
CREATE INDEX requests_pending ON requests (id) WHERE state = 'pending';

CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_utc       TEXT NOT NULL,                  -- "YYYY-MM-DD HH:MM"
    wall         REAL NOT NULL,
    type         TEXT NOT NULL,
    description  TEXT NOT NULL,
    responsible  TEXT NOT NULL,
    links        TEXT NOT NULL DEFAULT '',
    action_key   TEXT,
    action_hash  TEXT,
    tx_hash      TEXT
);

CREATE TABLE terminal_lotteries (
    lottery_id     INTEGER PRIMARY KEY,
    status         INTEGER NOT NULL,             -- 6 FINALIZED or 7 CANCELED (archived)
    marked_wall    REAL NOT NULL,
    marked_chain   INTEGER NOT NULL
);

CREATE TABLE lottery_checks (
    lottery_id     INTEGER PRIMARY KEY,
    next_check_at  INTEGER NOT NULL              -- chain seconds
);
"""


def _split(script: str) -> list[str]:
    """``script``'s SQL statements, one each (comments kept with the statement they precede)."""
    out: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement: {buffer.strip()[:60]!r}")
    return out


_REQUESTS_V2 = (
    next(s for s in _split(_V1) if s.startswith("CREATE TABLE requests "))
    .replace("CREATE TABLE requests ", "CREATE TABLE requests_v2 ")
    .replace("'clear-clamp'", "'clamp'")
)

_V2 = f"""
-- One spelling of an action's kind (``domain.actions.ActionKind``): a recipe's ``type`` is its
-- kind, as in the action's key, and an operator's clear-clamp request is of kind ``clamp``.
UPDATE actions SET recipe = json_set(recipe, '$.type', CASE json_extract(recipe, '$.type')
        WHEN 'auto_close' THEN 'close'
        WHEN 'request_draw' THEN 'draw'
        WHEN 'schedule_manual_retry' THEN 'schedule'
        WHEN 'compute_winners' THEN 'winners'
        WHEN 'refund_plan' THEN 'refund'
        WHEN 'set_fallback' THEN 'fallback'
        WHEN 'clear_clamp' THEN 'clamp'
        WHEN 'rotate_bot' THEN 'rotate'
    END)
    WHERE json_valid(recipe) AND json_extract(recipe, '$.type') IN ('auto_close', 'request_draw',
        'schedule_manual_retry', 'compute_winners', 'refund_plan', 'set_fallback',
        'clear_clamp', 'rotate_bot');

-- A CHECK constraint cannot be altered: the requests table is copied into a new one, defined as
-- schema 1's with ``clamp`` for ``clear-clamp`` (``_REQUESTS_V2``).
{_REQUESTS_V2}
INSERT INTO requests_v2 (id, kind, subject, params, requested_by, requested_wall, state,
        handled_wall, result)
    SELECT id, CASE kind WHEN 'clear-clamp' THEN 'clamp' ELSE kind END, subject, params,
        requested_by, requested_wall, state, handled_wall, result
    FROM requests;
-- Ids are never used twice (AUTOINCREMENT): the new table continues the old one's sequence.
DELETE FROM sqlite_sequence WHERE name = 'requests_v2';
INSERT INTO sqlite_sequence (name, seq) SELECT 'requests_v2', seq FROM sqlite_sequence
    WHERE name = 'requests';
DROP TABLE requests;
ALTER TABLE requests_v2 RENAME TO requests;
CREATE INDEX requests_pending ON requests (id) WHERE state = 'pending';
"""

_V3 = """
-- Events counted exactly once (price_feed_updates_total): per event type, the first block not
-- yet counted and how many events were counted; per subject (an asset id), the count so far.
-- Cursor and counts change in one commit, so a restart neither counts twice nor skips.
CREATE TABLE event_cursors (
    event_type   TEXT PRIMARY KEY,            -- "price_feed::PriceFeedUpdatedEvent"
    next_height  INTEGER NOT NULL,            -- the first block not yet counted
    seen         INTEGER NOT NULL             -- events of the type counted (its handle's counter)
);

CREATE TABLE event_counts (
    event_type   TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,            -- the asset id
    count        INTEGER NOT NULL,
    PRIMARY KEY (event_type, subject_id)
);
"""

_REQUESTS_V4 = _REQUESTS_V2.replace(
    "CREATE TABLE requests_v2 ", "CREATE TABLE requests_v4 "
).replace("'rotate')", "'rotate', 'unpause')")

_V4 = f"""
-- Operator requests to resume VRF requests (``autobot vrf resume``: kind ``unpause``, action 5).
-- The CHECK constraint cannot be altered: the table is copied again, as in schema 2.
{_REQUESTS_V4}
INSERT INTO requests_v4 (id, kind, subject, params, requested_by, requested_wall, state,
        handled_wall, result)
    SELECT id, kind, subject, params, requested_by, requested_wall, state, handled_wall, result
    FROM requests;
DELETE FROM sqlite_sequence WHERE name = 'requests_v4';
INSERT INTO sqlite_sequence (name, seq) SELECT 'requests_v4', seq FROM sqlite_sequence
    WHERE name = 'requests';
DROP TABLE requests;
ALTER TABLE requests_v4 RENAME TO requests;
CREATE INDEX requests_pending ON requests (id) WHERE state = 'pending';
"""

_REQUESTS_CLEANUP = _REQUESTS_V2.replace(
    "CREATE TABLE requests_v2 ", "CREATE TABLE requests_cleanup "
).replace("'rotate')", "'rotate', 'unpause', 'cleanup')")

_V5 = f"""
-- Operator requests to remove expired partner and premium caps (``autobot roles cleanup``: kind
-- ``cleanup``, ``roles::cleanup_expired_admin``). The CHECK constraint cannot be altered: the
-- table is copied again, as in schema 2.
{_REQUESTS_CLEANUP}
INSERT INTO requests_cleanup (id, kind, subject, params, requested_by, requested_wall, state,
        handled_wall, result)
    SELECT id, kind, subject, params, requested_by, requested_wall, state, handled_wall, result
    FROM requests;
DELETE FROM sqlite_sequence WHERE name = 'requests_cleanup';
INSERT INTO sqlite_sequence (name, seq) SELECT 'requests_cleanup', seq FROM sqlite_sequence
    WHERE name = 'requests';
DROP TABLE requests;
ALTER TABLE requests_cleanup RENAME TO requests;
CREATE INDEX requests_pending ON requests (id) WHERE state = 'pending';
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5)
SCHEMA_VERSION = len(MIGRATIONS)


def migration_statements(version: int) -> list[str]:
    """The SQL statements of migration ``version`` (1-based), one statement each.

    The store runs them inside one ``BEGIN IMMEDIATE`` transaction together with
    ``PRAGMA user_version = version`` (``executescript`` would commit on its own).
    """
    if not 1 <= version <= SCHEMA_VERSION:
        raise ValueError(f"no migration {version} (known: 1..{SCHEMA_VERSION})")
    try:
        return _split(MIGRATIONS[version - 1])
    except ValueError as exc:
        raise ValueError(f"migration {version}: {exc}") from None


async def prepare(db: aiosqlite.Connection, *, path: Path, busy_timeout_ms: int) -> list[int]:
    """Make a fresh connection ready: busy timeout, integrity check, WAL, ``synchronous=FULL``,
    foreign keys, then every missing migration. Returns the versions it applied.

    Raises ``JournalError`` for a corrupt file, a newer schema or a file that cannot use WAL;
    ``sqlite3`` errors propagate for the store to translate.
    """
    await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
    problems = [str(r[0]) for r in await db.execute_fetchall("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise JournalError(
            f"journal {path} is corrupt ({'; '.join(problems[:3])}): stop autobot, keep the file "
            "for the post-mortem and restore the last backup; recovery then reconciles it with "
            "the chain"
        )
    mode = (await fetch_one(db, "PRAGMA journal_mode = WAL", ()))[0]
    if str(mode).lower() != "wal":
        raise JournalError(f"journal {path}: cannot enable WAL (mode {mode!r})")
    await db.execute("PRAGMA synchronous = FULL")
    await db.execute("PRAGMA foreign_keys = ON")
    found = int((await fetch_one(db, "PRAGMA user_version", ()))[0])
    if found > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} has schema version {found}, newer than this autobot's "
            f"{SCHEMA_VERSION}: run the newer autobot, or restore a backup made by this one"
        )
    applied: list[int] = []
    for version in range(found + 1, SCHEMA_VERSION + 1):
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration_statements(version):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {version:d}")
        except BaseException:
            await rollback(db)
            raise
        await db.execute("COMMIT")
        applied.append(version)
    return applied


async def rollback(db: aiosqlite.Connection) -> None:
    """Roll back if a transaction is still open: SQLite ends it by itself on some errors (a full
    disk, an I/O error), and a failing ROLLBACK must not hide the error that caused it."""
    if db.in_transaction:
        with suppress(sqlite3.Error):
            await db.execute("ROLLBACK")


async def fetch_one_or_none(
    db: aiosqlite.Connection, sql: str, params: tuple[object, ...]
) -> sqlite3.Row | None:
    async with db.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
    return row


async def fetch_one(db: aiosqlite.Connection, sql: str, params: tuple[object, ...]) -> sqlite3.Row:
    """The one row ``sql`` selects (inside a transaction, where it must exist)."""
    row = await fetch_one_or_none(db, sql, params)
    if row is None:
        raise JournalError(f"journal row vanished inside its own transaction: {sql}")
    return row
