"""SQLite persistence of the localnet's chain (``<state dir>/chain.sqlite3``, stdlib ``sqlite3``).

What is kept: chain identity (chain id, package address), the tip block, every block that carried
transactions, every executed (or dropped) transaction with its bytes, status, rendered JSON and
wall times, every event, account sequence numbers, the package model's state and the bookkeeping of
the localnet's actors (``oracle``; ``actors`` for the buyers and the treasury). One block is written in one SQLite transaction; the node writes only blocks with
transactions, plus the tip every few blocks so that chain time and height resume where they were.

The model is kept as rows (``model_rows``: one per table slot, ``model.state.RowEncoder``) and a
block writes only the rows its transactions changed, so a block costs what it touched, not the
size of the chain (10,000 lotteries are ~35 MB as one document). Schema 1 kept the model as one
JSON document in ``meta``; such a state directory is still read, and its first write converts it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BlockHeader", "EventRow", "NodeStore", "StoredChain", "TransactionRow"]

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent TEXT NOT NULL,
    timestamp_us INTEGER NOT NULL, txn_count INTEGER NOT NULL, system_txn_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    hash TEXT PRIMARY KEY, block_height INTEGER, position INTEGER, kind TEXT NOT NULL,
    sender TEXT NOT NULL, sequence_number INTEGER, body BLOB, status TEXT NOT NULL,
    json TEXT NOT NULL, accepted_wall REAL, executed_wall REAL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, sequence_number INTEGER NOT NULL,
    block_height INTEGER NOT NULL, tx_hash TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id);
CREATE INDEX IF NOT EXISTS events_by_type_height ON events (type, block_height, id);
CREATE TABLE IF NOT EXISTS accounts (address TEXT PRIMARY KEY, sequence_number INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS model_rows (
    tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
"""

type ModelRow = tuple[str, str, str | None]
"""``(table, key, JSON)`` of the package model; ``None`` deletes the row (and ``key#…`` rows)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockHeader:
    height: int
    hash: str
    parent: str
    timestamp_us: int
    txn_count: int = 0  # every transaction, system ones included
    system_txn_count: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "height": self.height,
            "hash": self.hash,
            "parent": self.parent,
            "timestamp_us": self.timestamp_us,
            "txn_count": self.txn_count,
            "system_txn_count": self.system_txn_count,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> BlockHeader:
        return cls(
            height=int(str(data["height"])),
            hash=str(data["hash"]),
            parent=str(data["parent"]),
            timestamp_us=int(str(data["timestamp_us"])),
            txn_count=int(str(data.get("txn_count", 0))),
            system_txn_count=int(str(data.get("system_txn_count", 0))),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRow:
    hash: str
    kind: str  # "user" | "system"
    sender: str
    sequence_number: int | None
    body: bytes | None
    status: str
    json: dict[str, object]
    block_height: int | None
    position: int | None
    accepted_wall: float | None
    executed_wall: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRow:
    id: int
    type: str
    sequence_number: int
    block_height: int
    tx_hash: str
    data: dict[str, object]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredChain:
    chain_id: int
    package_address: str
    tip: BlockHeader
    model: dict[str, object]  # schema 1's one-document model ({} when kept as rows)
    model_rows: list[tuple[str, str, str]]
    vrf_retry: str  # the model's VRF retry variant (kept beside the rows)
    oracle: dict[str, object]
    sequences: dict[str, int]
    event_counts: dict[str, int]
    next_event_id: int
    system_count: int
    actors: dict[str, object] = field(default_factory=dict)  # buyers and treasury, if any


class NodeStore:
    """Owns one SQLite connection; every method is synchronous and quick."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version in (0, 1):  # 1 → 2 only adds model_rows (created above)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise RuntimeError(
                f"{path}: localnet state schema {version}, expected {SCHEMA_VERSION}"
            )

    def close(self) -> None:
        self._db.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def load(self) -> StoredChain | None:
        """The persisted chain, or None for an empty state directory."""
        tip = self._meta("tip")
        if tip is None:
            return None
        counts = {
            str(t): int(n) + 1
            for t, n in self._db.execute(
                "SELECT type, MAX(sequence_number) FROM events GROUP BY type"
            )
        }
        max_id = self._db.execute("SELECT MAX(id) FROM events").fetchone()[0]
        model_meta = json.loads(self._meta("model_meta") or "{}")
        return StoredChain(
            vrf_retry=str(model_meta.get("vrf_retry", "intent")),
            chain_id=int(self._meta("chain_id") or 0),
            package_address=str(self._meta("package_address")),
            tip=BlockHeader.from_json(json.loads(tip)),
            model=json.loads(self._meta("model") or "{}"),
            model_rows=[
                (str(t), str(k), str(v))
                for t, k, v in self._db.execute("SELECT tbl, key, value FROM model_rows")
            ],
            oracle=json.loads(self._meta("oracle") or "{}"),
            sequences={
                str(a): int(s)
                for a, s in self._db.execute("SELECT address, sequence_number FROM accounts")
            },
            event_counts=counts,
            next_event_id=(int(max_id) + 1) if max_id is not None else 1,
            system_count=int(self._meta("system_count") or 0),
            actors=json.loads(self._meta("actors") or "{}"),
        )

    def commit_block(
        self,
        *,
        tip: BlockHeader,
        store_block: bool,
        transactions: Sequence[TransactionRow],
        events: Sequence[EventRow],
        sequences: Mapping[str, int],
        meta: Mapping[str, object],
        model_rows: Sequence[ModelRow] = (),
        drop_meta: Sequence[str] = (),
    ) -> None:
        """Write one block (and the new tip) in one SQLite transaction.

        ``model_rows`` are the model's changed rows; ``drop_meta`` names meta keys to delete.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, key, value in model_rows:
                if value is None:
                    db.execute(
                        "DELETE FROM model_rows WHERE tbl = ? AND (key = ? OR substr(key, 1, ?) = ?)",
                        (table, key, len(key) + 1, key + "#"),
                    )
            db.executemany(
                "INSERT OR REPLACE INTO model_rows VALUES (?, ?, ?)",
                [(t, k, v) for t, k, v in model_rows if v is not None],
            )
            db.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in drop_meta])
            if store_block:
                db.execute(
                    "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        tip.height,
                        tip.hash,
                        tip.parent,
                        tip.timestamp_us,
                        tip.txn_count,
                        tip.system_txn_count,
                    ),
                )
            db.executemany(
                "INSERT OR REPLACE INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        t.hash,
                        t.block_height,
                        t.position,
                        t.kind,
                        t.sender,
                        t.sequence_number,
                        t.body,
                        t.status,
                        json.dumps(t.json),
                        t.accepted_wall,
                        t.executed_wall,
                    )
                    for t in transactions
                ],
            )
            db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (e.id, e.type, e.sequence_number, e.block_height, e.tx_hash, json.dumps(e.data))
                    for e in events
                ],
            )
            db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?)", list(sequences.items()))
            meta_rows: Iterable[tuple[str, str]] = [
                ("tip", json.dumps(tip.to_json())),
                *((k, v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()),
            ]
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta_rows))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def transaction(self, tx_hash: str) -> TransactionRow | None:
        row = self._db.execute(
            "SELECT hash, kind, sender, sequence_number, body, status, json, block_height, position, "
            "accepted_wall, executed_wall FROM transactions WHERE hash = ?",
            (tx_hash,),
        ).fetchone()
        if row is None:
            return None
        return TransactionRow(
            hash=row[0],
            kind=row[1],
            sender=row[2],
            sequence_number=row[3],
            body=row[4],
            status=row[5],
            json=json.loads(row[6]),
            block_height=row[7],
            position=row[8],
            accepted_wall=row[9],
            executed_wall=row[10],
        )

    def events(
        self,
        event_type: str,
        *,
        start_id: int,
        start_height: int | None,
        end_height: int | None,
        limit: int,
    ) -> list[EventRow]:
        """Events of ``event_type`` with id >= start_id, heights in [start, end), oldest first."""
        sql = "SELECT id, type, sequence_number, block_height, tx_hash, data FROM events WHERE type = ? AND id >= ?"
        params: list[object] = [event_type, start_id]
        if start_height is not None:
            sql += " AND block_height >= ?"
            params.append(start_height)
        if end_height is not None:
            sql += " AND block_height < ?"
            params.append(end_height)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [
            EventRow(
                id=r[0],
                type=r[1],
                sequence_number=r[2],
                block_height=r[3],
                tx_hash=r[4],
                data=json.loads(r[5]),
            )
            for r in self._db.execute(sql, params)
        ]
