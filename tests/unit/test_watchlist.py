"""The watchlist: which lotteries a sweep reads (due, changed, new), and which it never reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Collection
from dataclasses import replace
from pathlib import Path

import pytest

from autobot.chain.gateway import ChainEvent, EventPage
from autobot.clock import FakeClock
from autobot.domain.lotteries import LotteryConfig, LotteryStatus, LotteryStatusView
from autobot.domain.snapshot import LotteryView, Snapshot, compute_overview
from autobot.domain.values import ChainTime
from autobot.errors import TransientError
from autobot.journal.store import SqliteJournal
from autobot.planning.plan import PlanContext
from autobot.watchlist import Watchlist

NOW = 1_700_000_000
PKG = "0x" + "ab" * 32


def lottery(lottery_id: int, status: LotteryStatus, *, sales_end: int = NOW + 3_600) -> LotteryView:
    return LotteryView(
        lottery_id=lottery_id,
        status=status,
        config=LotteryConfig(sales_start=NOW - 86_400, sales_end=sales_end),
    )


class ViewsChain:
    """The gateway reads the watchlist makes, over views a test sets; counts per-lottery reads."""

    def __init__(self) -> None:
        self.now = NOW
        self.height = 10
        self.views: dict[int, LotteryView] = {}
        self.emitted: list[tuple[int, str, dict[str, object]]] = []  # (height, type, data)
        self.reads: Counter[int] = Counter()
        self.requests = 0

    def tick(self, seconds: int = 15) -> None:
        self.now += seconds
        self.height += 75

    def emit(self, event_type: str, **data: object) -> None:
        self.emitted.append((self.height, event_type, data))

    async def lottery_ids(self) -> tuple[int, ...]:
        self.requests += 1
        return tuple(sorted(self.views))

    async def finalized_ids(self) -> tuple[int, ...]:
        self.requests += 1
        done = (v for v in self.views.values() if v.status == LotteryStatus.FINALIZED or v.archived)
        return tuple(sorted(v.lottery_id for v in done))

    async def chain_time(self) -> ChainTime:
        self.requests += 1
        return ChainTime(seconds=self.now, height=self.height)

    async def snapshot(
        self, *, lottery_ids: Collection[int], asset_ids: Collection[int] = ()
    ) -> Snapshot:
        self.requests += 5  # chain time and the aggregate views
        return Snapshot(
            time=ChainTime(seconds=self.now, height=self.height),
            overview=compute_overview(self.views.values(), self.now),
            lotteries=await self.lottery_views(lottery_ids),
        )

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        self.reads.update(lottery_ids)
        self.requests += 8 * len(lottery_ids)
        return {i: self.views[i] for i in lottery_ids}

    async def events(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage:
        self.requests += 1
        low, high = start_height or 0, end_height or 2**63
        return EventPage(
            events=tuple(
                ChainEvent(type=t, data=d, block_height=h, tx_hash="0x00")
                for h, t, d in self.emitted
                if t == event_type and low <= h < high
            )
        )

    async def list_active(self, *, start: int = 0, limit: int = 1000) -> tuple[int, ...]:
        self.requests += 1
        active = sorted(i for i, v in self.views.items() if v.status == LotteryStatus.ACTIVE)
        return tuple(active[start : start + limit])

    async def lottery_status(self, lottery_id: int) -> LotteryStatusView:
        self.requests += 1
        return LotteryStatusView(status=self.views[lottery_id].status)


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    j = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=FakeClock())
    yield j
    await j.close()


def watchlist(chain: ViewsChain, journal: SqliteJournal) -> Watchlist:
    return Watchlist(
        gateway=chain,  # type: ignore[arg-type]
        journal=journal,
        schedule=PlanContext(chain_id=6),
    )


async def read(wl: Watchlist, chain: ViewsChain) -> Snapshot:
    """One sweep's share: read (due and changed), then scan (changes for the next sweep)."""
    snapshot = await wl.read(asset_ids=(), estimated_now=chain.now)
    await wl.scan()
    return snapshot


async def test_an_idle_lottery_is_not_read_again_until_its_next_check(
    journal: SqliteJournal,
) -> None:
    # given: lottery 1's sales end in 100 s; lottery 2's in a week
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 100)
    chain.views[2] = lottery(2, LotteryStatus.ACTIVE, sales_end=NOW + 7 * 86_400)
    wl = watchlist(chain, journal)
    first = await read(wl, chain)
    assert chain.reads == {1: 1, 2: 1}
    assert wl.next_checks() == {1: NOW + 101, 2: NOW + 7 * 86_400 + 1}
    # when: sweeps before the next check
    for _ in range(6):
        chain.tick(15)
        snapshot = await read(wl, chain)
        # then: nothing is read, and the planners still see both lotteries
        assert chain.reads == {1: 1, 2: 1}
        assert snapshot.lotteries == first.lotteries
    # when: the sweep at the next check
    chain.tick(15)  # NOW + 105
    await read(wl, chain)
    # then: only lottery 1 is read again
    assert chain.reads == {1: 2, 2: 1}


async def test_an_idle_sweep_costs_the_same_whatever_the_number_of_lotteries(
    journal: SqliteJournal,
) -> None:
    costs = []
    for count in (10, 1_000):
        chain = ViewsChain()
        for i in range(1, count + 1):
            chain.views[i] = lottery(i, LotteryStatus.ACTIVE)
        wl = watchlist(chain, journal)
        await read(wl, chain)
        chain.tick()
        before = chain.requests
        await read(wl, chain)  # the first scan reads the events
        costs.append(chain.requests - before)
        chain.tick()
        before = chain.requests
        await read(wl, chain)  # the overview did not move: no events scan
        costs.append(chain.requests - before)
    # chain time and the aggregate views, then one request per event type when scanning
    assert costs == [5 + 7, 5, 5 + 7, 5]


async def test_a_finalized_lottery_is_never_read_again(journal: SqliteJournal) -> None:
    # given: lottery 2 is finalized, lottery 3 canceled and archived (both have a summary)
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.ACTIVE)
    chain.views[2] = lottery(2, LotteryStatus.FINALIZED)
    chain.views[3] = replace(lottery(3, LotteryStatus.CANCELED), archived=True)
    wl = watchlist(chain, journal)
    first = await read(wl, chain)
    assert set(first.lotteries) == {1}
    assert await journal.terminal_lotteries() == {2, 3}
    # when: events name them, time passes, and the daemon restarts (a new watchlist)
    chain.tick()
    chain.emit("history::LotteryFinalizedEvent", id="2")
    chain.emit("history::RefundBatchEvent", lottery_id="3")
    await read(wl, chain)
    again = watchlist(chain, journal)
    for _ in range(3):
        chain.tick()
        await read(again, chain)
    # then: their views were never read (only their status once, for the journal)
    assert chain.reads[2] == chain.reads[3] == 0


async def test_a_standby_keeps_terminal_lotteries_in_memory_until_it_takes_over(
    journal: SqliteJournal,
) -> None:
    # given: a standby's watchlist (its journal takes no writes), lottery 2 finalized at start
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.PAYOUT)
    chain.views[2] = lottery(2, LotteryStatus.FINALIZED)
    wl = watchlist(chain, journal)
    wl.defer_terminal_marks()
    await read(wl, chain)
    # when: lottery 1 is finalized while it stands by
    chain.tick()
    chain.views[1] = lottery(1, LotteryStatus.FINALIZED)
    chain.emit("history::LotteryFinalizedEvent", id="1")
    await read(wl, chain)
    await read(wl, chain)
    # then: neither was written, both are known terminal (never read again)
    assert await journal.terminal_lotteries() == frozenset()
    reads = dict(chain.reads)
    chain.tick()
    await read(wl, chain)
    assert dict(chain.reads) == reads
    # when: it takes over
    await wl.flush()
    # then: both are in the journal, and later ones are written at once
    assert await journal.terminal_lotteries() == {1, 2}
    chain.tick()
    chain.views[3] = lottery(3, LotteryStatus.FINALIZED)
    await read(wl, chain)
    await read(wl, chain)
    assert await journal.terminal_lotteries() == {1, 2, 3}


async def test_a_lottery_that_becomes_finalized_is_read_once_more_then_never(
    journal: SqliteJournal,
) -> None:
    chain = ViewsChain()
    chain.views[5] = lottery(5, LotteryStatus.PAYOUT)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    # when: the treasury finalizes it (the sweep that sees the event reads it at the next one)
    chain.tick()
    chain.views[5] = lottery(5, LotteryStatus.FINALIZED)
    chain.emit("history::LotteryFinalizedEvent", id="5")
    await read(wl, chain)
    snapshot = await read(wl, chain)  # (the next sweep no longer has it)
    for _ in range(3):
        chain.tick()
        chain.emit("history::PayoutBatchEvent", lottery_id="5")
        await read(wl, chain)
    # then
    assert 5 not in snapshot.lotteries and 5 in await journal.terminal_lotteries()
    assert chain.reads[5] == 2


async def test_a_lottery_named_by_an_event_is_read_at_the_next_sweep(
    journal: SqliteJournal,
) -> None:
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.CLOSING)
    chain.views[2] = lottery(2, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    # when: lottery 1's draw is requested (by someone) in a later block
    chain.tick()
    chain.views[1] = lottery(1, LotteryStatus.DRAW_REQUESTED)
    chain.emit("history::VrfRequestedEvent", lottery_id="1")
    await read(wl, chain)  # the sweep that sees the event reads it after acting
    assert chain.reads == {1: 2, 2: 1}
    snapshot = await read(wl, chain)  # the next sweep plans with it
    # then
    assert snapshot.lotteries[1].status == LotteryStatus.DRAW_REQUESTED
    chain.tick()
    await read(wl, chain)
    assert chain.reads == {1: 2, 2: 1}  # the event is not seen twice


async def test_a_status_change_without_an_event_is_found_through_the_active_ids(
    journal: SqliteJournal,
) -> None:
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.ACTIVE)
    chain.views[2] = lottery(2, LotteryStatus.ACTIVE)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    # when: someone closes lottery 2 (advance_status emits no event)
    chain.tick()
    chain.views[2] = lottery(2, LotteryStatus.CLOSING)
    await read(wl, chain)  # the counts disagree: the active ids tell which
    await read(wl, chain)  # read after acting
    snapshot = await read(wl, chain)
    # then: the status counts disagreed, the active ids told which
    assert snapshot.lotteries[2].status == LotteryStatus.CLOSING
    assert chain.reads == {1: 1, 2: 2}


async def test_a_new_lottery_is_read_once_the_total_grows(journal: SqliteJournal) -> None:
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.ACTIVE)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.tick()
    chain.views[7] = lottery(7, LotteryStatus.DRAFT)
    await read(wl, chain)  # the total grew: read after acting
    snapshot = await read(wl, chain)
    assert set(snapshot.lotteries) == {1, 7}
    assert chain.reads == {1: 1, 7: 1}


async def test_a_pending_execution_reads_its_lottery_when_it_comes(
    journal: SqliteJournal,
) -> None:
    chain = ViewsChain()
    chain.views[4] = lottery(4, LotteryStatus.DRAFT)
    wl = watchlist(chain, journal)

    async def sweep() -> None:
        await wl.read(asset_ids=(), estimated_now=chain.now, pending={4: NOW + 20})
        await wl.scan()

    await sweep()
    chain.tick(15)
    await sweep()
    assert chain.reads[4] == 1
    chain.tick(15)
    await sweep()
    await sweep()
    assert chain.reads[4] == 2  # once when it came (after acting), not at every sweep after


async def test_the_planners_get_only_the_lotteries_that_may_have_work(
    journal: SqliteJournal,
) -> None:
    chain = ViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 30)
    chain.views[2] = lottery(2, LotteryStatus.ACTIVE, sales_end=NOW + 7 * 86_400)
    chain.views[3] = lottery(3, LotteryStatus.CLOSING)
    chain.views[4] = lottery(4, LotteryStatus.PAYOUT)
    wl = watchlist(chain, journal)
    snapshot = await read(wl, chain)
    assert set(snapshot.lotteries) == {1, 2, 3, 4}  # the metrics see every live lottery
    assert set(wl.for_planning(snapshot).lotteries) == {3}
    assert set(wl.for_planning(snapshot, also=[2]).lotteries) == {2, 3}  # an operator request
    chain.tick(31)
    snapshot = await read(wl, chain)  # lottery 1's sales ended: read, and it may have work
    assert set(wl.for_planning(snapshot).lotteries) == {1, 3}


class FlakyViewsChain(ViewsChain):
    """The read named by ``down`` fails ("the views" of lotteries, or "the lottery ids")."""

    def __init__(self) -> None:
        super().__init__()
        self.down = ""

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        if self.down == "the views" and lottery_ids:
            raise TransientError("connection reset")
        return await super().lottery_views(lottery_ids, scoped=scoped)

    async def lottery_ids(self) -> tuple[int, ...]:
        if self.down == "the lottery ids":
            raise TransientError("connection reset")
        return await super().lottery_ids()


@pytest.mark.parametrize("failing", ["the views", "the lottery ids"])
async def test_a_change_whose_read_fails_is_read_at_a_later_scan(
    journal: SqliteJournal, failing: str
) -> None:
    # given: lottery 1 drawn-requested by someone (an event names it) and a new lottery 2
    chain = FlakyViewsChain()
    chain.views[1] = lottery(1, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.tick()
    chain.views[1] = lottery(1, LotteryStatus.DRAW_REQUESTED)
    chain.views[2] = lottery(2, LotteryStatus.ACTIVE)
    chain.emit("history::VrfRequestedEvent", lottery_id="1")
    await wl.read(asset_ids=(), estimated_now=chain.now)
    # when: the scan's reads fail half-way (the events were already scanned)
    chain.down = failing
    with pytest.raises(TransientError):
        await wl.scan()
    # then: nothing was forgotten; the next sweep's scan reads both
    chain.down = ""
    chain.tick()
    await read(wl, chain)
    snapshot = await read(wl, chain)
    assert snapshot.lotteries[1].status == LotteryStatus.DRAW_REQUESTED
    assert snapshot.lotteries[2].status == LotteryStatus.ACTIVE


async def test_moving_count_differences_of_a_busy_chain_never_trigger_the_full_scan(
    journal: SqliteJournal,
) -> None:
    # given: many kept lotteries; every sweep, someone closes one more without an event
    chain = ViewsChain()
    for i in range(1, 40):
        chain.views[i] = lottery(i, LotteryStatus.ACTIVE)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.reads.clear()
    status_reads = 0
    original = chain.lottery_status

    async def counted(lottery_id: int) -> LotteryStatusView:
        nonlocal status_reads
        status_reads += 1
        return await original(lottery_id)

    chain.lottery_status = counted  # type: ignore[method-assign]
    # when: two minutes of chain time, counts differing by a different amount at most sweeps
    for n in range(1, 9):
        chain.tick()
        for i in range(1, n + 1):
            chain.views[i] = lottery(i, LotteryStatus.CLOSING)
        await read(wl, chain)
    # then: the active ids explained each difference; no lottery's status was read one by one
    assert status_reads == 0
    for _ in range(2):  # (the last close: found by the active ids at the next scan, then read)
        await read(wl, chain)
    snapshot = await read(wl, chain)
    assert [i for i, v in snapshot.lotteries.items() if v.status == LotteryStatus.CLOSING] == list(
        range(1, 9)
    )


async def test_a_difference_that_stays_the_same_for_a_minute_reads_every_status(
    journal: SqliteJournal,
) -> None:
    # given: a kept lottery whose status changed in a way the active ids cannot show
    chain = ViewsChain()
    for i in range(1, 5):
        chain.views[i] = lottery(i, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.views[3] = lottery(3, LotteryStatus.DRAW_REQUESTED)  # no event, not ACTIVE either side
    # when: the same difference for more than a minute of chain time
    for _ in range(6):
        chain.tick()
        await read(wl, chain)
    snapshot = await read(wl, chain)
    # then: the full status read found it
    assert snapshot.lotteries[3].status == LotteryStatus.DRAW_REQUESTED
