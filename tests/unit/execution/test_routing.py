"""Routing (docs/decisions.md §8): smallest timelock, sensitive ids only to >= 900 s, one slot each."""

from __future__ import annotations

from autobot.domain.bots import Bot
from autobot.execution.guards import Guards
from autobot.execution.routing import Router

FAST, SLOW, SAFE = ("0x" + c * 64 for c in "123")
NOW = 500


def bot(operator: str, timelock: int, allowed: tuple[int, ...] = (1, 2), **kw: object) -> Bot:
    fields: dict[str, object] = {"max_failures": 3, "expires_at": 10_000} | kw
    return Bot(operator=operator, allowed_actions=allowed, timelock_secs=timelock, **fields)  # type: ignore[arg-type]


def router(*operators: str) -> Router:
    return Router(guards=Guards(), operators=operators or (FAST, SLOW, SAFE))


def test_the_allowed_bot_with_the_smallest_timelock_wins() -> None:
    bots = [bot(SLOW, 300), bot(FAST, 0)]
    assert router().route(1, bots, now=NOW).bot == bots[1]


def test_sensitive_actions_go_only_to_bots_with_at_least_900_seconds() -> None:
    bots = [bot(FAST, 0, (6,)), bot(SLOW, 600, (6,)), bot(SAFE, 900, (6,))]
    route = router().route(6, bots, now=NOW)
    assert route.bot is not None and route.bot.operator == SAFE


def test_a_bot_without_the_action_is_no_candidate() -> None:
    route = router().route(7, [bot(FAST, 0), bot(SLOW, 900)], now=NOW)
    assert route.bot is None and route.refusals == ()


def test_bots_whose_key_autobot_lacks_are_not_used() -> None:
    route = router(SLOW).route(1, [bot(FAST, 0), bot(SLOW, 300)], now=NOW)
    assert route.bot is not None and route.bot.operator == SLOW


def test_a_busy_timelocked_bot_is_skipped_for_the_next_one() -> None:
    bots = [bot(FAST, 60), bot(SLOW, 300)]
    route = router().route(1, bots, now=NOW, busy={FAST})
    assert route.bot is not None and route.bot.operator == SLOW
    assert route.busy == (FAST,)


def test_a_timelock_0_bot_has_no_slot_and_is_never_busy() -> None:
    route = router().route(1, [bot(FAST, 0)], now=NOW, busy={FAST})
    assert route.bot is not None and route.bot.operator == FAST


def test_a_refused_bot_is_passed_over_and_the_refusal_kept() -> None:
    bots = [bot(FAST, 0, expires_at=NOW - 1), bot(SLOW, 300)]
    route = router().route(1, bots, now=NOW)
    assert route.bot is not None and route.bot.operator == SLOW
    [(operator, refused)] = route.refusals
    assert (operator, refused.guard) == (FAST, "expiry")


def test_a_timelocked_bot_with_a_foreign_pending_hash_is_refused() -> None:
    held = bot(FAST, 60, pending_action_hash=b"\x01" * 32, has_pending=True)
    route = router().route(1, [held], now=NOW)
    assert route.bot is None
    assert "pending slot" in route.reason


def test_ties_go_to_the_lower_address() -> None:
    route = router().route(1, [bot(SLOW, 0), bot(FAST, 0)], now=NOW)
    assert route.bot is not None and route.bot.operator == FAST
