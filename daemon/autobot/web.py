"""The daemon's HTTP face: ``/metrics`` for Prometheus, ``/healthz`` and ``/readyz`` for people and probes.

* ``/metrics`` renders the injected ``CollectorRegistry`` in the format the scraper asked for
  (``prometheus_client.exposition.choose_encoder``: OpenMetrics for Prometheus, text 0.0.4 otherwise).
* ``/healthz`` is liveness: 200 while autobot's last good tick is younger than
  ``tick_max_age_seconds``, 503 with the reason otherwise. Before the first good tick the server's own
  start time stands in, so a daemon that never manages a tick is reported dead after the same limit.
  Gate systemd's ``WATCHDOG=1`` with the same rule (``SdNotifier.watchdog_loop(healthy=lambda:
  server.liveness().alive)``) so the unit's watchdog and the probes agree on what "alive" means.
* ``/readyz`` is readiness: 200 once the server is up and the health object says ready (every service
  started and the chain answered), 503 with the reason otherwise.

* ``/clock`` is the chain clock the daemon learned from the blocks it saw
  (``{"chain_time", "wall_time", "rate", "observations"}``: chain time ``chain_time`` is reached at
  host wall time ``wall_time``, and the chain runs ``rate`` chain seconds per wall second), 503
  before the first block. The operator CLI reads it to say *when* a chain-time moment comes.

Bodies are small JSON objects so ``curl`` output reads well in an incident.

Rendering ``/metrics`` runs in a worker thread (``asyncio.to_thread``) by default. Measured on the
2-core development machine with the handbook's metrics, 10 operators, 10 assets and the process
collectors: rendering takes ~5 ms with 20 lotteries, ~9 ms with 200 and ~29 ms with 1000 (1 800 and
5 800 lines). While ``curl`` scraped in a loop, the event loop's worst timer lateness was ~10 ms either
way at 200 lotteries; at 1000 it was 48 ms (p99 46 ms) on the loop against 30 ms (p99 12 ms) in the
thread — the GIL still serialises the work, but the loop gets control back every switch interval.
Collectors must therefore be thread-safe: ``prometheus_client``'s own metric types are (they lock);
custom collectors must read a snapshot rather than iterate state the loop mutates.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from autobot.http_listener import HttpListener

log = structlog.get_logger(__name__)

JSON_CONTENT_TYPE = "application/json"


class Renderer(Protocol):
    """Writes a registry as an encoder would (``metrics.SnapshotCollector.render``)."""

    def render(
        self, encoder: Callable[[CollectorRegistry], bytes], registry: CollectorRegistry
    ) -> bytes: ...


class HealthState(Protocol):
    """What the web server (and the systemd watchdog) needs to know about the daemon's health.

    The composition root owns the object and updates it from the tick loop; the web server only
    reads it, on the event loop.
    """

    @property
    def last_good_tick_monotonic(self) -> float | None:
        """``time.monotonic()`` at the end of the last tick that completed; None before the first."""
        ...

    @property
    def tick_max_age_seconds(self) -> float:
        """How old the last good tick may be before the daemon counts as stalled."""
        ...

    @property
    def ready(self) -> bool:
        """True once every service started and the chain answered."""
        ...

    @property
    def reason(self) -> str | None:
        """Why the daemon is not ready or a tick failed (bounded human text), None when all is well."""
        ...


@dataclass(slots=True, kw_only=True)
class TickHealth:
    """A plain, mutable :class:`HealthState` the composition root can update from the tick loop."""

    tick_max_age_seconds: float
    last_good_tick_monotonic: float | None = None
    ready: bool = False
    reason: str | None = "starting"

    def tick_succeeded(self, now_monotonic: float) -> None:
        self.last_good_tick_monotonic = now_monotonic
        if self.ready:
            self.reason = None

    def tick_failed(self, reason: str) -> None:
        """Record why the last tick failed; liveness is decided by age alone, not by this."""
        self.reason = reason

    def mark_ready(self) -> None:
        self.ready = True
        self.reason = None

    def mark_not_ready(self, reason: str) -> None:
        self.ready = False
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Liveness:
    """The verdict of :func:`check_liveness`: ``alive`` and the numbers behind it."""

    alive: bool
    status: str  # "ok" | "starting" | "stale"
    age_seconds: float
    max_age_seconds: float
    reason: str | None

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": self.status,
            "last_good_tick_age_seconds": round(self.age_seconds, 3),
            "tick_max_age_seconds": self.max_age_seconds,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        return body


def check_liveness(
    health: HealthState, *, now_monotonic: float, since_monotonic: float
) -> Liveness:
    """Alive while the last good tick (or, before the first, ``since_monotonic``) is recent enough."""
    last = health.last_good_tick_monotonic
    reference = since_monotonic if last is None else last
    age = max(0.0, now_monotonic - reference)
    limit = health.tick_max_age_seconds
    if age <= limit:
        return Liveness(
            alive=True,
            status="starting" if last is None else "ok",
            age_seconds=age,
            max_age_seconds=limit,
            reason=None,
        )
    what = "no good tick since start" if last is None else "last good tick too old"
    detail = f"{what}: {age:.1f} s > {limit:g} s"
    if health.reason:
        detail = f"{detail}; {health.reason}"
    return Liveness(
        alive=False, status="stale", age_seconds=age, max_age_seconds=limit, reason=detail
    )


class WebServer(HttpListener):
    """aiohttp server for ``/metrics``, ``/healthz`` and ``/readyz``; an async context manager.

    ``port=0`` binds an ephemeral port (tests); :attr:`port` tells which after :meth:`start`.
    """

    NAME = "WebServer"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry,
        health: HealthState,
        monotonic: Callable[[], float] = time.monotonic,
        render_in_thread: bool = True,
        shutdown_timeout_seconds: float = 5.0,
        chain_clock: Callable[[], dict[str, float] | None] | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        """``chain_clock`` answers ``/clock`` (``None``: nothing learned yet); ``renderer``
        writes ``/metrics`` (``metrics.SnapshotCollector``: the per-lottery families written
        directly), else the encoder alone."""
        super().__init__(host=host, port=port, shutdown_timeout_seconds=shutdown_timeout_seconds)
        self._registry = registry
        self._health = health
        self._monotonic = monotonic
        self._render_in_thread = render_in_thread
        self._chain_clock = chain_clock
        self._renderer = renderer
        self._started_monotonic: float | None = None

    @property
    def url(self) -> str:
        return self.origin

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/clock", self._clock)
        return app

    def _on_started(self) -> None:
        self._started_monotonic = self._monotonic()
        log.info("web_server_started", host=self._host, port=self._port)

    async def stop(self) -> None:
        # /readyz answers "stopping" from here on, while the runner drains.
        self._started_monotonic = None
        await super().stop()

    def _on_stopped(self) -> None:
        log.info("web_server_stopped", host=self._host, port=self._port)

    def liveness(self) -> Liveness:
        """The ``/healthz`` verdict now (also usable as the watchdog's ``healthy`` check)."""
        now = self._monotonic()
        since = now if self._started_monotonic is None else self._started_monotonic
        return check_liveness(self._health, now_monotonic=now, since_monotonic=since)

    async def _metrics(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        render = encoder if self._renderer is None else partial(self._renderer.render, encoder)
        try:
            if self._render_in_thread:
                body = await asyncio.to_thread(render, self._registry)
            else:
                body = render(self._registry)
        except Exception as exc:  # a broken collector: answer 500, keep serving
            log.error("metrics_render_failed", error_type=type(exc).__name__)
            return _json({"error": "metrics rendering failed"}, status=500)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        verdict = self.liveness()
        return _json(verdict.to_json(), status=200 if verdict.alive else 503)

    async def _readyz(self, request: web.Request) -> web.Response:
        if self._started_monotonic is None:
            return _json({"ready": False, "reason": "web server stopping"}, status=503)
        if not self._health.ready:
            return _json({"ready": False, "reason": self._health.reason or "not ready"}, status=503)
        return _json({"ready": True}, status=200)

    async def _clock(self, request: web.Request) -> web.Response:
        line = None if self._chain_clock is None else self._chain_clock()
        if line is None:
            return _json({"error": "no block seen yet"}, status=503)
        return _json(dict(line), status=200)


def _json(body: dict[str, object], *, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, sort_keys=True),
        status=status,
        content_type=JSON_CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )
