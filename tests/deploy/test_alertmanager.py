"""Alertmanager's configuration: valid, routes each alert by severity, and inhibits while autobot is down.

Routing is checked with ``amtool config routes test`` for every alert in alerts.yml; inhibition both by
reading the rules and by a real Alertmanager (docs/conventions.md §15) that receives alerts over its API and
reports which ones it suppresses.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from deploy_support import ALERTMANAGER_CONFIG, alert_rules, free_port, load_yaml, run, tool

RECEIVER_BY_SEVERITY = {"page": "page", "ticket": "ticket", "info": "ticket"}


def _labels(rule: Mapping[str, Any], **extra: str) -> dict[str, str]:
    return {"alertname": rule["alert"], **rule["labels"], **extra}


def test_amtool_accepts_the_config() -> None:
    result = run([tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("name", sorted(alert_rules()))
def test_alert_is_routed_to_the_receiver_of_its_severity(name: str) -> None:
    rule = alert_rules()[name]
    labels = _labels(rule, job="autobot")
    expected = (
        "deadmansswitch" if name == "AutobotWatchdog" else RECEIVER_BY_SEVERITY[labels["severity"]]
    )
    argv = [
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        *(f"{key}={value}" for key, value in labels.items()),
    ]
    result = run(argv)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [expected]


def test_watchdog_repeats_often_enough_for_a_dead_mans_switch() -> None:
    route = load_yaml(ALERTMANAGER_CONFIG)["route"]
    (watchdog,) = [r for r in route["routes"] if 'alertname="AutobotWatchdog"' in r["matchers"]]
    assert watchdog["repeat_interval"] == "1m"
    assert route["routes"][0] is watchdog, "the watchdog route must match before severity routes"


def test_receivers_are_placeholders_marked_for_replacement() -> None:
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    urls = re.findall(r"url: (\S+)\s+# REPLACE", text)
    assert len(urls) == 3
    assert all(url.startswith("http://127.0.0.1:9099/") for url in urls)


# --- inhibition, by reading the rules --------------------------------------------------------


def _matches(matcher: str, labels: Mapping[str, str]) -> bool:
    """One Alertmanager matcher (``name op "value"``; op ``=``, ``!=``, ``=~``, ``!~``)."""
    parsed = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*', matcher)
    assert parsed is not None, f"unsupported matcher {matcher!r}"
    name, op, value = parsed.groups()
    actual = labels.get(name, "")
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    found = re.fullmatch(value, actual) is not None
    return found if op == "=~" else not found


def _inhibited_by(source: Mapping[str, str], target: Mapping[str, str]) -> bool:
    for rule in load_yaml(ALERTMANAGER_CONFIG)["inhibit_rules"]:
        if (
            all(_matches(m, source) for m in rule["source_matchers"])
            and all(_matches(m, target) for m in rule["target_matchers"])
            and all(source.get(label) == target.get(label) for label in rule.get("equal", []))
        ):
            return True
    return False


# AutobotDown comes from up == 0 (with instance) or from absent() (job only): both must inhibit.
DOWN_SOURCES = [
    {"alertname": "AutobotDown", "job": "autobot", "instance": "127.0.0.1:9464"},
    {"alertname": "AutobotDown", "job": "autobot"},
]


@pytest.mark.parametrize("source", DOWN_SOURCES, ids=["up==0", "absent"])
def test_autobot_down_inhibits_every_alert_computed_from_its_metrics(
    source: dict[str, str],
) -> None:
    for name, rule in alert_rules().items():
        target = _labels(rule, job="autobot", instance="127.0.0.1:9464")
        expected = rule["labels"]["layer"] in {"domain", "daemon"} and name != "AutobotDown"
        assert _inhibited_by(source, target) is expected, name


def test_autobot_down_does_not_inhibit_another_deployment() -> None:
    target = _labels(alert_rules()["PriceFeedStale"], job="autobot-testnet", asset_id="1")
    assert not _inhibited_by(DOWN_SOURCES[1], target)


def test_autobot_stalled_inhibits_domain_alerts_only() -> None:
    source = {"alertname": "AutobotStalled", "job": "autobot", "instance": "127.0.0.1:9464"}
    for name, rule in alert_rules().items():
        target = _labels(rule, job="autobot", instance="127.0.0.1:9464")
        assert _inhibited_by(source, target) is (rule["labels"]["layer"] == "domain"), name


# --- inhibition, by a real Alertmanager -------------------------------------------------------


def _http(url: str, body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on a free loopback port with the repository's config; yields its URL."""
    binary = tool("prometheus-alertmanager")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={ALERTMANAGER_CONFIG}",
                f"--storage.path={tmp_path}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Alertmanager did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_real_alertmanager_suppresses_alerts_while_autobot_is_down(alertmanager: str) -> None:
    rules = alert_rules()
    instance = {"job": "autobot", "instance": "127.0.0.1:9464"}
    sent = {
        "down": _labels(rules["AutobotDown"], job="autobot"),  # the absent() form
        "feed": _labels(rules["PriceFeedStale"], asset_id="1", **instance),
        "rpc": _labels(rules["AutobotRpcErrors"], **instance),
        "watchdog": _labels(rules["AutobotWatchdog"]),
        "other": _labels(rules["PriceFeedStale"], job="autobot-testnet", asset_id="1"),
    }
    _http(f"{alertmanager}/api/v2/alerts", [{"labels": labels} for labels in sent.values()])

    expected = {"down": "active", "feed": "suppressed", "rpc": "suppressed",
                "watchdog": "active", "other": "active"}  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        alerts = _http(f"{alertmanager}/api/v2/alerts")
        state = {
            key: next((a["status"]["state"] for a in alerts if a["labels"] == labels), "missing")
            for key, labels in sent.items()
        }
        if state == expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert state == expected
