"""The status site: the board, the reporter that fills it and the listener that serves it.

The one object the composition root builds when ``[status] listen`` is set::

    site = StatusSite(config=config.status, journal=journal, clock_map=clock_map)
    await site.start()                     # binds the listener (OSError if the port is taken)
    ...
    site.sweep_finished(engine, summary)   # after every good sweep: publish soon
    ...
    await site.stop()                      # the reporter's task first, then the listener
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from autobot.config import Config, ListenAddress, StatusConfig
from autobot.journal.protocol import Journal
from autobot.scheduling import ChainClockMap
from autobot.status.board import StatusBoard
from autobot.status.listener import StatusListener
from autobot.status.reporter import StatusReporter

if TYPE_CHECKING:
    from autobot.engine import Engine, SweepSummary

__all__ = ["StatusSite", "with_status_listen"]


class StatusSite:
    """``[status]``: the public status page and ``/status.json`` (see ``autobot.status``)."""

    def __init__(self, *, config: StatusConfig, journal: Journal, clock_map: ChainClockMap) -> None:
        assert config.listen is not None, "the status site is built only when it listens"
        self.board = StatusBoard()
        self.reporter = StatusReporter(
            board=self.board,
            journal=journal,
            clock_map=clock_map,
            refresh_seconds=config.page_refresh_seconds,
            max_age_seconds=config.max_age_seconds,
        )
        self.listener = StatusListener(
            host=config.listen.host,
            port=config.listen.port,
            board=self.board,
            max_age_seconds=config.max_age_seconds,
        )

    @property
    def url(self) -> str:
        return self.listener.url

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.reporter.aclose()
        await self.listener.stop()

    def sweep_finished(self, engine: Engine, summary: SweepSummary) -> None:
        """Publish a status from the sweep that just ended (returns at once)."""
        snapshot, context = engine.last_snapshot, engine.last_context
        if snapshot is None or context is None:
            return
        self.reporter.sweep_finished(
            snapshot=snapshot,
            context=context,
            finished=engine.watchlist.finished,
            journal_counts=summary.journal,
            playbook=engine.playbook,
        )


def with_status_listen(config: Config, listen: tuple[str, int] | None) -> Config:
    """``config`` with ``[status] listen`` replaced by ``--status-listen`` (when given)."""
    if listen is None:
        return config
    address = ListenAddress(host=listen[0], port=listen[1])
    return dataclasses.replace(config, status=dataclasses.replace(config.status, listen=address))
