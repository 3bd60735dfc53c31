"""Finding 3: a sequence-number lie costs at most a short pause, never all signing until restart.

The lying endpoint adds 100 to the admin's sequence number for a few seconds. Alone, it makes the
node refuse what autobot signs (``SEQUENCE_NUMBER_TOO_NEW``); the number is read again after each
refusal — down as well as up — so signing resumes once the lie stops (it used to stay at the lied
number for ever). Beside an honest endpoint, the lie is not even believed: the lowest healthy
answer is the one used. Checked on the chain's record: the close executed, with the admin's next
real number.
"""

from __future__ import annotations

import time

import pytest
from byz_harness import Byzantine, Lie

from autobot.chain.signer import Signer
from autobot.journal.records import ActionState
from autobot.planning.recipes import AutoClose

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(block_interval_ms=50)]


def _admin(byz: Byzantine) -> str:
    return str(Signer.from_private_key_hex(byz.net.info.admin.private_key).address)


def _closes(byz: Byzantine) -> list[tuple[str, int, str]]:
    return [
        (t.sender, t.sequence_number, t.status)
        for t in byz.user_transactions()
        if t.function == "lottery_registry::advance_status"
    ]


async def test_alone_a_sequence_lie_costs_a_pause_then_signing_resumes(byz: Byzantine) -> None:
    async with byz.machine(urls=(byz.proxy.url,)) as machine:
        # given: the only endpoint adds 100 to every account's sequence number for 4 s
        byz.proxy.tell(Lie.SEQUENCE_AHEAD, by=100, for_seconds=4)
        started = time.monotonic()
        key = await machine.plan(AutoClose(lottery_id=1), "close:1:0")
        # when
        done = await machine.drive(key, until=lambda r: not r.is_open, within=25)
        # then: done at the first try after the lie ended (one transport deferral, 15 s), at
        # the admin's real next number; on the old code it stayed at 100 (test timed out)
        assert done.state is ActionState.DONE, done
        assert time.monotonic() - started < 20
        assert _closes(byz) == [(_admin(byz), 0, "Success")]
        assert byz.proxy.told.get("sequence_ahead", 0) >= 1


async def test_beside_an_honest_endpoint_a_sequence_lie_is_not_believed(byz: Byzantine) -> None:
    async with byz.machine() as machine:
        byz.proxy.tell(Lie.SEQUENCE_AHEAD, by=100)
        key = await machine.plan(AutoClose(lottery_id=1), "close:1:0")
        done = await machine.drive(key, until=lambda r: not r.is_open, within=15)
        assert done.state is ActionState.DONE, done
        assert _closes(byz) == [(_admin(byz), 0, "Success")]
        txs = await machine.journal.transactions(str(key))
        assert [t.sequence_number for t in txs if t.sender == _admin(byz)] == [0]
