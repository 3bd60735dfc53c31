"""One behavioural suite for ``ChainGateway``, run against every back end (``conftest.py``).

Reads, simulation, submission, transaction status, sequence numbers and the errors each maps to
must be the same whether the gateway is the unit tests' fake, the real gateway reading the
published package's storage, or the real gateway calling a patched package's views. The world
is the demo scenario (``autobot.localnet.scenario.spec``): lotteries 1 and 5 ACTIVE (1's sales
ended), 2 and 3 CLOSING, 4 CANCELED with 1,234 tickets owed; bots A (timelock 900) and B
(timelock 0); feeds 1 (fresh), 2 (clamped), 3 (stale); the cap held by the admin.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from contract_backends import Backend

from autobot.chain.gateway import TxStatus
from autobot.domain import calls
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.features import E_FEATURE_DISABLED, Feature, FeatureSwitch
from autobot.domain.lotteries import Accounting, LotteryStatus
from autobot.domain.refunds import RefundProgress
from autobot.domain.snapshot import compute_overview
from autobot.errors import MoveAbort, RpcTimeout, SequenceRace

pytestmark = pytest.mark.timeout(60)

TABLE_NOT_FOUND = (0x6507, "table")


def _expiry() -> int:
    return int(time.time()) + 60


async def _aborts(read: object) -> tuple[int, str | None]:
    with pytest.raises(MoveAbort) as caught:
        await read  # type: ignore[misc]
    return caught.value.code, caught.value.module


# -- reads ----------------------------------------------------------------------------------


async def test_identity_and_chain_time(backend: Backend) -> None:
    gw = backend.gateway
    assert gw.chain_id == 77
    assert gw.package == backend.admin.address
    first = await gw.chain_time()
    await backend.advance(30)
    second = await gw.chain_time()
    assert second.seconds >= first.seconds + 30 and second.height > first.height


async def test_the_lotteries_and_their_views(backend: Backend) -> None:
    gw = backend.gateway
    assert await gw.lottery_ids() == (1, 2, 3, 4, 5)
    assert await gw.finalized_ids() == ()
    statuses = [(await gw.lottery_status(i)).status for i in (1, 2, 3, 4, 5)]
    assert statuses == [
        LotteryStatus.ACTIVE,
        LotteryStatus.CLOSING,
        LotteryStatus.CLOSING,
        LotteryStatus.CANCELED,
        LotteryStatus.ACTIVE,
    ]
    four = (await gw.lottery_views([4]))[4]
    assert four.refund == await gw.refund_progress(4)
    assert four.refund.tickets_sold == 1_234 and four.refund.active
    assert four.accounting == await gw.accounting(4) and four.accounting.total_sales > 0
    assert four.cancellation == await gw.cancellation(4)
    assert four.cancellation is not None and four.cancellation.reason_code == 3
    assert four.config == await gw.lottery_config(4)
    assert [s.winners_per_slot for s in four.config.prize_plan] == [1, 2, 3]
    assert four.vrf == await gw.vrf_state(4) == VrfState()
    assert four.winners == await gw.winner_progress(4) == WinnerProgress()
    assert not four.archived and not await gw.has_summary(4)
    one = (await gw.lottery_views([1]))[1]
    assert one.config.sales_end < (await gw.chain_time()).seconds  # its sales ended
    assert one.cancellation is None and one.refund.tickets_sold == 120


async def test_a_scoped_read_leaves_what_the_status_cannot_change_at_its_default(
    backend: Backend,
) -> None:
    gw = backend.gateway
    full, scoped = (await gw.lottery_views([1]))[1], (await gw.lottery_views([1], scoped=True))[1]
    # what ACTIVE needs: config, refund progress, and the accounting to reconcile with it
    assert scoped.accounting == full.accounting != Accounting()
    assert scoped.refund == full.refund and scoped.config == full.config
    assert (await gw.lottery_views([4], scoped=True))[4] == (await gw.lottery_views([4]))[4]


async def test_what_does_not_exist_reads_as_the_views_answer_it(backend: Backend) -> None:
    gw = backend.gateway
    # an unknown lottery: reading its row aborts in the framework's table ...
    assert await _aborts(gw.lottery_status(999)) == TABLE_NOT_FOUND
    assert await _aborts(gw.lottery_config(999)) == TABLE_NOT_FOUND
    assert await _aborts(gw.lottery_views([1, 999])) == TABLE_NOT_FOUND
    # ... its records created on first use are at their defaults ...
    assert await gw.cancellation(999) is None
    assert await gw.refund_progress(999) == RefundProgress()
    assert await gw.vrf_state(999) == VrfState()
    assert await gw.winner_progress(999) == WinnerProgress()
    assert not await gw.has_summary(999)
    # ... and accounting without a sales state aborts in sales
    assert await _aborts(gw.accounting(999)) == (0x1202, "sales")
    assert await _aborts(gw.price_feed(99)) == (0x1902, "price_feed")
    assert await _aborts(gw.list_active(limit=1_001)) == (0x1501, "views")


async def test_the_aggregates(backend: Backend) -> None:
    gw = backend.gateway
    bots = await gw.list_bots()
    assert [(b.timelock_secs, b.allowed_actions) for b in bots] == [
        (900, (1, 2, 6, 7)),
        (0, (1, 2, 3, 4)),
    ]
    assert bots[0].operator == backend.operator.address
    assert await gw.get_bot(backend.operator.address) == bots[0]
    assert await gw.get_bot("0x" + "ee" * 32) is None
    cap = await gw.payout_batch_cap()
    assert cap is not None and cap.holder == backend.admin.address and cap.max_batch_size == 500
    deposit = await gw.vrf_deposit_status()
    assert deposit.effective_balance > deposit.required_minimum and not deposit.requests_paused
    assert (await gw.price_feed(2)).clamp_active
    assert await gw.list_active() == (5, 1)  # newest first
    assert await gw.list_active(start=1, limit=1) == (1,)


async def test_the_feature_switch_as_deployed_and_after_the_admin_turns_draw_on(
    backend: Backend,
) -> None:
    gw = backend.gateway
    # the demo's deployment: force_enable_devnet, every feature let through
    forced = await gw.feature_switch()
    assert forced == FeatureSwitch(initialized=True, force_enable_devnet=True)
    assert forced.refusal(Feature.DRAW) is None
    # never initialised: no call checks it
    backend.deploy_switch(None)
    assert await gw.feature_switch() == FeatureSwitch()
    # entries for every feature, DRAW disabled: what pre-flight refuses a draw for
    backend.deploy_switch(False)
    off = await gw.feature_switch()
    assert (off.initialized, off.force_enable_devnet, dict(off.modes)) == (
        True,
        False,
        {1: 1, 2: 1, 3: 0, 4: 1},
    )
    assert off.refusal(Feature.DRAW) == E_FEATURE_DISABLED
    assert (await gw.snapshot(lottery_ids=[2])).features == off
    # the admin turns DRAW on (feature_switch::set_mode(3, 1))
    tx = gw.sign(
        call=calls.Call(
            module="feature_switch", function="set_mode", args=(calls.U64(3), calls.U8(1))
        ),
        sender=backend.admin,
        sequence_number=await gw.account_sequence(backend.admin.address),
        expires_at=_expiry(),
    )
    await gw.submit(tx)
    assert (await gw.wait_for(tx.tx_hash, timeout=10, poll_interval=0.02)).state is TxStatus.SUCCESS
    on = await gw.feature_switch()
    assert on.modes[Feature.DRAW] == 1 and on.refusal(Feature.DRAW) is None
    # an unsupported mode aborts in feature_switch and changes nothing
    bad = gw.sign(
        call=calls.Call(
            module="feature_switch", function="set_mode", args=(calls.U64(3), calls.U8(7))
        ),
        sender=backend.admin,
        sequence_number=await gw.account_sequence(backend.admin.address),
        expires_at=_expiry(),
    )
    sim = await gw.simulate(
        call=bad.call, sender=backend.admin, sequence_number=bad.sequence_number
    )
    assert not sim.success and sim.abort is not None
    assert (sim.abort.code, sim.abort.module) == (0x1402, "feature_switch")
    assert await gw.feature_switch() == on


async def test_a_snapshot_reads_what_it_is_asked_for_at_one_chain_time(backend: Backend) -> None:
    gw = backend.gateway
    snapshot = await gw.snapshot(lottery_ids=[4, 1, 4], asset_ids=[3, 1, 2, 99])
    assert set(snapshot.lotteries) == {1, 4}
    assert snapshot.lotteries[4] == (await gw.lottery_views([4]))[4]
    assert sorted(snapshot.feeds) == [1, 2, 3]  # an unknown asset is left out
    assert snapshot.feeds[3].is_stale(snapshot.now) and snapshot.feeds[2].clamp_active
    assert snapshot.bots == await gw.list_bots()
    assert snapshot.cap == await gw.payout_batch_cap()
    assert snapshot.deposit == await gw.vrf_deposit_status()
    # the overview is the §6 formulas over the lotteries read; the chain's covers every one
    assert snapshot.overview == compute_overview(snapshot.lotteries.values(), snapshot.now)
    everything = await gw.snapshot(lottery_ids=await gw.lottery_ids())
    assert everything.overview == await gw.status_overview(everything.now)
    assert everything.overview.total == 5 and everything.overview.refund_batch_pending == 1_234
    # the storage's activity: what happened, in counters
    activity = snapshot.activity
    assert activity is not None and (activity.registered, activity.summarised) == (5, 0)
    assert activity.events["history::LotteryCanceledEvent"] == 1
    assert activity.events["price_feed::PriceFeedUpdatedEvent"] >= 3


async def test_events_are_paged_oldest_first(backend: Backend) -> None:
    gw = backend.gateway
    seen = []
    cursor = None
    while True:
        page = await gw.events("price_feed::PriceFeedUpdatedEvent", limit=1, cursor=cursor)
        seen.extend(page.events)
        if page.cursor is None:
            break
        assert len(page.events) == 1
        cursor = page.cursor
    assert len(seen) >= 3
    assert all(e.type == f"{gw.package}::price_feed::PriceFeedUpdatedEvent" for e in seen)
    assert [e.sequence_number for e in seen] == list(range(len(seen)))
    heights = [e.block_height for e in seen]
    assert heights == sorted(heights)
    whole = await gw.events("price_feed::PriceFeedUpdatedEvent", start_height=0, end_height=1)
    assert [e.sequence_number for e in whole.events] == [0, 1, 2]  # the genesis block's
    with pytest.raises(ValueError):
        await gw.events("price_feed::PriceFeedUpdatedEvent", limit=101)
    with pytest.raises(ValueError):
        await gw.events("../price_feed")


# -- transactions ---------------------------------------------------------------------------


async def test_signing_is_pure_and_the_hash_is_the_bytes(backend: Backend) -> None:
    gw = backend.gateway
    kw = {"call": calls.advance_status(1, 2), "sender": backend.admin, "sequence_number": 0}
    one, two = gw.sign(**kw, expires_at=2**40), gw.sign(**kw, expires_at=2**40)  # type: ignore[arg-type]
    assert one.payload == two.payload and one.tx_hash == two.tx_hash
    assert one.tx_hash == "0x" + hashlib.sha3_256(one.payload).hexdigest()
    assert (one.sender, one.sequence_number) == (backend.admin.address, 0)
    rotate = calls.rotate_bot(b"*", (1,), 0, 3, 2**40)
    with pytest.raises(ValueError, match="secondary"):
        gw.sign(call=rotate, sender=backend.admin, sequence_number=0, expires_at=2**40)


async def test_a_simulation_changes_nothing_and_reports_an_abort_as_a_value(
    backend: Backend,
) -> None:
    gw = backend.gateway
    ok = await gw.simulate(call=calls.advance_status(1, 2), sender=backend.admin, sequence_number=0)
    assert ok.success and ok.abort is None
    ok.raise_for_abort()
    refused = await gw.simulate(
        call=calls.advance_status(4, 1), sender=backend.admin, sequence_number=0
    )
    assert not refused.success and refused.abort is not None
    assert (refused.abort.code, refused.abort.module) == (0x1204, "lottery_registry")
    with pytest.raises(MoveAbort):
        refused.raise_for_abort()
    assert (await gw.lottery_status(1)).status == LotteryStatus.ACTIVE  # nothing changed
    assert await gw.account_sequence(backend.admin.address) == 0  # no number used


async def test_a_submitted_call_executes_and_uses_its_sequence_number(backend: Backend) -> None:
    gw = backend.gateway
    sequence = await gw.account_sequence(backend.admin.address)
    assert sequence == 0
    tx = gw.sign(
        call=calls.advance_status(1, 2),
        sender=backend.admin,
        sequence_number=sequence,
        expires_at=_expiry(),
    )
    assert await gw.submit(tx) == tx.tx_hash
    outcome = await gw.wait_for(tx.tx_hash, timeout=10, poll_interval=0.02)
    assert outcome.state is TxStatus.SUCCESS and outcome.final and outcome.block_height
    assert await gw.status(tx.tx_hash) == outcome
    assert await gw.account_sequence(backend.admin.address) == 1
    view = (await gw.lottery_views([1]))[1]
    assert view.status == LotteryStatus.CLOSING and view.snapshot_frozen


async def test_a_call_that_aborts_on_chain_fails_and_still_uses_its_number(
    backend: Backend,
) -> None:
    gw = backend.gateway
    tx = gw.sign(
        call=calls.advance_status(999, 2),
        sender=backend.admin,
        sequence_number=0,
        expires_at=_expiry(),
    )
    await gw.submit(tx)
    outcome = await gw.wait_for(tx.tx_hash, timeout=10, poll_interval=0.02)
    assert outcome.state is TxStatus.FAILED and outcome.abort is not None
    assert (outcome.abort.code, outcome.abort.module) == TABLE_NOT_FOUND
    assert await gw.account_sequence(backend.admin.address) == 1


async def test_sequence_numbers_and_unknown_hashes(backend: Backend) -> None:
    gw = backend.gateway
    first = gw.sign(
        call=calls.advance_status(1, 2),
        sender=backend.admin,
        sequence_number=0,
        expires_at=_expiry(),
    )
    await gw.submit(first)
    await gw.wait_for(first.tx_hash, timeout=10, poll_interval=0.02)
    # a number already used is refused as a race (resync and sign again) ...
    stale = gw.sign(
        call=calls.advance_status(2, 3),  # another call: other bytes, the same number
        sender=backend.admin,
        sequence_number=0,
        expires_at=_expiry(),
    )
    with pytest.raises(SequenceRace):
        await gw.submit(stale)
    assert await gw.account_sequence(backend.admin.address) == 1
    # ... a hash the node never saw is not found, and waiting for it times out
    unknown = "0x" + "42" * 32
    assert (await gw.status(unknown)).state is TxStatus.NOT_FOUND
    with pytest.raises(RpcTimeout):
        await gw.wait_for(unknown, timeout=0.2, poll_interval=0.05)
    with pytest.raises(ValueError):
        await gw.status("0x1234")


async def test_the_node_admits_each_sequence_number_once(backend: Backend) -> None:
    gw = backend.gateway

    def signed(lottery_id: int, number: int, status: int = 2):  # type: ignore[no-untyped-def]
        return gw.sign(
            call=calls.advance_status(lottery_id, status),
            sender=backend.admin,
            sequence_number=number,
            expires_at=_expiry(),
        )

    # one ahead of the account waits for the gap to fill; the same bytes again, same answer
    ahead = signed(5, 1)  # closes lottery 5 (ACTIVE)
    assert await gw.submit(ahead) == ahead.tx_hash
    assert await gw.submit(ahead) == ahead.tx_hash
    assert (await gw.status(ahead.tx_hash)).state is TxStatus.PENDING
    # another transaction with a number that is pending is refused
    with pytest.raises(SequenceRace):
        await gw.submit(signed(3, 1))
    # far ahead is refused too (a node holds at most 63 ahead)
    with pytest.raises(SequenceRace):
        await gw.submit(signed(3, 64))
    # the gap fills: both execute, in order
    first = signed(1, 0)  # closes lottery 1 (ACTIVE)
    await gw.submit(first)
    for tx in (first, ahead):
        outcome = await gw.wait_for(tx.tx_hash, timeout=10, poll_interval=0.02)
        assert outcome.state is TxStatus.SUCCESS
    assert await gw.account_sequence(backend.admin.address) == 2
    # executed bytes sent again are behind the account: a race, not a second execution
    with pytest.raises(SequenceRace):
        await gw.submit(first)
    # and a simulation must use the account's number too
    with pytest.raises(SequenceRace):
        await gw.simulate(call=calls.advance_status(3, 2), sender=backend.admin, sequence_number=0)
    simulated = await gw.simulate(
        call=calls.advance_status(2, 3), sender=backend.admin, sequence_number=2
    )
    assert simulated.success, simulated.vm_status


async def test_a_multi_agent_call_executes_with_its_co_signer(backend: Backend) -> None:
    gw = backend.gateway
    bot = await gw.get_bot(backend.operator.address)
    assert bot is not None and bot.max_failures == 3
    rotate = calls.rotate_bot(b"*/5 * * * *", (1, 2, 6, 7), 900, 4, bot.expires_at)
    tx = gw.sign(
        call=rotate,
        sender=backend.admin,
        sequence_number=0,
        expires_at=_expiry(),
        secondary=[backend.operator],
    )
    assert tx.secondary == (backend.operator.address,)
    await gw.submit(tx)
    outcome = await gw.wait_for(tx.tx_hash, timeout=10, poll_interval=0.02)
    assert outcome.state is TxStatus.SUCCESS, outcome.vm_status
    rotated = await gw.get_bot(backend.operator.address)
    assert rotated is not None and (rotated.max_failures, rotated.cron_spec) == (
        4,
        b"*/5 * * * *",
    )


async def test_the_playbook_reads_of_the_demo(backend: Backend) -> None:
    """The demo deploys the dual-write control (enabled, no aborts, nothing expected) and grants
    no partner or premium cap; nothing is summarised yet."""
    gw = backend.gateway
    assert await gw.partner_caps() == ()
    assert await gw.premium_caps() == ()
    control = await gw.dual_write()
    assert control is not None and control.enabled and dict(control.expected) == {}
    assert not control.abort_on_mismatch and not control.abort_on_missing
    assert await gw.summary_hash(1) is None and await gw.summary_hash(999) is None
