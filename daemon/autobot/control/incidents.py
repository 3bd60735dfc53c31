"""``autobot incidents [--format text|markdown|json] [--json]``: the incident log, newest first.

Times are the wall-clock minute autobot wrote the row (UTC), as the handbook's table has them.

The daemon writes a row for every dry-run announcement, cancellation, refund batch, clamp
request and failure-limit event (``journal.records.Incident``: UTC minute, type, description,
responsible, links, and the action key, action hash and transaction hash where there are some).

``markdown`` is the handbook's table (docs/package.md §8) with an **English** header,
``| Date/time (UTC) | Type | Description | Responsible | Links |``; the handbook's own table
starts ``| Дата/время (UTC)``, so a file kept with the handbook's tool needs its header
swapped before appending. Rows are newest first, ``|`` in a cell is escaped as ``\\|`` (as the
handbook's ``incident_log.py`` does) and line breaks become spaces. The description names the
action, the transaction and the action hash when the row has them and the text does not.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from autobot.control.console import load, open_journal, plain, run
from autobot.journal.records import Incident

__all__ = ["MARKDOWN_HEADER", "incident_row", "incidents_command", "render_incidents"]

MARKDOWN_HEADER = "| Date/time (UTC) | Type | Description | Responsible | Links |"

Report = dict[str, Any]


def incident_row(incident: Incident) -> Report:
    row: Report = plain(incident)
    return row


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _description(row: Report) -> str:
    text: str = row["description"]
    extras = [
        f"{label} {value}"
        for label, value in (
            ("action", row["action_key"]),
            ("tx", row["tx_hash"]),
            ("action hash", row["action_hash"]),
        )
        if value and value not in text
    ]
    return f"{text} ({', '.join(extras)})" if extras else text


def render_incidents(rows: Sequence[Report], *, fmt: str) -> str:
    """``text``, ``markdown`` (the handbook's table) or ``json``; rows are newest first."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    if fmt == "markdown":
        cells = (
            (r["at_utc"], r["type"], _description(r), r["responsible"], r["links"]) for r in rows
        )
        body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in cells]
        return "\n".join([MARKDOWN_HEADER, "| --- | --- | --- | --- | --- |", *body])
    if not rows:
        return "no incidents"
    return "\n".join(
        f"{r['at_utc']}  {r['type']:<13} {_description(r)} — {r['responsible']}"
        + (f"  {r['links']}" if r["links"] else "")
        for r in rows
    )


def incidents_command(args: argparse.Namespace) -> int:
    return run(lambda: _incidents(args))


async def _incidents(args: argparse.Namespace) -> int:
    config = load(args).config  # no key files needed: the log names no operator keys
    async with await open_journal(config) as journal:
        rows = [incident_row(i) for i in await journal.incidents(limit=1_000_000)]
    print(render_incidents(rows, fmt="json" if args.json else args.format))
    return 0
