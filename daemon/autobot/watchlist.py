"""Which lotteries a sweep reads: reads scale with the work due, not with the lottery count.

The ``Watchlist`` keeps the last view of every live lottery between sweeps and gives the planners a
full ``Snapshot`` every time, but reads a lottery's seven views again only when

* its **next check** has come (``planning.schedule.next_check``: sales end, retry window, VRF
  deadline, refund SLA, the end of a pending execution),
* it **changed**: an event of the package named it (``LOTTERY_EVENTS``, scanned from the block
  after the last scanned one up to the snapshot's block whenever ``status_overview``'s counts
  moved, and at least every ``EVENTS_EVERY_SECONDS``), one of autobot's own
  actions on it moved (``mark_changed``), or it is new (``status_overview.total`` grew: the ids are
  listed again) — read by ``scan`` after the sweep acted, for the next sweep,
* or the status counts of ``status_overview`` disagree with the views kept (a change no event
  announces, e.g. someone's ``advance_status``): the ACTIVE ids are listed again and compared; if
  the counts keep disagreeing *by the same amounts*, with no ACTIVE id explaining them, for
  ``FULL_SCAN_AFTER_SECONDS`` of chain time (a busy chain's differences keep changing as its
  changes are read: those are not unexplained), every
  kept lottery's status is read once, ``READ_CHUNK`` at a time.

Finalized and archived lotteries are **terminal**: remembered in the journal, never read again. (A
standby under ``[ha]`` writes nothing: ``defer_terminal_marks`` keeps them in memory until it
takes over and ``flush`` writes them.)
Aggregate views (overview, bots, deposit, cap, feeds) are read once per sweep, with chain time.
``read`` reads what is due; ``scan``, run after the sweep acted (so it never delays an action
that is due), finds and reads what changed up to the snapshot's block, for the next sweep. An idle sweep therefore costs chain time and the aggregate views (plus, every
``EVENTS_EVERY_SECONDS``, one events request per event type), whatever the number of lotteries. After a restart every live lottery is read once: the lotteries
with a summary (``views::list_finalized_ids``) are terminal without reading their views (one
status read each, for the journal), the others are read ``READ_CHUNK`` at a time, so memory stays
flat however many there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.clock import Clock, SystemClock
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView, Snapshot, StatusOverview
from autobot.errors import EventsPruned
from autobot.journal.protocol import Journal
from autobot.planning.plan import PlanContext
from autobot.planning.schedule import is_idle, is_terminal, next_check

__all__ = ["LOTTERY_EVENTS", "ReadStats", "SweepReads", "Watchlist"]

log = structlog.get_logger(__name__)

LOTTERY_EVENTS = (
    "history::LotteryCanceledEvent",
    "history::LotteryFinalizedEvent",
    "history::VrfRequestedEvent",
    "history::VrfFulfilledEvent",
    "history::WinnersComputedEvent",
    "history::PayoutBatchEvent",
    "history::RefundBatchEvent",
)
"""Events that name a lottery (``lottery_id``; ``id`` in ``LotteryFinalizedEvent``)."""

READ_CHUNK = 64
"""Lotteries whose views are read concurrently (each is seven requests)."""
EVENTS_EVERY_SECONDS = 10.0
"""Events are scanned when ``status_overview`` changed since the last scan (its counts move with
almost every change the events announce), else at least this often (wall seconds): a change
the counts do not show (a payout batch) is seen within this time."""
BUSY_REFRESH_SECONDS = 15.0
"""A changed lottery with an action of autobot's in progress is read at most this often (wall
seconds)."""
FULL_SCAN_AFTER_SECONDS = 60
"""Chain seconds of unexplained status counts before every kept lottery's status is read."""
FINISHED_KEPT = 256
"""The last views of lotteries seen becoming terminal kept for the status page (``finished``)."""

_LIVE_STATUSES = (
    LotteryStatus.DRAFT,
    LotteryStatus.ACTIVE,
    LotteryStatus.CLOSING,
    LotteryStatus.DRAW_REQUESTED,
    LotteryStatus.DRAWN,
    LotteryStatus.PAYOUT,
)
"""Statuses no terminal lottery has: their counts must equal the kept views' counts."""


def _fingerprint(overview: StatusOverview) -> tuple[int, ...]:
    """The overview's counts that only a transaction changes (not time: retry windows, SLAs)."""
    return (
        overview.total,
        *(overview.count(s) for s in LotteryStatus),
        overview.vrf_requested,
        overview.vrf_fulfilled_pending,
        overview.winners_pending,
        overview.payout_backlog,
        overview.refund_active,
        overview.refund_batch_pending,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadStats:
    """What one ``Watchlist.read`` did (the ``tick`` log line, benchmarks, tests)."""

    read: int = 0  # lotteries whose views were read
    due: int = 0  # ... because their next check had come (or a pending execution's time)
    changed: int = 0  # ... because they changed (events, own actions, new, reconciliation)
    events: int = 0  # events scanned
    kept: int = 0  # live lotteries in the snapshot
    terminal: int = 0  # lotteries known terminal (never read)


class SweepReads(Protocol):
    """What a sweep (``engine.Engine``) asks of its reads: the ``Watchlist``, or another way to
    read (the sweep benchmark's baseline reads every lottery at every sweep)."""

    @property
    def last(self) -> ReadStats:
        """What the last ``read`` and ``scan`` did."""
        ...

    @property
    def finished(self) -> Mapping[int, tuple[int, LotteryView]]:
        """Lotteries read as terminal since the start: id → (chain second, final view)."""
        ...

    async def read(
        self,
        *,
        asset_ids: Collection[int],
        estimated_now: float | None = None,
        pending: Mapping[int, int] | None = None,
    ) -> Snapshot: ...

    async def scan(self, *, busy: Collection[int] = ()) -> int: ...

    def for_planning(self, snapshot: Snapshot, *, also: Collection[int] = ()) -> Snapshot: ...

    def next_due(self) -> int | None: ...

    def mark_changed(self, lottery_ids: Iterable[int]) -> None: ...


class Watchlist:
    """The live lotteries' views between sweeps and the rules for reading them again."""

    def __init__(
        self,
        *,
        gateway: ChainGateway,
        journal: Journal,
        schedule: PlanContext,
        clock: Clock | None = None,
        event_types: Collection[str] = LOTTERY_EVENTS,
    ) -> None:
        """``schedule`` carries the config values ``next_check`` needs (grace, deadlines, SLAs);
        ``clock``'s monotonic reading times the events scans and the busy lotteries' reads."""
        self._gateway = gateway
        self._journal = journal
        self._schedule = schedule
        self._clock = clock or SystemClock()
        self._event_types = tuple(event_types)
        self._views: dict[int, LotteryView] = {}
        self._working: dict[int, LotteryView] = {}  # views the planners may act on (not idle)
        self._next: dict[int, int] = {}  # lottery id -> chain second of its next check
        self._read_at: dict[int, int] = {}  # lottery id -> chain second it was last read
        self._read_wall: dict[int, float] = {}  # lottery id -> monotonic second it was last read
        self._terminal: set[int] | None = None
        self._changed: set[int] = set()  # read at the next sweep
        self._cursor: int | None = None  # first block height whose events are not scanned
        self._mismatch_since: int | None = None  # chain time the status counts began to differ
        self._mismatch: tuple[int, ...] = ()  # by how much (chain minus kept, per live status)
        self._last: Snapshot | None = None  # the last read's snapshot (for ``scan``)
        self._pending: Mapping[int, int] = {}
        self._fingerprint: tuple[int, ...] | None = None  # the overview at the last events scan
        self._events_at = float("-inf")  # monotonic second of the last events scan
        self._fresh: set[int] = set()  # lotteries the last read read
        self._finished: dict[int, tuple[int, LotteryView]] = {}  # id -> (chain second, final view)
        self._unrecorded: dict[int, int] | None = None  # terminal marks kept (a standby's)
        self._unrecorded_at = 0  # the chain second of the latest kept mark
        self.last = ReadStats()

    @property
    def views(self) -> Mapping[int, LotteryView]:
        """The kept views of the live lotteries."""
        return self._views

    @property
    def finished(self) -> Mapping[int, tuple[int, LotteryView]]:
        """Lotteries read as terminal since the start: id → (chain second, their final view);
        the last ``FINISHED_KEPT`` (the status page shows the day's)."""
        return self._finished

    def for_planning(self, snapshot: Snapshot, *, also: Collection[int] = ()) -> Snapshot:
        """``snapshot`` with only the lotteries the planners may act on (``is_idle`` as of
        their last read: an idle one is read again at its next check), plus ``also``."""
        views = dict(self._working)
        views.update((i, self._views[i]) for i in also if i in self._views)
        return replace(snapshot, lotteries=views)

    def next_checks(self) -> Mapping[int, int]:
        """Lottery id → the chain second it will be read again at the latest (if no change)."""
        return dict(self._next)

    def next_due(self) -> int | None:
        """The earliest next check of any kept lottery."""
        return min(self._next.values(), default=None)

    def mark_changed(self, lottery_ids: Iterable[int]) -> None:
        """Read these lotteries at the next sweep (autobot's own action on them moved)."""
        self._changed.update(lottery_ids)

    def defer_terminal_marks(self) -> None:
        """Keep the lotteries found terminal in memory instead of writing them to the journal
        (a standby may not write) until ``flush``."""
        if self._unrecorded is None:
            self._unrecorded = {}

    async def flush(self) -> None:
        """Write the terminal marks kept since ``defer_terminal_marks``; write at once from now
        on (a standby that took over)."""
        kept, self._unrecorded = self._unrecorded, None
        if kept:
            await self._record_terminal(kept, self._unrecorded_at)

    # ------------------------------------------------------------------ the read

    async def read(
        self,
        *,
        asset_ids: Collection[int],
        estimated_now: float | None = None,
        pending: Mapping[int, int] | None = None,
    ) -> Snapshot:
        """One snapshot with every live lottery, reading only what is due or changed.

        ``estimated_now`` (chain seconds) picks the due lotteries to read together with the
        aggregate views; any the real chain time makes due as well are read right after.
        ``pending`` maps a lottery to the chain time an open action on it executes. What changed
        since is found by ``scan`` (after the sweep acted) and read at the next sweep.
        """
        if self._terminal is None:
            self._terminal = set(await self._journal.terminal_lotteries())
        terminal = self._terminal
        pending = pending or {}
        if self._cursor is None:  # the first read: every live lottery
            await self._summarised()
            due_ids = set(await self._gateway.lottery_ids()) - terminal
        else:
            horizon = estimated_now if estimated_now is not None else float("-inf")
            due_ids = self._due(horizon)
        # the aggregate views and the due lotteries' (scoped) views at once
        snapshot, fresh = await asyncio.gather(
            self._gateway.snapshot(lottery_ids=(), asset_ids=asset_ids), self._views_of(due_ids)
        )
        late = self._due(snapshot.now) - set(fresh)  # the estimate was behind
        fresh.update(await self._views_of(late))
        self._changed -= set(fresh)
        if self._cursor is None:
            self._cursor = snapshot.height + 1
        await self._keep(fresh, snapshot.now, pending)
        self._last = snapshot
        self._pending = pending
        self._fresh = set(fresh)
        self.last = ReadStats(read=len(fresh), due=len(fresh), kept=len(self._views))
        return replace(snapshot, lotteries=self._views)

    async def scan(self, *, busy: Collection[int] = ()) -> int:
        """After the sweep acted: read what changed, for the next sweep's planners.

        Events since the last scan (up to the last snapshot's block) name changed lotteries; a
        grown ``status_overview.total`` means new ones; ``mark_changed`` added autobot's own;
        status counts the kept views do not explain are looked into (see the module doc), and
        read at the next scan. Returns how many lotteries were read (the next sweep should plan
        with them soon).

        ``busy`` lotteries have an action of autobot's in progress: the planners leave them to
        it, so their changes (a refund batch every block) are read at most every
        ``BUSY_REFRESH_SECONDS`` (their metrics stay current) and when it ends.
        """
        snapshot, terminal = self._last, self._terminal
        if snapshot is None or terminal is None or self._cursor is None:
            return 0
        scanned = 0
        height = snapshot.height
        clock = self._clock.monotonic()
        fingerprint = _fingerprint(snapshot.overview)
        quiet = fingerprint == self._fingerprint and clock - self._events_at < EVENTS_EVERY_SECONDS
        # Everything found goes into ``_changed`` at once and leaves it only once read: a
        # request that fails half-way (the next await) loses nothing, the next scan reads it.
        # (A lottery read in this sweep may have been read a moment before the snapshot's
        # block: an event naming it is read again.)
        if height >= self._cursor and not quiet:
            changed, scanned = await self._scan_events(self._cursor, height + 1)
            self._changed |= changed
            self._cursor = height + 1
            self._fingerprint, self._events_at = fingerprint, clock
        known = set(self._views) | terminal
        if snapshot.overview.total != len(known):
            self._changed |= set(await self._gateway.lottery_ids()) - known
        self._changed |= self._pending_due(snapshot.now)
        self._changed -= terminal
        wall = self._clock.monotonic()
        later = {
            i
            for i in self._changed & set(busy)
            if wall - self._read_wall.get(i, float("-inf")) < BUSY_REFRESH_SECONDS
        }
        to_read = self._changed - later
        fresh = await self._views_of(to_read)
        self._changed -= set(fresh)
        await self._keep(fresh, snapshot.now, self._pending)
        if not to_read:
            self._changed |= await self._reconcile(snapshot.overview, snapshot.now)
        self.last = replace(
            self.last,
            read=self.last.read + len(fresh),
            changed=len(fresh),
            events=scanned,
            terminal=len(terminal),
            kept=len(self._views),
        )
        return len(fresh)

    def _due(self, now: float) -> set[int]:
        return {i for i, at in self._next.items() if at <= now}

    def _pending_due(self, now: int) -> set[int]:
        """Lotteries whose action's execution time came since they were last read."""
        return {
            i
            for i, at in self._pending.items()
            if at <= now and i in self._views and self._read_at.get(i, 0) < at
        }

    async def _views_of(self, lottery_ids: Collection[int]) -> dict[int, LotteryView]:
        """The views of ``lottery_ids`` their status can make non-default (``scoped``),
        ``READ_CHUNK`` lotteries at a time."""
        ids = sorted(lottery_ids)
        found: dict[int, LotteryView] = {}
        for start in range(0, len(ids), READ_CHUNK):
            chunk = ids[start : start + READ_CHUNK]
            found.update(await self._gateway.lottery_views(chunk, scoped=True))
        return found

    async def _summarised(self) -> None:
        """Lotteries with a summary are terminal: remember them without reading their views."""
        assert self._terminal is not None
        new = sorted(set(await self._gateway.finalized_ids()) - self._terminal)
        statuses: dict[int, int] = {}
        for start in range(0, len(new), READ_CHUNK * 8):
            chunk = new[start : start + READ_CHUNK * 8]
            read = await asyncio.gather(*(self._gateway.lottery_status(i) for i in chunk))
            statuses.update({i: int(s.status) for i, s in zip(chunk, read, strict=True)})
        now = (await self._gateway.chain_time()).seconds if statuses else 0
        await self._record_terminal(statuses, now)
        self._terminal.update(statuses)

    async def _keep(
        self, fresh: Mapping[int, LotteryView], now: int, pending: Mapping[int, int]
    ) -> None:
        assert self._terminal is not None
        ended: dict[int, int] = {}
        wall = self._clock.monotonic()
        for lottery_id, view in sorted(fresh.items()):
            self._read_at[lottery_id] = now
            self._read_wall[lottery_id] = wall
            if is_terminal(view):
                self._forget(lottery_id)
                self._finished[lottery_id] = (now, view)
                if len(self._finished) > FINISHED_KEPT:
                    del self._finished[next(iter(self._finished))]
                self._terminal.add(lottery_id)
                ended[lottery_id] = int(view.status)
                continue
            self._views[lottery_id] = view
            if is_idle(view, now, self._schedule):
                self._working.pop(lottery_id, None)
            else:
                self._working[lottery_id] = view
            when = next_check(view, now, self._schedule, pending_until=pending.get(lottery_id))
            if when is None:
                self._next.pop(lottery_id, None)
            else:
                self._next[lottery_id] = when
        await self._record_terminal(ended, now)

    async def _record_terminal(self, statuses: Mapping[int, int], now: int) -> None:
        if self._unrecorded is not None:
            self._unrecorded.update(statuses)
            self._unrecorded_at = max(self._unrecorded_at, now)
            return
        await self._journal.mark_terminal_many(statuses, chain_now=now)

    def _forget(self, lottery_id: int) -> None:
        self._views.pop(lottery_id, None)
        self._working.pop(lottery_id, None)
        self._next.pop(lottery_id, None)
        self._read_at.pop(lottery_id, None)
        self._read_wall.pop(lottery_id, None)

    async def _scan_events(self, start: int, end: int) -> tuple[set[int], int]:
        """Lottery ids named by the package's events in blocks ``[start, end)``."""
        try:
            pages = await asyncio.gather(
                *(self._scan_type(t, start, end) for t in self._event_types)
            )
        except EventsPruned as exc:
            # The node no longer has those blocks' events: read every kept lottery again.
            log.warning("events_pruned", start_height=start, detail=str(exc))
            return set(self._views), 0
        ids: set[int] = set()
        scanned = 0
        for found, count in pages:
            ids |= found
            scanned += count
        return ids, scanned

    async def _scan_type(self, event_type: str, start: int, end: int) -> tuple[set[int], int]:
        ids: set[int] = set()
        scanned = 0
        cursor: str | None = None
        while True:
            page = await self._gateway.events(
                event_type, start_height=start, end_height=end, cursor=cursor
            )
            scanned += len(page.events)
            for event in page.events:
                raw = event.data.get("lottery_id", event.data.get("id"))
                if isinstance(raw, str | int) and str(raw).isdigit():
                    ids.add(int(raw))
            if not page.cursor or not page.events:
                return ids, scanned
            cursor = page.cursor

    # ------------------------------------------------------------------ reconciliation

    def _counts(self) -> dict[LotteryStatus, int]:
        counts = dict.fromkeys(_LIVE_STATUSES, 0)
        for view in self._views.values():
            if view.status in counts:
                counts[view.status] += 1
        return counts

    async def _reconcile(self, overview: StatusOverview, now: int) -> set[int]:
        """Status counts no event explains: the lotteries behind them (to read next)."""
        kept = self._counts()
        difference = tuple(overview.count(s) - kept[s] for s in _LIVE_STATUSES)
        if not any(difference):
            self._mismatch_since = None
            return set()
        if self._mismatch_since is None or difference != self._mismatch:
            # a new difference (a busy chain moves faster than its changes are read): only one
            # that stays the same, and that the active ids do not explain, is unexplained
            self._mismatch_since, self._mismatch = now, difference
        log.info(
            "status_counts_differ",
            chain={s.name.lower(): overview.count(s) for s in _LIVE_STATUSES},
            kept={s.name.lower(): n for s, n in kept.items()},
            since=self._mismatch_since,
        )
        if now - self._mismatch_since < FULL_SCAN_AFTER_SECONDS:
            active = await self._active_ids()
            suspects = {
                i
                for i, v in self._views.items()
                if (v.status == LotteryStatus.ACTIVE) != (i in active)
            }
            if suspects:  # explained: whatever remains is judged afresh
                self._mismatch_since = None
        else:  # the cheap way did not explain it: read every kept lottery's status once
            log.warning("status_counts_unexplained", lotteries=len(self._views))
            ids = sorted(self._views)
            suspects = set()
            for start in range(0, len(ids), READ_CHUNK):  # a chunk at a time: due work goes between
                chunk = ids[start : start + READ_CHUNK]
                statuses = await asyncio.gather(*(self._gateway.lottery_status(i) for i in chunk))
                suspects |= {
                    i
                    for i, s in zip(chunk, statuses, strict=True)
                    if i in self._views and s.status != self._views[i].status
                }
            self._mismatch_since = None
        return suspects

    async def _active_ids(self) -> set[int]:
        found: set[int] = set()
        start = 0
        while True:
            page = await self._gateway.list_active(start=start, limit=1000)
            found.update(page)
            if len(page) < 1000:
                return found
            start += 1000
