"""The reporter: one build per sweep (coalesced when sweeps come fast), none per request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from status_builders import ctx, snapshot
from structlog.testing import capture_logs

from autobot.clock import SystemClock
from autobot.journal.store import SqliteJournal
from autobot.scheduling import ChainClockMap
from autobot.status.board import StatusBoard
from autobot.status.listener import StatusListener
from autobot.status.reporter import StatusReporter


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    async with await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=SystemClock()) as j:
        yield j


def reporter(board: StatusBoard, journal: SqliteJournal, **kw: object) -> StatusReporter:
    clock_map = ChainClockMap()
    clock_map.observe(wall=1_800_000_000.0, chain=1_700_000_000.0)
    return StatusReporter(
        board=board,
        journal=journal,
        clock_map=clock_map,
        refresh_seconds=60.0,
        max_age_seconds=120,
        **kw,  # type: ignore[arg-type]
    )


def offer(r: StatusReporter, *, height: int) -> None:
    r.sweep_finished(
        snapshot=snapshot().__class__.build(now=1_700_000_000 + height, height=height),
        context=ctx(),
        finished={},
        journal_counts={"done": 0},
    )


async def test_a_sweep_publishes_once_and_requests_never_build(journal: SqliteJournal) -> None:
    board = StatusBoard()
    r = reporter(board, journal)
    offer(r, height=7)
    await r.idle()
    assert r.builds == 1
    published = board.current
    assert published is not None
    assert json.loads(published.document.body)["chain"]["height"] == 7
    async with (
        StatusListener(host="127.0.0.1", port=0, board=board, max_age_seconds=120) as listener,
        aiohttp.ClientSession() as http,
    ):
        for _ in range(50):
            for path in ("", "status.json"):
                async with http.get(listener.url + path) as reply:
                    assert reply.status == 200
    assert r.builds == 1
    assert board.current is published
    await r.aclose()


async def test_sweeps_faster_than_the_build_interval_publish_the_newest(
    journal: SqliteJournal,
) -> None:
    board = StatusBoard()
    r = reporter(board, journal)
    offer(r, height=1)
    await r.idle()
    # three sweeps within a second of that build: only the newest is built, after the interval
    for height in (2, 3, 4):
        offer(r, height=height)
        await asyncio.sleep(0)
    await r.idle()
    assert r.builds == 2
    assert board.current is not None
    assert json.loads(board.current.document.body)["chain"]["height"] == 4
    await r.aclose()


async def test_a_failed_build_keeps_the_last_status_and_is_logged(journal: SqliteJournal) -> None:
    board = StatusBoard()
    r = reporter(board, journal)
    offer(r, height=1)
    await r.idle()
    before = board.current
    await journal.close()  # the next build cannot read the journal
    with capture_logs() as logs:
        offer(r, height=2)
        await r.idle()
    assert board.current is before
    assert [e["error"] for e in logs if e["event"] == "status_build_failed"]
    await r.aclose()
