"""Stopping the sweep scheduler (SIGTERM): a sweep in progress gets its grace period, then is
cancelled and allowed to unwind; no new sweep starts meanwhile."""

from __future__ import annotations

import asyncio
import time

from autobot.scheduling import ChainClockMap, SweepScheduler


def scheduler_for(sweep: object, interval: float = 0.05) -> SweepScheduler:
    return SweepScheduler(
        sweep=sweep,  # type: ignore[arg-type]
        poll_interval_seconds=interval,
        clock_map=ChainClockMap(),
        wall=time.time,
    )


async def test_a_sweep_in_progress_finishes_within_the_grace_period() -> None:
    # given: a sweep that is half-way when the stop comes
    started, finished = asyncio.Event(), asyncio.Event()
    outcome: list[str] = []

    async def sweep() -> None:
        started.set()
        try:
            await asyncio.sleep(0.3)
            outcome.append("finished")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        finally:
            finished.set()

    scheduler = scheduler_for(sweep, interval=3600)
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=2)
    # when
    in_time = await scheduler.shutdown(grace_seconds=5)
    # then: it was not cancelled
    assert in_time and outcome == ["finished"]


async def test_a_sweep_longer_than_the_grace_period_is_cancelled_and_unwinds() -> None:
    # given: a sweep that would take far too long
    started = asyncio.Event()
    outcome: list[str] = []

    async def sweep() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # e.g. a journal rollback on the way out
            outcome.append("unwound")
            raise

    scheduler = scheduler_for(sweep, interval=3600)
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=2)
    # when
    began = time.monotonic()
    in_time = await scheduler.shutdown(grace_seconds=0.2)
    # then: bounded, and the sweep's own clean-up ran before shutdown returned
    assert not in_time
    assert outcome == ["unwound"]
    assert time.monotonic() - began < 2


async def test_no_sweep_starts_once_the_stop_has_begun() -> None:
    # given: a scheduler sweeping every 50 ms, in the middle of a sweep
    runs = 0
    busy = asyncio.Event()

    async def sweep() -> None:
        nonlocal runs
        runs += 1
        busy.set()
        await asyncio.sleep(0.2)

    scheduler = scheduler_for(sweep)
    scheduler.start()
    await asyncio.wait_for(busy.wait(), timeout=2)
    # when
    await scheduler.shutdown(grace_seconds=5)
    count = runs
    await asyncio.sleep(0.3)
    # then
    assert runs == count
