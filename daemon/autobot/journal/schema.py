"""The journal's schema, as an ordered list of migrations keyed by ``PRAGMA user_version``.

Migration *n* (1-based) takes a database at ``user_version = n - 1`` to ``n``; the store
(``SqliteJournal.open``) runs every missing one in a transaction of its own, version bump included,
so a crash mid-migration leaves the previous version intact. A database newer than this code (``user_version > SCHEMA_VERSION``) is refused:
an older daemon must not write rows it does not understand.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migration_statements"]

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

MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


def migration_statements(version: int) -> list[str]:
    """The SQL statements of migration ``version`` (1-based), one statement each.

    The store runs them inside one ``BEGIN IMMEDIATE`` transaction together with
    ``PRAGMA user_version = version`` (``executescript`` would commit on its own).
    """
    if not 1 <= version <= SCHEMA_VERSION:
        raise ValueError(f"no migration {version} (known: 1..{SCHEMA_VERSION})")
    out: list[str] = []
    buffer = ""
    for line in MIGRATIONS[version - 1].splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(
            f"incomplete SQL statement in migration {version}: {buffer.strip()[:60]!r}"
        )
    return out
