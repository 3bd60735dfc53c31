"""A PostgreSQL server for tests and benchmarks: the one named by ``AUTOBOT_TEST_PG_DSN``, or a
throwaway cluster started from Debian's server binaries in a temporary folder.

Not used by the daemon. ``tests/conftest.py`` (the ``pg_server`` fixture) and ``bench/`` get one
with ``postgres_server()``; each test then creates and drops a database of its own
(``create_database`` / ``drop_database``).

* ``AUTOBOT_TEST_PG_DSN`` set (CI: ``.ci/run`` starts Debian's cluster and sets it): a running
  server whose role may create databases.
* Otherwise ``initdb`` + ``pg_ctl`` from ``PATH`` or ``/usr/lib/postgresql/*/bin`` (the newest)
  build a cluster in a temporary folder that listens on a Unix socket there only (no port to
  collide with); it is stopped and removed at the end. ``initdb`` refuses to run as root, so as
  root the cluster belongs to the ``postgres`` system user (``runuser -u postgres``), which
  Debian's ``postgresql`` package creates. ``durable=False`` (tests) turns ``fsync`` off;
  benchmarks keep it on.
* Neither: ``PostgresUnavailable`` says how to get PostgreSQL (``apt-get install postgresql``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import conninfo as libpq
from psycopg import sql

from autobot.journal.dsn import Dsn

__all__ = ["ENV_DSN", "PgServer", "PostgresUnavailable", "availability", "postgres_server"]

ENV_DSN = "AUTOBOT_TEST_PG_DSN"

HOW_TO_GET_IT = (
    "PostgreSQL is needed for the PostgreSQL journal's tests: install Debian's server "
    "(`apt-get install postgresql`: its binaries in /usr/lib/postgresql/*/bin are enough, a "
    f"throwaway cluster is started from them), or point {ENV_DSN} at a running server whose "
    "role may create databases (e.g. 'host=/var/run/postgresql dbname=postgres')"
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL to test against; the message says how to get one."""


@dataclass(frozen=True, slots=True)
class PgServer:
    """A server to create databases in, through ``admin_dsn`` (a role with CREATEDB)."""

    admin_dsn: str
    description: str
    control: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    """``pg_ctl``'s ``"stop"`` (fast: sessions ended) and ``"start"``: a throwaway cluster's."""

    def restart(self, *, down_seconds: float = 0.0) -> None:
        """Stop the server, wait ``down_seconds``, start it again (a database restart, as a
        failover or an upgrade makes one); only a cluster started here can be."""
        if self.control is None:
            raise RuntimeError(f"{self.description} was not started here: it cannot be restarted")
        self.control("stop")
        time.sleep(down_seconds)
        self.control("start")

    def create_database(self, name: str | None = None) -> Dsn:
        """A new empty database; its DSN (the admin's role, so it owns it)."""
        name = name or f"autobot_t_{secrets.token_hex(6)}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return Dsn(libpq.make_conninfo(self.admin_dsn, dbname=name))

    def drop_database(self, dsn: Dsn) -> None:
        """Drop a database made by ``create_database`` (its sessions are ended first)."""
        name = libpq.conninfo_to_dict(dsn.reveal())["dbname"]
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
            )

    def terminate_sessions(self, dsn: Dsn) -> int:
        """End every session on ``dsn``'s database but the caller's (a server-side fault)."""
        name = libpq.conninfo_to_dict(dsn.reveal())["dbname"]
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        return len(rows)


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p)],
    )
    return Path(versions[-1]).parent if versions else None


def _as_owner(argv: list[str], owner: str | None) -> list[str]:
    return argv if owner is None else ["runuser", "-u", owner, "--", *argv]


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[PgServer]:
    """Start a cluster in a temporary folder; stop and remove it at the end."""
    availability({})  # raises, saying how to get PostgreSQL, if it cannot start one
    bindir = _binaries()
    assert bindir is not None
    owner = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="autobot-pg-", dir="/tmp"))  # a short socket path
    data = folder / "data"
    try:
        if owner is not None:
            shutil.chown(folder, user=owner)
        subprocess.run(
            _as_owner(
                [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-locale", "--no-sync"],
                owner,
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        settings = f"-k {folder} -c listen_addresses='' -c max_connections=200"
        if not durable:
            settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

        def control(action: str) -> None:
            if action not in ("start", "stop"):
                raise ValueError(f"pg_ctl {action}: start or stop")
            argv = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
            if action == "start":
                argv += ["-l", str(folder / "server.log"), "-o", settings, "start"]
            else:
                argv += ["-m", "fast", "stop"]
            subprocess.run(_as_owner(argv, owner), check=True, capture_output=True, timeout=120)

        control("start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        output = (exc.stderr or b"").decode(errors="replace")[-2000:]
        raise PostgresUnavailable(f"starting a throwaway PostgreSQL failed: {output}") from None
    try:
        yield PgServer(
            admin_dsn=f"host={folder} user=postgres dbname=postgres",
            description=f"throwaway cluster in {folder} ({bindir})",
            control=control,
        )
    finally:
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], owner),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(
    *, durable: bool = False, environ: dict[str, str] | None = None
) -> Iterator[PgServer]:
    """``AUTOBOT_TEST_PG_DSN``'s server if set (checked to answer), else a throwaway cluster."""
    env = os.environ if environ is None else environ
    given = env.get(ENV_DSN, "").strip()
    if not given:
        with throwaway_cluster(durable=durable) as server:
            yield server
        return
    try:
        with psycopg.connect(given, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise PostgresUnavailable(
            f"{ENV_DSN} names a server that does not answer ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}). {HOW_TO_GET_IT}"
        ) from None
    yield PgServer(admin_dsn=given, description=f"{ENV_DSN} ({Dsn(given).describe()})")


def availability(environ: dict[str, str] | None = None) -> str:
    """Where the tests will get PostgreSQL from; ``PostgresUnavailable`` saying how to get it
    when nowhere (no server is started: ``make test`` asks this first)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_DSN, "").strip():
        return f"the server of {ENV_DSN}"
    bindir = _binaries()
    if bindir is None:
        raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb) found. {HOW_TO_GET_IT}")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "initdb refuses to run as root and there is no 'postgres' user to run it as. "
                + HOW_TO_GET_IT
            ) from None
    return f"a throwaway cluster from {bindir}"


def main() -> int:
    """``python -m autobot.journal.pgserver``: say where the tests get PostgreSQL, or how to get it."""
    try:
        print(f"PostgreSQL for the tests: {availability()}")
    except PostgresUnavailable as exc:
        print(f"make test: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
