"""Which lotteries a sweep reads: reads scale with the work due, not with the lottery count.

The ``Watchlist`` keeps the last view of every live lottery between sweeps and gives the planners a
full ``Snapshot`` every time, but reads a lottery's views again only when

* its **next check** has come (``planning.schedule.next_check``: sales end, retry window, VRF
  deadline, refund SLA, the end of a pending execution; a DRAFT lottery every
  ``DRAFT_RECHECK_SECONDS``, since nothing announces its activation),
* it **changed**: an event of the package named it (``LOTTERY_EVENTS``; a type is scanned, from
  the block after the last scanned one, only when the counter of its event handle in the
  package's storage moved since — ``Snapshot.activity`` — and every type at least every
  ``EVENTS_EVERY_SECONDS`` in case an endpoint served the events late), one of autobot's own
  actions on it moved (``mark_changed``), or it is new (``Registry.ordered_ids`` grew: the ids
  are listed again) — read by ``scan`` after the sweep acted, for the next sweep.

Finalized and archived lotteries are **terminal**: remembered in the journal (with their status),
never read again. Aggregate views (bots, deposit, cap, feeds) and the activity are read once per
sweep, with chain time. The snapshot's ``status_overview`` is computed here, with the §6 formulas,
over the kept views, plus the terminal lotteries counted by status alone
(``domain.snapshot.with_terminal``): a client of the published package cannot ask the chain for it
(docs/package.md §6a), and the terminal lotteries' counters never age out (§10.10).
``read`` reads what is due; ``scan``, run after the sweep acted (so it never delays an action
that is due), finds and reads what changed up to the snapshot's block, for the next sweep. An idle
sweep therefore costs chain time, the aggregate views and the activity resources (plus one events
request per event type whose counter moved), whatever the number of lotteries. After a restart
every live lottery is read once: the lotteries with a summary (``ArchiveLedger.ordered_ids``) are
terminal without reading their views (one status read each, for the journal), the others are read
``READ_CHUNK`` at a time, so memory stays flat however many there are.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import (
    ChainActivity,
    LotteryView,
    Snapshot,
    StatusOverview,
    live_overview,
)
from autobot.errors import EventsPruned
from autobot.journal.store import SqliteJournal
from autobot.planning.plan import PlanContext
from autobot.planning.schedule import is_idle, is_terminal, next_check

__all__ = ["DRAFT_RECHECK_SECONDS", "LOTTERY_EVENTS", "ReadStats", "Watchlist"]

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
"""Lotteries whose views are read concurrently."""
EVENTS_EVERY_SECONDS = 60.0
"""Every event type is scanned at least this often (wall seconds), whether or not its counter
moved: a safety net for an endpoint that served the counters before it served the events."""
BUSY_REFRESH_SECONDS = 15.0
"""A changed lottery with an action of autobot's in progress is read at most this often (wall
seconds)."""
FINISHED_KEPT = 256
"""The last views of lotteries seen becoming terminal kept for the status page (``finished``)."""
DRAFT_RECHECK_SECONDS = 60
"""Chain seconds between reads of a DRAFT lottery: its activation (``advance_status`` to ACTIVE,
by the admin) emits no event, and a DRAFT lottery is otherwise never due."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadStats:
    """What one ``Watchlist.read`` did (the ``tick`` log line, benchmarks, tests)."""

    read: int = 0  # lotteries whose views were read
    due: int = 0  # ... because their next check had come (or a pending execution's time)
    changed: int = 0  # ... because they changed (events, own actions, new)
    events: int = 0  # events scanned
    kept: int = 0  # live lotteries in the snapshot
    terminal: int = 0  # lotteries known terminal (never read)


class Watchlist:
    """The live lotteries' views between sweeps and the rules for reading them again."""

    def __init__(
        self,
        *,
        gateway: ChainGateway,
        journal: SqliteJournal,
        schedule: PlanContext,
        event_types: Collection[str] = LOTTERY_EVENTS,
    ) -> None:
        """``schedule`` carries the config values ``next_check`` needs (grace, deadlines, SLAs)."""
        self._gateway = gateway
        self._journal = journal
        self._schedule = schedule
        self._event_types = tuple(event_types)
        self._views: dict[int, LotteryView] = {}
        self._working: dict[int, LotteryView] = {}  # views the planners may act on (not idle)
        self._next: dict[int, int] = {}  # lottery id -> chain second of its next check
        self._read_at: dict[int, int] = {}  # lottery id -> chain second it was last read
        self._read_wall: dict[int, float] = {}  # lottery id -> monotonic second it was last read
        self._terminal: dict[int, LotteryStatus] | None = None  # lottery id -> its last status
        self._terminal_copy: frozenset[int] | None = None
        self._terminal_counts: Counter[LotteryStatus] = Counter()
        self._changed: set[int] = set()  # read at the next sweep
        self._cursor: int | None = None  # first block height whose events are not scanned
        self._last: Snapshot | None = None  # the last read's snapshot (for ``scan``)
        self._pending: Mapping[int, int] = {}
        self._seen: dict[str, int] = {}  # event type -> its handle's counter at the last scan
        self._events_at = float("-inf")  # monotonic second of the last scan of every type
        self._fresh: set[int] = set()  # lotteries the last read read
        self._finished: dict[int, tuple[int, LotteryView]] = {}  # id -> (chain second, final view)
        self.last = ReadStats()

    @property
    def views(self) -> Mapping[int, LotteryView]:
        """The kept views of the live lotteries."""
        return self._views

    @property
    def terminal(self) -> frozenset[int]:
        """Lotteries known finalized or archived (a copy made again only when one is added)."""
        if self._terminal_copy is None:
            self._terminal_copy = frozenset(self._terminal or ())
        return self._terminal_copy

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
        since is found by ``scan`` (after the sweep acted) and read at the next sweep. The
        snapshot's overview is the kept views' plus the terminal lotteries' statuses.
        """
        if self._terminal is None:
            statuses = await self._journal.terminal_statuses()
            self._terminal = {i: LotteryStatus(s) for i, s in statuses.items()}
            self._terminal_counts = Counter(self._terminal.values())
        terminal = self._terminal
        pending = pending or {}
        if self._cursor is None:  # the first read: every live lottery
            await self._summarised()
            due_ids = set(await self._gateway.lottery_ids()) - set(terminal)
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
            if snapshot.activity is not None:  # events before the first read are read as state
                self._seen = {t: snapshot.activity.events.get(t, 0) for t in self._event_types}
            self._events_at = time.monotonic()
        await self._keep(fresh, snapshot.now, pending)
        self._last = snapshot
        self._pending = pending
        self._fresh = set(fresh)
        self.last = ReadStats(read=len(fresh), due=len(fresh), kept=len(self._views))
        return replace(snapshot, lotteries=self._views, overview=self.overview(snapshot.now))

    def overview(self, now: int) -> StatusOverview:
        """``status_overview(now)`` by the §6 formulas over the kept (live) views, plus the
        terminal lotteries by status alone (``domain.snapshot.live_overview``)."""
        return live_overview(self._views.values(), now, terminal=self._terminal_counts)

    async def scan(self, *, busy: Collection[int] = ()) -> int:
        """After the sweep acted: read what changed, for the next sweep's planners.

        Events since the last scan name changed lotteries (a type is asked for only when its
        counter in storage moved, or every ``EVENTS_EVERY_SECONDS``); a longer
        ``Registry.ordered_ids`` means new ones; ``mark_changed`` added autobot's own. Returns
        how many lotteries were read (the next sweep should plan with them soon).

        ``busy`` lotteries have an action of autobot's in progress: the planners leave them to
        it, so their changes (a refund batch every block) are read at most every
        ``BUSY_REFRESH_SECONDS`` (their metrics stay current) and when it ends.
        """
        snapshot, terminal = self._last, self._terminal
        if snapshot is None or terminal is None or self._cursor is None:
            return 0
        scanned = 0
        clock = time.monotonic()
        activity = snapshot.activity or ChainActivity()
        every = clock - self._events_at >= EVENTS_EVERY_SECONDS
        moved = [
            t
            for t in self._event_types
            if every or activity.events.get(t, 0) != self._seen.get(t, 0)
        ]
        # Everything found goes into ``_changed`` at once and leaves it only once read: a
        # request that fails half-way (the next await) loses nothing, the next scan reads it.
        # Types are scanned from the cursor to the chain's tip, so every event the counters
        # counted is in the scan — unless the events came from an endpoint behind the one that
        # served the counters: then (the events' sequence numbers fall short of the counter)
        # the type stays "moved" and the cursor stays, and the next scan asks again.
        if moved:
            changed, scanned, short = await self._scan_events(moved, self._cursor, activity)
            self._changed |= changed
            self._seen.update((t, activity.events.get(t, 0)) for t in moved if t not in short)
            if every:
                self._events_at = clock
            if not short:  # a type whose counter did not move had no event in these blocks
                self._cursor = snapshot.height + 1
        else:
            self._cursor = snapshot.height + 1
        known = set(self._views) | set(terminal)
        if activity.registered != len(known):
            self._changed |= set(await self._gateway.lottery_ids()) - known
        self._changed |= self._pending_due(snapshot.now)
        self._changed -= set(terminal)
        wall = time.monotonic()
        later = {
            i
            for i in self._changed & set(busy)
            if wall - self._read_wall.get(i, float("-inf")) < BUSY_REFRESH_SECONDS
        }
        to_read = self._changed - later
        fresh = await self._views_of(to_read)
        self._changed -= set(fresh)
        await self._keep(fresh, snapshot.now, self._pending)
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
        new = sorted(set(await self._gateway.finalized_ids()) - set(self._terminal))
        statuses: dict[int, int] = {}
        for start in range(0, len(new), READ_CHUNK * 8):
            chunk = new[start : start + READ_CHUNK * 8]
            read = await asyncio.gather(*(self._gateway.lottery_status(i) for i in chunk))
            statuses.update({i: int(s.status) for i, s in zip(chunk, read, strict=True)})
        now = (await self._gateway.chain_time()).seconds if statuses else 0
        await self._journal.mark_terminal_many(statuses, chain_now=now)
        for lottery_id, status in statuses.items():
            self._add_terminal(lottery_id, LotteryStatus(status))

    def _add_terminal(self, lottery_id: int, status: LotteryStatus) -> None:
        assert self._terminal is not None
        if lottery_id not in self._terminal:
            self._terminal_counts[status] += 1
        self._terminal[lottery_id] = status
        self._terminal_copy = None

    async def _keep(
        self, fresh: Mapping[int, LotteryView], now: int, pending: Mapping[int, int]
    ) -> None:
        assert self._terminal is not None
        ended: dict[int, int] = {}
        wall = time.monotonic()
        for lottery_id, view in sorted(fresh.items()):
            self._read_at[lottery_id] = now
            self._read_wall[lottery_id] = wall
            if is_terminal(view):
                self._forget(lottery_id)
                self._finished[lottery_id] = (now, view)
                if len(self._finished) > FINISHED_KEPT:
                    del self._finished[next(iter(self._finished))]
                self._add_terminal(lottery_id, view.status)
                ended[lottery_id] = int(view.status)
                continue
            self._views[lottery_id] = view
            if is_idle(view, now, self._schedule):
                self._working.pop(lottery_id, None)
            else:
                self._working[lottery_id] = view
            when = next_check(view, now, self._schedule, pending_until=pending.get(lottery_id))
            if view.status == LotteryStatus.DRAFT:  # its activation announces nothing
                when = min(when or now + DRAFT_RECHECK_SECONDS, now + DRAFT_RECHECK_SECONDS)
            if when is None:
                self._next.pop(lottery_id, None)
            else:
                self._next[lottery_id] = when
        await self._journal.mark_terminal_many(ended, chain_now=now)

    def _forget(self, lottery_id: int) -> None:
        self._views.pop(lottery_id, None)
        self._working.pop(lottery_id, None)
        self._next.pop(lottery_id, None)
        self._read_at.pop(lottery_id, None)
        self._read_wall.pop(lottery_id, None)

    async def _scan_events(
        self, event_types: Sequence[str], start: int, activity: ChainActivity
    ) -> tuple[set[int], int, set[str]]:
        """Lottery ids named by events of ``event_types`` from block ``start`` on, how many
        events were scanned, and the types whose events fell short of their counters."""
        try:
            pages = await asyncio.gather(*(self._scan_type(t, start) for t in event_types))
        except EventsPruned as exc:
            # The node no longer has those blocks' events: read every kept lottery again.
            log.warning("events_pruned", start_height=start, detail=str(exc))
            return set(self._views), 0, set()
        ids: set[int] = set()
        scanned = 0
        short: set[str] = set()
        for event_type, (found, count, top) in zip(event_types, pages, strict=True):
            ids |= found
            scanned += count
            counter = activity.events.get(event_type)
            if counter is None:
                continue
            if (top is not None and top < counter) or (
                count == 0 and counter != self._seen.get(event_type, 0)
            ):
                short.add(event_type)
        if short:
            log.info("events_behind_counters", event_types=sorted(short))
        return ids, scanned, short

    async def _scan_type(self, event_type: str, start: int) -> tuple[set[int], int, int | None]:
        """(ids named, events scanned, the highest sequence number seen + 1, if any had one)."""
        ids: set[int] = set()
        scanned = 0
        top: int | None = None
        cursor: str | None = None
        while True:
            page = await self._gateway.events(event_type, start_height=start, cursor=cursor)
            scanned += len(page.events)
            for event in page.events:
                raw = event.data.get("lottery_id", event.data.get("id"))
                if isinstance(raw, str | int) and str(raw).isdigit():
                    ids.add(int(raw))
                if event.sequence_number is not None:
                    top = max(top or 0, event.sequence_number + 1)
            if not page.cursor or not page.events:
                return ids, scanned, top
            cursor = page.cursor
