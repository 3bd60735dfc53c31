"""SIGTERM reaches the executor as a ``stopping`` predicate: the step in progress finishes, no other
step or action starts, and the next start finishes the action without redoing the step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from execution_fakes import OPERATOR_B, Rig, lottery

from autobot.errors import JournalError
from autobot.execution import Executor, StepResult
from autobot.journal.records import ActionState
from autobot.planning.plan import ActionKey, PlannedAction
from autobot.planning.recipes import AutoClose

NOW = 1_000
EXECUTE = "lottery_registry::advance_status"


def executor(rig: Rig, stopping: Callable[[], bool]) -> Executor:
    return Executor(
        journal=rig.journal,
        gateway=rig.chain,  # type: ignore[arg-type]
        steps=rig.steps,
        book=rig.book,
        confirm_seconds=0.0,
        stopping=stopping,
    )


async def close_lottery(rig: Rig, lottery_id: int) -> ActionKey:
    rig.chain.state.lotteries[lottery_id] = lottery(lottery_id)
    planned = PlannedAction(
        key=ActionKey(kind="close", subject=lottery_id, round=0),
        recipe=AutoClose(lottery_id=lottery_id),
        due_at=NOW,
        reason="test",
    )
    record, _ = await rig.executor.accept(planned, chain_now=NOW)
    return record.action_key


async def test_once_stopping_no_due_action_is_started(rig: Rig) -> None:
    # given: two due actions
    rig.chain.add_bot(OPERATOR_B.address, timelock_secs=0)
    keys = [await close_lottery(rig, 1), await close_lottery(rig, 2)]
    # when: the daemon is stopping
    results = await executor(rig, lambda: True).advance_due()
    # then: nothing signed, nothing changed
    assert results == []
    assert rig.chain.executed(EXECUTE) == []
    for key in keys:
        record = await rig.journal.get_action(str(key))
        assert record is not None and record.state is ActionState.PLANNED


async def test_a_stop_during_a_step_lets_it_finish_and_starts_no_next_step(rig: Rig) -> None:
    # given: a timelock-0 bot, whose action is "execute, then record success" in one advance
    rig.chain.add_bot(OPERATOR_B.address, timelock_secs=0)
    key = await close_lottery(rig, 1)
    # when: SIGTERM arrives while the execute step runs
    stopped = executor(rig, lambda: bool(rig.chain.executed(EXECUTE)))
    result = await stopped.advance(key)
    # then: the execution landed, the record step did not start
    assert len(rig.chain.executed(EXECUTE)) == 1
    assert rig.chain.executed("automation::record_success") == []
    assert result.state is not ActionState.DONE
    # when: the next start advances the action
    await rig.reopen()
    finished = await rig.executor.advance(key)
    # then: finished without executing again
    assert finished.state is ActionState.DONE
    assert len(rig.chain.executed(EXECUTE)) == 1
    assert len(rig.chain.executed("automation::record_success")) == 1


async def test_a_journal_failure_in_one_action_stops_the_others_before_it_propagates(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two due actions; one step hits a full disk while the other is still working
    rig.chain.add_bot(OPERATOR_B.address, timelock_secs=0)
    failing, slow = await close_lottery(rig, 1), await close_lottery(rig, 2)
    cancelled = asyncio.Event()

    async def advance(key: ActionKey, *, snapshot: object = None) -> StepResult:
        if key == failing:
            await asyncio.sleep(0.01)
            raise JournalError("journal: disk is full")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError(f"{slow} ran on")

    monkeypatch.setattr(rig.executor, "advance", advance)
    # when / then: the failure propagates only after the other step was stopped
    with pytest.raises(JournalError, match="disk is full"):
        await asyncio.wait_for(rig.executor.advance_due(), timeout=5)
    assert cancelled.is_set()
