"""What an abort means for a plan (docs/decisions.md §9)."""

from __future__ import annotations

import pytest

from autobot.domain import calls as c
from autobot.execution.outcomes import Verdict, backoff_seconds, classify_abort

DRAW = c.request_draw_admin(1, 100, 7, 6, 1)


@pytest.mark.parametrize("code", [0x1709, 0x1A07, 0x1809, 0x170D])
def test_not_yet_codes_mean_wait(code: int) -> None:
    assert classify_abort(code, DRAW) is Verdict.WAIT


@pytest.mark.parametrize("code", [0x1401, 0x1402, 0x1403])
def test_the_feature_switch_refusing_a_call_is_never_a_failure(code: int) -> None:
    # pre-flight reads the switch first; met anyway (it turned meanwhile), the call waits
    assert classify_abort(code, DRAW) is Verdict.WAIT


def test_an_exhaustion_cancel_is_logged_as_a_cancellation() -> None:
    from autobot.execution.outcomes import executed_incident
    from autobot.planning.recipes import RequestDraw

    recipe = RequestDraw(lottery_id=3, closing_block_height=1, chain_id=6, num_confirmations=1,
                         attempt=5)  # fmt: skip
    logged = executed_incident(recipe.calls(100)[0].call, recipe)
    assert logged is not None and logged[0] == "Cancellation"
    assert "lottery 3 cancelled with reason 1" in logged[1]
    first = RequestDraw(lottery_id=3, closing_block_height=1, chain_id=6, num_confirmations=1,
                        attempt=0)  # fmt: skip
    assert executed_incident(first.calls(100)[0].call, first) is None
    fallback = c.set_fallback(2, False, 1)
    assert executed_incident(fallback, recipe) == ("Инцидент", "")


def test_vrf_pending_on_a_draw_request_escalates() -> None:
    assert classify_abort(0x1701, DRAW) is Verdict.ESCALATE


def test_vrf_pending_elsewhere_is_an_ordinary_failure() -> None:
    assert classify_abort(0x1701, c.compute_winners_admin(1, 10)) is Verdict.FAIL


def test_any_other_abort_means_the_plan_cannot_run() -> None:
    assert classify_abort(0x1204, c.advance_status(1, 2)) is Verdict.FAIL


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(n, base=15, cap=100) for n in range(5)] == [15, 30, 60, 100, 100]
