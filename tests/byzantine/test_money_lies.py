"""Finding 2: forged simulations (and inflated gas prices) must not buy endless resubmission.

The lying endpoint (the only one here) rewrites every simulation to "success". A call the chain
then aborts is decided from the chain's own answer (docs/decisions.md §9), never from the next
forged simulation: a "not yet" abort is tried again after a backoff a bounded number of times,
then escalated; any other abort is the plan's failure at once (tests/unit/execution). Counted on
the honest chain's record: the transactions that failed there.
"""

from __future__ import annotations

import pytest
from byz_harness import Byzantine, ChainTx, Lie, eventually

from autobot.chain.signer import Signer
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


@pytest.mark.parametrize("alone", [False, True], ids=["beside-honest", "alone"])
async def test_an_inflated_gas_estimate_is_never_signed(byz: Byzantine, alone: bool) -> None:
    # given: the endpoint listed first says gas costs 10^12 per unit, and forges every
    # simulation's gas_used to 10^12, from before the daemon's first read
    byz.proxy.tell(Lie.INFLATED_GAS, price=10**12)
    byz.proxy.tell(Lie.FORGED_SIMULATION)
    honest_price = await byz.chain.refresh_gas_price()
    config = byz.config(urls=(byz.proxy.url,) if alone else None)
    ours = {str(Signer.from_private_key_hex(byz.net.info.admin.private_key).address)} | {
        str(Signer.from_private_key_hex(op.private_key).address) for op in byz.net.info.operators
    }

    def sent() -> list[ChainTx]:
        return [t for t in byz.user_transactions() if t.sender in ours]

    # when: the demo's work runs for a while
    async with byz.daemon(config):
        await eventually(lambda: _value(sent()), lambda txs: len(txs) >= 4, within=40,
                         what="four transactions of ours on chain")  # fmt: skip
    # then: the chain's record: every transaction of ours at a bounded price and amount (on the
    # old code: signed at 10^12 per unit)
    txs = sent()
    assert byz.proxy.told.get("inflated_gas", 0) >= 1
    limit = config.chain.max_gas_unit_price if alone else 2 * honest_price
    assert max(t.gas_unit_price for t in txs) <= limit, [t.gas_unit_price for t in txs]
    assert max(t.max_gas_amount for t in txs) <= config.chain.max_gas_amount


async def _value[T](value: T) -> T:
    return value
