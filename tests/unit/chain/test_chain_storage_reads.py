"""Storage reads over HTTP: the error table of ``chain/rpc.py`` holds for resources and items.

Two scriptable nodes serve the demo's storage as the localnet renders it (resources in BCS,
table items in JSON); one of them is made to lie. A value that is not the package's layout is a
``StorageLayoutError`` that counts against the endpoint (``protocol_error``) and is read again
from the other; a miss is a 404 ``ErrResp`` and means "nothing yet", while a 404 that is not an
``ErrResp`` is a protocol error like any garbled answer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from chain_fake_node import FakeNode, reply, running

from autobot.chain.supra import SupraGateway
from autobot.domain.draws import VrfState
from autobot.errors import RpcProtocolError, StorageLayoutError
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.model import PackageModel
from autobot.localnet.scenario import seed
from autobot.localnet.storage import PackageStorage
from autobot.localnet.storage.typetags import key_from_json, parse_type

pytestmark = pytest.mark.timeout(20)

ACCOUNTS = dev_accounts()
PACKAGE = ACCOUNTS.admin.address


@dataclass
class Recorder:
    calls: list[tuple[str, str]] = field(default_factory=list)

    def rpc_request(self, *, endpoint: str, outcome: str, seconds: float) -> None:
        self.calls.append((endpoint, outcome))


def demo_storage() -> PackageStorage:
    model = PackageModel(package_address=PACKAGE)
    operators = [o.address for o in ACCOUNTS.operators]
    info = seed(model, scenario="demo", admin=PACKAGE, operators=operators, now_ts=1_700_000_000)
    events = Counter(e.type_tag for e in info.genesis_events)
    return PackageStorage(model.state, package=PACKAGE, event_counts=events)


def serve_storage(node: FakeNode, storage: PackageStorage) -> None:
    """Resources (BCS when asked) and table items (JSON), as the localnet serves them."""

    async def resource(request: web.Request) -> web.Response:
        tag = parse_type(request.path.rsplit("/", 1)[1])
        blob = storage.resource_bcs(PACKAGE, tag)
        if blob is None:
            return reply({"message": f"Resource not found by Address({PACKAGE})"}, status=404)
        return web.Response(
            body=blob, content_type="application/x-bcs", headers={"x-supra-chain-id": "77"}
        )

    async def item(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        table = storage.table(request.path.split("/")[-2])
        assert table is not None
        value = storage.table_item(table, key_from_json(parse_type("u64"), body["key"]))
        if value is None:
            return reply({"message": "Table Item not found"}, status=404)
        return reply(value)

    node.routes[("POST", "/item")] = item
    original = node.default

    async def default(request: web.Request, path: str, body: bytes) -> web.StreamResponse:
        if "/resources/" in path:
            return await resource(request)
        return await original(request, path, body)

    node.default = default  # type: ignore[method-assign]


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[FakeNode, FakeNode]]:
    storage = demo_storage()
    first, second = FakeNode(), FakeNode()
    serve_storage(first, storage)
    serve_storage(second, storage)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(first))
        await stack.enter_async_context(running(second))
        yield first, second


def gateway(*urls: str, observer: object = None) -> SupraGateway:
    return SupraGateway(
        rpc_urls=urls,
        chain_id=77,
        package=PACKAGE,
        request_timeout=0.5,
        observer=observer,  # type: ignore[arg-type]
    )


async def test_storage_reads_answer_like_the_views_would(
    nodes: tuple[FakeNode, FakeNode],
) -> None:
    first, _ = nodes
    async with gateway(first.url) as gw:
        assert gw.reads == "storage"
        assert await gw.lottery_ids() == (1, 2, 3, 4, 5)
        view = (await gw.lottery_views([4]))[4]
        assert view.cancellation is not None and view.tickets_sold > 0
        # a fresh lottery has no draw state: the view's default, not an error
        assert await gw.vrf_state(1) == VrfState()
        paths = [p for _, p, _, _ in first.requests]
    assert not any(p.endswith("rpc/v3/view") for p in paths)  # no view was called


async def test_a_record_in_another_layout_fails_over_and_counts_against_its_endpoint(
    nodes: tuple[FakeNode, FakeNode],
) -> None:
    first, second = nodes
    recorder = Recorder()
    good = first.routes[("POST", "/item")]

    async def lying(request: web.Request) -> web.Response:
        answer = await good(request)
        value = json.loads(answer.text or "{}")
        if "config" in value:  # a Lottery: drop a field
            del value["config"]["sales_window"]["sales_end"]
        return reply(value)

    first.routes[("POST", "/item")] = lying
    async with gateway(first.url, second.url, observer=recorder) as gw:
        await gw.lottery_ids()  # the registry resource (handles), from the first endpoint
        config = await gw.lottery_config(1)
        labels = [e.label for e in gw.rpc.pool.endpoints]
    assert config.sales_end > config.sales_start
    assert (labels[0], "protocol_error") in recorder.calls
    assert recorder.calls[-1] == (labels[1], "ok")


async def test_a_layout_error_names_the_struct_and_field_when_every_endpoint_lies(
    nodes: tuple[FakeNode, FakeNode],
) -> None:
    first, _ = nodes
    storage = demo_storage()

    async def extra_field(request: web.Request) -> web.Response:
        raw = storage.resource(PACKAGE, parse_type(f"{PACKAGE}::roles::RoleStore"))
        assert isinstance(raw, dict)
        return reply({"type": "x", "data": {**raw, "surprise": True}})

    original = first.default

    async def default(request: web.Request, path: str, body: bytes) -> web.StreamResponse:
        if path.endswith("roles::RoleStore"):
            return await extra_field(request)
        return await original(request, path, body)

    first.default = default  # type: ignore[method-assign]
    async with gateway(first.url) as gw:
        with pytest.raises(StorageLayoutError) as caught:
            await gw.payout_batch_cap()
    assert (caught.value.struct, caught.value.field) == ("roles::RoleStore", "surprise")


async def test_a_404_that_is_not_an_errresp_is_no_miss(nodes: tuple[FakeNode, FakeNode]) -> None:
    first, _ = nodes

    async def proxy_page(request: web.Request) -> web.Response:
        return web.Response(text="<html>not here</html>", status=404)

    first.routes[("POST", "/item")] = proxy_page
    async with gateway(first.url) as gw:
        await gw.lottery_ids()
        with pytest.raises(RpcProtocolError, match="without an ErrResp"):
            await gw.vrf_state(1)
