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

import structlog
from aiohttp import web

from autobot.http_listener import HttpListener
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


class StatusListener(HttpListener):
    """aiohttp server over a ``StatusBoard``; an async context manager (``port=0``: any free)."""

    NAME = "StatusListener"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        board: StatusBoard,
        max_age_seconds: int,
        shutdown_timeout_seconds: float = 2.0,
    ) -> None:
        super().__init__(host=host, port=port, shutdown_timeout_seconds=shutdown_timeout_seconds)
        self._board = board
        self._cache = f"public, max-age={max_age_seconds}"
        self._asset_cache = f"public, max-age={ASSET_MAX_AGE_SECONDS}"

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` (the page)."""
        return f"{self.origin}/"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/status.json", self._document)
        app.router.add_get("/status.schema.json", self._schema)
        app.router.add_get("/assets/{name}", self._asset)
        return app

    def _on_started(self) -> None:
        log.info("status_listener_started", url=self.url)

    def _on_stopped(self) -> None:
        log.info("status_listener_stopped", url=f"{self._host}:{self._port}")

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
