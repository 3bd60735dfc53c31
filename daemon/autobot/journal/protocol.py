"""What the rest of autobot may ask of a journal: ``Journal`` (both back ends) and
``LeasedJournal`` (PostgreSQL's leader lease and fencing, for high availability).

The daemon, the executor and the operator CLI type against these protocols, never against a back
end: ``SqliteJournal`` (``store.py``, the embedded default) and ``PostgresJournal``
(``postgres.py``) implement them with the same SQL (``core.py``) and pass the same contract tests
(``tests/unit/journal``). ``journal.open_journal`` picks one from ``[journal] backend``.

Every failure is a ``JournalError`` saying what to do; a write refused because this instance no
longer holds the leader lease is its subclass ``FencedOut``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypedDict, Unpack, runtime_checkable

from autobot.journal.operations import EventCounts
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    Incident,
    NewAction,
    NewIncident,
    NewTransaction,
    Outcome,
    RequestKind,
    RequestRecord,
    RequestState,
    TxRecord,
    TxSettlement,
)
from autobot.journal.retention import Pruned

__all__ = ["ActionChanges", "Journal", "Lease", "LeasedJournal"]


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


class Journal(Protocol):
    """The daemon's durable memory: actions, signed transactions, requests, incidents, lotteries.

    Every write is one database transaction: a row and the state change it implies (a signed
    transaction and its action's new state) land together or not at all, and are durable when the
    call returns (before the transaction's bytes reach a node).
    """

    @property
    def location(self) -> str:
        """Where the journal lives, for people (a file path, or a PostgreSQL URL without
        password)."""
        ...

    async def check_writable(self) -> None: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    # actions
    async def add_action(self, new: NewAction, *, chain_now: int) -> tuple[ActionRecord, bool]: ...
    async def add_actions(
        self, news: Sequence[NewAction], *, chain_now: int
    ) -> list[tuple[ActionRecord, bool]]: ...
    async def get_action(self, key: str) -> ActionRecord | None: ...
    async def open_actions(self) -> list[ActionRecord]: ...
    async def list_actions(
        self,
        *,
        states: Collection[ActionState] = (),
        kinds: Collection[str] = (),
        limit: int = 100,
    ) -> list[ActionRecord]: ...
    async def parked_draws(self) -> list[ActionRecord]: ...
    async def done_fallbacks(self) -> list[ActionRecord]: ...
    async def action_counts(self) -> dict[ActionState, int]: ...
    async def update_action(
        self,
        key: str,
        *,
        expect: Collection[ActionState],
        chain_now: int,
        incident: NewIncident | None = None,
        incidents: Sequence[NewIncident] = (),
        **changes: Unpack[ActionChanges],
    ) -> ActionRecord: ...

    # transactions
    async def add_transaction(
        self,
        tx: NewTransaction,
        *,
        expect: Collection[ActionState],
        chain_now: int,
        **changes: Unpack[ActionChanges],
    ) -> TxRecord: ...
    async def add_transactions(
        self,
        txs: Sequence[NewTransaction],
        *,
        expect: Collection[ActionState],
        chain_now: int,
        **changes: Unpack[ActionChanges],
    ) -> list[TxRecord]: ...
    async def live_sequences(self, sender: str) -> list[int]: ...
    async def mark_submitted(self, tx_hash: str) -> TxRecord: ...
    async def settle_transaction(self, s: TxSettlement) -> TxRecord: ...
    async def settle_transactions(self, settlements: Sequence[TxSettlement]) -> list[TxRecord]: ...
    async def correct_transaction(self, s: TxSettlement) -> TxRecord: ...
    async def same_sequence(self, sender: str, sequence_number: int) -> list[TxRecord]: ...
    async def get_transaction(self, tx_hash: str) -> TxRecord | None: ...
    async def known_hashes(self, tx_hashes: Collection[str]) -> set[str]: ...
    async def transactions(self, action_key: str) -> list[TxRecord]: ...
    async def live_transactions(self, sender: str | None = None) -> list[TxRecord]: ...
    async def highest_sequence(self, sender: str, *, include_live: bool = True) -> int | None: ...

    # operator requests, incidents, lotteries
    async def add_request(
        self,
        kind: RequestKind,
        subject: str,
        *,
        requested_by: str,
        params: Mapping[str, object] | None = None,
    ) -> RequestRecord: ...
    async def pending_requests(self) -> list[RequestRecord]: ...
    async def get_request(self, request_id: int) -> RequestRecord | None: ...
    async def finish_request(
        self, request_id: int, *, state: RequestState, result: str
    ) -> RequestRecord: ...
    async def add_incident(self, incident: NewIncident) -> Incident: ...
    async def incidents(self, *, limit: int = 100) -> list[Incident]: ...
    async def mark_terminal(self, lottery_id: int, *, status: int, chain_now: int) -> None: ...
    async def mark_terminal_many(self, statuses: Mapping[int, int], *, chain_now: int) -> None: ...
    async def terminal_lotteries(self) -> frozenset[int]: ...
    async def terminal_statuses(self) -> dict[int, int]: ...
    async def event_counts(self, event_type: str) -> EventCounts | None: ...
    async def count_events(
        self, event_type: str, *, next_height: int, seen: int, added: Mapping[int, int]
    ) -> None: ...
    async def set_next_check(self, lottery_id: int, chain_ts: int) -> None: ...
    async def next_checks(self) -> dict[int, int]: ...

    # retention (journal/retention.py)
    async def prune(
        self, *, chain_before: int, wall_before: float, export: Path, batch: int = 500
    ) -> Pruned: ...
    async def vacuum(self, *, pages: int = 1000) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """The leader lease as one ``acquire_or_renew`` (or ``lease``) call found or left it.

    All times are the database's (``now()``): hosts' clocks never decide who leads.
    """

    epoch: int  # the fencing epoch: +1 at every takeover (0: nobody ever led)
    holder: str | None  # instance_id of the leader (None: never held)
    expires_at: datetime | None  # database time; the lease is free from then on
    acquired: bool  # the caller holds it now (taken over, or renewed)
    took_over: bool = False  # this call started a new epoch (a takeover, or a fresh start)
    remaining_seconds: float = 0.0  # expires_at - now() as the database saw it at the call

    @property
    def live(self) -> bool:
        """Someone holds it (at the database's time of the call)."""
        return self.holder is not None and self.remaining_seconds > 0


@runtime_checkable
class LeasedJournal(Journal, Protocol):
    """A journal shared by several instances, of which one leads (``[ha] enabled``).

    * ``acquire_or_renew`` takes the lease if it is free or expired (a takeover: ``epoch + 1``)
      or renews it if the caller holds it (same epoch); otherwise it reports the holder.
    * ``fence(epoch)`` binds this journal's writes to an epoch: from then on every write checks,
      in its own database transaction, that the lease still has that epoch and has not expired,
      and raises ``FencedOut`` (changing nothing) if not. A deposed leader cannot record or send.
    * ``release`` ends a lease early (a clean stop) so a standby takes over at once.
    * ``require_fence()`` (an HA daemon, at once after opening) refuses every write until ``fence``
      binds an epoch, so a standby, never fenced, cannot write either.
    """

    @property
    def fenced_epoch(self) -> int | None: ...

    async def acquire_or_renew(self, instance_id: str, lease_seconds: float) -> Lease: ...
    async def lease(self) -> Lease: ...
    async def release(self, instance_id: str) -> bool: ...
    def require_fence(self) -> None: ...
    def fence(self, epoch: int) -> None: ...
