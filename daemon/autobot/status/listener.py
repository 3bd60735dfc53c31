"""The status listener: a read-only HTTP server for the public status page (``[status] listen``).

Separate from ``web.py``'s ``/metrics`` listener (another port, nothing shared but the event
loop), meant to sit behind the operator's reverse proxy. Routes (``GET`` and ``HEAD``):

=========================  ==================================================================
``/``                      the page (HTML rendered at the last sweep)
``/status.json``           the status document (``status.schema.json`` describes it)
``/status.schema.json``    its JSON Schema (draft 2020-12)
``/assets/{name}``         the stylesheet, the script and the icon (``status.css``,
                           ``status.js``, ``favicon.svg``)
=========================  ==================================================================

Every answer is bytes the board already holds. The page and the document carry
``Cache-Control: public, max-age=<[status] max_age_seconds>`` and a strong ``ETag``; a matching
``If-None-Match`` gets ``304 Not Modified`` with no body. Before the first sweep built a
document, both answer ``503`` with ``Retry-After``. Headers that help nobody but an attacker are
not sent (no ``Server`` version); the page's Content-Security-Policy allows only this origin's
own script, style and ``status.json`` (no inline code, no third party).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Self

import structlog
from aiohttp import web

from autobot.status.board import ASSET_MAX_AGE_SECONDS, Representation, StatusBoard

__all__ = ["CONTENT_SECURITY_POLICY", "StatusListener"]

log = structlog.get_logger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_COMMON: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Server": "autobot",
}
_NOT_READY = b'{"status":"starting","detail":"the first sweep has not finished yet"}'


def _matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` (weak comparison, RFC 9110 13.1.2): ``*`` or any listed tag."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        tag = candidate.strip().removeprefix("W/")
        if tag == etag:
            return True
    return False


class StatusListener:
    """aiohttp server over a ``StatusBoard``; an async context manager (``port=0``: any free)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        board: StatusBoard,
        max_age_seconds: int,
        shutdown_timeout_seconds: float = 2.0,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._board = board
        self._cache = f"public, max-age={max_age_seconds}"
        self._asset_cache = f"public, max-age={ASSET_MAX_AGE_SECONDS}"
        self._shutdown_timeout = shutdown_timeout_seconds
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("StatusListener is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` (the page)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/status.json", self._document)
        app.router.add_get("/status.schema.json", self._schema)
        app.router.add_get("/assets/{name}", self._asset)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("StatusListener already started")
        runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = next(
            (
                int(a[1])
                for a in runner.addresses
                if isinstance(a, tuple) and len(a) >= 2 and isinstance(a[1], int)
            ),
            self._requested_port,
        )
        log.info("status_listener_started", url=self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("status_listener_stopped", url=f"{self._host}:{self._port}")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ handlers

    async def _page(self, request: web.Request) -> web.StreamResponse:
        current = self._board.current
        if current is None:
            return _not_ready()
        return self._answer(
            request, current.page, self._cache, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
        )

    async def _document(self, request: web.Request) -> web.StreamResponse:
        current = self._board.current
        if current is None:
            return _not_ready()
        return self._answer(request, current.document, self._cache)

    async def _schema(self, request: web.Request) -> web.StreamResponse:
        return self._answer(request, self._board.assets["status.schema.json"], self._cache)

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ("status.css", "status.js", "favicon.svg"):
            raise web.HTTPNotFound(headers=dict(_COMMON))
        return self._answer(request, self._board.assets[name], self._asset_cache)

    @staticmethod
    def _answer(
        request: web.Request,
        item: Representation,
        cache: str,
        extra: Mapping[str, str] | None = None,
    ) -> web.StreamResponse:
        headers = {**_COMMON, "Cache-Control": cache, "ETag": item.etag, **(extra or {})}
        if _matches(request.headers.get("If-None-Match"), item.etag):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = item.content_type
        return web.Response(body=item.body, headers=headers)


def _not_ready() -> web.Response:
    return web.Response(
        status=503,
        body=_NOT_READY,
        headers={
            **_COMMON,
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            "Retry-After": "5",
        },
    )
