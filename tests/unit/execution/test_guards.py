"""Off-chain guards: ensure_action (§1.5) replicated, each refusal logged and counted."""

from __future__ import annotations

import pytest
import structlog
from prometheus_client import CollectorRegistry

from autobot.domain.bots import Bot
from autobot.errors import GuardRefused
from autobot.execution.guards import (
    AllowedActionGuard,
    ExpiryGuard,
    FailureBudgetGuard,
    GuardContext,
    Guards,
    PendingSlotGuard,
    TimelockPolicyGuard,
)
from autobot.execution.telemetry import PrometheusExecutionMetrics
from autobot.metrics import DaemonMetrics

OPERATOR = "0x" + "ab" * 32


def bot(**kw: object) -> Bot:
    fields: dict[str, object] = {
        "operator": OPERATOR,
        "allowed_actions": (1, 2),
        "timelock_secs": 0,
        "max_failures": 3,
        "expires_at": 1_000,
    }
    return Bot(**(fields | kw))  # type: ignore[arg-type]


def ctx(b: Bot, *, action_id: int = 1, now: int = 500, announcing: bool = False) -> GuardContext:
    return GuardContext(bot=b, action_id=action_id, now=now, announcing=announcing)


def test_expiry_allows_the_last_valid_second() -> None:
    assert ExpiryGuard().check(ctx(bot(), now=1_000)) is None


def test_expiry_refuses_after_expires_at() -> None:
    reason = ExpiryGuard().check(ctx(bot(), now=1_001))
    assert reason == "bot expired 1 s ago in chain time"


def test_the_failure_budget_refuses_at_the_limit() -> None:
    assert FailureBudgetGuard().check(ctx(bot(failure_count=2))) is None
    reason = FailureBudgetGuard().check(ctx(bot(failure_count=3)))
    assert reason is not None and "rotate_bot" in reason


def test_an_action_outside_the_allowed_list_is_refused() -> None:
    reason = AllowedActionGuard().check(ctx(bot(), action_id=7))
    assert reason is not None and "[1,2]" in reason


def test_the_pending_slot_matters_only_when_announcing() -> None:
    busy = bot(timelock_secs=900, pending_action_hash=b"\x01" * 32, has_pending=True)
    assert PendingSlotGuard().check(ctx(busy, announcing=False)) is None
    reason = PendingSlotGuard().check(ctx(busy, announcing=True))
    assert reason is not None and "0x" + "01" * 32 in reason


def test_a_bot_allowing_sensitive_ids_under_900_seconds_is_refused_for_every_action() -> None:
    breach = bot(allowed_actions=(1, 6), timelock_secs=600)
    reason = TimelockPolicyGuard().check(ctx(breach, action_id=1))
    assert reason is not None and "600 s < 900 s" in reason


def test_a_sensitive_bot_at_900_seconds_passes_the_policy() -> None:
    assert TimelockPolicyGuard().check(ctx(bot(allowed_actions=(6,), timelock_secs=900))) is None


def test_the_first_refusal_is_logged_and_counted() -> None:
    # given
    registry = CollectorRegistry()
    guards = Guards(metrics=PrometheusExecutionMetrics(DaemonMetrics(registry)))
    expired_and_locked = bot(failure_count=3)
    # when
    with structlog.testing.capture_logs() as logs:
        refused = guards.refusal(ctx(expired_and_locked, now=2_000), action_key="close:1:0")
    # then: the chain's order, expiry first
    assert refused is not None and refused.guard == "expiry"
    [event] = [e for e in logs if e["event"] == "guard_refused"]
    assert (event["guard"], event["action_key"]) == ("expiry", "close:1:0")
    assert "expired" in event["reason"]
    assert registry.get_sample_value("autobot_guard_refusals_total", {"guard": "expiry"}) == 1
    assert (
        registry.get_sample_value("autobot_guard_refusals_total", {"guard": "failure_budget"})
        is None
    )


def test_check_raises_guard_refused() -> None:
    with pytest.raises(GuardRefused) as refused:
        Guards().check(ctx(bot(), action_id=6))
    assert refused.value.guard == "allowed_action"


def test_a_live_allowed_bot_passes_every_guard() -> None:
    assert Guards().refusal(ctx(bot(), announcing=True)) is None
