"""Storage reads (issue 11) under a lying endpoint: a hidden record is not believed on one word.

autobot reads the published package's storage; a resource or table item that a node says does
not exist (404 ``ErrResp``) reads as the view's default — no cancellation, no sales, no bot. The
lying endpoint, listed first, hides every record; beside an honest endpoint every read must equal
the honest chain's own (read through the main front end, which no lie touches), as a hidden
transaction status is confirmed elsewhere before it is believed (on the code before, the
cancellation read as absent). Alone, the lie does take effect
(what a lying majority can still do, SECURITY.md): the test shows the check is not vacuous.
"""

from __future__ import annotations

import pytest
from byz_harness import Byzantine, Lie

from autobot.chain.supra import SupraGateway
from autobot.domain.lotteries import LotteryStatus
from autobot.errors import MoveAbort

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(block_interval_ms=50)]


def _gateway(byz: Byzantine, *urls: str) -> SupraGateway:
    info = byz.net.info
    return SupraGateway(
        rpc_urls=list(urls), chain_id=info.chain_id, package=info.package_address,
        request_timeout=2.0,
    )  # fmt: skip


async def test_a_hidden_record_is_confirmed_elsewhere_before_it_is_believed(
    byz: Byzantine,
) -> None:
    # given: the honest chain's own record (a canceled lottery with its cancellation record)
    ids = await byz.chain.lottery_ids()
    honest = await byz.chain.lottery_views(ids)
    canceled = [i for i, v in honest.items() if v.status is LotteryStatus.CANCELED]
    assert canceled, "the demo has a canceled lottery"
    honest_bots = await byz.chain.list_bots()
    assert await byz.chain.cancellation(canceled[0]) is not None
    # when: the endpoint listed first hides every resource and table item
    byz.proxy.tell(Lie.HIDDEN_RECORDS)
    async with _gateway(byz, byz.proxy.url, byz.honest.url) as gw:
        seen = await gw.lottery_views(ids)
        bots = await gw.list_bots()
        cancellation = await gw.cancellation(canceled[0])
    # then: every read as the honest chain has it, the lie told and overruled
    assert seen == honest
    assert bots == honest_bots
    assert cancellation is not None
    assert byz.proxy.told.get("hidden_records", 0) >= 1
    # and: alone, the same lie takes the whole registry away (the check above is not vacuous)
    async with _gateway(byz, byz.proxy.url) as alone:
        with pytest.raises(MoveAbort, match="E_REGISTRY_MISSING"):
            await alone.cancellation(canceled[0])
