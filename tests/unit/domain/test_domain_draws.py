"""The draw: the retry schedule mirrors the package; VRF and winner predicates follow §6."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot.domain.draws import (
    RetryPolicy,
    RetryStrategy,
    VrfState,
    VrfStatus,
    WinnerProgress,
    compute_retry_schedule,
    retry_delay,
)


def test_exponential_schedule_matches_the_handbook_example() -> None:
    policy = RetryPolicy(
        strategy=RetryStrategy.EXPONENTIAL, base_delay_secs=300, max_delay_secs=1800
    )
    assert [compute_retry_schedule(policy, 1000, a) - 1000 for a in range(1, 6)] == [
        300,
        600,
        1200,
        1800,
        1800,
    ]


def test_fixed_schedule_always_waits_the_base_delay() -> None:
    policy = RetryPolicy(strategy=RetryStrategy.FIXED, base_delay_secs=600, max_delay_secs=600)
    assert {compute_retry_schedule(policy, 50, a) for a in range(1, 6)} == {650}


def test_manual_schedule_is_zero() -> None:
    policy = RetryPolicy(strategy=RetryStrategy.MANUAL, base_delay_secs=0, max_delay_secs=0)
    assert compute_retry_schedule(policy, 1234, 3) == 0


def test_saturation_uses_half_of_max_with_integer_division() -> None:
    # 500 > 1001 // 2 == 500? No: 500 is not > 500, so it doubles to 1000; then 1000 > 500 → max.
    policy = RetryPolicy(
        strategy=RetryStrategy.EXPONENTIAL, base_delay_secs=500, max_delay_secs=1001
    )
    assert [retry_delay(policy, a) for a in (1, 2, 3)] == [500, 1000, 1001]


def _move_reference(base: int, cap: int, attempt: int) -> int:
    """A literal transcription of draw.move's compute_retry_delay/saturating_double."""
    if attempt <= 1:
        return base
    delay = base
    for _ in range(1, attempt):
        if delay >= cap or delay > cap // 2:
            delay = cap
        else:
            delay = min(delay * 2, cap)
    return delay


@given(
    base=st.integers(1, 10**6),
    extra=st.integers(0, 10**7),
    attempt=st.integers(1, 255),
)
def test_exponential_delay_equals_the_move_transcription(
    base: int, extra: int, attempt: int
) -> None:
    policy = RetryPolicy(
        strategy=RetryStrategy.EXPONENTIAL, base_delay_secs=base, max_delay_secs=base + extra
    )
    assert retry_delay(policy, attempt) == _move_reference(base, base + extra, attempt)


def test_vrf_retry_blocked_only_inside_the_window() -> None:
    state = VrfState(status=VrfStatus.REQUESTED, attempt=1, consumed=False, retry_after_ts=100)
    assert state.retry_blocked(99) and not state.retry_blocked(100)
    assert state.retry_due(100) and not state.retry_due(99)
    assert not VrfState(status=VrfStatus.REQUESTED, consumed=False, retry_after_ts=0).retry_blocked(
        1
    )
    assert VrfState(status=VrfStatus.FULFILLED, consumed=False).fulfilled_pending
    assert VrfState(attempt=5).exhausted and not VrfState(attempt=4).exhausted


@pytest.mark.parametrize(
    ("progress", "pending", "backlog", "gap"),
    [
        (WinnerProgress(), False, False, 0),
        (
            WinnerProgress(
                initialized=True, total_required=3, total_assigned=1, next_winner_batch_no=1
            ),
            True,
            True,
            1,
        ),
        (
            WinnerProgress(
                initialized=True,
                total_required=3,
                total_assigned=3,
                next_winner_batch_no=2,
                payout_round=2,
            ),
            False,
            False,
            0,
        ),
    ],
)
def test_winner_progress_counters(
    progress: WinnerProgress, pending: bool, backlog: bool, gap: int
) -> None:
    assert progress.winners_pending is pending
    assert progress.payout_backlog is backlog
    assert progress.payout_round_gap == gap
