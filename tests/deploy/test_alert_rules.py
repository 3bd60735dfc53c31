"""The alert rules: valid for promtool, unit-tested by promtool, complete against the handbook.

promtool does the semantics (``promtool test rules`` evaluates every alert against synthetic series);
the Python checks here hold the files to the issue: every named alert exists, has a firing and a
quiet case, carries severity/summary/description/runbook_url, uses only the issue's metrics, and
points at a runbook section that exists.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from deploy_support import (
    ALERTS,
    ALERTS_TEST,
    ALWAYS_FIRING,
    KNOWN_METRICS,
    PROMETHEUS_CONFIG,
    REQUIRED_ALERTS,
    RUNBOOK,
    RUNBOOK_BASE,
    alert_rules,
    github_anchors,
    load_yaml,
    metric_names,
    run,
    tool,
)


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", duration))


# --- promtool --------------------------------------------------------------------------------


def test_promtool_accepts_the_rules_file() -> None:
    result = run([tool("promtool"), "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run([tool("promtool"), "test", "rules", ALERTS_TEST.name], cwd=ALERTS_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_example_prometheus_config_is_valid_with_the_rules_installed(tmp_path: Path) -> None:
    # Given the layout the example expects: rules in autobot/ beside prometheus.yml
    (tmp_path / "autobot").mkdir()
    shutil.copy(PROMETHEUS_CONFIG, tmp_path / "prometheus.yml")
    shutil.copy(ALERTS, tmp_path / "autobot" / "alerts.yml")
    # When promtool checks it, then config and rules pass
    result = run([tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_example_prometheus_config_scrapes_autobot_under_the_job_the_rules_expect() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for sc in jobs["autobot"]["static_configs"] for t in sc["targets"]]
    assert targets == ["127.0.0.1:9464"]
    assert 'up{job="autobot"}' in alert_rules()["AutobotDown"]["expr"]


# --- completeness ----------------------------------------------------------------------------


def test_every_alert_of_the_issue_is_defined_and_nothing_else() -> None:
    assert sorted(alert_rules()) == sorted(REQUIRED_ALERTS)


@pytest.mark.parametrize("name", REQUIRED_ALERTS)
def test_alert_has_severity_layer_and_annotations(name: str) -> None:
    rule = alert_rules()[name]
    expected = {"none"} if name in ALWAYS_FIRING else {"page", "ticket", "info"}
    assert rule["labels"]["severity"] in expected
    assert rule["labels"]["layer"] in {"domain", "daemon", "pipeline"}
    for key in ("summary", "description", "runbook_url"):
        assert str(rule["annotations"].get(key, "")).strip(), f"{name} lacks {key}"


def test_domain_alerts_are_labelled_domain_and_daemon_alerts_daemon() -> None:
    layers = {name: rule["labels"]["layer"] for name, rule in alert_rules().items()}
    assert {n for n, layer in layers.items() if layer == "daemon"} == {
        "AutobotDown",
        "AutobotStalled",
        "AutobotRpcErrors",
        "AutobotActionsFailing",
        "AutobotActionsEscalated",
        "AutobotNoLeader",
        "AutobotSplitBrain",
        "AutobotLeaderFlapping",
    }
    assert {n for n, layer in layers.items() if layer == "pipeline"} == {"AutobotWatchdog"}


@pytest.mark.parametrize(
    ("name", "duration"),
    [
        # docs/package.md §7: the handbook's durations
        ("PriceFeedClamp", "5m"),
        ("PriceFeedFallback", "5m"),
        ("VrfRequestsPaused", "5m"),
        ("VrfRetryBlocked", "60m"),
        ("RefundBacklog", "4h"),
        ("VrfRequestedBacklog", "30m"),
        ("VrfFulfilledPending", "10m"),
        ("WinnersPending", "30m"),
        ("PayoutBacklogAging", "1h"),
        # thresholds without a duration fire at once
        ("AutobotEscalation", "0s"),
        ("AutomationTimelockHigh", "0s"),
        ("RefundBatchPendingHigh", "0s"),
        ("AutomationFailureLimit", "0s"),
        ("AutomationTimelockBreach", "0s"),
        ("PayoutBacklog", "0s"),
        ("VrfDepositLow", "0s"),
        ("RefundSlaBreach", "0s"),
    ],
)
def test_alert_waits_the_handbook_duration(name: str, duration: str) -> None:
    assert _seconds(alert_rules()[name].get("for", "0s")) == _seconds(duration)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("AutomationFailureLimit", "automation_failure_count >= automation_max_failures"),
        ("AutomationFailureBudgetLow", "automation_failure_count >= automation_max_failures - 1"),
        (
            "AutomationDryRunStale",
            "automation_pending_age_seconds > automation_timelock_seconds + 900",
        ),
        ("PayoutBacklog", "payout_round_gap > 1"),
        ("OperationsBudgetLow", "operations_budget_remaining / operations_budget_total < 0.1"),
        ("PriceFeedNoUpdates", "increase(price_feed_updates_total[1h]) < 1"),
        ("VrfDepositLow", "vrf_effective_balance < vrf_required_minimum"),
        ("RefundRoundStalled", "changes(refund_progress_round[1h]) == 0"),
        ("RefundAging", "time() - refund_progress_last_timestamp_seconds > 7200"),
        ("VrfRequestedBacklog", "status_overview_vrf_requested > 3"),
        ("VrfFulfilledPending", "status_overview_vrf_fulfilled_pending > 0"),
        ("WinnersPending", "status_overview_winners_pending > 0"),
        ("PayoutBacklogAging", "status_overview_payout_backlog > 0"),
        ("RefundBatchPendingHigh", "status_overview_refund_batch_pending > 1000"),
        ("AutomationTimelockHigh", "automation_timelock_high > 0"),
        ("AutobotEscalation", "autobot_escalations > 0"),
        (
            "AutomationPendingOverdue",
            "automation_pending > 0 and automation_pending_age_seconds > "
            "automation_timelock_seconds",
        ),
    ],
)
def test_alert_uses_the_handbook_threshold(name: str, fragment: str) -> None:
    assert fragment in " ".join(alert_rules()[name]["expr"].split())


def test_alerts_use_only_metrics_of_the_issue() -> None:
    unknown = {
        name: sorted(metric_names(rule["expr"]) - KNOWN_METRICS)
        for name, rule in alert_rules().items()
        if metric_names(rule["expr"]) - KNOWN_METRICS
    }
    assert unknown == {}


def test_metric_extraction_ignores_functions_labels_and_durations() -> None:
    expr = (
        'sum by (job, kind) (increase(autobot_actions_total{outcome="failed"}[30m])) > 0 '
        "and price_feed_updates_total offset 1h unless on (asset_id) time() - up"
    )
    assert metric_names(expr) == {"autobot_actions_total", "price_feed_updates_total", "up"}


# --- the promtool test file covers every alert both ways -------------------------------------


def _cases() -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for test in load_yaml(ALERTS_TEST)["tests"]:
        for case in test.get("alert_rule_test", []):
            kind = "firing" if case.get("exp_alerts") else "quiet"
            counts.setdefault(case["alertname"], {"firing": 0, "quiet": 0})[kind] += 1
    return counts


@pytest.mark.parametrize("name", REQUIRED_ALERTS)
def test_alert_has_a_firing_and_a_quiet_promtool_case(name: str) -> None:
    cases = _cases().get(name, {"firing": 0, "quiet": 0})
    assert cases["firing"] >= 1, f"{name}: no case where it fires"
    if name not in ALWAYS_FIRING:
        assert cases["quiet"] >= 1, f"{name}: no case where it stays quiet"


def test_promtool_cases_check_annotations_of_every_firing_alert() -> None:
    missing = [
        case["alertname"]
        for test in load_yaml(ALERTS_TEST)["tests"]
        for case in test.get("alert_rule_test", [])
        for expected in case.get("exp_alerts") or []
        if set(expected.get("exp_annotations", {})) != {"summary", "description", "runbook_url"}
    ]
    assert missing == []


# --- runbook ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED_ALERTS)
def test_runbook_url_points_at_an_existing_runbook_section(name: str) -> None:
    url: str = alert_rules()[name]["annotations"]["runbook_url"]
    assert url == RUNBOOK_BASE + name.lower()
    assert name.lower() in github_anchors(RUNBOOK.read_text(encoding="utf-8"))


def test_runbook_internal_links_resolve() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    anchors = github_anchors(text)
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links, "expected cross-references between runbook sections"
    assert links - anchors == set()
