"""``deploy/ha/roles.sql`` with ``psql`` on a real server: the daemon's role builds and writes the
journal and can do nothing else; the operator role reads it and adds requests, nothing more; the
file runs again without harm."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from autobot.clock import FakeClock
from autobot.errors import JournalError
from autobot.journal.dsn import Dsn
from autobot.journal.pgserver import PgServer
from autobot.journal.postgres import PostgresJournal
from autobot.journal.records import ActionState, NewAction, RequestKind

PASSWORD = secrets.token_hex(12)
ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "ha" / "roles.sql"
ACTION = NewAction(key="close:1:0", kind="close", subject_id=1, action_id=1, recipe="{}",
                   reason="r", due_at=1)  # fmt: skip


def psql(server: PgServer, names: dict[str, str]) -> str:
    binary = shutil.which("psql")
    assert binary, "psql not found: apt-get install postgresql-client"
    argv = [binary, server.admin_dsn, "-X", "-q", "-f", str(ROLES_SQL)]
    for key, value in names.items():
        argv += ["-v", f"{key}={value}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def names(pg_server: PgServer) -> Iterator[dict[str, str]]:
    tag = secrets.token_hex(4)
    chosen = {
        "database": f"autobot_roles_{tag}",
        "daemon_role": f"autobot_{tag}",
        "operator_role": f"autobot_operator_{tag}",
    }
    yield chosen
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(chosen["database"])
            )
        )
        for role in ("operator_role", "daemon_role"):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(chosen[role])))


def dsn_for(server: PgServer, names: dict[str, str], role: str) -> Dsn:
    return Dsn(
        make_conninfo(
            server.admin_dsn, user=names[role], password=PASSWORD, dbname=names["database"]
        )
    )


async def test_the_roles_have_what_they_need_and_no_more(
    pg_server: PgServer, names: dict[str, str]
) -> None:
    # given: the file run before the daemon's first start
    first = psql(pg_server, names)
    assert "start the daemon once" in first
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:  # as \password would
        for role in ("daemon_role", "operator_role"):
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(names[role]), sql.Literal(PASSWORD)
                )
            )
    daemon_dsn = dsn_for(pg_server, names, "daemon_role")
    operator_dsn = dsn_for(pg_server, names, "operator_role")
    # when: the daemon starts (creates the journal in its schema) and writes
    async with await PostgresJournal.open(daemon_dsn, clock=FakeClock()) as daemon:
        await daemon.check_writable()
        await daemon.add_action(ACTION, chain_now=1)
        lease = await daemon.acquire_or_renew("host-a", 10)
        daemon.fence(lease.epoch)
        await daemon.update_action(
            "close:1:0", expect={ActionState.PLANNED}, chain_now=2, attempts=1
        )
    # and the file runs again
    assert "the operator role may add requests" in psql(pg_server, names)
    # then: the operator role reads and adds requests, and nothing else
    async with await PostgresJournal.open(operator_dsn, clock=FakeClock(), create=False) as cli:
        assert [a.key for a in await cli.open_actions()] == ["close:1:0"]
        assert (await cli.add_request(RequestKind.REFUND, "1", requested_by="op")).id == 1
        with pytest.raises(JournalError, match=r"42501.*lacks a privilege"):
            await cli.update_action(
                "close:1:0", expect={ActionState.PLANNED}, chain_now=3, attempts=9
            )
        with pytest.raises(JournalError, match="42501"):
            await cli.add_action(ACTION, chain_now=3)
        with pytest.raises(JournalError, match="42501"):
            await cli.acquire_or_renew("cli", 10)
        with pytest.raises(JournalError, match="42501"):
            await cli.check_writable()
    # and the daemon's role can create nothing outside its schema
    with psycopg.connect(daemon_dsn.reveal(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE autobot_nope")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.nope (x int)")
        assert conn.execute(
            "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False, False)
    # while its tables are its own, in its schema
    with psycopg.connect(make_conninfo(pg_server.admin_dsn, dbname=names["database"])) as conn:
        owners = conn.execute(
            "SELECT DISTINCT tableowner, schemaname FROM pg_tables WHERE tablename IN"
            " ('actions', 'transactions', 'requests', 'leader_lease', 'autobot_schema_version')"
        ).fetchall()
    assert owners == [(names["daemon_role"], "autobot")]
