"""Which lotteries a sweep reads: reads scale with the work due, not with the lottery count.

The ``Watchlist`` keeps the last view of every live lottery between sweeps and gives the planners a
full ``Snapshot`` every time, but reads a lottery's views again only when

* its **next check** has come (``planning.schedule.next_check``: sales end, retry window, VRF
  deadline, refund SLA, the end of a pending execution; a DRAFT lottery every
  ``DRAFT_RECHECK_SECONDS``, since nothing announces its activation),
* it **changed**: an event of the package named it (``LOTTERY_EVENTS``; a type is read only
  when the counter of its event handle in the package's storage — ``Snapshot.activity`` — is
  ahead of the events read so far, from the block after the last one it had an event in; and one
  type in turn every ``EVENTS_EVERY_SECONDS`` whatever its counter says), one of autobot's own
  actions on it moved (``mark_changed``), or it is new (``Registry.ordered_ids`` grew: the ids
  are listed again) — read by ``scan`` after the sweep acted, for the next sweep.

Finalized and archived lotteries are **terminal**: remembered in the journal (with their status),
never read again. Aggregate views (bots, deposit, cap, feeds) and the activity are read once per
sweep, with chain time. The snapshot's ``status_overview`` is computed here, with the §6 formulas,
over the kept views, plus the terminal lotteries counted by status alone
(``domain.snapshot.with_terminal``): a client of the published package cannot ask the chain for it
(docs/package.md §6a), and the terminal lotteries' counters never age out (§10.10). (A standby
under ``[ha]`` writes nothing: ``defer_terminal_marks`` keeps the marks in memory until it takes
over and ``flush`` writes them, and has every kept lottery read again.)
``read`` reads what is due; ``scan``, run after the sweep acted (so it never delays an action
that is due), finds and reads what changed up to the snapshot's block, for the next sweep. An idle
sweep therefore costs chain time, the aggregate views and the activity resources (plus one events
request per event type whose counter moved, and one a minute for the safety net), whatever the
number of lotteries. After a restart
every live lottery is read once: the lotteries with a summary (``ArchiveLedger.ordered_ids``) are
terminal without reading their views (their status told by the ``LotteryCanceledEvent``s, or read
one by one when those cannot all be read), the others are read
``READ_CHUNK`` at a time, so memory stays flat however many there are.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.clock import Clock, SystemClock
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import (
    ChainActivity,
    LotteryView,
    OverviewTally,
    Snapshot,
    StatusOverview,
)
from autobot.errors import EventsPruned
from autobot.journal.protocol import Journal
from autobot.planning.plan import PlanContext
from autobot.planning.schedule import is_idle, is_terminal, next_check

__all__ = ["DRAFT_RECHECK_SECONDS", "LOTTERY_EVENTS", "ReadStats", "SweepReads", "Watchlist"]

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

CANCELED_EVENT = "history::LotteryCanceledEvent"
READ_CHUNK = 64
"""Lotteries whose views are read concurrently."""
EVENTS_EVERY_SECONDS = 60.0
"""One more event type is read this often (wall seconds), in turn, whether or not its counter
moved (each type every ``len(LOTTERY_EVENTS)`` minutes): a safety net for counters served by an
endpoint behind the others that costs one request at a time."""
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


class _NextChecks:
    """Lottery id → the chain second of its next check, with the due ones found without a walk
    over every kept lottery (10,000 at scale; a sweep asks twice): a heap of (second, id) beside
    the map, its entries that no longer match the map dropped as they surface."""

    def __init__(self) -> None:
        self._at: dict[int, int] = {}
        self._heap: list[tuple[int, int]] = []

    def put(self, lottery_id: int, at: int) -> None:
        if self._at.get(lottery_id) == at:
            return
        self._at[lottery_id] = at
        heapq.heappush(self._heap, (at, lottery_id))
        if len(self._heap) > 2 * len(self._at) + 64:  # mostly stale entries: rebuild
            self._heap = [(when, i) for i, when in self._at.items()]
            heapq.heapify(self._heap)

    def discard(self, lottery_id: int) -> None:
        self._at.pop(lottery_id, None)  # its heap entry is dropped when it surfaces

    def _top(self) -> tuple[int, int] | None:
        heap = self._heap
        while heap:
            at, lottery_id = heap[0]
            if self._at.get(lottery_id) == at:
                return heap[0]
            heapq.heappop(heap)
        return None

    def earliest(self) -> int | None:
        top = self._top()
        return None if top is None else top[0]

    def due(self, now: float) -> set[int]:
        """The lotteries whose check is at or before ``now`` (they stay due until ``put``)."""
        found: list[tuple[int, int]] = []
        while (top := self._top()) is not None and top[0] <= now:
            found.append(heapq.heappop(self._heap))
        for entry in found:
            heapq.heappush(self._heap, entry)
        return {lottery_id for _, lottery_id in found}

    def as_dict(self) -> dict[int, int]:
        return dict(self._at)


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
        ``clock``'s monotonic reading times the safety-net event reads and the busy lotteries'
        reads."""
        self._gateway = gateway
        self._journal = journal
        self._schedule = schedule
        self._clock = clock or SystemClock()
        self._event_types = tuple(event_types)
        self._views: dict[int, LotteryView] = {}
        self._working: dict[int, LotteryView] = {}  # views the planners may act on (not idle)
        self._next = _NextChecks()  # lottery id -> chain second of its next check
        self._read_at: dict[int, int] = {}  # lottery id -> chain second it was last read
        self._read_wall: dict[int, float] = {}  # lottery id -> monotonic second it was last read
        self._terminal: dict[int, LotteryStatus] | None = None  # lottery id -> its last status
        self._terminal_counts: Counter[LotteryStatus] = Counter()
        self._tally = OverviewTally()  # the overview of the kept views, kept with them
        self._changed: set[int] = set()  # read at the next sweep
        self._cursor: int | None = None  # the first read's next block (None: not read yet)
        self._from: dict[str, int] = {}  # event type -> the first block not scanned for it
        self._last: Snapshot | None = None  # the last read's snapshot (for ``scan``)
        self._pending: Mapping[int, int] = {}
        self._seen: dict[str, int] = {}  # event type -> events of it accounted for
        self._events_at = float("-inf")  # monotonic second of the last safety-net read
        self._in_turn = 0  # the event type the safety net reads next
        self._scan_all = False  # the next scan reads every type (after the first read)
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
        return self._next.as_dict()

    def next_due(self) -> int | None:
        """The earliest next check of any kept lottery."""
        return self._next.earliest()

    def mark_changed(self, lottery_ids: Iterable[int]) -> None:
        """Read these lotteries at the next sweep (autobot's own action on them moved)."""
        self._changed.update(lottery_ids)

    def defer_terminal_marks(self) -> None:
        """Keep the lotteries found terminal in memory instead of writing them to the journal
        (a standby may not write) until ``flush``."""
        if self._unrecorded is None:
            self._unrecorded = {}

    async def flush(self) -> None:
        """Write the terminal marks kept since ``defer_terminal_marks`` and write at once from
        now on; read every kept lottery again at the next ``scan`` (a standby that took over,
        once its recovery is done: no standby sweep may run between the recovery and this)."""
        kept, self._unrecorded = self._unrecorded, None
        if kept:
            await self._record_terminal(kept, self._unrecorded_at)
        # A standby's views may predate what the previous leader did in its last moments and
        # what the takeover's recovery finished: the new leader reads every kept lottery again,
        # as a start would. Its first sweep plans on the kept views (work planned on an older
        # view is done already, or found moot, and reads its lottery again: ``Engine``), and
        # reads them all after acting, so 40 reads under faults never hold its first action up.
        self._changed.update(self._views)

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
            ahead = await self._gateway.snapshot(lottery_ids=(), asset_ids=())
            await self._summarised(ahead.activity)
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
        if self._cursor is None:  # events before the first read are read as state
            self._cursor = snapshot.height + 1
            self._from = dict.fromkeys(self._event_types, self._cursor)
            if snapshot.activity is not None:
                self._seen = {t: snapshot.activity.events.get(t, 0) for t in self._event_types}
            # the first scan reads every type from the next block: an event the counters
            # counted while the first views were read is not left behind
            self._scan_all = True
        await self._keep(fresh, snapshot.now, pending)
        self._last = snapshot
        self._pending = pending
        self._fresh = set(fresh)
        self.last = ReadStats(read=len(fresh), due=len(fresh), kept=len(self._views))
        return replace(snapshot, lotteries=self._views, overview=self.overview(snapshot.now))

    def overview(self, now: int) -> StatusOverview:
        """``status_overview(now)`` by the §6 formulas over the kept (live) views, plus the
        terminal lotteries by status alone (``domain.snapshot.live_overview``, kept incrementally)."""
        return self._tally.overview(now, terminal=self._terminal_counts)

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
        clock = self._clock.monotonic()
        activity = snapshot.activity or ChainActivity()
        moved = [t for t in self._event_types if activity.events.get(t, 0) > self._seen.get(t, 0)]
        extra: list[str] = []
        if self._scan_all:
            extra = list(self._event_types)
        elif clock - self._events_at >= EVENTS_EVERY_SECONDS and self._event_types:
            extra = [self._event_types[self._in_turn % len(self._event_types)]]
        moved += [t for t in extra if t not in moved]
        # Everything found goes into ``_changed`` at once and leaves it only once read: a
        # request that fails half-way (the next await) loses nothing, the next scan reads it.
        if moved:
            changed, scanned = await self._scan_events(moved, activity)
            self._changed |= changed
            if extra:
                if not self._scan_all:
                    self._in_turn += 1  # the next type at the next safety-net read
                self._scan_all, self._events_at = False, clock
        if activity.registered != len(self._views) + len(terminal):  # (the two are disjoint)
            known = self._views.keys() | terminal.keys()
            self._changed |= set(await self._gateway.lottery_ids()) - known
        self._changed |= self._pending_due(snapshot.now)
        self._changed = {i for i in self._changed if i not in terminal}
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
        return self._next.due(now)

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

    async def _summarised(self, activity: ChainActivity | None) -> None:
        """Lotteries with a summary are terminal: remember them without reading their views.

        A summary is written by a finalization or by the archive of a canceled lottery, so its
        lottery's status is CANCELED if a ``LotteryCanceledEvent`` names it, else FINALIZED —
        when every such event could be read (as many as the registry's handle counted);
        otherwise each status is read (one request per lottery).
        """
        assert self._terminal is not None
        new = sorted(set(await self._gateway.finalized_ids()) - set(self._terminal))
        if not new:
            return
        statuses: dict[int, int] = {}
        canceled = await self._canceled_ids(activity)
        if canceled is not None:
            statuses = {
                i: int(LotteryStatus.CANCELED if i in canceled else LotteryStatus.FINALIZED)
                for i in new
            }
        for start in range(0, len(new) if canceled is None else 0, READ_CHUNK * 8):
            chunk = new[start : start + READ_CHUNK * 8]
            read = await asyncio.gather(*(self._gateway.lottery_status(i) for i in chunk))
            statuses.update({i: int(s.status) for i, s in zip(chunk, read, strict=True)})
        now = (await self._gateway.chain_time()).seconds
        await self._record_terminal(statuses, now)
        for lottery_id, status in statuses.items():
            self._add_terminal(lottery_id, LotteryStatus(status))

    async def _canceled_ids(self, activity: ChainActivity | None) -> set[int] | None:
        """Every lottery a ``LotteryCanceledEvent`` names, or ``None`` if the events read are
        fewer than the registry's counter says (pruned, or an endpoint behind)."""
        counter = None if activity is None else activity.events.get(CANCELED_EVENT)
        if counter is None:
            return None
        try:
            ids, count, _, _ = await self._scan_type(CANCELED_EVENT, 0)
        except EventsPruned:
            return None
        return ids if count == counter else None

    def _add_terminal(self, lottery_id: int, status: LotteryStatus) -> None:
        assert self._terminal is not None
        if lottery_id not in self._terminal:
            self._terminal_counts[status] += 1
        self._terminal[lottery_id] = status

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
                self._add_terminal(lottery_id, view.status)
                ended[lottery_id] = int(view.status)
                continue
            self._views[lottery_id] = view
            self._tally.set(view)
            if is_idle(view, now, self._schedule):
                self._working.pop(lottery_id, None)
            else:
                self._working[lottery_id] = view
            when = next_check(view, now, self._schedule, pending_until=pending.get(lottery_id))
            if view.status == LotteryStatus.DRAFT:  # its activation announces nothing
                when = min(when or now + DRAFT_RECHECK_SECONDS, now + DRAFT_RECHECK_SECONDS)
            if when is None:
                self._next.discard(lottery_id)
            else:
                self._next.put(lottery_id, when)
        await self._record_terminal(ended, now)

    async def _record_terminal(self, statuses: Mapping[int, int], now: int) -> None:
        if self._unrecorded is not None:
            self._unrecorded.update(statuses)
            self._unrecorded_at = max(self._unrecorded_at, now)
            return
        await self._journal.mark_terminal_many(statuses, chain_now=now)

    def _forget(self, lottery_id: int) -> None:
        self._views.pop(lottery_id, None)
        self._tally.discard(lottery_id)
        self._working.pop(lottery_id, None)
        self._next.discard(lottery_id)
        self._read_at.pop(lottery_id, None)
        self._read_wall.pop(lottery_id, None)

    async def _scan_events(
        self, event_types: Sequence[str], activity: ChainActivity
    ) -> tuple[set[int], int]:
        """Lottery ids named by new events of ``event_types``, and how many were scanned.

        Each type is read from the block after the last one it had an event in, to the chain's
        tip (every page), so a block is never counted twice and no event the counters counted is
        left behind, whichever endpoint answered first. The events accounted for move to the
        highest sequence number seen (or by the number read, for events without one); when
        that is still below the counter (an endpoint behind the one that served the counter),
        the type is read again at the next scan.
        """
        try:
            pages = await asyncio.gather(
                *(self._scan_type(t, self._from.get(t, 0)) for t in event_types)
            )
        except EventsPruned as exc:
            # The node no longer has those blocks' events: read every kept lottery again.
            log.warning("events_pruned", detail=str(exc))
            assert self._last is not None
            self._from = dict.fromkeys(self._event_types, self._last.height + 1)
            self._seen.update(activity.events)
            return set(self._views), 0
        ids: set[int] = set()
        scanned = 0
        behind: list[str] = []
        for event_type, (found, count, top, last_block) in zip(event_types, pages, strict=True):
            ids |= found
            scanned += count
            seen = self._seen.get(event_type, 0)
            self._seen[event_type] = max(seen, top if top is not None else seen + count)
            if last_block is not None:
                self._from[event_type] = last_block + 1
            if self._seen[event_type] < activity.events.get(event_type, 0):
                behind.append(event_type)
        if behind:
            log.info("events_behind_counters", event_types=sorted(behind))
        return ids, scanned

    async def _scan_type(
        self, event_type: str, start: int
    ) -> tuple[set[int], int, int | None, int | None]:
        """(ids named, events read, the highest sequence number + 1, the last event's block)."""
        ids: set[int] = set()
        scanned = 0
        top: int | None = None
        last_block: int | None = None
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
                last_block = max(last_block or 0, event.block_height)
            if not page.cursor or not page.events:
                return ids, scanned, top, last_block
            cursor = page.cursor
