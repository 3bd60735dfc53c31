"""The planning contract: action keys, recipes (calls, goals, JSON), planned actions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plan_builders import NOW, OPERATOR, bot, canceled, feed, lottery, requested, snapshot

from autobot.domain.actions import ActionId, ActionKind, Subject
from autobot.domain.draws import VrfState, VrfStatus, WinnerProgress
from autobot.domain.lotteries import LotteryStatus
from autobot.planning import (
    ActionKey,
    AutoClose,
    Cancel,
    ClearClamp,
    ComputeWinners,
    PlannedAction,
    Recipe,
    RefundPlan,
    RequestDraw,
    RotateBot,
    ScheduleManualRetry,
    SetFallback,
    recipe_from_json,
)

u64 = st.integers(min_value=0, max_value=2**40)
u8 = st.integers(min_value=0, max_value=255)
ids = st.integers(min_value=1, max_value=10_000)

recipes: st.SearchStrategy[Recipe] = st.one_of(
    st.builds(AutoClose, lottery_id=ids),
    st.builds(
        RequestDraw,
        lottery_id=ids,
        closing_block_height=u64,
        chain_id=u8,
        num_confirmations=st.integers(1, 20),
        attempt=st.integers(0, 5),
    ),
    st.builds(ScheduleManualRetry, lottery_id=ids, attempt=st.integers(0, 5), delay_secs=u64),
    st.builds(
        ComputeWinners,
        lottery_id=ids,
        batch_limit=st.integers(1, 100),
        batches=st.integers(1, 20),
        start_batch_no=u64,
    ),
    st.builds(
        RefundPlan,
        lottery_id=ids,
        batches=st.lists(st.tuples(u64, u64, u64, u64), max_size=5).map(tuple),
        cooldown_secs=u64,
        not_before=u64,
        canceled_ts=u64,
        archive=st.booleans(),
    ),
    st.builds(Cancel, lottery_id=ids, reason=st.integers(1, 255)),
    st.builds(SetFallback, asset_id=ids, active=st.booleans(), reason=u8),
    st.builds(ClearClamp, asset_id=ids),
    st.builds(
        RotateBot,
        operator=st.just(OPERATOR),
        cron_spec_hex=st.binary(max_size=16).map(bytes.hex),
        allowed_actions=st.lists(st.integers(1, 7), min_size=1, max_size=7).map(tuple),
        timelock_secs=u64,
        max_failures=st.integers(1, 100),
        expires_at=u64,
    ),
)


@given(recipes)
def test_every_recipe_survives_a_json_round_trip_through_text(recipe: Recipe) -> None:
    # given a recipe, when it goes to JSON text and back
    text = json.dumps(recipe.to_json())
    # then the same recipe comes back
    assert recipe_from_json(json.loads(text)) == recipe


@given(recipes, u64)
def test_recipe_calls_are_a_pure_function_of_execute_at(recipe: Recipe, execute_at: int) -> None:
    assert recipe.calls(execute_at) == recipe_from_json(recipe.to_json()).calls(execute_at)


@given(st.sampled_from(ActionKind), u64, u64)
def test_action_key_text_parses_back_to_the_same_key(kind: ActionKind, id_: int, r: int) -> None:
    subject: int | str = OPERATOR if kind.subject is Subject.OPERATOR else id_
    key = ActionKey(kind, subject, r)
    assert ActionKey.parse(str(key)) == key
    assert ActionKey.parse(str(key)).kind is kind


def test_an_action_key_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        ActionKey("launch", 4, 1)  # type: ignore[arg-type]


def test_action_key_text_form_is_kind_subject_round() -> None:
    assert str(ActionKey("refund", 4, 1)) == "refund:4:1"


def test_action_key_refuses_a_colon_in_its_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        ActionKey("re:fund", 4, 1)


def test_keys_of_one_kind_and_subject_are_the_same_work_in_any_round() -> None:
    assert ActionKey("draw", 3, 1).same_work(ActionKey("draw", 3, 2))
    assert not ActionKey("draw", 3, 1).same_work(ActionKey("draw", 4, 1))


def test_an_unknown_recipe_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown recipe type"):
        recipe_from_json({"type": "launch_rockets"})


def test_a_recipe_with_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown close recipe fields"):
        recipe_from_json({"type": "close", "lottery_id": 1, "extra": 2})


def test_a_recipes_type_is_its_kind() -> None:
    assert AutoClose(lottery_id=1).to_json() == {"type": "close", "lottery_id": 1}
    with pytest.raises(ValueError, match="unknown recipe type 'auto_close'"):
        recipe_from_json({"type": "auto_close", "lottery_id": 1})  # schema 1's spelling


def test_a_planned_action_must_carry_its_recipes_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        PlannedAction(
            key=ActionKey("cancel", 1, 1),
            recipe=AutoClose(lottery_id=1),
            due_at=NOW,
            reason="",
        )


def test_recipes_map_to_the_decisions_action_ids() -> None:
    assert AutoClose(lottery_id=1).action_id == ActionId.AUTO_CLOSE
    assert ComputeWinners(lottery_id=1, batch_limit=1, batches=1).action_id == ActionId.RETRY_VRF
    assert RefundPlan(lottery_id=1, batches=()).action_id == ActionId.PAYOUT_BATCH
    assert Cancel(lottery_id=1, reason=1).action_id == ActionId.CANCEL
    assert SetFallback(asset_id=1, active=True, reason=1).action_id is None
    assert ClearClamp(asset_id=1).KIND is ActionKind.CLAMP


def test_refund_plan_spreads_batches_by_the_cooldown_and_archives_after_the_last() -> None:
    # given two batches under a 60 s cooldown
    plan = RefundPlan(lottery_id=4, batches=((1, 5, 400, 100), (2, 5, 400, 100)), cooldown_secs=60)
    # when materialised at 1000
    calls = plan.calls(1_000)
    # then batch i carries timestamp 1000 + 60 i, equal to its not_before, then the archive
    assert [t.not_before for t in calls] == [1_000, 1_060, 1_060]
    assert calls[0].call.render().endswith("u64:1000)")
    assert calls[1].call.render().endswith("u64:1060)")
    assert calls[2].call.render() == "payouts::archive_canceled_lottery_admin(u64:4, u64:1060)"


def test_refund_plan_never_stamps_before_its_floor_or_archives_before_the_cancel() -> None:
    plan = RefundPlan(lottery_id=4, batches=((1, 5, 1, 0),), not_before=2_000, canceled_ts=1_500)
    batch, archive = plan.calls(1_000)
    assert batch.not_before == 2_000
    assert archive.call.render().endswith("u64:2000)")
    only_archive = RefundPlan(lottery_id=4, batches=(), canceled_ts=3_000)
    (call,) = only_archive.calls(1_000)
    assert call.call.render().endswith("u64:3000)")


def test_compute_winners_is_one_call_per_batch() -> None:
    calls = ComputeWinners(lottery_id=1, batch_limit=50, batches=3).calls(NOW)
    assert [t.call.render() for t in calls] == ["payouts::compute_winners_admin(u64:1, u64:50)"] * 3


def test_rotate_bot_is_co_signed_by_its_operator() -> None:
    recipe = RotateBot(
        operator=OPERATOR,
        cron_spec_hex=b"x".hex(),
        allowed_actions=(1, 2),
        timelock_secs=60,
        max_failures=3,
        expires_at=NOW + 10,
    )
    (timed,) = recipe.calls(NOW)
    assert timed.secondary == (OPERATOR,)
    assert timed.call.needs_operator


def test_auto_close_goal_is_reached_once_the_lottery_left_active() -> None:
    recipe = AutoClose(lottery_id=1)
    assert not recipe.goal_reached(snapshot(lottery(1, LotteryStatus.ACTIVE)))
    assert recipe.goal_reached(snapshot(lottery(1, LotteryStatus.CLOSING)))


def test_request_draw_goal_is_reached_once_the_attempt_advanced() -> None:
    recipe = RequestDraw(
        lottery_id=1, closing_block_height=1, chain_id=6, num_confirmations=1, attempt=1
    )
    assert not recipe.goal_reached(snapshot(requested(1, attempt=1)))
    assert recipe.goal_reached(snapshot(requested(1, attempt=2)))
    drawn = lottery(1, LotteryStatus.DRAWN, vrf=VrfState(status=VrfStatus.FULFILLED, attempt=1))
    assert recipe.goal_reached(snapshot(drawn))


def test_refund_plan_goal_is_reached_when_the_lottery_is_not_canceled() -> None:
    recipe = RefundPlan(lottery_id=4, batches=((1, 10, 1_000, 0),))
    assert not recipe.goal_reached(snapshot(canceled(4)))
    assert recipe.goal_reached(snapshot(lottery(4, LotteryStatus.FINALIZED)))


def test_cancel_goal_is_reached_once_canceled() -> None:
    recipe = Cancel(lottery_id=3, reason=1)
    assert not recipe.goal_reached(snapshot(requested(3)))
    assert recipe.goal_reached(snapshot(canceled(3)))


def test_fallback_and_clamp_goals_read_the_feed() -> None:
    assert SetFallback(asset_id=1, active=True, reason=1).goal_reached(
        snapshot(feeds=(feed(1, fallback=True),))
    )
    assert not SetFallback(asset_id=1, active=False, reason=0).goal_reached(
        snapshot(feeds=(feed(1, fallback=True),))
    )
    assert not ClearClamp(asset_id=1).goal_reached(snapshot(feeds=(feed(1, clamped=True),)))
    assert ClearClamp(asset_id=1).goal_reached(snapshot(feeds=(feed(1),)))


def test_rotate_goal_is_reached_when_the_bot_shows_the_new_policy() -> None:
    recipe = RotateBot(
        operator=OPERATOR,
        cron_spec_hex=b"*/5 * * * *".hex(),
        allowed_actions=(1, 2, 6, 7),
        timelock_secs=900,
        max_failures=9,
        expires_at=NOW + 30 * 86_400,
    )
    assert not recipe.goal_reached(snapshot(bots=(bot(max_failures=5),)))
    assert recipe.goal_reached(snapshot(bots=(bot(max_failures=9),)))


def test_a_refund_plan_counts_the_rounds_the_chain_already_recorded() -> None:
    # given a plan for rounds 1..3 and the chain at round 2
    plan = RefundPlan(lottery_id=4, batches=((1, 4, 1, 0), (2, 4, 1, 0), (3, 2, 1, 0)))
    view = canceled(4, refund_round=2, tickets_refunded=8, prize_refunded=2)
    # then two leading calls are done and the executor resumes at round 3
    assert plan.call_count == 4
    assert plan.calls_done(snapshot(view)) == 2


def test_winner_batches_done_are_read_from_the_next_batch_number() -> None:
    recipe = ComputeWinners(lottery_id=1, batch_limit=10, batches=3, start_batch_no=1)
    progress = WinnerProgress(
        initialized=True, total_required=40, total_assigned=20, next_winner_batch_no=2
    )
    view = lottery(1, LotteryStatus.DRAWN, winners=progress)
    assert recipe.calls_done(snapshot(view)) == 1
    assert recipe.calls_done(snapshot(lottery(1, LotteryStatus.PAYOUT))) == 3


def test_a_single_call_recipe_is_done_when_its_goal_holds() -> None:
    recipe = AutoClose(lottery_id=1)
    assert recipe.calls_done(snapshot(lottery(1))) == 0
    assert recipe.calls_done(snapshot(lottery(1, LotteryStatus.CLOSING))) == 1
