"""The journal's SQL, once for both back ends: ``JournalCore``.

``SqliteJournal`` (``store.py``) and ``PostgresJournal`` (``postgres.py``) are this class on a
connection of their own. A back end provides

* ``_write(doing, fenced=...)``: an async context manager holding one database transaction on a
  ``Conn``, committed when the block ends and rolled back if it raises, under the journal's lock,
  with every database error translated to ``JournalError`` (what to do about it) in the back end's
  one translating function; a fenced journal checks its epoch there, in the same transaction;
* ``_read(doing, sql, params)``: one statement outside a write;
* ``location``: the file, or the database URL without its password, for messages.

The SQL here is the dialect both understand (SQLite ≥ 3.35 and PostgreSQL ≥ 12): ``?`` parameters
(PostgreSQL's ``Conn`` turns them into ``%s``), ``INSERT ... ON CONFLICT``, ``RETURNING *``, rows
read by column name, ``rowid`` for write order (an identity column on PostgreSQL, see
``schema.py``). The operations tables' SQL (requests, incidents, lotteries) is in
``operations.py``, mixed in here.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, Self, Unpack

from autobot.clock import Clock
from autobot.errors import JournalError
from autobot.journal.operations import OperationsTables
from autobot.journal.protocol import ActionChanges
from autobot.journal.records import (
    OPEN_ACTION_STATES,
    ActionRecord,
    ActionState,
    NewAction,
    NewIncident,
    NewTransaction,
    Outcome,
    Row,
    TxRecord,
    TxSettlement,
    to_sqlite_u64,
)

__all__ = ["Conn", "JournalCore"]


class Conn(Protocol):
    """A database connection as the shared SQL uses it (inside ``_write``, or for a read)."""

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    async def fetch_optional(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row:
        """The one row ``sql`` selects (inside a transaction, where it must exist)."""
        ...


_OPEN = tuple(sorted(s.value for s in OPEN_ACTION_STATES))


class JournalCore(OperationsTables):
    """Actions and transactions (and, mixed in, requests, incidents, lotteries) over a ``Conn``."""

    _clock: Clock
    _epoch: int | None = None  # a fenced journal's epoch: stamped on every transaction it signs

    @property
    def location(self) -> str:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _write(self, doing: str, *, fenced: bool = True) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    async def _read(self, doing: str, sql: str, params: Collection[Any] = ()) -> list[Row]:
        raise NotImplementedError

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
                row = await db.fetch_optional(
                    "INSERT INTO actions (key, kind, subject_id, action_id, recipe,"
                    " reason, due_at, state, created_wall, updated_wall, created_chain,"
                    " updated_chain) VALUES (?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?, ?, ?)"
                    " ON CONFLICT (key) DO NOTHING RETURNING *",
                    (new.key, new.kind, new.subject_id, new.action_id, new.recipe, new.reason,
                     new.due_at, wall, wall, chain_now, chain_now),
                )  # fmt: skip
                created = row is not None
                if row is None:  # known: kept as it is
                    row = await db.fetch_one("SELECT * FROM actions WHERE key = ?", (new.key,))
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
            "counting actions", "SELECT state, COUNT(*) AS n FROM actions GROUP BY state"
        )
        counts = dict.fromkeys(ActionState, 0)
        for row in found:
            counts[ActionState(row["state"])] = int(row["n"])
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
        db: Conn,
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
        row = await db.fetch_optional(
            f"UPDATE actions SET {sets} WHERE key = ? AND state IN ({', '.join('?' * len(states))})"
            " RETURNING *",
            (*values.values(), key, *states),
        )
        if row is not None:
            return ActionRecord.from_row(row)
        found = await db.fetch_optional("SELECT state FROM actions WHERE key = ?", (key,))
        if found is None:
            raise JournalError(f"journal {self.location}: no action {key}")
        raise JournalError(
            f"journal {self.location}: action {key} is {found['state']}, expected one of "
            f"{sorted(states)} (two writers for one action?)"
        )

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
        insert = (
            "INSERT INTO transactions (tx_hash, action_key, action_hash, purpose, call_index,"
            " call, secondary, sender, sequence_number, expires_at, raw, state, created_wall,"
            " epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?, ?)"
        )
        async with self._write(f"journaling {len(txs)} transaction(s)") as db:
            wall = self._clock.wall()
            values = [(tx.tx_hash, tx.action_key, tx.action_hash, tx.purpose.value, tx.call_index,
                       tx.call, json.dumps(list(tx.secondary)), tx.sender, tx.sequence_number,
                       tx.expires_at, tx.raw, wall, self._epoch) for tx in txs]  # fmt: skip
            if len(txs) == 1:  # the usual case: the row comes back with the insert
                rows = [await db.fetch_one(insert + " RETURNING *", values[0])]
            else:
                await db.execute_many(insert, values)
                marks = ", ".join("?" * len(txs))
                rows = await db.fetch_all(
                    f"SELECT * FROM transactions WHERE tx_hash IN ({marks})",
                    [t.tx_hash for t in txs],
                )
            for key in dict.fromkeys(tx.action_key for tx in txs):
                await self._update(db, key, expect, chain_now, changes)
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
        return [int(r["sequence_number"]) for r in found]

    async def mark_submitted(self, tx_hash: str) -> TxRecord:
        """A node accepted (or re-accepted) these bytes: count it; ``signed`` becomes ``submitted``."""
        async with self._write(f"marking {tx_hash} submitted") as db:
            row = await db.fetch_one(
                "UPDATE transactions SET submissions = submissions + 1, submitted_wall = ?,"
                " state = CASE state WHEN 'signed' THEN 'submitted' ELSE state END"
                " WHERE tx_hash = ? RETURNING *",
                (self._clock.wall(), tx_hash),
            )
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
                row = await db.fetch_optional(
                    "UPDATE transactions SET state = ?, error_code = ?, error_name = ?,"
                    " error_message = ?, settled_wall = ?"
                    " WHERE tx_hash = ? AND state IN ('signed', 'submitted') RETURNING *",
                    (s.state.value, to_sqlite_u64(s.error_code), s.error_name, s.error_message,
                     wall, s.tx_hash),
                )  # fmt: skip
                if row is not None:
                    settled.append(TxRecord.from_row(row))
            return settled

    async def _settle(self, db: Conn, s: TxSettlement) -> TxRecord:
        if s.state.live:
            raise ValueError(f"a settlement ends a transaction; {s.state} is not an end")
        row = await db.fetch_optional(
            "UPDATE transactions SET state = ?, error_code = ?, error_name = ?, error_message = ?,"
            " settled_wall = ? WHERE tx_hash = ? RETURNING *",
            (s.state.value, to_sqlite_u64(s.error_code), s.error_name, s.error_message,
             self._clock.wall(), s.tx_hash),
        )  # fmt: skip
        if row is None:
            raise JournalError(f"journal {self.location}: no transaction {s.tx_hash}")
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
            "SELECT MAX(sequence_number) AS highest FROM transactions WHERE sender = ?"
            f" AND state IN ({', '.join('?' * len(states))})",
            (sender, *states),
        )
        value = found[0]["highest"]
        return None if value is None else int(value)


def _column(name: str, value: object) -> object:
    if name == "error_code" and isinstance(value, int):
        return to_sqlite_u64(value)
    return value.value if isinstance(value, ActionState | Outcome) else value
