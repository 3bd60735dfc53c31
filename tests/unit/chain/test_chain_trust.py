"""No single endpoint is trusted (docs/decisions.md §14): chain time, sequence numbers, gas,
simulations, and reads bounded in size and time, on scriptable fake nodes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import chain_samples as samples
import pytest
from aiohttp import web
from chain_fake_node import FakeNode, reply, running

from autobot.chain.endpoints import EndpointState
from autobot.chain.gas import DEFAULT_GAS_UNIT_PRICE, MIN_GAS_AMOUNT, GasPolicy, GasPrice
from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.chain.timeguard import ClockPolicy, TimeGuard
from autobot.domain import calls
from autobot.domain.values import ChainTime
from autobot.errors import RpcProtocolError, RpcTimeout, RpcUnavailable

pytestmark = pytest.mark.timeout(20)

T0 = 1_700_000_000_000_000  # µs


def block(micros: int, height: int) -> dict[str, object]:
    return {"header": {"height": height, "timestamp": {"timestamp": micros}, "hash": "0x00"}}


def answer(body: object, *, status: int = 200):
    async def handler(request: web.Request) -> web.Response:
        return reply(body, status=status)

    return handler


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[FakeNode, FakeNode, FakeNode]]:
    trio = FakeNode(), FakeNode(), FakeNode()
    async with AsyncExitStack() as stack:
        for node in trio:
            await stack.enter_async_context(running(node))
        yield trio


def gateway(*urls: str, tolerance: float = 30.0, **kw: object) -> SupraGateway:
    return SupraGateway(
        rpc_urls=urls,
        chain_id=77,
        package=samples.PACKAGE,
        request_timeout=kw.pop("timeout", 1.0),  # type: ignore[arg-type]
        clock=ClockPolicy(time_scale=1.0, tolerance_seconds=tolerance),
        **kw,  # type: ignore[arg-type]
    )


def at(node: FakeNode, seconds: float, height: int) -> None:
    node.routes[("GET", "rpc/v3/block")] = answer(block(T0 + int(seconds * 1e6), height))


# --- chain time ------------------------------------------------------------------------------


async def test_a_block_time_ahead_of_the_others_is_quarantined_not_adopted(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, honest, _ = nodes
    at(liar, 0, 100)
    at(honest, 0, 100)
    async with gateway(liar.url, honest.url) as gw:
        assert (await gw.chain_time()).micros == T0
        # when: the endpoint in use says the chain is an hour ahead, at the same height
        at(liar, 3600, 101)
        at(honest, 1, 101)
        reading = await gw.chain_time()
        # then: the other endpoint's time; the liar quarantined, asked after the others
        assert reading.micros == T0 + 1_000_000
        pool = gw.rpc.pool
        assert pool.endpoints[0].state(time.monotonic()) is EndpointState.AHEAD
        assert pool.candidates()[0] is pool.endpoints[1]
        assert pool.endpoints[0] not in pool.healthy()


async def test_a_minority_reading_is_not_capped_when_a_majority_says_less(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, b, c = nodes
    for node in nodes:
        at(node, 0, 100)
    async with gateway(liar.url, b.url, c.url, tolerance=600) as gw:
        await gw.chain_time()
        # given: the others failed a few times in a row (cooling: asked only when all else fails)
        for node in (b, c):
            node.routes[("GET", "rpc/v3/block")] = answer({"message": "busy"}, status=503)
        for _ in range(3):
            for endpoint in gw.rpc.pool.endpoints[1:]:
                with contextlib.suppress(RpcUnavailable):
                    await gw.rpc.fetch(
                        "GET", "rpc/v3/block", what="b", decode=lambda r: r, only=endpoint
                    )
        # when: they are back, and the liar, first and healthy, says an hour ahead
        for node in (b, c):
            at(node, 1, 101)
        at(liar, 3600, 101)
        reading = await gw.chain_time()
        # then: the majority's time, never the liar's capped at the line (+600 s)
        assert reading.micros == T0 + 1_000_000


async def test_with_the_others_silent_a_reading_ahead_is_not_adopted_at_all(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, honest, _ = nodes
    at(liar, 0, 100)
    at(honest, 0, 100)
    async with gateway(liar.url, honest.url, tolerance=600) as gw:
        first = await gw.chain_time()
        # when: the liar says an hour ahead, the honest endpoint is down
        at(liar, 3600, 101)
        honest.routes[("GET", "rpc/v3/block")] = answer({"message": "down"}, status=503)
        # then: no time at all (the sweep waits), not the liar's capped at the line (+600 s)
        with pytest.raises(RpcUnavailable):
            await gw.chain_time()
        at(honest, 2, 102)
        assert (await gw.chain_time()).micros == first.micros + 2_000_000


def down(node: FakeNode) -> None:
    node.routes[("GET", "rpc/v3/block")] = answer({"message": "down"}, status=503)


async def test_a_lone_first_answer_does_not_anchor_the_clock(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    # given: a (re)start inside a liar's burst: it alone answers, 4000 s ahead
    liar, b, c = nodes
    at(liar, 4000, 100)
    down(b)
    down(c)
    async with gateway(liar.url, b.url, c.url) as gw:
        # then: no chain time at all (the caller retries), and no line drawn through the lie
        with pytest.raises(RpcUnavailable, match="majority of the 3 endpoints; 1 answered"):
            await gw.chain_time()
        # when: the others are back; the liar still lies
        at(b, 0, 100)
        at(c, 0, 100)
        # then: the honest time, and the liar's stays ahead of the line (quarantined)
        assert (await gw.chain_time()).micros == T0
        at(b, 1, 101)
        at(c, 1, 101)
        at(liar, 4001, 101)
        assert (await gw.chain_time()).micros == T0 + 1_000_000
        assert gw.rpc.pool.endpoints[0].state(time.monotonic()) is EndpointState.AHEAD


async def test_a_majority_of_first_answers_anchors_the_clock_below_a_lie(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    # given: two of three answer the first read: the liar 4000 s ahead (and 1000 blocks, so
    # that the honest block looks lagging next to it), one honest endpoint; the third is down
    liar, honest, third = nodes
    at(liar, 4000, 1100)
    at(honest, 0, 100)
    down(third)
    async with gateway(liar.url, honest.url, third.url) as gw:
        first = await gw.chain_time()
        # then: the line is drawn through the honest time, never through the liar's
        assert first.micros < T0 + 60_000_000
        at(liar, 4001, 1101)
        at(honest, 1, 101)
        at(third, 1, 101)
        assert (await gw.chain_time()).micros <= T0 + 1_000_000


async def test_with_two_endpoints_the_first_time_needs_both(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, honest, _ = nodes
    at(liar, 4000, 100)
    down(honest)
    async with gateway(liar.url, honest.url) as gw:
        with pytest.raises(RpcUnavailable, match="majority of the 2 endpoints; 1 answered"):
            await gw.chain_time()
        at(honest, 0, 100)
        assert (await gw.chain_time()).micros == T0


async def test_when_a_majority_reports_a_jump_the_clock_follows(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    a, b, c = nodes
    for node in nodes:
        at(node, 0, 100)
    async with gateway(a.url, b.url, c.url) as gw:
        await gw.chain_time()
        # when: two of three say the chain jumped 900 s (a halt ended, a localnet advanced)
        at(a, 900, 101)
        at(b, 900, 101)
        reading = await gw.chain_time()
        # then: the quorum time is adopted, and the line moves with it
        assert reading.micros == T0 + 900_000_000
        for node in nodes:
            at(node, 901, 102)
        assert (await gw.chain_time()).micros == T0 + 901_000_000
        assert all(
            e.state(time.monotonic()) is EndpointState.HEALTHY for e in gw.rpc.pool.endpoints
        )


async def test_one_endpoint_cannot_move_the_clock_faster_than_the_wall_clock_allows(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    alone, _, _ = nodes
    at(alone, 0, 100)
    async with gateway(alone.url, tolerance=30) as gw:
        started = time.monotonic()
        await gw.chain_time()
        # when: it says the chain is 4000 s further on
        at(alone, 4000, 101)
        reading = await gw.chain_time()
        # then: capped at the pace line (wall seconds elapsed + the tolerance)
        limit = T0 + int((time.monotonic() - started + 30) * 1e6)
        assert T0 + 30_000_000 <= reading.micros <= limit


def test_the_guard_line_cap_and_quorum() -> None:
    guard = TimeGuard(ClockPolicy(time_scale=60, tolerance_seconds=100))
    first = ChainTime.from_micros(T0, height=1)
    assert guard.plausible(first, at=0) and not guard.anchored
    guard.anchor(first, at=10.0)
    assert guard.limit(at=12.0) == T0 + (2 * 60 + 100) * 1_000_000
    ahead = ChainTime.from_micros(T0 + 10**9, height=2)
    assert not guard.plausible(ahead, at=12.0)
    assert guard.cap(ahead, at=12.0).micros == T0 + 220 * 1_000_000
    times = [ChainTime.from_micros(T0 + s * 1_000_000, height=3) for s in (5, 900, 7)]
    assert TimeGuard.quorum(times, configured=3) == times[2]  # 2 of 3 at or above T0+7 s
    assert TimeGuard.quorum(times[:1], configured=1) is None  # one voice is no quorum
    with pytest.raises(ValueError):
        TimeGuard(ClockPolicy(time_scale=0))


# --- sequence numbers ------------------------------------------------------------------------


async def test_a_sequence_number_pushed_ahead_is_read_down_again(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, honest, _ = nodes
    liar.sequence, honest.sequence = "105", "5"
    async with gateway(liar.url, honest.url) as gw:
        assert await gw.account_sequence("0x1") == 5
        liar.sequence = "5"
        honest.fixed = answer({"message": "down"}, status=503)
        assert await gw.account_sequence("0x1") == 5


# --- gas ---------------------------------------------------------------------------------------


def test_the_gas_price_is_bounded_by_a_ceiling_and_a_hard_cap() -> None:
    price = GasPrice(GasPolicy(max_unit_price=1_000, ceiling_factor=2.0))
    assert price.observe([100, 100, 10**12]) == 100  # the median of the endpoints' answers
    assert price.observe([10**12]) == 200  # one liar alone: refused, held at the ceiling
    assert price.observe([150]) == 150
    assert price.observe([160]) == 160
    assert price.observe([10**12]) == 300  # the ceiling follows accepted estimates only
    fresh = GasPrice(GasPolicy(max_unit_price=1_000))
    assert fresh.observe([10**12]) == 1_000  # nothing accepted yet: the hard cap
    assert GasPrice(GasPolicy(max_unit_price=500), fixed=300).observe([10**12]) == 300


def test_the_first_estimate_needs_a_majority_of_the_endpoints() -> None:
    # a restart while two of three endpoints are down and the third lies: nothing accepted yet,
    # so the liar's lone answer would set the line the ceiling is drawn from (was: 1 000)
    price = GasPrice(GasPolicy(max_unit_price=1_000, ceiling_factor=2.0))
    assert price.observe([10**12], endpoints=3) == DEFAULT_GAS_UNIT_PRICE
    assert price.observe([120, 10**12], endpoints=3) == 120  # a majority answered
    assert price.observe([10**12], endpoints=3) == 240  # from now on the ceiling holds


def test_the_gas_amount_comes_from_the_simulation_with_a_margin_and_a_cap() -> None:
    policy = GasPolicy(max_amount=500_000, amount_margin=1.5)
    assert policy.amount(100_000) == 150_000
    assert policy.amount(10**12) == 500_000  # a forged, huge gas_used: the cap
    assert policy.amount(3) == MIN_GAS_AMOUNT  # a forged, tiny one: the floor
    assert policy.amount(None) == 500_000  # signed without its own simulation


async def test_an_inflated_estimate_never_reaches_a_signature(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, honest, _ = nodes
    liar.routes[("GET", "estimate_gas_price")] = answer(
        dict.fromkeys(
            ("min_configured_gas_price", "mean_gas_price", "max_gas_price", "median_gas_price"),
            10**12,
        )
    )
    async with gateway(liar.url, gas=GasPolicy(max_unit_price=5_000)) as alone:
        assert await alone.refresh_gas_price() == 5_000  # alone, first read: the hard cap
    async with gateway(honest.url, liar.url, gas=GasPolicy(max_unit_price=5_000)) as gw:
        assert await gw.refresh_gas_price() == 100  # the lower median of 100 and 10^12
        assert await gw.refresh_gas_price() == 100
        tx = gw.sign(
            call=calls.advance_status(1, 2),
            sender=Signer.generate(),
            sequence_number=0,
            expires_at=2**40,
            gas_used=1_000,
        )
        assert tx.payload  # signed at the bounded price (the chain's record is checked in
        # tests/byzantine/test_money_lies.py)


# --- simulations ---------------------------------------------------------------------------


async def test_one_endpoints_simulated_abort_is_checked_with_another(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    liar, honest, _ = nodes
    aborted = {
        "hash": "0x" + "00" * 32,
        "status": "Fail",
        "output": {
            "Move": {
                "gas_used": 10,
                "events": [],
                "vm_status": f"Move abort in {samples.PACKAGE}::lottery_registry: "
                "E_STATUS_TRANSITION_NOT_ALLOWED(0x1103)",
            }
        },
    }
    ran = {
        "hash": "0x" + "00" * 32,
        "status": "Success",
        "output": {"Move": {"gas_used": 10, "events": [], "vm_status": "Executed successfully"}},
    }
    liar.routes[("POST", "simulate")] = answer(aborted)
    honest.routes[("POST", "simulate")] = answer(ran)
    async with gateway(liar.url, honest.url) as gw:
        sim = await gw.simulate(
            call=calls.advance_status(1, 2), sender=Signer.generate(), sequence_number=0
        )
    assert sim.success  # the chain will decide; an abort there is decided from its answer


# --- bounded reads -----------------------------------------------------------------------------


async def test_a_body_is_cut_off_at_the_limit_while_it_streams(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    node, _, _ = nodes
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"x-supra-chain-id": "77"})
        await response.prepare(request)
        chunk = b" " * 65_536
        sent.append(0)
        try:
            while sent[-1] < 200 * 1024 * 1024:
                await response.write(chunk)
                sent[-1] += len(chunk)
        except ConnectionError:
            pass
        return response

    node.routes[("GET", "rpc/v3/block")] = endless
    async with gateway(node.url, timeout=10.0) as gw:
        with pytest.raises(RpcProtocolError, match="over 16777216 bytes"):
            await gw.rpc.get("rpc/v3/block", what="latest block")
    await asyncio.sleep(0.1)
    # each attempt: the client hung up near the limit (plus what the sockets buffered), not
    # after the 200 MiB the node meant to send
    assert sent and max(sent) < 24 * 1024 * 1024, sent


async def test_a_body_that_drips_cannot_outlast_the_request_deadline(
    nodes: tuple[FakeNode, FakeNode, FakeNode],
) -> None:
    node, _, _ = nodes

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"x-supra-chain-id": "77"})
        await response.prepare(request)
        try:
            for _ in range(100):
                await response.write(b" ")
                await asyncio.sleep(0.2)  # each byte well within a per-read timeout
        except ConnectionError:
            pass
        return response

    node.routes[("GET", "rpc/v3/block")] = drip
    async with gateway(node.url, timeout=1.0) as gw:
        started = time.monotonic()
        with pytest.raises(RpcTimeout):
            await gw.rpc.get("rpc/v3/block", what="latest block")
        took = time.monotonic() - started
    assert took < 3.5  # one deadline per attempt (a lone endpoint gets one more)
