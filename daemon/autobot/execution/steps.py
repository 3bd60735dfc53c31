"""The state machine of one action: each method takes the action one step further.

``ActionSteps.step`` is called by ``Executor.advance`` with the action's journaled record and a
``StepView``; it returns ``None`` when the action moved on (the executor calls it again), or a
``StepResult`` when it has to wait (chain time, a transaction in flight, a backoff). The transitions
are drawn in ``executor.py``'s docstring; the rules they follow in ``docs/architecture.md``
("Journal and execution").

**Pipelined calls.** A recipe whose calls form a chain (``Recipe.PIPELINED``: refund batches and
the archive, winner batches) does not wait a block per call: once the first unexecuted call
simulated successfully and was sent, the calls after it whose time has come are signed and sent
right behind it (consecutive sequence numbers, up to the account's submit window). They are not
simulated one by one — their preconditions are the effects of the calls ahead of them, which no
simulation against the current chain can see. If one aborts on chain anyway (and with it every
later one), it is decided again by a new simulation, as any call that aborted on chain.
"""

from __future__ import annotations

import contextlib
import enum
import json
from collections.abc import Mapping

import structlog

from autobot.chain.codec import action_hash
from autobot.chain.gateway import ChainGateway, TxStatus
from autobot.chain.signer import Signer
from autobot.clock import Clock
from autobot.domain import calls as c
from autobot.domain.bots import Bot
from autobot.domain.snapshot import Snapshot
from autobot.errors import RpcProtocolError, SubmitWindowFull, TransientError, UnusableAction
from autobot.execution.bookkeeping import SLOT_STATES, Bookkeeper, StepResult, restart
from autobot.execution.dryrun import WouldSend, rehearse
from autobot.execution.guards import GuardContext, Guards
from autobot.execution.lane import UnpacedLock, relax
from autobot.execution.outcomes import (
    Verdict,
    classify_abort,
    executed_incident,
    is_cap_nonce_taken,
    is_dual_write_block,
)
from autobot.execution.routing import Router
from autobot.execution.sequencer import Sequencer
from autobot.execution.telemetry import ExecutionMetrics, NullExecutionMetrics
from autobot.execution.transcripts import call_from_json, calls_to_text
from autobot.execution.view import StepView, recipe_of
from autobot.journal.protocol import ActionChanges, Journal
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    IncidentType,
    NewIncident,
    Outcome,
    TxPurpose,
    TxRecord,
    TxSettlement,
    TxState,
)
from autobot.planning.plan import Recipe, TimedCall
from autobot.planning.preconditions import Refusal
from autobot.status.moments import chain_text

__all__ = ["ActionSteps"]

log = structlog.get_logger(__name__)

REJECTION_CALL_INDEX = 1
"""``report_call_rejected`` is journaled as a ``record`` transaction at call index 1 (the
record itself, ``record_success``/``record_failure``, is index 0)."""


class _Sent(enum.Enum):
    """``_send_call``'s answer when the call left (the step goes on with the next call)."""

    SENT = "sent"


class ActionSteps:
    """The transitions of the action state machine (``Executor`` calls ``step``).

    ``admin`` and ``operators`` (by address) are the accounts' sequencers; ``router`` picks an
    action's bot and ``guards`` check it before each step under it; ``live=False`` is dry-run
    (``dryrun.py``); ``book`` writes every transition to the journal.
    """

    def __init__(
        self,
        *,
        journal: Journal,
        gateway: ChainGateway,
        admin: Sequencer,
        operators: Mapping[str, Sequencer],
        router: Router,
        guards: Guards,
        clock: Clock,
        live: bool,
        book: Bookkeeper,
        metrics: ExecutionMetrics | None = None,
        dry_run_recheck_seconds: int = 600,
        pipeline: bool = True,
        chain_abort_retries: int = 3,
    ) -> None:
        """``chain_abort_retries``: how often a call that aborted on chain with a "not yet"
        code is tried again before the action is escalated (``[automation]``)."""
        self._journal = journal
        self._gateway = gateway
        self._admin = admin
        self._operators = dict(operators)
        self._router = router
        self._guards = guards
        self._clock = clock
        self._live = live
        self._metrics = metrics if metrics is not None else NullExecutionMetrics()
        self._book = book
        self._dry_recheck = dry_run_recheck_seconds
        self._pipeline = pipeline
        self._abort_retries = chain_abort_retries
        self._route_lock = UnpacedLock()

    async def step(self, record: ActionRecord, view: StepView) -> StepResult | None:
        if not self._live and record.state is not ActionState.PLANNED:
            log.info("dry_run_left_alone", state=record.state.value)
            return StepResult(key=record.action_key, state=record.state)
        if record.state is not ActionState.PLANNED:
            relax()  # only an action's first transaction is urgent (``lane.py``)
        if record.next_check_at is not None and await view.now() < record.next_check_at:
            return self._book.wait(record, record.next_check_at)
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

    async def _start(self, record: ActionRecord, view: StepView) -> StepResult | None:
        recipe = recipe_of(record)
        snap = await view.snapshot(record)
        now = snap.now
        if recipe.goal_reached(snap):
            await self._book.moot(record, now)
            return None
        refusals = recipe.refusals(snap)
        if refusals:
            return await self._refused_before_start(record, view, snap, recipe, refusals[0])
        if record.action_id is None:  # gated locally: no bot, no attestation
            return await self._fix(record, now, None, recipe, view)
        if await self._adopt(record, snap, recipe):
            return None
        candidates = self._router.candidates(record.action_id, snap.bots)
        slotted = any(bot.timelock_secs > 0 for bot in candidates)  # only they have a slot
        # Choosing a slot and journaling its announcement is one section; an action only
        # timelock-0 bots can take (a close, a draw request) holds no slot and takes no lock:
        # a burst of closes is not signed and submitted one after the other.
        async with self._route_lock if slotted else contextlib.nullcontext():
            busy: set[str] = set()
            if slotted:
                busy = {
                    a.operator
                    for a in await self._journal.open_actions()
                    if a.operator and a.key != record.key and a.state in SLOT_STATES
                }
            route = self._router.route(
                record.action_id, snap.bots, now=now, busy=busy, action_key=record.key
            )
            if route.bot is None:
                log.info("action_unrouted", reason=route.reason)
                if route.busy and not route.refusals:  # our own actions hold every slot
                    return await self._book.wait_for_bot(
                        record, now, message=f"no bot: {route.reason}"
                    )
                return await self._book.retry_later(record, now, message=f"no bot: {route.reason}")
            return await self._fix(record, now, route.bot, recipe, view)

    async def _fix(
        self, record: ActionRecord, now: int, bot: Bot | None, recipe: Recipe, view: StepView
    ) -> StepResult | None:
        """Fix time, calls and hash; announce them (timelocked bot) or go straight to executing."""
        timelock = bot.timelock_secs if bot is not None else 0
        execute_at = now + timelock
        calls = recipe.calls(execute_at)
        digest = action_hash(
            record.action_id or 0, record.subject_id, [t.call for t in calls], execute_at
        )
        operator = self._operators[bot.operator] if bot is not None else None
        announce = None
        if operator is not None and timelock > 0:
            assert record.action_id is not None
            announce = c.announce_dry_run(record.action_id, digest, now, execute_at)
        if not self._live:
            return await self._dry_run(record, now, operator, announce, calls, digest, execute_at)
        fixed: ActionChanges = {
            "state": ActionState.EXECUTING,
            "operator": bot.operator if bot is not None else None,
            "timelock_secs": None if bot is None else timelock,
            "execute_at": execute_at,
            "action_hash": digest,
            "calls": calls_to_text(calls),
            "progress": 0,
            "error_code": None,
            "error_name": None,
            "error_message": None,
        }
        if announce is None or operator is None:
            if len(calls) == 1 and not calls[0].secondary and calls[0].not_before <= now:
                return await self._execute_at_once(record, view, now, calls[0], digest, fixed)
            await self._book.update(record, now, **fixed)
            return None
        sim = await operator.simulate(announce)
        if not sim.success:
            name = sim.abort.name if sim.abort is not None else sim.vm_status
            log.warning("announce_refused", operator=operator.address, abort=name)
            code = sim.abort.code if sim.abort is not None else None
            return await self._book.retry_later(
                record, now, code=code, name=name, message="announce_dry_run would abort"
            )
        await operator.send_many(
            [(0, announce)],
            action_key=record.key,
            action_digest=digest,
            purpose=TxPurpose.ANNOUNCE,
            expect={ActionState.PLANNED},
            chain_now=now,
            gas_used={0: sim.gas_used},
            **(fixed | {"state": ActionState.ANNOUNCED}),
        )
        self._metrics.first_submission(self._clock.wall() - record.created_wall)
        log.debug("action_announced", operator=operator.address, execute_at=execute_at)
        return None

    async def _adopt(self, record: ActionRecord, snap: Snapshot, recipe: Recipe) -> bool:
        """An announcement of this action that the journal gave up on (dropped) but a bot's
        pending slot holds: carry on with it (wait out its timelock, execute, record with its
        hash) instead of announcing anew — the slot would block a new one until rotate_bot."""
        assert record.action_id is not None
        pending = {
            b.pending_action_hash: b
            for b in snap.bots
            if b.has_pending and b.operator in self._operators
        }
        if not pending:
            return False
        for tx in reversed(await self._journal.transactions(record.key)):
            bot = pending.get(tx.action_hash)
            if tx.purpose is not TxPurpose.ANNOUNCE or bot is None or tx.sender != bot.operator:
                continue
            announced = call_from_json(json.loads(tx.call))
            after = announced.args[3]  # announce_dry_run(action id, hash, now, executes after)
            if not isinstance(after, c.U64):
                continue
            execute_at = after.value
            calls = recipe.calls(execute_at)
            digest = action_hash(
                record.action_id, record.subject_id, [t.call for t in calls], execute_at
            )
            if digest != tx.action_hash:
                continue  # the recipe no longer gives what was announced: not ours to finish
            if tx.state is TxState.DROPPED:
                executed = await self._gateway.status(tx.tx_hash)
                if executed.state is TxStatus.SUCCESS:
                    await self._journal.correct_transaction(
                        TxSettlement(tx_hash=tx.tx_hash, state=TxState.COMMITTED)
                    )
            text = (
                f"announcement 0x{digest.hex()} of {record.key} is pending on {bot.operator} "
                f"(tx {tx.tx_hash}) though the journal had given it up: adopted, it executes "
                f"after {execute_at}"
            )
            log.warning("announcement_adopted", operator=bot.operator, tx_hash=tx.tx_hash)
            note = self._book.incident(record, IncidentType.INCIDENT, text, tx_hash=tx.tx_hash)
            await self._book.update(
                record,
                snap.now,
                state=ActionState.WAITING,
                operator=bot.operator,
                timelock_secs=bot.timelock_secs,
                execute_at=execute_at,
                action_hash=digest,
                calls=calls_to_text(calls),
                progress=0,
                next_check_at=execute_at,
                incident=note,
            )
            return True
        return False

    async def _execute_at_once(
        self,
        record: ActionRecord,
        view: StepView,
        now: int,
        timed: TimedCall,
        digest: bytes,
        fixed: ActionChanges,
    ) -> StepResult | None:
        """No timelock to wait for and a single call due now (a close, a draw request): simulate
        it, then journal it together with the fixed plan (one commit, the action ``executing``)
        and submit it. A simulation that aborts is decided as in the ``executing`` step."""
        try:
            sim = await self._admin.simulate(timed.call)
        except (TransientError, RpcProtocolError):
            await self._book.update(record, now, **fixed)  # fixed all the same; then deferred
            raise
        if not sim.success:
            record = await self._book.update(record, now, **fixed)
            code, name = (sim.abort.code, sim.abort.name) if sim.abort else (0, sim.vm_status)
            return await self._on_abort(record, view, timed, code, name)
        try:
            [sent] = await self._admin.send_many(
                [(0, timed.call)],
                action_key=record.key,
                action_digest=digest,
                purpose=TxPurpose.EXECUTE,
                expect={ActionState.PLANNED},
                chain_now=now,
                gas_used={0: sim.gas_used},
                **fixed,
            )
        except SubmitWindowFull:  # the plan stands; the call goes as the window drains
            record = await self._book.update(record, now, **fixed)
            return self._book.soon(record)
        log.debug("call_submitted", call_index=0, tx_hash=sent.tx_hash)
        if fixed.get("operator") is None:
            self._metrics.first_submission(self._clock.wall() - record.created_wall)
        return None

    async def _announced(self, record: ActionRecord, view: StepView) -> StepResult | None:
        tx = await view.tracked(record, TxPurpose.ANNOUNCE, 0)
        if tx is not None and tx.state.live:
            return self._book.soon(record)
        now = await view.now()
        if tx is not None and tx.state is TxState.COMMITTED:
            text = (
                f"announced action {record.action_id} for {record.key}: hash "
                f"0x{(record.action_hash or b'').hex()}, executes after "
                f"{chain_text(record.execute_at or 0)}, "
                f"operator {record.operator}, tx {tx.tx_hash}"
            )
            note = self._book.incident(record, IncidentType.DRY_RUN, text, tx_hash=tx.tx_hash)
            await self._book.update(
                record,
                now,
                state=ActionState.WAITING,
                next_check_at=record.execute_at,
                incident=note,
            )
            return None
        # Provably never landed (dropped), or aborted on chain: start over, new time and hash.
        why = "announce aborted" if tx is not None and tx.state is TxState.ABORTED else "lost"
        log.warning("announce_failed", why=why, abort=tx.error_name if tx else None)
        changes = restart(
            attempts=record.attempts + 1,
            next_check_at=now + self._book.backoff(record),
            error_code=tx.error_code if tx else None,
            error_name=tx.error_name if tx else None,
            error_message=f"announcement {why}; announcing again",
        )
        await self._book.update(record, now, **changes)
        return None

    async def _waiting(self, record: ActionRecord, view: StepView) -> StepResult | None:
        assert record.execute_at is not None and record.action_hash is not None
        now = await view.now()
        if now < record.execute_at:
            return self._book.wait(record, record.execute_at)
        snap = await view.snapshot(record, fresh=True)
        bot = snap.bot(record.operator or "")
        if bot is None or bot.pending_action_hash != record.action_hash:
            text = (
                f"announcement 0x{record.action_hash.hex()} of {record.key} is no longer pending "
                f"on {record.operator} (rotate_bot?); announcing again"
            )
            log.warning("announcement_gone", operator=record.operator)
            note = self._book.incident(record, IncidentType.INCIDENT, text)
            await self._book.update(record, snap.now, incident=note, **restart())
            return None
        if snap.now < bot.pending_execute_after:
            return self._book.wait(record, bot.pending_execute_after)
        if recipe_of(record).goal_reached(snap):
            await self._book.moot(record, snap.now)
            return None
        refused = self._refusal(record, bot, snap.now)
        if refused is not None:
            return await self._book.park(record, snap.now, refused)
        await self._book.update(record, snap.now, state=ActionState.EXECUTING, progress=0)
        return None

    async def _execute(self, record: ActionRecord, view: StepView) -> StepResult | None:
        """The admin calls, one after the other (several at once when pipelined): each call's
        latest transaction is followed; an executed one moves the progress on, and a call without
        a live or executed transaction is decided afresh (``_send_call``)."""
        assert record.execute_at is not None and record.action_hash is not None
        recipe = recipe_of(record)
        calls = recipe.calls(record.execute_at)
        if calls_to_text(calls) != record.calls:
            now = await view.now()
            reason = "the recipe no longer gives the journaled calls (changed code?)"
            return await self._book.park(record, now, reason)
        sends = 0
        caught_up = False
        while sends <= len(calls):  # a call refused again and again waits for the next advance
            if record.progress >= len(calls):
                await self._book.conclude(record, await view.now(), Outcome.SUCCESS)
                return None
            tx = await view.tracked(record, TxPurpose.EXECUTE, record.progress)
            if tx is not None and tx.state.live:
                return self._book.soon(record)
            now = await view.now()
            if tx is not None and tx.state is TxState.COMMITTED:
                catch_up = recipe.PIPELINED and not caught_up  # the calls behind it, all at once
                record = await self._executed(record, view, now, calls, tx, catch_up=catch_up)
                caught_up = caught_up or catch_up
                continue
            if tx is not None and tx.state is TxState.ABORTED:
                undecided = await self._undecided_abort(record, tx)
                if undecided:
                    return await self._aborted_on_chain(record, view, calls[record.progress], tx)
            # No transaction, a dropped one, or an on-chain abort already decided (its backoff
            # over) or made stale by the call before it: decide afresh from a new simulation.
            snap = await view.snapshot(record)
            done = min(recipe.calls_done(snap), len(calls))
            if done > record.progress:  # the chain is ahead of the journal (refund_round, ...)
                log.debug("calls_already_applied", first=record.progress, upto=done)
                record = await self._book.update(record, now, progress=done)
                continue
            sent = await self._send_call(record, view, now, recipe, calls, snap)
            if sent is not _Sent.SENT:
                return sent
            sends += 1
        return self._book.soon(record)

    async def _executed(
        self,
        record: ActionRecord,
        view: StepView,
        now: int,
        calls: tuple[TimedCall, ...],
        tx: TxRecord,
        *,
        catch_up: bool,
    ) -> ActionRecord:
        """The current call's transaction committed: move the progress past it (``catch_up``:
        first follow the calls pipelined behind it, and move past every one that committed)."""
        if catch_up:
            await view.follow_all(record, TxPurpose.EXECUTE)
            return await self._progressed_many(record, now, calls)
        return await self._progressed(record, now, calls[record.progress], tx)

    async def _send_call(
        self,
        record: ActionRecord,
        view: StepView,
        now: int,
        recipe: Recipe,
        calls: tuple[TimedCall, ...],
        snap: Snapshot,
    ) -> StepResult | _Sent | None:
        """The current call, decided afresh: wait for its time, refuse it (guards), decide its
        abort, or simulate and send it (with the pipelined calls behind it): ``_Sent.SENT``."""
        assert record.action_hash is not None
        timed = calls[record.progress]
        if now < timed.not_before:
            return self._book.wait(record, timed.not_before)
        refusals = recipe.refusals(snap)
        if refusals:
            return await self._refused_at_execution(record, view, now, refusals[0])
        if record.operator is not None:
            refused = self._refusal(record, snap.bot(record.operator), now)
            if refused is not None:
                return await self._book.park(record, now, refused)
        co_signers = self._co_signers(timed)
        sim = await self._admin.simulate(timed.call, secondary=co_signers)
        if not sim.success:
            code, name = (sim.abort.code, sim.abort.name) if sim.abort else (0, sim.vm_status)
            return await self._on_abort(record, view, timed, code, name)
        # the simulated call and those behind it: one commit, submitted together (they land in
        # one block); a co-signed call goes alone
        pipelined = self._pipeline and recipe.PIPELINED and not co_signers
        behind = await self._behind(record, calls, now) if pipelined else []
        try:
            [sent, *_] = await self._admin.send_many(
                [(record.progress, timed.call), *behind],
                action_key=record.key,
                action_digest=record.action_hash,
                purpose=TxPurpose.EXECUTE,
                secondary=co_signers,
                expect={ActionState.EXECUTING},
                chain_now=now,
                gas_used={record.progress: sim.gas_used},
            )
        except SubmitWindowFull:  # other actions' calls fill it: room within a block
            return self._book.soon(record)
        if behind:
            log.debug("calls_pipelined", calls=[i for i, _ in behind])
        log.debug("call_submitted", call_index=record.progress, tx_hash=sent.tx_hash)
        if record.operator is None and record.progress == 0:
            self._metrics.first_submission(self._clock.wall() - record.created_wall)
        return _Sent.SENT

    async def _progressed_many(
        self, record: ActionRecord, now: int, calls: tuple[TimedCall, ...]
    ) -> ActionRecord:
        """``_progressed`` over every consecutive call from ``record.progress`` whose latest
        transaction committed (the pipelined ones, just followed): one journal commit."""
        latest = await self._latest_executes(record)
        notes: list[NewIncident] = []
        progress = record.progress
        while progress < len(calls):
            tx = latest.get(progress)
            if tx is None or tx.state is not TxState.COMMITTED:
                break
            note = self._executed_note(record, calls[progress], tx)
            if note is not None:
                notes.append(note)
            log.debug("call_executed", call_index=progress, tx_hash=tx.tx_hash)
            progress += 1
        if progress == record.progress:
            return record
        return await self._book.update(record, now, progress=progress, incidents=notes)

    async def _latest_executes(self, record: ActionRecord) -> dict[int, TxRecord]:
        """Call index → the latest execute transaction of the current attempt."""
        latest: dict[int, TxRecord] = {}
        for mine in await self._journal.transactions(record.key):
            if mine.purpose is TxPurpose.EXECUTE and mine.action_hash == record.action_hash:
                latest[mine.call_index] = mine
        return latest

    async def _behind(
        self, record: ActionRecord, calls: tuple[TimedCall, ...], now: int
    ) -> list[tuple[int, c.Call]]:
        """The calls after ``record.progress`` whose time has come and that are not on their
        way yet (see the module doc)."""
        latest = await self._latest_executes(record)
        behind: list[tuple[int, c.Call]] = []
        for index in range(record.progress + 1, len(calls)):
            timed = calls[index]
            if timed.not_before > now or timed.secondary:
                break  # not yet (a cooldown), or a co-signed call: sent on its own turn
            tx = latest.get(index)
            if tx is not None and (tx.state.live or tx.state is TxState.COMMITTED):
                continue  # already on its way (an earlier pipeline)
            behind.append((index, timed.call))
        return behind

    async def _progressed(
        self, record: ActionRecord, now: int, timed: TimedCall, tx: TxRecord
    ) -> ActionRecord:
        note = self._executed_note(record, timed, tx)
        log.debug("call_executed", call_index=record.progress, tx_hash=tx.tx_hash)
        return await self._book.update(record, now, progress=record.progress + 1, incident=note)

    def _executed_note(
        self, record: ActionRecord, timed: TimedCall, tx: TxRecord
    ) -> NewIncident | None:
        """The incident-log line an executed call gets, if its kind is logged."""
        logged = executed_incident(timed.call, recipe_of(record))
        if logged is None:
            return None
        kind, more = logged
        text = (
            f"{timed.call.describe(chain_text)} executed for {record.key} (action hash "
            f"0x{(record.action_hash or b'').hex()}), tx {tx.tx_hash}{more}"
        )
        return self._book.incident(record, kind, text, tx_hash=tx.tx_hash)

    async def _on_abort(
        self,
        record: ActionRecord,
        view: StepView,
        timed: TimedCall,
        code: int,
        name: str | None,
        *,
        chain_tx: str | None = None,
    ) -> StepResult | None:
        """An abort of the current call decided per docs/decisions.md §9: simulated (never
        sent), or (``chain_tx``) executed and aborted on chain."""
        now = await view.now()
        verdict = classify_abort(code, timed.call)
        log.info("call_aborts", call_index=record.progress, abort=name, verdict=verdict.value)
        if verdict is Verdict.WAIT:
            return await self._book.retry_later(
                record, now, code=code, name=name, message="not yet: waiting to try again"
            )
        digest = "0x" + (record.action_hash or b"").hex()
        if verdict is Verdict.ESCALATE:
            text = (
                f"draw of lottery {record.subject_id} refused with {name} (strict VRF): retries "
                f"stopped and escalated to a person; action {record.key}, hash {digest}"
            )
            if is_cap_nonce_taken(code, timed.call):
                text = (
                    f"refund of lottery {record.subject_id} refused with {name}: the shared "
                    "PayoutBatchCap's nonce moved under the plan (another batch, e.g. the "
                    "treasury's, consumed it); waiting for a person to re-issue the cap (stride "
                    f"0), then `autobot actions retry {record.key}`; no bot failure; hash {digest}"
                )
            if is_dual_write_block(code, timed.call):
                text = (
                    f"{timed.call.function} of lottery {record.subject_id} blocked by the "
                    f"dual-write control ({name}): the legacy bridge's expected hash is missing "
                    f"or differs; waiting for a person (set or clear the hash, then `autobot "
                    f"actions retry {record.key}`), no bot failure; hash {digest}"
                )
            await self._book.conclude(
                record, now, Outcome.ESCALATED, code=code, name=name, incident=text
            )
            return None
        snap = await view.snapshot(record, fresh=True)
        if recipe_of(record).goal_reached(snap):
            if record.progress > 0:  # our own earlier calls got there
                await self._book.conclude(record, snap.now, Outcome.SUCCESS, code=code, name=name)
            else:
                await self._book.moot(record, snap.now)
            return None
        what = "would abort" if chain_tx is None else f"aborted on chain in {chain_tx} with"
        text = (
            f"{timed.call.describe(chain_text)} {what} {name}(0x{code:x}): the plan {record.key} cannot "
            f"run (action hash {digest})"
        )
        await self._book.conclude(record, now, Outcome.FAILURE, code=code, name=name, incident=text)
        return None

    async def _undecided_abort(self, record: ActionRecord, tx: TxRecord) -> bool:
        """Whether ``tx`` (the current call's latest, aborted on chain) is an answer about that
        call still to be decided: not decided yet (the decision names its hash), and not stale
        — a pipelined call sent behind one that was done again after it aborted for want of it."""
        if tx.tx_hash in (record.error_message or ""):
            return False
        return not await self._stale_abort(record, tx)

    async def _stale_abort(self, record: ActionRecord, tx: TxRecord) -> bool:
        if tx.call_index == 0:
            return False
        before = [
            t
            for t in await self._journal.transactions(record.key)
            if t.purpose is TxPurpose.EXECUTE
            and t.call_index == tx.call_index - 1
            and t.state is TxState.COMMITTED
            and t.sender == tx.sender
        ]
        return any(t.sequence_number > tx.sequence_number for t in before)

    async def _chain_aborts(self, record: ActionRecord) -> int:
        """The action's calls that aborted on chain with something to say (not stale)."""
        count = 0
        for t in await self._journal.transactions(record.key):
            if t.purpose is TxPurpose.EXECUTE and t.state is TxState.ABORTED:
                count += not await self._stale_abort(record, t)
        return count

    async def _aborted_on_chain(
        self, record: ActionRecord, view: StepView, timed: TimedCall, tx: TxRecord
    ) -> StepResult | None:
        """The current call executed and aborted: docs/decisions.md §9 from the chain's own
        answer (never a new simulation's, which a lying node may forge into "success" again and
        again). "Not yet" retries after a backoff, ``chain_abort_retries`` times at most, then the
        action is escalated; any other abort is the plan's failure (or moot), at once."""
        code, name = tx.error_code or 0, tx.error_name
        now = await view.now()
        verdict = classify_abort(code, timed.call)
        aborts = await self._chain_aborts(record)
        log.warning(
            "call_aborted_on_chain",
            call_index=record.progress,
            abort=name,
            verdict=verdict.value,
            tx_hash=tx.tx_hash,
            aborts=aborts,
        )
        if verdict is Verdict.WAIT and aborts <= self._abort_retries:
            return await self._book.retry_later(
                record,
                now,
                code=code,
                name=name,
                message=(
                    f"aborted on chain in {tx.tx_hash}: {name} (not yet); trying again after a "
                    f"backoff ({aborts} of {self._abort_retries + 1} on-chain aborts allowed)"
                ),
            )
        if verdict is Verdict.WAIT:
            digest = "0x" + (record.action_hash or b"").hex()
            text = (
                f"{timed.call.render()} of {record.key} aborted on chain {aborts} times "
                f"(last {name}(0x{code:x}) in {tx.tx_hash}) although its simulations said it "
                f"would run: retries stopped and escalated to a person (action hash {digest}); "
                "check the RPC endpoints' simulations"
            )
            await self._book.conclude(
                record, now, Outcome.ESCALATED, code=code, name=name, incident=text
            )
            return None
        return await self._on_abort(record, view, timed, code, name, chain_tx=tx.tx_hash)

    # ------------------------------------------------------------------ pre-flight refusals

    async def _refused_before_start(
        self,
        record: ActionRecord,
        view: StepView,
        snap: Snapshot,
        recipe: Recipe,
        refusal: Refusal,
    ) -> StepResult | None:
        """A readable precondition fails before anything was announced or fixed: wait (the
        planners escalate it), never simulate. The first time, the bot that would carry the
        action reports the refusal (``report_call_rejected`` with the hash of the calls it would
        run now), so its trail shows it; nothing else is written on chain and nothing counts."""
        now = snap.now
        await view.follow_live(record)
        until = now + self._book.backoff(record)
        waiting: ActionChanges = {
            "attempts": record.attempts + 1,
            "next_check_at": until,
            "error_code": refusal.code,
            "error_name": refusal.name,
            "error_message": f"pre-flight: {refusal.reason}",
        }
        log.info("preflight_refused", abort=refusal.name, kind=refusal.kind)
        bot = None
        if record.action_id is not None and record.error_code != refusal.code and self._live:
            async with self._route_lock:
                bot = self._router.route(
                    record.action_id, snap.bots, now=now, busy=set(), action_key=record.key
                ).bot
        operator = None if bot is None else self._operators.get(bot.operator)
        if operator is not None and bot is not None:
            execute_at = now + bot.timelock_secs
            calls = recipe.calls(execute_at)
            assert record.action_id is not None
            digest = action_hash(
                record.action_id, record.subject_id, [t.call for t in calls], execute_at
            )
            reported = await self._reported(
                record,
                operator,
                digest,
                refusal,
                expect=ActionState.PLANNED,
                changes=waiting,
                now=now,
            )
            if reported:
                return self._book.wait(record, until)
        await self._book.update(record, now, **waiting)
        return self._book.wait(record, until)

    async def _refused_at_execution(
        self, record: ActionRecord, view: StepView, now: int, refusal: Refusal
    ) -> StepResult | None:
        """A readable precondition fails when the fixed calls are due: report it under the
        action's hash (once), then give the slot back without a failure — ``record_success``,
        the action parked ``escalated`` and started again by the sweep once the chain allows it
        (``escalations.py``) — or, with no slot held, start over later."""
        assert record.action_hash is not None
        log.info("preflight_refused", abort=refusal.name, kind=refusal.kind)
        if record.operator is not None and record.action_id is not None and self._live:
            tx = await view.tracked(record, TxPurpose.RECORD, REJECTION_CALL_INDEX)
            if tx is not None and tx.state.live:
                return self._book.soon(record)
            if tx is None or tx.state is TxState.DROPPED:
                operator = self.sequencer(record.operator)
                reported = await self._reported(
                    record,
                    operator,
                    record.action_hash,
                    refusal,
                    expect=ActionState.EXECUTING,
                    changes={},
                    now=now,
                )
                if reported:
                    return self._book.soon(record)
        if record.operator is not None and record.timelock_secs:
            text = (
                f"{record.key} refused by pre-flight when due: {refusal.reason}; reported with "
                f"report_call_rejected, the pending slot of {record.operator} is cleared with "
                f"record_success (not a failure) and the action starts again once the chain "
                f"allows it (hash 0x{record.action_hash.hex()})"
            )
            await self._book.conclude(
                record, now, Outcome.ESCALATED, code=refusal.code, name=refusal.name, incident=text
            )
            return None
        changes = restart(
            attempts=record.attempts + 1,
            next_check_at=now + self._book.backoff(record),
            error_code=refusal.code,
            error_name=refusal.name,
            error_message=f"pre-flight: {refusal.reason}",
        )
        await self._book.update(record, now, **changes)
        return self._book.wait(record, now + self._book.backoff(record))

    async def _reported(
        self,
        record: ActionRecord,
        operator: Sequencer,
        digest: bytes,
        refusal: Refusal,
        *,
        expect: ActionState,
        changes: ActionChanges,
        now: int,
    ) -> bool:
        """Send ``report_call_rejected(action id, digest, abort code)`` by ``operator`` (simulated
        first; journaled with ``changes``); False if the chain would refuse it (then nothing is
        sent: the refusal still waits and is escalated)."""
        assert record.action_id is not None
        call = c.report_call_rejected(record.action_id, digest, refusal.code)
        sim = await operator.simulate(call)
        if not sim.success:
            log.warning("rejection_report_refused", operator=operator.address, abort=sim.vm_status)
            return False
        try:
            await operator.send_many(
                [(REJECTION_CALL_INDEX, call)],
                action_key=record.key,
                action_digest=digest,
                purpose=TxPurpose.RECORD,
                expect={expect},
                chain_now=now,
                **changes,
            )
        except SubmitWindowFull:
            return False
        log.info("call_rejection_reported", operator=operator.address, abort=refusal.name)
        return True

    async def _record(self, record: ActionRecord, view: StepView) -> StepResult | None:
        assert record.outcome is not None and record.action_hash is not None
        assert record.action_id is not None and record.operator is not None
        tx = await view.tracked(record, TxPurpose.RECORD, 0)
        if tx is not None and tx.state.live:
            return self._book.soon(record)
        now = await view.now()
        if tx is not None and tx.state is TxState.COMMITTED:
            await self._book.finish(record, now, record.outcome, tx_hash=tx.tx_hash)
            return None
        if tx is not None and tx.state is TxState.ABORTED:
            return await self._book.park(record, now, f"record aborted {tx.error_name}")
        if record.outcome is Outcome.FAILURE:
            call = c.record_failure(
                record.action_id, record.action_hash, now, record.error_code or 0
            )
        else:
            call = c.record_success(record.action_id, record.action_hash, now)
        refused = self._refusal(record, await view.bot(record, record.operator), now)
        if refused is not None:
            return await self._book.park(record, now, f"cannot record: {refused}")
        operator = self.sequencer(record.operator)
        sim = await operator.simulate(call)
        if not sim.success:
            if sim.abort is not None and classify_abort(sim.abort.code, call) is Verdict.WAIT:
                return await self._book.retry_later(record, now, message="record not yet accepted")
            return await self._book.park(record, now, f"record would abort: {sim.vm_status}")
        await operator.send_many(
            [(0, call)],
            action_key=record.key,
            action_digest=record.action_hash,
            purpose=TxPurpose.RECORD,
            expect={ActionState.RECORDING},
            chain_now=now,
            gas_used={0: sim.gas_used},
        )
        return None

    # ------------------------------------------------------------------ helpers

    async def _dry_run(
        self,
        record: ActionRecord,
        now: int,
        operator: Sequencer | None,
        announce: c.Call | None,
        calls: tuple[TimedCall, ...],
        digest: bytes,
        execute_at: int,
    ) -> StepResult:
        plan: list[WouldSend] = []
        if announce is not None and operator is not None:
            plan.append(WouldSend(call=announce, sender=operator))
        plan += [
            WouldSend(call=t.call, sender=self._admin, co_signers=self._co_signers(t))
            for t in calls
        ]
        if operator is not None and record.action_id is not None:
            record_call = c.record_success(record.action_id, digest, now)
            plan.append(WouldSend(call=record_call, sender=operator, simulate=False))
        await rehearse(self._gateway, plan, action_key=record.key, action_hash=digest)
        until = now + self._dry_recheck
        message = "dry-run: simulated and logged, nothing submitted"
        note = None
        if announce is not None and operator is not None and record.error_message != message:
            text = (  # the first rehearsal of an announcement: the handbook logs every dry run
                f"dry-run mode: would announce action {record.action_id} for {record.key}: hash "
                f"0x{digest.hex()}, executes after {execute_at}, "
                f"operator {operator.address}; nothing submitted"
            )
            note = self._book.incident(record, IncidentType.DRY_RUN, text)
        await self._book.update(
            record, now, next_check_at=until, error_message=message, incident=note
        )
        return self._book.wait(record, until)

    @property
    def sequencers(self) -> Mapping[str, Sequencer]:
        """Every account's sequencer by address (the admin's and each operator's)."""
        return {self._admin.address: self._admin, **self._operators}

    def sequencer(self, address: str) -> Sequencer:
        if address == self._admin.address:
            return self._admin
        if address not in self._operators:
            raise UnusableAction(f"no key for {address} (removed from [keys]?)")
        return self._operators[address]

    def _co_signers(self, timed: TimedCall) -> tuple[Signer, ...]:
        missing = [a for a in timed.secondary if a not in self._operators]
        if missing:
            raise UnusableAction(f"no key to co-sign {timed.call.function} as {', '.join(missing)}")
        return tuple(self._operators[a].signer for a in timed.secondary)

    def _refusal(self, record: ActionRecord, bot: Bot | None, now: int) -> str | None:
        """The guards before executing or recording under ``record``'s bot (not announcing)."""
        if bot is None:
            return f"operator {record.operator} is not a registered bot"
        assert record.action_id is not None
        refused = self._guards.refusal(
            GuardContext(bot=bot, action_id=record.action_id, now=now), action_key=record.key
        )
        return None if refused is None else str(refused)
