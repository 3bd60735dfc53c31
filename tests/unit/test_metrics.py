"""What ``autobot.metrics`` exports: lottery series only while the lottery is live, and the
daemon's counters with known label values at 0 before their first event.

``increase()`` cannot see the first event of a series that appears at 1 (there is no earlier
sample to compare with), so ``AutobotActionsFailing`` would miss the first failed action of each
kind, and a guard's first refusal would not show in a rate. ``DaemonMetrics`` therefore starts the
series it can know: one per guard, one per action kind and outcome.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).parent / "planning"))
import pytest
from plan_builders import NOW, canceled, lottery, snapshot
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

from autobot.domain.draws import WinnerProgress
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.execution.guards import DEFAULT_GUARDS
from autobot.execution.telemetry import ACTION_OUTCOMES
from autobot.journal.records import Outcome
from autobot.metrics import (
    DaemonMetrics,
    DomainSample,
    DomainSampler,
    RefundSample,
    make_registry,
    sample_from_snapshot,
)
from autobot.planning import autoclose, draws, feeds, plan, refunds
from autobot.planning.plan import ACTION_KINDS


def test_known_guards_and_action_outcomes_start_at_zero() -> None:
    registry = make_registry(process_collectors=False)
    metrics = DaemonMetrics(
        registry, guards=["expiry"], action_kinds=["refund"], action_outcomes=["failure", "moot"]
    )
    assert registry.get_sample_value("autobot_guard_refusals_total", {"guard": "expiry"}) == 0
    for outcome in ("failure", "moot"):
        labels = {"kind": "refund", "outcome": outcome}
        assert registry.get_sample_value("autobot_actions_total", labels) == 0
    metrics.actions.labels("refund", "failure").inc()
    labels = {"kind": "refund", "outcome": "failure"}
    assert registry.get_sample_value("autobot_actions_total", labels) == 1


def test_without_known_values_no_series_is_made_up() -> None:
    registry = make_registry(process_collectors=False)
    DaemonMetrics(registry)
    names = {s.name for family in registry.collect() for s in family.samples}
    assert "autobot_actions_total" not in names
    assert "autobot_guard_refusals_total" not in names


def test_the_outcomes_are_the_journals_and_parked() -> None:
    assert set(ACTION_OUTCOMES) == {o.value for o in Outcome} | {"parked"}
    assert {g.name for g in DEFAULT_GUARDS} == {
        "expiry", "failure_budget", "allowed_action", "pending_slot", "timelock_policy"
    }  # fmt: skip


def test_the_action_kinds_are_the_planners_kinds_and_the_key_table() -> None:
    planners = {autoclose.KIND, draws.DRAW, draws.SCHEDULE, draws.WINNERS, draws.CANCEL}
    planners |= {refunds.KIND, feeds.KIND}
    assert planners <= set(ACTION_KINDS)
    assert plan.__doc__ is not None
    table = re.findall(r"^``(\w+)``\s", plan.__doc__, re.MULTILINE)
    assert table == list(ACTION_KINDS)


def test_lottery_series_exist_only_while_the_lottery_is_live() -> None:
    winners = WinnerProgress(
        initialized=True, total_required=3, total_assigned=3, payout_round=1, next_winner_batch_no=3
    )
    chain = snapshot(
        lottery(1, LotteryStatus.PAYOUT, winners=winners),  # live, winners computed
        lottery(2, LotteryStatus.FINALIZED, winners=winners),  # done: its gap stays on chain
        canceled(3, winners=winners, tickets=10, refund_round=1, tickets_refunded=4),  # refunding
        canceled(  # refunded in full, not archived yet: the refund is no longer open
            4,
            tickets=10,
            proceeds=1_000,
            refund_round=1,
            tickets_refunded=10,
            prize_refunded=1_000,
            last_refund_ts=NOW - 5,
        ),
        lottery(5, LotteryStatus.ACTIVE),  # no winners yet
    )
    sample = sample_from_snapshot(chain, operator_names={}, feed_updates_total={})
    assert sample.payout_round_gaps == ((1, 2),)
    assert [(r.lottery_id, r.round, r.remaining) for r in sample.refunds] == [(3, 1, 6)]


def test_a_sampler_kept_across_sweeps_gives_what_a_fresh_sample_gives() -> None:
    """``DomainSampler`` derives a lottery's rows again only when its view is replaced; kept
    views (the same objects) still see the chain's time move (a refund's SLA breach), and a
    lottery gone or replaced leaves no stale row."""
    winners = WinnerProgress(
        initialized=True, total_required=3, total_assigned=3, payout_round=1, next_winner_batch_no=3
    )
    paying = lottery(1, LotteryStatus.PAYOUT, winners=winners)
    refunding = canceled(3, tickets=10, refund_round=1, tickets_refunded=4)
    by_hand = lottery(5, LotteryStatus.ACTIVE, auto_close=False)
    sweeps = [
        snapshot(paying, refunding, by_hand),
        snapshot(paying, refunding, by_hand, now=NOW + 2 * 86_400),  # past the full-refund SLA
        snapshot(
            lottery(1, LotteryStatus.FINALIZED, winners=winners),  # replaced: its gap goes
            refunding,
            lottery(6, LotteryStatus.ACTIVE, auto_close=False),  # 5 gone, 6 new
            now=NOW + 2 * 86_400,
        ),
    ]
    sampler = DomainSampler()
    seen = []
    for chain in sweeps:
        kept = sampler.sample(chain, operator_names={}, feed_updates_total={})
        assert kept == sample_from_snapshot(chain, operator_names={}, feed_updates_total={})
        seen.append(
            ([r.sla_breach for r in kept.refunds], kept.payout_round_gaps, kept.auto_close_disabled)
        )
    assert seen == [
        ([False], ((1, 2),), (5,)),
        ([True], ((1, 2),), (5,)),
        ([True], (), (6,)),
    ]


def _full_sample() -> DomainSample:
    """Every per-lottery family with series, values of every shape the encoders write."""
    values = (0.0, 1.0, 0.25, -3.5, 1_796_564_940.0, 1e-7, 123_456_789.0, math.inf, math.nan)
    report = PlaybookReport(
        sales_rate=dict(enumerate(values, start=100)),
        payout_finalize_pending={1: 7_200},
        payout_rounds={1: 2, 2: 0},
        accounting_mismatch={3: 1},
        purchases_seen=5,
    )
    return DomainSample(
        refunds=(
            RefundSample(
                lottery_id=3, round=1, remaining=6, last_ts=1_796_564_940, sla_breach=True
            ),
        ),
        payout_round_gaps=((1, 2), (2, 0)),
        auto_close_disabled=(9,),
        overview={"total": 10},
        features={1: True},
        playbook=report,
    )


@pytest.mark.parametrize("accept", ["", "application/openmetrics-text; version=1.0.0"])
def test_metrics_render_writes_what_the_encoder_writes(accept: str) -> None:
    """``/metrics`` writes the per-lottery families itself (10,000 lotteries made it 56 ms):
    the same families, series, values and help as ``prometheus_client``'s encoders."""
    registry = make_registry(process_collectors=False)
    metrics = DaemonMetrics(registry, guards=["expiry"])
    metrics.snapshot.update(_full_sample())
    encoder, _ = choose_encoder(accept)
    fast = metrics.snapshot.render(encoder, registry).decode()
    plain = encoder(registry).decode()
    parse = openmetrics_families if accept else text_families

    def families(text: str) -> list[tuple[str, str, str, list[str]]]:
        return sorted(
            (f.name, f.type, f.documentation, sorted(repr(s[:3]) for s in f.samples))
            for f in parse(text)
        )

    assert families(fast) == families(plain)
    assert sorted(fast.splitlines()) == sorted(plain.splitlines())  # byte for byte, line by line
    assert 'sales_rate{lottery_id="104"} 1.79656494e+09' in fast
    if accept:
        assert fast.endswith("# EOF\n") and fast.count("# EOF") == 1
