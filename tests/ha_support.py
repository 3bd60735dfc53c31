"""Active/standby autobot for process-level tests and the HA soak: instance configs on one
PostgreSQL journal, read-only looks into that journal, an audit of who wrote what, and the
split-brain check.

Importable from any test as ``import ha_support`` (this folder holds the root ``conftest.py``);
``tests/soak/ha_soak.py`` puts this folder on ``sys.path``.

* ``instance_configs(config, dsn, names, ...)`` — one config per instance beside the localnet's
  (same key files): ``[journal] backend = "postgres"`` with the DSN plus
  ``application_name=autobot-<name>`` (so the server tells the instances' sessions apart),
  ``[ha] enabled``, ``instance_id``, ``lease_seconds``, ``renew_seconds``.
* ``PgJournalReader`` — the journal's actions and transactions (the soak's row types, plus each
  transaction's fencing epoch and creation time) and its invariants, read in PostgreSQL.
* ``install_audit(dsn)`` / ``audit_rows(dsn, ...)`` — a trigger on every journal table records
  each row written with the writing session's ``application_name`` and the database's time (a
  test's own instrument: rows of a rolled-back transaction vanish with it, so only committed
  writes show).
* ``split_brain(...)`` — transactions signed for one account by two instances whose leadership
  overlapped, from the chain's record (executed transactions by sender and sequence number) and
  the journal's epochs.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from autobot.journal.dsn import Dsn
from autobot.journal.schema import TABLES

HERE = Path(__file__).resolve().parent
if str(HERE / "e2e") not in sys.path:
    sys.path.insert(0, str(HERE / "e2e"))

from demo_processes import ActionRow, TxRow  # noqa: E402

from processes import set_key  # noqa: E402

__all__ = [
    "EpochTx",
    "PgJournalReader",
    "audit_rows",
    "db_now",
    "install_audit",
    "instance_configs",
    "instance_dsn",
    "split_brain",
    "takeovers_in",
]


def instance_dsn(dsn: Dsn, name: str) -> str:
    return make_conninfo(dsn.reveal(), application_name=f"autobot-{name}")


def instance_configs(
    config: Path,
    dsn: Dsn,
    names: Sequence[str],
    *,
    lease_seconds: float = 10.0,
    renew_seconds: float = 1.0,
    log_level: str = "info",
) -> list[Path]:
    """A config per instance, written beside ``config`` (``autobot-<name>.toml``)."""
    out = []
    for name in names:
        path = config.with_name(f"autobot-{name}.toml")
        shutil.copy(config, path)
        set_key(path, "journal", "backend", '"postgres"')
        # the DSN in a file of mode 600, as an operator keeps one that holds a password (CI's
        # does; a config file may not)
        dsn_file = config.with_name(f"journal-{name}.dsn")
        dsn_file.write_text(instance_dsn(dsn, name) + "\n")
        dsn_file.chmod(0o600)
        set_key(path, "journal", "dsn_file", json.dumps(str(dsn_file)))
        set_key(path, "ha", "enabled", "true")
        set_key(path, "ha", "instance_id", f'"{name}"')
        set_key(path, "ha", "lease_seconds", str(lease_seconds))
        set_key(path, "ha", "renew_seconds", str(renew_seconds))
        # what an instance signs, sends and settles is logged at debug (tests that watch it ask)
        set_key(path, "log", "level", json.dumps(log_level))
        out.append(path)
    return out


def _query(dsn: Dsn, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn.reveal(), autocommit=True, connect_timeout=10) as conn:
        cursor = conn.execute(sql.encode(), params)
        return list(cursor.fetchall()) if cursor.description else []


def db_now(dsn: Dsn) -> datetime:
    """The database's clock (what the audit's times are)."""
    [(now,)] = _query(dsn, "SELECT clock_timestamp()")
    assert isinstance(now, datetime)
    return now


@dataclass(frozen=True, slots=True)
class EpochTx:
    tx_hash: str
    sender: str
    sequence_number: int
    epoch: int | None
    created_wall: float
    state: str


class PgJournalReader:
    """Read-only queries on the PostgreSQL journal (each call its own short connection)."""

    def __init__(self, dsn: Dsn) -> None:
        self.dsn = dsn

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return _query(self.dsn, sql)
        except psycopg.errors.UndefinedTable:  # the schema is not there yet
            return []

    def actions(self) -> list[ActionRow]:
        return [
            ActionRow(*r)
            for r in self._rows(
                "SELECT key, kind, subject_id, action_id, state, operator, execute_at,"
                " action_hash, progress, next_check_at FROM actions ORDER BY created_wall, key"
            )
        ]

    def transactions(self) -> list[TxRow]:
        return [
            TxRow(*r[:8], bytes(r[8]), r[9])
            for r in self._rows(
                "SELECT tx_hash, action_key, action_hash, purpose, call_index,"
                " call::jsonb ->> 'function', sender, sequence_number, raw, state"
                " FROM transactions ORDER BY created_wall, rowid"
            )
        ]

    def epochs(self) -> list[EpochTx]:
        return [
            EpochTx(*r)
            for r in self._rows(
                "SELECT tx_hash, sender, sequence_number, epoch, created_wall, state"
                " FROM transactions ORDER BY created_wall, rowid"
            )
        ]

    def lease(self) -> tuple[str | None, int, bool, datetime | None]:
        """(holder, epoch, live, expires_at) of the leader lease as the database has it now."""
        rows = self._rows(
            "SELECT holder, epoch, expires_at > clock_timestamp(), expires_at FROM leader_lease"
            " WHERE name = 'leader'"
        )
        if not rows:
            return None, 0, False, None
        holder, epoch, live, expires = rows[0]
        return holder, int(epoch), bool(live), expires

    def problems(self) -> list[str]:
        """The journal's invariants (``processes.journal_problems``' rules; PostgreSQL enforces
        the references itself)."""
        rules = {
            "action with transactions but no hash": """
                SELECT a.key FROM actions a WHERE a.action_hash IS NULL
                AND EXISTS (SELECT 1 FROM transactions t WHERE t.action_key = a.key)""",
            "terminal action with the wrong outcome": """
                SELECT key FROM actions
                WHERE (state = 'done' AND outcome IS DISTINCT FROM 'success')
                OR (state = 'failed' AND outcome IS DISTINCT FROM 'failure')
                OR (state = 'moot' AND outcome IS DISTINCT FROM 'moot')""",
            "recording without an outcome": """
                SELECT key FROM actions WHERE state = 'recording' AND outcome IS NULL""",
            "settled transaction without a settlement time": """
                SELECT tx_hash FROM transactions
                WHERE state IN ('committed', 'aborted', 'dropped') AND settled_wall IS NULL""",
            "submitted transaction never handed to a node": """
                SELECT tx_hash FROM transactions WHERE state = 'submitted' AND submissions < 1""",
            "two executed transactions for one sequence number": """
                SELECT sender, sequence_number FROM transactions
                WHERE state IN ('committed', 'aborted')
                GROUP BY sender, sequence_number HAVING COUNT(*) > 1""",
        }
        return [f"{what}: {tuple(r)}" for what, sql in rules.items() for r in self._rows(sql)]


# --------------------------------------------------------------------------- the audit


def install_audit(dsn: Dsn) -> None:
    """Record every row written to the journal's tables (they must exist: open the journal
    first) with the session's application name and the database's time."""
    statements = [
        "CREATE TABLE IF NOT EXISTS journal_audit (app TEXT, at TIMESTAMPTZ, tbl TEXT, op TEXT)",
        """CREATE OR REPLACE FUNCTION journal_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO journal_audit VALUES (current_setting('application_name'),
                                               clock_timestamp(), TG_TABLE_NAME, TG_OP);
             RETURN NULL;
           END $$""",
        *(
            f"CREATE TRIGGER audit_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION journal_audit_row()"
            for table in TABLES
        ),
    ]
    with psycopg.connect(dsn.reveal(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def audit_rows(dsn: Dsn, *, app: str, after: datetime) -> list[tuple[str, datetime, str, str]]:
    """The rows session ``app`` wrote (committed) after ``after`` (database time)."""
    return [
        (str(a), t, str(tbl), str(op))
        for a, t, tbl, op in _query(
            dsn,
            "SELECT app, at, tbl, op FROM journal_audit WHERE app = %s AND at > %s ORDER BY at",
            (app, after),
        )
    ]


# --------------------------------------------------------------------------- split brain


def split_brain(
    *,
    chain_executed: Iterable[tuple[str, str, int]],
    journal: Iterable[EpochTx],
    accounts: Iterable[str],
    takeovers: Iterable[tuple[int, str, float]],
) -> list[str]:
    """Transactions signed by two instances in overlapping leadership, one finding each.

    ``chain_executed``: (hash, sender, sequence number) of every executed transaction; the
    journal's epochs say who signed each (``takeovers``: (epoch, instance, wall time its
    takeover began), from the instances' ``ha_taking_over`` log lines). Found:

    * an executed transaction of ours signed under no epoch (unfenced, under ``[ha]``);
    * per account, in sequence-number order, an epoch lower than one before it: a deposed
      leader's transaction ordered after its successor's;
    * a transaction journaled under an epoch after the next epoch's takeover began;
    * an epoch whose instance is not known, or the same epoch taken twice (the lease's log).
    """
    ours = set(accounts)
    by_hash = {t.tx_hash: t for t in journal}
    found: list[str] = []
    taken: dict[int, tuple[str, float]] = {}
    for epoch, instance, at in takeovers:
        if epoch in taken:
            found.append(f"epoch {epoch} taken twice: by {taken[epoch][0]} and by {instance}")
        taken.setdefault(epoch, (instance, at))
    per_account: dict[str, list[tuple[int, int]]] = {}
    for tx_hash, sender, sequence_number in chain_executed:
        if sender not in ours:
            continue
        tx = by_hash.get(tx_hash)
        if tx is None:
            continue  # not journaled at all: a mismatch, counted by the soak's checks
        if tx.epoch is None:
            found.append(f"{sender}#{sequence_number} {tx_hash}: signed under no fencing epoch")
            continue
        per_account.setdefault(sender, []).append((sequence_number, tx.epoch))
    for sender, numbered in per_account.items():
        highest = 0
        for sequence_number, epoch in sorted(numbered):
            if epoch < highest:
                found.append(
                    f"{sender}#{sequence_number}: signed under epoch {epoch} after epoch "
                    f"{highest}'s transactions (two leaders signing for one account)"
                )
            highest = max(highest, epoch)
    epochs = sorted(taken)
    for tx in by_hash.values():
        if tx.epoch is None:
            continue
        if tx.epoch not in taken:
            found.append(f"{tx.tx_hash}: epoch {tx.epoch} taken by no known instance")
            continue
        later = [e for e in epochs if e > tx.epoch]
        if later and tx.created_wall >= taken[later[0]][1]:
            found.append(
                f"{tx.tx_hash}: journaled under epoch {tx.epoch} ({taken[tx.epoch][0]}) "
                f"after epoch {later[0]} ({taken[later[0]][0]}) began taking over"
            )
    return found


def takeovers_in(logs: Iterable[Path]) -> list[tuple[int, str, float]]:
    """(epoch, instance, wall time) of every ``ha_taking_over`` line in the instances' logs."""
    found = []
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if '"ha_taking_over"' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            at = datetime.fromisoformat(event["timestamp"]).timestamp()
            found.append((int(event["epoch"]), str(event["instance_id"]), at))
    return sorted(found)
