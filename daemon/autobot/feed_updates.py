"""``price_feed_updates_total``: ``PriceFeedUpdatedEvent``s counted from the chain, exactly once.

The handbook defines the metric by events (docs/package.md §7: updates per hour, alert below one
for an active asset), so it is counted from them, not guessed from a feed's timestamp moving
between two sweeps (which misses every update but the last between them). Each sweep:

* if the ``PriceFeedRegistry.updates`` handle's counter (``Snapshot.activity``) equals the events
  counted so far, nothing happened: no request;
* otherwise the events of blocks ``[cursor, snapshot height]`` are read (every page) and counted
  per asset (the assets the sweep watches: a bounded label set), and the cursor moves past them
  — cursor, total and per-asset counts in **one journal commit** (``count_events``), so a restart
  resumes where the last commit left off: no event counted twice, none skipped while it was down.
  Events whose sequence number is below the count so far are not counted again (a block read
  twice); a sequence number beyond it (events the node no longer has) is logged as a gap.

A fresh journal starts counting at the first sweep's block (the metric counts from then on).
A standby under ``[ha]`` counts nothing (it writes nothing): ``refresh`` shows the leader's counts
from the journal, and the first ``count`` after a takeover starts from the journal's cursor.
Reading errors leave the cursor where it was (the next sweep asks again); journal errors
propagate like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.domain.snapshot import Snapshot
from autobot.errors import EventsPruned, PermanentRpcError, TransientError
from autobot.journal.operations import EventCounts
from autobot.journal.protocol import Journal

__all__ = ["PRICE_UPDATED", "FeedUpdates"]

log = structlog.get_logger(__name__)

PRICE_UPDATED = "price_feed::PriceFeedUpdatedEvent"


class FeedUpdates:
    """Counts ``PriceFeedUpdatedEvent``s per asset, with its cursor in the journal."""

    def __init__(self, *, gateway: ChainGateway, journal: Journal) -> None:
        self._gateway = gateway
        self._journal = journal
        self._state: EventCounts | None = None
        self._loaded = False

    @property
    def totals(self) -> Mapping[int, int]:
        """Updates counted so far, by asset id."""
        return {} if self._state is None else dict(self._state.counts)

    async def refresh(self) -> None:
        """Show the counts the journal holds (a standby's: the leader counts); the next ``count``
        reads the cursor again."""
        self._state = await self._journal.event_counts(PRICE_UPDATED)
        self._loaded = False

    async def count(self, snapshot: Snapshot, *, assets: Collection[int]) -> int:
        """Count the updates of ``assets`` up to ``snapshot``'s block; how many were added."""
        if not self._loaded:
            self._state = await self._journal.event_counts(PRICE_UPDATED)
            self._loaded = True
        state, height = self._state, snapshot.height
        counter = None if snapshot.activity is None else snapshot.activity.events.get(PRICE_UPDATED)
        if state is None:  # the first count ever: from this block on
            await self._journal.count_events(
                PRICE_UPDATED, next_height=height + 1, seen=counter or 0, added={}
            )
            self._state = EventCounts(next_height=height + 1, seen=counter or 0, counts={})
            return 0
        if height < state.next_height:
            return 0
        if counter is not None and counter == state.seen:  # no event since: nothing to read
            self._state = EventCounts(next_height=height + 1, seen=state.seen, counts=state.counts)
            return 0
        try:
            added, seen = await self._read(state, height, set(assets))
        except EventsPruned as exc:
            log.warning("price_feed_events_pruned", from_height=state.next_height, detail=str(exc))
            start = exc.oldest_block if exc.oldest_block is not None else height + 1
            state = EventCounts(next_height=start, seen=state.seen, counts=state.counts)
            self._state = state
            return 0
        except (TransientError, PermanentRpcError) as exc:  # asked again at the next sweep
            log.warning("price_feed_events_unread", error=type(exc).__name__, detail=str(exc))
            return 0
        await self._journal.count_events(
            PRICE_UPDATED, next_height=height + 1, seen=seen, added=added
        )
        counts = Counter(state.counts)
        counts.update(added)
        self._state = EventCounts(next_height=height + 1, seen=seen, counts=dict(counts))
        return sum(added.values())

    async def _read(
        self, state: EventCounts, height: int, assets: set[int]
    ) -> tuple[dict[int, int], int]:
        """Events of blocks ``[state.next_height, height]``: (per watched asset, new total)."""
        added: Counter[int] = Counter()
        seen = state.seen
        cursor: str | None = None
        while True:
            page = await self._gateway.events(
                PRICE_UPDATED, start_height=state.next_height, end_height=height + 1, cursor=cursor
            )
            for event in page.events:
                number = event.sequence_number
                if number is not None and number < seen:
                    continue  # counted already
                if number is not None and number > seen:
                    log.warning("price_feed_events_gap", expected=seen, got=number)
                seen = seen + 1 if number is None else number + 1
                raw = event.data.get("asset_id")
                if isinstance(raw, str | int) and str(raw).isdigit() and int(raw) in assets:
                    added[int(raw)] += 1
            if not page.cursor or not page.events:
                return dict(added), seen
            cursor = page.cursor
