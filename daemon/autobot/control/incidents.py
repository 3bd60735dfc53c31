"""``autobot incidents [--format text|markdown|json] [--json]``: the incident log, newest first.

Times are the wall-clock minute autobot wrote the row (UTC), as the handbook's table has them.

The daemon writes a row for every dry-run announcement, cancellation (the VRF exhaustion path's
included) and refund batch, VRF deposit pause and resume, price-feed fallback set or released,
clamp cleared, bot rotated, failure, parked action and escalation
(``journal.records.Incident``: UTC minute, type, description, responsible, links, and the action
key, action hash and transaction hash where there are some).

``markdown`` is the handbook's table exactly (docs/package.md §8, docs/decisions.md §13), rendered
by ``journal.incident_log``: the header ``| Дата/время (UTC) | Тип события | …``, the handbook's
types, newest first, ``|`` in a cell escaped as ``\\|``, line breaks as spaces, the transaction hash
as the link. With ``[incidents] log_path`` set it prints the file's table as the daemon keeps it
(the rows people wrote there included), so the two never differ; ``text`` and ``json`` show the
journal's rows.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from autobot.config import Config
from autobot.control.console import CommandError, load, open_journal, plain, run
from autobot.errors import IncidentLogError
from autobot.journal.incident_log import IncidentLogFile, LogRow, file_text, render_table, row_of
from autobot.journal.records import Incident

__all__ = ["incident_row", "incidents_command", "markdown", "render_incidents"]

Report = dict[str, Any]


def incident_row(incident: Incident) -> Report:
    row: Report = plain(incident)
    return row


def markdown(incidents: Sequence[Incident], config: Config | None = None) -> str:
    """The handbook's table of ``incidents``; merged into ``[incidents] log_path``'s rows when
    the config names that file."""
    rows = [row_of(i) for i in incidents]
    path = config.incidents.log_path if config is not None else None
    if path is None:
        return render_table(rows)
    return file_text(path, rows).rstrip("\n")


def render_incidents(incidents: Sequence[Incident], *, fmt: str) -> str:
    """``text``, ``markdown`` (the handbook's table) or ``json``; ``incidents`` newest first."""
    if fmt == "json":
        return json.dumps([incident_row(i) for i in incidents], indent=2)
    if fmt == "markdown":
        return render_table(row_of(i) for i in incidents)
    if not incidents:
        return "no incidents"
    return "\n".join(_text_line(row_of(i)) for i in incidents)


def _text_line(row: LogRow) -> str:
    line = f"{row.at_utc}  {row.type:<14} {row.description} — {row.responsible}"
    return line + (f"  {row.links}" if row.links else "")


def incidents_command(args: argparse.Namespace) -> int:
    return run(lambda: _incidents(args))


async def _incidents(args: argparse.Namespace) -> int:
    config = load(args).config  # no key files needed: the log names no operator keys
    async with await open_journal(config) as journal:
        found = await journal.incidents(limit=IncidentLogFile.ALL)
    fmt = "json" if args.json else args.format
    if fmt == "markdown":
        try:
            print(markdown(found, config))
        except IncidentLogError as exc:
            raise CommandError(
                f"{exc}; the file is left as it is (the daemon does not rewrite it either): fix "
                "it, or run without [incidents] log_path"
            ) from None
        return 0
    print(render_incidents(found, fmt=fmt))
    return 0
