"""The chain's pace for the operator CLI: when will a chain-time moment come on the wall clock?

The running daemon learns the chain clock from every block it sees (``scheduling.ChainClockMap``)
and serves it at ``/clock`` on its ``[http] listen`` address (``web.py``); the CLI asks it there,
so ``autobot status`` and a request's reply say "in 15 s (expected 08:38:19 UTC; chain time …)"
with the daemon's own numbers. Without an answer (the daemon is down, or listens elsewhere) a
chain whose latest block is within ``TRACKING_SECONDS`` of the host's clock is taken to run at
the wall clock's pace (a real chain); otherwise chain-time moments are only labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from autobot.config import Config
from autobot.status.moments import ClockLine, Clocks

__all__ = ["TRACKING_SECONDS", "ClockReading", "read_clocks"]

TRACKING_SECONDS = 30
"""A chain this close to the host's clock runs at its pace (no daemon needed to know it)."""
ASK_SECONDS = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockReading:
    """``Clocks`` and where their pace came from (said once in ``status``)."""

    clocks: Clocks
    source: str


def _clock_url(config: Config) -> str:
    listen = config.http.listen
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(listen.host, listen.host)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{listen.port}/clock"


async def _ask(url: str) -> ClockLine | None:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ASK_SECONDS)) as http,
            http.get(url) as reply,
        ):
            if reply.status != 200:
                return None
            data = await reply.json()
        line = ClockLine(
            chain=float(data["chain_time"]), wall=float(data["wall_time"]), rate=float(data["rate"])
        )
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
        return None
    return line if line.rate > 0 else None


async def read_clocks(config: Config, *, chain_now: int, wall_now: float) -> ClockReading:
    """The two clocks as the CLI shows them (the daemon's learned pace when it answers)."""
    if config.http.listen.port != 0:
        url = _clock_url(config)
        line = await _ask(url)
        if line is not None:
            return ClockReading(
                clocks=Clocks(chain_now=chain_now, wall_now=wall_now, line=line),
                source=f"the daemon's chain clock ({url}): {line.rate:.3g} chain s per wall s",
            )
    if abs(chain_now - wall_now) <= TRACKING_SECONDS:
        line = ClockLine(chain=chain_now, wall=wall_now, rate=1.0)
        return ClockReading(
            clocks=Clocks(chain_now=chain_now, wall_now=wall_now, line=line),
            source="the chain keeps the wall clock's pace (its latest block is within "
            f"{TRACKING_SECONDS} s of this host's clock; the daemon's /clock did not answer)",
        )
    return ClockReading(
        clocks=Clocks(chain_now=chain_now, wall_now=wall_now),
        source="unknown pace (the daemon's /clock did not answer and the chain is "
        "not at this host's time): times are chain time",
    )
