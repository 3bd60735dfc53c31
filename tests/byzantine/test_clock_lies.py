"""Finding 1: a forged block timestamp must not release a timelock, a retry window or a fallback.

The lying endpoint (listed first, so in use) answers ``GET rpc/v3/block`` with a timestamp 4000 s
ahead for three answers, while the demo's refund plan of lottery 4 (action 6, operator A,
timelock 900 s) waits out its timelock. The honest chain's record must show no refund batch before
the announcement's ``pending_execute_after``, no ``set_fallback`` for the healthy feeds 1 and 2,
and no timestamp argument ahead of the block it executed in. Once the honest chain passes the
timelock (advanced, not slept), the plan runs.
"""

from __future__ import annotations

import asyncio

import pytest
from byz_harness import Byzantine, Lie, eventually

from autobot.chain.signer import Signer

pytestmark = [pytest.mark.timeout(120), pytest.mark.localnet(block_interval_ms=50)]

_REFUND = "payouts::force_refund_batch_admin"
_TIMESTAMPED = {  # the position of each call's chain-time argument (0-based)
    "automation::announce_dry_run": 2,
    "automation::record_success": 2,
    "automation::record_failure": 2,
    "payouts::force_refund_batch_admin": 5,
    "price_feed::set_fallback": 3,
}


def _ahead_of_their_block(byz: Byzantine, tolerance: int) -> list[str]:
    """Executed calls whose chain-time argument is ahead of the block they executed in."""
    out = []
    for tx in byz.user_transactions():
        position = _TIMESTAMPED.get(tx.function)
        if position is None or position >= len(tx.arguments):
            continue
        passed = int(str(tx.arguments[position]))
        if passed > tx.block_seconds + tolerance:
            out.append(f"{tx.function} passed {passed}, block at {tx.block_seconds}")
    return out


async def test_a_block_time_from_the_future_releases_nothing(byz: Byzantine) -> None:
    config = byz.config()
    operator_a = Signer.from_private_key_hex(byz.net.info.operators[0].private_key).address
    async with byz.daemon(config) as daemon:
        # given: the refund plan of lottery 4 announced by A, its 900 s timelock running
        bot = await eventually(
            lambda: byz.chain.get_bot(operator_a),
            lambda b: b is not None and b.has_pending,
            within=30,
            what="the refund plan's announcement",
        )
        assert bot is not None
        execute_after = bot.pending_execute_after
        assert execute_after - await byz.now() > 800
        # when: the endpoint in use says the chain is 4000 s ahead, for its next three answers
        byz.proxy.tell(Lie.TIME_AHEAD, seconds=4000, answers=3)
        await eventually(
            lambda: _value(byz.proxy.told.get("time_ahead", 0)),
            lambda n: n >= 1,
            within=20,
            what="the lie told",
        )
        await asyncio.sleep(3.0)  # a dozen sweeps to act on it
        # then: the honest chain shows no batch, no fallback of a healthy feed, no early argument
        txs = byz.user_transactions()
        assert [t for t in txs if t.function == _REFUND] == [], "refund ran in the timelock"
        fallbacks = [t for t in txs if t.function == "price_feed::set_fallback"]
        assert [t for t in fallbacks if int(str(t.arguments[0])) in (1, 2)] == []
        assert _ahead_of_their_block(byz, tolerance=30) == []
        bot_now = await byz.chain.get_bot(operator_a)
        assert bot_now is not None and bot_now.pending_action_hash == bot.pending_action_hash
        assert daemon.gateway is not None
        assert (await daemon.gateway.chain_time()).seconds <= await byz.now() + 30
        # and: when the honest chain passes the timelock, the plan runs (and not before)
        await byz.advance(execute_after - await byz.now() + 1)
        await eventually(
            lambda: _value([t for t in byz.user_transactions() if t.function == _REFUND]),
            bool,
            within=30,
            what="the first refund batch",
        )
        first = min(
            (t for t in byz.user_transactions() if t.function == _REFUND),
            key=lambda t: t.block_seconds,
        )
        assert first.block_seconds >= execute_after
        assert _ahead_of_their_block(byz, tolerance=30) == []


async def _value[T](value: T) -> T:
    return value
