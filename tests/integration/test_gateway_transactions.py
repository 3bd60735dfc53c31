"""The gateway signs, simulates, submits and tracks transactions on the demo localnet."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from autobot.chain.codec import action_hash
from autobot.chain.gateway import TxStatus
from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.domain import calls
from autobot.domain.actions import ActionId
from autobot.domain.lotteries import LotteryStatus
from autobot.errors import MoveAbort, NotYet, SequenceRace
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def gateway(localnet: Localnet) -> AsyncIterator[SupraGateway]:
    info = localnet.info
    async with SupraGateway(
        rpc_urls=[info.rpc_url], chain_id=info.chain_id, package=info.package_address
    ) as gw:
        yield gw


@pytest.fixture
def admin(localnet: Localnet) -> Signer:
    return Signer.from_private_key_hex(localnet.info.admin.private_key)


@pytest.fixture
def operator(localnet: Localnet) -> Signer:
    return Signer.from_private_key_hex(localnet.info.operators[0].private_key)


def _expiry() -> int:
    return int(time.time()) + 60


async def _execute(
    gateway: SupraGateway, call: calls.Call, sender: Signer, **kw: object
) -> TxStatus:
    sequence = await gateway.account_sequence(sender.address)
    tx = gateway.sign(
        call=call, sender=sender, sequence_number=sequence, expires_at=_expiry(), **kw
    )  # type: ignore[arg-type]
    tx_hash = await gateway.submit(tx)
    assert tx_hash == tx.tx_hash
    outcome = await gateway.wait_for(tx_hash, timeout=10, poll_interval=0.02)
    return outcome.state


async def test_advance_status_closes_lottery_1(gateway: SupraGateway, admin: Signer) -> None:
    assert (await gateway.lottery_status(1)).status is LotteryStatus.ACTIVE
    sequence = await gateway.account_sequence(admin.address)
    call = calls.advance_status(1, 2)
    simulated = await gateway.simulate(call=call, sender=admin, sequence_number=sequence)
    assert simulated.success
    tx = gateway.sign(call=call, sender=admin, sequence_number=sequence, expires_at=_expiry())
    outcome = await gateway.wait_for(await gateway.submit(tx), timeout=10, poll_interval=0.02)
    assert outcome.state is TxStatus.SUCCESS and outcome.block_height is not None
    assert (await gateway.lottery_status(1)).status is LotteryStatus.CLOSING
    assert await gateway.account_sequence(admin.address) == sequence + 1


async def test_a_move_abort_surfaces_with_its_name_and_module(
    gateway: SupraGateway, admin: Signer
) -> None:
    assert await _execute(gateway, calls.advance_status(1, 2), admin) is TxStatus.SUCCESS
    sequence = await gateway.account_sequence(admin.address)
    again = calls.advance_status(1, 1)  # CLOSING → ACTIVE is not a transition
    simulated = await gateway.simulate(call=again, sender=admin, sequence_number=sequence)
    assert not simulated.success and simulated.abort is not None
    assert (simulated.abort.name, simulated.abort.module, simulated.abort.code) == (
        "E_STATUS_TRANSITION_NOT_ALLOWED",
        "lottery_registry",
        0x1204,
    )
    with pytest.raises(MoveAbort):
        simulated.raise_for_abort()
    # Submitted anyway (autobot never does): the executed transaction fails with the same abort.
    tx = gateway.sign(call=again, sender=admin, sequence_number=sequence, expires_at=_expiry())
    outcome = await gateway.wait_for(await gateway.submit(tx), timeout=10, poll_interval=0.02)
    assert outcome.state is TxStatus.FAILED and outcome.abort is not None
    assert outcome.abort.name == "E_STATUS_TRANSITION_NOT_ALLOWED"


async def test_a_stale_sequence_number_races_then_resyncs(
    gateway: SupraGateway, admin: Signer
) -> None:
    assert await _execute(gateway, calls.advance_status(1, 2), admin) is TxStatus.SUCCESS
    stale = gateway.sign(
        call=calls.advance_status(2, 3), sender=admin, sequence_number=0, expires_at=_expiry()
    )
    with pytest.raises(SequenceRace):
        await gateway.submit(stale)
    fresh = await gateway.account_sequence(admin.address)
    assert fresh == 1
    retry = gateway.sign(
        call=calls.compute_winners_admin(2, 1),
        sender=admin,
        sequence_number=fresh,
        expires_at=_expiry(),
    )
    outcome = await gateway.wait_for(await gateway.submit(retry), timeout=10, poll_interval=0.02)
    assert outcome.final  # executed (it may abort: lottery 2 has no winners to compute yet)


async def test_operator_announces_and_the_timelock_means_not_yet(
    localnet: Localnet, gateway: SupraGateway, operator: Signer
) -> None:
    now = (await gateway.chain_time()).seconds
    plan = [calls.advance_status(5, 2)]
    digest = action_hash(ActionId.AUTO_CLOSE, 5, plan, now + 900)
    announce = calls.announce_dry_run(ActionId.AUTO_CLOSE, digest, now, now + 900)
    assert await _execute(gateway, announce, operator) is TxStatus.SUCCESS
    bot = await gateway.get_bot(operator.address)
    assert bot is not None and bot.has_pending and bot.pending_action_hash == digest
    sequence = await gateway.account_sequence(operator.address)
    early = await gateway.simulate(
        call=calls.record_success(ActionId.AUTO_CLOSE, digest, now + 1),
        sender=operator,
        sequence_number=sequence,
    )
    with pytest.raises(NotYet) as caught:
        early.raise_for_abort()
    assert caught.value.abort.name == "E_AUTOBOT_TIMELOCK"
    page = await gateway.events("history::AutomationDryRunPlannedEvent", limit=100)
    assert any(e.data.get("action_hash") == "0x" + digest.hex() for e in page.events)


async def test_rotate_bot_is_a_multi_agent_transaction(
    gateway: SupraGateway, admin: Signer, operator: Signer
) -> None:
    now = (await gateway.chain_time()).seconds
    rotate = calls.rotate_bot(b"*/2 * * * *", (1, 2, 6, 7), 1200, 5, now + 86_400)
    with pytest.raises(ValueError, match="secondary"):
        gateway.sign(call=rotate, sender=admin, sequence_number=0, expires_at=_expiry())
    sequence = await gateway.account_sequence(admin.address)
    simulated = await gateway.simulate(
        call=rotate, sender=admin, sequence_number=sequence, secondary=[operator]
    )
    assert simulated.success, simulated.vm_status
    assert await _execute(gateway, rotate, admin, secondary=[operator]) is TxStatus.SUCCESS
    bot = await gateway.get_bot(operator.address)
    assert bot is not None and (bot.timelock_secs, bot.max_failures) == (1200, 5)
    assert bot.cron_spec == b"*/2 * * * *"


async def test_events_are_paged_with_the_cursor(gateway: SupraGateway, admin: Signer) -> None:
    tip = await gateway.chain_time()
    start, now = tip.height + 1, tip.seconds  # genesis seeded a snapshot event of its own
    for i in range(3):
        snapshot = calls.record_snapshot_admin(60_000 + i, 10_000, 50_000, now + i)
        assert await _execute(gateway, snapshot, admin) is TxStatus.SUCCESS
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await gateway.events(
            "history::VrfDepositSnapshotEvent", start_height=start, limit=1, cursor=cursor
        )
        pages += 1
        seen += [int(str(e.data["total_balance"])) for e in page.events]
        assert all(e.block_height >= start and e.tx_hash.startswith("0x") for e in page.events)
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == [60_000, 60_001, 60_002] and pages >= 3
