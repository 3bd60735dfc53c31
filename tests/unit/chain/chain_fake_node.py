"""A tiny scriptable Supra RPC node (aiohttp) for the gateway's error-mapping tests.

By default it answers like a healthy node of chain 77: views from ``chain_samples``, a latest
block, accounts, submit, transaction status and events; resources are missing (404). A test overrides any route by putting a
handler in ``node.routes[(method, path_suffix)]``, or replaces every answer with ``node.fixed``.
Requests are recorded in ``node.requests``. Imported as a plain module (unique name).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import chain_samples as samples
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(
    body: object, *, status: int = 200, chain_id: str | None = "77", **headers: str
) -> web.Response:
    if chain_id is not None:
        headers["x-supra-chain-id"] = chain_id
    text = body if isinstance(body, str) else json.dumps(body)
    return web.Response(text=text, status=status, headers=headers, content_type="application/json")


class FakeNode:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.fixed: Handler | None = None
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.views: dict[tuple[str, str], Any] = dict(samples.VIEWS)
        self.block = {"micros": 1_700_000_000_500_000, "height": 100}
        self.sequence: object = "5"
        self.release = asyncio.Event()
        self.url = ""

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.match_info["tail"]
        self.requests.append((request.method, path, dict(request.query), body))
        if self.fixed is not None:
            return await self.fixed(request)
        for (method, suffix), handler in self.routes.items():
            if method == request.method and path.endswith(suffix):
                return await handler(request)
        return await self.default(request, path, body)

    async def default(self, request: web.Request, path: str, body: bytes) -> web.StreamResponse:
        if path.endswith("rpc/v3/block"):
            return reply(
                {
                    "header": {
                        "height": self.block["height"],
                        "timestamp": {"timestamp": self.block["micros"]},
                        "hash": "0x00",
                    }
                }
            )
        if path.endswith("rpc/v3/view"):
            request_body = json.loads(body)
            _, module, function = request_body["function"].split("::")
            return reply({"result": [self.views[(module, function)]]})
        if "/resources" in path:  # no package storage: every resource is missing
            return reply(
                {"message": f"Resource not found by Address, Struct tag({path})"}, status=404
            )
        if "rpc/v3/accounts/" in path:
            return reply({"sequence_number": self.sequence, "authentication_key": "0x00"})
        if path.endswith("estimate_gas_price"):
            return reply(
                {
                    "min_configured_gas_price": 100,
                    "mean_gas_price": 100,
                    "max_gas_price": 100,
                    "median_gas_price": 100,
                }
            )
        return reply({"message": f"no route {path}"}, status=404)

    async def stall(self, request: web.Request) -> web.StreamResponse:
        """A handler that does not answer until the test ends."""
        await asyncio.wait_for(self.release.wait(), timeout=10)
        return reply({})


@asynccontextmanager
async def running(node: FakeNode, *, prefix: str = "") -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", prefix + "/{tail:.*}", node.dispatch)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    node.url = f"http://127.0.0.1:{port}{prefix}/"
    try:
        yield node.url
    finally:
        node.release.set()
        await runner.cleanup()
