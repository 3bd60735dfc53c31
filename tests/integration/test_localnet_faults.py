"""Faults on demand: every kind as an HTTP client (httpx, the official SDK) sees it, and counted.

Each test turns one kind on at rate 1 through ``POST /localnet/v1/faults`` (or an extra front end
with its own spec) and checks what a client observes, then what ``GET /localnet/v1/faults``
reports. Faults never touch ``/localnet/v1/``; ``{}`` turns them off.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from supra_sdk.clients.api_client import ApiError
from supra_sdk.clients.rest import SupraClient

from autobot.localnet.faults import FaultSpec
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(30)

BCS = {"Content-Type": "application/x.supra.signed_transaction+bcs"}


@pytest.fixture
async def http(localnet: Localnet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=localnet.base_url, timeout=5.0) as client:
        yield client


async def set_faults(http: httpx.AsyncClient, spec: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("localnet/v1/faults", json=spec)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def counts(http: httpx.AsyncClient) -> dict[str, Any]:
    report: dict[str, Any] = (await http.get("localnet/v1/faults")).json()
    return report


def failing_announce(localnet: Localnet, tx_factory: Any, *, sequence_number: int = 0) -> bytes:
    """A transaction that executes (and aborts), consuming operator A's sequence number."""
    info = localnet.info
    now = info.chain_time
    body: bytes = tx_factory.entry(
        info.operators[0].sdk_account(),
        "automation",
        "announce_dry_run",
        [tx_factory.u64(1), tx_factory.bytes_(b""), tx_factory.u64(now), tx_factory.u64(now)],
        sequence_number=sequence_number,
    )
    return body


async def executed(localnet: Localnet, tx_hash: str) -> dict[str, Any]:
    """Wait for execution as the node sees it (the dev endpoint is never faulted)."""
    async with httpx.AsyncClient(base_url=localnet.base_url) as dev:
        async with asyncio.timeout(10):
            while True:
                response = await dev.get(f"localnet/v1/transactions/{tx_hash}")
                if response.status_code == 200 and response.json()["status"] != "Pending":
                    timing: dict[str, Any] = response.json()
                    return timing
                await asyncio.sleep(0.02)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_http_5xx_answers_an_error_response_with_the_chain_id(
    localnet: Localnet, http: httpx.AsyncClient, supra_client: SupraClient, status: int
) -> None:
    await set_faults(http, {"rates": {f"http_{status}": 1.0}})
    response = await http.get("rpc/v3/block")
    assert response.status_code == status
    assert "fault injection" in response.json()["message"]
    assert response.headers["x-supra-chain-id"] == "77"
    with pytest.raises(ApiError) as caught:
        await supra_client.chain_id()
    assert caught.value.status_code == status
    assert (await counts(http))["counts"] == {f"http_{status}": 2}


async def test_http_429_carries_retry_after(http: httpx.AsyncClient) -> None:
    await set_faults(http, {"rates": {"http_429": 1.0}, "retry_after_seconds": 7})
    response = await http.post("rpc/v3/view", json={})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_a_reset_closes_the_connection_without_an_answer(http: httpx.AsyncClient) -> None:
    await set_faults(http, {"rates": {"reset": 1.0}})
    with pytest.raises(httpx.TransportError):
        await http.get("rpc/v3/block")
    report = await counts(http)
    assert report["counts"] == {"reset": 1} and report["total"] == 1


async def test_malformed_json_is_a_cut_short_200(
    http: httpx.AsyncClient, supra_client: SupraClient
) -> None:
    await set_faults(http, {"rates": {"malformed_json": 1.0}})
    response = await http.get("rpc/v3/block")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    with pytest.raises(ValueError):
        await supra_client.chain_id()


async def test_a_wrong_chain_id_header_names_another_chain(http: httpx.AsyncClient) -> None:
    await set_faults(http, {"rates": {"wrong_chain_id": 1.0}})
    response = await http.get("rpc/v3/block")
    assert response.status_code == 200
    assert response.headers["x-supra-chain-id"] not in ("77", "")
    assert response.json()["header"]["height"] >= 0


async def test_a_timeout_holds_the_request_until_the_client_gives_up(
    localnet: Localnet,
) -> None:
    spec = FaultSpec.from_json({"rates": {"timeout": 1.0}, "timeout_seconds": 30})
    frontend = await localnet.add_frontend(faults=spec)
    async with httpx.AsyncClient(base_url=frontend.url) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.get("rpc/v3/block", timeout=0.3)
        assert time.monotonic() - started < 2
        # A request still held does not hold up the front end's shutdown.
        held = asyncio.create_task(client.get("rpc/v3/block", timeout=20))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await frontend.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.TransportError):
            await held
    assert frontend.faults.report()["counts"] == {"timeout": 2}


async def test_latency_delays_every_rpc_request(http: httpx.AsyncClient) -> None:
    await set_faults(http, {"latency_ms": {"fixed": 200}})
    started = time.monotonic()
    assert (await http.get("rpc/v3/block")).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert (await counts(http))["total"] == 0  # a delay is not a fault


@pytest.mark.localnet(block_interval_ms=60_000)  # blocks only when the test makes them
async def test_a_stale_view_serves_an_older_block_and_sequence_number(
    localnet: Localnet, http: httpx.AsyncClient, tx_factory: Any
) -> None:
    node = localnet.node
    operator = localnet.info.operators[0].address
    tx_hash = (
        await http.post(
            "rpc/v3/transactions/submit",
            content=failing_announce(localnet, tx_factory),
            headers=BCS,
        )
    ).json()
    node.produce_block()
    assert node.sequence_number(operator) == 1
    for _ in range(5):
        node.produce_block()
    tip = node.tip.height
    await set_faults(http, {"rates": {"stale_view": 1.0}, "stale_blocks": 3})
    block = (await http.get("rpc/v3/block")).json()
    assert block["header"]["height"] == tip - 3
    account = (await http.get(f"rpc/v3/accounts/{operator}")).json()
    assert account["sequence_number"] == 1  # executed 6 blocks ago: still visible 3 back
    await set_faults(http, {"rates": {"stale_view": 1.0}, "stale_blocks": 10})
    account = (await http.get(f"rpc/v3/accounts/{operator}")).json()
    assert account["sequence_number"] == 0  # as of before the transaction's block
    assert (await http.get(f"rpc/v3/transactions/{tx_hash}")).status_code == 200  # not stale
    assert (await counts(http))["counts"] == {"stale_view": 3}


async def test_a_dropped_submit_is_acknowledged_but_never_executes(
    localnet: Localnet, http: httpx.AsyncClient, tx_factory: Any
) -> None:
    operator = localnet.info.operators[0].address
    body = failing_announce(localnet, tx_factory)
    await set_faults(http, {"rates": {"drop_submit": 1.0}})
    response = await http.post("rpc/v3/transactions/submit", content=body, headers=BCS)
    assert response.status_code == 200
    tx_hash = response.json()
    for _ in range(3):
        await localnet.node.next_block()
    assert (await http.get(f"rpc/v3/transactions/{tx_hash}")).status_code == 404
    assert localnet.node.sequence_number(operator) == 0
    # The same bytes again, faults off: the node has never seen them, so they execute now.
    await set_faults(http, {})
    again = await http.post("rpc/v3/transactions/submit", content=body, headers=BCS)
    assert again.json() == tx_hash
    assert (await executed(localnet, tx_hash))["status"] == "Fail"  # the announce aborts
    assert (await counts(http))["counts"] == {"drop_submit": 1}


async def test_a_dropped_submit_still_refuses_garbage(http: httpx.AsyncClient) -> None:
    await set_faults(http, {"rates": {"drop_submit": 1.0}})
    response = await http.post("rpc/v3/transactions/submit", content=b"\x00\x01", headers=BCS)
    assert response.status_code == 400
    assert response.json()["message"].startswith("DESERIALIZATION_ERROR")


async def test_a_hidden_status_answers_404_for_a_while_after_execution(
    localnet: Localnet, http: httpx.AsyncClient, tx_factory: Any
) -> None:
    await set_faults(http, {"rates": {"hide_status": 1.0}, "hide_status_seconds": 0.5})
    response = await http.post(
        "rpc/v3/transactions/submit", content=failing_announce(localnet, tx_factory), headers=BCS
    )
    tx_hash = response.json()
    await set_faults(http, {})  # hidden transactions stay hidden; new ones are not
    timing = await executed(localnet, tx_hash)
    assert timing["status"] == "Fail"
    assert (await http.get(f"rpc/v3/transactions/{tx_hash}")).status_code == 404
    async with asyncio.timeout(5):
        while True:
            status = await http.get(f"rpc/v3/transactions/{tx_hash}")
            if status.status_code != 404:
                break
            await asyncio.sleep(0.05)
    assert status.json()["status"] == "Fail"
    assert time.time() >= timing["executed_wall"] + 0.5
    assert (await counts(http))["counts"] == {"hide_status": 1}


async def test_dev_endpoints_are_never_faulted(localnet: Localnet, http: httpx.AsyncClient) -> None:
    await set_faults(http, {"rates": {"reset": 1.0}, "latency_ms": {"fixed": 2000}})
    started = time.monotonic()
    info = await http.get("localnet/v1/info")
    assert info.status_code == 200 and info.json()["chain_id"] == 77
    advanced = await http.post("localnet/v1/advance", json={"seconds": 5})
    assert advanced.status_code == 200
    assert time.monotonic() - started < 1
    assert (await counts(http))["requests"] == 0


async def test_an_empty_spec_turns_faults_off_and_counts_are_kept(
    http: httpx.AsyncClient,
) -> None:
    await set_faults(http, {"seed": 5, "rates": {"http_503": 1.0}})
    assert (await http.get("rpc/v3/block")).status_code == 503
    report = await set_faults(http, {})
    assert report["spec"]["rates"] == {} and report["spec"]["rate"] == 0
    for _ in range(5):
        assert (await http.get("rpc/v3/block")).status_code == 200
    report = await counts(http)
    assert report["counts"] == {"http_503": 1} and report["total"] == 1
    assert report["requests"] == 6


async def test_a_bad_spec_is_refused_with_400_naming_the_key(http: httpx.AsyncClient) -> None:
    await set_faults(http, {"rates": {"reset": 1.0}})
    response = await http.post("localnet/v1/faults", json={"rates": {"reset": 7}})
    assert response.status_code == 400
    assert "rates.reset" in response.json()["message"]
    response = await http.post("localnet/v1/faults", content=b"not json")
    assert response.status_code == 400
    assert (await counts(http))["spec"]["rates"] == {"reset": 1.0}  # the old spec stays


async def test_a_mixed_rate_injects_several_kinds_reproducibly(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    spec = {"seed": 11, "rate": 0.5, "timeout_seconds": 0.2, "retry_after_seconds": 0}

    async def run() -> list[int | str]:
        await set_faults(http, spec)
        seen: list[int | str] = []
        async with httpx.AsyncClient(base_url=localnet.base_url, timeout=2.0) as client:
            for _ in range(40):
                try:
                    response = await client.post("rpc/v3/view", json={})
                except httpx.TransportError as exc:
                    seen.append(type(exc).__name__)
                else:
                    seen.append(response.status_code)
        return seen

    first = await run()
    assert await run() == first
    assert {500, 502, 503, 429, 400} <= set(first)
    total = (await counts(http))["total"]
    assert 20 < total < 60  # about half of 80 requests


async def test_each_front_end_has_its_own_faults_over_one_chain(localnet: Localnet) -> None:
    faulty = await localnet.add_frontend(faults=FaultSpec.from_json({"rates": {"http_503": 1.0}}))
    assert localnet.frontends == (localnet.frontend, faulty)
    async with httpx.AsyncClient() as client:
        healthy_block = (await client.get(localnet.base_url + "rpc/v3/block")).json()
        assert (await client.get(faulty.url + "rpc/v3/block")).status_code == 503
        info = (await client.get(faulty.url + "localnet/v1/info")).json()
        assert info["rpc_url"] == faulty.url
        assert info["block_height"] >= healthy_block["header"]["height"]  # the same chain
        await client.post(faulty.url + "localnet/v1/faults", json={})
        block = (await client.get(faulty.url + "rpc/v3/block")).json()
        assert block["header"]["height"] >= healthy_block["header"]["height"]
        await faulty.stop()
        with pytest.raises(httpx.ConnectError):
            await client.get(faulty.url + "rpc/v3/block")
        assert (await client.get(localnet.base_url + "rpc/v3/block")).status_code == 200
    assert localnet.faults.report()["total"] == 0
