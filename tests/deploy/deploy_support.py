"""Shared by the deployment tests: paths, the issue's metric catalogue, PromQL metric extraction, tools,
and a real alerting pipeline (Prometheus → Alertmanager → in-test webhooks).

The catalogue is the list of metric names fixed by the issue "Operate it". Alerts and dashboard panels
may only use these (plus what Prometheus itself provides), so a renamed metric in the engine or a typo
in a rule shows up here rather than as a silently empty panel or an alert that never fires.

The pipeline (``alerting_pipeline``, ``serve_webhooks``) is used by ``test_pipeline.py`` and by the
end-to-end alert test in ``tests/e2e`` (which puts this folder on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST = DEPLOY / "prometheus" / "alerts_test.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "lottery-multi-ops.json"
RUNBOOK = DEPLOY / "RUNBOOK.md"
RUNBOOK_BASE = "https://github.com/example/autobot/blob/main/deploy/RUNBOOK.md#"

# The alerts the issue asks for, by name.
HANDBOOK_ALERTS = (
    "AutomationFailureLimit",
    "AutomationFailureBudgetLow",
    "AutomationDryRunStale",
    "AutomationPendingOverdue",
    "AutomationTimelockBreach",
    "AutomationTimelockHigh",
    "AutomationBotExpiring",
    "PayoutBacklog",
    "PayoutBacklogAging",
    "WinnersPending",
    "OperationsBudgetLow",
    "PriceFeedClamp",
    "PriceFeedFallback",
    "PriceFeedStale",
    "PriceFeedNoUpdates",
    "VrfDepositLow",
    "VrfRequestsPaused",
    "VrfRequestedBacklog",
    "VrfFulfilledPending",
    "VrfRetryBlocked",
    "RefundBacklog",
    "RefundBatchPendingHigh",
    "RefundRoundStalled",
    "RefundAging",
    "RefundSlaBreach",
    "AutobotEscalation",
    "SalesDrop",
    "PayoutFinalizePending",
    "PayoutRoundRegression",
    "AccountingMismatch",
    "RoleCapExpiring",
    "DualWriteMismatch",
    "DualWritePending",
)
DAEMON_ALERTS = (
    "AutobotDown",
    "AutobotStalled",
    "AutobotRpcErrors",
    "AutobotActionsFailing",
    "AutobotActionsEscalated",
    "AutobotWatchdog",
)
HA_ALERTS = (
    "AutobotNoLeader",
    "AutobotSplitBrain",
    "AutobotLeaderFlapping",
)
REQUIRED_ALERTS = HANDBOOK_ALERTS + DAEMON_ALERTS + HA_ALERTS
ALWAYS_FIRING = frozenset({"AutobotWatchdog"})

# status_overview fields (docs/package.md §6); `total` is exported as status_overview_lotteries.
STATUS_OVERVIEW_FIELDS = (
    "lotteries",
    "draft",
    "active",
    "closing",
    "draw_requested",
    "drawn",
    "payout",
    "finalized",
    "canceled",
    "vrf_requested",
    "vrf_retry_blocked",
    "vrf_fulfilled_pending",
    "winners_pending",
    "payout_backlog",
    "refund_active",
    "refund_batch_pending",
    "refund_sla_breach",
    "pending_dual_write",
)
_HISTOGRAMS = (
    "autobot_action_reaction_seconds",
    "autobot_rpc_duration_seconds",
    "autobot_tick_duration_seconds",
)
DOMAIN_METRICS = frozenset(
    {
        # bots (label operator)
        "automation_failure_count",
        "automation_max_failures",
        "automation_success_streak",
        "automation_reputation_score",
        "automation_timelock_seconds",
        "automation_pending",
        "automation_pending_age_seconds",
        "automation_expires_at_timestamp_seconds",
        "automation_timelock_breach",
        "automation_pending_execute_after_timestamp_seconds",
        "automation_timelock_high",
        # payouts
        "payout_round_gap",
        "operations_budget_remaining",
        "operations_budget_total",
        # price feeds (label asset_id)
        "price_feed_price",
        "price_feed_last_update_timestamp_seconds",
        "price_feed_age_seconds",
        "price_feed_staleness_window_seconds",
        "price_feed_stale",
        "price_feed_clamp_active",
        "price_feed_fallback_active",
        "price_feed_updates_total",
        # VRF
        "vrf_effective_balance",
        "vrf_required_minimum",
        "vrf_requests_paused",
        "vrf_requests_paused_since_timestamp_seconds",
        "vrf_total_balance",
        "vrf_minimum_balance",
        "vrf_effective_floor",
        # the package's switches and policies
        "feature_switch_enabled",
        "lottery_auto_close_disabled",
        # refunds (label lottery_id)
        "refund_progress_round",
        "refund_progress_remaining",
        "refund_progress_last_timestamp_seconds",
        "refund_sla_breach",
        *(f"status_overview_{field}" for field in STATUS_OVERVIEW_FIELDS),
        # the rest of the playbook (playbook_watch.py): sales, payouts, accounting, roles,
        # dual-write
        "sales_rate",
        "sales_purchase_events_total",
        "purchase_rate_limit_hits_total",
        "payout_finalize_pending_seconds",
        "payout_round",
        "payout_round_regressions_total",
        "accounting_mismatch",
        "partner_caps",
        "partner_cap_expiring",
        "premium_caps",
        "premium_cap_expiring",
        "dual_write_pending",
        "dual_write_mismatch",
        "dual_write_mismatch_free_seconds",
    }
)
DAEMON_METRICS = frozenset(
    {
        "autobot_build_info",
        "autobot_actions_total",
        "autobot_escalations",
        "autobot_incidents_open",
        "autobot_incidents_open_over_sla",
        "autobot_incidents_open_oldest_seconds",
        "autobot_guard_refusals_total",
        "autobot_rpc_requests_total",
        "autobot_last_tick_timestamp_seconds",
        "autobot_chain_time_lag_seconds",
        "autobot_journal_actions",
        "autobot_sequence_resyncs_total",
        "autobot_gave_way_seconds_total",
        # [ha] (issue "Outgrow one machine")
        "autobot_ha_leader",
        "autobot_ha_epoch",
        "autobot_ha_lease_age_seconds",
        "autobot_ha_takeovers_total",
        *_HISTOGRAMS,
        *(f"{name}_{suffix}" for name in _HISTOGRAMS for suffix in ("bucket", "sum", "count")),
        # prometheus_client's process collector
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "process_max_fds",
    }
)
# Series Prometheus itself provides.
PROMETHEUS_METRICS = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})
KNOWN_METRICS = DOMAIN_METRICS | DAEMON_METRICS | PROMETHEUS_METRICS

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.])[A-Za-z_:][\w:]*")
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
     "offset", "bool", "atan2", "inf", "nan"}
)  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels left out).

    Not a parser — promtool checks syntax — but enough for the expressions we write: strings, label
    matchers, range/offset durations and grouping label lists are removed first, then every
    identifier not followed by ``(`` is a metric name.
    """
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group()
        if word.lower() in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


_PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


def tool(name: str) -> str:
    """The path of a command-line tool, or skip the test saying how to install it (CI installs all)."""
    path = shutil.which(name)
    if path is None:
        package = _PACKAGES.get(name, "systemd")
        pytest.skip(f"{name} is not installed here (apt-get install {package})")
    return path


def run(
    argv: list[str], *, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> dict[str, dict[str, Any]]:
    """alerts.yml's rules by alert name."""
    rules: dict[str, dict[str, Any]] = {}
    for group in load_yaml(ALERTS)["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["alert"] not in rules, f"duplicate alert {rule['alert']}"
                rules[rule["alert"]] = rule
    return rules


def github_anchors(markdown: str) -> set[str]:
    """Heading anchors as GitHub renders them: lower case, punctuation dropped, spaces → hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


# --- a real alerting pipeline -----------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def process(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process with stderr in ``log``; terminated (then killed) on exit."""
    with log.open("wb") as log_file:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass
class Webhooks:
    """Collects Alertmanager webhook deliveries by receiver path (``POST /<receiver>``)."""

    port: int = 0
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.received.setdefault(request.match_info["receiver"], []).append(body)
        self._arrived.set()
        return web.Response(text="ok")

    def alerts(self, receiver: str) -> list[dict[str, Any]]:
        """Every alert delivered to ``receiver``, oldest first (one per delivery it was in)."""
        return [alert for body in self.received.get(receiver, []) for alert in body["alerts"]]

    def alertnames(self, receiver: str) -> set[str]:
        return {alert["labels"]["alertname"] for alert in self.alerts(receiver)}

    async def wait_until(self, done: Callable[[], bool], *, within: float) -> bool:
        """Wait for deliveries until ``done()``; False if ``within`` seconds passed first."""
        try:
            async with asyncio.timeout(within):
                while not done():
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            return done()
        return True


@contextlib.asynccontextmanager
async def serve_webhooks() -> AsyncIterator[Webhooks]:
    """An in-test webhook receiver on a free loopback port (runs on the test's event loop)."""
    hooks = Webhooks(port=free_port())
    app = web.Application()
    app.router.add_post("/{receiver}", hooks.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hooks.port).start()
    try:
        yield hooks
    finally:
        await runner.cleanup()


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()


def fast_alertmanager_config(hook_port: int) -> dict[str, Any]:
    """The repository's Alertmanager config with receivers pointed at the test, waits cut to 1 s."""
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    config: dict[str, Any] = yaml.safe_load(
        text.replace("http://127.0.0.1:9099/", f"http://127.0.0.1:{hook_port}/")
    )
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="1s")
    return config


_FOR = re.compile(r"^(\s+)for: \S+[ \t]*$", re.MULTILINE)


def fast_alert_rules(duration: str = "1s") -> str:
    """alerts.yml with every ``for:`` set to ``duration`` and nothing else changed."""
    text = ALERTS.read_text(encoding="utf-8")
    fast = _FOR.sub(rf"\g<1>for: {duration}", text)
    shipped, changed = yaml.safe_load(text), yaml.safe_load(fast)
    for group in shipped["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = duration
    assert changed == shipped, "only the for: durations may differ"
    return fast


@dataclass(frozen=True, slots=True)
class AlertingPipeline:
    prometheus_url: str
    alertmanager_url: str


@contextlib.contextmanager
def alerting_pipeline(
    folder: Path, *, target: str, hook_port: int, rules: str
) -> Iterator[AlertingPipeline]:
    """A real Prometheus (job ``autobot`` scraping ``target``, 1 s scrape and evaluation, ``rules``)
    sending to a real Alertmanager (``fast_alertmanager_config``); both stopped on exit.

    Prometheus scrapes for the first time about 5 s after it starts.
    """
    prometheus_bin, alertmanager_bin = tool("prometheus"), tool("prometheus-alertmanager")
    folder.mkdir(parents=True, exist_ok=True)
    am_port, prom_port = free_port(), free_port()
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(fast_alertmanager_config(hook_port)))
    (folder / "alerts.yml").write_text(rules)
    prometheus_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [{"job_name": "autobot", "static_configs": [{"targets": [target]}]}],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config))
    alertmanager_argv = [
        alertmanager_bin,
        f"--config.file={folder / 'alertmanager.yml'}",
        f"--storage.path={folder / 'am'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
    ]
    prometheus_argv = [
        prometheus_bin,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        # Alerts evaluated before Prometheus has discovered Alertmanager are dropped and by
        # default sent again only after a minute: the watchdog fires from the first evaluation.
        "--rules.alert.resend-delay=1s",
    ]
    with (
        process(alertmanager_argv, folder / "alertmanager.log"),
        process(prometheus_argv, folder / "prometheus.log"),
    ):
        yield AlertingPipeline(
            prometheus_url=f"http://127.0.0.1:{prom_port}",
            alertmanager_url=f"http://127.0.0.1:{am_port}",
        )
