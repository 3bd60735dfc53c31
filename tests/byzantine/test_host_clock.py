"""Finding 7: the host clock orders nothing in the journal; steps of ±100 s change nothing.

An action's transactions were read back in wall-clock order, so after the host clock stepped back
an older, dropped transaction looked like the latest one and the call was signed again while the
newer one was live (two executions of one call). Here the lying endpoint refuses the first submit
of a close with a forged ``SEQUENCE_NUMBER_TOO_NEW`` (so that transaction is dropped, and the
call signed again), and at that very moment the host clock steps by ±100 s. The chain's record
must show the close executed exactly once.
"""

from __future__ import annotations

import time

import pytest
from byz_harness import Byzantine, Lie

from autobot.journal.records import ActionState, TxPurpose, TxState
from autobot.planning.recipes import AutoClose

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(block_interval_ms=50)]


class SteppedClock:
    """The host clock plus an offset a test can step (as NTP or an operator can)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    def step(self, seconds: float) -> None:
        self.offset += seconds


@pytest.mark.parametrize("step", [-100.0, 100.0])
async def test_a_host_clock_step_never_makes_a_call_run_twice(byz: Byzantine, step: float) -> None:
    clock = SteppedClock()
    # a TTL longer than the step: the node (on the true clock) still takes what we sign
    async with byz.machine(clock=clock, ttl_seconds=300) as machine:
        key = await machine.plan(AutoClose(lottery_id=1), "close:1:0")
        # when: the first submit is refused (so its transaction is dropped) and the host clock
        # steps right then, before the call is signed again
        byz.proxy.tell(Lie.REFUSED_SUBMIT, answers=1, on_told=lambda: clock.step(step))
        record = await machine.drive(key, until=lambda r: not r.is_open, within=30)
        # then: on chain, the close executed once
        closes = [
            t for t in byz.user_transactions() if t.function == "lottery_registry::advance_status"
        ]
        assert [t.status for t in closes] == ["Success"], closes
        assert record.state is ActionState.DONE, record
        txs = await machine.journal.transactions(str(key))
        executes = [t.state for t in txs if t.purpose is TxPurpose.EXECUTE]
        assert executes == [TxState.DROPPED, TxState.COMMITTED]
        assert byz.proxy.told == {"refused_submit": 1}
