"""The per-account sequencer: sequence numbers, the submit window, journal-first, re-sending."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from execution_fakes import ADMIN, Rig

from autobot.chain.gateway import SimResult, TxOutcome, TxStatus
from autobot.domain import calls as c
from autobot.errors import (
    FencedOut,
    RpcRejected,
    RpcTimeout,
    RpcUnavailable,
    SequenceRace,
    SubmitWindowFull,
)
from autobot.execution import Sequencer
from autobot.journal.records import ActionState, NewAction, TxPurpose, TxRecord, TxState

KEY = "close:1:0"
DIGEST = b"\x11" * 32


@pytest.fixture
async def journaled(rig: Rig) -> Rig:
    """An action to hang transactions on, and a lottery the admin may close."""
    from execution_fakes import lottery

    rig.chain.state.lotteries[1] = lottery(1)
    rig.chain.state.lotteries[2] = lottery(2)
    await rig.journal.add_action(
        NewAction(
            key=KEY, kind="close", subject_id=1, action_id=1, recipe="{}", reason="t", due_at=0
        ),
        chain_now=0,
    )
    return rig


async def send(seq: Sequencer, lottery_id: int = 1) -> TxRecord:
    [sent] = await seq.send_many(
        [(0, c.advance_status(lottery_id, 2))],
        action_key=KEY,
        action_digest=DIGEST,
        purpose=TxPurpose.EXECUTE,
        expect=set(ActionState),
        chain_now=0,
    )
    return sent


async def test_the_first_number_comes_from_the_chain_then_counts_locally(journaled: Rig) -> None:
    # given: the account has sent 5 transactions before
    journaled.chain.sequences[ADMIN.address] = 5
    reads: list[str] = []
    original = journaled.chain.account_sequence

    async def counting(address: str) -> int:
        reads.append(address)
        return await original(address)

    journaled.chain.account_sequence = counting  # type: ignore[method-assign]
    # when
    first = await send(journaled.admin, 1)
    second = await send(journaled.admin, 2)
    # then
    assert (first.sequence_number, second.sequence_number) == (5, 6)
    assert reads == [ADMIN.address]


async def test_a_restart_continues_after_the_journals_highest_executed_number(
    journaled: Rig,
) -> None:
    # given: two executed transactions, and a node that lags behind them
    await send(journaled.admin, 1)
    await send(journaled.admin, 2)
    journaled.chain.sequences[ADMIN.address] = 1
    await journaled.reopen()
    # when
    next_number = await journaled.admin.next_sequence()
    # then
    assert next_number == 2


async def test_numbers_held_by_live_transactions_are_skipped(journaled: Rig) -> None:
    # given: a transaction the node holds but has not executed
    journaled.chain.hold = True
    held = await send(journaled.admin, 1)
    await journaled.reopen()
    # when
    next_number = await journaled.admin.next_sequence()
    # then
    assert held.state is TxState.SUBMITTED
    assert next_number == held.sequence_number + 1


async def test_the_window_bounds_transactions_in_flight(journaled: Rig) -> None:
    # given
    journaled.window = 2
    journaled.build()
    journaled.chain.hold = True
    await send(journaled.admin, 1)
    await send(journaled.admin, 2)
    # when / then
    with pytest.raises(SubmitWindowFull):
        await send(journaled.admin, 1)
    assert len(await journaled.journal.live_transactions()) == 2


async def test_a_transaction_is_journaled_before_it_is_submitted(journaled: Rig) -> None:
    # given: the node is unreachable
    journaled.chain.submit_faults.append((RpcTimeout("no answer"), False))
    # when
    record = await send(journaled.admin)
    # then: the bytes are in the journal although no node took them
    stored = await journaled.journal.get_transaction(record.tx_hash)
    assert stored is not None and stored.state is TxState.SIGNED
    assert stored.raw == journaled.chain.submitted[0].payload


async def test_an_unknown_outcome_is_resolved_by_resending_the_same_bytes(journaled: Rig) -> None:
    # given
    journaled.chain.submit_faults.append((RpcTimeout("no answer"), False))
    record = await send(journaled.admin)
    # when
    resent = await journaled.admin.follow(record)
    settled = await journaled.admin.follow(resent)
    # then
    first, again = journaled.chain.submitted
    assert first.payload == again.payload
    assert settled.state is TxState.COMMITTED
    assert len(journaled.chain.executed("lottery_registry::advance_status")) == 1


async def test_a_lost_response_is_found_on_chain_and_not_sent_again(journaled: Rig) -> None:
    # given: the node executed it but its answer was lost
    journaled.chain.submit_faults.append((RpcTimeout("reset"), True))
    record = await send(journaled.admin)
    # when
    settled = await journaled.admin.follow(record)
    # then
    assert settled.state is TxState.COMMITTED
    assert len(journaled.chain.submitted) == 1


async def test_an_unexpired_transaction_the_node_forgot_is_resent(journaled: Rig) -> None:
    # given
    journaled.chain.hold = True
    record = await send(journaled.admin)
    journaled.chain.forget(record.tx_hash)
    journaled.chain.hold = False
    # when
    followed = await journaled.admin.follow(record)
    # then
    assert followed.state is TxState.SUBMITTED and followed.submissions == 2
    assert len(journaled.chain.executed("lottery_registry::advance_status")) == 1


async def test_an_expired_absent_transaction_is_dropped_and_its_number_reused(
    journaled: Rig,
) -> None:
    # given: the node lost it and its expiry (wall clock) plus the grace has passed
    journaled.chain.hold = True
    record = await send(journaled.admin)
    journaled.chain.forget(record.tx_hash)
    journaled.clock.advance(journaled.ttl_seconds + 31)
    journaled.chain.hold = False
    # when
    dropped = await journaled.admin.follow(record)
    again = await send(journaled.admin)
    # then
    assert dropped.state is TxState.DROPPED
    assert again.sequence_number == record.sequence_number
    assert again.tx_hash != record.tx_hash


async def test_an_expired_transaction_is_not_dropped_within_the_grace(journaled: Rig) -> None:
    # given
    journaled.chain.hold = True
    record = await send(journaled.admin)
    journaled.chain.forget(record.tx_hash)
    journaled.clock.advance(journaled.ttl_seconds + 5)
    # when
    followed = await journaled.admin.follow(record)
    # then: still live, and not sent again (a node would refuse expired bytes)
    assert followed.state.live
    assert len(journaled.chain.submitted) == 1


async def test_a_too_new_refusal_of_fresh_bytes_drops_them_and_resyncs_down(
    journaled: Rig,
) -> None:
    # given: a node told us the account was at 5 (a lie), and refuses number 5 as too new
    journaled.chain.sequences[ADMIN.address] = 5
    journaled.chain.submit_faults.append((SequenceRace("SEQUENCE_NUMBER_TOO_NEW"), False))
    first = await send(journaled.admin, 1)
    journaled.chain.sequences[ADMIN.address] = 0  # the truth
    # when
    second = await send(journaled.admin, 1)
    # then: dropped, and the next number read again, down to the chain's
    assert (first.sequence_number, first.state) == (5, TxState.DROPPED)
    assert (second.sequence_number, second.state) == (0, TxState.SUBMITTED)


async def test_a_submission_awaiting_its_answer_does_not_hold_up_the_next_one(
    journaled: Rig,
) -> None:
    # given: the node takes its time answering the first submission
    answer = asyncio.Event()
    entered = asyncio.Event()
    original = journaled.chain.submit

    async def slow_first(tx: Any) -> str:
        if not entered.is_set():
            entered.set()
            await answer.wait()
        return await original(tx)

    journaled.chain.submit = slow_first  # type: ignore[method-assign]
    first = asyncio.create_task(send(journaled.admin, 1))
    await asyncio.wait_for(entered.wait(), 5)
    # when: another action of the same account is sent meanwhile
    second = await asyncio.wait_for(send(journaled.admin, 2), 5)
    answer.set()
    # then: it was numbered, journaled and submitted without waiting for the first's answer
    assert second.state is TxState.SUBMITTED
    assert ((await first).sequence_number, second.sequence_number) == (0, 1)
    # (the node took 1 before 0, and holds a later number until the earlier arrives)
    assert [t.sequence_number for t in journaled.chain.submitted] == [1, 0]
    assert len(journaled.chain.executed("lottery_registry::advance_status")) == 2


async def test_a_refusal_while_a_send_is_journaling_is_not_overwritten(journaled: Rig) -> None:
    # given: a send waiting on its journal write, and the chain's number read once
    journaled.chain.sequences[ADMIN.address] = 3
    await journaled.admin.next_sequence()
    reads: list[str] = []
    sequence = journaled.chain.account_sequence

    async def counting(address: str, **kw: Any) -> int:
        reads.append(address)
        return await sequence(address, **kw)

    journaled.chain.account_sequence = counting  # type: ignore[method-assign]
    writing = asyncio.Event()
    written = asyncio.Event()
    add = journaled.journal.add_transactions

    async def slow_add(*args: Any, **kw: Any) -> Any:
        writing.set()
        await written.wait()
        return await add(*args, **kw)

    journaled.journal.add_transactions = slow_add  # type: ignore[method-assign]
    sending = asyncio.create_task(send(journaled.admin, 1))
    await asyncio.wait_for(writing.wait(), 5)

    # when: meanwhile a simulation is refused for its sequence number (the chain moved on)
    async def refused(**kw: Any) -> SimResult:
        raise SequenceRace("SEQUENCE_NUMBER_TOO_OLD")

    journaled.chain.simulate = refused  # type: ignore[method-assign]
    with pytest.raises(SequenceRace):
        await journaled.admin.simulate(c.advance_status(2, 2))
    written.set()
    sent = await sending
    journaled.chain.sequences[ADMIN.address] = 9
    # then: the refusal stands: the next number is read from the chain again
    assert sent.sequence_number == 3
    assert await journaled.admin.next_sequence() == 9
    assert reads == [ADMIN.address]


def hide_statuses(rig: Rig) -> Callable[[], None]:
    """Status lookups answer "not found" (a lagging indexer); returns the undo."""
    original = rig.chain.status

    async def hidden(tx_hash: str) -> TxOutcome:
        return TxOutcome(tx_hash=tx_hash, state=TxStatus.NOT_FOUND)

    rig.chain.status = hidden  # type: ignore[method-assign]
    return lambda: setattr(rig.chain, "status", original)


async def test_a_too_old_refusal_keeps_the_bytes_live_and_looks_them_up(journaled: Rig) -> None:
    # given: our submit timed out after the node took it (it executed), our second try is refused
    # as too old, and status lookups do not know the hash yet (a lagging indexer)
    journaled.chain.submit_faults.append((SequenceRace("SEQUENCE_NUMBER_TOO_OLD"), True))
    show = hide_statuses(journaled)
    # when
    first = await send(journaled.admin, 1)
    # then: not dropped; nothing new signed for the call
    assert first.state is TxState.SIGNED
    assert await journaled.admin.follow(first) == await journaled.journal.get_transaction(
        first.tx_hash
    )
    # when: the status shows
    show()
    settled = await journaled.admin.follow(first)
    # then
    assert settled.state is TxState.COMMITTED
    assert [t.tx_hash for t in await journaled.journal.transactions(KEY)] == [first.tx_hash]


async def test_an_expired_unknown_transaction_is_dropped_only_on_proof(journaled: Rig) -> None:
    # given: a transaction that executed, whose status the node hides, past its expiry
    show = hide_statuses(journaled)
    sent = await send(journaled.admin, 1)
    journaled.clock.advance(journaled.ttl_seconds + 60)
    # when: the account's number shows it used
    kept = await journaled.admin.follow(sent)
    # then: it stays live (ours most likely executed): no number freed, nothing re-signed
    assert kept.state.live
    # when: a transaction that never got anywhere expires, its number still unused on chain
    show()
    journaled.chain.submit_faults.append((RpcUnavailable("lost"), False))
    lost = await send(journaled.admin, 2)
    journaled.clock.advance(journaled.ttl_seconds + 60)
    dropped = await journaled.admin.follow(lost)
    # then: dropped, with the chain's number as the proof
    assert dropped.state is TxState.DROPPED
    assert "sequence number is still 1" in (dropped.error_message or "")


async def test_an_executed_abort_is_settled_with_its_code(journaled: Rig) -> None:
    # given: lottery 3 does not exist, so the admin call aborts on chain (a framework table
    # miss, as the package borrows the row without checking)
    journaled.chain.hold = True
    record = await send(journaled.admin, 3)
    journaled.chain.release()
    # when
    settled = await journaled.admin.follow(record)
    # then
    assert settled.state is TxState.ABORTED
    assert (settled.error_code, settled.error_name) == (0x6507, "unknown(0x6507)")


async def test_a_rejected_transaction_is_journaled_as_dropped_and_reported(journaled: Rig) -> None:
    # given
    journaled.chain.submit_faults.append((RpcRejected("bad signature", status=400), False))
    # when
    with pytest.raises(RpcRejected):
        await send(journaled.admin)
    # then
    [tx] = await journaled.journal.transactions(KEY)
    assert tx.state is TxState.DROPPED and "bad signature" in (tx.error_message or "")


async def test_a_refused_number_signed_again_in_the_same_second_gets_new_bytes(
    journaled: Rig,
) -> None:
    # given: a node refuses number 0 as too new (it lies, or lags), so it is dropped
    journaled.chain.submit_faults.append((SequenceRace("SEQUENCE_NUMBER_TOO_NEW"), False))
    first = await send(journaled.admin, 1)
    assert first.state is TxState.DROPPED
    # when: the same call is signed again with the same number, in the same wall second
    second = await send(journaled.admin, 1)
    # then: different bytes (the expiry moved on), both journaled
    assert second.sequence_number == first.sequence_number == 0
    assert second.tx_hash != first.tx_hash and second.expires_at == first.expires_at + 1
    assert second.state is TxState.SUBMITTED


async def test_follow_many_settles_every_final_answer_and_keeps_the_rest_live(
    journaled: Rig,
) -> None:
    # given: three transactions in one block, the second aborts (lottery 3 does not exist)
    journaled.chain.hold = True
    sent = await journaled.admin.send_many(
        [(0, c.advance_status(1, 2)), (1, c.advance_status(3, 2)), (2, c.advance_status(2, 2))],
        action_key=KEY,
        action_digest=DIGEST,
        purpose=TxPurpose.EXECUTE,
        expect=set(ActionState),
        chain_now=0,
    )
    # when: nothing executed yet
    pending = await journaled.admin.follow_many(sent)
    # then: all stay live
    assert [t.state for t in pending] == [TxState.SUBMITTED] * 3
    # when: the block lands; one of them was settled meanwhile by a single follow
    journaled.chain.release()
    first = await journaled.admin.follow(sent[0])
    followed = await journaled.admin.follow_many(sent)
    # then: each as the chain says, in the order given, the concurrently settled one unchanged
    assert [t.tx_hash for t in followed] == [t.tx_hash for t in sent]
    assert [t.state for t in followed] == [TxState.COMMITTED, TxState.ABORTED, TxState.COMMITTED]
    assert followed[0].settled_wall == first.settled_wall
    assert followed[1].error_code == 0x6507  # a table miss in the framework
    stored = {t.tx_hash: t.state for t in await journaled.journal.transactions(KEY)}
    assert stored == {t.tx_hash: t.state for t in followed}


async def test_send_many_never_reuses_bytes_the_journal_holds(journaled: Rig) -> None:
    # given: number 0 refused (dropped) for a call, in this wall second
    journaled.chain.submit_faults.append((SequenceRace("SEQUENCE_NUMBER_TOO_NEW"), False))
    first = await send(journaled.admin, 1)
    assert first.state is TxState.DROPPED
    # when: the same call is sent again, pipelined, with the same number and second
    [again] = await journaled.admin.send_many(
        [(0, c.advance_status(1, 2))],
        action_key=KEY,
        action_digest=DIGEST,
        purpose=TxPurpose.EXECUTE,
        expect=set(ActionState),
        chain_now=0,
    )
    # then: new bytes (the expiry moved on)
    assert again.sequence_number == first.sequence_number
    assert again.tx_hash != first.tx_hash and again.expires_at == first.expires_at + 1


async def test_a_refused_simulation_reads_the_number_again_down_as_well_as_up(
    journaled: Rig,
) -> None:
    # given: a node that said the admin is at 100 (a lie: the chain is at 0), and a simulation
    # that refuses any number but the chain's (as the node does: SEQUENCE_NUMBER_TOO_NEW)
    journaled.chain.sequences[ADMIN.address] = 100
    asked: list[int] = []
    original = journaled.chain.simulate

    async def strict(**kwargs: Any) -> SimResult:
        asked.append(kwargs["sequence_number"])
        if kwargs["sequence_number"] != 0:
            raise SequenceRace(f"SEQUENCE_NUMBER_TOO_NEW: at 0, got {kwargs['sequence_number']}")
        return await original(**kwargs)

    journaled.chain.simulate = strict  # type: ignore[method-assign]
    call = c.advance_status(1, 2)
    with pytest.raises(SequenceRace):
        await journaled.admin.simulate(call)
    # when: the lie is over
    journaled.chain.sequences[ADMIN.address] = 0
    sim = await journaled.admin.simulate(call)
    # then: the number was read again, and it went down (on the old code it stayed at 100)
    assert sim.success
    assert asked == [100, 0]
    assert (await send(journaled.admin)).sequence_number == 0


class Gate:
    """A ``permit`` that refuses once closed (``[ha]``: a leader past its lease deadline)."""

    def __init__(self) -> None:
        self.open = True
        self.asked = 0

    def __call__(self) -> None:
        self.asked += 1
        if not self.open:
            raise FencedOut("closed", epoch=1, current=None)


async def test_a_closed_permit_stops_signing_and_sending_and_journals_nothing(
    journaled: Rig,
) -> None:
    # given: a sequencer whose permit closes after one transaction went out
    gate = Gate()
    seq = Sequencer(
        signer=ADMIN,
        gateway=journaled.chain,  # type: ignore[arg-type]
        journal=journaled.journal,
        clock=journaled.clock,
        window=8,
        ttl_seconds=60,
        permit=gate,
    )
    journaled.chain.hold = True
    first = await send(seq, 1)
    journaled.chain.forget(first.tx_hash)
    journaled.chain.hold = False
    gate.open = False
    # when / then: no new transaction is signed and journaled
    with pytest.raises(FencedOut):
        await send(seq, 2)
    assert [t.tx_hash for t in await journaled.journal.transactions(KEY)] == [first.tx_hash]
    # and the forgotten one is not sent again (the next leader re-sends it)
    with pytest.raises(FencedOut):
        await seq.follow(first)
    again = await journaled.journal.get_transaction(first.tx_hash)
    assert again is not None and again.submissions == 1
    assert journaled.chain.executed("lottery_registry::advance_status") == []
    assert gate.asked >= 3


async def test_a_number_signed_again_below_a_live_one_never_hides_the_live_ones_execution(
    journaled: Rig,
) -> None:
    # given: number 0 is lost by the node while number 1, signed later, waits behind it
    journaled.chain.hold = True
    lost = await send(journaled.admin, 1)
    journaled.clock.advance(50)
    waiting = await send(journaled.admin, 2)
    journaled.chain.forget(lost.tx_hash)
    journaled.clock.advance(journaled.ttl_seconds - 50 + 31)  # 0 expired (+ grace), 1 not
    dropped = await journaled.admin.follow(lost)
    # when: 0 is signed again, and both execute
    again = await send(journaled.admin, 1)
    journaled.chain.release()
    settled = await journaled.admin.follow_many([again, waiting])
    # then: the next number is the chain's (2), not one of those executed
    assert dropped.state is TxState.DROPPED and again.sequence_number == 0
    assert [t.state for t in settled] == [TxState.COMMITTED, TxState.COMMITTED]
    assert journaled.chain.sequences[ADMIN.address] == 2
    assert await journaled.admin.next_sequence() == 2
