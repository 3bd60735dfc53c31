"""WebServer: /metrics from the injected registry, /healthz by tick age, /readyz by readiness."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from structlog.testing import capture_logs

from autobot.web import TickHealth, WebServer, check_liveness, error_code, reason_code

MAX_AGE = 180.0


class FakeMonotonic:
    """A monotonic clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def health() -> TickHealth:
    return TickHealth(tick_max_age_seconds=MAX_AGE)


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    gap = Gauge(
        "payout_round_gap", "Winner batches minus payout rounds.", ["lottery_id"], registry=registry
    )
    gap.labels(lottery_id="4").set(2)
    return registry


@pytest.fixture
async def server(
    registry: CollectorRegistry, health: TickHealth, clock: FakeMonotonic
) -> AsyncIterator[WebServer]:
    async with WebServer(
        host="127.0.0.1", port=0, registry=registry, health=health, monotonic=clock
    ) as web_server:
        yield web_server


async def _get(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def _json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


# --- /metrics ----------------------------------------------------------------------------------


async def test_metrics_serves_the_injected_registry_as_text(server: WebServer) -> None:
    status, content_type, body = await _get(f"{server.url}/metrics", Accept="text/plain")
    assert status == 200
    assert content_type == choose_encoder("text/plain")[1]  # prometheus_client decides
    assert content_type.startswith("text/plain; version=")
    assert 'payout_round_gap{lottery_id="4"} 2.0' in body


async def test_metrics_speaks_openmetrics_when_prometheus_asks_for_it(server: WebServer) -> None:
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    status, content_type, body = await _get(f"{server.url}/metrics", Accept=accept)
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")


class _ThreadRecorder(Collector):
    """A collector that remembers which thread collected it."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def collect(self) -> Iterable[Metric]:
        self.threads.append(threading.get_ident())
        yield GaugeMetricFamily("autobot_chain_time_lag_seconds", "Lag.", value=0.5)


async def test_metrics_are_rendered_off_the_event_loop_thread(
    registry: CollectorRegistry, server: WebServer
) -> None:
    recorder = _ThreadRecorder()
    registry.register(recorder)
    await _get(f"{server.url}/metrics")
    assert recorder.threads and threading.get_ident() not in recorder.threads


async def test_metrics_can_be_rendered_on_the_loop(
    registry: CollectorRegistry, health: TickHealth
) -> None:
    recorder = _ThreadRecorder()
    registry.register(recorder)
    async with WebServer(
        host="127.0.0.1", port=0, registry=registry, health=health, render_in_thread=False
    ) as web_server:
        status, _, body = await _get(f"{web_server.url}/metrics")
    assert status == 200
    assert "autobot_chain_time_lag_seconds 0.5" in body
    assert recorder.threads == [threading.get_ident()]


class _BrokenCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        raise RuntimeError("collector bug")


async def test_a_broken_collector_answers_500_and_is_logged(
    registry: CollectorRegistry, server: WebServer
) -> None:
    registry.register(_BrokenCollector())
    with capture_logs() as logs:
        status, _, _ = await _get(f"{server.url}/metrics")
    assert status == 500
    assert {
        "event": "metrics_render_failed",
        "error_type": "RuntimeError",
        "log_level": "error",
    } in logs


# --- /healthz ----------------------------------------------------------------------------------


async def test_healthz_is_ok_while_starting_within_the_tick_limit(
    server: WebServer, clock: FakeMonotonic
) -> None:
    clock.advance(MAX_AGE - 1)
    status, body = await _json(f"{server.url}/healthz")
    assert status == 200
    assert body["status"] == "starting"


async def test_healthz_is_503_when_no_tick_ever_succeeded(
    server: WebServer, clock: FakeMonotonic
) -> None:
    clock.advance(MAX_AGE + 1)
    status, body = await _json(f"{server.url}/healthz")
    assert status == 503
    assert body["status"] == "stale"
    assert body["reason"] == "no_good_tick_since_start"
    assert body["last_good_tick_age_seconds"] == 181.0


async def test_healthz_follows_the_age_of_the_last_good_tick(
    server: WebServer, health: TickHealth, clock: FakeMonotonic
) -> None:
    # Given a good tick
    health.tick_succeeded(clock())
    clock.advance(30)
    status, body = await _json(f"{server.url}/healthz")
    assert (status, body["status"], body["last_good_tick_age_seconds"]) == (200, "ok", 30.0)
    # When ticks keep failing past the limit
    health.tick_failed("rpc_timeout")
    clock.advance(MAX_AGE)
    status, body = await _json(f"{server.url}/healthz")
    # Then liveness fails and says why, in codes
    assert status == 503
    assert (body["reason"], body["last_failure"]) == ("last_good_tick_too_old", "rpc_timeout")
    assert (body["last_good_tick_age_seconds"], body["tick_max_age_seconds"]) == (210.0, MAX_AGE)


async def test_health_answers_carry_codes_never_error_text(
    server: WebServer, health: TickHealth, clock: FakeMonotonic
) -> None:
    # given: reasons that are text (an error's message with an endpoint URL in it)
    text = "RpcUnavailable: latest block: HTTP 500 from https://node.example/key-s3cr3t/: <b>"
    health.tick_failed(text)
    clock.advance(MAX_AGE + 1)
    _, live = await _json(f"{server.url}/healthz")
    health.mark_not_ready(text)
    _, ready = await _json(f"{server.url}/readyz")
    # then: only codes come out
    assert (live["reason"], live["last_failure"], ready["reason"]) == (
        "no_good_tick_since_start",
        "unknown",
        "unknown",
    )


def test_an_error_class_becomes_a_code() -> None:
    assert error_code(RuntimeError("x")) == "runtime_error"
    assert error_code(ConnectionResetError()) == "connection_reset_error"
    assert reason_code("rpc_unavailable") == "rpc_unavailable"
    assert reason_code("RpcUnavailable: http://x") == "unknown"
    assert reason_code(None) is None


# --- /readyz -----------------------------------------------------------------------------------


async def test_readyz_is_503_with_the_reason_until_ready(
    server: WebServer, health: TickHealth
) -> None:
    assert await _json(f"{server.url}/readyz") == (503, {"ready": False, "reason": "starting"})
    health.mark_not_ready("chain_unreachable")
    assert await _json(f"{server.url}/readyz") == (
        503,
        {"ready": False, "reason": "chain_unreachable"},
    )
    health.mark_ready()
    assert await _json(f"{server.url}/readyz") == (200, {"ready": True})


async def test_bodies_are_json_and_not_cached(server: WebServer) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{server.url}/readyz") as response:
        assert response.content_type == "application/json"
        assert response.headers["Cache-Control"] == "no-store"


# --- lifecycle ---------------------------------------------------------------------------------


async def test_stop_closes_the_port(registry: CollectorRegistry, health: TickHealth) -> None:
    web_server = WebServer(host="127.0.0.1", port=0, registry=registry, health=health)
    await web_server.start()
    url = web_server.url
    await web_server.stop()
    await web_server.stop()  # idempotent
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(f"{url}/healthz")


async def test_starting_twice_is_an_error(server: WebServer) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()


async def test_a_taken_port_raises_and_leaves_nothing_running(
    server: WebServer, registry: CollectorRegistry, health: TickHealth
) -> None:
    second = WebServer(host="127.0.0.1", port=server.port, registry=registry, health=health)
    with pytest.raises(OSError):
        await second.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = second.port


# --- the liveness rule -------------------------------------------------------------------------


def test_liveness_measures_from_the_last_tick_not_from_start() -> None:
    health = TickHealth(tick_max_age_seconds=60, last_good_tick_monotonic=500.0)
    verdict = check_liveness(health, now_monotonic=560.0, since_monotonic=0.0)
    assert (verdict.alive, verdict.status, verdict.age_seconds) == (True, "ok", 60.0)
    assert not check_liveness(health, now_monotonic=560.5, since_monotonic=0.0).alive


def test_liveness_before_the_first_tick_measures_from_start() -> None:
    health = TickHealth(tick_max_age_seconds=60)
    assert check_liveness(health, now_monotonic=100.0, since_monotonic=50.0).status == "starting"
    assert check_liveness(health, now_monotonic=111.0, since_monotonic=50.0).status == "stale"


# --- /clock ------------------------------------------------------------------------------------


async def test_clock_serves_the_learned_chain_clock_and_503_before_a_block(
    registry: CollectorRegistry, health: TickHealth, clock: FakeMonotonic
) -> None:
    from autobot.control.clocks import read_clocks  # the CLI's reader of it
    from autobot.scheduling import ChainClockMap

    learned = ChainClockMap()
    async with WebServer(
        host="127.0.0.1",
        port=0,
        registry=registry,
        health=health,
        monotonic=clock,
        chain_clock=lambda: learned.line(1_000.0),
    ) as web_server:
        status, body = await _json(f"{web_server.url}/clock")
        assert status == 503 and "no block" in body["error"]
        learned.observe(wall=990.0, chain=5_000.0)
        learned.observe(wall=1_000.0, chain=5_600.0)  # 60 chain seconds per wall second
        status, body = await _json(f"{web_server.url}/clock")
        assert status == 200
        assert body["rate"] == pytest.approx(60.0)
        assert body["chain_time"] == pytest.approx(5_600.0)
        assert body["wall_time"] == 1_000.0
        # and the operator CLI reads it from the config's [http] listen
        from pathlib import Path

        from autobot.config import parse_config

        config = parse_config(
            {
                "chain": {
                    "rpc_urls": ["http://127.0.0.1:1/"],
                    "chain_id": 7,
                    "package_address": "0x1",
                },
                "keys": {"admin_key_file": "a.key", "operator_key_files": {"A": "b.key"}},
                "http": {"listen": f"127.0.0.1:{web_server.port}"},
            },
            source=Path("/x/autobot.toml"),
            environ={},
        )
        reading = await read_clocks(config, chain_now=5_600, wall_now=1_000.0)
        assert reading.clocks.line is not None and reading.clocks.line.rate == pytest.approx(60.0)
        assert "the daemon's chain clock" in reading.source
        assert reading.clocks.moment(5_600 + 900).startswith("in 15 s (expected ")
