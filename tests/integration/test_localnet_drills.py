"""Alert drills over HTTP (``POST /localnet/v1/drill``): what each does to the chain, read back
through the official SDK like any client, and how a bad or untimely drill is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from autobot.chain.supra import SupraGateway
from autobot.config import load_config
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(60)


async def drill(net: Localnet, body: dict[str, Any]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{net.base_url}localnet/v1/drill", json=body) as reply,
    ):
        text = await reply.text()
        return reply.status, (await reply.json()) if reply.status == 200 else text


async def gateway(net: Localnet, tmp_path: Any) -> SupraGateway:
    path = tmp_path / "cfg" / "autobot.toml"
    write_daemon_config(path, net.info)
    return SupraGateway.from_config(load_config(path).chain)


async def blocks(net: Localnet, n: int = 3) -> None:
    for _ in range(n):
        await net.node.next_block()


async def test_the_clamp_drill_clamps_a_fresh_feed_with_a_refused_update(
    localnet: Localnet, tmp_path: Any
) -> None:
    status, body = await drill(localnet, {"drill": "clamp", "asset": 1})
    assert status == 200 and body["drill"] == "clamp"
    await blocks(localnet)
    async with await gateway(localnet, tmp_path) as chain:
        feed = await chain.price_feed(1)
        assert feed.clamp_active
        (event,) = (await chain.events("price_feed::PriceFeedClampEvent")).events[-1:]
        assert int(str(event.data["new_price"])) == body["refused_price"]


async def test_the_failure_limit_drill_signs_failures_with_the_bots_own_key(
    localnet: Localnet, tmp_path: Any
) -> None:
    b = localnet.info.operators[1]
    status, body = await drill(localnet, {"drill": "failure-limit", "operator": "B"})
    assert status == 200 and body["failures"] == 3 and body["operator"] == b.address
    await blocks(localnet, 6)
    async with await gateway(localnet, tmp_path) as chain:
        bot = await chain.get_bot(b.address)
        assert bot is not None and bot.failure_count == bot.max_failures == 3
        ticks = (await chain.events("history::AutomationTickEvent")).events
        failures = [e for e in ticks if e.data["operator"] == b.address]
        assert len(failures) == 3
        tx = await chain.status(failures[0].tx_hash)
        assert tx.state.value == "success"
    again_status, why = await drill(localnet, {"drill": "failure-limit", "operator": "B"})
    assert again_status == 409 and "already at its limit" in why


async def test_a_timelocked_bot_fails_only_after_each_announcement_waits_its_timelock(
    localnet: Localnet, tmp_path: Any
) -> None:
    a = localnet.info.operators[0]
    status, _ = await drill(localnet, {"drill": "failure-limit", "operator": a.address})
    assert status == 200
    async with await gateway(localnet, tmp_path) as chain:
        await blocks(localnet, 2)
        bot = await chain.get_bot(a.address)
        assert bot is not None and bot.has_pending and bot.failure_count == 0  # announced first
        for _ in range(12):  # each failure: its timelock, then the record, then the next one
            localnet.node.advance(901)
            await blocks(localnet, 2)
            bot = await chain.get_bot(a.address)
            assert bot is not None
            if bot.failure_count == 3:
                break
        assert bot.failure_count == 3 and not bot.has_pending


async def test_the_deposit_drills_pause_and_resume_vrf_requests(
    localnet: Localnet, tmp_path: Any
) -> None:
    async with await gateway(localnet, tmp_path) as chain:
        assert (await drill(localnet, {"drill": "pause-deposit"}))[0] == 200
        await blocks(localnet)
        assert (await chain.vrf_deposit_status()).requests_paused
        assert (await drill(localnet, {"drill": "restore-deposit"}))[0] == 200
        await blocks(localnet)
        assert not (await chain.vrf_deposit_status()).requests_paused


async def test_the_stall_drill_withholds_a_lotterys_callbacks(localnet: Localnet) -> None:
    status, body = await drill(localnet, {"drill": "stall-draw", "lottery": 2})
    assert status == 200 and body["lottery"] == 2
    rule = localnet.node.oracle.settings.callbacks_for(2)
    assert rule.mode.value == "never"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"drill": "earthquake"}, 400, "one of failure-limit"),
        ({"drill": "clamp", "asset": "one"}, 400, "an asset id"),
        ({"drill": "clamp", "asset": 42}, 409, "no price feed for asset 42"),
        ({"drill": "clamp", "asset": 1, "factor": 1.1}, 409, "stays within"),
        ({"drill": "failure-limit", "operator": "Z"}, 400, "unknown operator"),
        ({"drill": "stall-draw", "lottery": 99}, 409, "does not exist"),
    ],
)
async def test_a_bad_or_untimely_drill_is_refused_with_the_reason(
    localnet: Localnet, body: dict[str, Any], status: int, says: str
) -> None:
    got, text = await drill(localnet, body)
    assert got == status and says in text
    await asyncio.sleep(0)
