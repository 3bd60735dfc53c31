"""Urgent steps first: background steps hold their requests back while a sales close is on its way.

``PriorityGate`` decides which due step *starts* first; once started, every step is a task on one
event loop, and the loop serves them in turn. A sales close that became due in the same second as
a wave of VRF callbacks (a dozen ``record_*`` calls, winner batches, their confirmation polls)
waited for all of their requests and their decoding before each of its own (the reaction
benchmark's worst closes: ~150 ms between the close being journaled and signed). Here the
close's step is *urgent* until its transaction has left (``relax``: called by the sequencer once
it is submitted and before it waits for any confirmation; a step of an action past its first
transaction relaxes at once), and a step of any other kind awaits ``give_way`` before each
request it makes (the RPC client's ``pace`` hook, ``chain/pacing.py``): it goes on once no
urgent step is in flight.

Never a deadlock, never a stall: what others may wait on goes unpaced (whatever is asked under an
``UnpacedLock`` — an account's sequencer, the route lock of timelocked bots —, a numbered
transaction's submission, the shared block read, a slot of the gateway's concurrency limit), and
an urgent step holds the others back for at most ``budget_seconds`` from its start (one stuck in
failover retries does not stop the rest; ``urgent_step_over_budget`` is logged). Steps outside
``Executor``'s background tasks (the sweep's reads, an operator's request, tests) and tasks that
outlive the step that created them are never held back. Closes come in bursts at sales ends, so
the rest of the work is delayed by tens of milliseconds a burst, never starved.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

from autobot.chain.pacing import unpaced

__all__ = ["URGENT_BUDGET_SECONDS", "UnpacedLock", "UrgentLane", "relax"]

log = structlog.get_logger(__name__)

URGENT_BUDGET_SECONDS = 0.5
"""How long one urgent step may hold the others back (a close is signed in tens of ms)."""


@dataclass(eq=False)
class _Step:
    lane: UrgentLane
    urgent: bool
    deadline: float
    label: str = ""
    ended: bool = False  # a task created inside the step and outliving it is no step's


_STEP: ContextVar[_Step | None] = ContextVar("autobot_lane_step", default=None)


class UrgentLane:
    """Which background steps are urgent now; the others' ``give_way`` waits for them."""

    def __init__(
        self,
        *,
        budget_seconds: float = URGENT_BUDGET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        """``on_wait(seconds)`` is told of every wait (metrics)."""
        if budget_seconds <= 0:
            raise ValueError(f"budget_seconds must be positive, not {budget_seconds}")
        self._budget = budget_seconds
        self._monotonic = monotonic
        self._on_wait = on_wait
        self._urgent: set[_Step] = set()
        self._clear = asyncio.Event()
        self._clear.set()

    @property
    def urgent(self) -> int:
        """Urgent steps in flight (within their budget); reading it changes nothing."""
        now = self._monotonic()
        return sum(1 for s in self._urgent if s.deadline > now)

    @contextlib.contextmanager
    def step(self, *, urgent: bool, label: str = "") -> Iterator[None]:
        """The current task (and the tasks it creates) runs one background step (``label``:
        its action, for the log)."""
        current = _Step(self, urgent, self._monotonic() + self._budget, label)
        token = _STEP.set(current)
        if urgent:
            self._urgent.add(current)
            self._clear.clear()
        try:
            yield
        finally:
            _STEP.reset(token)
            current.ended = True
            self._done(current)

    async def give_way(self) -> None:
        """Return once no urgent step is in flight, at once for an urgent step or outside one."""
        current = _STEP.get()
        if current is None or current.ended or current.urgent or current.lane is not self:
            return
        latest = self._expire()
        if latest is None:
            return
        started = self._monotonic()
        while latest is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._clear.wait(), max(0.0, latest - self._monotonic()))
            latest = self._expire()
        if self._on_wait is not None:
            self._on_wait(self._monotonic() - started)

    def _done(self, step: _Step) -> None:
        step.urgent = False
        self._urgent.discard(step)
        if not self._urgent:
            self._clear.set()

    def _expire(self) -> float | None:
        """Forget urgent steps past their budget; the latest deadline of the rest, if any."""
        now = self._monotonic()
        for step in [s for s in self._urgent if s.deadline <= now]:
            log.warning(
                "urgent_step_over_budget", action_key=step.label, budget_seconds=self._budget
            )
            self._done(step)
        return max((s.deadline for s in self._urgent), default=None)


def relax() -> None:
    """The current step is no longer urgent (its transaction left); from now on it gives way too."""
    current = _STEP.get()
    if current is not None and current.urgent:
        current.lane._done(current)


class UnpacedLock(contextlib.AbstractAsyncContextManager[None]):
    """An ``asyncio.Lock`` whose holder's requests are never held back: an urgent step may be
    waiting for the lock (an account's sequencer, the route lock of timelocked bots)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._unpaced: contextlib.AbstractContextManager[None] | None = None

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        self._unpaced = unpaced()
        self._unpaced.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        held, self._unpaced = self._unpaced, None
        try:
            if held is not None:
                held.__exit__(None, None, None)
        finally:
            self._lock.release()
