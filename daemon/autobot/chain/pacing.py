"""Where a request may be held back for more urgent work, and where it must not be.

The chain layer knows nothing of actions or priorities. ``RpcClient`` takes a ``pace`` hook (the
daemon passes ``execution.lane.UrgentLane.give_way``) and awaits it before each request, unless the
request is made inside ``unpaced()``: a section that others may be waiting on — a per-account
lock, a shared read, a slot of the gateway's concurrency limit, a numbered transaction on its way
to the node — goes on at once, since holding it back would hold back the urgent work too.

``limited(limit, pace)`` is the one way into the gateway's concurrency limit: it gives way
*before* taking a slot, and what runs holding the slot is unpaced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar

__all__ = ["Pace", "is_paced", "limited", "unpaced"]

type Pace = Callable[[], Awaitable[None]]
"""Awaited before a request that may wait; returns when it may go."""

_UNPACED: ContextVar[bool] = ContextVar("autobot_unpaced", default=False)


@contextlib.contextmanager
def unpaced() -> Iterator[None]:
    """Requests made inside (and by tasks created inside) go without waiting."""
    token = _UNPACED.set(True)
    try:
        yield
    finally:
        _UNPACED.reset(token)


def is_paced() -> bool:
    """Whether a request made here may be held back."""
    return not _UNPACED.get()


@contextlib.asynccontextmanager
async def limited(limit: asyncio.Semaphore, pace: Pace | None) -> AsyncIterator[None]:
    """A slot of ``limit``, taken after giving way (a slot is never held while waiting)."""
    if pace is not None and is_paced():
        await pace()
    async with limit:
        with unpaced():
            yield
