"""The execution pipeline end to end against the in-process localnet (demo scenario).

Operator A is the demo's timelocked bot (900 s, actions 1, 2, 6, 7), operator B the timelock-0 bot
(actions 1-4). Chain time is advanced with ``POST /localnet/v1/advance``, never slept through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.clock import SystemClock
from autobot.domain.calls import Bool, Call
from autobot.domain.lotteries import LotteryStatus
from autobot.execution import ActionSteps, Bookkeeper, Executor, Guards, Router, Sequencer
from autobot.journal.records import ActionState, Outcome, TxPurpose, TxState
from autobot.journal.store import SqliteJournal
from autobot.localnet.runner import Localnet
from autobot.planning.plan import ActionKey, PlanContext, PlannedAction, Recipe
from autobot.planning.recipes import AutoClose, Cancel, CleanupRoles
from autobot.planning.refunds import plan_refund

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def gateway(localnet: Localnet) -> AsyncIterator[SupraGateway]:
    info = localnet.info
    async with SupraGateway(
        rpc_urls=[info.rpc_url], chain_id=info.chain_id, package=info.package_address
    ) as gw:
        yield gw


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    j = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=SystemClock())
    yield j
    await j.close()


@pytest.fixture
def executor(localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal) -> Executor:
    info = localnet.info

    def sequencer(key_hex: str) -> Sequencer:
        return Sequencer(
            signer=Signer.from_private_key_hex(key_hex),
            gateway=gateway,
            journal=journal,
            clock=SystemClock(),
            window=4,
            ttl_seconds=60,
        )

    operators = {s.address: s for s in (sequencer(op.private_key) for op in info.operators[:2])}
    guards = Guards()
    book = Bookkeeper(journal=journal)
    steps = ActionSteps(
        journal=journal,
        gateway=gateway,
        admin=sequencer(info.admin.private_key),
        operators=operators,
        router=Router(guards=guards, operators=operators),
        guards=guards,
        clock=SystemClock(),
        live=True,
        book=book,
    )
    return Executor(journal=journal, gateway=gateway, steps=steps, book=book, confirm_seconds=5.0)


async def plan(executor: Executor, gateway: SupraGateway, recipe: Recipe, key: str) -> ActionKey:
    kind, subject, round_ = key.split(":")
    now = (await gateway.chain_time()).seconds
    action = PlannedAction(
        key=ActionKey(kind=kind, subject=int(subject), round=int(round_)),
        recipe=recipe,
        due_at=now,
        reason="integration test",
    )
    record, _ = await executor.accept(action, chain_now=now)
    return record.action_key


async def advance_chain(localnet: Localnet, seconds: int) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{localnet.base_url}localnet/v1/advance", json={"seconds": seconds}) as reply,
    ):
        assert reply.status == 200, await reply.text()


async def test_operator_b_closes_lottery_1_and_records_it_at_once(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor: Executor
) -> None:
    # given: lottery 1's sales ended; B (timelock 0) is the quickest bot allowed to close
    operator_b = localnet.info.operators[1]
    key = await plan(executor, gateway, AutoClose(lottery_id=1), "close:1:0")
    # when
    result = await executor.advance(key)
    # then
    assert result.state is ActionState.DONE
    assert (await gateway.lottery_status(1)).status is LotteryStatus.CLOSING
    bot = await gateway.get_bot(Signer.from_private_key_hex(operator_b.private_key).address)
    action = await journal.get_action(str(key))
    assert bot is not None and action is not None
    assert (bot.success_streak, bot.last_action_hash) == (1, action.action_hash)
    txs = await journal.transactions(str(key))
    assert [(t.purpose, t.state) for t in txs] == [
        (TxPurpose.EXECUTE, TxState.COMMITTED),
        (TxPurpose.RECORD, TxState.COMMITTED),
    ]


async def test_operator_a_announces_waits_out_the_timelock_then_cancels(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor: Executor
) -> None:
    # given: cancelling lottery 5 is sensitive (action 7): only A (900 s) may carry it
    operator_a = Signer.from_private_key_hex(localnet.info.operators[0].private_key).address
    key = await plan(executor, gateway, Cancel(lottery_id=5, reason=3), "cancel:5:3")
    # when: announced, then the chain moves past the timelock
    announced = await executor.advance(key)
    bot = await gateway.get_bot(operator_a)
    action = await journal.get_action(str(key))
    assert action is not None and action.execute_at is not None
    await advance_chain(localnet, action.execute_at - (await gateway.chain_time()).seconds + 1)
    done = await executor.advance(key)
    # then
    assert announced.state is ActionState.WAITING and announced.next_check_at == action.execute_at
    assert bot is not None and bot.pending_action_hash == action.action_hash
    assert done.state is ActionState.DONE
    assert (await gateway.lottery_status(5)).status is LotteryStatus.CANCELED
    after = await gateway.get_bot(operator_a)
    assert after is not None and after.pending_action_hash == b""
    assert after.last_action_hash == action.action_hash
    assert [i.type for i in await journal.incidents()] == ["Cancellation", "Dry-run"]


@pytest.mark.localnet(scenario="playbook")
async def test_a_roles_cleanup_removes_the_expired_caps_as_the_admin(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor: Executor
) -> None:
    # given: the playbook's caps, partner 2 and pool buyer 1's premium access already expired
    now = (await gateway.chain_time()).seconds
    partners, premiums = await gateway.partner_caps(), await gateway.premium_caps()
    expired = [c.partner for c in partners if c.expires_at and c.expires_at < now]
    assert len(partners) == 2 and len(expired) == 1
    assert len([p for p in premiums if p.expires_at and p.expires_at < now]) == 1
    # when: the operator's request, planned as the daemon plans it (no bot, no timelock)
    key = await plan(executor, gateway, CleanupRoles(), "cleanup:0:1")
    result = await executor.advance(key)
    # then: the admin's call ran, and only the live caps are left
    assert result.state is ActionState.DONE
    assert [c.partner for c in await gateway.partner_caps()] == [
        c.partner for c in partners if c.partner not in expired
    ]
    assert len(await gateway.premium_caps()) == 1
    txs = await journal.transactions(str(key))
    assert [(t.purpose, t.state, t.sender) for t in txs] == [
        (TxPurpose.EXECUTE, TxState.COMMITTED, localnet.info.admin.address)
    ]


@pytest.mark.localnet(scenario="playbook")
async def test_a_dual_write_block_of_the_archive_escalates_without_a_bot_failure(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor: Executor
) -> None:
    """Acceptance 4 on the real model: the playbook expects a hash for lottery 4 that its
    archive will not write; with ``abort_on_mismatch`` on, the archive aborts E_HISTORY_MISMATCH
    in ``legacy_bridge`` — the refund plan's batches run, the archive waits for a person."""
    info = localnet.info
    admin = Signer.from_private_key_hex(info.admin.private_key)
    flags = Call(
        module="legacy_bridge", function="update_flags", args=(Bool(True), Bool(True), Bool(False))
    )
    tx = gateway.sign(
        call=flags,
        sender=admin,
        sequence_number=await gateway.account_sequence(admin.address),
        expires_at=(await gateway.chain_time()).seconds + 600,
    )
    assert (await gateway.wait_for(await gateway.submit(tx), timeout=10)).state.name == "SUCCESS"
    control = await gateway.dual_write()
    assert control is not None and control.abort_on_mismatch and 4 in control.expected
    # when: lottery 4's refund plan, as the daemon plans it, runs to its end
    snapshot = await gateway.snapshot(lottery_ids=[4])
    planned = plan_refund(snapshot.lotteries[4], snapshot, PlanContext(chain_id=info.chain_id))
    assert isinstance(planned, PlannedAction)
    await executor.accept(planned, chain_now=snapshot.now)
    result = await executor.advance(planned.key)
    for _ in range(40):
        if result.state in (ActionState.DONE, ActionState.PARKED, ActionState.FAILED):
            break
        now = (await gateway.chain_time()).seconds
        if result.next_check_at is not None and result.next_check_at > now:
            await advance_chain(localnet, result.next_check_at - now)
        result = await executor.advance(planned.key)
    # then: every ticket refunded, no archive, escalated (parked), and no record_failure
    assert result.state is ActionState.PARKED
    action = await journal.get_action(str(planned.key))
    assert action is not None and action.outcome is Outcome.ESCALATED
    view = (await gateway.lottery_views([4]))[4]
    assert view.refund.tickets_refunded == view.refund.tickets_sold and not view.archived
    operator_a = Signer.from_private_key_hex(info.operators[0].private_key).address
    bot = await gateway.get_bot(operator_a)
    assert bot is not None and bot.failure_count == 0 and bot.pending_action_hash == b""
    incidents = [i.description for i in await journal.incidents()]
    assert any("blocked by the dual-write control" in t for t in incidents), incidents
