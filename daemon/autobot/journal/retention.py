"""Retention: the journal keeps finished work for a while, then exports and prunes it.

A mixin of ``JournalCore`` (``core.py``), like ``operations.py``: it only holds the SQL of this
concern, through the back end's ``_write``/``_read``, so SQLite and PostgreSQL prune the same rows
the same way. The SQL is plain (``DELETE … WHERE key IN``, ``json`` done in Python). Only
``vacuum`` is the back end's own: SQLite gives free pages back to the file system (``PRAGMA
incremental_vacuum``); on PostgreSQL it does nothing, as autovacuum reclaims the deleted rows.

Pruning is a write like any other: on a fenced (HA) journal it runs only while this instance
leads, and a deposed leader's ``prune`` is refused (``FencedOut``) before anything is exported or
deleted.

What is pruned (``prune``), in batches, each exported before it is deleted:

* actions in a **finished** state — ``done``, ``failed``, ``moot`` — last changed (chain time)
  before the cutoff, with all their transactions; **except** the latest ``done`` fallback of each
  asset (the planners read it to know a fallback is autobot's, ``sweep_context``);
* operator requests handled (``done``, ``rejected``) before the cutoff, by the host's wall clock
  (requests carry no chain time; they are only the CLI's mailbox).

Never pruned: open and ``parked`` actions (a person has yet to look), their transactions, the
incident log (the audit trail: it stays, and nothing in it points at a pruned row by key alone),
the terminal lotteries and next-check times (one row per lottery).

The export is JSON lines appended to a file (``export``): one ``{"table": ..., "row": {...}}`` per
row, blobs as hex, flushed and fsynced before the rows are deleted, so a crash between the two
leaves the rows in the journal (exported twice at worst, never lost).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autobot.journal.records import Row

if TYPE_CHECKING:
    from autobot.journal.core import Conn

__all__ = ["FINISHED_STATES", "Pruned", "RetentionTables"]

FINISHED_STATES = ("done", "failed", "moot")
"""Action states whose rows (and transactions) retention may prune."""
_FINISHED_SQL = ", ".join(f"'{state}'" for state in FINISHED_STATES)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pruned:
    """What one ``prune`` call removed (and exported)."""

    actions: int = 0
    transactions: int = 0
    requests: int = 0

    @property
    def rows(self) -> int:
        return self.actions + self.transactions + self.requests


class RetentionTables:
    """Export and prune finished work (mixed into ``JournalCore``)."""

    def _write(self, doing: str, *, fenced: bool = True) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError  # the back end: one database transaction under the lock

    async def _read(self, doing: str, sql: str, params: Collection[Any] = ()) -> list[Row]:
        raise NotImplementedError  # the back end

    async def prune(
        self,
        *,
        chain_before: int,
        wall_before: float,
        export: Path,
        batch: int = 500,
    ) -> Pruned:
        """Export to ``export`` and delete at most ``batch`` finished actions last changed before
        chain second ``chain_before`` (with their transactions) and at most ``batch`` requests
        handled before wall second ``wall_before``, in one commit. A result with ``batch``
        actions or requests means more may be left: call again (the caller spreads the calls
        over sweeps, so a sweep's cost stays bounded whatever the history)."""
        async with self._write("pruning finished work") as db:
            actions = list(
                await db.fetch_all(
                    # literal states: SQLite uses the partial index actions_finished only
                    # for a WHERE that spells its condition out
                    f"SELECT * FROM actions WHERE state IN ({_FINISHED_SQL}) "
                    "AND updated_chain < ? "
                    "AND NOT (kind = 'fallback' AND state = 'done' AND key = ("
                    "    SELECT newest.key FROM actions AS newest"
                    "    WHERE newest.kind = 'fallback' AND newest.state = 'done'"
                    "      AND newest.subject_id = actions.subject_id"
                    "    ORDER BY newest.updated_chain DESC, newest.key DESC LIMIT 1)) "
                    "ORDER BY updated_chain, key LIMIT ?",
                    (chain_before, batch),
                )
            )
            keys = [str(row["key"]) for row in actions]
            transactions: list[Row] = []
            for chunk in _chunks(keys, 200):
                marks = ", ".join("?" * len(chunk))
                transactions += await db.fetch_all(
                    f"SELECT * FROM transactions WHERE action_key IN ({marks}) ORDER BY rowid",
                    chunk,
                )
            requests = list(
                await db.fetch_all(
                    "SELECT * FROM requests WHERE state IN ('done', 'rejected') "
                    "AND handled_wall < ? "
                    "ORDER BY id LIMIT ?",
                    (wall_before, batch),
                )
            )
            if not (actions or requests):
                return Pruned()
            lines = [
                *(_line("actions", row) for row in actions),
                *(_line("transactions", row) for row in transactions),
                *(_line("requests", row) for row in requests),
            ]
            # exported (and on disk) before anything is deleted
            await asyncio.to_thread(_append, export, lines)
            for chunk in _chunks(keys, 200):
                marks = ", ".join("?" * len(chunk))
                await db.execute(f"DELETE FROM transactions WHERE action_key IN ({marks})", chunk)
                await db.execute(f"DELETE FROM actions WHERE key IN ({marks})", chunk)
            ids = [int(row["id"]) for row in requests]
            for id_chunk in _chunks(ids, 200):
                marks = ", ".join("?" * len(id_chunk))
                await db.execute(f"DELETE FROM requests WHERE id IN ({marks})", id_chunk)
        return Pruned(actions=len(actions), transactions=len(transactions), requests=len(requests))

    async def vacuum(self, *, pages: int = 1000) -> None:
        """Give back up to ``pages`` free pages to the file system: the back end's own
        (``SqliteJournal``: ``PRAGMA incremental_vacuum``; ``PostgresJournal``: nothing, as
        autovacuum reclaims pruned rows)."""
        raise NotImplementedError


def _chunks[T](items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _line(table: str, row: Row) -> str:
    values = {
        k: (bytes(row[k]).hex() if isinstance(row[k], bytes | memoryview) else row[k])
        for k in row.keys()  # noqa: SIM118
    }
    return json.dumps({"table": table, "row": values}, sort_keys=True)


def _append(path: Path, lines: Sequence[str]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(f"{line}\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())
