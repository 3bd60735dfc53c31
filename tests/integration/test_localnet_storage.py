"""The localnet serves the package's storage like a node, and refuses non-view calls like one.

Over HTTP against a running localnet: every resource and table item reachable from them matches
the vendored layouts (and BCS), every reader computed from storage equals the dev view
(``/localnet/v1/view``), misses answer 404/400 with an ``ErrResp`` (never 500), handles survive
a restart, and ``--views published`` refuses what a node refuses (issue 11, acceptance 1).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from autobot.localnet.runner import Localnet, LocalnetOptions
from autobot.localnet.view_mode import DEFAULT_VIEW_MODE, ViewMode
from storage_layouts import VendoredLayouts
from storage_readers import HttpReader, walk
from storage_views import READERS, StorageAbort

pytestmark = pytest.mark.timeout(60)

KEY_STRUCTS = 14
PUBLISHED = {"views": ViewMode.PUBLISHED}


@pytest.fixture
async def http(localnet: Localnet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=localnet.base_url) as client:
        yield client


def _err(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["x-supra-chain-id"] == "77"
    body = response.json()
    assert set(body) == {"message"} and isinstance(body["message"], str)
    message: str = body["message"]
    return message


async def _view(
    http: httpx.AsyncClient, path: str, pkg: str, function: str, args: list[object]
) -> httpx.Response:
    return await http.post(
        path, json={"function": f"{pkg}::{function}", "type_arguments": [], "arguments": args}
    )


# --- acceptance 1: views like a node ---------------------------------------------------------


@pytest.mark.localnet(**PUBLISHED)
async def test_published_refuses_non_view_functions_and_the_dev_view_answers_both(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg, now = localnet.info.package_address, str(localnet.info.chain_time)
    assert localnet.info.views == "published"
    refused = await _view(http, "rpc/v3/view", pkg, "views::status_overview", [now])
    message = _err(refused, 400)
    assert message == (
        "INVALID_MAIN_FUNCTION_SIGNATURE: function not marked as view function: "
        f"{pkg}::views::status_overview"
    )
    for function, args in (
        ("draw::vrf_state_view", ["2"]),
        ("payouts::winner_progress", ["2"]),
        ("price_feed::get_price_view", ["1"]),
        ("roles::payout_batch_cap_view", []),
        ("automation::register_bot", []),  # an entry function is no view either
    ):
        response = await _view(http, "rpc/v3/view", pkg, function, args)
        assert "function not marked as view function" in _err(response, 400), function
    legacy = await _view(http, "rpc/v3/view", pkg, "history::is_legacy_summary", ["4"])
    assert legacy.status_code == 200 and legacy.json() == {"result": [False]}
    for function, args in (
        ("views::status_overview", [now]),
        ("history::is_legacy_summary", ["4"]),
    ):
        response = await _view(http, "localnet/v1/view", pkg, function, args)
        assert response.status_code == 200, response.text
    overview = (await _view(http, "localnet/v1/view", pkg, "views::status_overview", [now])).json()
    assert overview["result"][0]["total"] == "5"
    unknown = await _view(http, "rpc/v3/view", pkg, "views::nope", [])
    assert _err(unknown, 400).startswith("FUNCTION_RESOLUTION_FAILURE")


async def test_published_is_the_default(localnet: Localnet) -> None:
    assert DEFAULT_VIEW_MODE == ViewMode.PUBLISHED  # the daemon reads storage (issue 11)
    assert localnet.info.views == "published"


@pytest.mark.localnet(views=ViewMode.PATCHED)
async def test_patched_answers_every_reader(localnet: Localnet, http: httpx.AsyncClient) -> None:
    assert localnet.info.views == "patched"
    pkg, now = localnet.info.package_address, str(localnet.info.chain_time)
    for path in ("rpc/v3/view", "localnet/v1/view"):
        response = await _view(http, path, pkg, "views::status_overview", [now])
        assert response.status_code == 200, response.text
        legacy = await _view(http, path, pkg, "history::is_legacy_summary", ["4"])
        assert legacy.json() == {"result": [False]}


# --- storage over HTTP -----------------------------------------------------------------------


def _walk_and_compare(base_url: str, info: Any) -> tuple[int, int, int]:
    """Blocking: walk storage, then compute every reader from it and ask the dev view."""
    reader = HttpReader(base_url, info.package_address)
    operators = [op.address for op in info.operators]
    try:
        report = walk(reader, operators=operators)
        assert len(report.resources) == KEY_STRUCTS
        compared = 0
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for (module, function), args in _calls(info):
                body = {
                    "function": f"{info.package_address}::{module}::{function}",
                    "type_arguments": [],
                    "arguments": [str(a) if isinstance(a, int) else a for a in args],
                }
                answer = http.post("localnet/v1/view", json=body)
                try:
                    actual = READERS[(module, function)](reader, args)
                except StorageAbort as abort:
                    assert answer.status_code == 400, (module, function, args)
                    assert f"({abort.code:#x})" in answer.json()["message"]
                else:
                    assert answer.status_code == 200, answer.text
                    expected = answer.json()["result"]
                    assert json.dumps(actual, sort_keys=True) == json.dumps(
                        expected, sort_keys=True
                    ), (module, function, args)
                compared += 1
        return len(report.layouts.checked), compared, reader.requests
    finally:
        reader.close()


def _calls(info: Any) -> list[tuple[tuple[str, str], list[object]]]:
    now = info.chain_time
    ops = [op.address for op in info.operators] + ["0x" + "ee" * 32]
    out: list[tuple[tuple[str, str], list[object]]] = [
        (("views", "status_overview"), [now]),
        (("views", "status_overview"), [now + 43_201]),
        (("views", "list_automation_bots"), []),
        (("views", "get_vrf_deposit_status"), []),
        (("views", "list_active"), [0, 10]),
        (("views", "list_finalized_ids"), [0, 10]),
        (("roles", "payout_batch_cap_view"), []),
        (("roles", "has_payout_batch_cap"), []),
        (("automation", "automation_operators"), []),
    ]
    out += [(("views", "get_automation_bot"), [op]) for op in ops]
    out += [(("automation", "automation_status_option"), [op]) for op in ops]
    out += [(("price_feed", "get_price_view"), [a]) for a in (1, 2, 3, 9)]
    per_lottery = (
        ("views", "get_refund_progress"),
        ("views", "get_cancellation"),
        ("views", "get_lottery_status"),
        ("views", "get_lottery"),
        ("views", "accounting_snapshot"),
        ("views", "get_lottery_summary"),
        ("history", "is_legacy_summary"),
        ("draw", "vrf_state_view"),
        ("draw", "has_state"),
        ("draw", "finalization_snapshot"),
        ("payouts", "winner_progress"),
    )
    out += [(reader, [i]) for reader in per_lottery for i in (1, 2, 3, 4, 5, 42)]
    return out


@pytest.mark.localnet(**PUBLISHED)
async def test_storage_over_http_matches_the_layouts_and_every_reader_matches_the_dev_view(
    localnet: Localnet,
) -> None:
    node = localnet.node
    node.advance(3_600)  # the demo's bots close, the price pusher pushes: a chain in motion
    checked, compared, requests = await asyncio.to_thread(
        _walk_and_compare, localnet.base_url, localnet.info
    )
    assert checked >= 30
    assert compared == len(_calls(localnet.info)) > 80
    assert requests > 100


async def test_resources_are_paged_with_a_cursor_and_v2_answers_the_same(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg = localnet.info.package_address
    everything = (await http.get(f"rpc/v3/accounts/{pkg}/resources")).json()
    assert len(everything) == KEY_STRUCTS - 1  # all but AutomationCap (at the operators)
    types = [r["type"] for r in everything]
    assert types == sorted(types)
    pages, params = [], {"count": "4"}
    while True:
        response = await http.get(f"rpc/v3/accounts/{pkg}/resources", params=params)
        pages.append(response.json())
        if "x-supra-cursor" not in response.headers:
            break
        params["start"] = response.headers["x-supra-cursor"]
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    assert [r for p in pages for r in p] == everything
    v2 = (await http.get(f"rpc/v2/accounts/{pkg}/resources", params={"count": "20"})).json()
    assert v2 == {"resources": everything, "cursor": ""}
    operator = localnet.info.operators[0].address
    caps = (await http.get(f"rpc/v3/accounts/{operator}/resources")).json()
    assert caps == [
        {
            "type": f"{pkg}::automation::AutomationCap",
            "data": {"cron_spec": "0x" + b"*/1 * * * *".hex(), "operator": operator},
        }
    ]
    nobody = await http.get(f"rpc/v3/accounts/0x{'ee' * 32}/resources")
    assert nobody.status_code == 200 and nobody.json() == []


async def test_one_resource_in_json_and_bcs_and_the_v2_path(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg = localnet.info.package_address
    path = f"rpc/v3/accounts/{pkg}/resources/{pkg}::roles::RoleStore"
    body = (await http.get(path)).json()
    assert body["type"] == f"{pkg}::roles::RoleStore"
    cap = body["data"]["payout_batch"]["vec"][0]
    assert (cap["holder"], cap["max_batch_size"]) == (pkg, "500")
    raw = await http.get(path, headers={"Accept": "application/x-bcs"})
    assert raw.headers["content-type"] == "application/x-bcs"
    layouts = VendoredLayouts(pkg)
    assert layouts.decode("lottery_multi::roles::RoleStore", raw.content) == body["data"]
    upper = "0x" + pkg[2:].upper()  # any spelling of the address names the same type
    same = await http.get(f"rpc/v2/accounts/{pkg}/resources/{upper}::roles::RoleStore")
    assert same.json() == body


async def test_table_items_by_handle_with_their_types(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg = localnet.info.package_address
    registry = (
        await http.get(f"rpc/v3/accounts/{pkg}/resources/{pkg}::lottery_registry::Registry")
    ).json()["data"]
    handle = registry["lotteries"]["handle"]
    request = {"key_type": "u64", "value_type": f"{pkg}::lottery_registry::Lottery", "key": "4"}
    lottery = await http.post(f"rpc/v2/tables/{handle}/item", json=request)
    assert lottery.status_code == 200, lottery.text
    assert (lottery.json()["id"], lottery.json()["status"]) == ("4", 7)
    raw = await http.post(
        f"rpc/v2/tables/{handle}/item", json=request, headers={"Accept": "application/x-bcs"}
    )
    decoded = VendoredLayouts(pkg).decode("lottery_multi::lottery_registry::Lottery", raw.content)
    assert decoded == lottery.json()


async def test_misses_and_malformed_requests_answer_like_a_node_never_500(
    localnet: Localnet, http: httpx.AsyncClient
) -> None:
    pkg = localnet.info.package_address
    stranger = "0x" + "ee" * 32
    resources = f"rpc/v3/accounts/{pkg}/resources"
    missing_type = await http.get(f"{resources}/{pkg}::lottery_registry::Nope")
    assert "Resource not found by Address" in _err(missing_type, 404)
    not_held = await http.get(f"rpc/v3/accounts/{stranger}/resources/{pkg}::roles::RoleStore")
    _err(not_held, 404)
    no_cap = await http.get(
        f"rpc/v3/accounts/{stranger}/resources/{pkg}::automation::AutomationCap"
    )
    _err(no_cap, 404)
    other_package = await http.get(f"{resources}/0x1::roles::RoleStore")
    _err(other_package, 404)
    for bad in ("notatype", "u64", f"{pkg}::roles", f"{pkg}::roles::RoleStore<"):
        assert "invalid resource type" in _err(await http.get(f"{resources}/{bad}"), 400)
    _err(await http.get("rpc/v3/accounts/0xzz/resources"), 400)
    _err(await http.get(resources, params={"count": "0"}), 400)
    _err(await http.get(resources, params={"count": "-1"}), 400)
    _err(await http.get(resources, params={"start": "0xnothex"}), 400)
    _err(await http.get(resources, headers={"Accept": "application/x-bcs"}), 406)

    registry = (await http.get(f"{resources}/{pkg}::lottery_registry::Registry")).json()["data"]
    handle = registry["lotteries"]["handle"]
    item = f"rpc/v2/tables/{handle}/item"
    value_type = f"{pkg}::lottery_registry::Lottery"
    absent = await http.post(item, json={"key_type": "u64", "value_type": value_type, "key": "9"})
    assert _err(absent, 404) == (f'Table Item not found by Table handle({handle}), Table key("9")')
    unknown_table = await http.post(
        f"rpc/v2/tables/0x{'ab' * 32}/item",
        json={"key_type": "u64", "value_type": value_type, "key": "1"},
    )
    _err(unknown_table, 404)
    wrong_key_type = await http.post(
        item, json={"key_type": "address", "value_type": value_type, "key": pkg}
    )
    assert f"maps u64 to {value_type}" in _err(wrong_key_type, 400)
    wrong_value_type = await http.post(
        item, json={"key_type": "u64", "value_type": f"{pkg}::draw::DrawState", "key": "1"}
    )
    _err(wrong_value_type, 400)
    for key in (1, "one", "-1", str(2**64), None):
        response = await http.post(
            item, json={"key_type": "u64", "value_type": value_type, "key": key}
        )
        assert "invalid key" in _err(response, 400), key
    for body in (
        {"key_type": "u64", "value_type": value_type},
        {"key_type": 5, "value_type": value_type, "key": "1"},
        {"key_type": "u64<", "value_type": value_type, "key": "1"},
    ):
        _err(await http.post(item, json=body), 400)
    _err(await http.post(item, content=b"{", headers={"Content-Type": "application/json"}), 400)
    _err(
        await http.post(
            "rpc/v2/tables/nothex/item", json={"key_type": "u64", "value_type": "u64", "key": "1"}
        ),
        400,
    )


async def test_table_handles_and_items_survive_a_restart(
    localnet_options: LocalnetOptions, tmp_path: Path
) -> None:
    options = replace(localnet_options, state_dir=tmp_path / "chain")
    answers: list[tuple[str, object]] = []
    for _ in range(2):
        async with (
            Localnet.start(options) as net,
            httpx.AsyncClient(base_url=net.base_url) as http,
        ):
            pkg = net.info.package_address
            sales = (
                await http.get(f"rpc/v3/accounts/{pkg}/resources/{pkg}::sales::SalesLedger")
            ).json()["data"]
            handle = sales["states"]["handle"]
            state = await http.post(
                f"rpc/v2/tables/{handle}/item",
                json={"key_type": "u64", "value_type": f"{pkg}::sales::SalesState", "key": "4"},
            )
            chunks = state.json()["ticket_chunks"]["handle"]
            chunk = await http.post(
                f"rpc/v2/tables/{chunks}/item",
                json={"key_type": "u64", "value_type": f"{pkg}::sales::TicketChunk", "key": "4"},
            )
            answers.append((chunks, chunk.json()))
    assert answers[0] == answers[1]
    assert len(answers[0][1]["buyers"]) == 1234 - 4 * 256  # type: ignore[index]
