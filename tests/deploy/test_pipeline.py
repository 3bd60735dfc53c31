"""The whole alerting path with real parts: WebServer → Prometheus 2.x → Alertmanager → webhooks.

autobot's ``/metrics`` (served by ``autobot.web.WebServer`` from a registry holding a bot at its failure
limit) is scraped by a real Prometheus loaded with ``alerts.yml``, which sends to a real Alertmanager
loaded with ``alertmanager.yml`` — only its receiver URLs and wait times are changed so the test takes
seconds — and an in-test webhook records what each receiver gets. Prometheus scrapes for the first
time about 5 s after it starts, so this takes ~8 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from deploy_support import (
    ALERTMANAGER_CONFIG,
    ALERTS,
    Webhooks,
    alerting_pipeline,
    get_json,
    load_yaml,
    serve_webhooks,
)
from prometheus_client import CollectorRegistry, Gauge

from autobot.web import TickHealth, WebServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture
async def webhooks() -> AsyncIterator[Webhooks]:
    async with serve_webhooks() as hooks:
        yield hooks


async def test_a_bot_at_its_failure_limit_pages_and_the_heartbeat_reaches_the_switch(
    tmp_path: Path, webhooks: Webhooks
) -> None:
    # Given autobot's metrics: bot ops-1 at its failure limit
    registry = CollectorRegistry()
    labels = ["operator"]
    Gauge("automation_failure_count", "Failures.", labels, registry=registry).labels("ops-1").set(3)
    Gauge("automation_max_failures", "Limit.", labels, registry=registry).labels("ops-1").set(3)
    health = TickHealth(tick_max_age_seconds=60)

    async with WebServer(host="127.0.0.1", port=0, registry=registry, health=health) as autobot:
        with alerting_pipeline(
            tmp_path,
            target=f"127.0.0.1:{autobot.port}",
            hook_port=webhooks.port,
            rules=ALERTS.read_text(encoding="utf-8"),
        ) as pipeline:
            # When Prometheus scrapes, evaluates and sends, and Alertmanager routes
            delivered = await webhooks.wait_until(
                lambda: (
                    "AutomationFailureLimit" in webhooks.alertnames("page")
                    and "AutobotWatchdog" in webhooks.alertnames("deadmansswitch")
                ),
                within=45,
            )
            prometheus, alertmanager = pipeline.prometheus_url, pipeline.alertmanager_url
            if not delivered:
                pytest.fail(
                    f"no delivery: received={webhooks.received}\n"
                    f"prometheus alerts={await get_json(f'{prometheus}/api/v1/alerts')}\n"
                    f"targets={await get_json(f'{prometheus}/api/v1/targets')}\n"
                    f"alertmanager={await get_json(f'{alertmanager}/api/v2/alerts')}"
                )
            # Then the page carries the alert's labels and annotations as the rules render them
            targets = (await get_json(f"{prometheus}/api/v1/targets"))["data"]["activeTargets"]
    assert [t["health"] for t in targets] == ["up"]
    page = next(
        alert
        for alert in webhooks.alerts("page")
        if alert["labels"]["alertname"] == "AutomationFailureLimit"
    )
    assert page["labels"]["operator"] == "ops-1"
    assert page["labels"]["severity"] == "page"
    assert page["annotations"]["summary"] == "Bot ops-1 is at its failure limit"
    assert "ticket" not in webhooks.received
    assert load_yaml(ALERTMANAGER_CONFIG)["route"]["group_wait"] == "30s"  # the file is untouched
