"""Opening the configured journal: ``[journal] backend`` picks ``SqliteJournal`` or
``PostgresJournal`` (the composition root's one choice; everything after types against
``Journal``)."""

from __future__ import annotations

from pathlib import Path

from autobot.clock import Clock
from autobot.config import JournalConfig
from autobot.errors import ConfigError, JournalError, KeyFileError, Problem
from autobot.journal.dsn import Dsn, read_dsn_file
from autobot.journal.protocol import Journal

__all__ = ["configured_dsn", "open_journal"]


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
