"""The configured journal: ``[journal]`` and its DSN file to an open ``Journal``.

``[journal] backend`` picks ``SqliteJournal`` or ``PostgresJournal`` here, once (the composition
root and the operator CLI call ``open_journal``; everything after types against ``Journal``).
The PostgreSQL DSN comes from ``[journal] dsn`` or from the file ``[journal] dsn_file``, vetted
like a key file (``keyfiles.read_secret_file``) with its password registered with the log
redactor the moment it is read (``journal/dsn.py`` says why a DSN is a secret). Also the handler
of ``autobot journal migrate``, which reads a DSN file the same way.

It lives outside ``journal/`` because it knows the config, the key-file policy and the logs;
``journal/`` knows none of them (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from autobot.clock import Clock
from autobot.config import JournalConfig
from autobot.errors import EX_CONFIG, ConfigError, JournalError, KeyFileError, Problem
from autobot.journal.dsn import Dsn
from autobot.journal.protocol import Journal
from autobot.keyfiles import read_secret_file
from autobot.logs import register_secret

__all__ = [
    "MAX_DSN_FILE_BYTES",
    "configured_dsn",
    "migrate_command",
    "open_journal",
    "read_dsn_file",
]

MAX_DSN_FILE_BYTES = 4096


def read_dsn_file(path: Path, *, trusted_dir: Path | None = None, euid: int | None = None) -> Dsn:
    """Read and vet a DSN file (one connection string; surrounding whitespace and ``#`` comment
    lines ignored); raises ``KeyFileError(path, reason, what="DSN file")``."""
    data = read_secret_file(
        path, trusted_dir=trusted_dir, euid=euid, max_bytes=MAX_DSN_FILE_BYTES, what="DSN file"
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(str(path), "is not UTF-8 text", what="DSN file") from None
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    if len(lines) != 1:
        raise KeyFileError(
            str(path),
            f"holds {len(lines)} connection strings; expected exactly one line",
            what="DSN file",
        )
    try:
        dsn = Dsn(lines[0])
    except ValueError as exc:
        raise KeyFileError(str(path), str(exc), what="DSN file") from None
    for secret in dsn.secrets():
        register_secret(secret)
    return dsn


def configured_dsn(settings: JournalConfig, *, credentials_directory: Path | None) -> Dsn:
    """The PostgreSQL DSN of ``[journal]``: ``dsn``, or read from ``dsn_file`` (vetted like a key
    file; its problems are ``ConfigError``s under ``journal.dsn_file``, exit 78)."""
    if settings.dsn is not None:
        return Dsn(settings.dsn)
    if settings.dsn_file is None:
        raise ConfigError(
            [Problem("journal.dsn", 'backend = "postgres" needs a dsn or a dsn_file')]
        )
    try:
        return read_dsn_file(settings.dsn_file, trusted_dir=credentials_directory)
    except KeyFileError as exc:
        raise ConfigError(
            [Problem("journal.dsn_file", exc.reason, str(settings.dsn_file), has_value=True)]
        ) from None


async def open_journal(
    settings: JournalConfig,
    *,
    clock: Clock,
    credentials_directory: Path | None = None,
    create: bool = True,
) -> Journal:
    """Open the configured journal, migrated to this autobot's schema.

    ``create=False`` (the operator CLI) refuses to make a new one: a missing SQLite file, or a
    database without the journal's tables, is a ``JournalError`` — an empty new journal would hide
    the real one.
    """
    if settings.backend == "postgres":
        from autobot.journal.postgres import PostgresJournal  # psycopg: only when configured

        dsn = configured_dsn(settings, credentials_directory=credentials_directory)
        return await PostgresJournal.open(dsn, clock=clock, create=create)
    from autobot.journal.store import SqliteJournal

    if not create and not settings.path.exists():
        raise JournalError(
            f"no journal at {settings.path} (journal.path): the daemon creates it on its first "
            "start; is it running with this config?"
        )
    return await SqliteJournal.open(settings.path, clock=clock)


def migrate_command(args: argparse.Namespace) -> int:
    """``autobot journal migrate --from PATH.sqlite --to DSN | --to-dsn-file PATH``
    (``journal/migrate.py``): 0 when copied and verified; 1 refused or failed (the target left
    empty); 2 for bad arguments (a password on the command line, which every local user can
    read: use ``--to-dsn-file`` or ``~/.pgpass``); 78 a bad DSN file."""
    from autobot.journal.migrate import copy_journal  # psycopg: only for this command

    source = Path(args.source)
    if not source.is_file():
        print(f"autobot: no SQLite journal at {source} (--from)", file=sys.stderr)
        return 1

    def say(text: str) -> None:
        print(f"journal migrate: {text}", file=sys.stderr, flush=True)

    try:
        if args.to_dsn_file is not None:
            target = read_dsn_file(Path(args.to_dsn_file))
        else:
            target = Dsn(args.to)
            if target.password:
                print(
                    "autobot: refused: --to holds a password, which every local user can read on "
                    "a command line; put the DSN in a file (mode 600) and pass --to-dsn-file, or "
                    "keep the password in ~/.pgpass",
                    file=sys.stderr,
                )
                return 2
    except KeyFileError as exc:
        print(f"autobot: {exc}", file=sys.stderr)
        return EX_CONFIG
    except ValueError as exc:
        print(f"autobot: --to {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(copy_journal(source, target, say=say))
    except JournalError as exc:
        print(f"autobot: {exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{name} {n}" for name, n in report.rows.items())
    print(
        f"migrated {source} to {target.describe()}: {report.total} rows ({rows}), verified row "
        f"by row, in {report.seconds:.1f} s"
    )
    return 0
