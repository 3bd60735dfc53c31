"""The watchlist: which lotteries a sweep reads (due, changed, new), and which it never reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot.chain.gateway import EventPage
from autobot.clock import FakeClock
from autobot.domain.draws import WinnerProgress
from autobot.domain.lotteries import LotteryConfig, LotteryStatus
from autobot.domain.refunds import RefundProgress
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.errors import TransientError
from autobot.journal.store import SqliteJournal
from autobot.planning.plan import PlanContext
from autobot.watchlist import DRAFT_RECHECK_SECONDS, Watchlist, _NextChecks
from fake_chain import FakeChain

NOW = 1_700_000_000
PKG = "0x" + "ab" * 32


def lottery(lottery_id: int, status: LotteryStatus, *, sales_end: int = NOW + 3_600) -> LotteryView:
    return LotteryView(
        lottery_id=lottery_id,
        status=status,
        config=LotteryConfig(sales_start=NOW - 86_400, sales_end=sales_end),
    )


def fake_chain() -> FakeChain:
    """The suite's one fake gateway, at ``NOW``, with no lottery yet."""
    return FakeChain(admin=PKG, now=NOW, wall=lambda: float(NOW), height=10)


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    j = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=FakeClock())
    yield j
    await j.close()


def watchlist(chain: FakeChain, journal: SqliteJournal) -> Watchlist:
    return Watchlist(
        gateway=chain,  # type: ignore[arg-type]
        journal=journal,
        schedule=PlanContext(chain_id=6),
    )


async def read(wl: Watchlist, chain: FakeChain) -> Snapshot:
    """One sweep's share: read (due and changed), then scan (changes for the next sweep)."""
    snapshot = await wl.read(asset_ids=(), estimated_now=chain.state.now)
    await wl.scan()
    return snapshot


async def test_an_idle_lottery_is_not_read_again_until_its_next_check(
    journal: SqliteJournal,
) -> None:
    # given: lottery 1's sales end in 100 s; lottery 2's in a week
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 100)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.ACTIVE, sales_end=NOW + 7 * 86_400)
    wl = watchlist(chain, journal)
    first = await read(wl, chain)
    assert chain.reads == {1: 1, 2: 1}
    assert wl.next_checks() == {1: NOW + 101, 2: NOW + 7 * 86_400 + 1}
    # when: sweeps before the next check
    for _ in range(6):
        chain.advance(15)
        snapshot = await read(wl, chain)
        # then: nothing is read, and the planners still see both lotteries
        assert chain.reads == {1: 1, 2: 1}
        assert snapshot.lotteries == first.lotteries
    # when: the sweep at the next check
    chain.advance(15)  # NOW + 105
    await read(wl, chain)
    # then: only lottery 1 is read again
    assert chain.reads == {1: 2, 2: 1}


async def test_an_idle_sweep_costs_the_same_whatever_the_number_of_lotteries(
    journal: SqliteJournal,
) -> None:
    costs = []
    for count in (10, 1_000):
        chain = fake_chain()
        for i in range(1, count + 1):
            chain.state.lotteries[i] = lottery(i, LotteryStatus.ACTIVE)
        wl = watchlist(chain, journal)
        await read(wl, chain)
        chain.advance(15)
        chain.emit("history::RefundBatchEvent", lottery_id="1")  # an event of one type
        before = sum(chain.calls.values())
        await read(wl, chain)  # its counter moved: that type's events are scanned, 1 read
        costs.append(sum(chain.calls.values()) - before)
        chain.advance(15)
        before = sum(chain.calls.values())
        await read(wl, chain)  # no counter moved: no events request at all
        costs.append(sum(chain.calls.values()) - before)
    # the snapshot (chain time, the aggregates, the activity), plus one events request and the
    # lottery it names when something happened
    assert costs == [1 + 1 + 1, 1, 1 + 1 + 1, 1]


async def test_only_the_event_types_whose_counters_moved_are_scanned(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    asked: list[str] = []
    original = chain.events

    async def events(event_type: str, **kw: object) -> EventPage:
        asked.append(event_type)
        return await original(event_type, **kw)  # type: ignore[arg-type]

    chain.events = events  # type: ignore[method-assign]
    chain.advance(15)
    chain.emit("history::VrfRequestedEvent", lottery_id="1")
    await read(wl, chain)
    assert asked == ["history::VrfRequestedEvent"]
    for _ in range(3):  # nothing moved: nothing asked, however many sweeps
        chain.advance(15)
        await read(wl, chain)
    assert asked == ["history::VrfRequestedEvent"]


async def test_events_an_endpoint_has_not_served_yet_are_asked_for_again(
    journal: SqliteJournal,
) -> None:
    # given: the counters say lottery 2 had an event, but the events lag one scan behind
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.CLOSING)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    original = chain.events
    hidden = True

    async def lagging(event_type: str, **kw: object) -> EventPage:
        page = await original(event_type, **kw)  # type: ignore[arg-type]
        return EventPage(events=()) if hidden else page

    chain.events = lagging  # type: ignore[method-assign]
    chain.advance(15)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.DRAW_REQUESTED)
    chain.emit("history::VrfRequestedEvent", lottery_id="2")
    await read(wl, chain)
    assert chain.reads[2] == 1  # not seen yet
    # when: the endpoint has them at the next sweep
    hidden = False
    chain.advance(15)
    await read(wl, chain)
    # then: they were asked for again and lottery 2 was read
    assert chain.reads[2] == 2


async def test_a_finalized_lottery_is_never_read_again(journal: SqliteJournal) -> None:
    # given: lottery 2 is finalized, lottery 3 canceled and archived (both have a summary)
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.ACTIVE)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.FINALIZED)
    chain.state.lotteries[3] = replace(lottery(3, LotteryStatus.CANCELED), archived=True)
    chain.emit("history::LotteryCanceledEvent", lottery_id="3")
    wl = watchlist(chain, journal)
    first = await read(wl, chain)
    assert set(first.lotteries) == {1}
    assert await journal.terminal_statuses() == {2: 6, 3: 7}
    assert chain.calls["lottery_status"] == 0  # told by the cancel events
    # when: events name them, time passes, and the daemon restarts (a new watchlist)
    chain.advance(15)
    chain.emit("history::LotteryFinalizedEvent", id="2")
    chain.emit("history::RefundBatchEvent", lottery_id="3")
    await read(wl, chain)
    again = watchlist(chain, journal)
    for _ in range(3):
        chain.advance(15)
        await read(again, chain)
    # then: their views were never read (only their status once, for the journal)
    assert chain.reads[2] == chain.reads[3] == 0


async def test_a_standby_keeps_terminal_lotteries_in_memory_until_it_takes_over(
    journal: SqliteJournal,
) -> None:
    # given: a standby's watchlist (its journal takes no writes), lottery 2 finalized at start
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.PAYOUT)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.FINALIZED)
    wl = watchlist(chain, journal)
    wl.defer_terminal_marks()
    await read(wl, chain)
    # when: lottery 1 is finalized while it stands by
    chain.advance(15)
    chain.state.lotteries[1] = lottery(1, LotteryStatus.FINALIZED)
    chain.emit("history::LotteryFinalizedEvent", id="1")
    await read(wl, chain)
    await read(wl, chain)
    # then: neither was written, both are known terminal (never read again)
    assert await journal.terminal_statuses() == {}
    reads = dict(chain.reads)
    chain.advance(15)
    await read(wl, chain)
    assert dict(chain.reads) == reads
    # when: it takes over
    await wl.flush()
    # then: both are in the journal, and later ones are written at once
    assert await journal.terminal_statuses() == {1: 6, 2: 6}
    chain.advance(15)
    chain.state.lotteries[3] = lottery(3, LotteryStatus.FINALIZED)
    await read(wl, chain)
    await read(wl, chain)
    assert await journal.terminal_statuses() == {1: 6, 2: 6, 3: 6}


async def test_a_standby_that_takes_over_reads_every_kept_lottery_once_more(
    journal: SqliteJournal,
) -> None:
    # given: a standby's watchlist holding lottery 5 ACTIVE, idle until its next check
    chain = fake_chain()
    chain.state.lotteries[5] = lottery(5, LotteryStatus.ACTIVE)
    wl = watchlist(chain, journal)
    wl.defer_terminal_marks()
    await read(wl, chain)
    # when: the lottery moved on in a way its scan did not see (the previous leader's last
    # moments, or the recovery finishing the close), and the standby takes over
    chain.state.lotteries[5] = lottery(5, LotteryStatus.CLOSING)
    chain.advance(1)
    assert (await read(wl, chain)).lotteries[5].status is LotteryStatus.ACTIVE  # still idle
    await wl.flush()
    # then: the new leader's first sweep reads it again (its scan), and the next plans on what
    # the chain says
    await read(wl, chain)
    assert (await read(wl, chain)).lotteries[5].status is LotteryStatus.CLOSING


async def test_terminal_statuses_are_read_one_by_one_when_the_cancel_events_fall_short(
    journal: SqliteJournal,
) -> None:
    # given: two archived cancels, but the node serves only one of their events
    chain = fake_chain()
    for i in (1, 2):
        chain.state.lotteries[i] = replace(lottery(i, LotteryStatus.CANCELED), archived=True)
        chain.emit("history::LotteryCanceledEvent", lottery_id=str(i))
    chain.state.lotteries[3] = lottery(3, LotteryStatus.FINALIZED)
    original = chain.events

    async def pruned_to_one(event_type: str, **kw: object) -> EventPage:
        page = await original(event_type, **kw)  # type: ignore[arg-type]
        return EventPage(events=page.events[1:], cursor=page.cursor)

    chain.events = pruned_to_one  # type: ignore[method-assign]
    # when
    await read(watchlist(chain, journal), chain)
    # then: the counter said two, so every status was read
    assert await journal.terminal_statuses() == {1: 7, 2: 7, 3: 6}
    assert chain.calls["lottery_status"] == 3


async def test_a_lottery_that_becomes_finalized_is_read_once_more_then_never(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[5] = lottery(5, LotteryStatus.PAYOUT)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    # when: the treasury finalizes it (the sweep that sees the event reads it at the next one)
    chain.advance(15)
    chain.state.lotteries[5] = lottery(5, LotteryStatus.FINALIZED)
    chain.emit("history::LotteryFinalizedEvent", id="5")
    await read(wl, chain)
    snapshot = await read(wl, chain)  # (the next sweep no longer has it)
    for _ in range(3):
        chain.advance(15)
        chain.emit("history::PayoutBatchEvent", lottery_id="5")
        await read(wl, chain)
    # then
    assert 5 not in snapshot.lotteries and 5 in await journal.terminal_lotteries()
    assert chain.reads[5] == 2


async def test_a_lottery_named_by_an_event_is_read_at_the_next_sweep(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.CLOSING)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    # when: lottery 1's draw is requested (by someone) in a later block
    chain.advance(15)
    chain.state.lotteries[1] = lottery(1, LotteryStatus.DRAW_REQUESTED)
    chain.emit("history::VrfRequestedEvent", lottery_id="1")
    await read(wl, chain)  # the sweep that sees the event reads it after acting
    assert chain.reads == {1: 2, 2: 1}
    snapshot = await read(wl, chain)  # the next sweep plans with it
    # then
    assert snapshot.lotteries[1].status == LotteryStatus.DRAW_REQUESTED
    chain.advance(15)
    await read(wl, chain)
    assert chain.reads == {1: 2, 2: 1}  # the event is not seen twice


async def test_a_draft_activated_without_an_event_is_read_within_a_minute(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.DRAFT, sales_end=NOW + 7_200)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    assert wl.next_checks() == {1: NOW + DRAFT_RECHECK_SECONDS}
    # when: the admin activates it (advance_status emits no event)
    chain.advance(15)
    chain.state.lotteries[1] = lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 7_200)
    for _ in range(2):
        chain.advance(15)
        snapshot = await read(wl, chain)
    assert snapshot.lotteries[1].status == LotteryStatus.DRAFT  # not yet: 45 s
    chain.advance(15)
    snapshot = await read(wl, chain)
    # then: the DRAFT's recheck read it, and from now on it waits for its sales end
    assert snapshot.lotteries[1].status == LotteryStatus.ACTIVE
    assert wl.next_checks() == {1: NOW + 7_201}


async def test_the_overview_counts_every_live_lottery_and_the_terminal_ones_by_status(
    journal: SqliteJournal,
) -> None:
    # given: a live refund and two terminal lotteries whose counters never age out (§10.10)
    owed = RefundProgress(active=True, refund_round=1, tickets_refunded=3, tickets_sold=10)
    done = RefundProgress(active=True, refund_round=2, tickets_refunded=10, tickets_sold=10)
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.ACTIVE)
    chain.state.lotteries[2] = replace(lottery(2, LotteryStatus.CANCELED), refund=owed)
    chain.state.lotteries[3] = replace(
        lottery(3, LotteryStatus.CANCELED), refund=done, archived=True
    )
    chain.state.lotteries[4] = replace(
        lottery(4, LotteryStatus.FINALIZED),
        winners=WinnerProgress(initialized=True, next_winner_batch_no=2, payout_round=1),
    )
    wl = watchlist(chain, journal)
    snapshot = await read(wl, chain)
    # then: statuses and the total count all four; refund and payout counters the live ones
    overview = snapshot.overview
    assert (overview.total, overview.active, overview.canceled, overview.finalized) == (4, 1, 2, 1)
    assert (overview.refund_active, overview.refund_batch_pending) == (1, 7)
    assert overview.payout_backlog == 0  # the finalized lottery's backlog is left out
    chain_wide = await chain.status_overview(NOW)
    assert (chain_wide.refund_active, chain_wide.payout_backlog) == (2, 1)  # the package's own
    # and after a restart, from the journal's statuses
    again = await read(watchlist(chain, journal), chain)
    assert again.overview == overview


async def test_a_new_lottery_is_read_once_the_total_grows(journal: SqliteJournal) -> None:
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.ACTIVE)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.advance(15)
    chain.state.lotteries[7] = lottery(7, LotteryStatus.DRAFT)
    await read(wl, chain)  # the total grew: read after acting
    snapshot = await read(wl, chain)
    assert set(snapshot.lotteries) == {1, 7}
    assert chain.reads == {1: 1, 7: 1}


async def test_a_pending_execution_reads_its_lottery_when_it_comes(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[4] = lottery(4, LotteryStatus.DRAFT)
    wl = watchlist(chain, journal)

    async def sweep() -> None:
        await wl.read(asset_ids=(), estimated_now=chain.state.now, pending={4: NOW + 20})
        await wl.scan()

    await sweep()
    chain.advance(15)
    await sweep()
    assert chain.reads[4] == 1
    chain.advance(15)
    await sweep()
    await sweep()
    assert chain.reads[4] == 2  # once when it came (after acting), not at every sweep after


async def test_the_planners_get_only_the_lotteries_that_may_have_work(
    journal: SqliteJournal,
) -> None:
    chain = fake_chain()
    chain.state.lotteries[1] = lottery(1, LotteryStatus.ACTIVE, sales_end=NOW + 30)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.ACTIVE, sales_end=NOW + 7 * 86_400)
    chain.state.lotteries[3] = lottery(3, LotteryStatus.CLOSING)
    chain.state.lotteries[4] = lottery(4, LotteryStatus.PAYOUT)
    wl = watchlist(chain, journal)
    snapshot = await read(wl, chain)
    assert set(snapshot.lotteries) == {1, 2, 3, 4}  # the metrics see every live lottery
    assert set(wl.for_planning(snapshot).lotteries) == {3}
    assert set(wl.for_planning(snapshot, also=[2]).lotteries) == {2, 3}  # an operator request
    chain.advance(31)
    snapshot = await read(wl, chain)  # lottery 1's sales ended: read, and it may have work
    assert set(wl.for_planning(snapshot).lotteries) == {1, 3}


class FlakyChain(FakeChain):
    """The read named by ``down`` fails ("the views" of lotteries, or "the lottery ids")."""

    down = ""

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        if self.down == "the views" and lottery_ids:
            raise TransientError("connection reset")
        return await super().lottery_views(lottery_ids, scoped=scoped)

    async def lottery_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        if self.down == "the lottery ids":
            raise TransientError("connection reset")
        return await super().lottery_ids()


@pytest.mark.parametrize("failing", ["the views", "the lottery ids"])
async def test_a_change_whose_read_fails_is_read_at_a_later_scan(
    journal: SqliteJournal, failing: str
) -> None:
    # given: lottery 1 drawn-requested by someone (an event names it) and a new lottery 2
    chain = FlakyChain(admin=PKG, now=NOW, wall=lambda: float(NOW), height=10)
    chain.state.lotteries[1] = lottery(1, LotteryStatus.CLOSING)
    wl = watchlist(chain, journal)
    await read(wl, chain)
    chain.advance(15)
    chain.state.lotteries[1] = lottery(1, LotteryStatus.DRAW_REQUESTED)
    chain.state.lotteries[2] = lottery(2, LotteryStatus.ACTIVE)
    chain.emit("history::VrfRequestedEvent", lottery_id="1")
    await wl.read(asset_ids=(), estimated_now=chain.state.now)
    # when: the scan's reads fail half-way (the events were already scanned)
    chain.down = failing
    with pytest.raises(TransientError):
        await wl.scan()
    # then: nothing was forgotten; the next sweep's scan reads both
    chain.down = ""
    chain.advance(15)
    await read(wl, chain)
    snapshot = await read(wl, chain)
    assert snapshot.lotteries[1].status == LotteryStatus.DRAW_REQUESTED
    assert snapshot.lotteries[2].status == LotteryStatus.ACTIVE


# -- the next checks' index -------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "discard", "due", "earliest"]),
            st.integers(0, 30),  # lottery id
            st.integers(0, 50),  # chain second
        ),
        max_size=200,
    )
)
def test_next_checks_answer_as_a_plain_map_would(ops: list[tuple[str, int, int]]) -> None:
    index, model = _NextChecks(), dict[int, int]()
    for op, lottery_id, second in ops:
        if op == "put":
            index.put(lottery_id, second)
            model[lottery_id] = second
        elif op == "discard":
            index.discard(lottery_id)
            model.pop(lottery_id, None)
        elif op == "due":
            assert index.due(second) == {i for i, at in model.items() if at <= second}
        else:
            assert index.earliest() == min(model.values(), default=None)
        assert index.as_dict() == model
