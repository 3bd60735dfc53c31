"""The executor's flow of an action over a fake chain: announce, wait, execute, record
(docs/decisions.md §9)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog
from execution_fakes import OPERATOR_A, OPERATOR_B, Abort, Rig, arg, lottery
from prometheus_client import CollectorRegistry

from autobot.chain.gateway import SimResult
from autobot.domain.calls import Call
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.refunds import RefundProgress
from autobot.errors import RpcProtocolError, RpcRejected, RpcUnavailable
from autobot.execution.telemetry import PrometheusExecutionMetrics
from autobot.journal.records import ActionState, Outcome, TxPurpose
from autobot.metrics import DaemonMetrics
from autobot.planning.plan import ActionKey, PlannedAction, Recipe
from autobot.planning.recipes import AutoClose, ClearClamp, RefundPlan, RequestDraw
from autobot.sweep_context import read_journal

NOW = 1_000
A, B = OPERATOR_A.address, OPERATOR_B.address


def planned(recipe: Recipe, key: str) -> PlannedAction:
    kind, subject, round_ = key.split(":")
    return PlannedAction(
        key=ActionKey(kind=kind, subject=int(subject), round=int(round_)),
        recipe=recipe,
        due_at=NOW,
        reason="test",
    )


async def close_lottery_1(rig: Rig) -> ActionKey:
    rig.chain.state.lotteries[1] = lottery(1)
    record, _ = await rig.executor.accept(
        planned(AutoClose(lottery_id=1), "close:1:0"), chain_now=NOW
    )
    return record.action_key


def draw_recipe() -> RequestDraw:
    return RequestDraw(
        lottery_id=1, closing_block_height=7, chain_id=6, num_confirmations=1, attempt=1
    )


async def test_a_timelock_0_bot_executes_then_records_success_at_once(rig: Rig) -> None:
    # given
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.DONE
    assert rig.chain.state.lottery(1).status is LotteryStatus.CLOSING
    [record] = rig.chain.executed("automation::record_success")
    action = await rig.journal.get_action(str(key))
    assert action is not None and arg(record.call, 1) == action.action_hash
    assert rig.chain.state.bots[B].success_streak == 1


async def test_a_timelocked_bot_announces_and_waits_for_execute_at(rig: Rig) -> None:
    # given
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    # when
    result = await rig.executor.advance(key)
    # then
    assert (result.state, result.next_check_at) == (ActionState.WAITING, NOW + 900)
    assert rig.chain.executed("lottery_registry::advance_status") == []
    [announce] = rig.chain.executed("automation::announce_dry_run")
    action = await rig.journal.get_action(str(key))
    assert action is not None
    assert (arg(announce.call, 1), arg(announce.call, 3)) == (action.action_hash, NOW + 900)
    [incident] = await rig.journal.incidents()
    assert incident.type == "Dry-run" and incident.tx_hash == announce.tx_hash
    assert action.action_hash is not None and action.action_hash.hex() in incident.description


async def test_after_the_timelock_the_admin_executes_and_the_operator_records_the_same_hash(
    rig: Rig,
) -> None:
    # given
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.DONE
    [announce] = rig.chain.executed("automation::announce_dry_run")
    [close] = rig.chain.executed("lottery_registry::advance_status")
    [record] = rig.chain.executed("automation::record_success")
    assert close.sender == rig.admin.address and record.sender == A
    assert arg(record.call, 1) == arg(announce.call, 1)
    assert rig.chain.state.bots[A].pending_action_hash == b""


async def test_nothing_runs_before_chain_time_reaches_execute_at(rig: Rig) -> None:
    # given
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.chain.advance(899)
    # when
    result = await rig.executor.advance(key)
    # then
    assert (result.state, result.next_check_at) == (ActionState.WAITING, NOW + 900)
    assert rig.chain.executed("lottery_registry::advance_status") == []


async def test_a_goal_reached_by_someone_else_is_moot_and_still_clears_the_slot(rig: Rig) -> None:
    # given
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.chain.state.set_lottery(1, status=LotteryStatus.CLOSING)  # a person closed it
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.MOOT
    assert rig.chain.executed("lottery_registry::advance_status") == []
    assert len(rig.chain.executed("automation::record_success")) == 1
    assert rig.chain.state.bots[A].pending_action_hash == b""
    assert "moot" in (await rig.journal.incidents())[0].description


async def test_an_action_whose_goal_holds_before_it_starts_sends_nothing(rig: Rig) -> None:
    # given
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    rig.chain.state.set_lottery(1, status=LotteryStatus.CLOSING)
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.MOOT
    assert rig.chain.submitted == []


async def test_an_aborting_simulation_is_never_submitted_and_is_recorded_as_a_failure(
    rig: Rig,
) -> None:
    # given: the close aborts for a reason that will not change
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)

    def refuse(state: object, call: Call) -> None:
        raise Abort(0x1207, "lottery_registry")  # E_SNAPSHOT_FROZEN

    rig.chain.handlers[("lottery_registry", "advance_status")] = refuse
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.FAILED
    assert all(tx.call.function != "advance_status" for tx in rig.chain.submitted)
    [failure] = rig.chain.executed("automation::record_failure")
    assert arg(failure.call, 3) == 0x1207
    assert rig.chain.state.bots[B].failure_count == 1
    action = await rig.journal.get_action(str(key))
    assert action is not None and (action.error_code, action.error_name) == (
        0x1207,
        "E_SNAPSHOT_FROZEN",
    )


async def test_a_not_yet_abort_waits_and_tries_again(rig: Rig) -> None:
    # given: the draw's retry window is still open
    rig.chain.add_bot(B, timelock_secs=0)
    rig.chain.state.lotteries[1] = lottery(1, status=LotteryStatus.DRAW_REQUESTED)
    await rig.executor.accept(planned(draw_recipe(), "draw:1:2"), chain_now=NOW)
    calls: list[int] = []

    def draw(state: object, call: Call) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise Abort(0x1709, "draw")  # E_VRF_RETRY_WINDOW

    rig.chain.handlers[("draw", "request_draw_admin")] = draw
    # when
    waiting = await rig.executor.advance(ActionKey.parse("draw:1:2"))
    rig.chain.advance(60)
    done = await rig.executor.advance(ActionKey.parse("draw:1:2"))
    # then
    assert waiting.state is ActionState.EXECUTING and waiting.next_check_at == NOW + 15
    assert done.state is ActionState.DONE
    assert rig.chain.state.bots[B].failure_count == 0
    assert rig.chain.executed("automation::record_failure") == []


async def test_a_disabled_draw_feature_is_read_before_simulating_and_never_a_failure(
    rig: Rig,
) -> None:
    # given: lottery 1's retry is due, B (timelock 0) carries draws, the DRAW feature is off
    rig.chain.add_bot(B, timelock_secs=0)
    rig.chain.state.lotteries[1] = lottery(1, status=LotteryStatus.DRAW_REQUESTED)
    rig.chain.state.features = FeatureSwitch(initialized=True, modes={1: 1, 2: 1, 3: 0, 4: 1})
    await rig.executor.accept(planned(draw_recipe(), "draw:1:2"), chain_now=NOW)
    # when the executor takes the action twice
    first = await rig.executor.advance(ActionKey.parse("draw:1:2"))
    rig.chain.advance(60)
    second = await rig.executor.advance(ActionKey.parse("draw:1:2"))
    # then the draw was never simulated, B reported the refusal once and nothing counted
    assert (first.state, second.state) == (ActionState.PLANNED, ActionState.PLANNED)
    simulated = {(c.module, c.function) for c in rig.chain.simulated}
    assert ("draw", "request_draw_admin") not in simulated
    [reported] = rig.chain.executed("automation::report_call_rejected")
    assert (arg(reported.call, 0), arg(reported.call, 2)) == (2, 0x1403)
    assert rig.chain.executed("automation::record_failure") == []
    assert rig.chain.state.bots[B].failure_count == 0
    action = await rig.journal.get_action("draw:1:2")
    assert action is not None and action.error_name == "E_FEATURE_DISABLED"


async def test_a_strict_vrf_refusal_escalates_clears_the_slot_and_is_no_bot_failure(
    rig: Rig,
) -> None:
    # given
    registry = CollectorRegistry()
    rig.metrics = PrometheusExecutionMetrics(DaemonMetrics(registry))
    rig.build()
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(2,))
    rig.chain.state.lotteries[1] = lottery(1, status=LotteryStatus.DRAW_REQUESTED)
    await rig.executor.accept(planned(draw_recipe(), "draw:1:2"), chain_now=NOW)

    def pending(state: object, call: Call) -> None:
        raise Abort(0x1701, "draw")  # E_VRF_PENDING

    rig.chain.handlers[("draw", "request_draw_admin")] = pending
    await rig.executor.advance(ActionKey.parse("draw:1:2"))
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(ActionKey.parse("draw:1:2"))
    # then
    assert result.state is ActionState.PARKED
    action = await rig.journal.get_action("draw:1:2")
    assert action is not None and action.outcome is Outcome.ESCALATED
    assert len(rig.chain.executed("automation::record_success")) == 1
    assert rig.chain.state.bots[A].failure_count == 0
    assert rig.chain.state.bots[A].pending_action_hash == b""
    read = await read_journal(rig.journal, operators={})
    assert read.knowledge.escalated_draws == frozenset({1})
    assert "strict VRF" in (await rig.journal.incidents())[0].description
    sample = {"kind": "draw", "outcome": "escalated"}
    assert registry.get_sample_value("autobot_actions_total", sample) == 1


async def test_a_transport_error_defers_the_step_without_any_failure(rig: Rig) -> None:
    # given
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    original = rig.chain.simulate

    async def unavailable(**kw: object) -> object:
        raise RpcUnavailable("connection refused")

    rig.chain.simulate = unavailable  # type: ignore[assignment,method-assign]
    # when
    deferred = await rig.executor.advance(key)
    rig.chain.simulate = original  # type: ignore[method-assign]
    rig.chain.advance(30)
    done = await rig.executor.advance(key)
    # then
    assert deferred.state is ActionState.EXECUTING and deferred.next_check_at is not None
    assert done.state is ActionState.DONE
    assert rig.chain.executed("automation::record_failure") == []


async def test_a_garbled_answer_defers_the_step_instead_of_parking_the_action(rig: Rig) -> None:
    # given: the soak's malformed_json fault, on every endpoint the gateway failed over to
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    original = rig.chain.simulate

    async def garbled(**kw: object) -> object:
        raise RpcProtocolError("transaction: response is not JSON (JSONDecodeError)")

    rig.chain.simulate = garbled  # type: ignore[assignment,method-assign]
    # when
    deferred = await rig.executor.advance(key)
    rig.chain.simulate = original  # type: ignore[method-assign]
    rig.chain.advance(30)
    done = await rig.executor.advance(key)
    # then
    assert deferred.state is ActionState.EXECUTING and deferred.next_check_at is not None
    assert done.state is ActionState.DONE
    assert rig.chain.executed("automation::record_failure") == []


async def test_a_refund_plan_runs_every_batch_and_the_archive_under_one_announcement(
    rig: Rig,
) -> None:
    # given
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    refund = RefundProgress(active=True, tickets_sold=10, proceeds_accum=100)
    rig.chain.state.lotteries[4] = lottery(4, status=LotteryStatus.CANCELED, refund=refund)
    recipe = RefundPlan(lottery_id=4, batches=((1, 5, 40, 10), (2, 5, 40, 10)), canceled_ts=900)
    await rig.executor.accept(planned(recipe, "refund:4:1"), chain_now=NOW)
    await rig.executor.advance(ActionKey.parse("refund:4:1"))
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(ActionKey.parse("refund:4:1"))
    # then
    assert result.state is ActionState.DONE
    batches = rig.chain.executed("payouts::force_refund_batch_admin")
    assert [arg(b.call, 1) for b in batches] == [1, 2]
    assert len(rig.chain.executed("payouts::archive_canceled_lottery_admin")) == 1
    assert len(rig.chain.executed("automation::announce_dry_run")) == 1
    assert len(rig.chain.executed("automation::record_success")) == 1
    kinds = [i.type for i in await rig.journal.incidents()]
    assert kinds.count("Cancellation") == 3 and kinds.count("Dry-run") == 1  # refunds: the cancel's


async def test_a_batch_waits_for_its_cooldown_time(rig: Rig) -> None:
    # given: a cap cooldown of 120 s spreads the batches
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    refund = RefundProgress(active=True, tickets_sold=10, proceeds_accum=100)
    rig.chain.state.lotteries[4] = lottery(4, status=LotteryStatus.CANCELED, refund=refund)
    batches = ((1, 5, 40, 10), (2, 5, 40, 10))
    recipe = RefundPlan(lottery_id=4, batches=batches, cooldown_secs=120, archive=False)
    await rig.executor.accept(planned(recipe, "refund:4:1"), chain_now=NOW)
    await rig.executor.advance(ActionKey.parse("refund:4:1"))
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(ActionKey.parse("refund:4:1"))
    # then
    assert (result.state, result.next_check_at) == (ActionState.EXECUTING, NOW + 900 + 120)
    assert len(rig.chain.executed("payouts::force_refund_batch_admin")) == 1


async def test_an_action_without_a_bot_is_executed_by_the_admin_alone(rig: Rig) -> None:
    # given
    rig.chain.state.feeds[1] = PriceFeed(
        asset_id=1, price=5, decimals=2, last_updated_ts=900, clamp_active=True
    )
    await rig.executor.accept(planned(ClearClamp(asset_id=1), "clamp:1:7"), chain_now=NOW)
    # when
    result = await rig.executor.advance(ActionKey.parse("clamp:1:7"))
    # then
    assert result.state is ActionState.DONE
    assert [tx.sender for tx in rig.chain.submitted] == [rig.admin.address]
    assert not rig.chain.state.feeds[1].clamp_active
    [tx] = await rig.journal.transactions("clamp:1:7")
    assert tx.purpose is TxPurpose.EXECUTE


async def test_no_bot_free_leaves_the_action_planned_and_counts_the_refusal(rig: Rig) -> None:
    # given: the only bot has expired
    registry = CollectorRegistry()
    rig.metrics = PrometheusExecutionMetrics(DaemonMetrics(registry))
    rig.build()
    rig.chain.add_bot(B, timelock_secs=0, expires_at=NOW - 1)
    key = await close_lottery_1(rig)
    # when
    with structlog.testing.capture_logs() as logs:
        result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.PLANNED and result.next_check_at == NOW + 15
    assert rig.chain.submitted == []
    refusal = next(e for e in logs if e["event"] == "guard_refused")
    assert refusal["guard"] == "expiry"
    assert registry.get_sample_value("autobot_guard_refusals_total", {"guard": "expiry"}) == 1


async def test_dry_run_simulates_and_logs_every_transaction_and_submits_nothing(rig: Rig) -> None:
    # given
    rig.live = False
    rig.build()
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    # when
    with structlog.testing.capture_logs() as logs:
        result = await rig.executor.advance(key)
    # then
    assert rig.chain.submitted == []
    assert await rig.journal.live_transactions() == []
    assert result.state is ActionState.PLANNED
    shown = [e for e in logs if e["event"] == "dry_run_transaction"]
    assert [(e["function"], e["sender"]) for e in shown] == [
        ("automation::announce_dry_run", A),
        ("lottery_registry::advance_status", rig.admin.address),
        ("automation::record_success", A),
    ]
    assert shown[1]["arguments"] == ["u64:1", "u8:2"] and shown[1]["simulated"] == "ok"


async def test_dry_run_logs_each_announcement_it_would_make_once(rig: Rig) -> None:
    # given dry-run mode and an action for a timelocked bot, rehearsed twice
    rig.live = False
    rig.build()
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.chain.advance(600)
    await rig.executor.advance(key)
    # then the incident log has one Dry-run row for it: what it would announce, nothing sent
    [row] = await rig.journal.incidents()
    assert row.type == "Dry-run" and row.action_key == str(key)
    assert row.description.startswith("dry-run mode: would announce action 1 for close:1:0")
    assert row.description.endswith("nothing submitted") and row.tx_hash is None


async def test_an_operator_can_park_an_action_and_retry_it(rig: Rig) -> None:
    # given
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    # when
    parked = await rig.executor.park(key, reason="investigating")
    retried = await rig.executor.retry(key)
    result = await rig.executor.advance(key)
    # then
    assert parked.state is ActionState.PARKED
    assert retried.state is ActionState.PLANNED
    assert result.state is ActionState.DONE


async def test_only_parked_or_failed_actions_can_be_retried(rig: Rig) -> None:
    # given
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    # when / then
    with pytest.raises(ValueError, match="only parked or failed"):
        await rig.executor.retry(key)


async def test_advance_due_skips_actions_whose_check_time_has_not_come(rig: Rig) -> None:
    # given: one action waits for its timelock, one is new
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    rig.chain.add_bot(B, timelock_secs=0, allowed_actions=(6,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.chain.state.lotteries[2] = lottery(2)
    await rig.executor.accept(planned(AutoClose(lottery_id=2), "close:2:0"), chain_now=NOW)
    # when
    results = await rig.executor.advance_due()
    # then: close:2:0 could not be routed (A is busy, B not allowed), close:1:0 was not touched
    assert [str(r.key) for r in results] == ["close:2:0"]
    assert results[0].state is ActionState.PLANNED


async def test_an_announcement_cleared_by_a_rotation_is_announced_again(rig: Rig) -> None:
    # given: announced, then a person rotated the bot (which clears its pending slot)
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    first = await rig.journal.get_action(str(key))
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))  # fresh state: slot empty
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.WAITING
    second = await rig.journal.get_action(str(key))
    assert first is not None and second is not None
    assert second.action_hash != first.action_hash
    assert len(rig.chain.executed("automation::announce_dry_run")) == 2
    assert rig.chain.executed("lottery_registry::advance_status") == []
    newest_first = await rig.journal.incidents()
    assert [i.type for i in newest_first] == ["Dry-run", "Инцидент", "Dry-run"]
    assert "no longer pending" in newest_first[1].description


async def test_a_bot_that_expired_during_the_timelock_parks_the_action(rig: Rig) -> None:
    # given: the bot's expiry falls inside the timelock
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,), expires_at=NOW + 600)
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(key)
    # then: nothing executed; a person must rotate the bot (the slot still holds the hash)
    assert result.state is ActionState.PARKED
    assert rig.chain.executed("lottery_registry::advance_status") == []
    [incident, _] = await rig.journal.incidents()
    assert "expiry" in incident.description and "may still hold" in incident.description


async def test_a_bot_locked_out_before_recording_parks_the_action(rig: Rig) -> None:
    # given: a timelock-0 bot reaches its failure limit between the close and its record
    rig.chain.add_bot(B, timelock_secs=0, max_failures=1)
    key = await close_lottery_1(rig)
    original = rig.chain.handlers[("lottery_registry", "advance_status")]

    def close_and_lock_out(state: object, call: Call) -> None:
        original(state, call)  # type: ignore[arg-type]
        rig.chain.add_bot(B, timelock_secs=0, max_failures=1, failure_count=1)

    rig.chain.handlers[("lottery_registry", "advance_status")] = close_and_lock_out
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.PARKED
    assert rig.chain.state.lottery(1).status is LotteryStatus.CLOSING
    assert rig.chain.executed("automation::record_success") == []
    action = await rig.journal.get_action(str(key))
    assert action is not None and "failure budget" in (action.error_message or "")


async def test_an_announce_that_would_abort_is_not_sent_and_retried_later(rig: Rig) -> None:
    # given: the chain says the bot's slot is taken although the snapshot did not show it
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    original = rig.chain.simulate

    async def slot_taken(**kw: object) -> object:
        result = await original(**kw)  # type: ignore[arg-type]
        call = kw["call"]
        if isinstance(call, Call) and call.function == "announce_dry_run":
            from autobot.chain.gateway import SimResult
            from autobot.errors import MoveAbort

            abort = MoveAbort(code=0x1A08, name="E_AUTOBOT_PENDING_EXISTS", module="automation")
            return SimResult(success=False, vm_status="abort", abort=abort)
        return result

    rig.chain.simulate = slot_taken  # type: ignore[assignment,method-assign]
    # when
    result = await rig.executor.advance(key)
    # then
    assert (result.state, result.next_check_at) == (ActionState.PLANNED, NOW + 15)
    assert rig.chain.submitted == []
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.error_name == "E_AUTOBOT_PENDING_EXISTS"
    assert action.action_hash is None


async def test_a_call_that_aborts_because_someone_else_got_there_is_moot(rig: Rig) -> None:
    # given: a person closes lottery 1 just before the bot's close is simulated
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    original = rig.chain.simulate

    async def closed_meanwhile(**kw: object) -> object:
        rig.chain.state.set_lottery(1, status=LotteryStatus.CLOSING)
        return await original(**kw)  # type: ignore[arg-type]

    rig.chain.simulate = closed_meanwhile  # type: ignore[assignment,method-assign]
    # when
    result = await rig.executor.advance(key)
    # then: nothing to clear (timelock 0), so nothing is recorded either
    assert result.state is ActionState.MOOT
    assert rig.chain.submitted == []
    assert rig.chain.state.bots[B].failure_count == 0


async def test_a_transaction_the_node_rejects_parks_the_action(rig: Rig) -> None:
    # given: the node refuses the close's bytes outright (HTTP 400)
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    rig.chain.submit_faults.append((RpcRejected("gas price too low", status=400), False))
    # when
    result = await rig.executor.advance(key)
    # then: a person looks at it; nothing was recorded against the bot
    assert result.state is ActionState.PARKED
    action = await rig.journal.get_action(str(key))
    assert action is not None and "gas price too low" in (action.error_message or "")
    assert rig.chain.executed("automation::record_failure") == []
    assert "parked in executing" in (await rig.journal.incidents())[0].description


async def test_dry_run_leaves_actions_a_live_run_started_alone(rig: Rig) -> None:
    # given: announced in live mode, then the daemon restarted in dry-run mode
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    key = await close_lottery_1(rig)
    await rig.executor.advance(key)
    rig.live = False
    rig.build()
    rig.chain.advance(900)
    submitted = len(rig.chain.submitted)
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.WAITING
    assert len(rig.chain.submitted) == submitted


async def test_a_not_yet_abort_on_chain_waits_a_backoff_then_is_decided_by_a_new_simulation(
    rig: Rig,
) -> None:
    # given: the simulation passed, but on chain the cap's cooldown was not over yet (another
    # lottery's batch used the shared cap in between)
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    original = rig.chain.handlers[("lottery_registry", "advance_status")]
    executions: list[int] = []

    def cooldown_once(state: object, call: Call) -> None:
        if state is rig.chain.state:  # the real execution, not a simulation
            executions.append(1)
            if len(executions) == 1:
                raise Abort(0x1809, "payouts")  # E_PAYOUT_BATCH_COOLDOWN
        original(state, call)  # type: ignore[arg-type]

    rig.chain.handlers[("lottery_registry", "advance_status")] = cooldown_once
    # when: the chain's answer (not yet) is decided as such: a backoff, then a new simulation
    waiting = await rig.executor.advance(key)
    assert (waiting.state, waiting.next_check_at) == (ActionState.EXECUTING, NOW + 15)
    assert await rig.executor.advance(key) == waiting  # no new transaction before the backoff
    assert len(executions) == 1
    rig.chain.advance(15)
    done = await rig.executor.advance(key)
    # then: the reverted attempt is history; the plan went on and no failure was recorded
    assert done.state is ActionState.DONE
    assert len(executions) == 2
    assert rig.chain.state.lottery(1).status is LotteryStatus.CLOSING
    assert rig.chain.executed("automation::record_failure") == []


async def test_on_chain_aborts_are_decided_from_the_chains_answer_and_budgeted(rig: Rig) -> None:
    # given: every simulation says the close runs (a lying node), but on chain it keeps
    # aborting "not yet"
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    executions: list[int] = []

    def not_yet(state: object, call: Call) -> None:
        if state is rig.chain.state:
            executions.append(1)
            raise Abort(0x1809, "payouts")  # E_PAYOUT_BATCH_COOLDOWN
        original(state, call)  # type: ignore[arg-type]

    original = rig.chain.handlers[("lottery_registry", "advance_status")]
    rig.chain.handlers[("lottery_registry", "advance_status")] = not_yet
    # when: the daemon keeps coming back after each backoff
    result = await rig.executor.advance(key)
    for _ in range(10):
        if result.next_check_at is None:
            break
        rig.chain.advance(result.next_check_at - rig.chain.state.now)
        result = await rig.executor.advance(key)
    # then: the retries (3) plus the first, then escalated: recorded as a success that clears
    # nothing, the action parked with an incident
    assert len(executions) == 4
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.PARKED
    assert action.outcome is Outcome.ESCALATED and action.attempts == 3
    assert rig.chain.executed("automation::record_failure") == []
    [note] = [
        i for i in await rig.journal.incidents() if "aborted on chain 4 times" in i.description
    ]
    assert "E_PAYOUT_BATCH_COOLDOWN" in note.description


async def test_an_abort_on_chain_that_is_not_not_yet_is_the_plans_failure_at_once(
    rig: Rig,
) -> None:
    # given: the simulation says the close runs, the chain aborts it for good
    rig.chain.add_bot(B, timelock_secs=0)
    key = await close_lottery_1(rig)
    executions: list[int] = []

    def refused(state: object, call: Call) -> None:
        if state is rig.chain.state:
            executions.append(1)
            raise Abort(0x1103, "lottery_registry")
        original(state, call)  # type: ignore[arg-type]

    original = rig.chain.handlers[("lottery_registry", "advance_status")]
    rig.chain.handlers[("lottery_registry", "advance_status")] = refused
    # when
    result = await rig.executor.advance(key)
    # then: one on-chain abort, recorded as the bot's failure with the chain's code
    assert result.state is ActionState.FAILED
    assert len(executions) == 1
    [record] = rig.chain.executed("automation::record_failure")
    assert record.call.args[-1].value == 0x1103


@pytest.mark.parametrize(("code", "name"), [(0x1B02, "mismatch"), (0x1B05, "expected missing")])
async def test_a_dual_write_block_of_the_archive_escalates_and_is_no_bot_failure(
    rig: Rig, code: int, name: str
) -> None:
    # given: a refund plan whose archive the dual-write control refuses (the legacy bridge's
    # expected hash for the lottery differs, or is missing, under abort_on_*)
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    refund = RefundProgress(active=True, tickets_sold=10, proceeds_accum=100)
    rig.chain.state.lotteries[4] = lottery(4, status=LotteryStatus.CANCELED, refund=refund)
    recipe = RefundPlan(lottery_id=4, batches=((1, 10, 80, 20),), canceled_ts=900)
    await rig.executor.accept(planned(recipe, "refund:4:1"), chain_now=NOW)

    def blocked(state: object, call: Call) -> None:
        raise Abort(code, "legacy_bridge")

    rig.chain.handlers[("payouts", "archive_canceled_lottery_admin")] = blocked
    await rig.executor.advance(ActionKey.parse("refund:4:1"))
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(ActionKey.parse("refund:4:1"))
    # then: the batch ran, the archive waits for a person, and the bot's record is a success
    assert result.state is ActionState.PARKED
    assert len(rig.chain.executed("payouts::force_refund_batch_admin")) == 1
    assert rig.chain.executed("payouts::archive_canceled_lottery_admin") == []
    assert rig.chain.executed("automation::record_failure") == []
    assert len(rig.chain.executed("automation::record_success")) == 1
    assert rig.chain.state.bots[A].failure_count == 0
    action = await rig.journal.get_action("refund:4:1")
    assert action is not None and action.outcome is Outcome.ESCALATED
    texts = [i.description for i in await rig.journal.incidents()]
    assert any("blocked by the dual-write control" in t for t in texts), texts


async def test_a_cap_nonce_taken_by_the_treasury_escalates_and_is_no_bot_failure(
    rig: Rig,
) -> None:
    # given: a refund plan on a stride-1 cap; between the plan and its execution the treasury's
    # payout batch consumes the cap's nonce, so the round aborts E_PAYOUT_BATCH_NONCE
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    refund = RefundProgress(active=True, tickets_sold=10, proceeds_accum=100)
    rig.chain.state.lotteries[4] = lottery(4, status=LotteryStatus.CANCELED, refund=refund)
    recipe = RefundPlan(lottery_id=4, batches=((1, 10, 80, 20),), canceled_ts=900, archive=False)
    await rig.executor.accept(planned(recipe, "refund:4:1"), chain_now=NOW)

    def treasury_took_the_nonce(state: object, call: Call) -> None:
        raise Abort(0x180A, "payouts")  # E_PAYOUT_BATCH_NONCE

    rig.chain.handlers[("payouts", "force_refund_batch_admin")] = treasury_took_the_nonce
    await rig.executor.advance(ActionKey.parse("refund:4:1"))
    rig.chain.advance(900)
    # when
    result = await rig.executor.advance(ActionKey.parse("refund:4:1"))
    # then: simulated only (never sent), escalated, the slot cleared with record_success
    assert result.state is ActionState.PARKED
    assert rig.chain.executed("payouts::force_refund_batch_admin") == []
    assert rig.chain.executed("automation::record_failure") == []
    assert len(rig.chain.executed("automation::record_success")) == 1
    assert rig.chain.state.bots[A].failure_count == 0
    action = await rig.journal.get_action("refund:4:1")
    assert action is not None and action.outcome is Outcome.ESCALATED
    texts = [i.description for i in await rig.journal.incidents()]
    assert any("PayoutBatchCap's nonce moved under the plan" in t for t in texts), texts


async def test_closes_through_timelock_0_bots_are_not_signed_one_after_the_other(
    rig: Rig,
) -> None:
    """No pending slot, no route lock: the second close is simulated (and sent) while the first
    one's simulation still waits for the node. Before, the route lock was held from choosing the
    bot through the submission, so a burst of closes at one sales end went one round trip after
    another (and a background step holding it delayed them all)."""
    # given: two lotteries whose sales ended, a timelock-0 bot
    rig.chain.add_bot(B, timelock_secs=0)
    rig.chain.state.lotteries[1] = lottery(1)
    rig.chain.state.lotteries[2] = lottery(2)
    keys = []
    for lottery_id in (1, 2):
        record, _ = await rig.executor.accept(
            planned(AutoClose(lottery_id=lottery_id), f"close:{lottery_id}:0"), chain_now=NOW
        )
        keys.append(record.action_key)
    simulate = rig.chain.simulate
    both_asked = asyncio.Event()
    asking: list[int] = []

    async def slow_node(**kw: Any) -> SimResult:
        call = kw["call"]
        if call.function == "advance_status":
            asking.append(int(arg(call, 0)))
            if len(asking) == 2:
                both_asked.set()
            await both_asked.wait()  # the first answer waits until the second close asks
        return await simulate(**kw)

    rig.chain.simulate = slow_node  # type: ignore[method-assign]
    # when
    results = await asyncio.wait_for(
        asyncio.gather(*(rig.executor.advance(k) for k in keys)), timeout=5.0
    )
    # then
    assert sorted(asking) == [1, 2]
    assert [r.state for r in results] == [ActionState.DONE, ActionState.DONE]
    assert rig.chain.state.lottery(1).status is LotteryStatus.CLOSING
    assert rig.chain.state.lottery(2).status is LotteryStatus.CLOSING
