"""The journal orders nothing by the host clock: a wall clock stepped ±100 s changes no order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_journal_store import new_action, new_tx

from autobot.clock import FakeClock
from autobot.journal.records import ActionState, IncidentType, NewIncident, TxSettlement, TxState
from autobot.journal.store import SqliteJournal


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(wall=1_700_000_000.0)


@pytest.fixture
async def journal(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqliteJournal]:
    j = await SqliteJournal.open(tmp_path / "journal.sqlite3", clock=clock)
    yield j
    await j.close()


@pytest.mark.parametrize("step", [-100.0, 100.0])
async def test_an_actions_transactions_come_back_in_the_order_they_were_journaled(
    journal: SqliteJournal, clock: FakeClock, step: float
) -> None:
    # given: a transaction that was dropped, then (after the clock stepped) its replacement
    await journal.add_action(new_action(), chain_now=100)
    await journal.add_transaction(new_tx(0), expect={ActionState.PLANNED}, chain_now=100)
    await journal.settle_transaction(TxSettlement(tx_hash=new_tx(0).tx_hash, state=TxState.DROPPED))
    clock.set_wall(clock.wall() + step)
    await journal.add_transaction(
        new_tx(0, tx_hash="0x" + "b" * 64), expect={ActionState.PLANNED}, chain_now=101
    )
    # when
    txs = await journal.transactions("close:1:0")
    # then: the newest is last, whatever the wall clock said
    assert [(t.tx_hash[:3], t.state) for t in txs] == [
        ("0x0", TxState.DROPPED),
        ("0xb", TxState.SIGNED),
    ]


@pytest.mark.parametrize("step", [-100.0, 100.0])
async def test_actions_and_incidents_order_by_chain_time_and_journal_sequence(
    journal: SqliteJournal, clock: FakeClock, step: float
) -> None:
    # given: an older action and incident, then the clock steps, then newer ones
    await journal.add_action(new_action("close:1:0"), chain_now=100)
    await journal.add_incident(
        NewIncident(type=IncidentType.INCIDENT, description="first", responsible="test")
    )
    clock.set_wall(clock.wall() + step)
    await journal.add_action(new_action("close:2:0"), chain_now=160)
    await journal.add_incident(
        NewIncident(type=IncidentType.INCIDENT, description="second", responsible="test")
    )
    await journal.update_action(
        "close:2:0", expect={ActionState.PLANNED}, chain_now=170, next_check_at=200
    )
    # then
    assert [a.key for a in await journal.open_actions()] == ["close:1:0", "close:2:0"]
    assert [a.key for a in await journal.list_actions()] == ["close:2:0", "close:1:0"]
    assert [i.description for i in await journal.incidents()] == ["second", "first"]
