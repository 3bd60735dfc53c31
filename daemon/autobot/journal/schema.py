"""The journal's schema: one description, rendered as SQLite and as PostgreSQL migrations.

``MIGRATIONS[n - 1]`` is the list of steps (tables, indexes, added or changed columns, data
rewrites) that take a journal from version ``n - 1`` to ``n``; ``migration_statements(n, backend)`` renders them as SQL for one
back end. Both back ends hold the same tables, columns, constraints and indexes; where they differ
it is by design and said here:

* Types: SQLite's ``TEXT``/``INTEGER``/``REAL``/``BLOB`` are PostgreSQL's ``TEXT COLLATE "C"``
  (byte order, as SQLite compares text), ``BIGINT``, ``DOUBLE PRECISION`` and ``BYTEA``; an
  ``AUTOINCREMENT`` key is a ``BIGINT`` identity column.
* A table with ``insertion_order`` is read back in the order its rows were written
  (``ORDER BY ..., rowid``): SQLite's implicit ``rowid``; PostgreSQL gets an identity column of
  that name.
* Tables with ``only`` set exist on that back end alone (the leader lease: PostgreSQL only, as
  high availability needs a shared database).
* A changed column (``ChangeColumn``: a CHECK with other values): SQLite cannot alter a
  constraint, so the table is copied into a new one and renamed (SQLite then keeps its name
  quoted in the schema); PostgreSQL replaces the column's check constraint in place.
* A data rewrite (``Rewrite``) is one statement per back end, in each one's JSON functions.
* A trigger (``Trigger``) is SQLite's ``CREATE TRIGGER ... BEGIN ... END`` and, on PostgreSQL, a
  PL/pgSQL function of the same name with a ``CREATE TRIGGER ... EXECUTE FUNCTION`` calling it.
* A ``derived`` table (``action_counts``) is kept by triggers: ``journal migrate`` does not copy it
  (copying the actions fills it).

The versions: 1, the first release; 2, one spelling of an action's kind (recipes' ``type`` and the
``clamp`` request, ``domain.actions.ActionKind``); 3, event cursors and counts (events counted
exactly once); 4, the ``unpause`` request (``autobot vrf resume``); 5, the leader lease and
``transactions.epoch`` (high availability); 6, the ``cleanup`` request (``autobot roles cleanup``);
7, retention's partial indexes and the per-state action counts kept by triggers (``Trigger``:
SQLite triggers, PL/pgSQL functions on PostgreSQL).

SQLite journals created by a version with retention use ``auto_vacuum = INCREMENTAL`` (chosen in
``prepare`` before the first page is written; an older file keeps its mode and reuses free pages).

SQLite keeps its version in ``PRAGMA user_version``; the store (``SqliteJournal.open``, through
``prepare`` below) runs every missing migration in a transaction of its own, version bump
included, so a crash mid-migration leaves the previous version intact. PostgreSQL keeps it in the
table ``autobot_schema_version`` (``journal/postgres.py``). A journal newer than this code is
refused: an older daemon must not write rows it does not understand.

Never edit a released migration: append a new one. (Version 1 was released as SQL text; its
description here renders to the same schema, which ``tests/unit/journal`` checks against a journal
written by that release.)
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiosqlite

from autobot.errors import JournalError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "AddColumn",
    "Backend",
    "ChangeColumn",
    "Column",
    "ColumnType",
    "Index",
    "Rewrite",
    "Table",
    "Trigger",
    "fetch_one",
    "fetch_one_or_none",
    "migration_statements",
    "prepare",
    "rollback",
    "tables",
]

Backend = Literal["sqlite", "postgres"]


class ColumnType(enum.Enum):
    TEXT = "text"
    INTEGER = "integer"  # signed 64-bit (u64 abort codes: records.to_sqlite_u64)
    REAL = "real"  # binary64
    BLOB = "blob"
    TIMESTAMP = "timestamp"  # PostgreSQL only: database time (the leader lease)


_TYPES: dict[Backend, dict[ColumnType, str]] = {
    "sqlite": {
        ColumnType.TEXT: "TEXT",
        ColumnType.INTEGER: "INTEGER",
        ColumnType.REAL: "REAL",
        ColumnType.BLOB: "BLOB",
    },
    "postgres": {
        ColumnType.TEXT: 'TEXT COLLATE "C"',
        ColumnType.INTEGER: "BIGINT",
        ColumnType.REAL: "DOUBLE PRECISION",
        ColumnType.BLOB: "BYTEA",
        ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    name: str
    type: ColumnType
    primary_key: bool = False
    autoincrement: bool = False  # with primary_key: never reuse a number
    not_null: bool = False
    default: str | None = None  # an SQL literal
    check: str | None = None  # an SQL condition both back ends understand
    references: tuple[str, str] | None = None  # (table, column)
    note: str = ""  # rendered as an SQL comment (SQLite keeps it in the schema)

    def render(self, backend: Backend) -> str:
        if backend == "postgres" and self.autoincrement:
            body = f"{self.name} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        else:
            try:
                kind = _TYPES[backend][self.type]
            except KeyError:
                raise ValueError(f"column {self.name}: no {self.type.value} on {backend}") from None
            body = f"{self.name} {kind}"
            if self.primary_key:
                body += " PRIMARY KEY"
            if self.autoincrement:
                body += " AUTOINCREMENT"
        if self.not_null:
            body += " NOT NULL"
        if self.default is not None:
            body += f" DEFAULT {self.default}"
        if self.check is not None:
            body += f" CHECK ({self.check})"
        if self.references is not None:
            body += f" REFERENCES {self.references[0]} ({self.references[1]})"
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    insertion_order: bool = False  # read back in write order: rowid (an identity on PostgreSQL)
    only: Backend | None = None
    primary_key: tuple[str, ...] = ()  # a key of several columns (one column: Column.primary_key)
    derived: bool = False  # kept by triggers from other tables: never copied (``TABLES``)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name}.{name}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None  # a partial index
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddColumn:
    table: str
    column: Column


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeColumn:
    """``column`` replaces the table's column of that name (a new CHECK); ``rewrite`` maps the
    values it held to the values the new definition allows (the other values stay)."""

    table: str
    column: Column
    rewrite: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewrite:
    """Rows rewritten in place: one statement per back end (the same effect)."""

    sqlite: str
    postgres: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """A row trigger: after ``event`` (``INSERT``, ``DELETE``, ``UPDATE OF column``) on ``table``,
    for each row (and only when ``when`` holds, a condition on ``OLD``/``NEW``), run ``body``'s
    statements (the dialect both understand). SQLite: ``CREATE TRIGGER ... BEGIN body END``;
    PostgreSQL: a PL/pgSQL function of the same name running ``body``, and the trigger calling it.
    """

    name: str
    table: str
    event: str
    body: tuple[str, ...]
    when: str | None = None


Step = Table | Index | AddColumn | ChangeColumn | Rewrite | Trigger


def _text(name: str, **kw: object) -> Column:
    return Column(name=name, type=ColumnType.TEXT, **kw)  # type: ignore[arg-type]


def _int(name: str, **kw: object) -> Column:
    return Column(name=name, type=ColumnType.INTEGER, **kw)  # type: ignore[arg-type]


def _real(name: str, **kw: object) -> Column:
    return Column(name=name, type=ColumnType.REAL, **kw)  # type: ignore[arg-type]


def _blob(name: str, **kw: object) -> Column:
    return Column(name=name, type=ColumnType.BLOB, **kw)  # type: ignore[arg-type]


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_ACTION_STATES = ("planned", "announced", "waiting", "executing", "recording", "done", "failed",
                  "moot", "parked")  # fmt: skip
_TX_STATES = ("signed", "submitted", "committed", "aborted", "dropped")

_V1: tuple[Step, ...] = (
    Table(
        name="actions",
        columns=(
            _text("key", primary_key=True, note='"kind:subject:round"'),
            _text("kind", not_null=True),
            _int("subject_id", not_null=True, note="lottery or asset id (0 for a bot rotation)"),
            _int("action_id", note="1/2/5/6/7; NULL = no bot attestation"),
            _text("recipe", not_null=True, note="JSON"),
            _text("reason", not_null=True),
            _int("due_at", not_null=True, note="chain seconds"),
            _text("state", not_null=True, check=_in("state", _ACTION_STATES)),
            _text("operator"),
            _int("timelock_secs"),
            _int("execute_at", note="chain seconds, part of the hash"),
            _blob("action_hash"),
            _text("calls", note="JSON of the materialised admin calls"),
            _int("progress", not_null=True, default="0"),
            _text("outcome", check=_in("outcome", ("success", "failure", "moot", "escalated"))),
            _int("attempts", not_null=True, default="0"),
            _int("next_check_at"),
            _int("error_code"),
            _text("error_name"),
            _text("error_message"),
            _real("created_wall", not_null=True),
            _real("updated_wall", not_null=True),
            _int("created_chain", not_null=True),
            _int("updated_chain", not_null=True),
        ),
    ),
    Index(
        name="actions_open",
        table="actions",
        columns=("state",),
        where="state NOT IN ('done', 'failed', 'moot', 'parked')",
    ),
    Index(name="actions_subject", table="actions", columns=("kind", "subject_id")),
    Table(
        name="transactions",
        insertion_order=True,
        columns=(
            _text("tx_hash", primary_key=True),
            _text("action_key", not_null=True, references=("actions", "key")),
            _blob("action_hash", not_null=True, note="the action's hash when this was signed"),
            _text(
                "purpose", not_null=True, check=_in("purpose", ("announce", "execute", "record"))
            ),
            _int("call_index", not_null=True),
            _text("call", not_null=True, note="JSON: module, function, typed args"),
            _text(
                "secondary", not_null=True, default="'[]'", note="JSON list of co-signer addresses"
            ),
            _text("sender", not_null=True),
            _int("sequence_number", not_null=True),
            _int("expires_at", not_null=True, note="host wall seconds"),
            _blob("raw", not_null=True),
            _text("state", not_null=True, check=_in("state", _TX_STATES)),
            _int("error_code"),
            _text("error_name"),
            _text("error_message"),
            _int("submissions", not_null=True, default="0"),
            _real("created_wall", not_null=True),
            _real("submitted_wall"),
            _real("settled_wall"),
        ),
    ),
    Index(
        name="transactions_live_sequence",
        table="transactions",
        columns=("sender", "sequence_number"),
        unique=True,
        where="state IN ('signed', 'submitted', 'committed', 'aborted')",
        note="One writer per account: at most one transaction that may still land per sequence "
        "number, and never two executed ones.",
    ),
    Index(name="transactions_action", table="transactions", columns=("action_key",)),
    Table(
        name="requests",
        columns=(
            _int("id", primary_key=True, autoincrement=True),
            _text(
                "kind",
                not_null=True,
                check=_in("kind", ("cancel", "clear-clamp", "refund", "retry", "park", "rotate")),
            ),
            _text("subject", not_null=True),
            _text("params", not_null=True, default="'{}'"),
            _text("requested_by", not_null=True),
            _real("requested_wall", not_null=True),
            _text(
                "state",
                not_null=True,
                default="'pending'",
                check=_in("state", ("pending", "done", "rejected")),
            ),
            _real("handled_wall"),
            _text("result"),
        ),
    ),
    Index(name="requests_pending", table="requests", columns=("id",), where="state = 'pending'"),
    Table(
        name="incidents",
        columns=(
            _int("id", primary_key=True, autoincrement=True),
            _text("at_utc", not_null=True, note='"YYYY-MM-DD HH:MM"'),
            _real("wall", not_null=True),
            _text("type", not_null=True),
            _text("description", not_null=True),
            _text("responsible", not_null=True),
            _text("links", not_null=True, default="''"),
            _text("action_key"),
            _text("action_hash"),
            _text("tx_hash"),
        ),
    ),
    Table(
        name="terminal_lotteries",
        columns=(
            _int("lottery_id", primary_key=True),
            _int("status", not_null=True, note="6 FINALIZED or 7 CANCELED (archived)"),
            _real("marked_wall", not_null=True),
            _int("marked_chain", not_null=True),
        ),
    ),
    Table(
        name="lottery_checks",
        columns=(
            _int("lottery_id", primary_key=True),
            _int("next_check_at", not_null=True, note="chain seconds"),
        ),
    ),
)

# Version 2: one spelling of an action's kind (``domain.actions.ActionKind``): a recipe's ``type``
# is its kind, as in the action's key, and an operator's clear-clamp request is of kind ``clamp``.
_RECIPE_TYPES = (
    ("auto_close", "close"),
    ("request_draw", "draw"),
    ("schedule_manual_retry", "schedule"),
    ("compute_winners", "winners"),
    ("refund_plan", "refund"),
    ("set_fallback", "fallback"),
    ("clear_clamp", "clamp"),
    ("rotate_bot", "rotate"),
)


def _case(expression: str, mapping: Sequence[tuple[str, str]], *, default: str = "") -> str:
    whens = " ".join(f"WHEN {old!r} THEN {new!r}" for old, new in mapping)
    otherwise = f" ELSE {default}" if default else ""
    return f"CASE {expression} {whens}{otherwise} END"


def _one_of(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


_OLD_RECIPE_TYPES = _one_of([old for old, _ in _RECIPE_TYPES])
_JSON_TYPE = {"sqlite": "json_extract(recipe, '$.type')", "postgres": "recipe::jsonb ->> 'type'"}

_V2: tuple[Step, ...] = (
    Rewrite(
        note="a recipe's type is its kind",
        sqlite=(
            "UPDATE actions SET recipe = json_set(recipe, '$.type', "
            f"{_case(_JSON_TYPE['sqlite'], _RECIPE_TYPES)})"
            f" WHERE json_valid(recipe) AND {_JSON_TYPE['sqlite']} IN ({_OLD_RECIPE_TYPES});"
        ),
        # autobot writes recipes as JSON objects, which every journal on PostgreSQL holds (it
        # was written by a newer autobot, or copied by ``journal migrate`` at the current schema)
        postgres=(
            "UPDATE actions SET recipe = jsonb_set(recipe::jsonb, '{type}', to_jsonb("
            f"{_case(_JSON_TYPE['postgres'], _RECIPE_TYPES)}))::text"
            f" WHERE {_JSON_TYPE['postgres']} IN ({_OLD_RECIPE_TYPES});"
        ),
    ),
    ChangeColumn(
        table="requests",
        column=_text(
            "kind",
            not_null=True,
            check=_in("kind", ("cancel", "clamp", "refund", "retry", "park", "rotate")),
        ),
        rewrite=(("clear-clamp", "clamp"),),
    ),
)

# Version 3: events counted exactly once (``price_feed_updates_total``, ``feed_updates.py``): per
# event type, the first block not yet counted and how many events were counted; per subject (an
# asset id), the count so far. Cursor and counts change in one commit, so a restart neither counts
# twice nor skips.
_V3: tuple[Step, ...] = (
    Table(
        name="event_cursors",
        columns=(
            _text("event_type", primary_key=True, note='"price_feed::PriceFeedUpdatedEvent"'),
            _int("next_height", not_null=True, note="the first block not yet counted"),
            _int("seen", not_null=True, note="events of the type counted (its handle's counter)"),
        ),
    ),
    Table(
        name="event_counts",
        primary_key=("event_type", "subject_id"),
        columns=(
            _text("event_type", not_null=True),
            _int("subject_id", not_null=True, note="the asset id"),
            _int("count", not_null=True),
        ),
    ),
)

# Version 4: operator requests to resume VRF requests (``autobot vrf resume``: the request kind
# ``unpause``, action 5).
_V4: tuple[Step, ...] = (
    ChangeColumn(
        table="requests",
        column=_text(
            "kind",
            not_null=True,
            check=_in("kind", ("cancel", "clamp", "refund", "retry", "park", "rotate", "unpause")),
        ),
    ),
)

# Version 5: high availability. The fencing epoch a transaction was signed under, and the leader
# lease (PostgreSQL only).
_V5: tuple[Step, ...] = (
    AddColumn(
        table="transactions",
        column=_int("epoch", note="the leader lease's fencing epoch it was signed under (HA)"),
    ),
    Table(
        name="leader_lease",
        only="postgres",
        columns=(
            _text("name", primary_key=True, check="name = 'leader'"),
            _text("holder", note="instance_id of the leader; NULL before the first"),
            _int("epoch", not_null=True, default="0", note="+1 at every takeover"),
            Column(name="acquired_at", type=ColumnType.TIMESTAMP),
            Column(name="renewed_at", type=ColumnType.TIMESTAMP),
            Column(name="expires_at", type=ColumnType.TIMESTAMP, note="database time"),
        ),
    ),
)

# Version 6: operator requests to remove expired partner and premium caps (``autobot roles
# cleanup``: the request kind ``cleanup``, ``roles::cleanup_expired_admin``).
_V6: tuple[Step, ...] = (
    ChangeColumn(
        table="requests",
        column=_text(
            "kind",
            not_null=True,
            check=_in(
                "kind",
                ("cancel", "clamp", "refund", "retry", "park", "rotate", "unpause", "cleanup"),
            ),
        ),
    ),
)

# Version 7: a sweep's journal reads and retention touch only what they need, whatever the
# history (``journal/retention.py``): partial indexes for the finished actions retention looks
# at, the parked ones and the done fallbacks the planners read, the handled requests, the live
# transactions; and the actions per state kept by triggers (``action_counts``), so the metrics'
# counts read nine rows, not every action. Both back ends: SQLite triggers, PL/pgSQL functions.
_COUNT_NEW = (
    "INSERT INTO action_counts (state, count) VALUES (NEW.state, 1)"
    " ON CONFLICT (state) DO UPDATE SET count = action_counts.count + 1;"
)
_UNCOUNT_OLD = "UPDATE action_counts SET count = count - 1 WHERE state = OLD.state;"

_V7: tuple[Step, ...] = (
    Index(
        name="actions_finished",
        table="actions",
        columns=("updated_chain", "key"),
        where="state IN ('done', 'failed', 'moot')",
    ),
    Index(
        name="actions_parked",
        table="actions",
        columns=("kind", "subject_id"),
        where="state = 'parked'",
    ),
    Index(
        name="actions_fallbacks",
        table="actions",
        columns=("subject_id", "updated_chain"),
        where="kind = 'fallback' AND state = 'done'",
    ),
    Index(
        name="requests_handled",
        table="requests",
        columns=("handled_wall",),
        where="state IN ('done', 'rejected')",
    ),
    Index(
        name="transactions_live",
        table="transactions",
        columns=("sender", "sequence_number"),
        where="state IN ('signed', 'submitted')",
    ),
    Table(
        name="action_counts",
        derived=True,
        columns=(
            _text("state", primary_key=True, note="an action state"),
            _int("count", not_null=True, note="actions in that state (the triggers keep it)"),
        ),
    ),
    Rewrite(
        note="the counts of the actions already journaled",
        sqlite="INSERT INTO action_counts (state, count)"
        " SELECT state, COUNT(*) FROM actions GROUP BY state;",
        postgres="INSERT INTO action_counts (state, count)"
        " SELECT state, COUNT(*) FROM actions GROUP BY state;",
    ),
    Trigger(name="action_counts_insert", table="actions", event="INSERT", body=(_COUNT_NEW,)),
    Trigger(
        name="action_counts_update",
        table="actions",
        event="UPDATE OF state",
        when="OLD.state <> NEW.state",
        body=(_UNCOUNT_OLD, _COUNT_NEW),
    ),
    Trigger(name="action_counts_delete", table="actions", event="DELETE", body=(_UNCOUNT_OLD,)),
)

MIGRATIONS: tuple[tuple[Step, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(slots=True)
class _Layout:
    """The tables and indexes of one back end as the migrations so far left them."""

    backend: Backend
    tables: dict[str, Table]
    indexes: dict[str, Index]

    def apply(self, step: Step) -> None:
        if isinstance(step, Table):
            if step.only in (None, self.backend):
                self.tables[step.name] = step
        elif isinstance(step, Index):
            if step.table in self.tables:
                self.indexes[step.name] = step
        elif isinstance(step, AddColumn | ChangeColumn):
            if step.table not in self.tables:
                return
            table = self.tables[step.table]
            if isinstance(step, AddColumn):
                columns = (*table.columns, step.column)
            else:
                table.column(step.column.name)  # KeyError: a change of no column
                columns = tuple(
                    step.column if c.name == step.column.name else c for c in table.columns
                )
            self.tables[step.table] = Table(
                name=table.name,
                columns=columns,
                insertion_order=table.insertion_order,
                only=table.only,
                primary_key=table.primary_key,
                derived=table.derived,
            )


def _layout(backend: Backend, version: int) -> _Layout:
    layout = _Layout(backend=backend, tables={}, indexes={})
    for steps in MIGRATIONS[:version]:
        for step in steps:
            layout.apply(step)
    return layout


def tables(backend: Backend, version: int = SCHEMA_VERSION) -> list[Table]:
    """The tables of ``backend`` at ``version``, with the columns added or changed since they
    were created, in the order they were created."""
    return list(_layout(backend, version).tables.values())


TABLES: tuple[str, ...] = tuple(t.name for t in tables("sqlite") if not t.derived)
"""The journal's own tables, on both back ends, in an order that satisfies their references
(what ``autobot journal migrate`` copies)."""


def _with_note(line: str, note: str, *, last: bool) -> str:
    text = line if last else line + ","
    return f"{text} -- {note}" if note else text


def _create_table(table: Table, backend: Backend, *, name: str | None = None) -> str:
    columns = list(table.columns)
    lines = [c.render(backend) for c in columns]
    notes = [c.note for c in columns]
    if table.insertion_order and backend == "postgres":
        lines.append("rowid BIGINT GENERATED BY DEFAULT AS IDENTITY")
        notes.append("write order (SQLite's rowid)")
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
        notes.append("")
    body = "\n".join(
        "    " + _with_note(line, note, last=i == len(lines) - 1)
        for i, (line, note) in enumerate(zip(lines, notes, strict=True))
    )
    return f"CREATE TABLE {name or table.name} (\n{body}\n);"


def _create_index(step: Index) -> str:
    head = "-- " + step.note + "\n" if step.note else ""
    unique = "UNIQUE " if step.unique else ""
    where = f"\n    WHERE {step.where}" if step.where else ""
    cols = ", ".join(step.columns)
    return f"{head}CREATE {unique}INDEX {step.name} ON {step.table} ({cols}){where};"


def _create_trigger(step: Trigger, backend: Backend) -> list[str]:
    when = f"\n    WHEN ({step.when})" if step.when else ""
    body = "\n".join(f"    {statement}" for statement in step.body)
    if backend == "sqlite":
        return [
            f"CREATE TRIGGER {step.name} AFTER {step.event} ON {step.table} FOR EACH ROW{when}\n"
            f"BEGIN\n{body}\nEND;"
        ]
    return [
        f"CREATE FUNCTION {step.name}() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
        f"BEGIN\n{body}\n    RETURN NULL;\nEND;\n$body$;",
        f"CREATE TRIGGER {step.name} AFTER {step.event} ON {step.table} FOR EACH ROW{when}\n"
        f"    EXECUTE FUNCTION {step.name}();",
    ]


def _change_column(step: ChangeColumn, before: _Layout) -> list[str]:
    if step.table not in before.tables:
        return []
    old = before.tables[step.table]
    name = step.column.name
    rewritten = _case(name, step.rewrite, default=name)
    if before.backend == "postgres":
        # a column's inline CHECK is named <table>_<column>_check
        constraint = f"{step.table}_{name}_check"
        out = [f"ALTER TABLE {step.table} DROP CONSTRAINT IF EXISTS {constraint};"]
        if step.rewrite:
            olds = _one_of([old for old, _ in step.rewrite])
            out.append(f"UPDATE {step.table} SET {name} = {rewritten} WHERE {name} IN ({olds});")
        if step.column.check is not None:
            out.append(
                f"ALTER TABLE {step.table} ADD CONSTRAINT {constraint} CHECK ({step.column.check});"
            )
        return out
    if old.insertion_order or any(
        c.references is not None and c.references[0] == step.table
        for t in before.tables.values()
        for c in t.columns
    ):
        # the copy would renumber rowids, or orphan rows that reference this table
        raise ValueError(f"cannot copy table {step.table} on SQLite to change {name}")
    new = Table(
        name=old.name,
        columns=tuple(step.column if c.name == name else c for c in old.columns),
        insertion_order=old.insertion_order,
        only=old.only,
        primary_key=old.primary_key,
        derived=old.derived,
    )
    copy = f"{step.table}_v"
    names = [c.name for c in old.columns]
    selected = [rewritten if c == name and step.rewrite else c for c in names]
    out = [
        _create_table(new, "sqlite", name=copy),
        f"INSERT INTO {copy} ({', '.join(names)})\n"
        f"    SELECT {', '.join(selected)} FROM {step.table};",
    ]
    if any(c.autoincrement for c in old.columns):
        # ids are never used twice: the copy continues the table's AUTOINCREMENT sequence
        out += [
            f"DELETE FROM sqlite_sequence WHERE name = '{copy}';",
            f"INSERT INTO sqlite_sequence (name, seq) SELECT '{copy}', seq FROM sqlite_sequence"
            f" WHERE name = '{step.table}';",
        ]
    out += [f"DROP TABLE {step.table};", f"ALTER TABLE {copy} RENAME TO {step.table};"]
    out += [_create_index(i) for i in before.indexes.values() if i.table == step.table]
    return out


def _render(step: Step, before: _Layout) -> list[str]:
    """``step``'s SQL on ``before.backend``, the schema being ``before``."""
    backend = before.backend
    if isinstance(step, Table):
        return [_create_table(step, backend)] if step.only in (None, backend) else []
    if isinstance(step, Index):
        return [_create_index(step)] if step.table in before.tables else []
    if isinstance(step, Rewrite):
        sql = step.sqlite if backend == "sqlite" else step.postgres
        return [f"-- {step.note}\n{sql}" if step.note else sql]
    if isinstance(step, ChangeColumn):
        return _change_column(step, before)
    if isinstance(step, Trigger):
        return _create_trigger(step, backend) if step.table in before.tables else []
    if step.table not in before.tables:
        return []
    return [f"ALTER TABLE {step.table} ADD COLUMN {step.column.render(backend)};"]


def migration_statements(version: int, backend: Backend = "sqlite") -> list[str]:
    """The SQL statements of migration ``version`` (1-based) for ``backend``, one statement each.

    The store runs them inside one transaction together with the version bump
    (``executescript`` would commit on its own).
    """
    if not 1 <= version <= SCHEMA_VERSION:
        raise ValueError(f"no migration {version} (known: 1..{SCHEMA_VERSION})")
    layout = _layout(backend, version - 1)
    out: list[str] = []
    for step in MIGRATIONS[version - 1]:
        out += _render(step, layout)
        layout.apply(step)
    return out


async def prepare(db: aiosqlite.Connection, *, path: Path, busy_timeout_ms: int) -> list[int]:
    """Make a fresh connection ready: busy timeout, integrity check, WAL, ``synchronous=FULL``,
    foreign keys, then every missing migration. Returns the versions it applied.

    Raises ``JournalError`` for a corrupt file, a newer schema or a file that cannot use WAL;
    ``sqlite3`` errors propagate for the store to translate.
    """
    if sqlite3.sqlite_version_info < (3, 35, 0):  # RETURNING, ON CONFLICT DO NOTHING (core.py)
        raise JournalError(
            f"journal {path}: SQLite {sqlite3.sqlite_version} is too old (3.35 or newer needed): "
            "run autobot with a Python linked against a newer SQLite"
        )
    await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
    if int((await fetch_one(db, "PRAGMA page_count", ()))[0]) == 0:
        # a new file: pruned pages can go back to the file system (journal/retention.py); the
        # mode can only be chosen before the first page is written
        await db.execute("PRAGMA auto_vacuum = INCREMENTAL")
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
