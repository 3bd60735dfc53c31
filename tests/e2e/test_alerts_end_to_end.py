"""Page-worthy conditions reach a receiver through real Prometheus and Alertmanager, and resolve
when an operator clears them with the CLI: the demo's clamp and failure limit, and the ``ops``
scenario's story (the DRAW feature off, a lottery closed by hand, a paused VRF deposit the operator
resumes, a stuck draw the operator cancels).

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

The ``ops`` story (``autobot.localnet.scenario.ops``, strict VRF, at time-scale 120) is checked the
same way, and beside the alerts each condition is checked in ``autobot status`` and in the
incident-log file the daemon keeps (one row per event, a person's earlier rows kept).

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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from demo_processes import DaemonProcess, JournalReader, LocalnetProcess, autobot_cli
from incident_log_file import HAND_WRITTEN, HAND_WRITTEN_ROWS, handbook_rows
from supra_sdk.clients.rest import SupraClient, SupraClientConfig

from autobot.control.console import requested_by
from autobot.domain.lotteries import LotteryStatus

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
    from autobot.chain.supra import SupraGateway
    from conftest import TxFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
OPS_SCALE = 120.0  # the ops story's two chain hours in a minute of wall time

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


async def page(
    hooks: Webhooks,
    alertname: str,
    status: str = "firing",
    *,
    since: int = 0,
    within: float = 40,
    on_timeout: Callable[[], Awaitable[None]],
    **labels: str,
) -> dict[str, Any]:
    """Wait for a ``page`` delivery of ``alertname`` with this status and these labels."""
    found = delivered(hooks, alertname, status, since=since, **labels)
    if not await hooks.wait_until(lambda: found() is not None, within=within):
        await on_timeout()
    alert = found()
    assert alert is not None
    return alert


async def resume_when_allowed(config: str, *, within: float) -> tuple[list[str], str]:
    """``autobot vrf resume`` until the daemon would carry it out: the refusals, and the answer."""
    refusals: list[str] = []
    deadline = time.monotonic() + within
    while True:
        ran = await autobot_cli("vrf", "resume", "--yes", "--config", config)
        if ran.returncode == 0:
            return refusals, ran.stdout
        assert ran.returncode == 1, ran.stdout + ran.stderr
        refusals.append(ran.stderr)
        if time.monotonic() > deadline:
            pytest.fail(f"vrf resume still refused after {within} s: {ran.stderr}")
        await asyncio.sleep(1.0)


@pytest.mark.timeout(240)
async def until_cancelled(
    gateway: SupraGateway, lottery_id: int, daemon: DaemonProcess, *, within: float
) -> None:
    """Wait (the daemon alive) until the chain shows ``lottery_id`` CANCELED."""
    deadline = time.monotonic() + within
    while (await gateway.lottery_status(lottery_id)).status != LotteryStatus.CANCELED:
        daemon.check_alive()
        assert time.monotonic() < deadline, f"lottery {lottery_id} not cancelled in {within} s"
        await asyncio.sleep(0.5)


async def until_logged(log_file: Path, text: str, daemon: DaemonProcess, *, within: float) -> None:
    """Wait (the daemon alive) until the incident log file holds a row with ``text``."""
    deadline = time.monotonic() + within
    while text not in (log_file.read_text(encoding="utf-8") if log_file.exists() else ""):
        daemon.check_alive()
        assert time.monotonic() < deadline, f"no incident row {text!r} in {within} s"
        await asyncio.sleep(0.5)


async def test_the_ops_story_pages_a_person_and_each_page_resolves_when_they_act(
    tmp_path: Path,
) -> None:
    async with (
        serve_webhooks() as hooks,
        LocalnetProcess.start(
            tmp_path, scenario="ops", time_scale=OPS_SCALE, block_interval_ms=100
        ) as net,
    ):
        config = str(net.config_path)
        log_file = net.config_path.parent / "incident_log.md"
        log_file.write_text(HAND_WRITTEN, encoding="utf-8")  # a log people kept before
        with DaemonProcess.running(net.config_path, tmp_path / "daemon.log") as daemon:
            target = (await daemon.metrics_url()).removeprefix("http://").removesuffix("/metrics")
            with alerting_pipeline(
                tmp_path / "alerting", target=target, hook_port=hooks.port, rules=fast_alert_rules()
            ) as pipeline:

                async def dump() -> None:
                    await fail(pipeline.prometheus_url, pipeline.alertmanager_url, hooks, daemon)

                # The DRAW feature is off: lottery 3 waits (never a failure); lottery 4 is
                # closed by hand
                await page(hooks, "AutobotEscalation", reason="draw_feature_disabled",
                           subject="3", on_timeout=dump)  # fmt: skip
                await page(hooks, "AutobotEscalation", reason="auto_close_disabled",
                           subject="4", on_timeout=dump)  # fmt: skip
                shown = (await autobot_cli("status", "--config", config)).stdout
                assert "DRAW feature OFF (E_FEATURE_DISABLED)" in shown
                assert "#4 ACTIVE  25 tickets  VRF IDLE  CLOSING BY HAND" in shown
                bot_b = await net.gateway.get_bot(net.operator("B"))
                assert bot_b is not None and bot_b.failure_count == 0

                # The deposit pauses (its floor raised above the balance): requests wait, and
                # resuming is refused while the deposit is short; then its floor is corrected
                await page(hooks, "VrfRequestsPaused", within=60, on_timeout=dump)
                await page(hooks, "AutobotEscalation", reason="vrf_requests_paused",
                           subject="1", on_timeout=dump)  # fmt: skip
                shown = (await autobot_cli("status", "--config", config)).stdout
                assert "VRF requests PAUSED since" in shown
                refusals, accepted = await resume_when_allowed(config, within=60)
                assert refusals, "resuming was never refused while the deposit was short"
                assert "below the effective floor 100000000000" in refusals[0]
                assert "nothing was written" in refusals[0]
                assert "action 5, UNPAUSE" in accepted and "unpause:0:1" in accepted
                assert "announced by bot A (" in accepted and "its timelock is 900 s" in accepted

                # Requests run again; lottery 1's draw is never answered (strict VRF): the stuck
                # draw pages someone
                await page(hooks, "VrfRequestsPaused", "resolved", within=40, on_timeout=dump)
                await page(hooks, "AutobotEscalation", reason="vrf_pending", subject="1",
                           within=60, on_timeout=dump)  # fmt: skip
                shown = (await autobot_cli("status", "--config", config)).stdout
                assert "ESCALATED vrf_pending" in shown

                # The operator cancels it: the page resolves
                before = len(hooks.alerts("page"))
                cancel = await autobot_cli(
                    "cancel", "1", "--reason", "vrf-failure", "--yes", "--config", config
                )
                assert cancel.returncode == 0, cancel.stderr
                await page(hooks, "AutobotEscalation", "resolved", since=before,
                           reason="vrf_pending", subject="1", within=60, on_timeout=dump)  # fmt: skip
                # the page resolves once the cancel is under way (announced: action 7 waits out
                # A's 900 s timelock); the chain shows it done a few wall seconds later
                await until_cancelled(net.gateway, 1, daemon, within=60)
                # the request's row is written once its action ends (after the cancel, its
                # record_success): stopping the daemon sooner would lose the race for it
                await until_logged(log_file, "operator request #2 (cancel 1)", daemon, within=60)
                daemon.check_alive()
        # printed once the daemon stopped: while it runs it may add a row between the two reads
        printed = await autobot_cli("incidents", "--format", "markdown", "--config", config)
        # Then the chain: requests resumed by action 5, lottery 1 cancelled, no bot failed
        snapshot = await net.gateway.snapshot(lottery_ids=(1, 2, 3, 4))
        with JournalReader(net.journal_path) as journal:
            unpause = journal.action("unpause:0:1")
            txs = [t for t in journal.transactions() if t.action_key == "unpause:0:1"]
    assert not snapshot.deposit.requests_paused
    assert snapshot.lotteries[1].status == LotteryStatus.CANCELED
    assert snapshot.lotteries[3].status >= LotteryStatus.DRAWN  # drawn once DRAW was on
    assert snapshot.lotteries[4].status == LotteryStatus.ACTIVE  # never closed by autobot
    assert all(bot.failure_count == 0 for bot in snapshot.bots)
    # `autobot vrf resume` end to end: announced, the timelock waited, executed, recorded
    assert unpause is not None and unpause.state == "done"
    assert [(t.purpose, t.function, t.state) for t in txs] == [
        ("announce", "announce_dry_run", "committed"),
        ("execute", "resume_requests", "committed"),
        ("record", "record_success", "committed"),
    ]
    # The incident log: the handbook's table, one row per event, the people's rows kept
    rows = handbook_rows(log_file)
    requester = requested_by()  # a request's action that ends gets a row signed by its requester
    assert [r for r in rows if r.responsible not in ("autobot", requester)] == list(
        HAND_WRITTEN_ROWS
    )
    signed = sorted(r.description for r in rows if r.responsible == requester)
    assert [d.split(" by ", 1)[0] for d in signed] == [
        "operator request #1 (unpause 0)",
        "operator request #2 (cancel 1)",
    ], signed
    events = {
        "auto_close_disabled 4:": "Инцидент",
        "draw_feature_disabled 3:": "Инцидент",
        "vrf_deposit_paused deposit:": "Инцидент",
        "vrf_deposit_resumed deposit:": "VRF-пополнение",
        "draw of lottery 1 refused with E_VRF_PENDING": "Инцидент",
        "cancellation::cancel_lottery_admin(u64:1, u8:1,": "Cancellation",
        "announced action 5 for unpause:0:1": "Dry-run",
    }
    for start, kind in events.items():
        matching = [r for r in rows if r.description.startswith(start)]
        assert [r.type for r in matching] == [kind], (start, matching)
    resumed = next(r for r in rows if r.description.startswith("vrf_deposit_resumed"))
    execute = next(t for t in txs if t.purpose == "execute")
    assert resumed.links == execute.tx_hash  # the link is the resume_requests transaction
    assert printed.returncode == 0
    assert printed.stdout.rstrip("\n") == log_file.read_text(encoding="utf-8").rstrip("\n")
