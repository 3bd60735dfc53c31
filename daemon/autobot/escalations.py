"""What needs a person, sweep after sweep: escalations, parked actions, the VRF deposit's pause.

Every sweep hands its plan (``PlanResult``), its snapshot and the journal's count of parked actions
to ``Escalations.update``, which answers what needs attention now (``Attention``: a reason and a
subject; the metric ``autobot_escalations`` and the alert ``AutobotEscalation``), writes one
incident-log row when an episode begins, and names the actions to start again:

* **planner escalations** (``planning.plan.Escalation``): one row when one appears (``Инцидент``,
  ``"<kind> <subject>: <reason>"``). ``vrf_pending`` is not written here: the executor's row for the
  ``E_VRF_PENDING`` refusal is that event's row (it names the action and its hash);
* **parked actions** whose work the chain does not show done (their subject still there, their
  recipe's goal not reached): each needs a person (``parked_<kind>``); the executor wrote their
  row when it parked them. Actions parked ``escalated`` are left out: a strict-VRF draw is the
  planner's ``vrf_pending``, and one refused by pre-flight is the planner's escalation of its
  refusal — and is started again (``retry``) once the chain shows its preconditions hold;
* **the deposit's pause**: a row when requests are paused (``Инцидент``) and one when they run
  again (``VRF-пополнение``, linking autobot's ``resume_requests`` transaction when it was ours).

An episode is written once: across restarts too, since the first update reads back which
episodes the incident log already holds (its newest rows) and writes only the ones it does not.
An episode that ended and begins again is a new event, with a new row.

**Open incidents against the SLA** (the playbook's maturity figure: an incident is dealt with
within 24 h when its priority is high, 72 h when medium): every attention is an open incident of
the priority ``priority_of`` gives its reason (docs/decisions.md §15), open since its episode
began — the wall time of its incident-log row when the log already held it at a restart, of the
update that first saw it otherwise, of the parking for a parked action. ``EscalationUpdate.open``
counts them per priority (metrics ``autobot_incidents_open``,
``autobot_incidents_open_over_sla``, ``autobot_incidents_open_oldest_seconds``).
"""

from __future__ import annotations

import enum
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from autobot.domain.actions import ActionKey, ActionKind, Subject
from autobot.domain.snapshot import Snapshot
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    Incident,
    IncidentType,
    NewIncident,
    Outcome,
    TxPurpose,
    TxState,
)
from autobot.planning import PlanResult
from autobot.planning.plan import Recipe
from autobot.planning.preconditions import PREFLIGHT_CODES
from autobot.planning.recipes import recipe_from_json

__all__ = [
    "DEPOSIT",
    "Attention",
    "EscalationUpdate",
    "Escalations",
    "OpenIncidents",
    "Priority",
    "priority_of",
]

log = structlog.get_logger(__name__)

DEPOSIT = "deposit"
PAUSED = "vrf_deposit_paused"
RESUMED = "vrf_deposit_resumed"


class _InFlight:
    """autobot's ``resume_requests`` is sent and not yet settled."""


_IN_FLIGHT = _InFlight()
EXECUTOR_LOGGED = frozenset({"vrf_pending"})
"""Escalations whose row the executor writes (the event is its refused call)."""
READ_BACK = 5_000
"""Incident-log rows read back at the first update: which episodes are already written."""
_ROW = re.compile(r"^(?P<kind>[a-z][a-z_]*) (?P<subject>\S+?): ")
"""An escalation's row: ``"<kind> <subject>: <reason>"`` (a subject may be an action key)."""
_PARKED_LIMIT = 1_000


@dataclass(frozen=True, slots=True, order=True)
class Attention:
    """One thing a person must look at: ``reason`` (an escalation kind, ``parked_<kind>``) and
    ``subject`` (a lottery or asset id, an operator address, ``deposit``)."""

    reason: str
    subject: str


class Priority(enum.StrEnum):
    """An open incident's priority and the time the playbook gives a person to deal with it."""

    HIGH = "high"
    MEDIUM = "medium"

    @property
    def sla_seconds(self) -> int:
        return 86_400 if self is Priority.HIGH else 3 * 86_400


_HIGH = frozenset(
    {
        # players wait for a draw that is not coming, or for their money back
        "vrf_pending",
        "vrf_exhausted",
        "vrf_manual_unscheduled",
        "vrf_requests_paused",
        "closing_without_tickets",
        "bot_unavailable",
        "parked_draw",
        "parked_refund",
        "parked_cancel",
        "parked_unpause",
    }
)


def priority_of(reason: str) -> Priority:
    """High when players wait on it (a draw, a refund, the deposit, the bot that carries
    sensitive actions; every refund escalation), medium otherwise (a close by hand, a feature
    switched off, a feed's clamp, a rotation) — docs/decisions.md §15."""
    if reason in _HIGH or reason.startswith("refund_"):
        return Priority.HIGH
    return Priority.MEDIUM


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncidents:
    """One priority's open incidents: how many, how many past the SLA, the oldest's age (s)."""

    open: int = 0
    over_sla: int = 0
    oldest_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationUpdate:
    """What ``Escalations.update`` found: every attention (one per reason and subject, with how
    many things it stands for), the parked actions to start again, and the open incidents per
    priority (every priority present)."""

    attention: tuple[tuple[Attention, int], ...] = ()
    retry: tuple[ActionKey, ...] = ()
    open: Mapping[Priority, OpenIncidents] = field(
        default_factory=lambda: {p: OpenIncidents() for p in Priority}
    )


class Escalations:
    """Episodes of things that need a person, and their incident-log rows."""

    def __init__(
        self,
        *,
        journal: Journal,
        responsible: str = "autobot",
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._responsible = responsible
        self._wall = wall
        self._open: set[tuple[str, str]] | None = None  # None: not read back yet
        self._written: set[tuple[str, str]] = set()  # read back: episodes the log already holds
        self._began: dict[tuple[str, str], float] = {}  # open episode -> wall time it began
        self._paused_logged = False
        self._paused_wall: float | None = None  # when the current pause's row was written
        self._parked: list[ActionRecord] = []
        self._parked_count: int | None = None

    async def update(
        self, *, result: PlanResult, snapshot: Snapshot, parked: int
    ) -> EscalationUpdate:
        """One sweep's escalations (see the module doc); ``parked`` is the journal's count of
        parked actions (their list is read again only when it changes)."""
        if self._open is None:
            await self._read_back()
        rows: list[NewIncident] = []
        current = {(e.kind, str(e.subject)): e.reason for e in result.escalations}
        assert self._open is not None
        now = self._wall()
        self._began = {key: self._began.get(key, now) for key in current}
        new = [key for key in current if key not in self._open]
        for kind, subject in sorted(new):
            if (kind, subject) in self._written:
                continue  # its row was written before a restart: the same episode
            log.warning("escalation", kind=kind, subject=subject, reason=current[(kind, subject)])
            if kind not in EXECUTOR_LOGGED:
                rows.append(self._row(f"{kind} {subject}: {current[(kind, subject)]}"))
        self._open = set(current)
        self._written &= self._open  # read-back episodes count once: a new one gets its row
        rows.extend(await self._deposit(snapshot))
        for row in rows:
            await self._journal.add_incident(row)
        if parked != self._parked_count:
            self._parked = await self._journal.list_actions(
                states={ActionState.PARKED}, limit=_PARKED_LIMIT
            )
            self._parked_count = parked
        attention: dict[Attention, int] = {}
        began: dict[Attention, float] = {}
        for kind, subject in current:
            key = Attention(reason=kind, subject=subject)
            attention[key] = attention.get(key, 0) + 1
            began[key] = self._began[(kind, subject)]
        retry: list[ActionKey] = []
        for record in self._parked:
            verdict = _parked_verdict(record, snapshot)
            if verdict == "retry":
                retry.append(record.action_key)
            elif verdict == "attention":
                key = Attention(reason=f"parked_{record.kind.value}", subject=_subject(record))
                attention[key] = attention.get(key, 0) + 1
                began[key] = min(began.get(key, now), record.updated_wall)
        return EscalationUpdate(
            attention=tuple(sorted(attention.items())),
            retry=tuple(retry),
            open=_open_incidents(began, now),
        )

    # ------------------------------------------------------------------ the deposit

    async def _deposit(self, snapshot: Snapshot) -> list[NewIncident]:
        deposit = snapshot.deposit
        if deposit.requests_paused and not self._paused_logged:
            self._paused_logged = True
            self._paused_wall = None
            why = deposit.shortfall or "the stored balances look healthy: resume_requests runs them"
            log.warning("vrf_requests_paused", since=deposit.paused_since_ts)
            return [
                self._row(
                    f"{PAUSED} {DEPOSIT}: VRF requests paused by the deposit guard since "
                    f"{deposit.paused_since_ts} (total {deposit.total_balance}, effective "
                    f"{deposit.effective_balance}, required minimum {deposit.required_minimum}"
                    f"{_floor(deposit.effective_floor)}): {why}; no draw can be requested until "
                    "they are resumed (autobot vrf resume, or a healthy snapshot)",
                    kind=IncidentType.INCIDENT,
                )
            ]
        if not deposit.requests_paused and self._paused_logged:
            ours = await self._our_resume()
            if isinstance(ours, _InFlight):  # ours may be what resumed them: wait for its outcome
                return []
            self._paused_logged = False
            log.info("vrf_requests_resumed", tx_hash=None if ours is None else ours[1])
            text = f"{RESUMED} {DEPOSIT}: VRF requests resumed " + (
                f"by autobot's resume_requests (action {ours[0].key}, tx {ours[1]})"
                if ours is not None
                else "(a healthy deposit snapshot, or resume_requests by another key)"
            )
            return [
                NewIncident(
                    type=IncidentType.VRF_TOP_UP,
                    description=text,
                    responsible=self._responsible,
                    action_key=None if ours is None else ours[0].key,
                    action_hash=None if ours is None else ours[0].action_hash,
                    tx_hash=None if ours is None else ours[1],
                )
            ]
        return []

    async def _our_resume(self) -> tuple[ActionRecord, str] | _InFlight | None:
        """autobot's latest ``resume_requests`` transaction, if it executed during this pause;
        ``_IN_FLIGHT`` while it is sent but not yet settled in the journal (the chain may show
        requests resumed by it a sweep before the executor follows it: the row waits for it)."""
        for record in await self._journal.list_actions(kinds=(ActionKind.UNPAUSE,), limit=1):
            for tx in reversed(await self._journal.transactions(record.key)):
                if tx.purpose is not TxPurpose.EXECUTE:
                    continue
                if tx.state.live:
                    return _IN_FLIGHT
                if tx.state is not TxState.COMMITTED:
                    continue
                settled = tx.settled_wall or tx.created_wall
                if self._paused_wall is None or settled >= self._paused_wall:
                    return record, tx.tx_hash
        return None

    # ------------------------------------------------------------------ the log read back

    async def _read_back(self) -> None:
        """Which episodes the incident log already holds (its newest ``READ_BACK`` rows)."""
        newest: dict[tuple[str, str], Incident] = {}
        for incident in await self._journal.incidents(limit=READ_BACK):
            if incident.action_key is not None and incident.type != IncidentType.VRF_TOP_UP:
                continue
            match = _ROW.match(incident.description)
            if match is None:
                continue
            key = (match["kind"], match["subject"])
            newest.setdefault(key, incident)  # rows come newest first
        deposit = [
            (i.wall, k[0])
            for k, i in newest.items()
            if k[0] in (PAUSED, RESUMED) and k[1] == DEPOSIT
        ]
        latest = max(deposit, default=None)
        self._paused_logged = latest is not None and latest[1] == PAUSED
        self._paused_wall = latest[0] if self._paused_logged and latest is not None else None
        self._written = {k for k in newest if k[0] not in (PAUSED, RESUMED)}
        self._began = {k: newest[k].wall for k in self._written}  # open since its row, if open
        self._open = set()

    def _row(self, text: str, *, kind: IncidentType = IncidentType.INCIDENT) -> NewIncident:
        return NewIncident(type=kind, description=text, responsible=self._responsible)


def _open_incidents(began: Mapping[Attention, float], now: float) -> dict[Priority, OpenIncidents]:
    ages: dict[Priority, list[float]] = {p: [] for p in Priority}
    for attention, since in began.items():
        ages[priority_of(attention.reason)].append(max(0.0, now - since))
    return {
        p: OpenIncidents(
            open=len(found),
            over_sla=sum(age > p.sla_seconds for age in found),
            oldest_seconds=max(found, default=0.0),
        )
        for p, found in ages.items()
    }


def _floor(floor: int) -> str:
    return f", floor {floor}" if floor else ""


def _subject(record: ActionRecord) -> str:
    key = record.action_key
    return DEPOSIT if key.kind.subject is Subject.DEPOSIT else str(key.subject)


def _recipe(record: ActionRecord) -> Recipe | None:
    try:
        return recipe_from_json(json.loads(record.recipe))
    except ValueError:
        return None


def _parked_verdict(record: ActionRecord, snapshot: Snapshot) -> str | None:
    """``attention`` (a person must look), ``retry`` (start it again), or ``None`` (nothing left
    to do: the chain shows the work done, or its subject is gone)."""
    recipe = _recipe(record)
    if recipe is None:
        return "attention"  # a journal this code cannot read: a person looks
    if not _visible(record, snapshot) or recipe.goal_reached(snapshot):
        return None
    if record.outcome is Outcome.ESCALATED:
        if record.error_code in PREFLIGHT_CODES and not recipe.refusals(snapshot):
            return "retry"
        return None  # the planner's escalation stands for it
    return "attention"


def _visible(record: ActionRecord, snapshot: Snapshot) -> bool:
    """The subject is in the snapshot (a lottery still live, a watched feed, a bot)."""
    key = record.action_key
    match key.kind.subject:
        case Subject.LOTTERY:
            return key.subject_id in snapshot.lotteries
        case Subject.ASSET:
            return key.subject_id in snapshot.feeds
        case Subject.OPERATOR:
            return snapshot.bot(str(key.subject)) is not None
    return True
