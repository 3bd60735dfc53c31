"""History: a sweep's journal work does not grow with the journal's history (issue 12, finding 8).

Two journals with the same live work — 20 open actions, 3 escalated (parked) draws, 4 feeds' last
fallbacks, 2 pending operator requests — one with nothing else, one with ``rows`` historical rows
(by default 1,000,000: half finished actions of every kind, half their transactions, all within
the retention so none is pruned). On each, the journal side of a sweep is timed ``rounds`` times
in CPU time of this process (``time.process_time``; the journal's SQLite runs in aiosqlite's thread
of this process): the open actions, what the planners read from the journal
(``sweep_context.read_journal``), the action counts for the metrics, and the retention pass
(nothing old enough to prune). ``ratio`` is history ÷ empty (1.0: unchanged).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from autobot.clock import FakeClock
from autobot.journal.store import SqliteJournal
from autobot.sweep_context import read_journal
from bench.harness import bench_line, median, say, table

NOW = 2_000_000_000  # chain seconds
_KINDS = ("close", "draw", "winners", "refund", "cancel", "schedule", "archive")


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    rows = 100_000 if quick else 1_000_000
    rounds = 20 if quick else 50
    folder = workdir / "history"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"history: {rows} historical journal rows, {rounds} sweeps' journal work each")
    results: dict[str, float] = {}
    lines = [("journal", "rows", "file MB", "p50 ms CPU", "max ms CPU")]
    for name, history in (("empty", 0), ("history", rows)):
        path = folder / f"{name}.sqlite3"
        path.unlink(missing_ok=True)
        journal = await SqliteJournal.open(path, clock=FakeClock(wall=1_700_000_000.0))
        await journal.close()
        _fill(path, history=history)
        journal = await SqliteJournal.open(path, clock=FakeClock(wall=1_700_000_000.0))
        try:
            times = []
            for _ in range(rounds):
                started = time.process_time()
                await _sweep_journal_work(journal, path)
                times.append((time.process_time() - started) * 1000)
        finally:
            await journal.close()
        results[f"{name}_ms"] = median(times)
        size = path.stat().st_size / 1e6
        lines.append(
            (name, str(history), f"{size:.0f}", f"{median(times):.2f}", f"{max(times):.2f}")
        )
    table("history: a sweep's journal work, CPU per sweep", lines)
    results["ratio"] = results["history_ms"] / results["empty_ms"]
    bench_line(
        "history",
        rows=rows,
        empty_ms=results["empty_ms"],
        history_ms=results["history_ms"],
        ratio=results["ratio"],
    )
    return results


async def _sweep_journal_work(journal: SqliteJournal, path: Path) -> None:
    open_actions = await journal.open_actions()
    await read_journal(journal, operators={}, open_actions=open_actions)
    await journal.action_counts()
    await journal.prune(
        chain_before=NOW - 30 * 86_400,
        wall_before=0.0,
        export=path.with_name(path.name + ".pruned.jsonl"),
    )


def _fill(path: Path, *, history: int) -> None:
    """The live work, and ``history`` rows of finished work (half actions, half transactions)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        actions: list[tuple[object, ...]] = []
        transactions: list[tuple[object, ...]] = []
        for i in range(history // 2):
            kind = _KINDS[i % len(_KINDS)]
            key = f"{kind}:{i}:0"
            chain = NOW - 86_400 + i % 80_000  # within the retention: nothing pruned
            actions.append(_action(key, kind, i, "done", chain))
            transactions.append(_tx(i, key, chain))
        for i in range(20):
            actions.append(_action(f"close:{10_000_000 + i}:0", "close", 10_000_000 + i,
                                   "executing", NOW - 10))  # fmt: skip
        for i in range(3):
            row = list(_action(f"draw:{20_000_000 + i}:3", "draw", 20_000_000 + i, "parked", NOW))
            row[-1] = "escalated"
            actions.append(tuple(row))
        for asset in range(1, 5):
            for n in range(3):
                actions.append(
                    _action(f"fallback:{asset}:{n}", "fallback", asset, "done", NOW - 100 + n,
                            recipe=json.dumps({"type": "fallback", "active": n % 2 == 0}))
                )  # fmt: skip
        db.executemany(
            "INSERT INTO actions (key, kind, subject_id, action_id, recipe, reason, due_at, state,"
            " created_wall, updated_wall, created_chain, updated_chain, outcome)"
            " VALUES (?, ?, ?, NULL, ?, 'bench', ?, ?, 0, 0, ?, ?, ?)",
            actions,
        )
        db.executemany(
            "INSERT INTO transactions (tx_hash, action_key, action_hash, purpose, call_index,"
            " call, sender, sequence_number, expires_at, raw, state, created_wall)"
            " VALUES (?, ?, ?, 'execute', 0, '{}', ?, ?, 0, ?, 'committed', 0)",
            transactions,
        )
        for n in range(2):
            db.execute(
                "INSERT INTO requests (kind, subject, requested_by, requested_wall)"
                " VALUES ('park', ?, 'bench', 0)",
                (f"close:{10_000_000 + n}:0",),
            )
        db.execute("COMMIT")
    finally:
        db.close()


def _action(
    key: str, kind: str, subject: int, state: str, chain: int, *, recipe: str = "{}"
) -> tuple[object, ...]:
    return (key, kind, subject, recipe, chain, state, chain, chain, None)


def _tx(i: int, key: str, chain: int) -> tuple[object, ...]:
    return (f"0x{i:064x}", key, b"\xab" * 32, "0x" + "b" * 64, i, b"\x01" * 200)
