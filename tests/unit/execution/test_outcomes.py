"""What an abort means for a plan (docs/decisions.md §9)."""

from __future__ import annotations

import pytest

from autobot.domain import calls as c
from autobot.execution.outcomes import Verdict, backoff_seconds, classify_abort

DRAW = c.request_draw_admin(1, 100, 7, 6, 1)


@pytest.mark.parametrize("code", [0x1709, 0x1A07, 0x1809, 0x170D])
def test_not_yet_codes_mean_wait(code: int) -> None:
    assert classify_abort(code, DRAW) is Verdict.WAIT


def test_vrf_pending_on_a_draw_request_escalates() -> None:
    assert classify_abort(0x1701, DRAW) is Verdict.ESCALATE


def test_vrf_pending_elsewhere_is_an_ordinary_failure() -> None:
    assert classify_abort(0x1701, c.compute_winners_admin(1, 10)) is Verdict.FAIL


def test_any_other_abort_means_the_plan_cannot_run() -> None:
    assert classify_abort(0x1204, c.advance_status(1, 2)) is Verdict.FAIL


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(n, base=15, cap=100) for n in range(5)] == [15, 30, 60, 100, 100]
