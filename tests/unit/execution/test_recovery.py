"""Crash safety: a daemon killed at each journal state restarts and finishes the action, and
nothing is announced, executed or recorded twice, nor sent twice with different bytes."""

from __future__ import annotations

import pytest
from execution_fakes import OPERATOR_A, OPERATOR_B, Rig, arg, lottery

from autobot.domain.lotteries import LotteryStatus
from autobot.domain.refunds import RefundProgress
from autobot.execution.recovery import recover
from autobot.journal.records import ActionState, TxPurpose, TxState
from autobot.planning.plan import ActionKey, PlannedAction, Recipe
from autobot.planning.recipes import AutoClose, RefundPlan

NOW = 1_000
A, B = OPERATOR_A.address, OPERATOR_B.address


class Crash(Exception):
    """The process dies here (nothing after this line of the old process runs)."""


def planned(recipe: Recipe, key: str) -> PlannedAction:
    kind, subject, round_ = key.split(":")
    return PlannedAction(
        key=ActionKey(kind=kind, subject=int(subject), round=int(round_)),
        recipe=recipe,
        due_at=NOW,
        reason="test",
    )


async def timelocked_close(rig: Rig) -> ActionKey:
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(1,))
    rig.chain.state.lotteries[1] = lottery(1)
    record, _ = await rig.executor.accept(
        planned(AutoClose(lottery_id=1), "close:1:0"), chain_now=NOW
    )
    return record.action_key


async def refund_plan(rig: Rig, batches: int = 3) -> ActionKey:
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    refund = RefundProgress(active=True, tickets_sold=3 * batches, proceeds_accum=30 * batches)
    rig.chain.state.lotteries[4] = lottery(4, status=LotteryStatus.CANCELED, refund=refund)
    plan = tuple((r, 3, 20, 10) for r in range(1, batches + 1))
    recipe = RefundPlan(lottery_id=4, batches=plan, canceled_ts=900)
    record, _ = await rig.executor.accept(planned(recipe, "refund:4:1"), chain_now=NOW)
    return record.action_key


async def crash_on_next_submit(rig: Rig, key: ActionKey, *, node_took_it: bool) -> None:
    rig.chain.submit_faults.append((Crash(), node_took_it))
    with pytest.raises(Crash):
        await rig.executor.advance(key)
    await rig.reopen()


async def restart(rig: Rig) -> None:
    await recover(journal=rig.journal, gateway=rig.chain, executor=rig.executor)  # type: ignore[arg-type]


def payloads(rig: Rig, function: str) -> set[bytes]:
    return {
        tx.payload
        for tx in rig.chain.submitted
        if f"{tx.call.module}::{tx.call.function}" == function
    }


async def test_an_announce_journaled_but_never_sent_is_sent_with_the_same_bytes(rig: Rig) -> None:
    # given: killed between journaling the announce and handing it to a node
    key = await timelocked_close(rig)
    await crash_on_next_submit(rig, key, node_took_it=False)
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.WAITING
    assert len(rig.chain.executed("automation::announce_dry_run")) == 1
    assert len(payloads(rig, "automation::announce_dry_run")) == 1


async def test_an_announce_the_node_took_is_found_on_chain_not_sent_again(rig: Rig) -> None:
    # given: killed after the node took the announce, before the answer came back
    key = await timelocked_close(rig)
    await crash_on_next_submit(rig, key, node_took_it=True)
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.WAITING
    assert len(rig.chain.submitted) == 1


async def test_an_announce_that_expired_unsent_is_dropped_and_announced_anew(rig: Rig) -> None:
    # given: killed before the announce left, restarted after its expiry (host wall clock)
    key = await timelocked_close(rig)
    await crash_on_next_submit(rig, key, node_took_it=False)
    [lost] = await rig.journal.transactions(str(key))
    rig.clock.advance(rig.ttl_seconds + 31)
    # when
    await restart(rig)
    rig.chain.advance(60)
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.WAITING
    dropped = await rig.journal.get_transaction(lost.tx_hash)
    assert dropped is not None and dropped.state is TxState.DROPPED
    [announce] = rig.chain.executed("automation::announce_dry_run")
    assert announce.tx_hash != lost.tx_hash
    action = await rig.journal.get_action(str(key))
    assert action is not None and arg(announce.call, 1) == action.action_hash != lost.action_hash


async def test_a_waiting_action_continues_after_a_restart(rig: Rig) -> None:
    # given: announced, then the daemon restarted during the timelock
    key = await timelocked_close(rig)
    await rig.executor.advance(key)
    await rig.reopen()
    rig.chain.advance(900)
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.DONE
    assert len(rig.chain.executed("automation::announce_dry_run")) == 1
    assert len(rig.chain.executed("lottery_registry::advance_status")) == 1


async def test_an_admin_call_journaled_but_never_sent_runs_once(rig: Rig) -> None:
    # given: killed between journaling the close and sending it
    key = await timelocked_close(rig)
    await rig.executor.advance(key)
    rig.chain.advance(900)
    await crash_on_next_submit(rig, key, node_took_it=False)
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.DONE
    assert len(rig.chain.executed("lottery_registry::advance_status")) == 1
    assert len(payloads(rig, "lottery_registry::advance_status")) == 1


async def test_an_admin_call_executed_before_the_crash_is_not_executed_again(rig: Rig) -> None:
    # given: the close executed, but the daemon died before it heard so
    key = await timelocked_close(rig)
    await rig.executor.advance(key)
    rig.chain.advance(900)
    await crash_on_next_submit(rig, key, node_took_it=True)
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.DONE
    assert len(rig.chain.submitted_unique()) == 3  # announce, close, record: each once
    assert len(rig.chain.executed("lottery_registry::advance_status")) == 1


async def test_a_record_journaled_before_the_crash_lands_once(rig: Rig) -> None:
    # given: a timelock-0 bot; killed after journaling record_success
    rig.chain.add_bot(B, timelock_secs=0)
    rig.chain.state.lotteries[1] = lottery(1)
    record, _ = await rig.executor.accept(
        planned(AutoClose(lottery_id=1), "close:1:0"), chain_now=NOW
    )
    key = record.action_key
    original = rig.chain.submit
    calls = 0

    async def crash_on_second(tx: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash()
        return await original(tx)  # type: ignore[arg-type]

    rig.chain.submit = crash_on_second  # type: ignore[assignment,method-assign]
    with pytest.raises(Crash):
        await rig.executor.advance(key)
    rig.chain.submit = original  # type: ignore[method-assign]
    await rig.reopen()
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.DONE
    assert len(rig.chain.executed("automation::record_success")) == 1
    assert rig.chain.state.bots[B].success_streak == 1


async def test_a_refund_plan_interrupted_mid_way_resumes_without_repeating_a_round(
    rig: Rig,
) -> None:
    # given: three batches; the daemon died right after the node took batch 2
    key = await refund_plan(rig)
    await rig.executor.advance(key)
    rig.chain.advance(900)
    original = rig.chain.submit
    sent = 0

    async def crash_on_batch_2(tx: object) -> str:
        nonlocal sent
        sent += 1
        hash_ = await original(tx)  # type: ignore[arg-type]
        if sent == 2:
            raise Crash()
        return hash_

    rig.chain.submit = crash_on_batch_2  # type: ignore[assignment,method-assign]
    with pytest.raises(Crash):
        await rig.executor.advance(key)
    rig.chain.submit = original  # type: ignore[method-assign]
    await rig.reopen()
    # when
    await restart(rig)
    # then
    action = await rig.journal.get_action(str(key))
    assert action is not None and action.state is ActionState.DONE
    rounds = [arg(tx.call, 1) for tx in rig.chain.executed("payouts::force_refund_batch_admin")]
    assert rounds == [1, 2, 3]
    assert rig.chain.state.lottery(4).archived


async def test_a_refund_plan_resumes_from_the_chains_refund_round(rig: Rig) -> None:
    # given: the chain already shows round 1 although the journal never sent it
    key = await refund_plan(rig, batches=2)
    await rig.executor.advance(key)
    rig.chain.advance(900)
    rig.chain.state.set_lottery(4, refund=RefundProgress(
        active=True, refund_round=1, tickets_refunded=3, tickets_sold=6, proceeds_accum=60
    ))  # fmt: skip
    # when
    result = await rig.executor.advance(key)
    # then
    assert result.state is ActionState.DONE
    rounds = [arg(tx.call, 1) for tx in rig.chain.executed("payouts::force_refund_batch_admin")]
    assert rounds == [2]
    executes = [
        t for t in await rig.journal.transactions(str(key)) if t.purpose is TxPurpose.EXECUTE
    ]
    assert [t.call_index for t in executes] == [1, 2]


async def test_a_pending_slot_no_journaled_action_explains_is_reported(rig: Rig) -> None:
    # given: the bot's slot holds a hash from a lost journal
    rig.chain.add_bot(A, timelock_secs=900, pending_action_hash=b"\x42" * 32, has_pending=True)
    # when
    report = await recover(journal=rig.journal, gateway=rig.chain, executor=rig.executor)  # type: ignore[arg-type]
    # then
    assert report.orphan_slots == (A,)
    [incident] = await rig.journal.incidents()
    assert "42" * 32 in incident.description and "rotate_bot" in incident.description


async def test_recovery_reports_what_it_settled(rig: Rig) -> None:
    # given: one transaction executed unknown to the journal, one still held by the node
    key = await timelocked_close(rig)
    await crash_on_next_submit(rig, key, node_took_it=True)
    # when
    report = await recover(journal=rig.journal, gateway=rig.chain, executor=rig.executor)  # type: ignore[arg-type]
    # then
    assert (report.settled, report.still_live, report.unreachable) == (1, 0, 0)
    assert [r.state for r in report.actions] == [ActionState.WAITING]
