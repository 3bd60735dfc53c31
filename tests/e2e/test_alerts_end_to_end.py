"""The demo's two page-worthy conditions reach a receiver through real Prometheus and Alertmanager,
and resolve when an operator clears them with the CLI.

Real parts throughout: the localnet and the daemon as processes (``demo_processes``), a real
Prometheus scraping the daemon every second with the shipped ``deploy/prometheus/alerts.yml`` (only
its ``for:`` durations cut to 1 s), a real Alertmanager with the shipped
``deploy/alertmanager/alertmanager.yml`` (only its receiver URLs and wait times changed; its
``send_resolved: true`` is what delivers the resolutions) and an in-test webhook as the receivers.

* ``PriceFeedClamp``: the demo's asset 2 starts clamped (an update refused by its 20 % clamp).
* ``AutomationFailureLimit``: operator B (timelock 0, ``max_failures`` 3) is driven to its limit the
  only way the chain allows — three ``automation::record_failure`` transactions signed with B's key
  (the official SDK, ``tx_factory``), sent before the daemon starts: while the daemon runs it is the
  one writer of B's sequence numbers, and a failure it caused itself would need a rigged fault.
* Then ``autobot feed clear-clamp 2`` (the daemon calls ``price_feed::clear_clamp``) and ``autobot bot
  rotate B --max-failures 6`` (the daemon submits the multi-agent ``rotate_bot``) clear both, and
  both alerts arrive again as resolved. The chain is checked too: a daemon that died would also
  "resolve" its alerts (its series go stale), so the resolution must come with the chain's change.

Prometheus scrapes for the first time about 5 s after it starts, and the daemon's port is known only
once it runs, so Prometheus starts right after the daemon. Before that first scrape ``AutobotDown``
fires (``absent(up)``, for 1 s here) and inhibits the domain alerts until it resolves: the
deliveries below also show the inhibition lifting.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from demo_processes import DaemonProcess, LocalnetProcess, autobot_cli
from supra_sdk.clients.rest import SupraClient, SupraClientConfig

sys.path.append(str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_support import (
    ALERTMANAGER_CONFIG,
    Webhooks,
    alerting_pipeline,
    fast_alert_rules,
    get_json,
    load_yaml,
    serve_webhooks,
)

if TYPE_CHECKING:
    from conftest import TxFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

ASSET = 2  # the demo's clamped feed
ACTION_ID = 3  # one of B's allowed actions (1-4) that autobot never runs


def delivered(
    hooks: Webhooks, alertname: str, status: str, *, since: int = 0, **labels: str
) -> Callable[[], dict[str, Any] | None]:
    """The first alert delivered to ``page`` with this name, status and labels, among the
    deliveries from the ``since``-th on (None until there is one)."""

    def find() -> dict[str, Any] | None:
        for alert in hooks.alerts("page")[since:]:
            wanted = alert["labels"]["alertname"] == alertname and alert["status"] == status
            if wanted and all(alert["labels"].get(k) == v for k, v in labels.items()):
                return alert
        return None

    return find


async def lock_out(net: LocalnetProcess, tx_factory: TxFactory, key_file: Path) -> None:
    """Three ``record_failure`` transactions signed by the bot itself: failure_count 3 of 3."""
    bot = tx_factory.account(key_file.read_text().strip())
    client = SupraClient(net.base_url, SupraClientConfig(wait_for_transaction=False))
    try:
        first = await client.account_sequence_number(bot.address())
        for seq in range(first, first + 3):
            body = tx_factory.entry(
                bot,
                "automation",
                "record_failure",
                [
                    tx_factory.u64(ACTION_ID),
                    tx_factory.bytes_(hashlib.sha3_256(b"alert e2e %d" % seq).digest()),
                    tx_factory.u64(await net.chain_now()),
                    tx_factory.u64(0x1A06),
                ],
                sequence_number=seq,
            )
            done = await tx_factory.wait(client, await client.submit(body))
            assert done["status"] == "Success", done
    finally:
        await client.close()


async def test_clamp_and_failure_limit_page_through_prometheus_and_alertmanager_then_resolve(
    tmp_path: Path, tx_factory: TxFactory
) -> None:
    async with serve_webhooks() as hooks, LocalnetProcess.start(tmp_path) as net:
        operator_b = net.operator("B")
        config = str(net.config_path)
        # Given: operator B at its failure limit, asset 2 clamped (the demo's genesis)
        await lock_out(net, tx_factory, net.config_path.parent / "localnet-operator-b.key")
        bot_b = await net.gateway.get_bot(operator_b)
        assert bot_b is not None and (bot_b.failure_count, bot_b.max_failures) == (3, 3)
        assert (await net.gateway.price_feed(ASSET)).clamp_active

        with DaemonProcess.running(net.config_path, tmp_path / "daemon.log") as daemon:
            target = (await daemon.metrics_url()).removeprefix("http://").removesuffix("/metrics")
            with alerting_pipeline(
                tmp_path / "alerting", target=target, hook_port=hooks.port, rules=fast_alert_rules()
            ) as pipeline:
                started = time.monotonic()
                clamp_fired = delivered(hooks, "PriceFeedClamp", "firing", asset_id=str(ASSET))
                limit_fired = delivered(hooks, "AutomationFailureLimit", "firing", operator="B")

                # When Prometheus scrapes and evaluates, and Alertmanager routes: both page
                if not await hooks.wait_until(
                    lambda: bool(clamp_fired() and limit_fired()), within=40
                ):
                    await fail(pipeline.prometheus_url, pipeline.alertmanager_url, hooks, daemon)
                fired_after = time.monotonic() - started

                # When the operator clears both through the daemon
                requested, before = time.monotonic(), len(hooks.alerts("page"))
                for result in await asyncio.gather(
                    autobot_cli("feed", "clear-clamp", str(ASSET), "--yes", "--config", config),
                    autobot_cli(
                        "bot", "rotate", "B", "--max-failures", "6", "--yes", "--config", config
                    ),
                ):
                    assert result.returncode == 0, result.stdout + result.stderr
                cli_seconds = time.monotonic() - requested
                clamp_resolved = delivered(
                    hooks, "PriceFeedClamp", "resolved", since=before, asset_id=str(ASSET)
                )
                limit_resolved = delivered(
                    hooks, "AutomationFailureLimit", "resolved", since=before, operator="B"
                )
                both = await hooks.wait_until(
                    lambda: bool(clamp_resolved() and limit_resolved()), within=30
                )
                if not both:
                    await fail(pipeline.prometheus_url, pipeline.alertmanager_url, hooks, daemon)
                resolved_after = time.monotonic() - requested
                daemon.check_alive()
        # Then the chain shows what resolved them: the clamp cleared, B's limit raised
        feed = await net.gateway.price_feed(ASSET)
        bot_b = await net.gateway.get_bot(operator_b)

    assert not feed.clamp_active
    assert bot_b is not None and bot_b.max_failures == 6 and not bot_b.is_locked_out
    page = limit_fired()
    assert page is not None
    assert page["labels"]["severity"] == "page" and page["labels"]["job"] == "autobot"
    assert page["annotations"]["summary"] == "Bot B is at its failure limit"
    tickets = {alert["labels"]["alertname"] for alert in hooks.alerts("ticket")}
    assert not tickets & {"PriceFeedClamp", "AutomationFailureLimit"}  # pages, not tickets
    assert load_yaml(ALERTMANAGER_CONFIG)["route"]["group_wait"] == "30s"  # the file is untouched
    print(
        f"\nfirst deliveries {fired_after:.1f} s after Prometheus started; "
        f"both resolved {resolved_after:.1f} s after the CLI requests were started "
        f"(the two CLI runs took {cli_seconds:.1f} s)"
    )


async def fail(prometheus: str, alertmanager: str, hooks: Webhooks, daemon: DaemonProcess) -> None:
    pytest.fail(
        f"deliveries so far: {hooks.received}\n"
        f"prometheus alerts: {await get_json(f'{prometheus}/api/v1/alerts')}\n"
        f"targets: {await get_json(f'{prometheus}/api/v1/targets')}\n"
        f"alertmanager: {await get_json(f'{alertmanager}/api/v2/alerts')}\n"
        f"daemon: {daemon.tail(2000)}"
    )
