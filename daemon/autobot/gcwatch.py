"""Garbage-collector pauses: measured, logged when long, and kept short after start-up.

The first sweep reads every live lottery (thousands of views, records and their parts), all of it
long-lived. CPython's full collection walks every tracked object, so once that heap exists an
occasional generation-2 collection stops the event loop for as long as the walk takes: on a
2-core VM a 1.4 s pause was seen in the middle of a benchmark, with a sales close waiting behind
it. ``freeze_after_start`` moves what the start-up built out of the collector's reach
(``gc.freeze``, as long-running servers do), so later full collections only walk what came
after. ``GcWatch`` times every collection and logs ``gc_pause`` for those at or above
``LOG_PAUSE_SECONDS``, so an operator can see the loop's stalls instead of guessing.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import structlog

__all__ = ["LOG_PAUSE_SECONDS", "GcWatch"]

log = structlog.get_logger(__name__)

LOG_PAUSE_SECONDS = 0.1


class GcWatch:
    """Installs a ``gc.callbacks`` timer; ``close`` removes it."""

    def __init__(self, *, log_pause_seconds: float = LOG_PAUSE_SECONDS) -> None:
        self._threshold = log_pause_seconds
        self._started: float | None = None
        self.longest = 0.0
        self.collections = 0
        self.frozen = False
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:
            return
        pause = time.perf_counter() - self._started
        self._started = None
        self.collections += 1
        self.longest = max(self.longest, pause)
        if pause >= self._threshold:
            log.warning(
                "gc_pause",
                pause_ms=round(pause * 1000, 1),
                generation=info.get("generation"),
                collected=info.get("collected"),
            )

    def freeze_after_start(self) -> None:
        """Once: what exists now (the first sweep's reads) is never walked by a collection."""
        if self.frozen:
            return
        self.frozen = True
        gc.collect()
        gc.freeze()
        log.debug("gc_frozen", objects=gc.get_freeze_count())

    def close(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
