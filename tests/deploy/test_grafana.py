"""The "Lottery Multi Ops" dashboard and its provisioning.

There is no offline Grafana linter; every PromQL expression of the dashboard (panel targets, variable
queries, annotations) is parsed by promtool instead, wrapped as recording rules in a throwaway rules
file, after Grafana's template variables are replaced by concrete values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import (
    ALWAYS_FIRING,
    DASHBOARD,
    DEPLOY,
    DOMAIN_METRICS,
    KNOWN_METRICS,
    RUNBOOK_BASE,
    alert_rules,
    load_yaml,
    metric_names,
    run,
    tool,
)

# Grafana's built-in interval variables → durations; every other variable is used inside a label
# matcher ("=~" for multi-value ones) and becomes a plain value.
INTERVALS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)")


def _concrete(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return INTERVALS.get(name, "x")

    return _VARIABLE.sub(value, expr)


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows keep theirs inside


def _queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every expression the dashboard sends to Prometheus."""
    dashboard = _dashboard()
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['id']} {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = (
                variable["query"]["query"]
                if isinstance(variable["query"], dict)
                else variable["query"]
            )
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            assert inner is not None, f"variable {variable['name']}: unexpected query {query!r}"
            yield f"variable {variable['name']}", inner.group(1)
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']!r}", annotation["expr"]


def test_dashboard_identity() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "lottery-multi-ops"
    assert dashboard["title"] == "Lottery Multi Ops"
    assert dashboard["schemaVersion"] >= 36


def test_dashboard_uses_a_prometheus_datasource_variable_everywhere() -> None:
    dashboard = _dashboard()
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert (variable["name"], variable["query"]) == ("datasource", "prometheus")
    expected = {"type": "prometheus", "uid": "${datasource}"}
    for panel in _panels(dashboard["panels"]):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == expected, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        assert all(target["datasource"] == expected for target in panel["targets"])


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    panels = list(_panels(_dashboard()["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]


def test_dashboard_has_a_section_per_concern() -> None:
    rows = [p["title"] for p in _dashboard()["panels"] if p["type"] == "row"]
    assert rows == [
        "Overview",
        "Automation bots",
        "Draws and VRF",
        "Price feeds",
        "Refunds",
        "Payouts",
        "Sales, roles and dual-write",
        "autobot daemon",
        "High availability",
    ]


def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard_query_{index}", "expr": _concrete(expr)}
        for index, (_, expr) in enumerate(_queries())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_a_broken_query_is_caught_by_the_promtool_check(tmp_path: Path) -> None:
    # Guards the check above: promtool must reject what it is fed when the PromQL is wrong.
    path = tmp_path / "broken.yml"
    rule = {"record": "broken", "expr": _concrete("sum by (le (rate(x[$__rate_interval]))")}
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
    assert run([tool("promtool"), "check", "rules", str(path)]).returncode != 0


def test_template_variables_are_replaced_before_checking() -> None:
    expr = 'rate(x{job="$job", operator=~"${operator:regex}"}[$__rate_interval])'
    assert _concrete(expr) == 'rate(x{job="x", operator=~"x"}[5m])'


def test_every_query_uses_only_metrics_of_the_issue() -> None:
    unknown = {where: sorted(metric_names(expr) - KNOWN_METRICS) for where, expr in _queries()}
    assert {where: names for where, names in unknown.items() if names} == {}


def test_every_domain_metric_is_on_the_dashboard() -> None:
    shown = set().union(*(metric_names(expr) for _, expr in _queries()))
    assert sorted(DOMAIN_METRICS - shown) == []


@pytest.mark.parametrize("name", sorted(set(alert_rules()) - ALWAYS_FIRING))
def test_every_alert_has_a_panel_showing_what_it_watches(name: str) -> None:
    watched = metric_names(alert_rules()[name]["expr"])
    shown = set().union(*(metric_names(expr) for _, expr in _queries()))
    assert watched & shown, f"{name} watches {sorted(watched)}, which no panel shows"


# --- provisioning ----------------------------------------------------------------------------


def test_dashboard_provider_points_grafana_at_a_dashboards_folder() -> None:
    config = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "autobot.yml")
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")


def test_datasource_provisioning_defines_a_default_prometheus() -> None:
    config = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    assert config["apiVersion"] == 1
    (source,) = config["datasources"]
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True
    assert source["url"].startswith("http")


@pytest.mark.parametrize("name", ["dashboards", "datasources"])
def test_provisioning_files_are_plain_yaml_mappings(name: str) -> None:
    (path,) = (DEPLOY / "grafana" / "provisioning" / name).glob("*.yml")
    assert isinstance(load_yaml(path), dict)


def test_the_runbook_link_is_set_by_the_same_step_as_the_alerts(tmp_path: Path) -> None:
    """deploy/README's one ``sed`` rewrites the dashboard's runbook link with the alerts' URLs."""
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    step = re.search(r"sed -i '(s#[^']+#)' \\\n\s+(\S+) (\S+)", readme)
    assert step is not None, "deploy/README.md lost its sed step"
    pattern, *targets = step.groups()
    assert {Path(t).name for t in targets} == {"alerts.yml", DASHBOARD.name}
    _, old, new, _ = pattern.split("#")
    links = [link["url"] for link in _dashboard()["links"] if "runbook" in link["title"].lower()]
    assert links == [RUNBOOK_BASE.rstrip("#")]
    assert RUNBOOK_BASE.startswith(old)
    copy = tmp_path / DASHBOARD.name
    copy.write_text(DASHBOARD.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    rewritten = json.loads(copy.read_text(encoding="utf-8"))["links"]
    assert [link["url"] for link in rewritten] == [RUNBOOK_BASE.rstrip("#").replace(old, new)]
    assert old not in copy.read_text(encoding="utf-8")
