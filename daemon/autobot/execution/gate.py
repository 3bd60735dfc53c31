"""A concurrency limit that lets the most urgent waiter in first.

``Executor.start_due`` runs each due action as its own task, at most ``max_concurrent_actions``
steps at once. With a plain semaphore the waiters go in arrival order, so a sales close that
became due behind a burst of winner batches and ``record_*`` calls (a VRF callback wave) waited
for all of them: hundreds of milliseconds of reaction lost to work that has no deadline. Here a
freed place goes to the waiter with the smallest priority number (arrival order among equals).
Nothing is pre-empted: a running step keeps its place until it ends.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["PriorityGate"]


class PriorityGate:
    """At most ``limit`` holders; a freed place goes to the lowest ``priority`` waiting."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit
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

    async def _acquire(self, priority: int) -> None:
        if self._held < self.limit and not self.waiting:
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
        while self._waiters and self._held < self.limit:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # its waiter was cancelled
                continue
            self._held += 1
            future.set_result(None)
