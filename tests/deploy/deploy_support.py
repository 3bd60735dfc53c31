"""Shared by the deployment tests: paths, the issue's metric catalogue, PromQL metric extraction, tools.

The catalogue is the list of metric names fixed by the issue "Operate it". Alerts and dashboard panels
may only use these (plus what Prometheus itself provides), so a renamed metric in the engine or a typo
in a rule shows up here rather than as a silently empty panel or an alert that never fires.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    "AutomationTimelockBreach",
    "AutomationBotExpiring",
    "PayoutBacklog",
    "OperationsBudgetLow",
    "PriceFeedClamp",
    "PriceFeedFallback",
    "PriceFeedStale",
    "PriceFeedNoUpdates",
    "VrfDepositLow",
    "VrfRequestsPaused",
    "VrfRetryBlocked",
    "RefundBacklog",
    "RefundRoundStalled",
    "RefundAging",
    "RefundSlaBreach",
)
DAEMON_ALERTS = (
    "AutobotDown",
    "AutobotStalled",
    "AutobotRpcErrors",
    "AutobotActionsFailing",
    "AutobotWatchdog",
)
REQUIRED_ALERTS = HANDBOOK_ALERTS + DAEMON_ALERTS
ALWAYS_FIRING = frozenset({"AutobotWatchdog"})

# status_overview fields (domain §6); `total` is exported as status_overview_lotteries.
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
        # refunds (label lottery_id)
        "refund_progress_round",
        "refund_progress_remaining",
        "refund_progress_last_timestamp_seconds",
        "refund_sla_breach",
        *(f"status_overview_{field}" for field in STATUS_OVERVIEW_FIELDS),
    }
)
DAEMON_METRICS = frozenset(
    {
        "autobot_build_info",
        "autobot_actions_total",
        "autobot_guard_refusals_total",
        "autobot_rpc_requests_total",
        "autobot_last_tick_timestamp_seconds",
        "autobot_chain_time_lag_seconds",
        "autobot_journal_actions",
        "autobot_sequence_resyncs_total",
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
