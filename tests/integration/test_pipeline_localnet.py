"""Pipelined submission against the in-process localnet: the submit window and chained calls.

Blocks are produced by hand (``block_interval_ms`` of a minute), so transactions stay in flight
until the test produces the next block.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.clock import SystemClock
from autobot.domain import calls as c
from autobot.errors import SubmitWindowFull
from autobot.execution import ActionSteps, Bookkeeper, Executor, Guards, Router, Sequencer
from autobot.journal.records import ActionState, NewAction, TxPurpose, TxState
from autobot.journal.store import SqliteJournal
from autobot.localnet.runner import Localnet
from autobot.planning.plan import PlanContext, PlannedAction
from autobot.planning.recipes import RefundPlan
from autobot.planning.refunds import plan_refund

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(block_interval_ms=60_000)]


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


def sequencer(
    key_hex: str, gateway: SupraGateway, journal: SqliteJournal, *, window: int
) -> Sequencer:
    return Sequencer(
        signer=Signer.from_private_key_hex(key_hex),
        gateway=gateway,
        journal=journal,
        clock=SystemClock(),
        window=window,
        ttl_seconds=120,
    )


def pending(localnet: Localnet, tx_hash: str) -> bool:
    timing = localnet.node.transaction_timing(tx_hash)
    return timing is not None and timing["status"] == "Pending"


async def test_with_a_window_of_n_n_transactions_are_in_flight(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal
) -> None:
    # given: a window of 5 on the admin's account and an action to hang transactions on
    n = 5
    admin = sequencer(localnet.info.admin.private_key, gateway, journal, window=n)
    now = (await gateway.chain_time()).seconds
    new = NewAction(
        key="fallback:1:0", kind="fallback", subject_id=1, action_id=None, recipe="{}",
        reason="window test", due_at=now,
    )  # fmt: skip
    await journal.add_action(new, chain_now=now)

    async def send(index: int) -> str:
        call = c.set_fallback(1, index % 2 == 0, 1)
        [record] = await admin.send_many(
            [(index, call)], action_key=new.key, action_digest=b"\x01" * 32,
            purpose=TxPurpose.EXECUTE, expect={ActionState.PLANNED}, chain_now=now,
        )  # fmt: skip
        assert record.state is TxState.SUBMITTED
        return record.tx_hash

    # when: N are sent without a block in between, then one more
    hashes = [await send(i) for i in range(n)]
    with pytest.raises(SubmitWindowFull):
        await send(n)
    # then: the node holds all N, with consecutive sequence numbers, none executed yet
    assert all(pending(localnet, h) for h in hashes)
    live = await journal.live_transactions(admin.address)
    assert [t.sequence_number for t in live] == list(range(n))
    # and the next block executes all of them, in order
    block = localnet.node.produce_block()
    heights = {localnet.node.transaction_timing(h)["block_height"] for h in hashes}  # type: ignore[index]
    assert heights == {block.height}
    assert localnet.node.sequence_number(admin.address) == n


async def test_refund_batches_are_pipelined_behind_the_first_and_land_in_one_block(
    localnet: Localnet, gateway: SupraGateway, journal: SqliteJournal
) -> None:
    # given: the demo's lottery 4 (1,234 tickets: three batches of at most 500 and the archive),
    # operator A timelocked 900 s, a window of 8
    info = localnet.info
    operators = {
        s.address: s
        for s in (sequencer(op.private_key, gateway, journal, window=8) for op in info.operators)
    }
    admin = sequencer(info.admin.private_key, gateway, journal, window=8)
    guards = Guards()
    book = Bookkeeper(journal=journal)
    steps = ActionSteps(
        journal=journal, gateway=gateway, admin=admin, operators=operators,
        router=Router(guards=guards, operators=operators), guards=guards, clock=SystemClock(),
        live=True, book=book,
    )  # fmt: skip
    executor = Executor(
        journal=journal, gateway=gateway, steps=steps, book=book, confirm_seconds=0.2
    )
    snapshot = await gateway.snapshot(lottery_ids=[4])
    planned = plan_refund(snapshot.lotteries[4], snapshot, PlanContext(chain_id=info.chain_id))
    assert isinstance(planned, PlannedAction) and isinstance(planned.recipe, RefundPlan)
    assert len(planned.recipe.batches) == 3
    record, _ = await executor.accept(planned, chain_now=snapshot.now)
    await executor.advance(record.action_key)  # the announcement
    localnet.node.produce_block()
    localnet.node.advance(901)  # the timelock passes
    # when
    await executor.advance(record.action_key)
    # then: every batch and the archive are in flight behind the first, consecutively numbered
    execs = [t for t in await journal.transactions(record.key) if t.purpose is TxPurpose.EXECUTE]
    assert [t.call_index for t in execs] == [0, 1, 2, 3]
    assert all(t.state.live for t in execs)
    sequences = [t.sequence_number for t in execs]
    assert sequences == list(range(sequences[0], sequences[0] + 4))
    body = json.loads(execs[-1].call)
    assert body["function"] == "archive_canceled_lottery_admin"
    # and one block executes them all
    block = localnet.node.produce_block()
    heights = {localnet.node.transaction_timing(t.tx_hash)["block_height"] for t in execs}  # type: ignore[index]
    assert heights == {block.height}
    await executor.advance(record.action_key)  # follows them, then sends record_success
    localnet.node.produce_block()
    done = await executor.advance(record.action_key)
    assert done.state is ActionState.DONE
    progress = await gateway.refund_progress(4)
    assert (progress.refund_round, progress.tickets_refunded) == (3, 1_234)
    assert (await gateway.snapshot(lottery_ids=[4])).lotteries[4].archived
