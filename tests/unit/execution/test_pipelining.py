"""Pipelined calls within the submit window, background advances, and a freed bot's next action."""

from __future__ import annotations

import asyncio

from execution_fakes import OPERATOR_A, OPERATOR_B, Rig, arg, lottery

from autobot.domain.lotteries import LotteryStatus
from autobot.domain.refunds import RefundProgress
from autobot.execution.bookkeeping import BUSY_WAIT_SECONDS, StepResult
from autobot.journal.records import ActionState, TxPurpose
from autobot.planning.plan import ActionKey, PlannedAction
from autobot.planning.recipes import RefundPlan

NOW = 1_000
A = OPERATOR_A.address
B = OPERATOR_B.address
BATCHES = ((1, 2, 20, 5), (2, 2, 20, 5), (3, 2, 20, 5), (4, 2, 20, 5))


def refund(lottery_id: int) -> PlannedAction:
    recipe = RefundPlan(lottery_id=lottery_id, batches=BATCHES, canceled_ts=900)
    return PlannedAction(
        key=ActionKey("refund", lottery_id, 1),
        recipe=recipe,
        due_at=NOW,
        reason="test",
    )


def canceled(rig: Rig, lottery_id: int) -> None:
    progress = RefundProgress(active=True, tickets_sold=8, proceeds_accum=100)
    rig.chain.state.lotteries[lottery_id] = lottery(
        lottery_id, status=LotteryStatus.CANCELED, refund=progress
    )


async def test_a_refund_plan_fills_the_submit_window_behind_its_first_batch(rig: Rig) -> None:
    # given: a window of 3, a plan of four batches and the archive, its timelock passed
    rig.window = 3
    rig.build()
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    canceled(rig, 4)
    record, _ = await rig.executor.accept(refund(4), chain_now=NOW)
    await rig.executor.advance(record.action_key)  # announced
    rig.chain.advance(900)
    rig.chain.hold = True  # a slow node: nothing executes yet
    # when
    await rig.executor.advance(record.action_key)
    # then: one simulation, three transactions in flight with consecutive numbers
    live = await rig.journal.live_transactions(rig.admin.address)
    assert [t.call_index for t in live] == [0, 1, 2]
    assert [t.sequence_number for t in live] == [0, 1, 2]
    assert [c.function for c in rig.chain.simulated].count("force_refund_batch_admin") == 1
    # when: they land, the rest follow behind the next simulated one
    rig.chain.release()
    rig.chain.hold = False
    done = await rig.executor.advance(record.action_key)
    # then
    assert done.state is ActionState.DONE
    batches = rig.chain.executed("payouts::force_refund_batch_admin")
    assert [arg(b.call, 1) for b in batches] == [1, 2, 3, 4]
    assert len(rig.chain.executed("payouts::archive_canceled_lottery_admin")) == 1
    executes = [
        t for t in await rig.journal.transactions(record.key) if t.purpose is TxPurpose.EXECUTE
    ]
    assert len(executes) == 5  # nothing sent twice


async def test_start_due_advances_in_the_background_and_reports_each_action(rig: Rig) -> None:
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    canceled(rig, 4)
    record, _ = await rig.executor.accept(refund(4), chain_now=NOW)
    finished = asyncio.Event()
    reports: list[tuple[str, StepResult | None]] = []

    def done(key: ActionKey, result: StepResult | None) -> None:
        reports.append((key, result))
        finished.set()

    started = await rig.executor.start_due(concurrency=2, done=done)
    assert started == 1 and rig.executor.running == 1
    assert await rig.executor.start_due(concurrency=2, done=done) == 0  # already running
    await asyncio.wait_for(finished.wait(), timeout=5)
    [(key, result)] = reports
    assert key == record.action_key and result is not None
    assert (result.state, result.next_check_at) == (ActionState.WAITING, NOW + 900)
    assert rig.executor.running == 0


async def test_a_freed_bot_takes_the_next_action_waiting_for_it_at_once(rig: Rig) -> None:
    # given: one timelocked bot and two refund plans; the second waits for the bot
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    canceled(rig, 4)
    canceled(rig, 5)
    first, _ = await rig.executor.accept(refund(4), chain_now=NOW)
    second, _ = await rig.executor.accept(refund(5), chain_now=NOW)
    await rig.executor.advance(first.action_key)
    waiting = await rig.executor.advance(second.action_key)
    assert (waiting.state, waiting.next_check_at) == (ActionState.PLANNED, NOW + BUSY_WAIT_SECONDS)
    # (the executor's first start looks at it once more: a restart may have freed its bot)
    looked = asyncio.Event()
    await rig.executor.start_due(concurrency=1, done=lambda key, result: looked.set())
    await asyncio.wait_for(looked.wait(), timeout=5)
    assert (await rig.journal.get_action(second.key)).next_check_at == NOW + BUSY_WAIT_SECONDS  # type: ignore[union-attr]
    rig.chain.advance(900)
    reports: dict[str, StepResult | None] = {}
    both = asyncio.Event()

    def done(key: ActionKey, result: StepResult | None) -> None:
        reports[key] = result
        if len(reports) == 2:
            both.set()

    # when: the first plan runs to its end in the background
    await rig.executor.start_due(concurrency=1, done=done)
    await asyncio.wait_for(both.wait(), timeout=5)
    # then: the second went at once (announced under the freed bot), not after its wait
    assert (await rig.journal.get_action(first.key)).state is ActionState.DONE  # type: ignore[union-attr]
    again = reports[second.action_key]
    assert again is not None and again.state is ActionState.WAITING
    assert len(rig.chain.executed("automation::announce_dry_run")) == 2


async def test_two_slots_freed_at_once_wake_two_waiting_actions(rig: Rig) -> None:
    # given: two timelocked bots busy with plans 4 and 5; plans 6 and 7 wait for a bot
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    rig.chain.add_bot(B, timelock_secs=900, allowed_actions=(6,))
    for lottery_id in (4, 5, 6, 7):
        canceled(rig, lottery_id)
    keys = [
        (await rig.executor.accept(refund(i), chain_now=NOW))[0].action_key for i in (4, 5, 6, 7)
    ]
    for key in keys:
        await rig.executor.advance(key)
    for key in keys[2:]:
        w = await rig.journal.get_action(str(key))
        assert w is not None and w.next_check_at == NOW + BUSY_WAIT_SECONDS
    rig.chain.advance(900)
    for key in keys[:2]:
        result = await rig.executor.advance(key)
        while result.state is not ActionState.DONE:
            result = await rig.executor.advance(key)
    # when: both slots are reported free in the same moment
    woken = await asyncio.gather(*(rig.executor._slot_freed(k) for k in keys[:2]))
    # then: two different waiting plans are due now (the oldest is not woken twice)
    assert sorted(str(w) for w in woken if w is not None) == [str(k) for k in keys[2:]]
    for key in keys[2:]:
        again = await rig.journal.get_action(str(key))
        assert again is not None and again.next_check_at is None


async def test_a_plan_meeting_a_full_window_looks_again_soon_without_a_backoff(rig: Rig) -> None:
    # given: a window of 3 that plan 4's batches fill on a slow node; plan 5 is due too
    rig.window = 3
    rig.build()
    rig.chain.add_bot(A, timelock_secs=900, allowed_actions=(6,))
    rig.chain.add_bot(B, timelock_secs=900, allowed_actions=(6,))
    canceled(rig, 4)
    canceled(rig, 5)
    first, _ = await rig.executor.accept(refund(4), chain_now=NOW)
    second, _ = await rig.executor.accept(refund(5), chain_now=NOW)
    await rig.executor.advance(first.action_key)
    await rig.executor.advance(second.action_key)
    rig.chain.advance(900)
    rig.chain.hold = True
    await rig.executor.advance(first.action_key)
    # when
    result = await rig.executor.advance(second.action_key)
    # then: no transaction of its own yet, no failure, no backoff: it looks again within a block
    assert result.soon and result.next_check_at is None
    assert result.state is ActionState.EXECUTING
    again = await rig.journal.get_action(second.key)
    assert again is not None and again.attempts == 0 and again.error_message is None
    assert not [
        t for t in await rig.journal.transactions(second.key) if t.purpose is TxPurpose.EXECUTE
    ]
