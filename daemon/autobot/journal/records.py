"""Frozen rows of the journal: actions, signed transactions, operator requests, incidents.

The journal does not know recipes or calls as types: the executor hands it their JSON text
(``Recipe.to_json``, the calls' rendering) and reads it back. What the journal does know is the
life of an action and of a transaction, as enums:

Action states (docs/architecture.md)::

    planned ─▶ announced ─▶ waiting ─▶ executing ─▶ recording ─▶ done
       │            (timelock > 0 only)     ▲             │  └───▶ failed | moot | parked
       └──────────── timelock 0 / no bot ───┘             └──▶ done | failed | moot (no bot)
    any open state ─▶ parked (needs a person) ─▶ planned (operator "retry")

Transaction states: ``signed`` (journaled, maybe submitted) → ``submitted`` (a node took it) →
``committed`` (executed, success) | ``aborted`` (executed, Move abort: the sequence number is used)
| ``dropped`` (provably never executed: refused by the node, or expired and absent; the sequence
number is free again).
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol, Self

from autobot.domain.actions import ActionKey, ActionKind

__all__ = [
    "OPEN_ACTION_STATES",
    "TERMINAL_ACTION_STATES",
    "ActionRecord",
    "ActionState",
    "Incident",
    "IncidentType",
    "NewAction",
    "NewIncident",
    "NewTransaction",
    "Outcome",
    "RequestKind",
    "RequestRecord",
    "RequestState",
    "Row",
    "TxPurpose",
    "TxRecord",
    "TxSettlement",
    "TxState",
    "from_sqlite_u64",
    "to_sqlite_u64",
]


class Row(Protocol):
    """A database row addressable by column name (``sqlite3.Row``)."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class ActionState(enum.StrEnum):
    PLANNED = "planned"  # journaled; no transaction signed for it yet (hash may be fixed)
    ANNOUNCED = "announced"  # announce_dry_run signed and journaled, not yet seen on chain
    WAITING = "waiting"  # the announcement is on chain; waiting for execute_at (chain time)
    EXECUTING = "executing"  # admin calls in progress (``progress`` = next call index)
    RECORDING = "recording"  # outcome decided; record_success/record_failure in progress
    DONE = "done"  # executed (and recorded, when a bot attests it)
    FAILED = "failed"  # the plan could not run (record_failure landed, or no bot to record)
    MOOT = "moot"  # the chain moved on; a pending slot, if any, was cleared
    PARKED = "parked"  # needs a person (see error_* and the incident log)


TERMINAL_ACTION_STATES: frozenset[ActionState] = frozenset(
    {ActionState.DONE, ActionState.FAILED, ActionState.MOOT, ActionState.PARKED}
)
OPEN_ACTION_STATES: frozenset[ActionState] = frozenset(ActionState) - TERMINAL_ACTION_STATES


class Outcome(enum.StrEnum):
    """What ``recording`` writes on chain, and the terminal state that follows."""

    SUCCESS = "success"  # record_success → done
    FAILURE = "failure"  # record_failure(error_code) → failed
    MOOT = "moot"  # record_success (clears the slot; incident says why) → moot
    ESCALATED = "escalated"  # record_success (clears the slot, not a bot failure) → parked


class TxPurpose(enum.StrEnum):
    ANNOUNCE = "announce"  # operator: announce_dry_run
    EXECUTE = "execute"  # admin (or admin + operator): one call of the recipe
    RECORD = "record"  # operator: record_success / record_failure


class TxState(enum.StrEnum):
    SIGNED = "signed"
    SUBMITTED = "submitted"
    COMMITTED = "committed"
    ABORTED = "aborted"
    DROPPED = "dropped"

    @property
    def live(self) -> bool:
        """May still execute on chain (its sequence number is taken)."""
        return self in (TxState.SIGNED, TxState.SUBMITTED)

    @property
    def consumed(self) -> bool:
        """Executed on chain: its sequence number is used for good."""
        return self in (TxState.COMMITTED, TxState.ABORTED)


class RequestKind(enum.StrEnum):
    """What an operator asked for: work of an ``ActionKind`` (spelled as the kind), or one of
    the executor's own requests about an existing action."""

    CANCEL = ActionKind.CANCEL.value  # subject: lottery id; params: reason
    CLAMP = ActionKind.CLAMP.value  # subject: asset id (``autobot feed clear-clamp``)
    REFUND = ActionKind.REFUND.value  # subject: lottery id
    ROTATE = ActionKind.ROTATE.value  # subject: operator address or name; params: the new settings
    UNPAUSE = ActionKind.UNPAUSE.value  # subject: "0" (the VRF deposit) (``autobot vrf resume``)
    CLEANUP = ActionKind.CLEANUP.value  # subject: "0" (``autobot roles cleanup``)
    RETRY = "retry"  # subject: action key (a parked or failed action)
    PARK = "park"  # subject: action key

    @property
    def action_kind(self) -> ActionKind | None:
        """The kind of work the request asks the planners for (``None``: retry, park)."""
        return ActionKind(self.value) if self.value in _ACTION_KIND_VALUES else None


_ACTION_KIND_VALUES = frozenset(k.value for k in ActionKind)


class IncidentType(enum.StrEnum):
    """The incident log's event types autobot writes: the handbook's words (docs/decisions.md
    §13: data, not prose, hence the Russian ones). The handbook also has ``Релиз`` and
    ``Backfill``, which only people write (``journal.incident_log.HANDBOOK_TYPES``)."""

    DRY_RUN = "Dry-run"  # an announcement landed (announce_dry_run), or dry-run mode's rehearsal
    INCIDENT = "Инцидент"  # a failure, a parked action, an escalation, an orphan slot, a fallback
    CANCELLATION = "Cancellation"  # a cancellation (cancel_lottery_admin, the VRF exhaustion
    # path) and its refund: every refund batch and the archive
    VRF_TOP_UP = "VRF-пополнение"  # VRF requests resumed (resume_requests, or a healthy snapshot)


class RequestState(enum.StrEnum):
    PENDING = "pending"  # written by the CLI, not yet taken by the daemon
    DONE = "done"  # the daemon acted on it (``result`` says how)
    REJECTED = "rejected"  # the daemon refused it (``result`` says why)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAction:
    """What the executor journals when it first sees a planned action."""

    key: str  # ActionKey's str form "kind:subject:round"
    kind: ActionKind
    subject_id: int
    action_id: int | None
    recipe: str  # JSON text (Recipe.to_json)
    reason: str
    due_at: int  # chain seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRecord:
    """One row of ``actions``. Times named ``*_chain`` are chain seconds, ``*_wall`` host seconds."""

    ENUM_COLUMNS: ClassVar[Mapping[str, type[enum.Enum]]] = {
        "kind": ActionKind,
        "state": ActionState,
        "outcome": Outcome,
    }

    key: str
    kind: ActionKind
    subject_id: int
    action_id: int | None
    recipe: str
    reason: str
    due_at: int
    state: ActionState
    operator: str | None  # the bot that announces/records it (None: no attestation)
    timelock_secs: int | None
    execute_at: int | None  # chain seconds, fixed with the hash
    action_hash: bytes | None  # fixed before the first transaction is signed
    calls: str | None  # JSON text of the materialised admin calls
    progress: int  # index of the next admin call to execute
    outcome: Outcome | None
    attempts: int  # retries after "not yet" aborts and transport errors
    next_check_at: int | None  # chain seconds: do not look before
    error_code: int | None
    error_name: str | None
    error_message: str | None
    created_wall: float
    updated_wall: float
    created_chain: int
    updated_chain: int

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ACTION_STATES

    @property
    def action_key(self) -> ActionKey:
        """``key`` as the typed ``ActionKey``."""
        return ActionKey.parse(self.key)

    @classmethod
    def from_row(cls, row: Row) -> Self:
        """Build from a database row (columns named like the fields)."""
        return cls(**_convert(cls, row))


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTransaction:
    """A signed transaction, journaled before it is submitted."""

    tx_hash: str
    action_key: str
    action_hash: bytes  # the action's hash at signing: an action restarted later has another
    purpose: TxPurpose
    call_index: int  # index into the action's admin calls (0 for announce/record)
    call: str  # JSON text of the call (module, function, typed arguments)
    sender: str
    sequence_number: int
    expires_at: int  # host wall seconds (docs/decisions.md §12)
    raw: bytes  # the exact bytes submitted
    secondary: tuple[str, ...] = ()  # co-signers of a multi-agent transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class TxRecord:
    ENUM_COLUMNS: ClassVar[Mapping[str, type[enum.Enum]]] = {"state": TxState, "purpose": TxPurpose}

    tx_hash: str
    action_key: str
    action_hash: bytes
    purpose: TxPurpose
    call_index: int
    call: str
    secondary: tuple[str, ...]
    sender: str
    sequence_number: int
    expires_at: int
    raw: bytes
    state: TxState
    error_code: int | None
    error_name: str | None
    error_message: str | None
    submissions: int  # how many times these exact bytes were handed to a node
    created_wall: float
    submitted_wall: float | None
    settled_wall: float | None
    epoch: int | None = None  # the leader lease's fencing epoch it was signed under (HA only)

    @classmethod
    def from_row(cls, row: Row) -> Self:
        """Build from a database row (``secondary`` is a JSON list there)."""
        values = _convert(cls, row)
        values["secondary"] = tuple(json.loads(values["secondary"]))
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class TxSettlement:
    """How a transaction ended, written together with the action change it causes."""

    tx_hash: str
    state: TxState  # committed | aborted | dropped
    error_code: int | None = None
    error_name: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """An operator request written by the CLI and carried out by the daemon."""

    ENUM_COLUMNS: ClassVar[Mapping[str, type[enum.Enum]]] = {
        "kind": RequestKind,
        "state": RequestState,
    }

    id: int
    kind: RequestKind
    subject: str
    params: str  # JSON object text
    requested_by: str
    requested_wall: float
    state: RequestState
    handled_wall: float | None
    result: str | None

    @classmethod
    def from_row(cls, row: Row) -> Self:
        """Build from a database row (columns named like the fields)."""
        return cls(**_convert(cls, row))


@dataclass(frozen=True, slots=True, kw_only=True)
class NewIncident:
    """An incident-log row to write (the store stamps the UTC time)."""

    type: IncidentType
    description: str  # names the tx and the action hash where there is one
    responsible: str
    links: str = ""
    action_key: str | None = None
    action_hash: bytes | None = None
    tx_hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One row of the incident log (handbook format: UTC time, type, description, responsible, links)."""

    id: int
    at_utc: str  # "YYYY-MM-DD HH:MM"
    wall: float
    type: str  # as written (an ``IncidentType`` value; older journals may hold other words)
    description: str
    responsible: str
    links: str
    action_key: str | None
    action_hash: str | None  # 0x hex
    tx_hash: str | None

    @classmethod
    def from_row(cls, row: Row) -> Self:
        """Build from a database row (columns named like the fields)."""
        return cls(**_convert(cls, row))


_U64_COLUMNS = frozenset({"error_code"})
"""Integer columns holding any u64 (Move abort codes), stored as the signed 64-bit integer with
the same bits: SQLite's INTEGER is signed, and a node may report ``0xffffffffffffffff``."""


def to_sqlite_u64(value: int | None) -> int | None:
    """A u64 as the signed 64-bit integer with the same bits (``None`` stays ``None``)."""
    if value is None or value < 1 << 63:
        return value
    return value - (1 << 64) if value < 1 << 64 else value  # larger: let sqlite3 refuse it


def from_sqlite_u64(value: int | None) -> int | None:
    """The inverse of ``to_sqlite_u64``."""
    return value + (1 << 64) if value is not None and value < 0 else value


@functools.cache
def _columns(cls: type) -> tuple[tuple[str, type[enum.Enum] | None, bool], ...]:
    """``cls``'s columns as ``_convert`` reads them: (name, its enum or None, is it a u64)."""
    enums: Mapping[str, type[enum.Enum]] = getattr(cls, "ENUM_COLUMNS", {})
    return tuple((f.name, enums.get(f.name), f.name in _U64_COLUMNS) for f in fields(cls))


def _convert(cls: type, row: Row) -> dict[str, Any]:
    """Row → keyword arguments: enum columns through their enum, BLOBs as ``bytes``."""
    out: dict[str, Any] = {}
    for name, enum_type, u64 in _columns(cls):
        value = row[name]
        if value is not None and enum_type is not None:
            value = enum_type(value)
        elif isinstance(value, memoryview):
            value = bytes(value)
        elif u64:
            value = from_sqlite_u64(value)
        out[name] = value
    return out
