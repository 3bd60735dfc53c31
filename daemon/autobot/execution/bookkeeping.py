"""The journal side of the executor: how an action's row moves, and what the incident log says.

``Bookkeeper`` turns the executor's decisions into journal writes: each change is made only from
the state the executor read (``expect``), and an incident that belongs to a change is written in
the same commit. Endings follow docs/decisions.md §9:

* ``conclude`` — the outcome is decided: an action a bot attests goes to ``recording`` (the record
  transaction is what clears the pending slot); one without a bot ends at once;
* ``moot`` — the chain already shows the goal: recorded as a success when a slot is ours to clear,
  with an incident saying so;
* ``park`` — needs a person (incident says why, and whether a pending slot is still held);
* ``retry_later`` / ``defer`` — a "not yet" abort or a transport error: look again after a backoff,
  never a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Unpack

import structlog

from autobot.domain.actions import ActionKey
from autobot.errors import RpcProtocolError, TransientError
from autobot.execution.outcomes import TERMINAL_STATE, backoff_seconds
from autobot.execution.telemetry import PARKED, ExecutionMetrics, NullExecutionMetrics
from autobot.journal.protocol import ActionChanges, Journal
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    IncidentType,
    NewIncident,
    Outcome,
)

__all__ = ["BUSY_WAIT_SECONDS", "SLOT_STATES", "Bookkeeper", "StepResult", "restart"]

log = structlog.get_logger(__name__)

BUSY_WAIT_SECONDS = 86_400
"""Chain seconds an action waits for a busy bot at the most: a slot's end makes it due first."""

SLOT_STATES = frozenset(
    {ActionState.ANNOUNCED, ActionState.WAITING, ActionState.EXECUTING, ActionState.RECORDING}
)
"""States in which an action of a timelocked bot holds (or is taking) the bot's pending slot."""


def restart(**extra: Unpack[ActionChanges]) -> ActionChanges:
    """Changes that send an action back to ``planned`` with nothing fixed (new time, new hash)."""
    changes: ActionChanges = {
        "state": ActionState.PLANNED,
        "operator": None,
        "timelock_secs": None,
        "execute_at": None,
        "action_hash": None,
        "calls": None,
        "progress": 0,
        "outcome": None,
    }
    changes.update(extra)
    return changes


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """Where an action stands after ``Executor.advance``: look again at ``next_check_at`` (chain
    seconds), or ``soon`` (a transaction is in flight), or never (a terminal state)."""

    key: ActionKey
    state: ActionState
    next_check_at: int | None = None
    soon: bool = False


def _holds_slot(record: ActionRecord) -> bool:
    """The action's announcement occupies its bot's pending slot (or is on its way there)."""
    return bool(record.timelock_secs) and record.state in SLOT_STATES


def _hash(record: ActionRecord) -> str:
    return "0x" + (record.action_hash or b"").hex()


class Bookkeeper:
    """Journal writes for action transitions, with their incidents and metrics."""

    def __init__(
        self,
        *,
        journal: Journal,
        metrics: ExecutionMetrics | None = None,
        responsible: str = "autobot",
        retry_base_seconds: int = 15,
        retry_max_seconds: int = 300,
    ) -> None:
        """``responsible`` signs the incidents; a retry waits ``retry_base_seconds`` of chain time,
        doubling with each attempt up to ``retry_max_seconds``."""
        self._journal = journal
        self._metrics = metrics if metrics is not None else NullExecutionMetrics()
        self._responsible = responsible
        self._base = retry_base_seconds
        self._cap = retry_max_seconds

    @property
    def responsible(self) -> str:
        """Who signs the incidents."""
        return self._responsible

    async def get(self, key: ActionKey) -> ActionRecord:
        record = await self._journal.get_action(str(key))
        if record is None:
            raise KeyError(f"no journaled action {key}")
        return record

    async def update(
        self,
        record: ActionRecord,
        now: int,
        *,
        incident: NewIncident | None = None,
        incidents: Sequence[NewIncident] = (),
        **changes: Unpack[ActionChanges],
    ) -> ActionRecord:
        """Change ``record`` from the state it was read in (a second writer fails loudly)."""
        return await self._journal.update_action(
            record.key,
            expect={record.state},
            chain_now=now,
            incident=incident,
            incidents=incidents,
            **changes,
        )

    def incident(
        self, record: ActionRecord, kind: IncidentType, text: str, *, tx_hash: str | None = None
    ) -> NewIncident:
        return NewIncident(
            type=kind,
            description=text,
            responsible=self._responsible,
            action_key=record.key,
            action_hash=record.action_hash,
            tx_hash=tx_hash,
        )

    def backoff(self, record: ActionRecord) -> int:
        return backoff_seconds(record.attempts, base=self._base, cap=self._cap)

    @staticmethod
    def wait(record: ActionRecord, until: int) -> StepResult:
        return StepResult(key=record.action_key, state=record.state, next_check_at=until)

    @staticmethod
    def soon(record: ActionRecord) -> StepResult:
        return StepResult(key=record.action_key, state=record.state, soon=True)

    # ------------------------------------------------------------------ endings

    async def conclude(
        self,
        record: ActionRecord,
        now: int,
        outcome: Outcome,
        *,
        code: int | None = None,
        name: str | None = None,
        incident: str | None = None,
    ) -> None:
        """The outcome is decided: record it under the bot, or end now if nothing is attested."""
        note = self.incident(record, IncidentType.INCIDENT, incident) if incident else None
        if record.action_id is None or record.operator is None:
            await self.finish(record, now, outcome, code=code, name=name, incident=note)
            return
        await self.update(
            record,
            now,
            state=ActionState.RECORDING,
            outcome=outcome,
            error_code=code,
            error_name=name,
            next_check_at=None,
            incident=note,
        )

    async def moot(self, record: ActionRecord, now: int) -> None:
        """The chain moved on. A slot we hold is still cleared (``record_success``), and said so;
        with no slot to clear (not announced, or a timelock-0 bot) the action just ends."""
        log.info("action_moot", stage=record.state.value)
        if not _holds_slot(record):
            await self.finish(record, now, Outcome.MOOT)
            return
        text = (
            f"{record.key} is moot: the chain already shows its goal; clearing the pending slot "
            f"of {record.operator} with record_success (hash {_hash(record)})"
        )
        await self.conclude(record, now, Outcome.MOOT, incident=text)

    async def finish(
        self,
        record: ActionRecord,
        now: int,
        outcome: Outcome,
        *,
        code: int | None = None,
        name: str | None = None,
        tx_hash: str | None = None,
        incident: NewIncident | None = None,
    ) -> None:
        state = TERMINAL_STATE[outcome]
        changes: ActionChanges = {"state": state, "outcome": outcome, "next_check_at": None}
        if code is not None:
            changes["error_code"] = code
            changes["error_name"] = name
        await self.update(record, now, incident=incident, **changes)
        self._metrics.action_finished(record.kind, outcome.value)
        log.debug("action_finished", state=state.value, outcome=outcome.value, tx_hash=tx_hash)

    async def park(self, record: ActionRecord, now: int, reason: str) -> StepResult:
        """Needs a person: stop, and say why in the journal and the incident log."""
        slot = ""
        if record.action_hash and _holds_slot(record):
            slot = f"; the pending slot of {record.operator} may still hold {_hash(record)}"
        text = f"{record.key} parked in {record.state.value}: {reason}{slot}"
        log.error("action_parked", reason=reason, state=record.state.value)
        await self.update(
            record,
            now,
            state=ActionState.PARKED,
            error_message=reason,
            next_check_at=None,
            incident=self.incident(record, IncidentType.INCIDENT, text),
        )
        self._metrics.action_finished(record.kind, PARKED)
        return StepResult(key=record.action_key, state=ActionState.PARKED)

    # ------------------------------------------------------------------ waiting

    async def retry_later(
        self,
        record: ActionRecord,
        now: int,
        *,
        message: str,
        code: int | None = None,
        name: str | None = None,
    ) -> StepResult:
        """Look again after a backoff (a "not yet" abort, no bot free, a refused announce)."""
        until = now + self.backoff(record)
        await self.update(
            record,
            now,
            attempts=record.attempts + 1,
            next_check_at=until,
            error_code=code,
            error_name=name,
            error_message=message,
        )
        return self.wait(record, until)

    async def wait_for_bot(self, record: ActionRecord, now: int, *, message: str) -> StepResult:
        """Every bot that could take it holds a slot for another of our actions: wait until one
        of those ends (``Executor`` makes it due then), ``BUSY_WAIT_SECONDS`` at the most."""
        until = now + BUSY_WAIT_SECONDS
        await self.update(record, now, next_check_at=until, error_message=message)
        return self.wait(record, until)

    async def defer(
        self, key: ActionKey, now: int, exc: TransientError | RpcProtocolError
    ) -> StepResult:
        """A transport error or a garbled answer: try again after a backoff; never a failure."""
        log.warning("action_deferred", error=str(exc), error_type=type(exc).__name__)
        record = await self.get(key)
        until = now + self.backoff(record)
        await self.update(record, now, attempts=record.attempts + 1, next_check_at=until)
        return self.wait(record, until)
