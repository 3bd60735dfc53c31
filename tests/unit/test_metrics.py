"""What ``autobot.metrics`` exports: lottery series only while the lottery is live, and the
daemon's counters with known label values at 0 before their first event.

``increase()`` cannot see the first event of a series that appears at 1 (there is no earlier
sample to compare with), so ``AutobotActionsFailing`` would miss the first failed action of each
kind, and a guard's first refusal would not show in a rate. ``DaemonMetrics`` therefore starts the
series it can know: one per guard, one per action kind and outcome.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).parent / "planning"))
from plan_builders import NOW, canceled, lottery, snapshot

from autobot.domain.draws import WinnerProgress
from autobot.domain.lotteries import LotteryStatus
from autobot.execution.guards import DEFAULT_GUARDS
from autobot.execution.telemetry import ACTION_OUTCOMES
from autobot.journal.records import Outcome
from autobot.metrics import DaemonMetrics, make_registry, sample_from_snapshot
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
