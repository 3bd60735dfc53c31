"""The watchlist keeps the final view of each lottery it saw finish, for the status page."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_watchlist import fake_chain, lottery, read, watchlist

from autobot.clock import FakeClock
from autobot.domain.lotteries import LotteryStatus
from autobot.journal.store import SqliteJournal
from autobot.watchlist import FINISHED_KEPT


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    j = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=FakeClock())
    yield j
    await j.close()


async def test_a_lottery_seen_finishing_keeps_its_final_view_and_when(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[5] = lottery(5, LotteryStatus.PAYOUT)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    assert wl.finished == {}
    chain.advance(15)
    final = lottery(5, LotteryStatus.FINALIZED)
    chain.state.lotteries[5] = final
    chain.emit("history::LotteryFinalizedEvent", id="5")
    await read(wl, chain)
    snapshot = await read(wl, chain)
    assert 5 not in snapshot.lotteries  # no longer live: the planners never see it again
    assert wl.finished == {5: (chain.state.now, final)}


async def test_only_the_latest_finished_lotteries_are_kept(journal: SqliteJournal) -> None:
    chain = fake_chain()
    total = FINISHED_KEPT + 3
    for n in range(1, total + 1):
        chain.state.lotteries[n] = lottery(n, LotteryStatus.PAYOUT)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.advance(15)
    for n in range(1, total + 1):
        chain.state.lotteries[n] = lottery(n, LotteryStatus.FINALIZED)
        chain.emit("history::LotteryFinalizedEvent", id=str(n))
    await read(wl, chain)
    await read(wl, chain)
    assert len(wl.finished) == FINISHED_KEPT
    assert min(wl.finished) == 4 and max(wl.finished) == total
