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
            auto_close_disabled=(5,),
            features={3: False},
            escalations={("vrf_pending", "3"): 1},
            open_incidents={"high": (1, 0, 60.0), "medium": (0, 0, 0.0)},
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


# --- deploy/README.md: the handbook's names and what autobot exports for each ----------------

README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"
PACKAGE = Path(__file__).resolve().parents[2] / "docs" / "package.md"
ABSENT = "absent — issue 15 (sales/payouts/roles/dual-write monitoring)"
# Names the handbook uses outside §7's monitoring table, which the issue asks to export too.
HANDBOOK_EXTRAS = {
    "pending_execute_after",
    "total_balance",
    "minimum_balance",
    "effective_floor",
    "vrf_requested",
    "vrf_fulfilled_pending",
    "winners_pending",
}


def _handbook_names() -> set[str]:
    """Every metric named in the first column of docs/package.md §7's monitoring table."""
    text = PACKAGE.read_text(encoding="utf-8")
    section = text[text.index("## §7 Monitoring") : text.index("## §8 Operations")]
    table = section[section.index("| Metric | Definition") : section.index("`status_page.md` adds")]
    names: set[str] = set()
    for line in table.splitlines()[2:]:
        if line.startswith("|"):
            names.update(re.findall(r"`([a-z_.]+)`", line.split("|")[1]))
    return names


def _rename_table() -> dict[str, str]:
    """deploy/README.md's table: handbook name -> exported name (or the "absent" note)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The handbook's metric names") :]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rows[cells[0].strip("`")] = cells[1].strip("`")
    return rows


def test_the_readme_names_every_handbook_metric() -> None:
    names = _handbook_names()
    assert {"vrf_effective_balance", "refund_progress.last_ts", "sales_rate"} <= names  # parsed
    assert sorted((names | HANDBOOK_EXTRAS) - set(_rename_table())) == []


def test_every_exported_name_of_the_readme_is_exported() -> None:
    exported = _exported_names()
    table = _rename_table()
    missing = {
        handbook: name
        for handbook, name in table.items()
        if name != ABSENT and name not in exported
    }
    assert missing == {}
    # the names this issue added exist with exactly these spellings
    assert table["pending_execute_after"] == "automation_pending_execute_after_timestamp_seconds"
    assert [table[n] for n in ("total_balance", "minimum_balance", "effective_floor")] == [
        "vrf_total_balance",
        "vrf_minimum_balance",
        "vrf_effective_floor",
    ]
    # issue 15 left no row absent, and gave the playbook's names these spellings
    assert {h for h, n in table.items() if "absent" in n} == set()
    assert [table[n] for n in ("dual_write_mismatch", "sales_rate", "payout_finalize_pending")] == [
        "dual_write_mismatch",
        "sales_rate",
        "payout_finalize_pending_seconds",
    ]
