"""The rest of the playbook, watched: sales, payouts and finalization, accounting, roles, dual-write.

autobot performs none of these systems' transactions (docs/decisions.md §10): the treasury pays
winners and partners and finalizes, buyers buy, the legacy bridge sets expected hashes. Each
sweep ``PlaybookWatch.observe(snapshot)`` turns what the sweep already read — the kept views of
every live lottery and the storage's activity (event-handle counters and the dual-write control,
read with the activity resources) — into the handbook's metrics (docs/package.md §7) as a
``domain.playbook.PlaybookReport``, and returns the *new* findings the engine writes to the
incident log. What it reads beyond the sweep's snapshot stays bounded by what happened, never by
the number of lotteries:

* **sales** (``sales_rate``): ``sales::TicketPurchaseEvent``s are read every
  ``purchases_every_seconds`` of chain time, from the block after the last read to the snapshot's
  height (a page per 100 purchases, never a request per lottery; not at all while a counter in the
  snapshot says none were emitted), and each one's quantity is put in its lottery's window at the
  sweep's chain time. The rate is tickets a minute over the last
  ``sales_window_seconds`` of chain time, for lotteries ACTIVE inside their sales window, not sold
  out, and watched for a whole window (after a start, or after their sales opened): a planned
  pause, a sold-out lottery and a daemon restart produce no series, so ``SalesDrop`` (a fall of
  50 % or three standard deviations below the lottery's own recent rate, computed by Prometheus) does not fire on them.
  Cursor and windows are in memory: after a restart the rates re-warm over one window.
* **rate limits** (``purchase_rate_limit_hits_total``): the ``PurchaseRateLimitHitEvent``s the
  chain kept, read once a minute. The package emits each one and then aborts, which discards it
  (docs/package.md §10.16), so none ever is: refusals exist only as failed purchase transactions,
  which no package state records.
* **payouts**: ``payout_finalize_pending_seconds`` per PAYOUT lottery — chain seconds since it was
  first seen at PAYOUT, or since its first payout batch when that is earlier (after a restart the
  figure starts again from what the chain shows: a lower bound); ``payout_round`` per live
  lottery with winner state, and a *regression* (a round below the last one seen) counted in
  ``payout_round_regressions_total`` and reported once.
* **accounting** (``accounting_mismatch``): ``planning.accounting.reconcile`` over each live
  lottery's accounting and refund progress (read with its views); a failed check is reported once
  with the lottery, the check and both values. Only lotteries with a failing check have a series
  (books that add up have none: at 10,000 lotteries, 5,000 zeros made half of ``/metrics``).
* **roles** (``partner_cap_expiring``, ``premium_cap_expiring``): the caps are read
  (``partner_caps()``, ``premium_caps()``: the ``RoleStore`` index and one item per cap) when a
  cap was granted or revoked, a partner was paid (their event counters moved), or every
  ``caps_refresh_seconds``; expiry is judged against each sweep's chain time.
* **dual-write**: the control (``dual_write()``, one resource) is read every
  ``control_refresh_seconds`` and whenever summaries were written; every expected hash (``status_overview_pending_dual_write``), those waiting
  longer than ``dual_write_pending_seconds`` (``dual_write_pending``; waiting since autobot first
  saw the hash), and mismatches (``dual_write_mismatch``): a lottery whose stored summary hashes
  otherwise than its expected hash (an ignored mismatch leaves the hash in place,
  docs/package.md §4). A summary is read once it exists (``summary_hash``; it never changes), and
  asked for again only when ``LotteryFinalizedEvent``s were emitted or a hash is new.
"""

from __future__ import annotations

import heapq
from array import array
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import structlog

from autobot.chain.gateway import ChainEvent, ChainGateway
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PlaybookReport, PremiumCap
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.errors import EventsPruned, MoveAbort, PermanentRpcError, TransientError
from autobot.planning.accounting import mismatches, reconcile

__all__ = [
    "CAP_EVENTS",
    "FINALIZED_EVENT",
    "PURCHASE_EVENT",
    "RATE_LIMIT_EVENT",
    "Finding",
    "FindingKind",
    "PlaybookWatch",
]

log = structlog.get_logger(__name__)

PURCHASE_EVENT = "sales::TicketPurchaseEvent"
RATE_LIMIT_EVENT = "history::PurchaseRateLimitHitEvent"
FINALIZED_EVENT = "history::LotteryFinalizedEvent"
CAP_EVENTS = (
    "roles::PartnerPayoutCapGrantedEvent",
    "roles::PartnerPayoutCapRevokedEvent",
    "roles::PremiumAccessGrantedEvent",
    "roles::PremiumAccessRevokedEvent",
    "history::PartnerPayoutEvent",
)
"""Events after which the caps are read again (a partner payout spends a cap's budget)."""


class FindingKind(StrEnum):
    PAYOUT_ROUND_REGRESSED = "payout_round_regressed"
    ACCOUNTING_MISMATCH = "accounting_mismatch"
    DUAL_WRITE_MISMATCH = "dual_write_mismatch"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """Something the incident log should say once: what, about which lottery, in words built
    from chain values only."""

    kind: FindingKind
    lottery_id: int
    description: str


@dataclass(slots=True)
class _Cursor:
    next_height: int  # the first block not read yet
    seen: int | None  # the next sequence number expected (None before any event)


class PlaybookWatch:
    """Watches the systems autobot does not operate (module docstring); one per daemon."""

    def __init__(
        self,
        *,
        gateway: ChainGateway,
        sales_window_seconds: int = 300,
        dual_write_pending_seconds: int = 7_200,
        caps_refresh_seconds: int = 600,
        control_refresh_seconds: int = 60,
        purchases_every_seconds: int = 10,
    ) -> None:
        self._gateway = gateway
        self._window = sales_window_seconds
        self._pending_after = dual_write_pending_seconds
        self._caps_every = caps_refresh_seconds
        self._control_every = control_refresh_seconds
        self._purchases_every = purchases_every_seconds
        self._purchases_read_at: int | None = None
        self._control_read_at: int | None = None
        self._control_counter: int | None = None
        self._dual: DualWrite | None = None
        self._started: int | None = None
        self._cursor: _Cursor | None = None
        self._purchases_seen = 0
        self._hits_cursor: _Cursor | None = None
        self._hits_read_at = 0
        self._hits = 0
        # every live lottery's last view, and what it says (updated only when a view changes)
        self._views: dict[int, LotteryView] = {}
        self._accounting: dict[int, int] = {}  # failed checks, lotteries with any
        self._accounting_copy: dict[int, int] = {}
        self._accounting_reported: set[tuple[int, str]] = set()
        self._payout_seen: dict[int, int] = {}  # PAYOUT lotteries: chain time first seen there
        self._rounds: dict[int, int] = {}
        self._rounds_copy: dict[int, int] = {}
        self._regressions = 0
        # sales: purchases in the window (by arrival), sums per lottery, the selling lotteries
        # one entry per read: (chain time, lottery ids, tickets), the purchases as machine words
        self._arrivals: deque[tuple[int, array[int], array[int]]] = deque()
        self._in_window: dict[int, int] = {}
        self._sold: dict[int, int] = {}  # tickets sold after the last purchase seen
        self._selling: dict[int, tuple[int, int, int, int]] = {}  # start, end, max total, sold
        self._moments: list[tuple[int, int]] = []  # heap: (chain time a rate may change, lottery)
        self._rates: dict[int, float] = {}
        self._caps_read_at: int | None = None
        self._caps_counters: tuple[int | None, ...] = ()
        self._partners: tuple[PartnerCap, ...] = ()
        self._premiums: tuple[PremiumCap, ...] = ()
        self._expected_seen: dict[tuple[int, str], int] = {}
        self._summaries: dict[int, str] = {}
        self._finalized_counter: int | None = None
        self._mismatch_reported: set[tuple[int, str]] = set()
        self._last_mismatch: int | None = None
        self.report = PlaybookReport()

    async def observe(self, snapshot: Snapshot) -> tuple[Finding, ...]:
        """This sweep's report (``self.report``) and the findings not reported before.

        Its cost follows what changed, not the number of lotteries: a pass over the kept views
        finds those replaced since the last sweep (by identity), and only they, the lotteries
        with new or expired purchases, and those at a moment their rate may start or stop are
        looked at again."""
        now = snapshot.now
        if self._started is None:
            self._started = now
        findings: list[Finding] = []
        touched = await self._count_purchases(snapshot)
        touched |= self._expire(now)
        touched |= self._views_changed(snapshot.lotteries, now, findings)
        while self._moments and self._moments[0][0] <= now:
            touched.add(heapq.heappop(self._moments)[1])
        for lottery_id in touched:
            self._rate(lottery_id, now)
        await self._refresh_caps(snapshot)
        control = await self._control(snapshot)
        expected, pending, mismatches = await self._dual_write(snapshot, control, findings)
        if mismatches:
            self._last_mismatch = now
        since = self._last_mismatch if self._last_mismatch is not None else self._started
        await self._count_rate_limit_hits(snapshot)
        self.report = PlaybookReport(
            sales_rate=dict(self._rates),
            purchases_seen=self._purchases_seen,
            purchase_rate_limit_hits=self._hits,
            payout_finalize_pending={i: self._pending(i, now) for i in sorted(self._payout_seen)},
            payout_rounds=self._rounds_copy,
            payout_round_regressions=self._regressions,
            accounting_mismatch=self._accounting_copy,
            partner_caps=len(self._partners),
            partner_cap_expiring=sum(c.expiring(now) for c in self._partners),
            premium_caps=len(self._premiums),
            premium_cap_expiring=sum(c.expiring(now) for c in self._premiums),
            dual_write_expected=expected,
            dual_write_pending=pending,
            dual_write_mismatch=mismatches,
            dual_write_mismatch_free_seconds=max(0, now - since),
            dual_write_enabled=None if control is None else control.enabled,
            dual_write_pending_after_seconds=self._pending_after,
        )
        return tuple(findings)

    # -- the kept views -------------------------------------------------------------------------

    def _views_changed(
        self, lotteries: Mapping[int, LotteryView], now: int, findings: list[Finding]
    ) -> set[int]:
        """The lotteries whose view is new, replaced or gone; their derived state updated."""
        known = self._views
        changed = [(i, v) for i, v in lotteries.items() if known.get(i) is not v]
        gone: set[int] = set()
        if len(known) + sum(i not in known for i, _ in changed) != len(lotteries):
            gone = known.keys() - lotteries.keys()
        for lottery_id in gone:
            del known[lottery_id]
            for table in (self._accounting, self._payout_seen, self._rounds, self._selling):
                table.pop(lottery_id, None)
            self._rates.pop(lottery_id, None)
            self._in_window.pop(lottery_id, None)
            self._sold.pop(lottery_id, None)
        for lottery_id, view in changed:
            known[lottery_id] = view
            self._judge(lottery_id, view, now, findings)
        if changed or gone:
            self._accounting_copy = dict(self._accounting)  # the metrics sort at scrape time
            self._rounds_copy = dict(self._rounds)
        return gone | {i for i, _ in changed}

    def _judge(self, lottery_id: int, view: LotteryView, now: int, findings: list[Finding]) -> None:
        failed = mismatches(view.accounting, view.refund)
        if failed:
            self._accounting[lottery_id] = failed
            self._report_accounting(lottery_id, view, findings)
        else:  # no series for books that add up (one per live lottery: 5,000 zeros at 10,000)
            self._accounting.pop(lottery_id, None)
        winners = view.winners
        if view.status == LotteryStatus.PAYOUT:
            seen = self._payout_seen.setdefault(lottery_id, now)
            paid = winners.last_payout_ts  # a batch at PAYOUT: it waited at least since then
            if 0 < paid < seen:
                self._payout_seen[lottery_id] = paid
        else:
            self._payout_seen.pop(lottery_id, None)
        if winners.initialized:  # read at this status, with winner state
            self._payout_round(lottery_id, winners.payout_round, findings)
        config = view.config
        if view.status == LotteryStatus.ACTIVE:
            self._selling[lottery_id] = (
                config.sales_start,
                config.sales_end,
                config.max_tickets_total,
                view.refund.tickets_sold,
            )
            assert self._started is not None
            warm = max(config.sales_start, self._started) + self._window
            for moment in (warm, config.sales_end + 1):
                if moment > now:
                    heapq.heappush(self._moments, (moment, lottery_id))
        else:
            self._selling.pop(lottery_id, None)

    def _pending(self, lottery_id: int, now: int) -> int:
        return max(0, now - self._payout_seen[lottery_id])

    def _payout_round(self, lottery_id: int, round_: int, findings: list[Finding]) -> None:
        before = self._rounds.get(lottery_id)
        self._rounds[lottery_id] = round_
        if before is None or round_ >= before:
            return
        self._regressions += 1
        log.warning("payout_round_regressed", lottery_id=lottery_id, before=before, now=round_)
        findings.append(
            Finding(
                kind=FindingKind.PAYOUT_ROUND_REGRESSED,
                lottery_id=lottery_id,
                description=(
                    f"payout_round of lottery {lottery_id} went back from {before} to {round_}"
                ),
            )
        )

    def _report_accounting(
        self, lottery_id: int, view: LotteryView, findings: list[Finding]
    ) -> None:
        for check in reconcile(lottery_id, view.accounting, view.refund):
            key = (lottery_id, check.name)
            if check.holds or key in self._accounting_reported:
                continue
            self._accounting_reported.add(key)
            log.warning(
                "accounting_mismatch",
                lottery_id=lottery_id,
                check=check.name,
                left=check.left,
                right=check.right,
            )
            findings.append(
                Finding(
                    kind=FindingKind.ACCOUNTING_MISMATCH,
                    lottery_id=lottery_id,
                    description=(
                        f"accounting of lottery {lottery_id}: {check.name} fails: "
                        f"{check.left_name} {check.left} {check.comparison.value} "
                        f"{check.right_name} {check.right} does not hold"
                    ),
                )
            )

    # -- sales --------------------------------------------------------------------------------

    async def _count_purchases(self, snapshot: Snapshot) -> set[int]:
        """The lotteries with new purchases: ``TicketPurchaseEvent``s read every
        ``purchases_every_seconds`` of chain time (sooner never: a rate is per window, not per
        sweep), and not at all while a counter in the snapshot says none were emitted."""
        height, now = snapshot.height, snapshot.now
        cursor = self._cursor
        if cursor is None:  # from this block on
            self._cursor = _Cursor(next_height=height + 1, seen=None)
            self._purchases_read_at = now
            return set()
        events = {} if snapshot.activity is None else snapshot.activity.events
        counter = events.get(PURCHASE_EVENT)
        last = self._purchases_read_at
        if height < cursor.next_height or (counter is not None and counter == cursor.seen):
            return set()
        if last is not None and now - last < self._purchases_every:
            return set()
        self._purchases_read_at = now
        added = await self._new_events(PURCHASE_EVENT, cursor, height, _purchase)
        lotteries, tickets = array("Q"), array("Q")
        for lottery, quantity, sold in added:
            lotteries.append(lottery)
            tickets.append(quantity)
            self._in_window[lottery] = self._in_window.get(lottery, 0) + quantity
            if sold is not None:
                self._sold[lottery] = max(sold, self._sold.get(lottery, 0))
        if lotteries:
            self._arrivals.append((now, lotteries, tickets))
        self._purchases_seen += len(added)
        return set(lotteries)

    async def _count_rate_limit_hits(self, snapshot: Snapshot) -> None:
        """``PurchaseRateLimitHitEvent``s the chain kept, read once a minute of chain time
        (docs/package.md §10.16: none ever is; the read shows it rather than assuming it)."""
        height, now = snapshot.height, snapshot.now
        cursor = self._hits_cursor
        if cursor is None:
            self._hits_cursor = _Cursor(next_height=height + 1, seen=None)
            self._hits_read_at = now
            return
        if height < cursor.next_height or now - self._hits_read_at < self._control_every:
            return
        self._hits_read_at = now
        self._hits += len(await self._new_events(RATE_LIMIT_EVENT, cursor, height, _any))

    async def _new_events[T](
        self,
        event_type: str,
        cursor: _Cursor,
        height: int,
        keep: Callable[[ChainEvent], T | None],
    ) -> list[T]:
        """What ``keep`` makes of each event of ``event_type`` in blocks
        ``[cursor.next_height, height]`` not seen before (every page; a block read twice adds
        nothing; ``None``: nothing kept); the cursor moves past them only when all were read.
        Reading errors leave it (the next read asks again). Only what ``keep`` returns outlives
        its page: a read after a busy minute is thousands of purchases (4,500 a minute at
        10,000 lotteries), and their decoded events held to the end set the daemon's memory
        high-water mark."""
        page_cursor: str | None = None
        seen, out = cursor.seen, list[T]()
        try:
            while True:
                page = await self._gateway.events(
                    event_type,
                    start_height=cursor.next_height,
                    end_height=height + 1,
                    cursor=page_cursor,
                )
                for event in page.events:
                    number = event.sequence_number
                    if number is not None and seen is not None and number < seen:
                        continue  # seen already
                    seen = number + 1 if number is not None else None if seen is None else seen + 1
                    item = keep(event)
                    if item is not None:
                        out.append(item)
                if not page.cursor or not page.events:
                    break
                page_cursor = page.cursor
        except EventsPruned as exc:
            log.warning("events_pruned", event=event_type, detail=str(exc))
            cursor.next_height = exc.oldest_block if exc.oldest_block is not None else height + 1
            return []
        except (TransientError, PermanentRpcError) as exc:
            log.warning(
                "events_unread", event=event_type, error=type(exc).__name__, detail=str(exc)
            )
            return []
        cursor.next_height, cursor.seen = height + 1, seen
        return out

    def _expire(self, now: int) -> set[int]:
        """Purchases that left the window: the lotteries whose sums changed."""
        horizon, out = now - self._window, set[int]()
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] <= horizon:
            _, lotteries, tickets = arrivals.popleft()
            for lottery, quantity in zip(lotteries, tickets, strict=True):
                left = self._in_window.get(lottery, 0) - quantity
                if left > 0:
                    self._in_window[lottery] = left
                else:
                    self._in_window.pop(lottery, None)
            out.update(lotteries)
        return out

    def _rate(self, lottery_id: int, now: int) -> None:
        """``sales_rate`` of one lottery now, or none (module docstring: when a rate exists)."""
        selling = self._selling.get(lottery_id)
        assert self._started is not None
        if selling is None:
            self._rates.pop(lottery_id, None)
            return
        start, end, total, sold_at_read = selling
        sold = max(self._sold.get(lottery_id, 0), sold_at_read)
        if (
            not start <= now <= end  # a planned pause: before or after the sales window
            or max(start, self._started) > now - self._window  # not watched a whole window yet
            or (total and sold >= total)  # sold out: nothing left to buy
        ):
            self._rates.pop(lottery_id, None)
            return
        self._rates[lottery_id] = self._in_window.get(lottery_id, 0) * 60 / self._window

    # -- roles ----------------------------------------------------------------------------------

    async def _refresh_caps(self, snapshot: Snapshot) -> None:
        events = {} if snapshot.activity is None else snapshot.activity.events
        counters = tuple(events.get(e) for e in CAP_EVENTS)
        due = (
            self._caps_read_at is None
            or counters != self._caps_counters
            or snapshot.now - self._caps_read_at >= self._caps_every
        )
        if not due:
            return
        try:
            partners = await self._gateway.partner_caps()
            premiums = await self._gateway.premium_caps()
        except MoveAbort as exc:  # no RoleStore: no caps
            log.info("role_caps_unreadable", abort=exc.name)
            partners, premiums = (), ()
        except (TransientError, PermanentRpcError) as exc:
            log.warning("role_caps_unread", error=type(exc).__name__, detail=str(exc))
            return  # the caps of the last read stay; asked again next sweep
        self._partners, self._premiums = partners, premiums
        self._caps_read_at, self._caps_counters = snapshot.now, counters

    # -- dual write -----------------------------------------------------------------------------

    async def _control(self, snapshot: Snapshot) -> DualWrite | None:
        """The dual-write control, read again every ``control_refresh_seconds`` of chain time and
        whenever summaries were written (``LotteryFinalizedEvent``s); between reads, the last one.
        (``clear_expected_hash`` and ``update_flags`` emit no event: a timer is the only way to
        see them.)"""
        events = {} if snapshot.activity is None else snapshot.activity.events
        counter = events.get(FINALIZED_EVENT)
        last = self._control_read_at
        fresh = last is not None and snapshot.now - last < self._control_every
        if fresh and counter == self._control_counter:
            return self._dual
        try:
            self._dual = await self._gateway.dual_write()
        except (TransientError, PermanentRpcError) as exc:
            log.warning("dual_write_unread", error=type(exc).__name__, detail=str(exc))
            return self._dual
        self._control_read_at, self._control_counter = snapshot.now, counter
        return self._dual

    # -- dual write (the findings) -----------------------------------------------------------------------------

    async def _dual_write(
        self, snapshot: Snapshot, control: DualWrite | None, findings: list[Finding]
    ) -> tuple[int, int, int]:
        """(expected hashes, waiting longer than the limit, mismatches)."""
        now = snapshot.now
        expected = {} if control is None else dict(control.expected)
        current = set(expected.items())
        for key in [k for k in self._expected_seen if k not in current]:
            del self._expected_seen[key]
        fresh = [k for k in current if k not in self._expected_seen]
        for key in fresh:
            self._expected_seen[key] = now
        events = {} if snapshot.activity is None else snapshot.activity.events
        finalized = events.get(FINALIZED_EVENT)
        ask_again = finalized != self._finalized_counter
        missing = [
            i
            for i, _ in sorted(current)
            if i not in self._summaries and (ask_again or (i, expected[i]) in fresh)
        ]
        try:
            for lottery_id in missing:
                found = await self._gateway.summary_hash(lottery_id)
                if found is not None:
                    self._summaries[lottery_id] = found
            self._finalized_counter = finalized
        except (TransientError, PermanentRpcError) as exc:
            log.warning("summary_hashes_unread", error=type(exc).__name__, detail=str(exc))
        for lottery_id in [i for i in self._summaries if i not in expected]:
            del self._summaries[lottery_id]
        pending = sum(now - seen >= self._pending_after for seen in self._expected_seen.values())
        mismatches = 0
        for lottery_id, want in sorted(expected.items()):
            stored = self._summaries.get(lottery_id)
            if stored is None or stored == want:
                continue
            mismatches += 1
            if (lottery_id, want) in self._mismatch_reported:
                continue
            self._mismatch_reported.add((lottery_id, want))
            log.warning("dual_write_mismatch", lottery_id=lottery_id, expected=want, stored=stored)
            findings.append(
                Finding(
                    kind=FindingKind.DUAL_WRITE_MISMATCH,
                    lottery_id=lottery_id,
                    description=(
                        f"dual-write mismatch for lottery {lottery_id}: expected hash {want}, "
                        f"stored summary hash {stored}"
                    ),
                )
            )
        return len(expected), pending, mismatches


def _purchase(event: ChainEvent) -> tuple[int, int, int | None] | None:
    """(lottery id, tickets, tickets sold after it) of a ``TicketPurchaseEvent``; ``None``
    without a lottery or a quantity."""
    lottery, quantity = _u64(event.data, "lottery_id"), _u64(event.data, "quantity")
    if lottery is None or quantity is None:
        return None
    return lottery, quantity, _u64(event.data, "tickets_sold")


def _any(event: ChainEvent) -> bool:
    return True


def _u64(data: Mapping[str, object], name: str) -> int | None:
    raw = data.get(name)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None
