"""The gateway reads the demo localnet into domain values (real SDK, real HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autobot.chain.supra import SupraGateway
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import compute_overview
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def gateway(localnet: Localnet) -> AsyncIterator[SupraGateway]:
    info = localnet.info
    async with SupraGateway(
        rpc_urls=[info.rpc_url], chain_id=info.chain_id, package=info.package_address
    ) as gw:
        yield gw


async def test_chain_time_is_the_latest_block(localnet: Localnet, gateway: SupraGateway) -> None:
    before = localnet.node.chain_time
    now = await gateway.chain_time()
    assert now.seconds >= before and now.height >= 0
    localnet.node.advance(3600)
    later = await gateway.chain_time()
    assert later.seconds >= now.seconds + 3600 and later.height > now.height


async def test_snapshot_of_the_demo_matches_its_own_overview(
    localnet: Localnet, gateway: SupraGateway
) -> None:
    first = await gateway.chain_time()
    overview = await gateway.status_overview(first.seconds)
    ids = range(1, overview.total + 1)
    snap = await gateway.snapshot(lottery_ids=ids, asset_ids=[1, 2, 99])
    assert snap.now >= first.seconds
    assert sorted(snap.lotteries) == list(ids)
    # The chain's status_overview equals the §6 formulas over the per-lottery views.
    assert compute_overview(snap.lotteries.values(), snap.now) == snap.overview
    assert snap.overview.total == sum(snap.overview.count(s) for s in LotteryStatus)
    assert set(snap.feeds) <= {1, 2} and 99 not in snap.feeds


async def test_bots_are_the_registered_operators(localnet: Localnet, gateway: SupraGateway) -> None:
    info = localnet.info
    bots = await gateway.list_bots()
    assert [b.operator for b in bots] == [op.address for op in info.operators]
    first = await gateway.get_bot(info.operators[0].address)
    assert first == bots[0]
    assert await gateway.get_bot("0x1234") is None


async def test_active_lotteries_and_their_configs(gateway: SupraGateway) -> None:
    active = await gateway.list_active()
    assert active, "the demo has active lotteries"
    for lottery_id in active:
        status = await gateway.lottery_status(lottery_id)
        config = await gateway.lottery_config(lottery_id)
        assert status.status is LotteryStatus.ACTIVE
        assert config.sales_start < config.sales_end
        assert 1 <= config.rng_count <= 255 and config.winners_total >= config.rng_count
        total_bps = (
            config.distribution.prize_bps
            + config.distribution.jackpot_bps
            + config.distribution.operations_bps
            + config.distribution.reserve_bps
        )
        assert total_bps == 10_000


async def test_deposit_cap_feeds_and_progress_views(gateway: SupraGateway) -> None:
    deposit = await gateway.vrf_deposit_status()
    assert deposit.total_balance >= deposit.effective_balance
    cap = await gateway.payout_batch_cap()
    assert cap is None or cap.max_batch_size >= 0
    feed = await gateway.price_feed(1)
    assert feed.asset_id == 1 and feed.decimals <= 18
    progress = await gateway.winner_progress(1)
    vrf = await gateway.vrf_state(1)
    refund = await gateway.refund_progress(1)
    assert progress.total_assigned <= max(progress.total_required, 0) or not progress.initialized
    assert vrf.attempt >= 0 and refund.tickets_refunded <= refund.tickets_sold
