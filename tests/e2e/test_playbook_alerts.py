"""The playbook's monitors page through real Prometheus and Alertmanager: ``DualWriteMismatch``
and ``SalesDrop``.

Real parts throughout, as in ``test_alerts_end_to_end.py``: the localnet and the daemon as
processes, a real Prometheus scraping the daemon every second with the shipped
``deploy/prometheus/alerts.yml`` (only its ``for:`` durations cut to 1 s) and a real Alertmanager
with the shipped routing, delivering to in-test webhooks. The scenario (a TOML file, below):

* lottery 2 canceled with nothing sold and archived at genesis, and an expected dual-write hash
  for it that its summary does not have (the legacy system got it wrong): the summary is stored,
  the hash stays, and autobot reads both — ``dual_write_mismatch`` is 1 from its first sweep;
* lottery 1 selling, with buyers buying 20 single tickets a minute (chain time; the localnet runs
  60 times faster) from a pool of 80 buyers who may hold at most 10 tickets each: once most of
  them hold their 10, purchases fall off while the sales window is open — a real drop, which
  ``sales_rate`` (from ``TicketPurchaseEvent``s) shows and ``SalesDrop`` catches against the
  lottery's own rate over the last hour.

The test asserts the two deliveries (``DualWriteMismatch`` to the page receiver with the
incident-log fact behind it, ``SalesDrop`` to the ticket receiver for lottery 1) and that the
chain shows the drop's cause: lottery 1 still on sale, its buyers' allowance used up.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from demo_processes import DaemonProcess, LocalnetProcess

sys.path.append(str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_support import Webhooks, alerting_pipeline, fast_alert_rules, get_json, serve_webhooks

from autobot.domain.lotteries import LotteryStatus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

POOL, PER_BUYER = 80, 10
SCENARIO = f"""
name = "sales-drop-and-dual-write-mismatch"
[[bots]]
operator = 0
timelock_seconds = 0
allowed_actions = [1, 2]
[[lotteries]]
id = 1
status = "active"
max_tickets_total = 10000
max_tickets_per_address = {PER_BUYER}
sales_start_offset_seconds = -600
sales_end_offset_seconds = 86400
[[lotteries]]
id = 2
status = "canceled"
tickets_sold = 0
archived = true
[dual_write]
enabled = true
[[dual_write.expected]]
lottery = 2
hash = "mismatch"
[buyers]
purchases_per_minute = 20.0
pool = {POOL}
quantities = [1]
lotteries = [1]
"""


def first(hooks: Webhooks, receiver: str, alertname: str, **labels: str) -> dict[str, Any] | None:
    for alert in hooks.alerts(receiver):
        named = alert["labels"]["alertname"] == alertname and alert["status"] == "firing"
        if named and all(alert["labels"].get(k) == v for k, v in labels.items()):
            return alert
    return None


async def test_dual_write_mismatch_and_sales_drop_are_delivered(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    async with (
        serve_webhooks() as hooks,
        LocalnetProcess.start(tmp_path, extra=("--scenario", str(scenario))) as net,
    ):
        with DaemonProcess.running(net.config_path, tmp_path / "daemon.log") as daemon:
            target = (await daemon.metrics_url()).removeprefix("http://").removesuffix("/metrics")
            with alerting_pipeline(
                tmp_path / "alerting", target=target, hook_port=hooks.port, rules=fast_alert_rules()
            ) as pipeline:
                started = time.monotonic()

                def both() -> bool:
                    return bool(
                        first(hooks, "page", "DualWriteMismatch")
                        and first(hooks, "ticket", "SalesDrop", lottery_id="1")
                    )

                if not await hooks.wait_until(both, within=100):
                    pytest.fail(
                        f"deliveries so far: {hooks.received}\n"
                        f"prometheus alerts: "
                        f"{await get_json(f'{pipeline.prometheus_url}/api/v1/alerts')}\n"
                        f"sales_rate: {await get_json(pipeline.prometheus_url + '/api/v1/query?query=sales_rate[2m]')}\n"
                        f"daemon log: {daemon.tail()}"
                    )
                after = time.monotonic() - started
                daemon.check_alive()
            mismatch_logged = [
                line for line in daemon.log_lines() if line.get("event") == "dual_write_mismatch"
            ]
        one = await net.gateway.lottery_views([1])

    page = first(hooks, "page", "DualWriteMismatch")
    assert page is not None and page["labels"]["severity"] == "page"
    assert page["annotations"]["summary"].startswith("1 lottery summary(ies) differ")
    assert [line["lottery_id"] for line in mismatch_logged] == [2]
    assert mismatch_logged[0]["expected"] != mismatch_logged[0]["stored"]
    drop = first(hooks, "ticket", "SalesDrop", lottery_id="1")
    assert drop is not None and drop["labels"]["layer"] == "domain"
    assert "SalesDrop" not in hooks.alertnames("page")  # a ticket, not a page
    # the cause on chain: still selling, far from sold out, the pool's allowance nearly used up
    view = one[1]
    assert view.status == LotteryStatus.ACTIVE
    assert POOL * PER_BUYER * 0.8 <= view.refund.tickets_sold <= POOL * PER_BUYER < 10_000
    print(f"\nboth delivered {after:.1f} s after Prometheus started")
