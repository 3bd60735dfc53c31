"""The names the alerts and the dashboard rely on are the names autobot actually exports.

``deploy_support``'s catalogue is the issue's metric list; here it meets ``autobot.metrics``: a
registry built the way the daemon builds it, with one bot, feed, refund and live lottery in the
snapshot sample, must expose every catalogued name — and every domain-looking name it exposes must be
catalogued. A rename on either side fails here instead of leaving an alert that can never fire.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from deploy_support import DAEMON_METRICS, DOMAIN_METRICS, KNOWN_METRICS, PROMETHEUS_METRICS
from prometheus_client.exposition import generate_latest

from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import StatusOverview
from autobot.metrics import (
    BotSample,
    DaemonMetrics,
    DomainSample,
    FeedSample,
    RefundSample,
    make_registry,
)


def _exported_names() -> set[str]:
    registry = make_registry()
    metrics = DaemonMetrics(registry)
    metrics.actions.labels("refund", "failure").inc()
    metrics.guard_refusals.labels("timelock").inc()
    metrics.rpc_requests.labels("/rpc/v3/view", "ok").inc()
    metrics.rpc_duration.labels("/rpc/v3/view").observe(0.1)
    metrics.journal_actions.labels("parked").set(1)
    metrics.snapshot.update(
        DomainSample(
            bots=(
                BotSample(
                    operator="ops-1",
                    failure_count=1,
                    max_failures=3,
                    success_streak=0,
                    reputation_score=4,
                    timelock_seconds=900,
                    pending=True,
                    pending_age_seconds=12.0,
                    expires_at=2_000_000_000,
                    timelock_breach=False,
                ),
            ),
            feeds=(
                FeedSample(
                    asset_id=1,
                    price=0.5,
                    last_update_ts=1_700_000_000,
                    age_seconds=3.0,
                    staleness_window_seconds=300,
                    stale=False,
                    clamp_active=False,
                    fallback_active=False,
                ),
            ),
            refunds=(
                RefundSample(lottery_id=7, round=1, remaining=10, last_ts=1, sla_breach=False),
            ),
            payout_round_gaps=((4, 1),),
            operations_budget_remaining=10,
            operations_budget_total=100,
            overview={f.name: 0 for f in dataclasses.fields(StatusOverview)},
            feed_updates_total={1: 5},
            playbook=PlaybookReport(
                sales_rate={1: 2.5},
                payout_finalize_pending={4: 600},
                payout_rounds={4: 2},
                accounting_mismatch={1: 0, 4: 1},
            ),
        )
    )
    names: set[str] = set()
    for family in registry.collect():
        names.update(sample.name for sample in family.samples)
    assert generate_latest(registry)  # renders
    return names


def test_every_catalogued_metric_is_exported() -> None:
    expected = (DOMAIN_METRICS | DAEMON_METRICS) - {
        # histogram families appear as their _bucket/_sum/_count series
        "autobot_action_reaction_seconds",
        "autobot_rpc_duration_seconds",
        "autobot_tick_duration_seconds",
    }
    assert sorted(expected - _exported_names()) == []


def test_every_exported_domain_or_daemon_metric_is_catalogued() -> None:
    ours = {
        name
        for name in _exported_names()
        if not name.startswith(("python_", "process_"))
        and not name.endswith("_created")  # prometheus_client's creation timestamps
    }
    assert sorted(ours - KNOWN_METRICS) == []
    assert not ours & PROMETHEUS_METRICS


# --- the handbook-name table in deploy/README.md ---------------------------------------------

README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"
PACKAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "package.md"


def _handbook_rows() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The handbook's metrics, by name", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("Handbook name", "---"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _section_7_names() -> set[str]:
    """The first column of docs/package.md §7's metric table, split at " / "."""
    text = PACKAGE_DOC.read_text(encoding="utf-8")
    section = text.split("## §7 Monitoring", 1)[1].split("| Alert |", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z_.]+)`", line.split("|")[1]))
    return names


def test_every_handbook_metric_has_a_row_and_none_is_left_absent() -> None:
    rows = _handbook_rows()
    assert len(rows) > 25
    handbook = {name for cell, _, _ in rows for name in re.findall(r"`([a-z_.]+)`", cell)}
    assert sorted(_section_7_names() - handbook) == []
    for cell, exported, notes in rows:
        assert "absent" not in (exported + notes).lower(), cell
        assert re.fullmatch(r"`[a-z_]+`", exported), (cell, exported)


def test_every_name_in_the_handbook_table_is_exported() -> None:
    exported = {name.strip("`") for _, name, _ in _handbook_rows()}
    assert sorted(exported - _exported_names()) == []
