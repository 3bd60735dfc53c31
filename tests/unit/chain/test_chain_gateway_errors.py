"""The gateway against a scripted node: every failure becomes the right autobot error."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import AsyncIterator

import chain_samples as samples
import pytest
from aiohttp import web
from chain_fake_node import FakeNode, reply, running

from autobot.chain.rpc import parse_retry_after
from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.domain import calls
from autobot.errors import (
    ChainMismatch,
    EventsPruned,
    MoveAbort,
    NotYet,
    PermanentError,
    RpcProtocolError,
    RpcRateLimited,
    RpcRejected,
    RpcTimeout,
    RpcUnavailable,
    SequenceRace,
    TransientError,
)

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def node() -> AsyncIterator[FakeNode]:
    fake = FakeNode()
    async with running(fake):
        yield fake


def _gateway(*urls: str, timeout: float = 0.5) -> SupraGateway:
    return SupraGateway(
        rpc_urls=urls,
        chain_id=77,
        package=samples.PACKAGE,
        request_timeout=timeout,
        reads="views",  # the fake node answers the package's readers as views
    )


@pytest.fixture
async def gateway(node: FakeNode) -> AsyncIterator[SupraGateway]:
    async with _gateway(node.url) as gw:
        yield gw


def _always(response: web.Response):
    """A handler answering ``response`` to every request (a fresh copy each time: the gateway
    retries, and an aiohttp response can be sent only once)."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=response.body, status=response.status, headers=dict(response.headers)
        )

    return handler


async def test_http_500_is_unavailable(node: FakeNode, gateway: SupraGateway) -> None:
    node.fixed = _always(reply({"message": "boom"}, status=500))
    with pytest.raises(RpcUnavailable) as caught:
        await gateway.chain_time()
    assert caught.value.status == 500 and isinstance(caught.value, TransientError)


async def test_http_429_carries_retry_after(node: FakeNode, gateway: SupraGateway) -> None:
    node.fixed = _always(reply({"message": "slow down"}, status=429, **{"Retry-After": "7"}))
    with pytest.raises(RpcRateLimited) as caught:
        await gateway.status_overview(1)
    assert caught.value.retry_after == 7.0


def test_retry_after_accepts_http_dates_and_ignores_garbage() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    for garbage in (None, "", "soon", "-5", "1e9", "9" * 30):
        assert parse_retry_after(garbage, now=now) is None


@pytest.mark.parametrize(
    "body",
    ["<html>502 bad gateway</html>", "", "{", '{"result": [', "[" * 100_000, "1" * 5000, "NaN"],
)
async def test_garbage_bodies_are_protocol_errors(
    node: FakeNode, gateway: SupraGateway, body: str
) -> None:
    node.fixed = _always(reply(body))
    with pytest.raises(RpcProtocolError):
        await gateway.status_overview(1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total", "-1"),
        ("total", str(2**64)),
        ("total", 10**30),
        ("refund_sla_breach", 1),
        ("draft", None),
    ],
)
async def test_hostile_numbers_in_views_are_protocol_errors(
    node: FakeNode, gateway: SupraGateway, field: str, value: object
) -> None:
    node.views[("views", "status_overview")] = {**samples.OVERVIEW, field: value}
    with pytest.raises(RpcProtocolError, match=f"status_overview.{field}"):
        await gateway.status_overview(1)


async def test_a_response_from_another_chain_is_rejected(
    node: FakeNode, gateway: SupraGateway
) -> None:
    node.fixed = _always(reply({"header": {}}, chain_id="8"))
    with pytest.raises(ChainMismatch) as caught:
        await gateway.chain_time()
    assert (caught.value.expected, caught.value.got) == (77, "8")
    assert isinstance(caught.value, PermanentError)


async def test_a_200_without_chain_id_is_rejected(node: FakeNode, gateway: SupraGateway) -> None:
    node.fixed = _always(reply({"result": []}, chain_id=None))
    with pytest.raises(ChainMismatch):
        await gateway.status_overview(1)


async def test_refused_connection_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with _gateway(f"http://127.0.0.1:{port}") as gw:
        with pytest.raises(RpcUnavailable):
            await gw.chain_time()


async def test_a_node_that_does_not_answer_times_out(node: FakeNode) -> None:
    node.fixed = node.stall
    async with _gateway(node.url, timeout=0.2) as gw:
        assert gw.rpc.pool.current.client.api_client._client.timeout.read == 0.2
        started = time.monotonic()
        with pytest.raises(RpcTimeout):
            await gw.chain_time()
        assert time.monotonic() - started < 2


async def test_transient_failure_fails_over_to_the_next_endpoint(node: FakeNode) -> None:
    bad = FakeNode()
    bad.fixed = _always(reply({"message": "down"}, status=503))
    async with running(bad), _gateway(bad.url, node.url) as gw:
        first = await gw.chain_time()
        assert first.height == 100 and gw.rpc.pool.current.url == node.url
        await gw.chain_time()
        assert len(bad.requests) == 1  # sticky: the healthy endpoint stays current


async def test_an_endpoint_of_another_chain_is_disabled(node: FakeNode) -> None:
    wrong = FakeNode()
    wrong.fixed = _always(reply({}, chain_id="6"))
    async with running(wrong), _gateway(wrong.url, node.url) as gw:
        assert (await gw.chain_time()).height == 100
        assert gw.rpc.pool.endpoints[0].disabled_reason is not None
        await gw.chain_time()
        assert len(wrong.requests) == 1


async def test_a_base_url_with_a_path_prefix_keeps_it() -> None:
    fake = FakeNode()
    async with running(fake, prefix="/supra") as url, _gateway(url.rstrip("/")) as gw:
        await gw.chain_time()
    assert fake.requests[0][1] == "rpc/v3/block"


async def test_a_view_that_aborts_raises_move_abort(node: FakeNode, gateway: SupraGateway) -> None:
    message = f"Move abort in {samples.PACKAGE}::price_feed: E_PRICE_FEED_NOT_FOUND(0x1902)"
    node.fixed = _always(reply({"message": message}, status=400))
    with pytest.raises(MoveAbort) as caught:
        await gateway.price_feed(9)
    assert (caught.value.code, caught.value.name, caught.value.module) == (
        0x1902,
        "E_PRICE_FEED_NOT_FOUND",
        "price_feed",
    )


async def test_an_unknown_abort_code_is_still_named(node: FakeNode, gateway: SupraGateway) -> None:
    message = f"Move abort in {samples.PACKAGE}::views: 0x1abc"
    node.fixed = _always(reply({"message": message}, status=400))
    with pytest.raises(MoveAbort) as caught:
        await gateway.lottery_status(1)
    assert caught.value.name == "unknown(0x1abc)"


async def test_4xx_rejections_and_sequence_races(node: FakeNode, gateway: SupraGateway) -> None:
    signer = Signer.generate()
    tx = gateway.sign(
        call=calls.advance_status(1, 2), sender=signer, sequence_number=0, expires_at=2**40
    )
    node.fixed = _always(
        reply({"message": "SEQUENCE_NUMBER_TOO_OLD: account is at 5, got 0"}, status=400)
    )
    with pytest.raises(SequenceRace):
        await gateway.submit(tx)
    node.fixed = _always(reply({"message": "TRANSACTION_EXPIRED: too late"}, status=400))
    with pytest.raises(RpcRejected) as caught:
        await gateway.submit(tx)
    assert caught.value.status == 400 and "TRANSACTION_EXPIRED" in str(caught.value)
    node.fixed = _always(reply({"message": "x" * 100_000}, status=400))
    with pytest.raises(RpcRejected) as caught:
        await gateway.submit(tx)
    assert len(str(caught.value)) < 400
    # A 4xx that is not the node's ErrResp (cut short, a proxy's page) cannot be read: garbled.
    for garbled in ("x" * 100_000, '{"message": "Move abort in 0x1', "<html>400</html>"):
        node.fixed = _always(reply(garbled, status=400))
        with pytest.raises(RpcProtocolError):
            await gateway.submit(tx)


async def test_submit_posts_bcs_and_returns_the_node_hash(
    node: FakeNode, gateway: SupraGateway
) -> None:
    signer = Signer.generate()
    tx = gateway.sign(
        call=calls.advance_status(1, 2), sender=signer, sequence_number=0, expires_at=2**40
    )
    node.routes[("POST", "transactions/submit")] = _always(reply(json.dumps(tx.tx_hash)))
    assert await gateway.submit(tx) == tx.tx_hash
    method, path, _, body = node.requests[-1]
    assert (method, path, body) == ("POST", "rpc/v3/transactions/submit", tx.payload)
    node.routes[("POST", "transactions/submit")] = _always(reply({"hash": tx.tx_hash}))
    with pytest.raises(RpcProtocolError):
        await gateway.submit(tx)


def _tx(
    status: str, vm_status: str = "Executed successfully", height: int | None = 7
) -> dict[str, object]:
    return {
        "txn_type": "user",
        "hash": "0x" + "11" * 32,
        "status": status,
        "header": {},
        "payload": {},
        "authenticator": {},
        "block_header": None if height is None else {"height": height},
        "output": None
        if status == "Pending"
        else {
            "Move": {
                "gas_used": 12,
                "events": [
                    {"guid": {}, "sequence_number": "0", "type": "0x1::m::E", "data": {"a": "1"}}
                ],
                "vm_status": vm_status,
            }
        },
    }


async def test_transaction_status_maps_every_node_state(
    node: FakeNode, gateway: SupraGateway
) -> None:
    tx_hash = "0x" + "11" * 32
    answers = iter(
        [
            reply({"message": "not found"}, status=404),
            reply(_tx("Pending", height=None)),
            reply(_tx("PendingAfterExecution")),
            reply(_tx("Success")),
        ]
    )

    async def next_answer(request: web.Request) -> web.Response:
        return next(answers)

    node.routes[("GET", tx_hash)] = next_answer
    states = [(await gateway.status(tx_hash)).state.value for _ in range(4)]
    assert states == ["not_found", "pending", "pending", "success"]
    abort = f"Move abort in {samples.PACKAGE}::draw: E_VRF_RETRY_WINDOW(0x1709)"
    node.routes[("GET", tx_hash)] = _always(reply(_tx("Fail", abort)))
    failed = await gateway.status(tx_hash)
    assert failed.state.value == "failed" and failed.abort is not None
    assert (failed.abort.name, failed.abort.module, failed.block_height) == (
        "E_VRF_RETRY_WINDOW",
        "draw",
        7,
    )
    assert failed.events[0].data == {"a": "1"}
    node.routes[("GET", tx_hash)] = _always(reply({**_tx("Success"), "status": "Exploded"}))
    with pytest.raises(RpcProtocolError, match="unknown transaction status"):
        await gateway.status(tx_hash)
    with pytest.raises(ValueError):
        await gateway.status("0x../../admin")


async def test_wait_for_rides_over_404_pending_and_transient_errors(
    node: FakeNode, gateway: SupraGateway
) -> None:
    tx_hash = "0x" + "22" * 32
    answers = iter(
        [
            reply({"message": "not found"}, status=404),
            reply({"message": "busy"}, status=503),
            reply(_tx("Pending", height=None)),
            reply(_tx("PendingAfterExecution")),
            reply(_tx("Success")),
        ]
    )

    async def next_answer(request: web.Request) -> web.Response:
        return next(answers)

    node.routes[("GET", tx_hash)] = next_answer
    outcome = await gateway.wait_for(tx_hash, timeout=5, poll_interval=0.01)
    assert outcome.state.value == "success" and outcome.gas_used == 12


async def test_wait_for_times_out_while_pending(node: FakeNode, gateway: SupraGateway) -> None:
    node.routes[("GET", "0x" + "33" * 32)] = _always(reply(_tx("Pending", height=None)))
    with pytest.raises(RpcTimeout, match="pending"):
        await gateway.wait_for("0x" + "33" * 32, timeout=0.2, poll_interval=0.02)


async def test_simulation_abort_maps_to_not_yet_or_move_abort(
    node: FakeNode, gateway: SupraGateway
) -> None:
    signer = Signer.generate()
    for code, name, expected in (
        (0x1709, "E_VRF_RETRY_WINDOW", NotYet),
        (0x1210, "E_DRAW_STATUS_INVALID", MoveAbort),
    ):
        vm = f"Move abort in {samples.PACKAGE}::draw: {name}({code:#x})"
        node.routes[("POST", "transactions/simulate")] = _always(reply(_tx("Fail", vm)))
        sim = await gateway.simulate(
            call=calls.request_draw_admin(1, 2, 3, 77, 1), sender=signer, sequence_number=0
        )
        assert not sim.success and sim.abort is not None and sim.abort.code == code
        with pytest.raises(expected):
            sim.raise_for_abort()
    node.routes[("POST", "transactions/simulate")] = _always(reply(_tx("Success")))
    ok = await gateway.simulate(call=calls.advance_status(1, 2), sender=signer, sequence_number=0)
    ok.raise_for_abort()
    assert ok.success and ok.gas_used == 12


async def test_account_sequence_reads_numbers_and_treats_404_as_zero(
    node: FakeNode, gateway: SupraGateway
) -> None:
    assert await gateway.account_sequence("0x1") == 5
    node.sequence = 6
    assert await gateway.account_sequence("0x1") == 6
    node.sequence = -1
    with pytest.raises(RpcProtocolError):
        await gateway.account_sequence("0x1")
    node.routes[("GET", "0" * 63 + "2")] = _always(reply({"message": "no account"}, status=404))
    assert await gateway.account_sequence("0x2") == 0


async def test_chain_time_never_goes_backwards(node: FakeNode, gateway: SupraGateway) -> None:
    first = await gateway.chain_time()
    node.block = {"micros": 1_600_000_000_000_000, "height": 50}
    assert await gateway.chain_time() == first
    node.block = {"micros": 1_700_000_010_000_000, "height": 101}
    assert (await gateway.chain_time()).seconds == 1_700_000_010


async def test_events_paginate_with_the_cursor_header(
    node: FakeNode, gateway: SupraGateway
) -> None:
    item = {
        "event": {
            "guid": {},
            "sequence_number": "3",
            "type": f"{samples.PACKAGE}::automation::AutomationTickEvent",
            "data": {"success": True},
        },
        "block_height": 9,
        "transaction_hash": "0x" + "44" * 32,
    }
    node.routes[("GET", "AutomationTickEvent")] = _always(
        reply({"data": [item]}, **{"x-supra-cursor": "c1"})
    )
    page = await gateway.events("automation::AutomationTickEvent", start_height=5, limit=10)
    assert (
        page.cursor == "c1"
        and page.events[0].block_height == 9
        and page.events[0].sequence_number == 3
    )
    _, path, query, _ = node.requests[-1]
    assert path == f"rpc/v3/events/{samples.PACKAGE}::automation::AutomationTickEvent"
    assert query == {"start_height": "5", "limit": "10"}
    node.routes[("GET", "AutomationTickEvent")] = _always(reply({"data": []}))
    last = await gateway.events("automation::AutomationTickEvent", cursor="c1")
    assert last.cursor is None and last.events == ()
    assert node.requests[-1][2]["start"] == "c1"
    node.routes[("GET", "AutomationTickEvent")] = _always(
        reply({"message": "pruned"}, status=410, **{"x-supra-oldest-block": "1000"})
    )
    with pytest.raises(EventsPruned) as caught:
        await gateway.events("automation::AutomationTickEvent", start_height=1)
    assert caught.value.oldest_block == 1000
    with pytest.raises(ValueError):
        await gateway.events("../x")


async def test_snapshot_reads_every_view_at_one_chain_time(
    node: FakeNode, gateway: SupraGateway
) -> None:
    missing = f"Move abort in {samples.PACKAGE}::price_feed: E_PRICE_FEED_NOT_FOUND(0x1902)"

    async def feed(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body["function"].endswith("get_price_view") and body["arguments"] == ["2"]:
            return reply({"message": missing}, status=400)
        _, module, function = body["function"].split("::")
        return reply({"result": [node.views[(module, function)]]})

    node.routes[("POST", "rpc/v3/view")] = feed
    snap = await gateway.snapshot(lottery_ids=[3, 1, 3], asset_ids=[1, 2])
    assert snap.now == 1_700_000_000 and snap.height == 100
    assert sorted(snap.lotteries) == [1, 3] and list(snap.feeds) == [1]
    lottery = snap.lotteries[1]
    assert lottery.tickets_sold == 10 and lottery.proceeds == 1000
    assert lottery.cancellation is not None and lottery.config.winners_total == 4
    assert snap.bots[0].operator == samples.OPERATOR and snap.cap is not None
    # the overview is the §6 formulas over the lotteries read; the chain's is not asked for
    assert snap.overview.total == 2
    functions = [json.loads(b)["function"] for m, p, _, b in node.requests if p.endswith("view")]
    assert not any(f.endswith("status_overview") for f in functions)


async def test_one_failing_view_fails_the_snapshot_with_its_own_error(
    node: FakeNode, gateway: SupraGateway
) -> None:
    node.views[("draw", "vrf_state_view")] = {"status": 9}
    with pytest.raises(RpcProtocolError, match="vrf_state_view"):
        await gateway.snapshot(lottery_ids=[1])


async def test_gas_price_comes_from_the_node_and_a_failed_refresh_keeps_the_last(
    node: FakeNode, gateway: SupraGateway
) -> None:
    from supra_sdk.bcs import Deserializer
    from supra_sdk.transactions import SupraTransaction

    def gas_of(tx_payload: bytes) -> int:
        return int(
            SupraTransaction.deserialize(Deserializer(tx_payload)).value.transaction.gas_unit_price
        )

    signer = Signer.generate()
    node.routes[("GET", "estimate_gas_price")] = _always(
        reply(
            {
                "min_configured_gas_price": 150,
                "mean_gas_price": 1,
                "max_gas_price": 1,
                "median_gas_price": 1,
            }
        )
    )
    await gateway.snapshot(lottery_ids=[])
    tx = gateway.sign(
        call=calls.advance_status(1, 2), sender=signer, sequence_number=0, expires_at=2**40
    )
    assert gas_of(tx.payload) == 150
    node.routes[("GET", "estimate_gas_price")] = _always(reply({"message": "down"}, status=500))
    gateway._gas_read_at = -1e9  # force a refresh on the next snapshot
    await gateway.snapshot(lottery_ids=[])
    tx = gateway.sign(
        call=calls.advance_status(1, 2), sender=signer, sequence_number=1, expires_at=2**40
    )
    assert gas_of(tx.payload) == 150
