"""When autobot looks at the chain: a periodic sweep plus one-shot wake-ups at known due times.

APScheduler 3.11 is confined to this module. There is exactly one unit of work, the *sweep*
(read a snapshot, plan, execute); every job only asks for a sweep. Sweeps never overlap: a request
that arrives while one runs marks the scheduler dirty and the running sweep is followed by one more.

Due times are **chain times** (a timelock's ``pending_execute_after``, a retry window, a sales end).
The chain may run faster than the wall clock (the localnet's ``--time-scale``), so ``ChainClockMap``
learns the mapping chain → wall from observed blocks: a least-squares line over recent
(wall, chain) pairs, falling back to rate 1 until two distinct observations exist.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = structlog.get_logger(__name__)

SWEEP_JOB = "sweep"


class ChainClockMap:
    """Maps chain seconds to wall seconds from observed (wall, chain) pairs."""

    def __init__(self, *, window: int = 32) -> None:
        self._points: deque[tuple[float, float]] = deque(maxlen=window)

    def observe(self, *, wall: float, chain: float) -> None:
        if self._points and self._points[-1][1] == chain:
            return  # the same block seen twice carries no new information
        self._points.append((wall, chain))

    @property
    def rate(self) -> float:
        """Chain seconds per wall second (1.0 until there is evidence otherwise)."""
        if len(self._points) < 2:
            return 1.0
        n = len(self._points)
        mean_w = sum(p[0] for p in self._points) / n
        mean_c = sum(p[1] for p in self._points) / n
        var = sum((p[0] - mean_w) ** 2 for p in self._points)
        if var <= 1e-9:
            return 1.0
        cov = sum((p[0] - mean_w) * (p[1] - mean_c) for p in self._points)
        slope = cov / var
        # Blocks carry whole-block timestamps; a noisy fit must never stop or reverse time.
        return slope if slope > 0.01 else 1.0

    def chain_now(self, wall: float) -> float:
        if not self._points:
            raise LookupError("no chain time observed yet")
        last_wall, last_chain = self._points[-1]
        return last_chain + (wall - last_wall) * self.rate

    def wall_at(self, chain_ts: float) -> float:
        if not self._points:
            raise LookupError("no chain time observed yet")
        last_wall, last_chain = self._points[-1]
        return last_wall + (chain_ts - last_chain) / self.rate


class SweepScheduler:
    """A periodic sweep plus wake-ups at chain times, never running two sweeps at once."""

    def __init__(
        self,
        *,
        sweep: Callable[[], Awaitable[None]],
        poll_interval_seconds: float,
        clock_map: ChainClockMap,
        wall: Callable[[], float],
    ) -> None:
        self._sweep = sweep
        self._interval = poll_interval_seconds
        self._clock_map = clock_map
        self._wall = wall
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._lock = asyncio.Lock()
        self._dirty = False
        self._wakeups: dict[str, float] = {}

    def start(self) -> None:
        self._scheduler.add_job(
            self._run,
            "interval",
            seconds=self._interval,
            id=SWEEP_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    async def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        # Let a sweep in progress finish its current step; the caller bounds this with a timeout.
        async with self._lock:
            pass

    @property
    def pending_wakeups(self) -> int:
        return len(self._wakeups)

    def wake_now(self) -> None:
        """Ask for a sweep as soon as possible (coalesced with one in progress)."""
        self._scheduler.add_job(
            self._run, "date", run_date=datetime.now(UTC), id="wake:now", replace_existing=True
        )

    def wake_at_chain(self, chain_ts: int, *, key: str) -> None:
        """Ask for a sweep when the chain reaches ``chain_ts`` (one job per key, the earliest wins)."""
        try:
            wall = self._clock_map.wall_at(chain_ts)
        except LookupError:
            return  # no chain time yet: the periodic sweep will see it
        known = self._wakeups.get(key)
        if known is not None and known <= wall:
            return
        self._wakeups[key] = wall
        when = datetime.fromtimestamp(max(wall, self._wall()), UTC)
        self._scheduler.add_job(
            self._run_wakeup,
            "date",
            run_date=when,
            args=(key,),
            id=f"wake:{key}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _run_wakeup(self, key: str) -> None:
        self._wakeups.pop(key, None)
        await self._run()

    async def _run(self) -> None:
        if self._lock.locked():
            self._dirty = True
            return
        async with self._lock:
            while True:
                self._dirty = False
                try:
                    await self._sweep()
                except asyncio.CancelledError:
                    raise
                except Exception:  # job boundary: logged and counted by the sweep's owner
                    log.exception("sweep_failed")
                if not self._dirty:
                    break

    async def run_once(self) -> None:
        """Run one sweep now (tests and start-up), honouring the no-overlap rule."""
        await self._run()
