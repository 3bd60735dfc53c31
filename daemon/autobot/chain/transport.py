"""The connection pool under the SDK's HTTP client: what one request costs the daemon's CPU.

The SDK builds its ``httpx.AsyncClient`` with ``httpx.Limits()`` — no bound on connections or on
the idle ones kept — over httpcore's anyio network backend. Two costs follow, both measured in
the sweep benchmark's first sweep (12,154 requests at 10,000 lotteries) and idle tick:

* Before every request is assigned, and again when a response is closed, httpcore asks each
  idle connection whether its peer closed it (``has_expired`` → ``get_extra_info("is_readable")``).
  anyio answers that by building the stream's whole attribute dictionary (a dozen lambdas,
  ``getpeername`` included) to look up its raw socket, each time: about a third of the first
  sweep's CPU went there. ``_Stream`` looks the socket up once, when it connects, and asks the
  same ``poll`` question of it.
* httpcore's idle-connection check counts every connection of the pool for every idle one, so a
  pool grown by a burst (the first sweep reads 16 at a time, a busy reaction more) makes every
  later request pay for it. ``KEEP_ALIVE`` bounds the idle connections kept; connections in use
  stay unbounded, so a burst never waits in the pool (a wait there would time out as if the
  endpoint were slow, and count against it).

Only the local side of the connection changes: requests, responses, timeouts and errors are
httpx's and httpcore's own, mapped in ``rpc.py`` as before.
"""

from __future__ import annotations

import functools
import socket
import ssl
from typing import Any

import anyio.abc
import httpcore
import httpx
from httpcore._backends.anyio import AnyIOStream
from httpcore._utils import is_socket_readable

__all__ = ["KEEPALIVE_EXPIRY_SECONDS", "KEEP_ALIVE", "pooled_transport"]

KEEP_ALIVE = 24  # idle connections kept per endpoint: the gateway's 16 reads at a time, and more
KEEPALIVE_EXPIRY_SECONDS = 5.0  # httpx's default: an idle connection is closed after this


class _Stream(AnyIOStream):
    """anyio's stream with its raw socket looked up once."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        super().__init__(stream)
        self._socket: socket.socket | None = stream.extra(
            anyio.abc.SocketAttribute.raw_socket, None
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # the peer closed it, or sent what nobody asked for
            return is_socket_readable(self._socket)
        if info == "socket":
            return self._socket
        return super().get_extra_info(info)


class _Backend(httpcore.AnyIOBackend):
    """httpcore's anyio backend whose TCP streams are ``_Stream``s."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        opened = await super().connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        assert isinstance(opened, AnyIOStream)
        return _Stream(opened._stream)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default context (the CA bundle loaded: ~45 ms), made once for every endpoint."""
    return httpx.create_ssl_context()


def pooled_transport(*, keep_alive: int = KEEP_ALIVE) -> httpx.AsyncHTTPTransport:
    """An httpx transport over ``_Backend`` keeping at most ``keep_alive`` idle connections
    (connections in use are not bounded). TLS and proxies are not configured: the node's URL
    decides the scheme, as with the SDK's own transport."""
    if keep_alive < 1:
        raise ValueError(f"keep_alive must be at least 1, not {keep_alive}")
    transport = httpx.AsyncHTTPTransport(verify=_ssl_context())
    # httpx builds its pool without a network backend argument; the pool is built here the way
    # httpx builds it (httpx's default SSL context, HTTP/1.1), with the backend above.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=None,
        max_keepalive_connections=keep_alive,
        keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
        http1=True,
        http2=False,
        network_backend=_Backend(),
    )
    return transport
