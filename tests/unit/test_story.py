"""The story: one plain line per lottery change, announcement, feed or bot change, times labelled."""

from __future__ import annotations

import re
from dataclasses import replace

from plan_builders import NOW, bot, canceled, feed, lottery, requested, snapshot

from autobot.domain.actions import ActionKind
from autobot.domain.draws import VrfState, VrfStatus, WinnerProgress
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.refunds import Cancellation
from autobot.hints import Hints
from autobot.journal.records import ActionRecord, ActionState
from autobot.status.moments import ClockLine, Clocks
from autobot.story import Story

A = "0x" + "a" * 64
B = "0x" + "b" * 64
CLOCKS = Clocks(chain_now=NOW, wall_now=1_000.0, line=ClockLine(chain=NOW, wall=1_000.0, rate=60.0))
RAW_TIME = re.compile(r"\b1\d{9}\b")


def _texts(story: Story, *lotteries: object, **kw: object) -> list[str]:
    snap = snapshot(*lotteries, **kw)  # type: ignore[arg-type]
    return [line.text for line in story.observe(snap, open_actions=(), clocks=CLOCKS)]


def test_the_first_look_is_one_line_however_many_lotteries() -> None:
    story = Story(operator_names={A: "A"})
    views = [lottery(i) for i in range(1, 40)]
    (line,) = _texts(story, *views, bots=(bot(A),))
    assert line.startswith("watching 39 live lotteries (39 ACTIVE); bots A (0xaaaa…aaaa)")


def test_each_lottery_change_is_one_line_with_every_step_since_the_last_look() -> None:
    story = Story(operator_names={})
    _texts(story, lottery(2, LotteryStatus.CLOSING))
    drawn = lottery(
        2,
        LotteryStatus.DRAWN,
        vrf=VrfState(status=VrfStatus.FULFILLED, attempt=1, consumed=False),
    )
    assert _texts(story, drawn) == [
        "lottery 2: draw requested (VRF attempt 1) → random numbers received (VRF attempt 1)"
    ]
    assert _texts(story, drawn) == []  # nothing new: nothing said
    paid = replace(
        drawn,
        status=LotteryStatus.PAYOUT,
        winners=WinnerProgress(initialized=True, total_required=3, total_assigned=3),
    )
    assert _texts(story, paid) == [
        "lottery 2: winners computed (3 assigned) → PAYOUT: payouts are the treasury's"
    ]


def test_vrf_retries_then_the_cancel_read_as_the_demo_tells_them() -> None:
    story = Story(operator_names={})
    _texts(story, requested(3, attempt=1))
    assert _texts(story, requested(3, attempt=3)) == [
        "lottery 3: no VRF callback for attempt 1: attempt 2 requested → "
        "no VRF callback for attempt 2: attempt 3 requested"
    ]
    _texts(story, requested(3, attempt=5))
    gone = replace(
        canceled(3, previous=LotteryStatus.DRAW_REQUESTED),
        vrf=VrfState(status=VrfStatus.REQUESTED, attempt=5),
        cancellation=Cancellation(
            reason_code=1, canceled_ts=NOW, previous_status=LotteryStatus.DRAW_REQUESTED
        ),
    )
    assert _texts(story, gone) == [
        "lottery 3: VRF attempt 5 failed → cancelled (reason 1: vrf failure)"
    ]


def test_a_refund_in_several_rounds_then_the_archive_is_one_line() -> None:
    story = Story(operator_names={})
    _texts(story, canceled(4, tickets=1_234))
    done = replace(
        canceled(4, tickets=1_234, refund_round=3, tickets_refunded=1_234), archived=True
    )
    assert _texts(story, done) == [
        "lottery 4: refund rounds 1 to 3: 1234/1234 tickets refunded → archived"
    ]


def test_a_kept_view_is_not_looked_at_again_and_a_lottery_back_from_absence_tells_its_steps() -> (
    None
):
    """Only views replaced since the last sweep are compared (a kept view is the same object); a
    lottery missing from one sweep's views is compared with its last look when it comes back."""
    story = Story(operator_names={})
    kept = lottery(5)
    _texts(story, kept, lottery(6))
    assert _texts(story, kept, lottery(6)) == []  # kept, and replaced by an equal view
    assert _texts(story, kept) == []  # lottery 6 out of the views for a sweep
    closed = lottery(6, LotteryStatus.CLOSING)
    assert _texts(story, kept, closed) == ["lottery 6: sales closed"]
    assert _texts(story, kept, closed) == []


def _action(state: ActionState, **kw: object) -> ActionRecord:
    values: dict[str, object] = {
        "key": "refund:3:1", "kind": ActionKind.REFUND, "subject_id": 3, "action_id": 6,
        "recipe": "{}", "reason": "r", "due_at": NOW, "state": state, "operator": A,
        "timelock_secs": 900, "execute_at": NOW + 900, "action_hash": b"\x01" * 32,
        "calls": None, "progress": 0, "outcome": None, "attempts": 0, "next_check_at": None,
        "error_code": None, "error_name": None, "error_message": None, "created_wall": 1.0,
        "updated_wall": 1.0, "created_chain": NOW, "updated_chain": NOW,
    } | kw  # fmt: skip
    return ActionRecord(**values)  # type: ignore[arg-type]


def test_an_announcement_says_its_bot_and_when_it_executes_on_both_clocks() -> None:
    story = Story(operator_names={A: "A"})
    snap = snapshot()
    story.observe(snap, open_actions=(_action(ActionState.ANNOUNCED),), clocks=CLOCKS)
    (line,) = story.observe(snap, open_actions=(_action(ActionState.WAITING),), clocks=CLOCKS)
    assert line.text == (
        "lottery 3: refund plan refund:3:1 announced by bot A (0xaaaa…aaaa), executes in 15 s "
        "(expected 1970-01-01 00:16:55 UTC; chain time "
        f"{CLOCKS.moment(NOW + 900).split('chain time ')[1]}"
    )
    assert story.observe(snap, open_actions=(_action(ActionState.WAITING),), clocks=CLOCKS) == []


def test_a_clamp_says_the_threshold_and_the_command_that_clears_it() -> None:
    story = Story(operator_names={}, hints=Hints(prog=".venv/bin/autobot"))
    _texts(story, feeds=(feed(2),))
    (line,) = _texts(story, feeds=(feed(2, clamped=True),))
    assert line == (
        "asset 2: CLAMPED: an update moved the price by more than 20.0 %; the package keeps "
        "100000 and refuses readers — check the price, then `.venv/bin/autobot feed clear-clamp 2`"
    )
    assert _texts(story, feeds=(feed(2),)) == ["asset 2: clamp cleared"]


def test_failures_autobot_did_not_record_are_said_to_be_someone_elses() -> None:
    story = Story(operator_names={B: "B"})
    _texts(story, bots=(bot(B, max_failures=3),))
    lines = story.observe(
        snapshot(bots=(bot(B, max_failures=3, failures=3),)),
        open_actions=(),
        clocks=CLOCKS,
        own_failures={B: 1},
    )
    (line,) = lines
    assert line.warning
    assert line.text == (
        "bot B (0xbbbb…bbbb): failures 0 → 3 of 3 (2 NOT recorded by autobot: someone else "
        "signs with this key) — LOCKED OUT: the chain refuses its announcements; "
        "`autobot bot history B`"
    )


def test_no_story_line_carries_a_raw_unix_time() -> None:
    story = Story(operator_names={A: "A"})
    _texts(story, requested(3), canceled(4), bots=(bot(A),), feeds=(feed(1),))
    lines = _texts(
        story,
        canceled(3),
        replace(canceled(4, refund_round=1, tickets_refunded=10), archived=True),
        bots=(bot(A, failures=1),),
        feeds=(feed(1, clamped=True, age=999),),
    )
    lines += [
        line.text
        for line in story.observe(
            snapshot(), open_actions=(_action(ActionState.WAITING),), clocks=CLOCKS
        )
    ]
    assert lines and not [line for line in lines if RAW_TIME.search(line)]
