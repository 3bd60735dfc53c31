"""The status reporter: after a sweep, gathers the journal's facts and publishes a new status.

``StatusReporter.sweep_finished(snapshot=..., context=..., finished=..., journal_counts=...)`` is
called by the daemon after every good sweep with what that sweep saw; it returns at once (the
sweep never waits for the page). A background task then reads what the document needs from the
journal (open actions; finished actions and incidents only when the journal's action counts
moved, or at least every ``JOURNAL_REFRESH_SECONDS``), builds the document (``document.py``,
pure), encodes and renders it in a worker thread (``board.py``) and publishes it.

Builds are at most one per sweep and at least ``MIN_BUILD_INTERVAL_SECONDS`` apart: when sweeps
come faster (a busy chain, follow-up sweeps half a second apart), the newest sweep's facts wait
for the interval and the ones it replaced are dropped. No request ever causes a build.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.journal.protocol import Journal
from autobot.journal.records import ActionRecord, ActionState, Incident
from autobot.planning.plan import PlanContext
from autobot.scheduling import ChainClockMap
from autobot.status.board import Published, StatusBoard
from autobot.status.document import StatusFacts, build_document
from autobot.status.moments import ClockLine
from autobot.status.timeline import KIND_ACTIONS

__all__ = ["MIN_BUILD_INTERVAL_SECONDS", "StatusReporter"]

log = structlog.get_logger(__name__)

MIN_BUILD_INTERVAL_SECONDS = 1.0
JOURNAL_REFRESH_SECONDS = 30.0
TIMELINE_ACTIONS = 500
"""The newest finished actions the timeline is made from (a day's closes, draws and refunds)."""
INCIDENTS_READ = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class _Sweep:
    snapshot: Snapshot
    context: PlanContext
    finished: Mapping[int, tuple[int, LotteryView]]
    journal_counts: Mapping[str, int]
    playbook: PlaybookReport | None


class StatusReporter:
    """Builds and publishes the status after sweeps (see the module doc)."""

    def __init__(
        self,
        *,
        board: StatusBoard,
        journal: Journal,
        clock_map: ChainClockMap,
        refresh_seconds: float,
        max_age_seconds: int,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        in_thread: bool = True,
    ) -> None:
        self._board = board
        self._journal = journal
        self._clock_map = clock_map
        self._refresh = refresh_seconds
        self._max_age = max_age_seconds
        self._wall = wall
        self._monotonic = monotonic
        self._in_thread = in_thread
        self._latest: _Sweep | None = None
        self._task: asyncio.Task[None] | None = None
        self._built_at = float("-inf")
        self._journal_read_at = float("-inf")
        self._journal_counts: Mapping[str, int] | None = None
        self._finished_actions: tuple[ActionRecord, ...] = ()
        self._incidents: tuple[Incident, ...] = ()
        self.builds = 0

    def sweep_finished(
        self,
        *,
        snapshot: Snapshot,
        context: PlanContext,
        finished: Mapping[int, tuple[int, LotteryView]],
        journal_counts: Mapping[str, int],
        playbook: PlaybookReport | None = None,
    ) -> None:
        """A sweep saw this: publish a status from it soon (never blocks the sweep)."""
        self._latest = _Sweep(
            snapshot=snapshot,
            context=context,
            finished=dict(finished),
            journal_counts=dict(journal_counts),
            playbook=playbook,
        )
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="status-reporter")

    async def idle(self) -> None:
        """Wait until everything offered so far is published (tests, benchmarks)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while self._latest is not None:
            wait = self._built_at + MIN_BUILD_INTERVAL_SECONDS - self._monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            sweep, self._latest = self._latest, None
            if sweep is None:  # pragma: no cover - only this task clears it
                return
            self._built_at = self._monotonic()
            try:
                await self._build(sweep)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a job boundary: the page keeps its last status
                log.error("status_build_failed", error=type(exc).__name__, exc_info=True)

    async def _build(self, sweep: _Sweep) -> None:
        started = time.perf_counter()
        open_actions = await self._journal.open_actions()
        now = self._monotonic()
        if (
            sweep.journal_counts != self._journal_counts
            or now - self._journal_read_at >= JOURNAL_REFRESH_SECONDS
        ):
            finished = await self._journal.list_actions(
                states={ActionState.DONE}, kinds=tuple(KIND_ACTIONS), limit=TIMELINE_ACTIONS
            )
            self._finished_actions = tuple(finished)
            self._incidents = tuple(await self._journal.incidents(limit=INCIDENTS_READ))
            self._journal_counts = sweep.journal_counts
            self._journal_read_at = now
        facts = StatusFacts(
            snapshot=sweep.snapshot,
            context=sweep.context,
            generated_at=self._wall(),
            clock=self._clock(sweep.snapshot),
            refresh_seconds=self._refresh,
            max_age_seconds=self._max_age,
            open_actions=tuple(open_actions),
            finished_actions=self._finished_actions,
            incidents=self._incidents,
            finished_lotteries=sweep.finished,
            playbook=sweep.playbook,
        )
        if self._in_thread:
            published = await asyncio.to_thread(self._render, facts)
        else:
            published = self._render(facts)
        self._board.publish(published)
        self.builds += 1
        log.debug(
            "status_published",
            height=sweep.snapshot.height,
            lotteries=len(sweep.snapshot.lotteries),
            json_bytes=len(published.document.body),
            html_bytes=len(published.page.body),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _render(self, facts: StatusFacts) -> Published:
        return self._board.render(build_document(facts))

    def _clock(self, snapshot: Snapshot) -> ClockLine | None:
        try:
            wall = self._clock_map.wall_at(snapshot.time.micros / 1e6)
        except LookupError:
            return None
        return ClockLine(chain=snapshot.time.micros / 1e6, wall=wall, rate=self._clock_map.rate)
