"""The incident log in the handbook's format, and the file auditors keep it in.

The handbook's log (docs/package.md §8) is one Markdown table whose header row begins
``| Дата/время (UTC)`` and has five columns: timestamp (``YYYY-MM-DD HH:MM``, UTC), event type,
description, responsible, links. Its tool keeps the rows newest first, escapes ``|`` inside a cell
as ``\\|`` and drops placeholder rows (a timestamp of ``____``, or none). The header and the type
names are data, not prose (docs/decisions.md §13): they are written in Russian wherever the table is.

Here, pure functions and one writer:

* ``render_table(rows)``: the table alone (``autobot incidents --format markdown``);
* ``parse_log(text)``: an existing file split into what precedes the table, its header and separator
  lines, its rows and what follows; ``IncidentLogError`` (naming the line) for a file that is not
  the handbook's table — such a file is never rewritten;
* ``merge_log(existing, rows)``: the file's text with ``rows`` (autobot's, from the journal, newest
  first) and every row of the file that is not one of them — a person's rows are kept — sorted
  newest first (a stable sort: rows of one minute keep their order, autobot's before a person's);
  everything around the table is kept as it was;
* ``IncidentLogFile.sync()``: after a sweep, when the journal has a new incident, rewrites the file
  atomically (a temporary file beside it, ``fsync``, ``rename``, ``fsync`` of the folder): a reader
  sees the old file or the new one, never half of one.

Rows are matched by their five cells: the journal holds every row autobot ever wrote, so each sync
writes all of them again, and a file row that equals one of them is that row (a multiset match, so two
equal rows of the journal stay two). A row of autobot's that someone edits in the file is theirs
from then on, and autobot's own version comes back beside it.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import structlog

from autobot.errors import IncidentLogError
from autobot.journal.records import Incident, IncidentType

__all__ = [
    "HANDBOOK_HEADER",
    "HANDBOOK_TYPES",
    "HEADER_LINE",
    "PLACEHOLDER",
    "SEPARATOR_LINE",
    "IncidentLogFile",
    "LogRow",
    "ParsedLog",
    "file_text",
    "merge_log",
    "parse_log",
    "render_row",
    "render_table",
    "row_of",
]

log = structlog.get_logger(__name__)

HANDBOOK_HEADER: tuple[str, ...] = (
    "Дата/время (UTC)",
    "Тип события",
    "Описание",
    "Ответственные",
    "Ссылки",
)
"""The handbook's column names (data: docs/decisions.md §13)."""
HEADER_LINE = "| " + " | ".join(HANDBOOK_HEADER) + " |"
SEPARATOR_LINE = "| --- | --- | --- | --- | --- |"
TABLE_MARKER = "| " + HANDBOOK_HEADER[0]
"""How the handbook's tool finds the table: the first line that starts with this."""
HANDBOOK_TYPES: frozenset[str] = frozenset({*IncidentType, "Релиз", "Backfill"})
"""Every event type the handbook uses; autobot writes the ``IncidentType`` ones."""
PLACEHOLDER = "____"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M"
_LEGACY_TYPES = {"Refund": IncidentType.CANCELLATION.value, "Incident": IncidentType.INCIDENT.value}
"""Types older journals hold, as the handbook names the event (refunds belong to the
cancellation; ``Incident`` was an English spelling of ``Инцидент``)."""
_UNESCAPED_BAR = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRow:
    """One row of the table, its cells unescaped."""

    at_utc: str  # "YYYY-MM-DD HH:MM"
    type: str
    description: str
    responsible: str
    links: str = ""

    @property
    def cells(self) -> tuple[str, str, str, str, str]:
        return (self.at_utc, self.type, self.description, self.responsible, self.links)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedLog:
    """An incident-log file: the lines before the table, its header and separator, its rows
    (placeholders dropped), the lines after it."""

    before: tuple[str, ...]
    header: tuple[str, str]
    rows: tuple[LogRow, ...]
    after: tuple[str, ...]


def _cell(text: str) -> str:
    """A cell as the handbook writes it: one line, ``|`` escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def render_row(row: LogRow) -> str:
    return "| " + " | ".join(_cell(c) for c in row.cells) + " |"


def render_table(rows: Iterable[LogRow]) -> str:
    """The handbook's table: header, separator, one line per row (in the order given)."""
    return "\n".join([HEADER_LINE, SEPARATOR_LINE, *(render_row(r) for r in rows)])


def row_of(incident: Incident) -> LogRow:
    """A journal incident as a row: the handbook's type, the description naming the action and
    its hash when the text does not already, the transaction hash as the link."""
    text = " ".join(incident.description.split())
    extras = [
        f"{label} {value}"
        for label, value in (("action", incident.action_key), ("hash", incident.action_hash))
        if value and value not in text
    ]
    if extras:
        text = f"{text} ({', '.join(extras)})"
    return LogRow(
        at_utc=incident.at_utc,
        type=_LEGACY_TYPES.get(incident.type, incident.type),
        description=text,
        responsible=incident.responsible,
        links=incident.links or incident.tx_hash or "",
    )


def _split(line: str, number: int) -> list[str]:
    body = line.strip()
    if not (body.startswith("|") and body.endswith("|") and len(body) > 1):
        raise IncidentLogError(f"line {number}: not a table row: {line!r}", line=number)
    return [c.strip().replace("\\|", "|") for c in _UNESCAPED_BAR.split(body[1:-1])]


def _is_timestamp(text: str) -> bool:
    """``YYYY-MM-DD HH:MM`` (UTC, the handbook's ``--timestamp``), zero-padded."""
    try:
        datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return False
    return len(text) == 16


def parse_log(text: str) -> ParsedLog:
    """Split an incident-log file (see the module doc); ``IncidentLogError`` names the first line
    that is not the handbook's table."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(TABLE_MARKER)), None)
    if start is None:
        raise IncidentLogError(f"no table whose header starts {TABLE_MARKER!r}")
    if len(_split(lines[start], start + 1)) != len(HANDBOOK_HEADER):
        raise IncidentLogError(
            f"line {start + 1}: the header has not the handbook's five columns", line=start + 1
        )
    if start + 1 >= len(lines) or not set(lines[start + 1].replace("|", "").strip()) <= set("-: "):
        raise IncidentLogError(
            f"line {start + 2}: the header is not followed by a separator row", line=start + 2
        )
    rows: list[LogRow] = []
    end = start + 2
    while end < len(lines) and lines[end].startswith("|"):
        number = end + 1
        cells = _split(lines[end], number)
        end += 1
        if len(cells) != len(HANDBOOK_HEADER):
            raise IncidentLogError(
                f"line {number}: {len(cells)} cells, the handbook's table has five "
                "(an unescaped '|' inside a cell?)",
                line=number,
            )
        if cells[0] in ("", PLACEHOLDER):
            continue  # a placeholder row: the handbook's tool drops them too
        if not _is_timestamp(cells[0]):
            raise IncidentLogError(
                f"line {number}: timestamp {cells[0]!r} is not 'YYYY-MM-DD HH:MM' (UTC)",
                line=number,
            )
        rows.append(
            LogRow(
                at_utc=cells[0],
                type=cells[1],
                description=cells[2],
                responsible=cells[3],
                links=cells[4],
            )
        )
    return ParsedLog(
        before=tuple(lines[:start]),
        header=(lines[start], lines[start + 1]),
        rows=tuple(rows),
        after=tuple(lines[end:]),
    )


def merge_log(existing: ParsedLog | None, rows: Sequence[LogRow]) -> str:
    """The file's text with autobot's ``rows`` and every other row ``existing`` holds (see the
    module doc); a new file when ``existing`` is ``None``."""
    theirs: list[LogRow] = []
    if existing is not None:
        ours = Counter(r.cells for r in rows)
        for row in existing.rows:
            if ours[row.cells] > 0:
                ours[row.cells] -= 1
            else:
                theirs.append(row)
    merged = sorted([*rows, *theirs], key=lambda r: r.at_utc, reverse=True)
    body = [render_row(r) for r in merged]
    if existing is None:
        return "\n".join([HEADER_LINE, SEPARATOR_LINE, *body]) + "\n"
    return "\n".join([*existing.before, *existing.header, *body, *existing.after]) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a temporary file in the same folder, flushed to disk, then
    renamed over it, then the folder flushed (the rename itself survives a crash)."""
    folder = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def file_text(path: Path, rows: Sequence[LogRow]) -> str:
    """The text ``path`` should hold with autobot's ``rows``: the file merged with them, or a new
    table; ``IncidentLogError`` if the file cannot be read or is not the handbook's table."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return merge_log(None, rows)
    except (OSError, UnicodeDecodeError) as exc:
        raise IncidentLogError(f"cannot read {path}: {exc}") from exc
    try:
        return merge_log(parse_log(current), rows)
    except IncidentLogError as exc:
        raise IncidentLogError(f"{path}: {exc}", line=exc.line) from None


class IncidentSource(Protocol):
    """What the writer needs of the journal."""

    async def incidents(self, *, limit: int = 100) -> list[Incident]: ...


class IncidentLogFile:
    """Keeps ``path`` equal to the journal's incidents plus the rows people wrote there."""

    ALL = 1_000_000

    def __init__(self, *, path: Path, journal: IncidentSource) -> None:
        self.path = path
        self._journal = journal
        self._synced: int | None = None  # the newest incident id written to the file

    async def sync(self) -> bool:
        """Rewrite the file if the journal has an incident it does not hold yet (always at the
        first call); True if it was written. ``IncidentLogError``: left as it was."""
        newest = await self._journal.incidents(limit=1)
        marker = newest[0].id if newest else 0
        if marker == self._synced:
            return False
        rows = [row_of(i) for i in await self._journal.incidents(limit=self.ALL)]
        written = await asyncio.to_thread(self._write, rows)
        self._synced = marker
        if written:
            log.info("incident_log_written", path=str(self.path), rows=len(rows))
        return written

    def _write(self, rows: Sequence[LogRow]) -> bool:
        text = file_text(self.path, rows)
        try:
            if self.path.exists() and self.path.read_text(encoding="utf-8") == text:
                return False
            _write_atomically(self.path, text)
        except OSError as exc:
            raise IncidentLogError(f"cannot write {self.path}: {exc}") from exc
        return True
