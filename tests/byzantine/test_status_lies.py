"""Finding 4: autobot never forgets what the chain holds.

* A lagging indexer (status lookups answer 404 past the transaction's expiry) must not make an
  announcement "dropped" while the chain holds it in the operator's pending slot: it used to be
  announced again with a new hash, which the held slot then blocked until ``rotate_bot``.
* An announcement the journal already gave up on (an older daemon's verdict) but a bot's slot holds
  is adopted: the action carries on with that hash, it is not planned anew.
* A submit that timed out after the node took it, then a resend refused ``SEQUENCE_NUMBER_TOO_OLD``
  while status lookups answer 404: "ours may have executed" — never dropped, never signed again
  with new bytes (it used to be, and the call ran twice).

The lying endpoint is the only one here, so nothing contradicts its 404s; every property is
checked on the honest chain's record.
"""

from __future__ import annotations

import sqlite3

import pytest
from byz_harness import Byzantine, Lie

from autobot.chain.signer import Signer
from autobot.chain.timeguard import ClockPolicy
from autobot.journal.records import ActionRecord, ActionState, TxPurpose, TxState
from autobot.planning.recipes import AutoClose, Cancel

pytestmark = [pytest.mark.timeout(90), pytest.mark.localnet(block_interval_ms=50)]

_ANNOUNCED = "history::AutomationDryRunPlannedEvent"
_JUMPS = {"clock": ClockPolicy(tolerance_seconds=10**6)}
"""The test moves chain time past a timelock at once; with the lying endpoint alone, autobot's
clock would (rightly) not follow a jump nobody else confirms: ``test_clock_lies.py``."""


def _operator_a(byz: Byzantine) -> str:
    return str(Signer.from_private_key_hex(byz.net.info.operators[0].private_key).address)


async def _past_the_timelock(byz: Byzantine, record: ActionRecord) -> None:
    assert record.execute_at is not None
    await byz.advance(max(1, record.execute_at - await byz.now() + 1))


async def test_a_lagging_indexer_does_not_make_an_announcement_forgotten(byz: Byzantine) -> None:
    async with byz.machine(
        urls=(byz.proxy.url,),
        ttl_seconds=3,
        expiry_grace_seconds=1.0,
        confirm_seconds=0.5,
        gateway_options=_JUMPS,
    ) as machine:
        # given: cancelling lottery 5 goes through A (timelock 900); every status lookup of the
        # next 10 s answers 404, well past the announcement's expiry (3 s + 1 s)
        byz.proxy.tell(Lie.HIDDEN_STATUS, for_seconds=10)
        key = await machine.plan(Cancel(lottery_id=5, reason=3), "cancel:5:3")
        # when
        record = await machine.drive(key, until=lambda r: r.state is ActionState.WAITING, within=30)
        # then: the announcement is waiting out its timelock, not announced again
        assert record.state is ActionState.WAITING, record
        await _past_the_timelock(byz, record)
        done = await machine.drive(key, until=lambda r: not r.is_open, within=20)
        assert done.state is ActionState.DONE, done
    announced = await byz.events(_ANNOUNCED)
    assert [e.data["action_hash"] for e in announced] == ["0x" + done.action_hash.hex()]  # type: ignore[union-attr]
    cancels = [t for t in byz.user_transactions() if t.function.endswith("cancel_lottery_admin")]
    assert [t.status for t in cancels] == ["Success"]
    bot = await byz.chain.get_bot(_operator_a(byz))
    assert bot is not None and not bot.has_pending and bot.failure_count == 0


async def test_an_announcement_the_journal_gave_up_on_is_adopted(byz: Byzantine) -> None:
    async with byz.machine(urls=(byz.proxy.url,), gateway_options=_JUMPS) as machine:
        # given: A's announcement is on chain, in A's pending slot ...
        key = await machine.plan(Cancel(lottery_id=5, reason=3), "cancel:5:3")
        waiting = await machine.drive(
            key, until=lambda r: r.state is ActionState.WAITING, within=20
        )
        assert waiting.action_hash is not None
        # ... and the journal holds the old verdict: the announcement dropped, the action
        # planned anew (what a daemon that believed a lagging indexer wrote)
        with sqlite3.connect(machine.journal.path) as db:
            db.execute(
                "UPDATE transactions SET state = 'dropped' WHERE action_key = ?", (str(key),)
            )
            db.execute(
                "UPDATE actions SET state = 'planned', operator = NULL, timelock_secs = NULL,"
                " execute_at = NULL, action_hash = NULL, calls = NULL, next_check_at = NULL"
                " WHERE key = ?",
                (str(key),),
            )
        # when
        adopted = await machine.drive(
            key, until=lambda r: r.state is ActionState.WAITING, within=20
        )
        # then: carried on with the hash on chain, and finished with it
        assert adopted.action_hash == waiting.action_hash
        assert adopted.execute_at == waiting.execute_at
        await _past_the_timelock(byz, adopted)
        done = await machine.drive(key, until=lambda r: not r.is_open, within=20)
        assert done.state is ActionState.DONE, done
        txs = await machine.journal.transactions(str(key))
        assert [t.state for t in txs if t.purpose is TxPurpose.ANNOUNCE] == [TxState.COMMITTED]
    announced = await byz.events(_ANNOUNCED)
    assert len(announced) == 1
    bot = await byz.chain.get_bot(_operator_a(byz))
    assert bot is not None and not bot.has_pending and bot.last_action_hash == done.action_hash


async def test_a_too_old_refusal_after_a_lost_answer_never_signs_the_call_again(
    byz: Byzantine,
) -> None:
    async with byz.machine(urls=(byz.proxy.url,), confirm_seconds=0.5) as machine:
        # given: the node takes the close but its answer never comes (the client times out),
        # and status lookups answer 404 for a while; the resend is refused as too old
        byz.proxy.tell(Lie.SWALLOWED_SUBMIT, answers=1, hold=5.0)
        byz.proxy.tell(Lie.HIDDEN_STATUS, for_seconds=8)
        key = await machine.plan(AutoClose(lottery_id=1), "close:1:0")
        # when
        done = await machine.drive(key, until=lambda r: not r.is_open, within=40)
        # then: the close ran once, journaled as it ran
        closes = [
            t for t in byz.user_transactions() if t.function == "lottery_registry::advance_status"
        ]
        assert [t.status for t in closes] == ["Success"], closes
        assert done.state is ActionState.DONE, done
        txs = await machine.journal.transactions(str(key))
        assert [t.state for t in txs if t.purpose is TxPurpose.EXECUTE] == [TxState.COMMITTED]
        assert byz.proxy.told.get("swallowed_submit") == 1
