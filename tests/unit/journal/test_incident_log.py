"""The incident log in the handbook's format: parsing a kept file, merging autobot's rows into it
without losing a person's, and rewriting it atomically (docs/package.md §8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autobot.clock import FakeClock
from autobot.errors import IncidentLogError
from autobot.journal.incident_log import (
    HANDBOOK_TYPES,
    HEADER_LINE,
    SEPARATOR_LINE,
    IncidentLogFile,
    LogRow,
    merge_log,
    parse_log,
    render_row,
)
from autobot.journal.records import IncidentType, NewIncident
from autobot.journal.store import SqliteJournal

# A file kept with the handbook's tool: a title, the table with its own separator, placeholder
# rows, a person's rows (one with an escaped bar), and a guide after the table.
HAND_WRITTEN = """\
# Журнал операций и инцидентов lottery_multi

| Дата/время (UTC) | Тип события | Описание | Ответственные | Ссылки |
|------------------|-------------|----------|---------------|--------|
| 2025-03-02 10:00 | Релиз | v1.2 deployed \\| hotfix | Ops team | PR-12 |
| ____ | Инцидент | | | |
| 2025-01-15 09:30 | Backfill | summaries 1..9 imported | Data | TASK-7 |

## Руководство по заполнению
1. Each row links a PR, a task or a runbook page.
"""


def row(at: str, text: str, type_: str = IncidentType.INCIDENT, links: str = "") -> LogRow:
    return LogRow(at_utc=at, type=type_, description=text, responsible="autobot", links=links)


def test_a_hand_written_log_parses_with_placeholders_dropped_and_bars_unescaped() -> None:
    parsed = parse_log(HAND_WRITTEN)
    assert parsed.before == ("# Журнал операций и инцидентов lottery_multi", "")
    assert parsed.header[0].startswith("| Дата/время (UTC) |")
    assert [r.at_utc for r in parsed.rows] == ["2025-03-02 10:00", "2025-01-15 09:30"]
    assert parsed.rows[0].description == "v1.2 deployed | hotfix"
    assert parsed.after[1] == "## Руководство по заполнению"


def test_merging_keeps_every_human_row_and_the_text_around_the_table() -> None:
    ours = [
        row("2025-03-05 08:00", "draw of lottery 3 | stuck", links="0xab"),
        row("2025-02-01 12:00", "announced cancel:3:1", IncidentType.DRY_RUN),
    ]
    text = merge_log(parse_log(HAND_WRITTEN), ours)
    merged = parse_log(text)
    assert [r.at_utc for r in merged.rows] == [
        "2025-03-05 08:00",
        "2025-03-02 10:00",
        "2025-02-01 12:00",
        "2025-01-15 09:30",
    ]  # newest first, people's rows among autobot's
    assert "| draw of lottery 3 \\| stuck |" in text
    assert text.startswith("# Журнал операций и инцидентов lottery_multi\n\n| Дата/время (UTC)")
    assert text.endswith("1. Each row links a PR, a task or a runbook page.\n")
    assert "____" not in text  # placeholders dropped, as the handbook's tool does
    # merging again with the same rows changes nothing: autobot's rows are recognised, not doubled
    assert merge_log(parse_log(text), ours) == text


def test_rows_of_one_minute_keep_their_order_and_equal_rows_stay_distinct() -> None:
    ours = [
        row("2025-01-01 00:00", "b"),
        row("2025-01-01 00:00", "a"),
        row("2025-01-01 00:00", "a"),
    ]
    text = merge_log(None, ours)
    assert text.splitlines()[:2] == [HEADER_LINE, SEPARATOR_LINE]
    assert [r.description for r in parse_log(text).rows] == ["b", "a", "a"]
    assert [r.description for r in parse_log(merge_log(parse_log(text), ours)).rows] == [
        "b",
        "a",
        "a",
    ]


def test_an_edited_row_of_autobots_becomes_a_persons_and_autobots_comes_back() -> None:
    ours = [row("2025-01-01 00:00", "parked refund:4:1")]
    edited = merge_log(None, ours).replace("parked refund:4:1", "parked refund:4:1 (checked: OK)")
    merged = parse_log(merge_log(parse_log(edited), ours)).rows
    assert sorted(r.description for r in merged) == [
        "parked refund:4:1",
        "parked refund:4:1 (checked: OK)",
    ]


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("# no table here\n", None, "no table"),
        (HEADER_LINE + "\n| 2025-01-01 00:00 | x |\n", 2, "separator"),
        (HEADER_LINE + "\n" + SEPARATOR_LINE + "\n| 2025-01-01 00:00 | a | b | c |\n", 3, "cells"),
        (HEADER_LINE + "\n" + SEPARATOR_LINE + "\n| 1.1.2025 | a | b | c | d |\n", 3, "timestamp"),
        ("| Дата/время (UTC) | Тип |\n| --- | --- |\n", 1, "five columns"),
    ],
)
def test_a_file_that_is_not_the_handbooks_table_is_refused_naming_the_line(
    text: str, line: int | None, why: str
) -> None:
    with pytest.raises(IncidentLogError, match=why) as refused:
        parse_log(text)
    assert refused.value.line == line


def test_render_escapes_bars_and_joins_lines() -> None:
    assert render_row(row("2025-01-01 00:00", "a | b\nc", links="x|y")) == (
        "| 2025-01-01 00:00 | Инцидент | a \\| b c | autobot | x\\|y |"
    )
    assert {"Dry-run", "Инцидент", "Cancellation", "VRF-пополнение", "Релиз", "Backfill"} == set(
        HANDBOOK_TYPES
    )


async def test_the_file_follows_the_journal_and_keeps_a_persons_rows(tmp_path: Path) -> None:
    path = tmp_path / "incident_log.md"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    os.chmod(path, 0o640)
    async with await SqliteJournal.open(tmp_path / "j.sqlite3", clock=FakeClock()) as journal:
        writer = IncidentLogFile(path=path, journal=journal)
        assert await writer.sync()  # the first sync always writes
        assert not await writer.sync()  # nothing new
        await journal.add_incident(
            NewIncident(
                type=IncidentType.CANCELLATION,
                description="cancel of lottery 3 executed",
                responsible="ops-bot",
                tx_hash="0x" + "ef" * 32,
            )
        )
        assert await writer.sync()
    parsed = parse_log(path.read_text(encoding="utf-8"))
    assert [r.type for r in parsed.rows] == [
        "Релиз",
        "Backfill",
        "Cancellation",
    ]  # the journal row (2023) last
    assert parsed.rows[2].links == "0x" + "ef" * 32 and parsed.rows[2].responsible == "ops-bot"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".incident_log")] == []


async def test_a_file_that_is_not_the_handbooks_table_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "incident_log.md"
    path.write_text("# notes\nnot a table\n", encoding="utf-8")
    async with await SqliteJournal.open(tmp_path / "j.sqlite3", clock=FakeClock()) as journal:
        await journal.add_incident(
            NewIncident(type=IncidentType.INCIDENT, description="x", responsible="autobot")
        )
        with pytest.raises(IncidentLogError, match="no table"):
            await IncidentLogFile(path=path, journal=journal).sync()
    assert path.read_text(encoding="utf-8") == "# notes\nnot a table\n"
