"""The leader lease loop (``autobot.ha.LeaderLease``) on a real PostgreSQL journal: who takes
over, when a leader must stop signing, and what a restarted or paused process may not do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import structlog

from autobot.clock import Clock, FakeClock, SystemClock
from autobot.errors import FencedOut
from autobot.ha import LeaderLease, Role, leased
from autobot.journal.dsn import Dsn
from autobot.journal.postgres import PostgresJournal
from autobot.journal.protocol import Lease
from autobot.journal.records import NewIncident
from autobot.journal.store import SqliteJournal
from autobot.metrics import DaemonMetrics, make_registry

LEASE = 1.0
RENEW = 0.2


@dataclass
class Instance:
    """One instance's journal and lease loop, and what its callbacks saw."""

    name: str
    journal: PostgresJournal
    lease: LeaderLease
    metrics: DaemonMetrics
    takeovers: list[Lease] = field(default_factory=list)
    lost: list[FencedOut] = field(default_factory=list)

    def gauge(self, name: str) -> float:
        value = self.metrics.registry.get_sample_value(name)
        assert value is not None, name
        return value


Make = Callable[..., Awaitable[Instance]]


@pytest.fixture
async def make(pg_database: Dsn) -> AsyncIterator[Make]:
    made: list[Instance] = []

    async def instance(
        name: str,
        *,
        clock: Clock | None = None,
        on_takeover: Callable[[Lease], Awaitable[None]] | None = None,
        start: bool = True,
    ) -> Instance:
        journal = await PostgresJournal.open(pg_database, clock=SystemClock())
        journal.require_fence()
        metrics = DaemonMetrics(make_registry(process_collectors=False))
        holder: list[Instance] = []

        async def took(lease: Lease) -> None:
            holder[0].takeovers.append(lease)
            if on_takeover is not None:
                await on_takeover(lease)

        lease = LeaderLease(
            journal=journal,
            instance_id=name,
            lease_seconds=LEASE,
            renew_seconds=RENEW,
            clock=clock or SystemClock(),
            metrics=metrics,
            on_takeover=took,
            on_lost=lambda exc: holder[0].lost.append(exc),
        )
        made.append(Instance(name=name, journal=journal, lease=lease, metrics=metrics))
        holder.append(made[-1])
        if start:
            lease.start()
        return made[-1]

    yield instance
    for one in made:
        await one.lease.stop()
        await one.journal.close()


async def until(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


def incident(text: str) -> NewIncident:
    return NewIncident(type="t", description=text, responsible="r")  # type: ignore[arg-type]


async def test_the_first_instance_takes_the_lease_fences_its_journal_and_leads(make: Make) -> None:
    # when
    a = await make("a")
    await until(lambda: a.lease.role is Role.LEADER)
    # then: a new epoch, the journal's writes bound to it, the takeover run once
    assert [t.epoch for t in a.takeovers] == [1] and a.journal.fenced_epoch == 1
    assert a.lease.leading and a.lease.may_act()
    a.lease.permit()  # a leader may sign
    await a.journal.add_incident(incident("written by the leader"))
    assert a.gauge("autobot_ha_leader") == 1
    assert a.gauge("autobot_ha_epoch") == 1
    assert a.gauge("autobot_ha_takeovers_total") == 1
    assert 0 <= a.gauge("autobot_ha_lease_age_seconds") < LEASE


async def test_a_standby_writes_and_signs_nothing_and_takes_over_when_the_lease_expires(
    make: Make,
) -> None:
    # given: a leads; b stands by
    a = await make("a")
    await until(lambda: a.lease.role is Role.LEADER)
    b = await make("b")
    await asyncio.sleep(3 * RENEW)
    assert b.lease.role is Role.STANDBY and b.takeovers == []
    assert b.gauge("autobot_ha_leader") == 0 and b.gauge("autobot_ha_epoch") == 1
    with pytest.raises(FencedOut, match="standby"):
        b.lease.permit()
    with pytest.raises(FencedOut):
        await b.journal.add_incident(incident("a standby's"))
    # when: a stops renewing without releasing (killed)
    await a.lease.stop()
    # then: b takes over after the lease, with the next epoch
    await until(lambda: b.lease.role is Role.LEADER, within=LEASE + 5)
    assert [t.epoch for t in b.takeovers] == [2] and b.journal.fenced_epoch == 2
    await b.journal.add_incident(incident("the new leader's"))
    # and a's journal, still fenced to epoch 1, is refused
    with pytest.raises(FencedOut, match="epoch 1"):
        await a.journal.add_incident(incident("the deposed leader's"))


async def test_a_released_lease_is_taken_at_once(make: Make) -> None:
    # given
    a = await make("a")
    await until(lambda: a.lease.role is Role.LEADER)
    b = await make("b")
    await asyncio.sleep(2 * RENEW)
    # when: a clean stop
    await a.lease.stop()
    await a.lease.release()
    started = asyncio.get_running_loop().time()
    # then: b leads well before the lease would have expired by itself
    await until(lambda: b.lease.role is Role.LEADER)
    assert asyncio.get_running_loop().time() - started < LEASE
    assert a.lease.role is Role.DEPOSED and not a.lease.may_act()
    assert a.gauge("autobot_ha_leader") == 0


async def test_a_leader_frozen_past_its_deadline_signs_nothing_before_its_loop_notices(
    make: Make,
) -> None:
    # given: a leader whose clock stands still (the loop is what moves it on here)
    clock = FakeClock()
    a = await make("a", clock=clock)
    await until(lambda: a.lease.role is Role.LEADER)
    a.lease.permit()
    # when: frozen (its loop stopped: nothing runs) and then resumed lease_seconds / 2 later
    await a.lease.stop()
    clock.advance(LEASE / 2)
    # then: no signature, no submission
    assert not a.lease.may_act() and not a.lease.leading
    with pytest.raises(FencedOut, match=r"no lease renewal for 0\.5 s"):
        a.lease.permit()


async def test_a_leader_whose_renewals_fail_stops_at_its_deadline(
    make: Make, pg_database: Dsn
) -> None:
    # given: a leader
    a = await make("a")
    await until(lambda: a.lease.role is Role.LEADER)
    # when: the lease row stays locked (a database that does not answer)
    with psycopg.connect(pg_database.reveal()) as blocker:
        blocker.execute("SELECT 1 FROM leader_lease FOR UPDATE")
        with structlog.testing.capture_logs() as logs:
            await until(lambda: bool(a.lost), within=LEASE + 3)
        blocker.rollback()
    # then: it gave up, saying why, and may not act any more
    assert a.lease.role is Role.DEPOSED and not a.lease.may_act()
    assert "no lease renewal" in str(a.lost[0]) and a.lost[0].epoch == 1
    assert any(e["event"] == "ha_renewal_failed" for e in logs)
    assert a.gauge("autobot_ha_leader") == 0


async def test_a_leader_that_finds_the_lease_taken_stops(make: Make, pg_database: Dsn) -> None:
    # given: a leads, b stands by
    a = await make("a")
    await until(lambda: a.lease.role is Role.LEADER)
    b = await make("b")
    await asyncio.sleep(2 * RENEW)
    # when: a's lease ends early in the database (its host's renewals were late), b takes it
    with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
        conn.execute("UPDATE leader_lease SET expires_at = clock_timestamp()")
    # then
    await until(lambda: bool(a.lost) and b.lease.role is Role.LEADER)
    assert a.lost[0].current == 2 and "'b'" in str(a.lost[0])


async def test_a_restarted_instance_waits_out_its_predecessors_lease_and_starts_a_new_epoch(
    make: Make,
) -> None:
    # given: a leads, then is killed (no release): its lease is still live
    a = await make("a")
    await until(lambda: a.lease.role is Role.LEADER)
    await a.lease.stop()
    # when: a starts again under the same instance id
    with structlog.testing.capture_logs() as logs:
        again = await make("a")
        await asyncio.sleep(2 * RENEW)
        # then: it does not adopt the live lease
        assert again.lease.role is Role.STANDBY and again.takeovers == []
        await until(lambda: again.lease.role is Role.LEADER, within=LEASE + 5)
    assert [t.epoch for t in again.takeovers] == [2]
    assert any(e["event"] == "ha_waiting_for_own_lease" for e in logs)


async def test_a_takeover_that_fails_gives_the_lease_up(make: Make) -> None:
    # given: recovery that cannot finish (the database went away meanwhile)
    async def failing(lease: Lease) -> None:
        raise FencedOut("recovery refused", epoch=lease.epoch, current=lease.epoch + 1)

    # when
    a = await make("a", on_takeover=failing)
    await until(lambda: bool(a.lost))
    # then: it never led
    assert a.lease.role is Role.DEPOSED and "taking over failed" in str(a.lost[0])


async def test_only_a_journal_with_a_lease_can_lead(tmp_path: Path) -> None:
    journal = await SqliteJournal.open(tmp_path / "j.sqlite3", clock=FakeClock())
    try:
        with pytest.raises(TypeError, match="needs PostgreSQL"):
            leased(journal)
    finally:
        await journal.close()


def test_renewing_less_often_than_twice_a_lease_is_refused() -> None:
    with pytest.raises(ValueError, match="renew_seconds"):
        LeaderLease(
            journal=None,  # type: ignore[arg-type]
            instance_id="a",
            lease_seconds=10,
            renew_seconds=6,
            clock=FakeClock(),
            metrics=DaemonMetrics(make_registry(process_collectors=False)),
            on_takeover=lambda lease: asyncio.sleep(0),
            on_lost=lambda exc: None,
        )
