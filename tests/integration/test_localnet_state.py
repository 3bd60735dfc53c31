"""Chain time, persistence across restarts, dev endpoints, events, and the localnet's own actors."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from supra_sdk.clients.rest import SupraClient, SupraClientConfig

from autobot.localnet.accounts import dev_accounts
from autobot.localnet.runner import Localnet, LocalnetError, LocalnetOptions
from autobot.localnet.view_mode import ViewMode

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def localnet_options(localnet_options: LocalnetOptions) -> LocalnetOptions:
    """These tests read the package model's readers through ``/rpc/v3/view`` with the SDK: the
    localnet serves them as a package redeployed with ``#[view]`` would (``--views patched``)."""
    return replace(localnet_options, views=ViewMode.PATCHED)


@pytest.fixture
async def http(localnet: Localnet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=localnet.base_url) as client:
        yield client


@contextlib.asynccontextmanager
async def _client(net: Localnet) -> AsyncIterator[SupraClient]:
    client = SupraClient(net.base_url, SupraClientConfig(wait_for_transaction=False))
    try:
        yield client
    finally:
        await client.close()


async def _view(http: httpx.AsyncClient, pkg: str, function: str, *args: object) -> list[Any]:
    response = await http.post(
        "rpc/v3/view",
        json={"function": f"{pkg}::{function}", "type_arguments": [], "arguments": list(args)},
    )
    assert response.status_code == 200, response.text
    result: list[Any] = response.json()["result"]
    return result


async def test_info_lists_the_dev_accounts_and_the_registered_operators(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    info = (await http.get("localnet/v1/info")).json()
    assert info["chain_id"] == 77
    assert info["package_address"] == info["accounts"]["admin"]["address"]
    assert [op["name"] for op in info["accounts"]["operators"]] == ["A", "B"]
    assert info["vrf_retry"] == "intent"
    assert info["time_scale"] == 1.0
    assert info["rpc_url"] == localnet.base_url
    for op in info["accounts"]["operators"]:
        assert op["private_key"].startswith("0x") and len(op["private_key"]) == 66


@pytest.mark.parametrize("localnet", [{"scenario": "empty", "vrf_retry": "strict"}], indirect=True)
async def test_the_empty_scenario_has_no_bots_and_keeps_the_strict_variant(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    info = (await http.get("localnet/v1/info")).json()
    assert info["accounts"]["operators"] == []
    assert info["vrf_retry"] == "strict"
    assert await _view(http, info["package_address"], "views::list_automation_bots") == [[]]


async def test_advance_moves_chain_time_and_the_latest_block(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    before = (await http.get("rpc/v3/block")).json()["header"]
    response = await http.post("localnet/v1/advance", json={"seconds": 3_600})
    assert response.status_code == 200
    after = (await http.get("rpc/v3/block")).json()["header"]
    assert after["height"] > before["height"]
    elapsed = after["timestamp"]["timestamp"] - before["timestamp"]["timestamp"]
    assert 3_600 * 1_000_000 <= elapsed < 3_700 * 1_000_000
    assert response.json()["chain_time"] == after["timestamp"]["timestamp"] // 1_000_000


@pytest.mark.localnet(time_scale=120.0)
async def test_a_time_scale_runs_chain_time_faster(localnet: Localnet) -> None:
    start = await localnet.node.next_block()
    started = time.monotonic()
    for _ in range(6):
        end = await localnet.node.next_block()
    rate = (end.timestamp_us - start.timestamp_us) / 1_000_000 / (time.monotonic() - started)
    assert 60 < rate < 240


async def test_a_restart_keeps_height_time_and_state_monotonic(
    localnet_options: LocalnetOptions, tx_factory: Any
) -> None:
    options = replace(localnet_options, scenario="empty")
    admin = tx_factory.account(dev_accounts().admin.private_key)
    feed_args = [
        tx_factory.u64(9),
        tx_factory.u64(1_000),
        tx_factory.u8(8),
        tx_factory.opt_u64(None),
        tx_factory.opt_u64(None),
        tx_factory.u64(1),
    ]
    async with Localnet.start(options) as net, _client(net) as client:
        register = tx_factory.entry(
            admin, "price_feed", "register_feed", feed_args, sequence_number=0
        )
        tx_hash = await client.submit(register)
        assert (await tx_factory.wait(client, tx_hash))["status"] == "Success"
        net.node.advance(600)
        height, timestamp = net.node.tip.height, net.node.tip.timestamp_us
    async with Localnet.start(replace(options, scenario="demo")) as net, _client(net) as client:
        tip = net.node.tip
        assert tip.height >= height and tip.timestamp_us >= timestamp
        await net.node.next_block()
        assert net.node.tip.height > height and net.node.tip.timestamp_us > timestamp
        assert (await client.transaction_by_hash(tx_hash))["status"] == "Success"
        assert await client.account_sequence_number(admin.address()) == 1
        pkg = net.info.package_address
        (feed,) = await client.view(f"{pkg}::price_feed::get_price_view", [], ["9"])
        assert feed["price"] == "1000"
        # the chain kept its state and ignored --scenario demo (no bots registered)
        assert net.info.operators == ()
        again = tx_factory.entry(admin, "price_feed", "register_feed", feed_args, sequence_number=1)
        done = await tx_factory.wait(client, await client.submit(again))
        assert done["status"] == "Fail"
        assert "E_PRICE_FEED_EXISTS" in done["output"]["Move"]["vm_status"]


async def test_events_page_oldest_first_with_a_cursor(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg = localnet.info.package_address
    for _ in range(3):
        localnet.node.advance(120)  # each advance lets the price pusher refresh every feed
    event_type = f"{pkg}::price_feed::PriceFeedUpdatedEvent"
    everything = (await http.get(f"rpc/v3/events/{event_type}")).json()["data"]
    assert len(everything) >= 3
    first = await http.get(f"rpc/v3/events/{event_type}", params={"limit": 2})
    assert [e["event"]["sequence_number"] for e in first.json()["data"]] == ["0", "1"]
    cursor = first.headers["x-supra-cursor"]
    rest = await http.get(f"rpc/v3/events/{event_type}", params={"limit": 100, "start": cursor})
    assert first.json()["data"] + rest.json()["data"] == everything
    assert "x-supra-cursor" not in rest.headers
    heights = [e["block_height"] for e in everything]
    assert heights == sorted(heights)
    window = await http.get(
        f"rpc/v3/events/{event_type}",
        params={"start_height": heights[-1], "end_height": heights[-1] + 1},
    )
    assert all(e["block_height"] == heights[-1] for e in window.json()["data"])


async def test_the_price_pusher_keeps_healthy_feeds_fresh_within_the_clamp(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg = localnet.info.package_address
    before = await _view(http, pkg, "price_feed::get_price_view", "1")
    localnet.node.advance(90)
    after = await _view(http, pkg, "price_feed::get_price_view", "1")
    assert int(after[0]["last_updated_ts"]) > int(before[0]["last_updated_ts"])
    old, new = int(before[0]["price"]), int(after[0]["price"])
    assert abs(new - old) * 10_000 <= old * int(before[0]["clamp_threshold_bps"])
    assert not after[0]["clamp_active"]


async def test_a_non_loopback_host_needs_allow_remote(localnet_options: LocalnetOptions) -> None:
    with pytest.raises(LocalnetError, match="allow_remote"):
        async with Localnet.start(replace(localnet_options, host="0.0.0.0")):
            pass


async def test_a_loopback_name_in_capitals_is_served_without_allow_remote(
    localnet_options: LocalnetOptions,
) -> None:
    """The localnet judges its host as the daemon's config does (one loopback check): ``LOCALHOST``
    resolves to 127.0.0.1, so it needs no ``allow_remote`` (the localnet's own check refused it)."""
    async with Localnet.start(replace(localnet_options, host="LOCALHOST")) as net:
        assert net.info.rpc_url.startswith("http://LOCALHOST:")
        async with httpx.AsyncClient(base_url=net.info.rpc_url) as http:
            assert (await http.get("localnet/v1/info")).status_code == 200


async def test_two_localnets_on_one_port_fail_cleanly(localnet: Localnet, tmp_path: Any) -> None:
    options = LocalnetOptions(port=localnet.port, state_dir=tmp_path / "other")
    with pytest.raises(LocalnetError, match="cannot listen"):
        async with Localnet.start(options):
            await asyncio.sleep(0)
