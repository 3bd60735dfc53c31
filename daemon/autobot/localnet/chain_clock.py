"""Chain time of the localnet, in microseconds since the Unix epoch.

A fresh chain starts at the host's wall clock; a restarted one resumes at its last block's
timestamp (time spent stopped does not count). From its anchor, chain time runs ``time_scale``
times faster than the host's monotonic clock, plus whatever ``advance`` added. Block timestamps
are taken from here and made strictly increasing by the node, so chain time never goes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ChainClock"]

_MICROS = 1_000_000


class ChainClock:
    def __init__(
        self,
        *,
        start_us: int,
        time_scale: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self._anchor_us = start_us
        self._anchor_mono = monotonic()
        self._monotonic = monotonic
        self._scale = time_scale
        self._offset_us = 0

    @property
    def time_scale(self) -> float:
        return self._scale

    def now_us(self) -> int:
        elapsed = self._monotonic() - self._anchor_mono
        return self._anchor_us + int(elapsed * self._scale * _MICROS) + self._offset_us

    def now_seconds(self) -> int:
        return self.now_us() // _MICROS

    def advance(self, seconds: int) -> None:
        """Move chain time forward by ``seconds`` (> 0)."""
        if seconds <= 0:
            raise ValueError(f"can only advance by a positive number of seconds, got {seconds}")
        self._offset_us += seconds * _MICROS
