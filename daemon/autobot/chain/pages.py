"""Bounds on paginated reads: a node cannot keep autobot reading for ever.

Every paginated read — the id listings (``list_by_all_tags``, ``list_finalized_ids``), events
pages (``x-supra-cursor``) — goes through a ``PageGuard``: at most ``max_pages`` pages, and each
page must move the read on (a cursor never seen before in this read; an id page that is not a
repeat of ids already read). A breach is the answering endpoint's misbehaviour: it is scored down
(``EndpointPool.misbehaved``) and the read fails with ``RpcProtocolError`` (the next read starts
over, most likely elsewhere).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable

from autobot.chain.endpoints import Endpoint, EndpointPool
from autobot.errors import RpcProtocolError

__all__ = ["MAX_EVENT_PAGES", "MAX_ID_PAGES", "PageGuard"]

MAX_ID_PAGES = 1_000
"""Pages of at most 1000 ids: a million lotteries."""
MAX_EVENT_PAGES = 1_000
"""Pages of at most 100 events in one read (one event type over a height range)."""


class PageGuard:
    """One paginated read in progress."""

    def __init__(self, what: str, pool: EndpointPool, *, max_pages: int) -> None:
        self.what = what
        self._pool = pool
        self._max = max_pages
        self.pages = 0
        self._cursors: set[Hashable] = set()

    def page(
        self,
        endpoint: Endpoint | None,
        *,
        cursor: Hashable | None,
        items: Collection[Hashable] = (),
        seen: Collection[Hashable] = (),
    ) -> None:
        """Account for one more page, answered by ``endpoint``, whose next cursor is ``cursor``
        (``None``: the last page) and whose items are ``items`` (``seen``: those read before)."""
        self.pages += 1
        if self.pages > self._max:
            self._breach(endpoint, f"more than {self._max} pages")
        if cursor is not None:
            if cursor in self._cursors:
                self._breach(endpoint, "the cursor does not move on")
            self._cursors.add(cursor)
        if items and seen and all(item in seen for item in items):
            self._breach(endpoint, "a page repeats what was read already")

    def _breach(self, endpoint: Endpoint | None, why: str) -> None:
        error = RpcProtocolError(f"{self.what}: {why} (page {self.pages})")
        if endpoint is not None:
            self._pool.misbehaved(endpoint, error)
        raise error
