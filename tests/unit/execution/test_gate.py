"""The executor's concurrency limit: the most urgent waiter goes first; cancellations lose nothing."""

from __future__ import annotations

import asyncio

import pytest

from autobot.domain.actions import ActionKey, ActionKind
from autobot.execution.gate import PriorityGate


async def test_a_freed_place_goes_to_the_most_urgent_waiter_then_in_arrival_order() -> None:
    gate = PriorityGate(1)
    order: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.slot(2):
            await release.wait()

    async def waiter(name: str, priority: int) -> None:
        async with gate.slot(priority):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    tasks = [
        asyncio.create_task(waiter(name, prio))
        for name, prio in (("winners-1", 2), ("record", 2), ("close", 0), ("draw", 1))
    ]
    await asyncio.sleep(0)
    assert gate.held == 1 and gate.waiting == 4
    release.set()
    await asyncio.gather(first, *tasks)
    assert order == ["close", "draw", "winners-1", "record"]
    assert gate.held == 0 and gate.waiting == 0


async def test_no_more_than_the_limit_hold_a_place_at_once() -> None:
    gate = PriorityGate(3)
    inside = peak = 0

    async def step(priority: int) -> None:
        nonlocal inside, peak
        async with gate.slot(priority):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(step(i % 3) for i in range(30)))
    assert peak == 3 and gate.held == 0


async def test_a_cancelled_waiter_leaves_its_turn_to_the_next() -> None:
    gate = PriorityGate(1)
    release = asyncio.Event()
    got: list[str] = []

    async def holder() -> None:
        async with gate.slot(0):
            await release.wait()

    async def waiter(name: str, priority: int) -> None:
        async with gate.slot(priority):
            got.append(name)

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    urgent = asyncio.create_task(waiter("urgent", 0))
    later = asyncio.create_task(waiter("later", 2))
    await asyncio.sleep(0)
    urgent.cancel()  # its task stops before it got the place
    release.set()
    await asyncio.gather(held, later)
    with pytest.raises(asyncio.CancelledError):
        await urgent
    assert got == ["later"] and gate.held == 0


async def test_a_waiter_cancelled_after_it_was_granted_passes_the_place_on() -> None:
    gate = PriorityGate(1)
    got: list[str] = []

    async def waiter(name: str) -> None:
        async with gate.slot(1):
            got.append(name)

    async with gate.slot(0):
        granted = asyncio.create_task(waiter("granted"))
        other = asyncio.create_task(waiter("other"))
        await asyncio.sleep(0)
    # the place was handed to ``granted``; it is cancelled before it runs again
    granted.cancel()
    await other
    with pytest.raises(asyncio.CancelledError):
        await granted
    assert got == ["other"] and gate.held == 0


def test_closes_go_before_draws_before_everything_else() -> None:
    def priority(text: str) -> int:
        return ActionKey.parse(text).kind.priority

    assert priority("close:851:0") < priority("draw:840:1")
    assert priority("draw:840:1") < priority("winners:812:0")
    assert (
        priority("refund:7:1") == priority("rotate:0xab:3") == max(k.priority for k in ActionKind)
    )
    with pytest.raises(ValueError, match="at least 1"):
        PriorityGate(0)
    with pytest.raises(ValueError, match="negative"):
        PriorityGate(1, reserve=-1)


async def test_the_reserve_lets_urgent_steps_past_a_full_gate_and_no_one_else() -> None:
    # given: one place plus one reserved for priority 0, held by a slow step
    gate = PriorityGate(1, reserve=1)
    release = asyncio.Event()
    got: list[str] = []

    async def holder() -> None:
        async with gate.slot(2):
            await release.wait()

    async def step(name: str, priority: int, hold: asyncio.Event | None = None) -> None:
        async with gate.slot(priority):
            got.append(name)
            if hold is not None:
                await hold.wait()

    slow = asyncio.create_task(holder())
    await asyncio.sleep(0)
    # when: a draw and a close arrive while the place is held
    draw = asyncio.create_task(step("draw", 1))
    second_close_held = asyncio.Event()
    close = asyncio.create_task(step("close", 0, second_close_held))
    await asyncio.sleep(0)
    # then: the close went at once on the reserve; the draw waits for the place
    assert got == ["close"] and gate.held == 2
    another = asyncio.create_task(step("close-2", 0))
    await asyncio.sleep(0)
    assert got == ["close"]  # the reserve is used up: it waits, ahead of the draw
    release.set()
    second_close_held.set()
    await asyncio.gather(slow, draw, close, another)
    assert got == ["close", "close-2", "draw"] and gate.held == 0
