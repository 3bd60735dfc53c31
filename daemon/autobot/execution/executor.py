"""The executor: carries journaled actions through the bot protocol, one step at a time.

States (docs/architecture.md) and what moves an action on::

    planned ──(bot timelock > 0: announce_dry_run journaled with the hash)──▶ announced
    announced ──(announce committed; incident "Dry-run")──▶ waiting
    announced ──(announce dropped: expired and absent, or aborted)──▶ planned (new time, new hash)
    waiting ──(chain time >= execute_at, slot still ours, goal not reached)──▶ executing
    waiting ──(goal already reached: moot)──▶ recording (record_success clears the slot)
    planned ──(bot timelock 0, or no bot: action_id None)──▶ executing
    executing ──(every admin call committed)──▶ recording | done (no bot)
    executing ──(a call aborts: §9)──▶ wait (not yet) | recording (failure / moot / escalated)
    recording ──(record_* committed)──▶ done | failed | moot | parked (escalated)
    any open state ──(needs a person)──▶ parked;  parked/failed ──(operator "retry")──▶ planned

Every step is derived from the journal and the chain, never from memory: the latest transaction
of the current step (matched by the action's hash, so a restarted action never sees an older
attempt's) is followed first — settled, or re-sent byte for byte — and only a step without a live
or executed transaction is (re)done. That is also what makes a restart safe: recovery is this same
``advance`` on every open action. Each call is simulated before it is signed; a call whose
simulation aborts is never submitted. Transport errors only defer a step (never a bot failure).

``live=False`` (``[automation] mode = "dry-run"``): planned actions are routed, their calls
simulated and every transaction they would send logged (``dry_run_transaction``); nothing is
signed or submitted, and the action stays planned (re-simulated every ``dry_run_recheck_seconds``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from autobot.chain.codec import action_hash
from autobot.chain.gateway import ChainGateway
from autobot.chain.signer import Signer
from autobot.clock import Clock
from autobot.domain import calls as c
from autobot.domain.bots import Bot
from autobot.domain.snapshot import Snapshot
from autobot.errors import JournalError, PermanentError, TransientError
from autobot.execution.guards import GuardContext, Guards
from autobot.execution.outcomes import (
    TERMINAL_STATE,
    Verdict,
    already_applied,
    backoff_seconds,
    classify_abort,
    incident_type,
    snapshot_scope,
)
from autobot.execution.routing import Router
from autobot.execution.sequencer import Sequencer
from autobot.execution.telemetry import ExecutionMetrics, NullExecutionMetrics
from autobot.execution.transcripts import calls_to_text
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    NewAction,
    NewIncident,
    Outcome,
    TxPurpose,
    TxRecord,
    TxState,
)
from autobot.journal.store import ActionChanges, SqliteJournal
from autobot.planning.plan import PlannedAction, Recipe, TimedCall
from autobot.planning.recipes import recipe_from_json

__all__ = ["Executor", "StepResult"]

log = structlog.get_logger(__name__)

_SLOT_STATES = frozenset(
    {ActionState.ANNOUNCED, ActionState.WAITING, ActionState.EXECUTING, ActionState.RECORDING}
)
_RESTART: ActionChanges = {
    "state": ActionState.PLANNED,
    "operator": None,
    "timelock_secs": None,
    "execute_at": None,
    "action_hash": None,
    "calls": None,
    "progress": 0,
    "outcome": None,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """Where an action stands after ``advance``: look again at ``next_check_at`` (chain seconds),
    or ``soon`` (a transaction is in flight), or never (terminal state)."""

    key: str
    state: ActionState
    next_check_at: int | None = None
    soon: bool = False


class _View:
    """The chain as one ``advance`` sees it: the sweep's snapshot until our own transactions
    change the chain, then fresh reads."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self.stale = snapshot is None


class Executor:
    """Advances journaled actions; the only component that signs and submits."""

    def __init__(
        self,
        *,
        journal: SqliteJournal,
        gateway: ChainGateway,
        admin: Sequencer,
        operators: Mapping[str, Sequencer],
        router: Router,
        guards: Guards,
        clock: Clock,
        live: bool,
        metrics: ExecutionMetrics | None = None,
        responsible: str = "autobot",
        confirm_seconds: float = 5.0,
        retry_base_seconds: int = 15,
        retry_max_seconds: int = 300,
        dry_run_recheck_seconds: int = 600,
        max_steps: int = 32,
    ) -> None:
        self._journal = journal
        self._gateway = gateway
        self._admin = admin
        self._operators = dict(operators)
        self._router = router
        self._guards = guards
        self._clock = clock
        self._live = live
        self._metrics = metrics if metrics is not None else NullExecutionMetrics()
        self._responsible = responsible
        self._confirm = confirm_seconds
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._dry_recheck = dry_run_recheck_seconds
        self._max_steps = max_steps
        self._route_lock = asyncio.Lock()
        self._running: set[str] = set()

    # ------------------------------------------------------------------ public API

    async def accept(self, planned: PlannedAction, *, chain_now: int) -> tuple[ActionRecord, bool]:
        """Journal a planned action (idempotent by key); returns ``(record, created)``."""
        record, created = await self._journal.add_action(
            NewAction(
                key=str(planned.key),
                kind=planned.key.kind,
                subject_id=planned.subject_id,
                action_id=None if planned.action_id is None else int(planned.action_id),
                recipe=_recipe_text(planned.recipe),
                reason=planned.reason,
                due_at=planned.due_at,
            ),
            chain_now=chain_now,
        )
        if created:
            log.info("action_planned", action_key=record.key, reason=record.reason)
        return record, created

    async def advance_due(
        self, *, snapshot: Snapshot | None = None, concurrency: int = 4
    ) -> list[StepResult]:
        """Advance every open action whose ``next_check_at`` has come (at ``snapshot``'s time)."""
        now = snapshot.now if snapshot is not None else (await self._gateway.chain_time()).seconds
        due = [
            a.key
            for a in await self._journal.open_actions()
            if a.next_check_at is None or a.next_check_at <= now
        ]
        gate = asyncio.Semaphore(concurrency)

        async def one(key: str) -> StepResult | None:
            async with gate:
                try:
                    return await self.advance(key, snapshot=snapshot)
                except JournalError:
                    raise
                except Exception:  # job boundary: one action's bug must not stop the others
                    log.exception("action_step_failed", action_key=key)
                    return None

        results = await asyncio.gather(*(one(k) for k in due))
        return [r for r in results if r is not None]

    async def advance(self, key: str, *, snapshot: Snapshot | None = None) -> StepResult:
        """Take every step ``key`` can take now; ``snapshot`` (optional) is the sweep's read."""
        if key in self._running:
            record = await self._get(key)
            return StepResult(key=key, state=record.state, soon=True)
        self._running.add(key)
        try:
            view = _View(snapshot)
            with structlog.contextvars.bound_contextvars(action_key=key):
                for _ in range(self._max_steps):
                    record = await self._get(key)
                    if not record.is_open:
                        return StepResult(key=key, state=record.state)
                    try:
                        waiting = await self._step(record, view)
                    except TransientError as exc:
                        return await self._defer(record, view, exc)
                    except JournalError:
                        raise
                    except PermanentError as exc:
                        return await self._park(record, view, f"{type(exc).__name__}: {exc}")
                    if waiting is not None:
                        return waiting
                return StepResult(key=key, state=record.state, soon=True)
        finally:
            self._running.discard(key)

    async def park(self, key: str, *, reason: str) -> ActionRecord:
        """Operator request "park": stop an open action; a person takes over."""
        record = await self._get(key)
        await self._park(record, _View(None), f"parked by an operator: {reason}")
        return await self._get(key)

    async def retry(self, key: str) -> ActionRecord:
        """Operator request "retry": a parked or failed action is planned again.

        If its announcement is still pending on chain (parked while announced), it resumes at
        ``waiting`` with the same hash; otherwise it starts over (new time, new hash).
        """
        record = await self._get(key)
        if record.state not in (ActionState.PARKED, ActionState.FAILED):
            raise ValueError(f"action {key} is {record.state}; only parked or failed actions retry")
        now = (await self._gateway.chain_time()).seconds
        bot = await self._gateway.get_bot(record.operator) if record.operator else None
        expect = {record.state}
        if bot is not None and record.action_hash and bot.pending_action_hash == record.action_hash:
            return await self._journal.update_action(
                key, expect=expect, chain_now=now, state=ActionState.WAITING, progress=0,
                outcome=None, attempts=0, next_check_at=None, error_code=None, error_name=None,
                error_message=None,
            )  # fmt: skip
        return await self._journal.update_action(
            key, expect=expect, chain_now=now, attempts=0, next_check_at=None, error_code=None,
            error_name=None, error_message=None, **_RESTART,
        )  # fmt: skip

    async def escalated_draws(self) -> frozenset[int]:
        """Lotteries whose draw was escalated (strict VRF: ``E_VRF_PENDING`` on a retry)."""
        parked = await self._journal.list_actions(states={ActionState.PARKED}, limit=10_000)
        return frozenset(
            a.subject_id for a in parked if a.outcome is Outcome.ESCALATED and a.kind == "draw"
        )

    # ------------------------------------------------------------------ the state machine

    async def _step(self, record: ActionRecord, view: _View) -> StepResult | None:
        if not self._live and record.state is not ActionState.PLANNED:
            log.info("dry_run_left_alone", state=record.state.value)
            return StepResult(key=record.key, state=record.state, soon=False)
        match record.state:
            case ActionState.PLANNED:
                return await self._start(record, view)
            case ActionState.ANNOUNCED:
                return await self._announced(record, view)
            case ActionState.WAITING:
                return await self._waiting(record, view)
            case ActionState.EXECUTING:
                return await self._execute(record, view)
            case _:
                return await self._record(record, view)

    async def _start(self, record: ActionRecord, view: _View) -> StepResult | None:
        recipe = _recipe(record)
        snap = await self._snapshot(record, recipe, view)
        now = snap.now
        if record.next_check_at is not None and now < record.next_check_at:
            return self._wait(record, record.next_check_at)
        if recipe.goal_reached(snap):
            log.info("action_moot", stage="before start")
            await self._finish(
                record, now, Outcome.MOOT, message="the chain already shows the goal"
            )
            return None
        if record.action_id is None:  # gated locally, no bot attestation
            calls = recipe.calls(now)
            digest = action_hash(0, record.subject_id, [t.call for t in calls], now)
            if not self._live:
                return await self._dry_run(record, now, None, calls, digest)
            await self._update(
                record, now, state=ActionState.EXECUTING, execute_at=now, action_hash=digest,
                calls=calls_to_text(calls), progress=0,
            )  # fmt: skip
            return None
        async with self._route_lock:
            busy = {
                a.operator
                for a in await self._journal.open_actions()
                if a.operator and a.key != record.key and a.state in _SLOT_STATES
            }
            route = self._router.route(
                record.action_id, snap.bots, now=now, busy=busy, action_key=record.key
            )
            if route.bot is None:
                log.info("action_unrouted", reason=route.reason)
                return await self._retry_later(record, now, message=f"no bot: {route.reason}")
            bot, operator = route.bot, self._operators[route.bot.operator]
            execute_at = now + bot.timelock_secs
            calls = recipe.calls(execute_at)
            digest = action_hash(
                record.action_id, record.subject_id, [t.call for t in calls], execute_at
            )
            fixed: ActionChanges = {
                "operator": bot.operator,
                "timelock_secs": bot.timelock_secs,
                "execute_at": execute_at,
                "action_hash": digest,
                "calls": calls_to_text(calls),
                "progress": 0,
                "error_code": None,
                "error_name": None,
                "error_message": None,
            }
            if bot.timelock_secs == 0:
                if not self._live:
                    return await self._dry_run(record, now, bot, calls, digest)
                await self._update(record, now, state=ActionState.EXECUTING, **fixed)
                return None
            announce = c.announce_dry_run(record.action_id, digest, now, execute_at)
            if not self._live:
                return await self._dry_run(record, now, bot, calls, digest, announce=announce)
            sim = await self._gateway.simulate(
                call=announce,
                sender=operator.signer,
                sequence_number=await operator.next_sequence(),
            )
            if not sim.success:
                name = sim.abort.name if sim.abort else sim.vm_status
                log.warning("announce_refused", operator=bot.operator, abort=name)
                return await self._retry_later(
                    record, now, code=sim.abort.code if sim.abort else None, name=name,
                    message="announce_dry_run would abort",
                )  # fmt: skip
            await operator.send(
                announce, action_key=record.key, action_hash=digest, purpose=TxPurpose.ANNOUNCE,
                expect={ActionState.PLANNED}, chain_now=now, state=ActionState.ANNOUNCED, **fixed,
            )  # fmt: skip
        self._metrics.first_submission(self._clock.wall() - record.created_wall)
        log.info(
            "action_announced",
            operator=bot.operator,
            execute_at=execute_at,
            action_hash=digest.hex(),
        )
        return None

    async def _announced(self, record: ActionRecord, view: _View) -> StepResult | None:
        tx = await self._tracked(record, TxPurpose.ANNOUNCE, 0, view)
        now = await self._now(view)
        if tx is not None and tx.state.live:
            return self._soon(record)
        if tx is not None and tx.state is TxState.COMMITTED:
            assert record.action_hash is not None and record.execute_at is not None
            await self._update(
                record, now, state=ActionState.WAITING,
                incident=self._incident(
                    record, "Dry-run",
                    f"announced action {record.action_id} for {record.key}: hash "
                    f"0x{record.action_hash.hex()}, executes after {record.execute_at}, "
                    f"operator {record.operator}, tx {tx.tx_hash}",
                    tx_hash=tx.tx_hash,
                ),
            )  # fmt: skip
            return None
        # Never landed (dropped: provably absent) or aborted on chain: start over, new time and hash.
        why = (
            "announcement never landed"
            if tx is None or tx.state is TxState.DROPPED
            else "announce aborted"
        )
        log.warning("announce_lost", why=why, abort=tx.error_name if tx else None)
        await self._update(
            record, now, attempts=record.attempts + 1, error_code=tx.error_code if tx else None,
            error_name=tx.error_name if tx else None, error_message=why,
            next_check_at=now + self._backoff(record), **_RESTART,
        )  # fmt: skip
        return None

    async def _waiting(self, record: ActionRecord, view: _View) -> StepResult | None:
        assert record.execute_at is not None and record.action_hash is not None
        now = await self._now(view)
        if now < record.execute_at:
            return self._wait(record, record.execute_at)
        recipe = _recipe(record)
        snap = await self._snapshot(record, recipe, view, fresh=True)
        bot = snap.bot(record.operator or "")
        if bot is None or bot.pending_action_hash != record.action_hash:
            text = (
                f"announcement 0x{record.action_hash.hex()} of {record.key} is no longer pending "
                f"on {record.operator} (rotate_bot?); announcing again"
            )
            log.warning("announcement_gone", operator=record.operator)
            await self._update(
                record, snap.now, incident=self._incident(record, "Инцидент", text), **_RESTART
            )
            return None
        if snap.now < bot.pending_execute_after:
            return self._wait(record, bot.pending_execute_after)
        if recipe.goal_reached(snap):
            return await self._moot(record, snap.now)
        if (refused := self._refusal(record, bot, snap.now)) is not None:
            return await self._park(record, view, str(refused))
        await self._update(record, snap.now, state=ActionState.EXECUTING, progress=0)
        return None

    async def _execute(self, record: ActionRecord, view: _View) -> StepResult | None:
        assert record.execute_at is not None and record.action_hash is not None
        calls = _recipe(record).calls(record.execute_at)
        if calls_to_text(calls) != record.calls:
            return await self._park(
                record, view, "the recipe no longer gives the journaled calls (changed code?)"
            )
        for _ in range(3):  # a few sends per advance; a transaction dropped again waits a sweep
            if record.progress >= len(calls):
                await self._conclude(record, await self._now(view), Outcome.SUCCESS)
                return None
            timed = calls[record.progress]
            tx = await self._tracked(record, TxPurpose.EXECUTE, record.progress, view)
            if tx is not None and tx.state.live:
                return self._soon(record)
            now = await self._now(view)
            if tx is not None and tx.state is TxState.COMMITTED:
                record = await self._progressed(record, now, timed, tx)
                continue
            if tx is not None and tx.state is TxState.ABORTED:
                return await self._on_abort(record, view, timed, tx.error_code or 0, tx.error_name)
            snap = await self._snapshot(record, _recipe(record), view)
            if already_applied(timed.call, snap):
                log.info("call_already_applied", call_index=record.progress)
                record = await self._update(record, now, progress=record.progress + 1)
                continue
            if now < timed.not_before:
                return self._wait(record, timed.not_before)
            if record.operator is not None:
                bot = snap.bot(record.operator)
                refused = self._refusal(record, bot, now) if bot else "the bot is not registered"
                if refused is not None:
                    return await self._park(record, view, str(refused))
            secondary = self._co_signers(timed)
            sim = await self._gateway.simulate(
                call=timed.call, sender=self._admin.signer,
                sequence_number=await self._admin.next_sequence(), secondary=secondary,
            )  # fmt: skip
            if not sim.success:
                code = sim.abort.code if sim.abort else 0
                return await self._on_abort(
                    record, view, timed, code, sim.abort.name if sim.abort else sim.vm_status
                )
            sent = await self._admin.send(
                timed.call, action_key=record.key, action_hash=record.action_hash,
                purpose=TxPurpose.EXECUTE, call_index=record.progress, secondary=secondary,
                expect={ActionState.EXECUTING}, chain_now=now, attempts=0,
            )  # fmt: skip
            log.info(
                "call_submitted",
                call_index=record.progress,
                tx_hash=sent.tx_hash,
                call=timed.call.render(),
            )
            if record.operator is None and record.progress == 0:
                self._metrics.first_submission(self._clock.wall() - record.created_wall)
        return self._soon(record)

    async def _progressed(
        self, record: ActionRecord, now: int, timed: TimedCall, tx: TxRecord
    ) -> ActionRecord:
        kind = incident_type(timed.call)
        incident = None
        if kind is not None:
            incident = self._incident(
                record, kind,
                f"{timed.call.render()} executed for {record.key} (action hash "
                f"0x{(record.action_hash or b'').hex()}), tx {tx.tx_hash}",
                tx_hash=tx.tx_hash,
            )  # fmt: skip
        log.info("call_executed", call_index=record.progress, tx_hash=tx.tx_hash)
        return await self._update(record, now, progress=record.progress + 1, incident=incident)

    async def _on_abort(
        self, record: ActionRecord, view: _View, timed: TimedCall, code: int, name: str | None
    ) -> StepResult | None:
        now = await self._now(view)
        verdict = classify_abort(code, timed.call)
        log.info(
            "call_aborts", call_index=record.progress, abort=name, code=code, verdict=verdict.value
        )
        if verdict is Verdict.WAIT:
            return await self._retry_later(
                record, now, code=code, name=name, message="not yet: waiting to try again"
            )
        if verdict is Verdict.ESCALATE:
            text = (
                f"draw of lottery {record.subject_id} refused with {name} (strict VRF): retries "
                f"stopped, escalated to a person; action {record.key}, hash "
                f"0x{(record.action_hash or b'').hex()}"
            )
            await self._conclude(
                record, now, Outcome.ESCALATED, code=code, name=name, incident=text
            )
            return None
        snap = await self._snapshot(record, _recipe(record), view, fresh=True)
        if _recipe(record).goal_reached(snap):
            if record.progress > 0:  # our own earlier calls got there
                await self._conclude(record, snap.now, Outcome.SUCCESS, code=code, name=name)
                return None
            return await self._moot(record, snap.now)
        await self._conclude(
            record, now, Outcome.FAILURE, code=code, name=name,
            incident=f"{timed.call.render()} would abort {name}(0x{code:x}): the plan for "
            f"{record.key} cannot run (action hash 0x{(record.action_hash or b'').hex()})",
        )  # fmt: skip
        return None

    async def _record(self, record: ActionRecord, view: _View) -> StepResult | None:
        assert record.outcome is not None and record.action_hash is not None
        assert record.action_id is not None and record.operator is not None
        tx = await self._tracked(record, TxPurpose.RECORD, 0, view)
        if tx is not None and tx.state.live:
            return self._soon(record)
        now = await self._now(view)
        if tx is not None and tx.state is TxState.COMMITTED:
            await self._finish(record, now, record.outcome, tx_hash=tx.tx_hash)
            return None
        if tx is not None and tx.state is TxState.ABORTED:
            return await self._park(record, view, f"record transaction aborted {tx.error_name}")
        operator = self._operators[record.operator]
        if record.outcome is Outcome.FAILURE:
            call = c.record_failure(
                record.action_id, record.action_hash, now, record.error_code or 0
            )
        else:
            call = c.record_success(record.action_id, record.action_hash, now)
        snap = await self._snapshot(record, _recipe(record), view)
        bot = snap.bot(record.operator)
        refused = self._refusal(record, bot, now) if bot else "the bot is not registered"
        if refused is not None:
            return await self._park(record, view, f"cannot record: {refused}")
        sim = await self._gateway.simulate(
            call=call, sender=operator.signer, sequence_number=await operator.next_sequence()
        )
        if not sim.success:
            code = sim.abort.code if sim.abort else 0
            if classify_abort(code, call) is Verdict.WAIT:
                return await self._retry_later(record, now, message="record not yet accepted")
            return await self._park(record, view, f"record_* would abort {sim.vm_status}")
        await operator.send(
            call, action_key=record.key, action_hash=record.action_hash, purpose=TxPurpose.RECORD,
            expect={ActionState.RECORDING}, chain_now=now,
        )  # fmt: skip
        return None

    # ------------------------------------------------------------------ endings

    async def _moot(self, record: ActionRecord, now: int) -> StepResult | None:
        """The chain moved on: clear our pending slot (record_success) and say so."""
        text = f"{record.key} is moot: the chain already shows its goal; " + (
            f"clearing the pending slot of {record.operator} with record_success "
            f"(hash 0x{(record.action_hash or b'').hex()})"
            if record.operator and (record.timelock_secs or 0) > 0
            else "nothing was executed"
        )
        log.info("action_moot", stage=record.state.value)
        await self._conclude(record, now, Outcome.MOOT, incident=text)
        return None

    async def _conclude(
        self,
        record: ActionRecord,
        now: int,
        outcome: Outcome,
        *,
        code: int | None = None,
        name: str | None = None,
        incident: str | None = None,
    ) -> None:
        """The outcome is decided: record it under the bot, or finish if no bot attests it."""
        note = self._incident(record, "Инцидент", incident) if incident else None
        if record.action_id is None or record.operator is None:
            await self._finish(record, now, outcome, code=code, name=name, incident=note)
            return
        if outcome is Outcome.MOOT and record.state is ActionState.PLANNED:
            await self._finish(record, now, outcome, incident=note)
            return
        await self._update(
            record, now, state=ActionState.RECORDING, outcome=outcome, error_code=code,
            error_name=name, next_check_at=None, incident=note,
        )  # fmt: skip

    async def _finish(
        self,
        record: ActionRecord,
        now: int,
        outcome: Outcome,
        *,
        code: int | None = None,
        name: str | None = None,
        message: str | None = None,
        tx_hash: str | None = None,
        incident: NewIncident | None = None,
    ) -> None:
        state = TERMINAL_STATE[outcome]
        changes: ActionChanges = {"state": state, "outcome": outcome, "next_check_at": None}
        if code is not None:
            changes.update(error_code=code, error_name=name)
        if message is not None:
            changes["error_message"] = message
        await self._update(record, now, incident=incident, **changes)
        self._metrics.action_finished(record.kind, outcome.value)
        log.info("action_finished", state=state.value, outcome=outcome.value, tx_hash=tx_hash)

    async def _park(self, record: ActionRecord, view: _View, reason: str) -> StepResult:
        """Needs a person: stop, say why in the journal and the incident log."""
        now = view.snapshot.now if view.snapshot is not None else record.updated_chain
        slot = (
            f"; the pending slot of {record.operator} still holds 0x{record.action_hash.hex()}"
            if record.action_hash and record.state in _SLOT_STATES and (record.timelock_secs or 0)
            else ""
        )
        text = f"{record.key} parked in {record.state.value}: {reason}{slot}"
        log.error("action_parked", reason=reason, state=record.state.value)
        await self._update(
            record, now, state=ActionState.PARKED, error_message=reason, next_check_at=None,
            incident=self._incident(record, "Инцидент", text),
        )  # fmt: skip
        self._metrics.action_finished(record.kind, "parked")
        return StepResult(key=record.key, state=ActionState.PARKED)

    # ------------------------------------------------------------------ waiting

    def _wait(self, record: ActionRecord, until: int) -> StepResult:
        return StepResult(key=record.key, state=record.state, next_check_at=until)

    def _soon(self, record: ActionRecord) -> StepResult:
        return StepResult(key=record.key, state=record.state, soon=True)

    def _backoff(self, record: ActionRecord) -> int:
        return backoff_seconds(record.attempts, base=self._retry_base, cap=self._retry_max)

    async def _retry_later(
        self,
        record: ActionRecord,
        now: int,
        *,
        code: int | None = None,
        name: str | None = None,
        message: str,
    ) -> StepResult:
        until = now + self._backoff(record)
        await self._update(
            record, now, attempts=record.attempts + 1, next_check_at=until, error_code=code,
            error_name=name, error_message=message,
        )  # fmt: skip
        return self._wait(record, until)

    async def _defer(self, record: ActionRecord, view: _View, exc: TransientError) -> StepResult:
        """A transport error: try again later; never a failure of the action or the bot."""
        log.warning("action_deferred", error=str(exc), error_type=type(exc).__name__)
        now = view.snapshot.now if view.snapshot is not None else record.updated_chain
        current = await self._get(record.key)
        until = now + self._backoff(current)
        await self._update(current, now, attempts=current.attempts + 1, next_check_at=until)
        return self._wait(current, until)

    # ------------------------------------------------------------------ reading

    async def _get(self, key: str) -> ActionRecord:
        record = await self._journal.get_action(key)
        if record is None:
            raise KeyError(f"no journaled action {key}")
        return record

    async def _update(
        self,
        record: ActionRecord,
        now: int,
        *,
        incident: NewIncident | None = None,
        **changes: object,
    ) -> ActionRecord:
        return await self._journal.update_action(
            record.key,
            expect={record.state},
            chain_now=now,
            incident=incident,
            **changes,  # type: ignore[arg-type]
        )

    async def _snapshot(
        self, record: ActionRecord, recipe: Recipe, view: _View, *, fresh: bool = False
    ) -> Snapshot:
        if view.snapshot is None or view.stale or fresh:
            lotteries, assets = snapshot_scope(recipe.KIND, record.subject_id)
            view.snapshot = await self._gateway.snapshot(lottery_ids=lotteries, asset_ids=assets)
            view.stale = False
        return view.snapshot

    async def _now(self, view: _View) -> int:
        if view.snapshot is not None and not view.stale:
            return view.snapshot.now
        return (await self._gateway.chain_time()).seconds

    async def _tracked(
        self, record: ActionRecord, purpose: TxPurpose, index: int, view: _View
    ) -> TxRecord | None:
        """The latest transaction of this step of this attempt, followed (settled or re-sent)."""
        mine = [
            t
            for t in await self._journal.transactions(record.key)
            if t.purpose is purpose
            and t.call_index == index
            and t.action_hash == record.action_hash
        ]
        if not mine:
            return None
        tx = mine[-1]
        if tx.state.live:
            tx = await self._sequencer(tx.sender).follow(tx, wait_seconds=self._confirm)
            if tx.state.consumed:
                view.stale = True
        return tx

    def _sequencer(self, address: str) -> Sequencer:
        if address == self._admin.address:
            return self._admin
        return self._operators[address]

    def _co_signers(self, timed: TimedCall) -> tuple[Signer, ...]:
        missing = [a for a in timed.secondary if a not in self._operators]
        if missing:
            raise _NoKey(f"no key to co-sign {timed.call.function} as {', '.join(missing)}")
        return tuple(self._operators[a].signer for a in timed.secondary)

    def _refusal(self, record: ActionRecord, bot: Bot, now: int) -> str | None:
        assert record.action_id is not None
        ctx = GuardContext(bot=bot, action_id=record.action_id, now=now)
        refused = self._guards.refusal(ctx, action_key=record.key)
        return None if refused is None else str(refused)

    def _incident(
        self, record: ActionRecord, kind: str, text: str, *, tx_hash: str | None = None
    ) -> NewIncident:
        return NewIncident(
            type=kind,
            description=text,
            responsible=self._responsible,
            action_key=record.key,
            action_hash=record.action_hash,
            tx_hash=tx_hash,
        )

    # ------------------------------------------------------------------ dry run

    async def _dry_run(
        self,
        record: ActionRecord,
        now: int,
        bot: Bot | None,
        calls: tuple[TimedCall, ...],
        digest: bytes,
        *,
        announce: c.Call | None = None,
    ) -> StepResult:
        """Simulate and log every transaction the action would send; submit nothing."""
        plan: list[tuple[c.Call, Sequencer, tuple[Signer, ...], bool]] = []
        operator = self._operators[bot.operator] if bot is not None else None
        if announce is not None and operator is not None:
            plan.append((announce, operator, (), True))
        plan += [(t.call, self._admin, self._co_signers(t), True) for t in calls]
        if operator is not None and record.action_id is not None:
            # Not simulated: without the announcement on chain it would abort by design.
            plan.append((c.record_success(record.action_id, digest, now), operator, (), False))
        for call, sender, secondary, simulate in plan:
            result = "not simulated"
            if simulate:
                sim = await self._gateway.simulate(
                    call=call, sender=sender.signer, secondary=secondary,
                    sequence_number=await sender.next_sequence(),
                )  # fmt: skip
                result = "ok" if sim.success else (sim.abort.name if sim.abort else sim.vm_status)
            log.info(
                "dry_run_transaction",
                function=f"{call.module}::{call.function}",
                arguments=[a.render() for a in call.args],
                sender=sender.address,
                co_signers=[s.address for s in secondary],
                simulated=result,
                action_hash=digest.hex(),
            )
        until = now + self._dry_recheck
        await self._update(
            record, now, next_check_at=until, error_message="dry-run: simulated, nothing submitted"
        )
        return self._wait(record, until)


class _NoKey(PermanentError):
    """A call needs a co-signer whose key autobot does not hold."""


def _recipe_text(recipe: Recipe) -> str:
    import json

    return json.dumps(recipe.to_json(), sort_keys=True, separators=(",", ":"))


def _recipe(record: ActionRecord) -> Recipe:
    import json

    try:
        return recipe_from_json(json.loads(record.recipe))
    except ValueError as exc:
        raise _BadRecipe(f"journaled recipe of {record.key} is unreadable: {exc}") from exc


class _BadRecipe(PermanentError):
    """The journal holds a recipe this code cannot read (written by another version?)."""
