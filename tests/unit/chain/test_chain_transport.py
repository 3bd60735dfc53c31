"""``chain/transport.py``: the pool under the SDK's client, against a real local HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from autobot.chain.rpc import RpcClient
from autobot.chain.transport import KEEP_ALIVE, _Stream, pooled_transport


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[int]]]:
    """A server that closes a kept-alive connection silently after 0.1 s idle (as nodes and
    proxies do), recording the client port of each request."""
    seen: list[int] = []

    def note(request: web.Request) -> None:
        assert request.transport is not None
        seen.append(request.transport.get_extra_info("peername")[1])

    async def slow(request: web.Request) -> web.Response:
        note(request)
        await asyncio.sleep(0.05)  # long enough for a burst to need a connection each
        return web.json_response({"ok": True})

    async def fast(request: web.Request) -> web.Response:
        note(request)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/fast", fast)
    runner = web.AppRunner(app, keepalive_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _connections(client: httpx.AsyncClient) -> list[object]:
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    return list(transport._pool.connections)


async def test_a_burst_is_not_queued_and_leaves_at_most_keep_alive_idle_connections(
    server: tuple[str, list[int]],
) -> None:
    url, seen = server
    async with httpx.AsyncClient(transport=pooled_transport(keep_alive=4)) as client:
        answers = await asyncio.gather(*(client.get(f"{url}/slow") for _ in range(12)))
        assert [a.status_code for a in answers] == [200] * 12
        # every request had its own connection at once (none waited for another's answer)...
        assert len(set(seen)) == 12
        # ...and once idle, the pool keeps no more than four of them
        await client.get(f"{url}/fast")
        assert 1 <= len(_connections(client)) <= 4


async def test_kept_alive_connections_are_reused_until_the_server_closes_them(
    server: tuple[str, list[int]],
) -> None:
    url, seen = server
    async with httpx.AsyncClient(transport=pooled_transport()) as client:
        for _ in range(3):
            assert (await client.get(f"{url}/fast")).status_code == 200
        assert len(set(seen)) == 1  # one connection, kept alive
        (connection,) = _connections(client)
        stream = connection._connection._network_stream  # type: ignore[attr-defined]
        assert isinstance(stream, _Stream)
        assert stream.get_extra_info("socket") is not None
        assert stream.get_extra_info("is_readable") is False  # open, nothing unasked for
        await asyncio.sleep(0.4)  # the server closes it silently (its keep-alive timeout)
        assert stream.get_extra_info("is_readable") is True  # the close is there to read
        # the pool notices before sending: a new connection, not "server disconnected"
        assert (await client.get(f"{url}/fast")).status_code == 200
        assert len(set(seen)) == 2


def test_endpoints_share_one_ssl_context() -> None:
    # loading the CA bundle costs ~45 ms: once per daemon, not twice per endpoint
    first, second = pooled_transport(), pooled_transport()
    assert first._pool._ssl_context is second._pool._ssl_context  # type: ignore[attr-defined]
    assert first._pool._ssl_context is not None  # type: ignore[attr-defined]


def test_keep_alive_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keep_alive must be at least 1, not 0"):
        pooled_transport(keep_alive=0)


async def test_the_rpc_client_sends_through_the_pooled_transport() -> None:
    rpc = RpcClient(urls=["http://127.0.0.1:9/"], chain_id=1, timeout=1.0)
    try:
        (endpoint,) = rpc.pool.endpoints
        transport = endpoint.client.api_client._client._transport
        assert isinstance(transport, httpx.AsyncHTTPTransport)
        assert transport._pool._max_keepalive_connections == KEEP_ALIVE
    finally:
        await rpc.aclose()


async def test_a_closed_rpc_client_sends_nothing(server: tuple[str, list[int]]) -> None:
    url, seen = server
    rpc = RpcClient(urls=[url], chain_id=1, timeout=1.0)
    await rpc.aclose()
    with pytest.raises(RuntimeError, match="client has been closed"):
        await rpc.get("fast", what="a read after close")
    assert seen == []  # no connection was opened again
