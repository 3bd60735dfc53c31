"""One sweep of the daemon: read → decide → act, then report.

A sweep reads one snapshot of the chain through the ``Watchlist`` (aggregate views once; a
lottery's views only when its next check has come or it changed; the kept views of every other
live lottery; terminal lotteries never), builds the planners' context from the journal, plans with
the pure planners, journals new actions, carries operator requests to the executor, and starts
every open action that is due in the background (``Executor.start_due``: a sweep never waits for
another action's confirmations). It finishes by keeping track of what needs a person
(``escalations.py``: the incident log's rows for new escalations and the VRF deposit's pause,
parked actions started again once pre-flight allows), writing the incident-log file
(``[incidents] log_path``), refreshing the metrics, asking the scheduler to wake up at the next
known due time, and logging one summary line (``tick``, at ``debug``; at ``info`` a
``sweeps_summary`` at most once a minute). When an action's step ends, the lottery it touched is
read again at the next sweep, and an action that finished asks for that sweep at once.

What a person reads at ``info`` is the story (``autobot.story``): one plain line per lottery
change, announcement, feed or bot change, with its times labelled. An operator request's action
that ended gets an incident-log row signed by the requester, with their note and the action's
transaction hashes as links.

Everything a sweep decides is derived from the chain and the journal; the kept views are a cache
of the chain that a restart rebuilds by reading every live lottery once, so a sweep after a
restart continues exactly where the last one stopped.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.config import Config
from autobot.domain.actions import LOTTERY_KINDS, ActionKey, ActionKind
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import Snapshot
from autobot.errors import IncidentLogError, JournalConflict, JournalError
from autobot.escalations import Escalations, EscalationUpdate
from autobot.execution import Executor, StepResult
from autobot.feed_updates import FeedUpdates
from autobot.hints import Hints
from autobot.journal.incident_log import IncidentLogFile
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    IncidentType,
    NewIncident,
    RequestKind,
    RequestRecord,
    RequestState,
    TxState,
)
from autobot.metrics import DaemonMetrics, DomainSampler
from autobot.planning import PlanContext, PlanResult, plan_all
from autobot.planning.context import plan_context
from autobot.planning.requests import CancelRequest, RefundRequest
from autobot.playbook_watch import PlaybookWatch
from autobot.scheduling import ChainClockMap
from autobot.status.moments import ClockLine, Clocks, chain_text
from autobot.story import Story, StoryLine
from autobot.sweep_context import JournalRead, plan_settings, read_journal
from autobot.watchlist import SweepReads

__all__ = ["Engine", "SweepSummary"]

log = structlog.get_logger(__name__)

SOON_SECONDS = 0.5
"""Wall seconds before the sweep that follows up a finished action or a seen change (what
arrives meanwhile shares that sweep)."""
SCAN_DEFER_SECONDS = 1.0
"""A sweep that started due actions leaves the scan to a sweep a moment later (the actions get
the event loop first), but never for longer than this."""
PRUNE_EVERY_SECONDS = 300.0
"""Wall seconds between retention passes once no old finished work is left."""
PRUNE_BATCH = 500
"""Finished actions (and handled requests) pruned per sweep at most."""
_QUIET_STATES = frozenset({ActionState.PLANNED, ActionState.ANNOUNCED, ActionState.WAITING})
"""A step that stopped in one of these sent nothing that changes its lottery."""
_SILENT_KINDS = frozenset({ActionKind.CLOSE, ActionKind.SCHEDULE})
"""Their calls (``advance_status``, ``schedule_manual_retry_admin``) emit no event: the
watchlist would not learn of the change from the chain's events."""
_SURPRISES = frozenset({ActionState.MOOT, ActionState.FAILED, ActionState.PARKED})
"""Endings that say the chain is not what the plan expected: read the lottery again."""
_ENDINGS = _SURPRISES | {ActionState.DONE}
SUMMARY_SECONDS = 60.0
"""At most one ``sweeps_summary`` line at ``info`` per this many wall seconds."""
_REQUESTED = re.compile(r"^operator request (\d+):")


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSummary:
    """What one sweep saw and did; also the ``tick`` log line and the sd_notify STATUS."""

    chain_time: int
    height: int
    lotteries_read: int
    lotteries_kept: int
    statuses: Mapping[str, int]
    bots: int
    feeds: Mapping[str, int]
    planned: int
    journal: Mapping[str, int]
    duration_seconds: float
    escalations: int = 0
    rejected_requests: int = 0
    extra: Mapping[str, object] = field(default_factory=dict)

    def status_line(self) -> str:
        open_actions = sum(v for k, v in self.journal.items() if k not in _TERMINAL)
        return (
            f"chain t={self.chain_time} h={self.height}; lotteries {self.lotteries_read} read; "
            f"actions open={open_actions} planned={self.planned}; bots={self.bots}"
        )


_TERMINAL = {
    s.value for s in (ActionState.DONE, ActionState.FAILED, ActionState.MOOT, ActionState.PARKED)
}


class Engine:
    """Runs sweeps; owns no resources (the Daemon does)."""

    def __init__(
        self,
        *,
        config: Config,
        gateway: ChainGateway,
        journal: Journal,
        executor: Executor,
        metrics: DaemonMetrics,
        clock_map: ChainClockMap,
        watchlist: SweepReads,
        operator_names: Mapping[str, str],
        wake_at_chain: Callable[[int, str], None],
        wake_after: Callable[[float, str], None] | None = None,
        wall: Callable[[], float] = time.time,
        hints: Hints | None = None,
        incident_log: IncidentLogFile | None = None,
    ) -> None:
        self._config = config
        self._gateway = gateway
        self._journal = journal
        self._executor = executor
        self._metrics = metrics
        self._clock_map = clock_map
        self._operator_names = dict(operator_names)  # address -> configured name
        self._name_to_address = {name: addr for addr, name in self._operator_names.items()}
        self._wake_at_chain = wake_at_chain
        self._wake_after = wake_after
        self._wall = wall
        self._escalations = Escalations(
            journal=journal, responsible=config.incidents.responsible, wall=wall
        )
        self._incident_log = incident_log
        self._incident_log_failed = False
        self._feed_updates = FeedUpdates(gateway=gateway, journal=journal)
        self._playbook = PlaybookWatch(gateway=gateway)
        self._sampler = DomainSampler()  # the handbook metrics, at the cost of what changed
        self._settings = plan_settings(config)
        self._watchlist = watchlist
        self._last_now = 0
        self._scanned_at = 0.0
        self._pruned_at = -PRUNE_EVERY_SECONDS
        self.last_snapshot: Snapshot | None = (
            None  # the last sweep's, every live lottery (status page)
        )
        self.last_context: PlanContext | None = None
        self._story = Story(operator_names=self._operator_names, hints=hints)
        self._ended: list[ActionKey] = []  # actions that ended since the last sweep
        self._own_failures: Counter[str] = Counter()  # failures autobot recorded, per operator
        self._summary_at = 0.0
        self._since_summary = 0

    @property
    def watchlist(self) -> SweepReads:
        return self._watchlist

    # ------------------------------------------------------------------ the sweep

    async def sweep(self) -> SweepSummary:
        started = time.monotonic()
        if self._executor.fatal is not None:
            raise self._executor.fatal  # a background step lost the journal: stop
        open_actions = await self._journal.open_actions()
        # the chain (HTTP) and the journal (its thread) at once
        snapshot, known = await asyncio.gather(
            self._read(open_actions),
            read_journal(self._journal, operators=self._name_to_address, open_actions=open_actions),
        )
        self._last_now = snapshot.now
        self._clock_map.observe(
            wall=snapshot.time.observed_at or self._wall(), chain=snapshot.time.micros / 1e6
        )
        for request_id, problem in known.malformed.items():
            log.warning("request_malformed", request_id=request_id, problem=problem)
        ctx = plan_context(self._settings, known.knowledge)
        self.last_snapshot, self.last_context = snapshot, ctx
        requested = {
            r.lottery_id for r in ctx.requests if isinstance(r, CancelRequest | RefundRequest)
        }
        result = plan_all(self._watchlist.for_planning(snapshot, also=requested), ctx)
        accepted = await self._executor.accept_many(result.actions, chain_now=snapshot.now)
        planned = sum(created for _, created in accepted)
        self._read_again_if_done(accepted)
        for action in result.actions:
            if action.request_id is not None:
                await self._finish_request(
                    action.request_id, RequestState.DONE, f"planned as action {action.key}"
                )
        await self._handle_requests(known, result)
        await self._executor.start_due(
            snapshot=snapshot,
            concurrency=self._config.scheduler.max_concurrent_actions,
            done=self._step_done,
        )
        if planned and self._wall() - self._scanned_at < SCAN_DEFER_SECONDS:
            self._soon()  # new work started: let it have the event loop first
        else:
            self._scanned_at = self._wall()
            busy = {a.subject_id for a in open_actions if a.kind in LOTTERY_KINDS}
            if await self._watchlist.scan(busy=busy):  # changes read: plan soon, not next poll
                self._soon()
        self._schedule(result, snapshot.now)
        await self._prune(snapshot.now)
        await self._feed_updates.count(snapshot, assets=snapshot.feeds.keys())
        await self._tell(snapshot, open_actions)
        await self._watch_playbook(snapshot)
        journal_counts = await self._journal_counts()
        attention = await self._escalate(result, snapshot, journal_counts)
        await self.write_incident_log()
        self._report(snapshot, journal_counts, attention)
        read = self._watchlist.last
        summary = self._summed_up(
            snapshot,
            started=started,
            journal_counts=journal_counts,
            feeds={
                "stale": sum(r.stale for r in result.feed_reports),
                "clamped": sum(r.clamped for r in result.feed_reports),
                "fallback": sum(r.fallback for r in result.feed_reports),
            },
            planned=planned,
            escalations=len(result.escalations),
            rejected_requests=len(result.rejected_requests),
        )
        self._summarise(summary, open_actions=len(open_actions), needing=len(result.actions))
        log.debug(
            "tick",
            chain_time=summary.chain_time,
            height=summary.height,
            lotteries=dict(summary.statuses),
            lotteries_read=summary.lotteries_read,
            lotteries_kept=summary.lotteries_kept,
            lotteries_due=read.due,
            lotteries_changed=read.changed,
            events=read.events,
            running=self._executor.running,
            bots=summary.bots,
            feeds=dict(summary.feeds),
            planned=summary.planned,
            actions=dict(summary.journal),
            escalations=summary.escalations,
            duration_ms=round(summary.duration_seconds * 1000, 1),
        )
        return summary

    async def _prune(self, chain_now: int) -> None:
        """Retention (``journal/retention.py``): one batch per sweep while old finished work is
        left, then a pass every ``PRUNE_EVERY_SECONDS``; a sweep's cost stays bounded."""
        days = self._config.journal.retention_days
        if days <= 0 or self._wall() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        path = self._config.journal.path
        pruned = await self._journal.prune(
            chain_before=chain_now - int(days * 86_400),
            wall_before=self._wall() - days * 86_400,
            export=path.with_name(path.name + ".pruned.jsonl"),
            batch=PRUNE_BATCH,
        )
        if pruned.rows:
            log.info(
                "journal_pruned",
                actions=pruned.actions,
                transactions=pruned.transactions,
                requests=pruned.requests,
            )
        if pruned.actions < PRUNE_BATCH and pruned.requests < PRUNE_BATCH:  # nothing left
            self._pruned_at = self._wall()
            if pruned.rows:
                await self._journal.vacuum()

    async def observe(self) -> SweepSummary:
        """A standby's sweep (``[ha]``): read the chain as a sweep does — the watchlist stays
        warm for the moment this instance takes over — and report the metrics; plan, journal
        and act on nothing. The journal is only read, and a journal that cannot be read (the
        database away) leaves the chain's metrics current all the same."""
        started = time.monotonic()
        try:
            open_actions = await self._journal.open_actions()
            known = await read_journal(
                self._journal, operators=self._name_to_address, open_actions=open_actions
            )
            # what the leader plans with: the status page a standby serves shows the same
            self.last_context = plan_context(self._settings, known.knowledge)
        except JournalError as exc:
            log.warning("standby_journal_unreadable", detail=str(exc))
            open_actions = []
        snapshot = await self._read(open_actions)
        self._last_now = snapshot.now
        self._clock_map.observe(
            wall=snapshot.time.observed_at or self._wall(), chain=snapshot.time.micros / 1e6
        )
        self.last_snapshot = snapshot
        await self._watchlist.scan()
        try:
            await self._feed_updates.refresh()  # the leader counts; this shows its counts
            journal_counts = await self._journal_counts()
        except JournalError:
            journal_counts = {}
        # escalations are the leader's (it writes their incident-log rows): none reported here
        self._report(snapshot, journal_counts, EscalationUpdate())
        read = self._watchlist.last
        summary = self._summed_up(snapshot, started=started, journal_counts=journal_counts)
        log.debug(  # a sweep's tick is debug (the story's rule), a standby's too
            "standby_tick",
            chain_time=summary.chain_time,
            height=summary.height,
            lotteries_read=summary.lotteries_read,
            lotteries_kept=summary.lotteries_kept,
            events=read.events,
            duration_ms=round(summary.duration_seconds * 1000, 1),
        )
        return summary

    def _summed_up(
        self,
        snapshot: Snapshot,
        *,
        started: float,
        journal_counts: Mapping[str, int],
        feeds: Mapping[str, int] | None = None,
        planned: int = 0,
        escalations: int = 0,
        rejected_requests: int = 0,
    ) -> SweepSummary:
        """The sweep's summary (a standby's plans nothing), its duration and time observed."""
        read = self._watchlist.last
        summary = SweepSummary(
            chain_time=snapshot.now,
            height=snapshot.height,
            lotteries_read=read.read,
            lotteries_kept=read.kept,
            statuses={s.name.lower(): snapshot.overview.count(s) for s in LotteryStatus},
            bots=len(snapshot.bots),
            feeds=dict(feeds or {}),
            planned=planned,
            journal=journal_counts,
            duration_seconds=time.monotonic() - started,
            escalations=escalations,
            rejected_requests=rejected_requests,
        )
        self._metrics.tick_duration.observe(summary.duration_seconds)
        self._metrics.last_tick.set(self._wall())
        return summary

    async def _read(self, open_actions: Sequence[ActionRecord]) -> Snapshot:
        """The watchlist's snapshot: due and changed lotteries read, the others kept."""
        pending: dict[int, int] = {}
        for action in open_actions:
            at = action.execute_at if action.next_check_at is None else action.next_check_at
            if action.kind in LOTTERY_KINDS and at is not None:
                pending[action.subject_id] = min(at, pending.get(action.subject_id, at))
        try:
            estimated: float | None = self._clock_map.chain_now(self._wall())
        except LookupError:
            estimated = None
        return await self._watchlist.read(
            asset_ids=self._config.feeds.watched,
            estimated_now=estimated,
            pending=pending,
        )

    def clocks(self, chain_now: int) -> Clocks:
        """Both clocks now (the learned line, when the chain has been seen)."""
        wall = self._wall()
        try:
            line = ClockLine(
                chain=self._clock_map.chain_now(wall), wall=wall, rate=self._clock_map.rate
            )
        except LookupError:
            line = None
        return Clocks(chain_now=chain_now, wall_now=wall, line=line)

    async def _tell(self, snapshot: Snapshot, open_actions: Sequence[ActionRecord]) -> None:
        """The story's lines for this sweep (``autobot.story``), and the requesters' incidents."""
        ended: list[ActionRecord] = []
        keys, self._ended = self._ended, []
        for key in keys:
            record = await self._journal.get_action(str(key))
            if record is None or record.state not in _ENDINGS:
                continue
            ended.append(record)
            if record.state is ActionState.FAILED and record.operator:
                self._own_failures[record.operator] += 1
            await self._request_incident(record)
        finished = {i: view for i, (_, view) in self._watchlist.finished.items()}
        lines = self._story.observe(
            snapshot,
            open_actions=open_actions,
            clocks=self.clocks(snapshot.now),
            finished=finished,
            ended=ended,
            own_failures=self._own_failures,
        )
        for line in lines:
            _say(line)

    async def _request_incident(self, record: ActionRecord) -> None:
        """An operator request's action ended: a row signed by the requester, with their note
        and the transaction hashes (links)."""
        found = _REQUESTED.match(record.reason)
        if found is None:
            return
        request = await self._journal.get_request(int(found[1]))
        if request is None:
            return
        try:
            params = json.loads(request.params or "{}")
        except ValueError:
            params = {}
        note = params.get("note") if isinstance(params, dict) else None
        txs = [
            t.tx_hash
            for t in await self._journal.transactions(record.key)
            if t.state is TxState.COMMITTED
        ]
        outcome = record.state.value + (f" ({record.error_name})" if record.error_name else "")
        text = (
            f"operator request #{request.id} ({request.kind.value} {request.subject}) by "
            f"{request.requested_by}: {record.key} {outcome}" + (f"; note: {note}" if note else "")
        )
        await self._journal.add_incident(
            NewIncident(
                type=IncidentType.INCIDENT,
                description=text,
                responsible=request.requested_by,
                links=" ".join(txs),
                action_key=record.key,
                action_hash=record.action_hash,
                tx_hash=txs[-1] if txs else None,
            )
        )

    def _summarise(self, summary: SweepSummary, *, open_actions: int, needing: int) -> None:
        """``sweeps_summary`` at ``info``, at most once a ``SUMMARY_SECONDS``."""
        self._since_summary += 1
        now = self._wall()
        if now - self._summary_at < SUMMARY_SECONDS:
            return
        text = (
            f"{self._since_summary} sweep(s) since the last summary; chain height "
            f"{summary.height} at {chain_text(summary.chain_time)}; {open_actions} open "
            f"action(s), {needing} planned now"
        )
        log.info(
            "sweeps_summary",
            story=text,
            sweeps=self._since_summary,
            height=summary.height,
            chain_time=summary.chain_time,
            open_actions=open_actions,
        )
        self._summary_at, self._since_summary = now, 0

    def _read_again_if_done(self, accepted: Sequence[tuple[ActionRecord, bool]]) -> None:
        """A plan for work the journal holds done: its lottery's view predates that work (the
        previous leader's last moments, a recovery that finished it): read it again for the next
        sweep. A view that stays behind would otherwise keep being planned for, never acted on
        (an ACTIVE lottery past its sales end, closed already, has no next check)."""
        stale = sorted(
            record.subject_id
            for record, created in accepted
            if not created and record.state is ActionState.DONE and record.kind in LOTTERY_KINDS
        )
        if stale:
            log.debug("done_work_planned_again", lottery_ids=stale)
            self._watchlist.mark_changed(stale)

    def _step_done(self, key: ActionKey, step: StepResult | None) -> None:
        """An action's background advance stopped: re-read its lottery, wake when it is due."""
        if step is not None and step.state in _ENDINGS:
            self._ended.append(key)
        if key.kind in LOTTERY_KINDS and _may_have_changed(key, step):
            self._watchlist.mark_changed([key.subject_id])
        if step is None:
            self._wake_at_chain(self._last_now + 1, str(key))
        elif step.next_check_at is not None:
            self._wake_at_chain(step.next_check_at, str(key))
        elif step.soon:
            self._wake_at_chain(self._last_now + 1, str(key))
        else:  # finished: plan what it made possible (and route what waited for its bot)
            self._soon()

    def _soon(self) -> None:
        """A sweep in a moment (``SOON_SECONDS``: whatever asks meanwhile shares that sweep)."""
        if self._wake_after is not None:
            self._wake_after(SOON_SECONDS, "soon")
        else:
            self._wake_at_chain(self._last_now, "soon")

    async def _handle_requests(self, known: JournalRead, result: PlanResult) -> None:
        for rejected in result.rejected_requests:
            await self._finish_request(rejected.request_id, RequestState.REJECTED, rejected.reason)
        handled = {a.request_id for a in result.actions} | {
            r.request_id for r in result.rejected_requests
        }
        for record in known.pending_requests:
            if record.id in handled:
                continue
            if record.kind.action_kind is None:  # retry, park: the executor's
                await self._executor_request(record)
            elif record.id in known.malformed:
                await self._finish_request(
                    record.id, RequestState.REJECTED, "malformed request (see the daemon log)"
                )

    async def _executor_request(self, record: RequestRecord) -> None:
        """Retry or park: carried out now, or (the action's step running) at the step's next
        boundary, where the executor finishes the request."""
        try:
            key = ActionKey.parse(record.subject)
            if record.kind is RequestKind.RETRY:
                action = await self._executor.retry(key, request_id=record.id)
                message = (
                    None if action is None else f"action {action.key} is {action.state.value} again"
                )
            else:
                params = json.loads(record.params or "{}")
                reason = str(params.get("reason", "requested with autobot actions park"))
                action = await self._executor.park(key, reason=reason, request_id=record.id)
                message = None if action is None else f"action {action.key} parked"
        except (LookupError, ValueError) as exc:
            await self._finish_request(record.id, RequestState.REJECTED, str(exc))
            return
        except JournalConflict as exc:  # the action moved meanwhile: the next sweep asks again
            log.warning("request_postponed", request_id=record.id, detail=str(exc))
            return
        if message is not None:
            await self._finish_request(record.id, RequestState.DONE, message)

    async def _finish_request(self, request_id: int, state: RequestState, result: str) -> None:
        try:
            await self._journal.finish_request(request_id, state=state, result=result)
        except JournalConflict:  # finished meanwhile, at an action step's boundary
            log.info("request_already_handled", request_id=request_id)
            return
        log.info("request_handled", request_id=request_id, state=state.value, result=result)

    async def _escalate(
        self, result: PlanResult, snapshot: Snapshot, journal_counts: Mapping[str, int]
    ) -> EscalationUpdate:
        """What needs a person (rows for new episodes); parked actions whose pre-flight refusal
        no longer holds start again."""
        update = await self._escalations.update(
            result=result,
            snapshot=snapshot,
            parked=journal_counts.get(ActionState.PARKED.value, 0),
        )
        for key in update.retry:
            try:
                action = await self._executor.retry(key)
            except (LookupError, ValueError) as exc:
                log.warning("preflight_retry_refused", retried=str(key), reason=str(exc))
                continue
            if action is None:  # its step is running: retried at the step's boundary
                log.info("preflight_cleared", retried=str(key), state="deferred")
                continue
            log.info("preflight_cleared", retried=str(key), state=action.state.value)
            self._soon()
        return update

    async def write_incident_log(self) -> None:
        """``[incidents] log_path``: the file follows the journal (after every sweep, and at a
        clean stop once the executor drained); a problem never stops a sweep (logged once until
        it is fixed)."""
        if self._incident_log is None:
            return
        try:
            await self._incident_log.sync()
        except IncidentLogError as exc:
            if not self._incident_log_failed:
                log.error("incident_log_unwritable", detail=str(exc), line=exc.line)
            self._incident_log_failed = True
            return
        self._incident_log_failed = False

    async def _watch_playbook(self, snapshot: Snapshot) -> None:
        """The systems autobot watches but does not operate; each new finding once in the
        incident log (``playbook_watch.py``)."""
        for finding in await self._playbook.observe(snapshot):
            await self._journal.add_incident(
                NewIncident(
                    type=IncidentType.INCIDENT,
                    description=finding.description,
                    responsible=self._config.incidents.responsible,
                    links="",
                )
            )

    @property
    def playbook(self) -> PlaybookReport:
        """The last sweep's report on the playbook's other systems (metrics, status)."""
        return self._playbook.report

    def _schedule(self, result: PlanResult, now: int) -> None:
        if result.wake_at is not None and result.wake_at > now:
            self._wake_at_chain(result.wake_at, "plan")
        next_due = self._watchlist.next_due()
        if next_due is not None and next_due > now:
            self._wake_at_chain(next_due, "lottery")

    async def _journal_counts(self) -> dict[str, int]:
        counts = await self._journal.action_counts()
        return {state.value: count for state, count in counts.items()}

    def _label(self, subject: str) -> str:
        """A metric label for an escalation's subject: an operator's configured name, never a
        whole address (labels stay short and bounded, docs/conventions.md §13)."""
        if subject.startswith("0x") and len(subject) > _ADDRESS_LABEL:
            return self._operator_names.get(subject, subject[:_ADDRESS_LABEL] + "…")
        return subject

    def _report(
        self,
        snapshot: Snapshot,
        journal_counts: Mapping[str, int],
        attention: EscalationUpdate,
    ) -> None:
        updates = dict.fromkeys(snapshot.feeds, 0) | dict(self._feed_updates.totals)
        self._metrics.snapshot.update(
            self._sampler.sample(
                snapshot,
                operator_names=self._operator_names,
                feed_updates_total=updates,
                escalations={(a.reason, self._label(a.subject)): n for a, n in attention.attention},
                open_incidents={
                    p.value: (o.open, o.over_sla, o.oldest_seconds)
                    for p, o in attention.open.items()
                },
                playbook=self._playbook.report,
            )
        )
        for state, count in journal_counts.items():
            self._metrics.journal_actions.labels(state).set(count)
        lag = self._wall() - self._clock_map.wall_at(snapshot.now)
        self._metrics.chain_lag.set(max(0.0, lag))


_ADDRESS_LABEL = 8
"""Characters of an unknown operator's address kept in a label (``0x`` and six hex digits)."""


def _may_have_changed(key: ActionKey, step: StepResult | None) -> bool:
    """Whether a step's lottery must be read again (events announce the other changes)."""
    if step is None or step.state in _SURPRISES:
        return True
    return key.kind in _SILENT_KINDS and step.state not in _QUIET_STATES


def _say(line: StoryLine) -> None:
    """One story line: ``story`` carries the text (the console renders only it)."""
    fields: dict[str, object] = {"story": line.text}
    for name in ("lottery_id", "asset_id", "operator"):
        value = getattr(line, name)
        if value is not None:
            fields[name] = value
    if line.warning:
        log.warning(line.event, **fields)
    else:
        log.info(line.event, **fields)
