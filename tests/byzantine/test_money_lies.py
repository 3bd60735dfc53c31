"""Finding 2: forged simulations (and inflated gas prices) must not buy endless resubmission.

The lying endpoint (the only one here) rewrites every simulation to "success". A call the chain
then aborts is decided from the chain's own answer (docs/decisions.md §9), never from the next
forged simulation: a "not yet" abort is tried again after a backoff a bounded number of times,
then escalated; any other abort is the plan's failure at once (tests/unit/execution). Counted on
the honest chain's record: the transactions that failed there.
"""

from __future__ import annotations

import pytest
from byz_harness import Byzantine, Lie

from autobot.journal.records import ActionState, Outcome
from autobot.localnet.info import LOCALNET_CHAIN_ID
from autobot.planning.recipes import RequestDraw

pytestmark = [pytest.mark.timeout(90), pytest.mark.localnet(block_interval_ms=50)]

_DRAW = "draw::request_draw_admin"
_FAST = {"retry_base_seconds": 1, "retry_max_seconds": 2}  # chain seconds between tries


def _draw(lottery_id: int, attempt: int) -> RequestDraw:
    return RequestDraw(
        lottery_id=lottery_id,
        closing_block_height=1,
        chain_id=LOCALNET_CHAIN_ID,
        num_confirmations=1,
        attempt=attempt,
    )


def _failed(byz: Byzantine, function: str, lottery_id: int) -> int:
    return sum(
        1
        for t in byz.user_transactions()
        if t.function == function and t.status == "Fail" and str(t.arguments[0]) == str(lottery_id)
    )


async def test_a_not_yet_abort_on_chain_is_retried_a_few_times_then_escalated(
    byz: Byzantine,
) -> None:
    async with byz.machine(urls=(byz.proxy.url,), book_options=_FAST) as machine:
        # given: lottery 3's first draw request went out (honestly); its retry window (60 s) is
        # not over, so a retry aborts E_VRF_RETRY_WINDOW, which forged simulations hide
        first = await machine.plan(_draw(3, 0), "draw:3:1")
        requested = await machine.drive(first, until=lambda r: not r.is_open, within=15)
        assert requested.state is ActionState.DONE, requested
        byz.proxy.tell(Lie.FORGED_SIMULATION)
        key = await machine.plan(_draw(3, 1), "draw:3:2")
        # when
        record = await machine.drive(key, until=lambda r: not r.is_open, within=30)
        # then: the first try and three retries failed on chain, with backoffs, then a person
        assert _failed(byz, _DRAW, 3) == 4
        assert record.state is ActionState.PARKED, record
        assert record.outcome is Outcome.ESCALATED
        notes = [i.description for i in await machine.journal.incidents()]
        assert any("aborted on chain 4 times" in n and "E_VRF_RETRY_WINDOW" in n for n in notes)
