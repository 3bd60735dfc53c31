"""One aiohttp listener's life: bind, serve, stop; the base of ``web.py`` and ``status/listener.py``.

A subclass names itself (``NAME``, used in the errors), builds its ``web.Application`` and says what
to log when it has started and stopped; this module owns the runner, the site and the bound port
(``port=0`` binds any free one; :attr:`HttpListener.port` tells which after :meth:`start`).
"""

from __future__ import annotations

import abc
from typing import ClassVar, Self

from aiohttp import web

__all__ = ["HttpListener", "bound_port"]


def bound_port(runner: web.AppRunner, *, fallback: int) -> int:
    """The port the runner's first site is bound to (``fallback`` if it reports none)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
            return address[1]
    return fallback


class HttpListener(abc.ABC):
    """An aiohttp server on ``host:port``; an async context manager (start on enter, stop on exit)."""

    NAME: ClassVar[str]
    """How errors name the listener (``"<NAME> is not started"``)."""

    def __init__(self, *, host: str, port: int, shutdown_timeout_seconds: float) -> None:
        self._host = host
        self._requested_port = port
        self._shutdown_timeout = shutdown_timeout_seconds
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.NAME} is not started")
        return self._port

    @property
    def origin(self) -> str:
        """``http://HOST:PORT`` (an IPv6 host in brackets)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @abc.abstractmethod
    def build_app(self) -> web.Application:
        """The application (its routes) this listener serves."""

    @abc.abstractmethod
    def _on_started(self) -> None:
        """Called once the site is bound (``self._port`` is set)."""

    @abc.abstractmethod
    def _on_stopped(self) -> None:
        """Called after the runner is cleaned up."""

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{self.NAME} already started")
        # access_log=None: scrapers and proxies poll often; autobot logs through structlog.
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
        self._port = bound_port(runner, fallback=self._requested_port)
        self._on_started()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await runner.cleanup()
        self._on_stopped()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
