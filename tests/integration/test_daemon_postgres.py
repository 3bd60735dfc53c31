"""``autobot run`` with ``[journal] backend = "postgres"`` (its DSN in a ``dsn_file``): the daemon
runs the demo against the localnet with its journal in PostgreSQL, the operator CLI reads it there,
and SIGTERM stops it cleanly. The DSN's password never reaches the log or the CLI's output."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import processes
from autobot.journal.dsn import Dsn
from autobot.journal.pgserver import PgServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PASSWORD = "pg-pass-7f3a9c1e5b"


def closed_lotteries(dsn: Dsn) -> list[str]:
    try:
        with psycopg.connect(dsn.reveal()) as conn:
            rows = conn.execute(
                "SELECT key FROM actions WHERE kind = 'close' AND state = 'done' ORDER BY key"
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    return [str(r[0]) for r in rows]


async def test_the_daemon_journals_in_postgresql(
    tmp_path: Path, pg_server: PgServer, pg_database: Dsn
) -> None:
    # given: a role with a password owning the test's database, and its DSN in a private file
    name = conninfo_to_dict(pg_database.reveal())["dbname"]
    role = f"r_{name}"
    with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(PASSWORD)
            )
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(str(name)), sql.Identifier(role)
            )
        )
    with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))
    dsn = Dsn(make_conninfo(pg_database.reveal(), user=role, password=PASSWORD))
    try:
        async with processes.localnet(tmp_path) as net:
            secret = net.config.parent / "journal.dsn"
            secret.write_text(dsn.reveal() + "\n")
            secret.chmod(0o600)
            processes.set_key(net.config, "journal", "backend", '"postgres"')
            processes.set_key(net.config, "journal", "dsn_file", '"journal.dsn"')
            # when
            async with processes.daemon(net.config, tmp_path / "daemon.log") as daemon:
                await daemon.wait_event("daemon_ready", within=60)
                deadline = time.monotonic() + 90
                while "close:1:0" not in closed_lotteries(dsn):
                    assert daemon.returncode is None, daemon.text()[-3000:]
                    assert time.monotonic() < deadline, daemon.text()[-3000:]
                    await asyncio.sleep(0.5)
                status = await asyncio.to_thread(
                    subprocess.run,
                    [processes.AUTOBOT, "status", "--config", str(net.config), "--json"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                    env={k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"},
                )
                daemon.send(signal.SIGTERM)
                code = await daemon.wait_exit(within=40)
            # then
            assert code == 0, daemon.text()[-3000:]
            started = daemon.find("daemon_started")
            assert started and started[0]["journal"] == dsn.describe()
            assert status.returncode == 0, status.stderr
            assert dsn.describe() in status.stdout
            assert PASSWORD not in daemon.text() + status.stdout + status.stderr
    finally:
        with psycopg.connect(pg_database.reveal(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(role))
            )
        with psycopg.connect(pg_server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
