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
from autobot.planning.recipes import AutoClose, Cancel, CleanupRoles, RequestDraw, ResumeRequests
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
    return build_executor(localnet, gateway, journal, operators=2)


@pytest.fixture
def executor_a(localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal) -> Executor:
    """Only operator A's key: every bot action goes through its 900 s timelock."""
    return build_executor(localnet, gateway, journal, operators=1)


def build_executor(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, *, operators: int
) -> Executor:
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

    keys = info.operators[:operators]
    sequencers = {s.address: s for s in (sequencer(op.private_key) for op in keys)}
    guards = Guards()
    book = Bookkeeper(journal=journal)
    steps = ActionSteps(
        journal=journal,
        gateway=gateway,
        admin=sequencer(info.admin.private_key),
        operators=sequencers,
        router=Router(guards=guards, operators=sequencers),
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


# --------------------------------------------------------------------------------------------
# pre-flight: readable preconditions stop a call before anything is simulated


def admin_call(localnet: Localnet, module: str, function: str, *args: object) -> None:
    """An admin call on the package model (another admin's tool, outside the test's daemon)."""
    admin = localnet.info.admin.address
    localnet.node.model.call(module, function, signers=[admin], args=list(args))


def pause_requests(localnet: Localnet, now: int) -> None:
    # a snapshot below the demo's required minimum (1.2e10): the guard pauses VRF requests
    admin_call(localnet, "vrf_deposit", "record_snapshot_admin", 10**10, 10**10, 10**9, now)


async def rejections(gateway: SupraGateway) -> list[dict[str, object]]:
    page = await gateway.events("history::AutomationCallRejectedEvent")
    return [dict(e.data) for e in page.events]


def draw_2() -> RequestDraw:
    return RequestDraw(lottery_id=2, closing_block_height=1, chain_id=77, num_confirmations=1,
                       attempt=0)  # fmt: skip


async def test_a_draw_refused_by_pre_flight_waits_without_a_failure_and_runs_once_allowed(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor: Executor
) -> None:
    # given: lottery 2 is due for its draw (B, timelock 0, carries it) and VRF requests are paused
    operator_b = Signer.from_private_key_hex(localnet.info.operators[1].private_key).address
    now = (await gateway.chain_time()).seconds
    key = await plan(executor, gateway, draw_2(), "draw:2:1")
    pause_requests(localnet, now)
    # when the executor takes the action twice while the deposit stays paused
    first = await executor.advance(key)
    assert first.next_check_at is not None
    await advance_chain(localnet, first.next_check_at - now + 1)
    second = await executor.advance(key)
    # then it waits: no draw request sent, no record_failure, B's failure count unchanged
    action = await journal.get_action(str(key))
    assert action is not None
    assert (first.state, second.state) == (ActionState.PLANNED, ActionState.PLANNED)
    assert (action.error_name, action.action_hash) == ("E_VRF_REQUESTS_PAUSED", None)
    bot = await gateway.get_bot(operator_b)
    assert bot is not None and bot.failure_count == 0
    # and B's trail shows the refusal once: report_call_rejected with the abort code
    [reported] = await rejections(gateway)
    assert (reported["action_id"], reported["reason_code"]) == ("2", str(0x170D))
    [tx] = await journal.transactions(str(key))
    assert (tx.purpose, tx.call_index, tx.state) == (TxPurpose.RECORD, 1, TxState.COMMITTED)
    # when requests are resumed, the draw runs
    admin_call(localnet, "vrf_deposit", "resume_requests", now)
    await advance_chain(localnet, 600)
    done = await executor.advance(key)
    assert done.state is ActionState.DONE
    assert (await gateway.lottery_status(2)).status is LotteryStatus.DRAW_REQUESTED
    bot = await gateway.get_bot(operator_b)
    assert bot is not None and (bot.failure_count, bot.success_streak) == (0, 1)


async def test_an_announced_draw_refused_when_due_gives_its_slot_back_without_a_failure(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor_a: Executor
) -> None:
    # given: only A (timelock 900) carries draws; it announced lottery 2's request
    operator_a = Signer.from_private_key_hex(localnet.info.operators[0].private_key).address
    now = (await gateway.chain_time()).seconds
    key = await plan(executor_a, gateway, draw_2(), "draw:2:1")
    announced = await executor_a.advance(key)
    assert announced.state is ActionState.WAITING and announced.next_check_at is not None
    # when requests are paused during the timelock and the action comes due
    pause_requests(localnet, now + 1)
    await advance_chain(localnet, announced.next_check_at - now + 1)
    for _ in range(4):
        result = await executor_a.advance(key)
        if result.state is ActionState.PARKED:
            break
    # then: the refusal is reported under the announced hash, the slot cleared with a success
    action = await journal.get_action(str(key))
    assert action is not None and action.action_hash is not None
    assert (action.state, action.outcome, action.error_name) == (
        ActionState.PARKED, Outcome.ESCALATED, "E_VRF_REQUESTS_PAUSED",
    )  # fmt: skip
    [reported] = await rejections(gateway)
    assert reported["action_hash"] == "0x" + action.action_hash.hex()
    bot = await gateway.get_bot(operator_a)
    assert bot is not None and bot.failure_count == 0 and bot.pending_action_hash == b""
    assert (await gateway.lottery_status(2)).status is LotteryStatus.CLOSING  # never requested
    kinds = [i.type for i in await journal.incidents()]
    assert kinds == ["Инцидент", "Dry-run"]  # the refusal (one row) after the announcement
    # and once requests run again, the action starts over (the sweep retries it)
    admin_call(localnet, "vrf_deposit", "resume_requests", now + 2)
    retried = await executor_a.retry(key)
    assert retried.state is ActionState.PLANNED


async def test_a_disabled_draw_feature_never_produces_a_record_failure(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor: Executor
) -> None:
    # given: lottery 2 is due for its draw (B carries it) and the package's DRAW feature is off
    operator_b = Signer.from_private_key_hex(localnet.info.operators[1].private_key).address
    localnet.node.model.seed_feature_draw(False)
    now = (await gateway.chain_time()).seconds
    key = await plan(executor, gateway, draw_2(), "draw:2:1")
    # when the executor takes the action again and again while the feature stays off
    for _ in range(3):
        result = await executor.advance(key)
        assert result.next_check_at is not None and result.state is not ActionState.DONE
        await advance_chain(localnet, result.next_check_at - now + 1)
        now = result.next_check_at + 1
    # then B's failure count is unchanged and nothing but (at most) a rejection report was sent
    bot = await gateway.get_bot(operator_b)
    assert bot is not None and (bot.failure_count, bot.success_streak) == (0, 0)
    failures = await gateway.events("history::AutomationErrorEvent")
    assert failures.events == ()
    sent = await journal.transactions(str(key))
    assert all(t.call_index == 1 and t.purpose is TxPurpose.RECORD for t in sent)
    action = await journal.get_action(str(key))
    assert action is not None and action.error_name == "E_FEATURE_DISABLED"
    # read from the package's storage before anything was simulated (pre-flight), not learnt
    # from an aborted simulation
    assert action.error_message is not None and action.error_message.startswith("pre-flight:")
    # and once the admin turns DRAW back on, the draw runs and is recorded as a success
    admin_call(localnet, "feature_switch", "set_mode", 3, 1)
    await advance_chain(localnet, 600)
    assert (await executor.advance(key)).state is ActionState.DONE
    bot = await gateway.get_bot(operator_b)
    assert bot is not None and (bot.failure_count, bot.success_streak) == (0, 1)


async def test_resuming_vrf_requests_is_announced_waits_the_timelock_executes_and_is_recorded(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal, executor_a: Executor
) -> None:
    # given: A (timelock 900) may carry action 5 (UNPAUSE, sensitive); VRF requests are paused
    # and the deposit is healthy again only by the admin's new config (no snapshot resumed them)
    signer_a = Signer.from_private_key_hex(localnet.info.operators[0].private_key)
    now = (await gateway.chain_time()).seconds
    localnet.node.model.call(
        "automation", "rotate_bot", signers=[localnet.info.admin.address, signer_a.address],
        args=[b"", [1, 2, 5, 6, 7], 900, 3, now + 10**6],
    )  # fmt: skip
    # a snapshot below the demo's effective floor pauses requests; the admin lowers the floor
    admin_call(localnet, "vrf_deposit", "record_snapshot_admin", 10**9, 10**8, 5 * 10**8, now)
    assert (await gateway.vrf_deposit_status()).shortfall is not None
    admin_call(localnet, "vrf_deposit", "update_config", 12_000, 10**8)
    deposit = await gateway.vrf_deposit_status()
    assert deposit.requests_paused and deposit.shortfall is None
    assert deposit.effective_floor == 10**8  # the ledger's config, read from storage
    key = await plan(executor_a, gateway, ResumeRequests(), "unpause:0:1")
    # when: announced, the chain moves past the timelock, then executed
    announced = await executor_a.advance(key)
    action = await journal.get_action(str(key))
    assert action is not None and action.execute_at is not None
    assert announced.state is ActionState.WAITING and action.execute_at >= now + 900
    assert (await gateway.vrf_deposit_status()).requests_paused  # nothing before the timelock
    await advance_chain(localnet, action.execute_at - (await gateway.chain_time()).seconds + 1)
    done = await executor_a.advance(key)
    # then: requests run again, through resume_requests as action 5 announced and recorded by A
    assert done.state is ActionState.DONE
    assert not (await gateway.vrf_deposit_status()).requests_paused
    txs = await journal.transactions(str(key))
    assert [(t.purpose, t.state) for t in txs] == [
        (TxPurpose.ANNOUNCE, TxState.COMMITTED),
        (TxPurpose.EXECUTE, TxState.COMMITTED),
        (TxPurpose.RECORD, TxState.COMMITTED),
    ]
    bot = await gateway.get_bot(signer_a.address)
    assert bot is not None and (bot.failure_count, bot.success_streak) == (0, 1)
    assert bot.last_action_hash == action.action_hash and bot.pending_action_hash == b""


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
