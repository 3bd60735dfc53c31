"""The PostgreSQL journal's own behaviour: its schema and migrations, its errors, a lost
connection, and the leader lease with fencing (two journal instances on one database)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from autobot.clock import FakeClock
from autobot.errors import FencedOut, JournalError
from autobot.journal.dsn import Dsn
from autobot.journal.pgserver import PgServer
from autobot.journal.postgres import PostgresJournal
from autobot.journal.records import (
    ActionState,
    NewAction,
    NewIncident,
    NewTransaction,
    RequestKind,
    TxPurpose,
)
from autobot.journal.schema import SCHEMA_VERSION, migration_statements, tables
from autobot.journal.store import SqliteJournal

KEY = "close:1:0"
SENDER = "0x" + "a" * 64


def new_tx(seq: int) -> NewTransaction:
    return NewTransaction(
        tx_hash=f"0x{seq:064x}",
        action_key=KEY,
        action_hash=b"\xab" * 32,
        purpose=TxPurpose.EXECUTE,
        call_index=0,
        call="{}",
        sender=SENDER,
        sequence_number=seq,
        expires_at=1_700_000_060,
        raw=b"\x01",
    )


PLANNED = NewAction(
    key=KEY, kind="close", subject_id=1, action_id=1, recipe="{}", reason="r", due_at=1
)


def query(dsn: Dsn, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn.reveal(), autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return list(cursor.fetchall()) if cursor.description else []


@pytest.fixture
async def pair(pg_database: Dsn) -> AsyncIterator[tuple[PostgresJournal, PostgresJournal]]:
    """Two instances' journals on one database (two daemons on two hosts)."""
    clock = FakeClock(wall=1_700_000_000.0)
    async with (
        await PostgresJournal.open(pg_database, clock=clock) as a,
        await PostgresJournal.open(pg_database, clock=clock) as b,
    ):
        yield a, b


# --- schema -----------------------------------------------------------------------------------


async def test_a_new_database_gets_every_table_column_and_index_sqlite_has(
    pg_database: Dsn, tmp_path: Path
) -> None:
    # given: the same journal on both back ends
    await (await PostgresJournal.open(pg_database, clock=FakeClock())).close()
    path = tmp_path / "journal.sqlite3"
    await (await SqliteJournal.open(path, clock=FakeClock())).close()
    # then: every SQLite column is there, as nullable or not
    with sqlite3.connect(path) as db:
        for table in tables("sqlite"):
            lite = {
                (r[1], bool(r[3]) or bool(r[5]))
                for r in db.execute(f"PRAGMA table_info({table.name})")
            }
            pg = {
                (name, nullable == "NO")
                for name, nullable in query(
                    pg_database,
                    "SELECT column_name, is_nullable FROM information_schema.columns"
                    " WHERE table_name = %s",
                    (table.name,),
                )
                if name != "rowid"
            }
            assert pg == lite, table.name
        lite_indexes = {
            (r[1], bool(r[2]), bool(r[4]))
            for t in tables("sqlite")
            for r in db.execute(f"PRAGMA index_list({t.name})")
            if not r[1].startswith("sqlite_autoindex")
        }
    pg_indexes = {
        (name, "UNIQUE" in ddl, " WHERE " in ddl)
        for name, ddl in query(pg_database, "SELECT indexname, indexdef FROM pg_indexes")
        if not str(name).endswith("_pkey")
    }
    assert lite_indexes <= pg_indexes
    assert query(pg_database, "SELECT MAX(version) FROM autobot_schema_version") == [
        (SCHEMA_VERSION,)
    ]


async def test_instances_starting_together_migrate_once(pg_database: Dsn) -> None:
    # when: three instances open a fresh database at the same moment
    journals = await asyncio.gather(
        *(PostgresJournal.open(pg_database, clock=FakeClock()) for _ in range(3))
    )
    for journal in journals:
        await journal.close()
    # then
    assert query(pg_database, "SELECT version FROM autobot_schema_version ORDER BY version") == [
        (v,) for v in range(1, SCHEMA_VERSION + 1)
    ]


async def test_a_database_at_schema_version_3_migrates_to_take_unpause_requests(
    pg_database: Dsn,
) -> None:
    # given: a database at schema 3 holding a request, which refuses kind unpause
    with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE autobot_schema_version (version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())"
        )
        for version in (1, 2, 3):
            for statement in migration_statements(version, "postgres"):
                conn.execute(statement.encode())  # bytes: run as is (no parameters)
            conn.execute("INSERT INTO autobot_schema_version (version) VALUES (%s)", (version,))
        conn.execute(
            "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
            " VALUES ('cancel', '3', 'op', 1)"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
                " VALUES ('unpause', '0', 'op', 1)"
            )
    # when the current autobot opens it and an operator asks to resume VRF requests
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        added = await journal.add_request(RequestKind.UNPAUSE, "0", requested_by="op")
        pending = await journal.pending_requests()
    # then the old request is kept and the new one is taken
    assert [(r.kind, r.subject) for r in pending] == [
        (RequestKind.CANCEL, "3"),
        (RequestKind.UNPAUSE, "0"),
    ]
    assert added.kind is RequestKind.UNPAUSE


async def test_a_database_at_schema_version_6_migrates_to_retention_and_counts_its_actions(
    pg_database: Dsn, tmp_path: Path
) -> None:
    # given: a database at schema 6 holding actions in three states
    with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE autobot_schema_version (version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())"
        )
        for version in range(1, 7):
            for statement in migration_statements(version, "postgres"):
                conn.execute(statement.encode())  # bytes: run as is (no parameters)
            conn.execute("INSERT INTO autobot_schema_version (version) VALUES (%s)", (version,))
        for n, state in enumerate(("done", "done", "parked", "planned")):
            conn.execute(
                "INSERT INTO actions (key, kind, subject_id, action_id, recipe, reason, due_at,"
                " state, created_wall, updated_wall, created_chain, updated_chain)"
                " VALUES (%s, 'close', %s, NULL, '{}', 'r', 1, %s, 1, 1, 1, 1)",
                (f"close:{n}:0", n, state),
            )
    # when: the current autobot opens it, and its triggers see a change and a prune
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        seeded = await journal.action_counts()
        await journal.update_action(
            "close:3:0", expect={ActionState.PLANNED}, chain_now=2, state=ActionState.DONE
        )
        pruned = await journal.prune(chain_before=10, wall_before=0, export=tmp_path / "x.jsonl")
        after = await journal.action_counts()
    # then: the counts were seeded from the rows, and followed the update and the deletes
    assert (seeded[ActionState.DONE], seeded[ActionState.PARKED], seeded[ActionState.PLANNED]) == (
        2, 1, 1,
    )  # fmt: skip
    assert pruned.actions == 3
    assert (after[ActionState.DONE], after[ActionState.PARKED], after[ActionState.PLANNED]) == (
        0, 1, 0,
    )  # fmt: skip
    names = {
        r[0] for r in query(pg_database, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    }
    assert names == {"action_counts_insert", "action_counts_update", "action_counts_delete"}


async def test_a_database_at_schema_version_1_migrates_to_one_spelling_of_each_kind(
    pg_database: Dsn,
) -> None:
    # given: a database at schema 1 holding recipes of the old types and a clear-clamp request
    with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE autobot_schema_version (version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())"
        )
        for statement in migration_statements(1, "postgres"):
            conn.execute(statement.encode())  # bytes: run as is (no parameters)
        conn.execute("INSERT INTO autobot_schema_version (version) VALUES (1)")
        for key, recipe in (
            ("close:1:0", '{"lottery_id":1,"type":"auto_close"}'),
            ("clamp:2:7", '{"asset_id":2,"type":"clear_clamp"}'),
            ("cancel:3:2", '{"lottery_id":3,"reason":2,"type":"cancel"}'),
        ):
            conn.execute(
                "INSERT INTO actions (key, kind, subject_id, action_id, recipe, reason, due_at,"
                " state, created_wall, updated_wall, created_chain, updated_chain)"
                " VALUES (%s, %s, 1, NULL, %s, 'r', 1, 'planned', 1, 1, 1, 1)",
                (key, key.split(":")[0], recipe),
            )
        conn.execute(
            "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
            " VALUES ('clear-clamp', '2', 'op', 1)"
        )
    # when
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        actions = {a.key: a for a in await journal.list_actions()}
        pending = await journal.pending_requests()
    # then: recipes are typed by their kind, the request is a clamp request
    assert {k: json.loads(a.recipe)["type"] for k, a in actions.items()} == {
        "close:1:0": "close",
        "clamp:2:7": "clamp",
        "cancel:3:2": "cancel",
    }
    assert json.loads(actions["close:1:0"].recipe)["lottery_id"] == 1
    assert [(r.kind, r.subject) for r in pending] == [(RequestKind.CLAMP, "2")]
    with pytest.raises(psycopg.errors.CheckViolation):
        query(
            pg_database,
            "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
            " VALUES ('clear-clamp', '2', 'op', 1)",
        )
    assert query(pg_database, "SELECT MAX(version) FROM autobot_schema_version") == [
        (SCHEMA_VERSION,)
    ]


async def test_a_journal_from_a_newer_autobot_is_refused(pg_database: Dsn) -> None:
    # given
    await (await PostgresJournal.open(pg_database, clock=FakeClock())).close()
    query(pg_database, "INSERT INTO autobot_schema_version (version) VALUES (%s)", (99,))
    # when / then
    with pytest.raises(JournalError, match="schema version 99, newer than this autobot"):
        await PostgresJournal.open(pg_database, clock=FakeClock())


async def test_the_cli_never_creates_a_journal(pg_database: Dsn) -> None:
    # when / then
    with pytest.raises(JournalError, match="holds no autobot journal"):
        await PostgresJournal.open(pg_database, clock=FakeClock(), create=False)
    assert query(pg_database, "SELECT to_regclass('actions') IS NULL") == [(True,)]


# --- errors -----------------------------------------------------------------------------------


async def test_an_unreachable_server_is_reported_without_the_password(tmp_path: Path) -> None:
    # given: a DSN whose password must never show
    dsn = Dsn(f"host={tmp_path} port=5999 user=autobot password=hunter2-very-secret dbname=j")
    # when
    with pytest.raises(JournalError) as caught:
        await PostgresJournal.open(dsn, clock=FakeClock())
    # then
    text = str(caught.value)
    assert "cannot reach PostgreSQL" in text and "pg_isready" in text
    assert f"postgresql://autobot@[{tmp_path}]:5999/j" in text
    assert "hunter2" not in text and "hunter2" not in repr(dsn)


async def test_a_connection_lost_while_idle_is_replaced_without_failing_the_call(
    pg_server: PgServer, pg_database: Dsn
) -> None:
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        await journal.add_action(PLANNED, chain_now=1)
        assert await journal.get_action(KEY) is not None
        # given: the server ends the journal's sessions while they are idle (an operator, a
        # server restart)
        assert pg_server.terminate_sessions(pg_database) >= 2
        # when: a read, then a write (nothing of either reached the server on the lost ones)
        read = await journal.get_action(KEY)
        record = await journal.update_action(
            KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=1
        )
        # then
        assert read is not None and read.attempts == 0
        assert record.attempts == 1 and (await journal.get_action(KEY)) == record


def journal_sessions_waiting_on_a_lock(dsn: Dsn) -> int:
    rows = query(
        dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'autobot'"
        " AND wait_event_type = 'Lock'",
    )
    return int(str(rows[0][0]))


async def test_a_connection_lost_in_the_middle_of_a_write_fails_it_and_the_next_call_reconnects(
    pg_database: Dsn,
) -> None:
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        await journal.add_action(PLANNED, chain_now=1)
        # given: a write under way (held up by another session's row lock)
        with psycopg.connect(pg_database.reveal()) as locker:
            locker.execute("SELECT 1 FROM actions WHERE key = %s FOR UPDATE", (KEY,))
            write = asyncio.create_task(
                journal.update_action(KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=1)
            )
            for _ in range(200):
                if journal_sessions_waiting_on_a_lock(pg_database):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the write never waited on the lock")
            # when: the server ends the journal's sessions
            query(
                pg_database,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'autobot'",
            )
            # then: that write fails, saying what happened (whether it landed is unknown to it)
            with pytest.raises(JournalError, match="connection to PostgreSQL was lost"):
                await write
            locker.rollback()
        # it did not land here, and the next calls have fresh connections
        found = await journal.get_action(KEY)
        assert found is not None and found.attempts == 0
        record = await journal.update_action(
            KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=2
        )
        assert record.attempts == 2


async def test_a_read_only_database_fails_the_write_check(pg_database: Dsn) -> None:
    # given: a database that takes no writes (as a hot standby would)
    await (await PostgresJournal.open(pg_database, clock=FakeClock())).close()
    name = conninfo_to_dict(pg_database.reveal())["dbname"]
    query(pg_database, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        # when / then
        with pytest.raises(JournalError, match=r"25006.*read-only.*primary"):
            await journal.check_writable()


async def test_a_writable_database_passes_the_write_check_without_a_trace(
    pg_database: Dsn,
) -> None:
    async with await PostgresJournal.open(pg_database, clock=FakeClock()) as journal:
        await journal.add_action(PLANNED, chain_now=1)
        await journal.check_writable()
        assert [a.key for a in await journal.open_actions()] == [KEY]


# --- the leader lease and fencing ---------------------------------------------------------------


async def test_the_first_instance_takes_the_lease_at_epoch_1_and_renewing_keeps_it(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    # when
    first = await a.acquire_or_renew("host-a", 10)
    renewed = await a.acquire_or_renew("host-a", 10)
    other = await b.acquire_or_renew("host-b", 10)
    # then
    assert (first.epoch, first.holder, first.acquired, first.took_over) == (1, "host-a", True, True)
    assert (renewed.epoch, renewed.acquired, renewed.took_over) == (1, True, False)
    assert renewed.expires_at is not None and first.expires_at is not None
    assert renewed.expires_at >= first.expires_at and 9 < renewed.remaining_seconds <= 10
    assert (other.epoch, other.holder, other.acquired) == (1, "host-a", False)
    assert other.live and (await b.lease()).holder == "host-a"


async def test_an_expired_lease_is_taken_over_with_the_next_epoch(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    # given: A's lease runs out (it stopped renewing)
    await a.acquire_or_renew("host-a", 0.2)
    await asyncio.sleep(0.3)
    # when
    taken = await b.acquire_or_renew("host-b", 10)
    late = await a.acquire_or_renew("host-a", 10)
    # then
    assert (taken.epoch, taken.holder, taken.acquired, taken.took_over) == (2, "host-b", True, True)
    assert (late.epoch, late.holder, late.acquired) == (2, "host-b", False)


async def test_a_deposed_leader_cannot_write_and_changes_nothing(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    # given: A led at epoch 1 and journaled an action; then B took over (A paused past its lease)
    a.fence((await a.acquire_or_renew("host-a", 0.2)).epoch)
    await a.add_action(PLANNED, chain_now=1)
    await asyncio.sleep(0.3)
    b.fence((await b.acquire_or_renew("host-b", 10)).epoch)
    # when / then: every write of A is refused
    with pytest.raises(FencedOut, match=r"epoch 1\) is gone.*epoch 2 held by 'host-b'") as caught:
        await a.add_transaction(
            new_tx(7), expect={ActionState.PLANNED}, chain_now=2, state=ActionState.EXECUTING
        )
    assert (caught.value.epoch, caught.value.current) == (1, 2)
    with pytest.raises(FencedOut):
        await a.update_action(KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=1)
    with pytest.raises(FencedOut):
        await a.add_incident(NewIncident(type="t", description="late", responsible="a"))
    with pytest.raises(FencedOut):
        await a.mark_terminal(1, status=6, chain_now=2)
    # and nothing changed
    action = await b.get_action(KEY)
    assert action is not None and (action.state, action.attempts) == (ActionState.PLANNED, 0)
    assert await b.get_transaction(new_tx(7).tx_hash) is None
    assert await b.incidents() == [] and await b.terminal_lotteries() == frozenset()
    # while the new leader writes, stamping its epoch on what it signs
    tx = await b.add_transaction(
        new_tx(7), expect={ActionState.PLANNED}, chain_now=3, state=ActionState.EXECUTING
    )
    assert tx.epoch == 2
    # and operators' requests do not depend on who leads
    assert (await a.add_request(RequestKind.REFUND, "1", requested_by="op")).id == 1


async def test_a_leader_whose_lease_expired_cannot_write_even_if_nobody_took_over(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, _ = pair
    a.fence((await a.acquire_or_renew("host-a", 0.2)).epoch)
    await a.add_action(PLANNED, chain_now=1)
    await asyncio.sleep(0.3)
    # when / then
    with pytest.raises(FencedOut, match=r"expired"):
        await a.update_action(KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=1)
    # renewing an expired lease is a takeover: a new epoch, so the old binding stays refused
    again = await a.acquire_or_renew("host-a", 10)
    assert (again.epoch, again.took_over) == (2, True)
    with pytest.raises(FencedOut):
        await a.update_action(KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=1)


async def test_a_takeover_waits_for_the_write_in_progress(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    a.fence((await a.acquire_or_renew("host-a", 0.5)).epoch)
    await a.add_action(PLANNED, chain_now=1)
    # given: a slow write of A that began while A led (its transaction held open and busy:
    # reaching in)
    async with a._write("a slow write") as db:
        await db.execute("UPDATE actions SET attempts = 5 WHERE key = ?", (KEY,))
        for _ in range(6):  # A's lease runs out while the write is still at work
            await db.execute("SELECT pg_sleep(0.1)")
        takeover = asyncio.create_task(b.acquire_or_renew("host-b", 10))
        for _ in range(3):
            await db.execute("SELECT pg_sleep(0.1)")
        # then: B cannot take over before A's write ends
        assert not takeover.done()
    lease = await takeover
    assert (lease.epoch, lease.holder) == (2, "host-b")
    record = await b.get_action(KEY)
    assert record is not None and record.attempts == 5  # the write that began in time landed
    with pytest.raises(FencedOut):  # and none of A's after it
        await a.update_action(KEY, expect={ActionState.PLANNED}, chain_now=2, attempts=6)


async def test_a_deposed_leaders_retention_is_refused_and_exports_nothing(
    pair: tuple[PostgresJournal, PostgresJournal], tmp_path: Path
) -> None:
    # given: A led at epoch 1 and journaled an action that finished long ago; then B took over
    a, b = pair
    a.fence((await a.acquire_or_renew("host-a", 0.2)).epoch)
    await a.add_action(PLANNED, chain_now=1)
    await a.update_action(KEY, expect={ActionState.PLANNED}, chain_now=1, state=ActionState.DONE)
    await asyncio.sleep(0.3)
    b.fence((await b.acquire_or_renew("host-b", 10)).epoch)
    export = tmp_path / "pruned.jsonl"
    # when / then: A's prune is refused before anything is exported or deleted
    with pytest.raises(FencedOut):
        await a.prune(chain_before=10**9, wall_before=2e9, export=export)
    assert not export.exists()
    assert await b.get_action(KEY) is not None
    # while the leader prunes it (and its counts follow, through the PL/pgSQL triggers)
    pruned = await b.prune(chain_before=10**9, wall_before=2e9, export=export)
    assert pruned.actions == 1 and await b.get_action(KEY) is None
    assert (await b.action_counts())[ActionState.DONE] == 0
    await a.vacuum()  # nothing on PostgreSQL, fenced or not: it writes nothing


async def test_a_standby_never_fenced_cannot_prune(
    pair: tuple[PostgresJournal, PostgresJournal], tmp_path: Path
) -> None:
    a, _ = pair
    a.require_fence()
    with pytest.raises(FencedOut, match="does not lead"):
        await a.prune(chain_before=10**9, wall_before=2e9, export=tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


async def test_a_released_lease_is_taken_at_once_and_fences_the_old_leader(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    a.fence((await a.acquire_or_renew("host-a", 30)).epoch)
    # when
    released = await a.release("host-a")
    taken = await b.acquire_or_renew("host-b", 30)
    # then
    assert released and not await b.release("host-a")
    assert (taken.epoch, taken.holder, taken.took_over) == (2, "host-b", True)
    with pytest.raises(FencedOut):
        await a.add_action(PLANNED, chain_now=1)


async def test_a_standby_that_requires_a_fence_writes_nothing_until_it_leads(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    b.require_fence()
    # when / then: a standby's writes are refused, its reads and operators' requests are not
    with pytest.raises(FencedOut, match="does not lead"):
        await b.add_action(PLANNED, chain_now=1)
    assert await b.open_actions() == []
    assert (await b.add_request(RequestKind.REFUND, "1", requested_by="op")).id == 1
    # and once it leads, it writes
    b.fence((await b.acquire_or_renew("host-b", 10)).epoch)
    record, created = await b.add_action(PLANNED, chain_now=1)
    assert created and record.key == KEY
    assert await a.get_action(KEY) == record


def test_a_fencing_epoch_is_positive() -> None:
    journal = PostgresJournal.__new__(PostgresJournal)
    with pytest.raises(ValueError, match="at least 1"):
        journal.fence(0)


async def test_a_writer_frozen_in_a_fenced_write_holds_a_takeover_up_for_half_a_lease_at_most(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    lease = await a.acquire_or_renew("a", 1.0)
    a.fence(lease.epoch)
    await a.add_action(PLANNED, chain_now=1)

    # given: a write of the leader's that stops half-way (its process frozen) while its lease
    # runs out (reaching in: the journal's own write transaction, held open)
    async def frozen_write() -> None:
        async with a._write("a write frozen half-way") as db:
            await db.execute("SELECT 1")
            await asyncio.sleep(4)

    write = asyncio.create_task(frozen_write())
    await asyncio.sleep(1.2)
    # when: another instance takes over
    started = asyncio.get_running_loop().time()
    taken = await b.acquire_or_renew("b", 1.0)
    # then: at once, not after the session's general 10 s limit for an idle transaction
    assert taken.acquired and taken.took_over and taken.epoch == lease.epoch + 1
    assert asyncio.get_running_loop().time() - started < 0.5
    # and the frozen write, when it resumes, finds its session gone: nothing of it landed
    with pytest.raises(JournalError):
        await write
