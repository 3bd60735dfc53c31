"""Checks of an incident-log file as the handbook's auditors read it (docs/package.md §8).

``handbook_rows(path)`` parses the file as the handbook's table and checks what the acceptance asks:
the header (the Russian one, five columns), every type one of the handbook's, the rows newest first,
every row written back exactly as the handbook's tool writes it (``|`` escaped as ``\\|``), and no
row twice (one row per event). ``HAND_WRITTEN`` is a log a person kept before autobot wrote to it.
"""

from __future__ import annotations

from pathlib import Path

from autobot.journal.incident_log import (
    HANDBOOK_TYPES,
    HEADER_LINE,
    LogRow,
    parse_log,
    render_row,
)

__all__ = ["HAND_WRITTEN", "HAND_WRITTEN_ROWS", "handbook_rows"]

HAND_WRITTEN = """\
# Журнал операций и инцидентов lottery_multi

| Дата/время (UTC) | Тип события | Описание | Ответственные | Ссылки |
|------------------|-------------|----------|---------------|--------|
| 2025-03-02 10:00 | Релиз | lottery_multi v1.2 deployed \\| autobot 0.9 | Ops team | PR-12 |
| ____ | Инцидент | | | |
| 2025-01-15 09:30 | Backfill | summaries 1..9 imported | Data | TASK-7 |

## Руководство по заполнению
1. Every row links a PR, a task or a runbook page.
"""
HAND_WRITTEN_ROWS = (
    LogRow(
        at_utc="2025-03-02 10:00",
        type="Релиз",
        description="lottery_multi v1.2 deployed | autobot 0.9",
        responsible="Ops team",
        links="PR-12",
    ),
    LogRow(
        at_utc="2025-01-15 09:30",
        type="Backfill",
        description="summaries 1..9 imported",
        responsible="Data",
        links="TASK-7",
    ),
)


def handbook_rows(path: Path) -> list[LogRow]:
    """The file's rows, after checking it is the handbook's table (see the module doc)."""
    text = path.read_text(encoding="utf-8")
    parsed = parse_log(text)
    header = parsed.header[0]
    assert header.startswith("| Дата/время (UTC)")
    assert header == HEADER_LINE or "Тип события" in header, header
    rows = list(parsed.rows)
    assert {r.type for r in rows} <= HANDBOOK_TYPES, {r.type for r in rows} - HANDBOOK_TYPES
    stamps = [r.at_utc for r in rows]
    assert stamps == sorted(stamps, reverse=True), "not newest first"
    lines = text.splitlines()
    start = lines.index(header) + 2
    assert lines[start : start + len(rows)] == [render_row(r) for r in rows]  # escaped as written
    assert len({r.cells for r in rows}) == len(rows), "a row twice"
    return rows
