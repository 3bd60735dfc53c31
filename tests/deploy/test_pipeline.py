"""The whole alerting path with real parts: WebServer → Prometheus 2.x → Alertmanager → webhooks.

autobot's ``/metrics`` (served by ``autobot.web.WebServer`` from a registry holding a bot at its failure
limit) is scraped by a real Prometheus loaded with ``alerts.yml``, which sends to a real Alertmanager
loaded with ``alertmanager.yml`` — only its receiver URLs and wait times are changed so the test takes
seconds — and an in-test webhook records what each receiver gets. Prometheus scrapes for the first
time about 5 s after it starts, so this takes ~8 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from deploy_support import ALERTMANAGER_CONFIG, ALERTS, load_yaml, tool
from prometheus_client import CollectorRegistry, Gauge

from autobot.web import TickHealth, WebServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _process(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as log_file:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Webhooks:
    """Collects Alertmanager webhook deliveries by receiver path."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.received.setdefault(request.match_info["receiver"], []).append(body)
        self.arrived.set()
        return web.Response(text="ok")

    def alertnames(self, receiver: str) -> set[str]:
        return {
            alert["labels"]["alertname"]
            for body in self.received.get(receiver, [])
            for alert in body["alerts"]
        }


@pytest.fixture
async def webhooks() -> AsyncIterator[tuple[Webhooks, int]]:
    hooks = Webhooks()
    app = web.Application()
    app.router.add_post("/{receiver}", hooks.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield hooks, port
    finally:
        await runner.cleanup()


async def _get_json(port: int, path: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()


def _fast_alertmanager_config(hook_port: int) -> dict[str, Any]:
    """The repository's config with receivers pointed at the test and waits cut to a second."""
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    config: dict[str, Any] = yaml.safe_load(
        text.replace("http://127.0.0.1:9099/", f"http://127.0.0.1:{hook_port}/")
    )
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="1s")
    return config


async def test_a_bot_at_its_failure_limit_pages_and_the_heartbeat_reaches_the_switch(
    tmp_path: Path, webhooks: tuple[Webhooks, int]
) -> None:
    hooks, hook_port = webhooks
    prometheus_bin, alertmanager_bin = tool("prometheus"), tool("prometheus-alertmanager")

    # Given autobot's metrics: bot ops-1 at its failure limit
    registry = CollectorRegistry()
    labels = ["operator"]
    Gauge("automation_failure_count", "Failures.", labels, registry=registry).labels("ops-1").set(3)
    Gauge("automation_max_failures", "Limit.", labels, registry=registry).labels("ops-1").set(3)
    health = TickHealth(tick_max_age_seconds=60)
    am_port, prom_port = _free_port(), _free_port()
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(_fast_alertmanager_config(hook_port)))
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text(encoding="utf-8"))

    async with WebServer(host="127.0.0.1", port=0, registry=registry, health=health) as autobot:
        prometheus_config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["alerts.yml"],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": [
                {
                    "job_name": "autobot",
                    "static_configs": [{"targets": [f"127.0.0.1:{autobot.port}"]}],
                }
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config))
        alertmanager_argv = [
            alertmanager_bin,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ]
        prometheus_argv = [
            prometheus_bin,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            # Alerts evaluated before Prometheus has discovered Alertmanager are dropped and by
            # default sent again only after a minute: the watchdog fires from the first evaluation.
            "--rules.alert.resend-delay=1s",
        ]
        with (
            _process(alertmanager_argv, tmp_path / "alertmanager.log"),
            _process(prometheus_argv, tmp_path / "prometheus.log"),
        ):
            # When Prometheus scrapes, evaluates and sends, and Alertmanager routes
            try:
                async with asyncio.timeout(45):
                    while not (
                        "AutomationFailureLimit" in hooks.alertnames("page")
                        and "AutobotWatchdog" in hooks.alertnames("deadmansswitch")
                    ):
                        hooks.arrived.clear()
                        await hooks.arrived.wait()
            except TimeoutError:
                pytest.fail(
                    f"no delivery: received={hooks.received}\n"
                    f"prometheus alerts={await _get_json(prom_port, '/api/v1/alerts')}\n"
                    f"targets={await _get_json(prom_port, '/api/v1/targets')}\n"
                    f"alertmanager={await _get_json(am_port, '/api/v2/alerts')}"
                )
            # Then the page carries the alert's labels and annotations as the rules render them
            targets = (await _get_json(prom_port, "/api/v1/targets"))["data"]["activeTargets"]
    assert [t["health"] for t in targets] == ["up"]
    page = next(
        alert
        for body in hooks.received["page"]
        for alert in body["alerts"]
        if alert["labels"]["alertname"] == "AutomationFailureLimit"
    )
    assert page["labels"]["operator"] == "ops-1"
    assert page["labels"]["severity"] == "page"
    assert page["annotations"]["summary"] == "Bot ops-1 is at its failure limit"
    assert "ticket" not in hooks.received
    assert load_yaml(ALERTMANAGER_CONFIG)["route"]["group_wait"] == "30s"  # the file is untouched
