"""Finding 5: hostile answers neither hang nor bloat autobot, and they score their endpoint down.

* Endless full pages (the id listings and event pages never end): the read stops at a bounded
  number of pages, fails, and the endpoint is scored down (it used to run for 4,850 pages, 224 MiB
  and counting).
* A 400 MiB body: cut off at 16 MiB while it streams (it used to be buffered whole first).
* One byte every 2 s: the request ends at its deadline (it used to live on, 5 s per byte).

The proxy counts what it managed to send before the client hung up.
"""

from __future__ import annotations

import time

import pytest
from byz_harness import Byzantine, Lie

from autobot.chain.supra import Reads, SupraGateway
from autobot.errors import RpcProtocolError, RpcTimeout

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(block_interval_ms=50)]

_MIB = 1024 * 1024


def _gateway(
    byz: Byzantine, *urls: str, timeout: float = 2.0, reads: Reads = "storage"
) -> SupraGateway:
    info = byz.net.info
    return SupraGateway(
        rpc_urls=list(urls), chain_id=info.chain_id, package=info.package_address,
        request_timeout=timeout, reads=reads,
    )  # fmt: skip


# the id listings are paged only through the views (a package redeployed with #[view]; storage
# reads them from one resource, bounded by the body limit)
@pytest.mark.localnet(block_interval_ms=50, views="patched")
@pytest.mark.parametrize("mode", ["advance", "repeat"])
async def test_endless_pages_end_in_a_bounded_read_and_a_worse_score(
    byz: Byzantine, mode: str
) -> None:
    byz.proxy.tell(Lie.ENDLESS_PAGES, mode=mode)
    async with _gateway(byz, byz.proxy.url, reads="views") as gw:
        liar = gw.rpc.pool.endpoints[0]
        started = time.monotonic()
        with pytest.raises(RpcProtocolError, match=r"pages|cursor|repeats"):
            await gw.lottery_ids()
        with pytest.raises(RpcProtocolError, match=r"pages|cursor|repeats"):
            cursor: str | None = None
            while True:  # what a reader of events does: follow the cursor
                page = await gw.events("history::LotteryCanceledEvent", cursor=cursor)
                if page.cursor is None:
                    break
                cursor = page.cursor
        assert time.monotonic() - started < 40
        assert liar.total_failures >= 2 and liar.error_rate > 0
    assert byz.proxy.told.get("endless_pages", 0) <= 2 * 1_001


async def test_a_huge_body_is_cut_off_at_the_limit_as_it_streams(byz: Byzantine) -> None:
    byz.proxy.tell(Lie.HUGE_BODY, size=400 * _MIB)
    async with _gateway(byz, byz.proxy.url, timeout=20.0) as gw:
        with pytest.raises(RpcProtocolError, match="over 16777216 bytes"):
            await gw.chain_time()
    attempts = byz.proxy.told["huge_body"]
    # each attempt: the limit, plus what sat in the sockets' buffers when the client hung up
    assert byz.proxy.bytes_sent < attempts * 24 * _MIB, (byz.proxy.bytes_sent, attempts)
    assert byz.proxy.disconnects >= 1


async def test_a_dripping_answer_ends_at_the_request_deadline(byz: Byzantine) -> None:
    byz.proxy.tell(Lie.SLOW_DRIP, every=0.5)  # each byte well within a per-read timeout
    async with _gateway(byz, byz.proxy.url, timeout=2.0) as gw:
        started = time.monotonic()
        with pytest.raises(RpcTimeout):
            await gw.chain_time()
        took = time.monotonic() - started
    assert took < 6.0, took  # a deadline per attempt; a lone endpoint is asked twice at most
