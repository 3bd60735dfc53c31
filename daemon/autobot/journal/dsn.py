"""The PostgreSQL journal's connection string (DSN): a secret, handled like a key.

A DSN (``host=db1 dbname=autobot user=autobot password=…`` or
``postgresql://autobot:…@db1/autobot``) may carry a password, so:

* in the config file (``[journal] dsn``) it may not: a DSN with a password belongs in a file named
  by ``[journal] dsn_file`` — with systemd, ``LoadCredential=journal.dsn:/etc/autobot/journal.dsn``
  and ``dsn_file = "journal.dsn"`` (relative to ``$CREDENTIALS_DIRECTORY``, as key files are) — or
  libpq's own ``~/.pgpass`` / ``PGPASSFILE`` supplies the password;
* the file is vetted like a key file (``autobot.journal_setup.read_dsn_file``, through
  ``keyfiles.read_secret_file``: owned by the daemon's user, or by root inside
  ``$CREDENTIALS_DIRECTORY``; no access for others; a regular file; small), and what ``secrets()``
  returns is registered with the log redactor as soon as it is read;
* ``Dsn`` never shows the text: ``repr``/``str`` and every message use ``describe()``, a
  ``postgresql://user@host:port/dbname`` URL without the password; a DSN that does not parse is
  reported without echoing any of it (libpq's parse errors quote the text, passwords included).
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Dsn"]

_NOT_A_DSN = (
    "is not a PostgreSQL connection string (key=value pairs such as 'host=db1 dbname=autobot "
    "user=autobot', or a postgresql:// URL)"
)


class Dsn:
    """A parsed libpq connection string. ``repr``/``str`` show ``describe()``; it does not pickle."""

    __slots__ = ("_params", "_text")

    def __init__(self, text: str) -> None:
        """Parse ``text``; ``ValueError`` (whose message never quotes the text) if it is not one."""
        from psycopg import conninfo as libpq  # psycopg (8 MB): only when a DSN is parsed

        try:
            params = libpq.conninfo_to_dict(text.strip())
        except Exception:  # psycopg's message quotes the string: never chain or show it
            raise ValueError(_NOT_A_DSN) from None
        self._text = text.strip()
        self._params = {k: str(v) for k, v in params.items() if v is not None}

    def reveal(self) -> str:
        """The connection string itself: hand it to the driver, nowhere else."""
        return self._text

    @property
    def password(self) -> str | None:
        return self._params.get("password") or None

    def describe(self) -> str:
        """``postgresql://user@host:port/dbname``: where, never the password."""
        user = self._params.get("user", "")
        host = self._params.get("host") or self._params.get("hostaddr") or "localhost"
        port = self._params.get("port", "")
        dbname = self._params.get("dbname", "")
        where = f"{user}@" if user else ""
        where += host if "/" not in host else f"[{host}]"  # a Unix socket directory
        where += f":{port}" if port else ""
        return f"postgresql://{where}/{dbname}"

    def secrets(self) -> tuple[str, ...]:
        """What the log pipeline must redact: the password and the whole string (none without a
        password)."""
        return (self.password, self._text) if self.password else ()

    def __repr__(self) -> str:
        return f"Dsn({self.describe()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dsn) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a DSN cannot be pickled")
