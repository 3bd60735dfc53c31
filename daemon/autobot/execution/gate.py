"""A concurrency limit that lets the most urgent waiter in first.

``Executor.start_due`` runs each due action as its own task, at most ``max_concurrent_actions``
steps at once. With a plain semaphore the waiters go in arrival order, so a sales close that
became due behind a burst of winner batches and ``record_*`` calls (a VRF callback wave) waited
for all of them: hundreds of milliseconds of reaction lost to work that has no deadline. Here a
freed place goes to the waiter with the smallest priority number (arrival order among equals).
Nothing is pre-empted: a running step keeps its place until it ends, and a step waiting for its
transaction's confirmation (a block or two) keeps it too; so priority-0 steps may also use
``reserve`` places of their own beyond ``limit``, which nothing else may take: a close that becomes
due while every place is held goes at once (up to ``reserve`` of them).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["PriorityGate"]


class PriorityGate:
    """At most ``limit`` holders (``limit + reserve`` counting priority-0 ones); a freed place
    goes to the lowest ``priority`` waiting."""

    def __init__(self, limit: int, *, reserve: int = 0) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if reserve < 0:
            raise ValueError(f"reserve must not be negative, not {reserve}")
        self.limit = limit
        self.reserve = reserve
        self._held = 0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def held(self) -> int:
        return self._held

    @property
    def waiting(self) -> int:
        return sum(not f.done() for _, _, f in self._waiters)

    @asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    def _room(self, priority: int) -> bool:
        return self._held < self.limit + (self.reserve if priority <= 0 else 0)

    async def _acquire(self, priority: int) -> None:
        best = min((w[0] for w in self._waiters if not w[2].done()), default=None)
        if self._room(priority) and (best is None or priority < best):
            self._held += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted, then cancelled: pass it on
                self._release()
            raise

    def _release(self) -> None:
        self._held -= 1
        while self._waiters:
            priority, _, future = self._waiters[0]
            if future.done():  # its waiter was cancelled
                heapq.heappop(self._waiters)
                continue
            if not self._room(priority):
                return
            heapq.heappop(self._waiters)
            self._held += 1
            future.set_result(None)
