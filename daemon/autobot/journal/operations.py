"""The journal's operations tables: operator requests, the incident log, lottery bookkeeping.

A mixin of ``JournalCore`` (``core.py``), whose back ends provide the connection, the write lock
and the translation of database errors; this module only holds the SQL of these three concerns.

* **Requests** — written by the CLI (``cancel``, ``clear-clamp``, ``refund``, ``retry``, ``park``,
  ``rotate``), carried out by the daemon, which marks each ``done`` or ``rejected`` with a reason.
* **Incident log** — the handbook's table: UTC minute, type, description (naming the transaction
  and the action hash), responsible, links; newest first.
* **Lotteries** — those known terminal (finalized, or canceled and archived: never read again)
  and per-lottery next-check times (chain seconds).
* **Event counts** — events counted exactly once across restarts (``price_feed_updates_total``):
  a cursor per event type and a count per subject, written together.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from autobot.clock import Clock
from autobot.errors import JournalConflict
from autobot.journal.records import (
    Incident,
    NewIncident,
    RequestKind,
    RequestRecord,
    RequestState,
    Row,
)

if TYPE_CHECKING:
    from autobot.journal.core import Conn

__all__ = ["EventCounts", "OperationsTables"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCounts:
    """An event type's counting so far: the first block not yet counted, how many events were
    counted (the type's handle counter at that block), and the count per subject."""

    next_height: int
    seen: int
    counts: Mapping[int, int]


class OperationsTables:
    """Requests, incidents and lottery bookkeeping (mixed into ``JournalCore``)."""

    _clock: Clock

    @property
    def location(self) -> str:
        raise NotImplementedError  # the back end

    def _write(self, doing: str, *, fenced: bool = True) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError  # the back end: one database transaction under the lock

    async def _read(self, doing: str, sql: str, params: Collection[Any] = ()) -> list[Row]:
        raise NotImplementedError  # the back end

    # ------------------------------------------------------------------ operator requests

    async def add_request(
        self,
        kind: RequestKind,
        subject: str,
        *,
        requested_by: str,
        params: Mapping[str, object] | None = None,
    ) -> RequestRecord:
        """Written by the CLI: the daemon carries it out on its next sweep. Never fenced: an
        operator's request does not depend on which instance leads."""
        text = json.dumps(dict(params or {}), sort_keys=True)
        async with self._write("adding an operator request", fenced=False) as db:
            row = await db.fetch_one(
                "INSERT INTO requests (kind, subject, params, requested_by, requested_wall)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (kind.value, subject, text, requested_by, self._clock.wall()),
            )
        return RequestRecord.from_row(row)

    async def pending_requests(self) -> list[RequestRecord]:
        found = await self._read(
            "listing requests", "SELECT * FROM requests WHERE state = 'pending' ORDER BY id"
        )
        return [RequestRecord.from_row(r) for r in found]

    async def get_request(self, request_id: int) -> RequestRecord | None:
        """One request by id, in any state (``autobot … --wait`` follows it)."""
        found = await self._read(
            f"reading request {request_id}", "SELECT * FROM requests WHERE id = ?", (request_id,)
        )
        return RequestRecord.from_row(found[0]) if found else None

    async def finish_request(
        self, request_id: int, *, state: RequestState, result: str
    ) -> RequestRecord:
        """Mark a pending request ``done`` or ``rejected`` with a human ``result``;
        ``JournalConflict`` if it is not pending (any more)."""
        if state is RequestState.PENDING:
            raise ValueError("finishing a request needs done or rejected")
        async with self._write(f"finishing request {request_id}") as db:
            row = await db.fetch_optional(
                "UPDATE requests SET state = ?, result = ?, handled_wall = ?"
                " WHERE id = ? AND state = 'pending' RETURNING *",
                (state.value, result, self._clock.wall(), request_id),
            )
            if row is None:  # finished meanwhile (the executor, at a step's boundary)
                raise JournalConflict(f"request {request_id} is not pending (handled already?)")
        return RequestRecord.from_row(row)

    # ------------------------------------------------------------------ incident log

    async def add_incident(self, incident: NewIncident) -> Incident:
        """Append an incident-log row stamped with the current UTC minute."""
        async with self._write("adding an incident") as db:
            return await self._incident(db, incident)

    async def _incident(self, db: Conn, new: NewIncident) -> Incident:
        wall = self._clock.wall()
        at_utc = datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%d %H:%M")
        hash_hex = None if new.action_hash is None else "0x" + new.action_hash.hex()
        row = await db.fetch_one(
            "INSERT INTO incidents (at_utc, wall, type, description, responsible, links,"
            " action_key, action_hash, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (at_utc, wall, new.type, new.description, new.responsible, new.links,
             new.action_key, hash_hex, new.tx_hash),
        )  # fmt: skip
        return Incident.from_row(row)

    async def incidents(self, *, limit: int = 100) -> list[Incident]:
        """The incident log, newest first (by the journal's own sequence, never the host clock)."""
        found = await self._read(
            "listing incidents",
            "SELECT * FROM incidents ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [Incident.from_row(r) for r in found]

    # ------------------------------------------------------------------ lotteries

    async def mark_terminal(self, lottery_id: int, *, status: int, chain_now: int) -> None:
        """Remember a finalized or archived lottery so it is not read again."""
        async with self._write(f"marking lottery {lottery_id} terminal") as db:
            await db.execute(
                "INSERT INTO terminal_lotteries (lottery_id, status, marked_wall, marked_chain)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (lottery_id) DO NOTHING",
                (lottery_id, status, self._clock.wall(), chain_now),
            )
            await db.execute("DELETE FROM lottery_checks WHERE lottery_id = ?", (lottery_id,))

    async def mark_terminal_many(self, statuses: Mapping[int, int], *, chain_now: int) -> None:
        """``mark_terminal`` for many lotteries (lottery id → status) in one commit."""
        if not statuses:
            return
        async with self._write(f"marking {len(statuses)} lotteries terminal") as db:
            wall = self._clock.wall()
            await db.execute_many(
                "INSERT INTO terminal_lotteries (lottery_id, status, marked_wall, marked_chain)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (lottery_id) DO NOTHING",
                [(i, s, wall, chain_now) for i, s in statuses.items()],
            )
            await db.execute_many(
                "DELETE FROM lottery_checks WHERE lottery_id = ?", [(i,) for i in statuses]
            )

    async def terminal_lotteries(self) -> frozenset[int]:
        found = await self._read(
            "listing terminal lotteries", "SELECT lottery_id FROM terminal_lotteries"
        )
        return frozenset(int(r["lottery_id"]) for r in found)

    async def terminal_statuses(self) -> dict[int, int]:
        """Lotteries known terminal, by id: the status each was marked with (6 or 7)."""
        found = await self._read(
            "listing terminal lotteries", "SELECT lottery_id, status FROM terminal_lotteries"
        )
        return {int(r["lottery_id"]): int(r["status"]) for r in found}

    # ------------------------------------------------------------------ event counts

    async def event_counts(self, event_type: str) -> EventCounts | None:
        """The cursor and counts of ``event_type`` (``None`` before anything was counted)."""
        cursor = await self._read(
            "reading an event cursor",
            "SELECT next_height, seen FROM event_cursors WHERE event_type = ?",
            (event_type,),
        )
        if not cursor:
            return None
        counts = await self._read(
            "reading event counts",
            "SELECT subject_id, count FROM event_counts WHERE event_type = ?",
            (event_type,),
        )
        return EventCounts(
            next_height=int(cursor[0]["next_height"]),
            seen=int(cursor[0]["seen"]),
            counts={int(r["subject_id"]): int(r["count"]) for r in counts},
        )

    async def count_events(
        self, event_type: str, *, next_height: int, seen: int, added: Mapping[int, int]
    ) -> None:
        """Move ``event_type``'s cursor to ``next_height`` (``seen`` events counted in all) and
        add ``added`` (subject → events) to its counts, in one commit."""
        async with self._write(f"counting {event_type} events") as db:
            await db.execute(
                "INSERT INTO event_cursors VALUES (?, ?, ?) ON CONFLICT (event_type) DO UPDATE"
                " SET next_height = excluded.next_height, seen = excluded.seen",
                (event_type, next_height, seen),
            )
            rows = [(event_type, subject, n) for subject, n in sorted(added.items()) if n]
            if rows:
                await db.execute_many(
                    "INSERT INTO event_counts VALUES (?, ?, ?) ON CONFLICT (event_type, subject_id)"
                    " DO UPDATE SET count = event_counts.count + excluded.count",
                    rows,
                )

    async def set_next_check(self, lottery_id: int, chain_ts: int) -> None:
        """Do not read ``lottery_id`` again before chain time ``chain_ts``."""
        async with self._write(f"setting lottery {lottery_id}'s next check") as db:
            await db.execute(
                "INSERT INTO lottery_checks (lottery_id, next_check_at) VALUES (?, ?)"
                " ON CONFLICT (lottery_id) DO UPDATE SET next_check_at = excluded.next_check_at",
                (lottery_id, chain_ts),
            )

    async def next_checks(self) -> dict[int, int]:
        found = await self._read(
            "reading next checks", "SELECT lottery_id, next_check_at FROM lottery_checks"
        )
        return {int(r["lottery_id"]): int(r["next_check_at"]) for r in found}
