"""price_feed_updates_total counts PriceFeedUpdatedEvents, each once, across restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from autobot.clock import FakeClock
from autobot.domain.feeds import PriceFeed
from autobot.feed_updates import PRICE_UPDATED, FeedUpdates
from autobot.journal.store import SqliteJournal
from fake_chain import FakeChain

NOW = 1_700_000_000
PKG = "0x" + "ab" * 32


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    j = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=FakeClock())
    yield j
    await j.close()


def chain_with_feeds() -> FakeChain:
    chain = FakeChain(admin=PKG, now=NOW, wall=lambda: float(NOW))
    for asset in (1, 2):
        chain.state.feeds[asset] = PriceFeed(
            asset_id=asset, price=1, decimals=8, last_updated_ts=NOW
        )
    return chain


def update(chain: FakeChain, asset: int) -> None:
    chain.emit(PRICE_UPDATED, asset_id=str(asset), price="2")
    chain.advance(1)


async def count(counter: FeedUpdates, chain: FakeChain) -> int:
    snapshot = await chain.snapshot(lottery_ids=(), asset_ids=(1, 2))
    return await counter.count(snapshot, assets=(1, 2))


async def test_every_update_between_two_sweeps_is_counted(journal: SqliteJournal) -> None:
    chain = chain_with_feeds()
    counter = FeedUpdates(gateway=chain, journal=journal)  # type: ignore[arg-type]
    await count(counter, chain)  # counting starts here
    # when: three updates of asset 1 and one of asset 2 (and one of an unwatched asset 9)
    for asset in (1, 1, 2, 1, 9):
        update(chain, asset)
    # then: each counted (a timestamp compared between sweeps would have seen one per asset)
    assert await count(counter, chain) == 4
    assert counter.totals == {1: 3, 2: 1}


async def test_a_restart_between_events_counts_each_once_and_skips_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    chain = chain_with_feeds()
    journal = await SqliteJournal.open(path, clock=FakeClock())
    counter = FeedUpdates(gateway=chain, journal=journal)  # type: ignore[arg-type]
    await count(counter, chain)
    update(chain, 1)
    update(chain, 2)
    await count(counter, chain)
    update(chain, 1)  # after the last count, before the stop: not counted yet
    await journal.close()
    # while the daemon is down: two more updates
    update(chain, 1)
    update(chain, 2)
    # when: it starts again over the same journal
    journal = await SqliteJournal.open(path, clock=FakeClock())
    again = FeedUpdates(gateway=chain, journal=journal)  # type: ignore[arg-type]
    try:
        assert await count(again, chain) == 3
        assert again.totals == {1: 3, 2: 2}
        # then: counting again finds nothing new, and asks the chain for nothing
        asked = chain.calls["events"]
        assert await count(again, chain) == 0
        assert chain.calls["events"] == asked
        assert again.totals == {1: 3, 2: 2}
    finally:
        await journal.close()


async def test_events_read_twice_are_not_counted_twice(journal: SqliteJournal) -> None:
    chain = chain_with_feeds()
    counter = FeedUpdates(gateway=chain, journal=journal)  # type: ignore[arg-type]
    await count(counter, chain)
    update(chain, 1)
    await count(counter, chain)
    # when: the cursor is behind (a node that served an older block first): the same block again
    cursor = await journal.event_counts(PRICE_UPDATED)
    assert cursor is not None
    await journal.count_events(PRICE_UPDATED, next_height=1, seen=cursor.seen, added={})
    rereading = FeedUpdates(gateway=chain, journal=journal)  # type: ignore[arg-type]
    update(chain, 2)
    # then: the event already counted (its sequence number is below the count) is skipped
    assert await count(rereading, chain) == 1
    assert rereading.totals == {1: 1, 2: 1}
