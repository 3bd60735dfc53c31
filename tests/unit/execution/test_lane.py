"""The urgent lane: background steps give way to a sales close in flight, within bounds."""

from __future__ import annotations

import asyncio

import pytest

from autobot.chain.pacing import is_paced
from autobot.execution.lane import UnpacedLock, UrgentLane, relax


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _close_until(lane: UrgentLane, done: asyncio.Event) -> None:
    """An urgent step (a close) in flight until ``done`` is set."""
    with lane.step(urgent=True):
        await done.wait()


def _close_in_flight(lane: UrgentLane, done: asyncio.Event) -> asyncio.Task[None]:
    return asyncio.create_task(_close_until(lane, done))


async def test_a_background_step_waits_while_an_urgent_one_is_in_flight() -> None:
    waits: list[float] = []
    lane = UrgentLane(on_wait=waits.append)
    urgent_done = asyncio.Event()
    order: list[str] = []

    async def close() -> None:
        with lane.step(urgent=True):
            await urgent_done.wait()
            order.append("close")

    async def record() -> None:
        with lane.step(urgent=False):
            await lane.give_way()
            order.append("record")

    first = asyncio.create_task(close())
    await _settle()
    second = asyncio.create_task(record())
    await _settle()
    assert lane.urgent == 1 and not second.done()
    urgent_done.set()
    await asyncio.gather(first, second)
    assert order == ["close", "record"]
    assert lane.urgent == 0 and len(waits) == 1 and waits[0] >= 0


async def test_urgent_steps_and_work_outside_a_step_never_wait() -> None:
    lane = UrgentLane()
    hold = asyncio.Event()
    held = _close_in_flight(lane, hold)
    await _settle()
    with lane.step(urgent=True):  # another close
        await asyncio.wait_for(lane.give_way(), 0.5)
    await asyncio.wait_for(lane.give_way(), 0.5)  # the sweep, an operator's request
    other = UrgentLane()
    with other.step(urgent=False):  # a step of another lane is not held back by this one
        await asyncio.wait_for(lane.give_way(), 0.5)
    hold.set()
    await held


async def test_relax_ends_the_urgency_and_the_relaxed_step_gives_way_too() -> None:
    lane = UrgentLane()
    hold = asyncio.Event()
    sent = asyncio.Event()

    async def close(name: str) -> None:
        with lane.step(urgent=True):
            if name == "first":
                sent.set()
                relax()  # its transaction left
                await hold.wait()

    async def record() -> None:
        with lane.step(urgent=False):
            await lane.give_way()

    first = asyncio.create_task(close("first"))
    await sent.wait()
    assert lane.urgent == 0
    await asyncio.wait_for(record(), 0.5)  # goes at once: nothing urgent left

    second_hold = asyncio.Event()
    second = _close_in_flight(lane, second_hold)
    await _settle()

    async def relaxed_step_asks() -> None:  # the relaxed close now waits like the others
        with lane.step(urgent=True):
            relax()
            await lane.give_way()

    asking = asyncio.create_task(relaxed_step_asks())
    await _settle()
    assert not asking.done()
    second_hold.set()
    hold.set()
    await asyncio.gather(first, second, asking)


async def test_an_urgent_step_holds_the_others_back_for_its_budget_only() -> None:
    lane = UrgentLane(budget_seconds=0.05)
    hold = asyncio.Event()
    stuck = _close_in_flight(lane, hold)  # in failover retries, say
    await _settle()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with lane.step(urgent=False):
        await asyncio.wait_for(lane.give_way(), 1.0)
    assert 0.03 <= loop.time() - started < 0.5
    assert lane.urgent == 0  # past its budget it no longer counts
    with lane.step(urgent=False):
        await asyncio.wait_for(lane.give_way(), 0.01)  # and holds nobody back
    hold.set()
    await stuck


async def test_a_cancelled_urgent_step_lets_the_others_go() -> None:
    lane = UrgentLane()

    async def close() -> None:
        with lane.step(urgent=True):
            await asyncio.sleep(3600)

    urgent = asyncio.create_task(close())
    await _settle()

    async def record() -> None:
        with lane.step(urgent=False):
            await lane.give_way()

    waiting = asyncio.create_task(record())
    await _settle()
    assert not waiting.done()
    urgent.cancel()
    await asyncio.wait_for(waiting, 0.5)
    with pytest.raises(asyncio.CancelledError):
        await urgent


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget_seconds must be positive, not 0"):
        UrgentLane(budget_seconds=0)


async def test_a_task_created_inside_a_step_is_not_held_back_once_the_step_ended() -> None:
    """Tasks copy their creator's context: a sweep asked for (or a timer set) from inside a
    background step must not be taken for that step after it ended."""
    lane = UrgentLane()
    hold = asyncio.Event()
    later = asyncio.Event()

    async def outliving() -> None:
        await later.wait()
        await lane.give_way()

    urgent = _close_in_flight(lane, hold)
    await _settle()
    with lane.step(urgent=False):
        spawned = asyncio.create_task(outliving())
    later.set()
    await asyncio.wait_for(spawned, 0.5)  # the close is still in flight
    assert lane.urgent == 1
    hold.set()
    await urgent


async def test_what_a_lock_holder_asks_is_never_held_back() -> None:
    """An urgent step may be waiting for the lock (an account's sequencer, the route lock): its
    holder's requests go unpaced, and only while it holds it."""
    lock = UnpacedLock()

    async def asks_paced() -> bool:
        await asyncio.sleep(0)
        return is_paced()

    assert is_paced()
    async with lock:
        assert not is_paced()
        assert await asyncio.create_task(asks_paced()) is False  # tasks started under it too
    assert is_paced() and await asyncio.create_task(asks_paced())
