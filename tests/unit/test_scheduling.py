"""The sweep scheduler: chain→wall mapping and the no-overlap rule."""

from __future__ import annotations

import asyncio
import time

import pytest

from autobot.scheduling import ChainClockMap, SweepScheduler


def test_clock_map_learns_a_sixty_times_faster_chain() -> None:
    clock = ChainClockMap()
    for i in range(5):
        clock.observe(wall=1000.0 + i, chain=5000.0 + 60 * i)
    assert clock.rate == pytest.approx(60.0)
    # chain time 5000 + 60*4 + 600 is ten wall seconds after the last observation
    assert clock.wall_at(5000 + 240 + 600) == pytest.approx(1014.0)
    assert clock.chain_now(1006.0) == pytest.approx(5240 + 120)


def test_clock_map_without_evidence_assumes_rate_one() -> None:
    clock = ChainClockMap()
    clock.observe(wall=10.0, chain=100.0)
    assert clock.rate == 1.0
    assert clock.wall_at(130) == pytest.approx(40.0)


def test_clock_map_before_any_block_refuses_to_guess() -> None:
    with pytest.raises(LookupError):
        ChainClockMap().wall_at(1)


def test_clock_map_ignores_a_block_seen_twice() -> None:
    clock = ChainClockMap()
    clock.observe(wall=1.0, chain=100.0)
    clock.observe(wall=2.0, chain=100.0)
    assert clock.rate == 1.0
    assert clock.chain_now(2.0) == pytest.approx(101.0)


async def test_requests_during_a_sweep_coalesce_into_one_more_sweep() -> None:
    started = 0
    release = asyncio.Event()

    async def sweep() -> None:
        nonlocal started
        started += 1
        if started == 1:
            await release.wait()

    scheduler = SweepScheduler(
        sweep=sweep, poll_interval_seconds=3600, clock_map=ChainClockMap(), wall=time.time
    )
    first = asyncio.create_task(scheduler.run_once())
    await asyncio.sleep(0)
    # three more requests while the first sweep runs
    for _ in range(3):
        await scheduler.run_once()
    release.set()
    await first
    assert started == 2


async def test_an_exclusive_block_waits_for_the_sweep_in_progress_and_runs_alone() -> None:
    events: list[str] = []
    release = asyncio.Event()

    async def sweep() -> None:
        events.append("sweep")
        if len(events) == 1:
            await release.wait()
        events.append("swept")

    scheduler = SweepScheduler(
        sweep=sweep, poll_interval_seconds=3600, clock_map=ChainClockMap(), wall=time.time
    )

    async def recovery() -> None:  # an HA takeover's
        async with scheduler.exclusive():
            events.append("recovering")
            await scheduler.run_once()  # a sweep asked for meanwhile does not run inside
            await asyncio.sleep(0.01)
            events.append("recovered")

    first = asyncio.create_task(scheduler.run_once())
    await asyncio.sleep(0)
    takeover = asyncio.create_task(recovery())
    await asyncio.sleep(0.01)
    # a sweep in progress is not cut: the block waits for it
    assert events == ["sweep"]
    await scheduler.run_once()  # asked for while that sweep runs: it would follow at once
    release.set()
    await asyncio.gather(first, takeover)
    # the block ran right after the sweep in progress, and no sweep ran inside it
    assert events == ["sweep", "swept", "recovering", "recovered"]
    await scheduler.run_once()
    assert events[-2:] == ["sweep", "swept"]


async def test_a_wakeup_at_a_chain_time_runs_a_sweep() -> None:
    ran = asyncio.Event()

    async def sweep() -> None:
        ran.set()

    clock = ChainClockMap()
    now = time.time()
    clock.observe(wall=now - 1, chain=1_000.0)
    clock.observe(wall=now, chain=1_060.0)  # a 60x chain
    scheduler = SweepScheduler(
        sweep=sweep, poll_interval_seconds=3600, clock_map=clock, wall=time.time
    )
    scheduler.start()
    try:
        ran.clear()  # the start-up sweep may already have run
        await asyncio.wait_for(ran.wait(), timeout=2)
        ran.clear()
        scheduler.wake_at_chain(1_060 + 6, key="close:1")  # 0.1 wall seconds ahead
        assert scheduler.pending_wakeups == 1
        await asyncio.wait_for(ran.wait(), timeout=2)
        assert scheduler.pending_wakeups == 0
    finally:
        await scheduler.shutdown()


def test_clock_map_learns_again_after_the_chain_jumps() -> None:
    clock = ChainClockMap()
    for i in range(5):
        clock.observe(wall=100.0 + i, chain=1_000.0 + i)
    clock.observe(wall=105.0, chain=1_905.0)  # /localnet/v1/advance 900
    clock.observe(wall=106.0, chain=1_906.0)
    assert clock.rate == pytest.approx(1.0)
    assert clock.wall_at(1_910) == pytest.approx(110.0)


async def test_a_wakeup_waits_until_the_chain_has_reached_its_time() -> None:
    seen: list[float] = []
    chain = {"now": 1_000.0}

    async def sweep() -> None:
        seen.append(chain["now"])

    async def chain_time() -> float:
        chain["now"] += 0.5  # the chain moves on every time it is asked
        return chain["now"]

    clock = ChainClockMap()
    clock.observe(wall=time.time(), chain=1_000.0)
    scheduler = SweepScheduler(
        sweep=sweep, poll_interval_seconds=3600, clock_map=clock, wall=time.time,
        chain_time=chain_time,
    )  # fmt: skip
    # when: the wake-up's wall time comes before the chain reached 1002
    await scheduler._run_wakeup("close:1", 1_002)
    # then: it polled the chain until it had, and only then swept
    assert seen == [1_002.0]


async def test_wake_after_runs_a_sweep_a_moment_later() -> None:
    ran = asyncio.Event()

    async def sweep() -> None:
        ran.set()

    scheduler = SweepScheduler(
        sweep=sweep, poll_interval_seconds=3600, clock_map=ChainClockMap(), wall=time.time
    )
    scheduler.start()
    try:
        ran.clear()
        await asyncio.sleep(0.05)
        ran.clear()
        scheduler.wake_after(0.05, key="soon")
        scheduler.wake_after(0.5, key="soon")  # the earlier one stays
        await asyncio.wait_for(ran.wait(), timeout=0.4)
    finally:
        await scheduler.shutdown()
