"""When autobot looks at the chain: a periodic sweep plus one-shot wake-ups at known due times.

APScheduler 3.11 is confined to this module. There is exactly one unit of work, the *sweep*
(read a snapshot, plan, execute); every job only asks for a sweep. Sweeps never overlap: a request
that arrives while one runs marks the scheduler dirty and the running sweep is followed by one more.
``exclusive()`` holds the sweeps off for work that must not overlap one (an HA takeover's
recovery runs alone, as at a start): it waits for a sweep in progress, and a sweep asked for
meanwhile runs once it ends.

Due times are **chain times** (a timelock's ``pending_execute_after``, a retry window, a sales end).
The chain may run faster than the wall clock (the localnet's ``--time-scale``), so ``ChainClockMap``
learns the mapping chain → wall from observed blocks: the rate is a least-squares slope over
recent (wall, chain) pairs (rate 1 until two distinct observations exist), and the offset is the
*earliest* the chain was seen at its time (a block is observed some time after it was produced,
never before). A reading far off the line (the chain jumped: ``/localnet/v1/advance``, a restart)
starts the learning over.

A wake-up fires at the wall time the chain is expected to reach its chain time; with a
``chain_time`` reader, the scheduler then polls the latest block every ``CHAIN_POLL_SECONDS`` until
the chain has really reached it (at most ``CHAIN_WAIT_SECONDS``), so the sweep sees the work due
within a poll of the block that made it due.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = structlog.get_logger(__name__)

SWEEP_JOB = "sweep"
# A wake-up job may fire while an earlier run of the same job id still waits on the sweep lock;
# APScheduler would skip (and so lose) it at max_instances=1. _run coalesces them instead.
_WAKE_INSTANCES = 64
CHAIN_POLL_SECONDS = 0.02
CHAIN_WAIT_SECONDS = 2.0
JUMP_WALL_SECONDS = 2.0
"""A reading this many wall seconds (at the learned rate) off the line is a jump, not noise."""
CANCEL_UNWIND_SECONDS = 5.0
"""How long a sweep cancelled at shutdown gets to unwind before its resources are closed."""


class ChainClockMap:
    """Maps chain seconds to wall seconds from observed (wall, chain) pairs."""

    def __init__(self, *, window: int = 32) -> None:
        self._points: deque[tuple[float, float]] = deque(maxlen=window)

    def observe(self, *, wall: float, chain: float) -> None:
        """A block with chain time ``chain`` (seconds, fractions welcome) seen at ``wall``."""
        if self._points and self._points[-1][1] == chain:
            return  # the same block seen twice carries no new information
        if len(self._points) >= 2:
            rate = self.rate
            if abs(chain - self.chain_now(wall)) > JUMP_WALL_SECONDS * rate:
                self._points.clear()  # the chain jumped (or stalled): learn it again
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

    def _offset(self, rate: float) -> float:
        """Wall time of chain time 0 on the line through the earliest-seen observation."""
        if not self._points:
            raise LookupError("no chain time observed yet")
        last_wall, last_chain = self._points[-1]
        # relative to the last point, so the subtraction keeps its precision
        lag = min((w - last_wall) - (c - last_chain) / rate for w, c in self._points)
        return last_wall + lag - last_chain / rate

    def chain_now(self, wall: float) -> float:
        rate = self.rate
        return (wall - self._offset(rate)) * rate

    def wall_at(self, chain_ts: float) -> float:
        rate = self.rate
        return self._offset(rate) + chain_ts / rate

    @property
    def observations(self) -> int:
        return len(self._points)

    def line(self, wall: float) -> dict[str, float] | None:
        """The learned clock at wall time ``wall``: ``{"chain_time", "wall_time", "rate",
        "observations"}`` (web.py's ``/clock``), ``None`` before the first observation."""
        if not self._points:
            return None
        return {
            "chain_time": self.chain_now(wall),
            "wall_time": wall,
            "rate": self.rate,
            "observations": float(len(self._points)),
        }


class SweepScheduler:
    """A periodic sweep plus wake-ups at chain times, never running two sweeps at once."""

    def __init__(
        self,
        *,
        sweep: Callable[[], Awaitable[None]],
        poll_interval_seconds: float,
        clock_map: ChainClockMap,
        wall: Callable[[], float],
        chain_time: Callable[[], Awaitable[float]] | None = None,
    ) -> None:
        """``chain_time`` reads the latest block's time (seconds): wake-ups wait for it."""
        self._sweep = sweep
        self._interval = poll_interval_seconds
        self._clock_map = clock_map
        self._wall = wall
        self._chain_time = chain_time
        self._chain_read: asyncio.Task[float] | None = None
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._lock = asyncio.Lock()
        self._dirty = False
        self._held_off = 0  # ``exclusive`` blocks waiting for or holding the lock
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

    async def shutdown(self, *, grace_seconds: float = 10.0) -> bool:
        """Stop sweeping: no new sweep starts; one in progress gets ``grace_seconds`` to finish,
        then it is cancelled and given ``CANCEL_UNWIND_SECONDS`` to unwind (its journal writes
        roll back). Returns whether it finished within the grace period.

        APScheduler's asyncio executor cancels running jobs on ``shutdown``, so the scheduler is
        only *paused* while the grace period runs, and shut down after it.
        """
        if self._scheduler.running:
            self._scheduler.pause()
        finished = True
        try:
            async with asyncio.timeout(grace_seconds), self._lock:
                pass
        except TimeoutError:
            finished = False
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)  # cancels a sweep still in progress
        if not finished:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CANCEL_UNWIND_SECONDS), self._lock:
                    pass
        return finished

    @property
    def pending_wakeups(self) -> int:
        return len(self._wakeups)

    def wake_now(self) -> None:
        """Ask for a sweep as soon as possible (coalesced with one in progress)."""
        self._scheduler.add_job(
            self._run,
            "date",
            run_date=datetime.now(UTC),
            id="wake:now",
            replace_existing=True,
            max_instances=_WAKE_INSTANCES,
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
            args=(key, chain_ts),
            id=f"wake:{key}",
            replace_existing=True,
            misfire_grace_time=None,
            max_instances=_WAKE_INSTANCES,
        )

    def wake_after(self, seconds: float, *, key: str) -> None:
        """Ask for a sweep ``seconds`` wall seconds from now (one job per key, the earliest wins):
        work that just became possible, gathered over a moment instead of a sweep per event."""
        wall = self._wall() + seconds
        known = self._wakeups.get(key)
        if known is not None and known <= wall:
            return
        self._wakeups[key] = wall
        self._scheduler.add_job(
            self._run_wakeup,
            "date",
            run_date=datetime.fromtimestamp(wall, UTC),
            args=(key, None),
            id=f"wake:{key}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _run_wakeup(self, key: str, chain_ts: int | None = None) -> None:
        self._wakeups.pop(key, None)
        if chain_ts is not None and not await self._until_chain(chain_ts):
            self.wake_at_chain(chain_ts, key=key)  # far off yet (the chain's pace changed)
            return
        await self._run()

    async def _until_chain(self, chain_ts: int) -> bool:
        """Poll the latest block until the chain reaches ``chain_ts`` (bounded; errors end it).

        False if the chain is further from it than the wait allows: the wake-up is set again
        from what the clock map learned meanwhile (it saw this block).
        """
        if self._chain_time is None:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CHAIN_WAIT_SECONDS
        while True:
            try:
                now = await self._read_chain()
            except asyncio.CancelledError:
                raise
            except Exception:  # the sweep will meet (and report) the same problem
                return True
            if now >= chain_ts:
                return True
            self._clock_map.observe(wall=self._wall(), chain=now)
            left = (chain_ts - now) / self._clock_map.rate
            if loop.time() + left > deadline:
                return False
            await asyncio.sleep(CHAIN_POLL_SECONDS)

    async def _read_chain(self) -> float:
        """One chain-time read shared by every wake-up waiting at the same moment."""
        assert self._chain_time is not None
        task = self._chain_read
        if task is None or task.done():
            task = self._chain_read = asyncio.ensure_future(self._chain_time())
        return await asyncio.shield(task)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """No sweep runs inside this block: a sweep in progress finishes first (one more asked
        for meanwhile waits), and a sweep asked for while the block runs runs after it."""
        self._held_off += 1
        try:
            async with self._lock:
                yield
        finally:
            self._held_off -= 1
        if self._dirty and self._scheduler.running:
            self.wake_now()

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
                if not self._dirty or self._held_off:
                    break  # (held off: the dirty sweep runs after ``exclusive``'s block)

    async def run_once(self) -> None:
        """Run one sweep now (tests and start-up), honouring the no-overlap rule."""
        await self._run()
