"""Every endpoint the localnet implements answers in the node's OpenAPI shapes, errors included.

Schemas come from the vendored spec (``tests/data/supra-rpc-openapi.json``, patched for its known
defects by the ``openapi`` fixture). Error bodies are checked against ``ErrResp``; every response
must carry ``x-supra-chain-id``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from autobot.localnet.runner import Localnet
from autobot.localnet.view_mode import ViewMode

pytestmark = pytest.mark.timeout(30)

BCS = {"Content-Type": "application/x.supra.signed_transaction+bcs"}


@pytest.fixture
async def http(localnet: Localnet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=localnet.base_url) as client:
        yield client


def _checked(response: httpx.Response, openapi: Any, *, path: str, method: str = "get") -> Any:
    assert response.headers["x-supra-chain-id"] == "77"
    body = response.json()
    if response.status_code == 200:
        openapi.validate(body, method=method, path=path)
    else:
        openapi.validate_component(body, "ErrResp")
    return body


async def _executed(http: httpx.AsyncClient, tx_hash: str) -> dict[str, Any]:
    for _ in range(200):
        response = await http.get(f"rpc/v3/transactions/{tx_hash}")
        if response.status_code == 200 and response.json()["status"] != "Pending":
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"{tx_hash} was not executed")


async def test_chain_id_account_gas_and_block_have_the_node_shapes(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any
) -> None:
    v1 = "/rpc/v1/transactions/chain_id"
    assert _checked(await http.get("rpc/v1/transactions/chain_id"), openapi, path=v1) == 77
    # the SDK calls the v3 path, which the spec omits: same shape as v1
    assert _checked(await http.get("rpc/v3/transactions/chain_id"), openapi, path=v1) == 77
    admin = localnet.info.admin.address
    account = await http.get(f"rpc/v3/accounts/{admin}")
    assert (
        _checked(account, openapi, path="/rpc/v3/accounts/{address}")["authentication_key"] == admin
    )
    bad = await http.get("rpc/v3/accounts/0xnothex")
    assert bad.status_code == 400
    _checked(bad, openapi, path="/rpc/v3/accounts/{address}")
    gas = await http.get("rpc/v3/transactions/estimate_gas_price")
    _checked(gas, openapi, path="/rpc/v3/transactions/estimate_gas_price")
    block = _checked(await http.get("rpc/v3/block"), openapi, path="/rpc/v3/block")
    assert block["header"]["height"] <= localnet.node.tip.height


async def test_transactions_pending_executed_failed_and_unknown_have_the_node_shapes(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any, tx_factory: Any
) -> None:
    info = localnet.info
    admin = info.admin.sdk_account()
    by_hash = "/rpc/v3/transactions/{hash}"
    submit = "/rpc/v3/transactions/submit"
    held = tx_factory.entry(admin, "automation", "init_automation", [], sequence_number=1)
    held_hash = _checked(
        await http.post("rpc/v3/transactions/submit", content=held, headers=BCS),
        openapi,
        path=submit,
        method="post",
    )
    pending = _checked(await http.get(f"rpc/v3/transactions/{held_hash}"), openapi, path=by_hash)
    assert pending["status"] == "Pending"
    first = tx_factory.entry(
        admin,
        "price_feed",
        "register_feed",
        [
            tx_factory.u64(42),
            tx_factory.u64(5_000),
            tx_factory.u8(8),
            tx_factory.opt_u64(600),
            tx_factory.opt_u64(None),
            tx_factory.u64(info.chain_time),
        ],
        sequence_number=0,
    )
    first_hash = (await http.post("rpc/v3/transactions/submit", content=first, headers=BCS)).json()
    statuses = []
    for tx_hash in (first_hash, held_hash):
        done = await _executed(http, tx_hash)
        openapi.validate(done, method="get", path=by_hash)
        statuses.append(done["status"])
    assert statuses == ["Success", "Fail"]  # automation is already initialised in the demo
    rotate = tx_factory.multi_agent(
        admin,
        [info.operators[1].sdk_account()],
        "automation",
        "rotate_bot",
        [
            tx_factory.bytes_(b"*/2 * * * *"),
            tx_factory.u64s([1]),
            tx_factory.u64(0),
            tx_factory.u64(5),
            tx_factory.u64(info.chain_time + 3_600),
        ],
        sequence_number=2,
    )
    rotate_hash = (
        await http.post("rpc/v3/transactions/submit", content=rotate, headers=BCS)
    ).json()
    openapi.validate(await _executed(http, rotate_hash), method="get", path=by_hash)
    genesis = await http.get(
        f"rpc/v3/events/{info.package_address}::history::AutomationKeyRotatedEvent"
    )
    genesis_hash = genesis.json()["data"][0]["transaction_hash"]
    genesis_tx = _checked(
        await http.get(f"rpc/v3/transactions/{genesis_hash}"), openapi, path=by_hash
    )
    assert genesis_tx["block_header"]["height"] == 0
    refused = await http.post("rpc/v3/transactions/submit", content=first + b"\x00", headers=BCS)
    assert refused.status_code == 400
    _checked(refused, openapi, path=submit, method="post")
    unknown = await http.get("rpc/v3/transactions/0x" + "cd" * 32)
    assert unknown.status_code == 404
    _checked(unknown, openapi, path=by_hash)
    malformed = await http.get("rpc/v3/transactions/nothash")
    assert malformed.status_code == 400
    _checked(malformed, openapi, path=by_hash)
    timing = (await http.get(f"localnet/v1/transactions/{first_hash}")).json()
    assert timing["accepted_wall"] <= timing["executed_wall"] <= time.time()


async def test_simulate_has_the_node_shapes(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any, tx_factory: Any
) -> None:
    admin = localnet.info.admin.sdk_account()
    signed = tx_factory.entry(admin, "roles", "init_roles", [], sequence_number=0)
    path = "/rpc/v3/transactions/simulate"
    ok = await http.post(
        "rpc/v3/transactions/simulate", content=tx_factory.zero_signatures(signed), headers=BCS
    )
    assert ok.status_code == 200
    _checked(ok, openapi, path=path, method="post")
    refused = await http.post("rpc/v3/transactions/simulate", content=signed, headers=BCS)
    assert refused.status_code == 400
    _checked(refused, openapi, path=path, method="post")


@pytest.mark.localnet(views=ViewMode.PATCHED)  # the readers answered as views
async def test_views_have_the_node_shapes(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any
) -> None:
    info = localnet.info
    pkg = info.package_address
    path = "/rpc/v3/view"
    calls: list[tuple[str, list[object]]] = [
        ("views::status_overview", [str(info.chain_time)]),
        ("views::list_automation_bots", []),
        ("views::get_automation_bot", [info.operators[0].address]),
        ("views::get_vrf_deposit_status", []),
        ("automation::automation_operators", []),
        ("roles::payout_batch_cap_view", []),
        ("price_feed::get_price_view", ["1"]),
    ]
    for function, args in calls:
        response = await http.post(
            "rpc/v3/view",
            json={"function": f"{pkg}::{function}", "type_arguments": [], "arguments": args},
        )
        assert response.status_code == 200, (function, response.text)
        _checked(response, openapi, path=path, method="post")
    for bad in (
        {"function": f"{pkg}::views::nope", "type_arguments": [], "arguments": []},
        {"function": f"{pkg}::views::get_lottery_status", "type_arguments": [], "arguments": []},
        {"function": f"{pkg}::views::get_lottery_status", "type_arguments": [], "arguments": ["x"]},
        {
            "function": f"{pkg}::price_feed::get_price_view",
            "type_arguments": [],
            "arguments": ["999"],
        },
    ):
        response = await http.post("rpc/v3/view", json=bad)
        assert response.status_code == 400, bad
        _checked(response, openapi, path=path, method="post")
    not_json = await http.post(
        "rpc/v3/view", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    _checked(not_json, openapi, path=path, method="post")


async def test_events_and_system_transactions_have_the_node_shapes(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any
) -> None:
    pkg = localnet.info.package_address
    localnet.node.advance(120)  # the demo's price pusher refreshes its feeds
    path = "/rpc/v3/events/{event_type}"
    event_type = f"{pkg}::price_feed::PriceFeedUpdatedEvent"
    response = await http.get(f"rpc/v3/events/{event_type}", params={"limit": 1})
    body = _checked(response, openapi, path=path)
    assert len(body["data"]) == 1
    event = body["data"][0]
    assert event["event"]["type"] == event_type
    system_tx = await http.get(f"rpc/v3/transactions/{event['transaction_hash']}")
    tx = _checked(system_tx, openapi, path="/rpc/v3/transactions/{hash}")
    assert tx["txn_type"] == "automated"
    assert tx["status"] == "Success"
    bad = await http.get("rpc/v3/events/not-a-type")
    assert bad.status_code == 400
    _checked(bad, openapi, path=path)
    empty = await http.get(f"rpc/v3/events/{event_type}", params={"limit": 0})
    assert _checked(empty, openapi, path=path)["data"] == []
    bad_limit = await http.get(f"rpc/v3/events/{event_type}", params={"limit": "-1"})
    assert bad_limit.status_code == 400
    _checked(bad_limit, openapi, path=path)


async def test_unknown_routes_and_dev_endpoint_errors_are_err_resp(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any
) -> None:
    for response in (
        await http.get("rpc/v3/nope"),
        await http.get("rpc/v3/transactions/submit"),
        await http.post("localnet/v1/advance", json={"seconds": -5}),
        await http.post("localnet/v1/advance", json={"seconds": "60"}),
        await http.post("localnet/v1/advance", content=b"not json"),
        await http.get("localnet/v1/transactions/0x" + "00" * 32),
    ):
        assert response.status_code in (400, 404, 405), response.text
        assert response.headers["x-supra-chain-id"] == "77"
        openapi.validate_component(response.json(), "ErrResp")


async def test_resources_and_table_items_have_the_node_shapes(
    localnet: Localnet, http: httpx.AsyncClient, openapi: Any
) -> None:
    pkg = localnet.info.package_address
    v3_list, v3_one = (
        "/rpc/v3/accounts/{address}/resources",
        "/rpc/v3/accounts/{address}/resources/{resource_type}",
    )
    v2_list, v2_one = (
        "/rpc/v2/accounts/{address}/resources",
        "/rpc/v2/accounts/{address}/resources/{resource_type}",
    )
    item_path = "/rpc/v2/tables/{table_handle}/item"
    page = await http.get(f"rpc/v3/accounts/{pkg}/resources", params={"count": 2})
    assert "x-supra-cursor" in page.headers
    _checked(page, openapi, path=v3_list)
    resources = _checked(await http.get(f"rpc/v3/accounts/{pkg}/resources"), openapi, path=v3_list)
    _checked(await http.get(f"rpc/v2/accounts/{pkg}/resources"), openapi, path=v2_list)
    for resource in resources:
        one = await http.get(f"rpc/v3/accounts/{pkg}/resources/{resource['type']}")
        assert _checked(one, openapi, path=v3_one) == resource
        _checked(
            await http.get(f"rpc/v2/accounts/{pkg}/resources/{resource['type']}"),
            openapi,
            path=v2_one,
        )
    registry = next(r["data"] for r in resources if r["type"].endswith("::Registry"))
    ledger = next(r["data"] for r in resources if r["type"].endswith("::SalesLedger"))
    handles = [
        (registry["lotteries"]["handle"], "u64", f"{pkg}::lottery_registry::Lottery"),
        (
            registry["cancellations"]["handle"],
            "u64",
            f"{pkg}::lottery_registry::CancellationRecord",
        ),
        (ledger["states"]["handle"], "u64", f"{pkg}::sales::SalesState"),
    ]
    for handle, key_type, value_type in handles:
        body = {"key_type": key_type, "value_type": value_type, "key": "4"}
        item = await http.post(f"rpc/v2/tables/{handle}/item", json=body)
        assert item.status_code == 200, item.text
        _checked(item, openapi, path=item_path, method="post")
    for response in (
        await http.get(f"rpc/v3/accounts/{pkg}/resources/{pkg}::roles::Nope"),
        await http.get(f"rpc/v3/accounts/{pkg}/resources/not-a-type"),
        await http.post(
            f"rpc/v2/tables/{handles[0][0]}/item",
            json={"key_type": "u64", "value_type": handles[0][2], "key": "77"},
        ),
        await http.post(f"rpc/v2/tables/{handles[0][0]}/item", json={"key": "1"}),
    ):
        assert response.status_code in (400, 404), response.text
        _checked(response, openapi, path=v3_one)
