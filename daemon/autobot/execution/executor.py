"""The executor: carries journaled actions through the bot protocol, one step at a time.

States (docs/architecture.md; aborts per docs/decisions.md §9) and what moves an action on::

    planned   ─ bot timelock > 0: announce_dry_run journaled with hash ─▶ announced
    announced ─ announce committed (incident "Dry-run") ─▶ waiting
    announced ─ announce dropped (expired and absent) or aborted ─▶ planned (new time, new hash)
    waiting   ─ chain time >= execute_at, slot still ours, goal not reached ─▶ executing
    waiting   ─ goal already reached (moot) ─▶ recording (record_success clears the slot)
    planned   ─ bot timelock 0, or no bot (action_id None) ─▶ executing
    executing ─ every admin call committed ─▶ recording | done (no bot)
    executing ─ a call aborts ─▶ wait (not yet) | recording (failure / moot / escalated)
    recording ─ record_* committed ─▶ done | failed | moot | parked (escalated)
    any open  ─ needs a person ─▶ parked;   parked/failed ─ operator "retry" ─▶ planned | waiting

Every step is derived from the journal and the chain, never from memory: the latest transaction
of the current step (matched by the action's hash, so a restarted attempt never sees an older
one's) is followed first — settled, or re-sent byte for byte — and only a step without a live or
executed transaction is (re)done. Recovery after a crash is this same ``advance`` on every open
action. Every call is simulated before it is signed; a call whose simulation aborts is never
submitted. Transport errors only defer a step.

With ``live=False`` (dry-run) planned actions are routed and every transaction they would send is
simulated and logged (``execution/dryrun.py``); nothing is signed, and the action stays planned.

``start_due`` advances due actions in the background (at most ``concurrency`` steps at once), so a
sweep never waits for another action's confirmation: each action runs as its own task and reports
where it stopped through a callback. When an action that held a bot's pending slot ends, the
oldest planned action of the same action id that was waiting for a free bot is due again at once
(instead of after its backoff). ``drain`` ends the background work at shutdown.

**Operator requests race nothing.** ``park`` and ``retry`` of an action whose step is running are
not written beside it: they wait for the step's next boundary (between two steps of ``advance``,
or as it returns), are applied there, and finish their operator request then (``None`` is
returned meanwhile). A write that finds the action in another state than the step read it in
(``JournalConflict``) is an incident, and the action is looked at again: never an exit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.domain.actions import ActionKey
from autobot.domain.snapshot import Snapshot
from autobot.errors import (
    JournalConflict,
    JournalError,
    PermanentError,
    RpcProtocolError,
    TransientError,
)
from autobot.execution.bookkeeping import Bookkeeper, StepResult, restart
from autobot.execution.gate import PriorityGate
from autobot.execution.lane import UrgentLane
from autobot.execution.sequencer import Sequencer
from autobot.execution.steps import ActionSteps
from autobot.execution.view import SharedChainTime, StepView
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    IncidentType,
    NewAction,
    NewIncident,
    RequestState,
)
from autobot.planning.plan import PlannedAction

__all__ = ["Executor", "StepResult"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Deferred:
    """An operator's park or retry waiting for a running step's boundary."""

    kind: str  # "park" | "retry"
    reason: str = ""
    request_id: int | None = None


class Executor:
    """Advances journaled actions; the only component that signs and submits."""

    def __init__(
        self,
        *,
        journal: Journal,
        gateway: ChainGateway,
        steps: ActionSteps,
        book: Bookkeeper,
        confirm_seconds: float = 5.0,
        max_steps: int = 32,
        stopping: Callable[[], bool] = lambda: False,
        lane: UrgentLane | None = None,
    ) -> None:
        """``steps`` takes an action one step further and ``book`` writes what it decided (both
        over the same journal); ``confirm_seconds`` is how long a step waits for its transaction's
        confirmation; ``stopping`` is the daemon's stop flag (SIGTERM: the step in progress
        finishes, no other starts); ``lane``: background steps of priority 0 (a sales close) are
        urgent in it, and the others give way to them (``lane.py``; the gateway's requests
        await its ``give_way``)."""
        self._journal = journal
        self._gateway = gateway
        self._steps = steps
        self._book = book
        self._confirm = confirm_seconds
        self._max_steps = max_steps
        self._stopping = stopping
        self._running: set[ActionKey] = set()
        self._tasks: dict[ActionKey, asyncio.Task[None]] = {}
        self._gate: PriorityGate | None = None
        self._wake_lock = asyncio.Lock()  # ``_slot_freed``: one waiter woken per freed slot
        self._deferred: dict[ActionKey, _Deferred] = {}  # park/retry for a running step
        self.fatal: JournalError | None = None  # a background step lost the journal
        self._chain_time = SharedChainTime(gateway)  # one block read for steps asking at once
        self._lane = lane if lane is not None else UrgentLane()

    # ------------------------------------------------------------------ public API

    async def accept(self, planned: PlannedAction, *, chain_now: int) -> tuple[ActionRecord, bool]:
        """Journal a planned action (idempotent by key); returns ``(record, created)``."""
        [accepted] = await self.accept_many([planned], chain_now=chain_now)
        return accepted

    async def accept_many(
        self, planned: Sequence[PlannedAction], *, chain_now: int
    ) -> list[tuple[ActionRecord, bool]]:
        """``accept`` for a sweep's whole plan, in one journal commit."""
        news = [
            NewAction(
                key=str(p.key),
                kind=p.kind,
                subject_id=p.subject_id,
                action_id=None if p.action_id is None else int(p.action_id),
                recipe=json.dumps(p.recipe.to_json(), sort_keys=True, separators=(",", ":")),
                reason=p.reason,
                due_at=p.due_at,
            )
            for p in planned
        ]
        accepted = await self._journal.add_actions(news, chain_now=chain_now)
        for record, created in accepted:
            if created:
                log.debug("action_planned", action_key=record.key, reason=record.reason)
        return accepted

    async def advance_due(
        self, *, snapshot: Snapshot | None = None, concurrency: int = 4
    ) -> list[StepResult]:
        """Advance every open action whose ``next_check_at`` has come, ``concurrency`` at once."""
        now = snapshot.now if snapshot is not None else (await self._gateway.chain_time()).seconds
        due = [
            a.action_key
            for a in await self._journal.open_actions()
            if a.next_check_at is None or a.next_check_at <= now
        ]
        gate = asyncio.Semaphore(concurrency)

        async def one(key: ActionKey) -> StepResult | None:
            async with gate:
                if self._stopping():
                    return None
                try:
                    return await self.advance(key, snapshot=snapshot)
                except JournalError:
                    raise
                except Exception:  # job boundary: one action's bug must not stop the others
                    log.exception("action_step_failed", action_key=str(key))
                    return None

        tasks = [asyncio.create_task(one(k)) for k in due]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            # A journal failure (or cancellation) ends the sweep: stop the other actions' steps
            # before it propagates, so none runs on while the daemon closes the journal.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [r for r in results if r is not None]

    async def start_due(
        self,
        *,
        snapshot: Snapshot | None = None,
        concurrency: int = 4,
        done: Callable[[ActionKey, StepResult | None], None] = lambda key, result: None,
    ) -> int:
        """Start advancing, in the background, every due open action not already running.

        ``done(key, result)`` is called when an action's advance stops (``result`` is ``None``
        after an error, which is logged; a ``JournalError`` is also kept in ``fatal``).
        Returns how many were started.
        """
        if self._stopping():
            return 0
        now = snapshot.now if snapshot is not None else (await self._gateway.chain_time()).seconds
        if self._gate is None:  # the first time: what waited for a bot before a restart may go
            self._gate = PriorityGate(concurrency, reserve=concurrency)
            await self._wake_waiting_for_bots(now)
        due = [
            a.action_key
            for a in await self._journal.open_actions()
            if a.next_check_at is None or a.next_check_at <= now
        ]
        due = [key for key in due if key not in self._tasks]
        for key in due:
            task = asyncio.create_task(self._background(key, snapshot, done))
            self._tasks[key] = task
        return len(due)

    @property
    def running(self) -> int:
        """Actions being advanced in the background right now."""
        return len(self._tasks)

    async def _background(
        self,
        key: ActionKey,
        snapshot: Snapshot | None,
        done: Callable[[ActionKey, StepResult | None], None],
    ) -> None:
        result: StepResult | None = None
        try:
            assert self._gate is not None
            async with self._gate.slot(key.kind.priority):
                if self._stopping():
                    return
                with self._lane.step(urgent=key.kind.priority <= 0, label=str(key)):
                    result = await self.advance(key, snapshot=snapshot)
                if result.next_check_at is None and not result.soon:
                    nxt = await self._slot_freed(key)
                    if nxt is not None and nxt not in self._tasks and not self._stopping():
                        # it goes now (fresh reads), not at the next sweep
                        self._tasks[nxt] = asyncio.create_task(self._background(nxt, None, done))
        except JournalError as exc:  # nothing may be sent without the journal: stop them all
            self.fatal = exc
            log.error("action_step_journal_failed", action_key=str(key), detail=str(exc))
            for other, task in list(self._tasks.items()):
                if other != key:
                    task.cancel()
        except Exception:  # job boundary: one action's bug must not stop the others
            log.exception("action_step_failed", action_key=str(key))
        finally:
            self._tasks.pop(key, None)
            done(key, result)

    async def _slot_freed(self, key: ActionKey) -> ActionKey | None:
        """An action ended: if it held a slot, the next one waiting for a bot may go now (its
        key, made due)."""
        record = await self._book.get(key)
        if record.is_open or not record.timelock_secs or record.action_id is None:
            return None
        # One at a time: two slots freed at once must wake two waiters, not the oldest twice
        # (which would leave a bot idle until the next slot frees).
        async with self._wake_lock:
            waiting = [
                a
                for a in await self._journal.open_actions()  # oldest first
                if a.state is ActionState.PLANNED
                and a.action_key not in self._tasks
                and a.action_id == record.action_id
                and a.next_check_at is not None
                and (a.error_message or "").startswith("no bot:")
            ]
            if not waiting:
                return None
            await self._book.update(waiting[0], record.updated_chain, next_check_at=None)
            return waiting[0].action_key

    async def _wake_waiting_for_bots(self, now: int) -> int:
        woken = 0
        for action in await self._journal.open_actions():
            waiting = action.state is ActionState.PLANNED and action.next_check_at is not None
            if waiting and (action.error_message or "").startswith("no bot:"):
                await self._book.update(action, now, next_check_at=None)
                woken += 1
        return woken

    async def drain(self, *, grace_seconds: float) -> bool:
        """Let background steps finish (no new ones start once stopping); cancel the rest after
        ``grace_seconds``. Returns whether all finished in time."""
        tasks = list(self._tasks.values())
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return not pending

    async def advance(self, key: ActionKey, *, snapshot: Snapshot | None = None) -> StepResult:
        """Take every step ``key`` can take now; ``snapshot`` is the sweep's read, if any."""
        if key in self._running:
            return self._book.soon(await self._book.get(key))
        self._running.add(key)
        view = StepView(
            gateway=self._gateway,
            journal=self._journal,
            sequencer=self._steps.sequencer,
            confirm_seconds=self._confirm,
            snapshot=snapshot,
            chain_time=self._chain_time,
        )
        try:
            with structlog.contextvars.bound_contextvars(action_key=str(key)):
                try:
                    result = await self._steps_of(key, view)
                except JournalConflict as exc:
                    result = await self._conflict(key, exc)
                deferred = await self._apply_deferred(key, view)
                return deferred if deferred is not None else result
        finally:
            self._running.discard(key)

    async def _steps_of(self, key: ActionKey, view: StepView) -> StepResult:
        for taken in range(self._max_steps):
            record = await self._book.get(key)
            if not record.is_open:
                return StepResult(key=key, state=record.state)
            if key in self._deferred:  # an operator's request: at this boundary
                return self._book.soon(record)
            if taken and self._stopping():
                return self._book.soon(record)
            try:
                waiting = await self._steps.step(record, view)
            except (TransientError, RpcProtocolError) as exc:
                if isinstance(exc, JournalConflict):
                    raise
                # a garbled answer (after the gateway's failover) says nothing about
                # the action: look again later, as after a timeout; never park on it
                return await self._book.defer(key, view.last_now(record), exc)
            except JournalError:
                raise
            except PermanentError as exc:
                reason = f"{type(exc).__name__}: {exc}"
                record = await self._book.get(key)
                return await self._book.park(record, view.last_now(record), reason)
            if waiting is not None:
                return waiting
        return self._book.soon(await self._book.get(key))

    async def _conflict(self, key: ActionKey, exc: JournalConflict) -> StepResult:
        """A step's write found the action changed under it: say so, and look again."""
        record = await self._book.get(key)
        log.error("action_changed_under_step", detail=str(exc), state=record.state.value)
        await self._journal.add_incident(
            NewIncident(
                type=IncidentType.INCIDENT,
                description=(
                    f"{key}: a step found the action {record.state.value} in the journal, not "
                    f"in the state it read ({exc}); nothing was written, the action is looked "
                    "at again"
                ),
                responsible=self._book.responsible,
                action_key=str(key),
                action_hash=record.action_hash,
            )
        )
        if not record.is_open:
            return StepResult(key=key, state=record.state)
        return self._book.soon(record)

    async def _apply_deferred(self, key: ActionKey, view: StepView) -> StepResult | None:
        """Carry out an operator's park or retry that waited for this step's boundary."""
        deferred = self._deferred.pop(key, None)
        if deferred is None:
            return None
        record = await self._book.get(key)
        try:
            if deferred.kind == "park":
                done = await self._park_now(record, view.last_now(record), deferred.reason)
            else:
                done = await self._retry_now(record)
        except ValueError as exc:
            await self._finish_request(deferred.request_id, RequestState.REJECTED, str(exc))
            return None
        await self._finish_request(
            deferred.request_id, RequestState.DONE, f"action {done.key} is {done.state.value}"
        )
        return StepResult(key=key, state=done.state, soon=done.is_open)

    async def _finish_request(self, request_id: int | None, state: RequestState, text: str) -> None:
        if request_id is None:
            return
        try:
            await self._journal.finish_request(request_id, state=state, result=text)
        except JournalConflict:
            log.info("request_already_handled", request_id=request_id)
            return
        log.info("request_handled", request_id=request_id, state=state.value, result=text)

    async def park(
        self, key: ActionKey, *, reason: str, request_id: int | None = None
    ) -> ActionRecord | None:
        """Operator request "park": stop an open action; a person takes over.

        A running step is never written beside: the park waits for its boundary (``None``
        now; operator request ``request_id`` is finished when it is applied).
        """
        if key in self._running:
            self._defer(key, _Deferred(kind="park", reason=reason, request_id=request_id))
            return None
        self._running.add(key)  # no step starts while the park is written
        try:
            record = await self._book.get(key)
            now = (await self._gateway.chain_time()).seconds
            return await self._park_now(record, now, reason)
        finally:
            self._running.discard(key)

    async def _park_now(self, record: ActionRecord, now: int, reason: str) -> ActionRecord:
        if not record.is_open:
            raise ValueError(
                f"action {record.key} is {record.state}; only open actions can be parked"
            )
        await self._book.park(record, now, f"parked by an operator: {reason}")
        return await self._book.get(record.action_key)

    async def retry(self, key: ActionKey, *, request_id: int | None = None) -> ActionRecord | None:
        """Operator request "retry": a parked or failed action runs again.

        An announcement still pending on chain (parked while announced) is resumed at
        ``waiting`` with the same hash; anything else starts over (new time, new hash). Waits
        for a running step's boundary like ``park`` (``None`` now).
        """
        if key in self._running:
            self._defer(key, _Deferred(kind="retry", request_id=request_id))
            return None
        self._running.add(key)
        try:
            return await self._retry_now(await self._book.get(key))
        finally:
            self._running.discard(key)

    async def _retry_now(self, record: ActionRecord) -> ActionRecord:
        if record.state not in (ActionState.PARKED, ActionState.FAILED):
            raise ValueError(
                f"action {record.key} is {record.state}; only parked or failed actions retry"
            )
        now = (await self._gateway.chain_time()).seconds
        bot = await self._gateway.get_bot(record.operator) if record.operator else None
        changes = restart(attempts=0, next_check_at=None, error_code=None, error_name=None)
        if bot is not None and record.action_hash and bot.pending_action_hash == record.action_hash:
            changes = {"state": ActionState.WAITING, "progress": 0, "outcome": None, "attempts": 0}
        return await self._book.update(record, now, **changes)

    def _defer(self, key: ActionKey, deferred: _Deferred) -> None:
        known = self._deferred.get(key)
        if known is None or known.request_id != deferred.request_id:
            log.info("operator_request_deferred", action_key=str(key), request=deferred.kind)
        self._deferred[key] = deferred

    @property
    def sequencers(self) -> Mapping[str, Sequencer]:
        """Every account's sequencer by address (the admin's and each operator's)."""
        return self._steps.sequencers
