"""What every operator command shares: loading, the journal, exit codes, and how values read.

``run`` is each command's frame: logs go to stderr (stdout carries only the answer, so
``--json`` parses), the async body runs with ``asyncio.run``, and failures become exit codes
with one clear line on stderr (``ConfigError`` → every problem, 78; a refusal, an unknown id, a
missing or unusable journal → 1).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import json
import logging
import os
import pwd
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import structlog

from autobot import journal_setup
from autobot.chain.keys import load_keyring
from autobot.clock import SystemClock
from autobot.config import Config, load_config
from autobot.control.survey import OperatorNames, RequestRefused
from autobot.domain.actions import ActionId
from autobot.errors import EX_CONFIG, ConfigError, JournalError
from autobot.journal.protocol import Journal
from autobot.logs import configure_logging

__all__ = [
    "EXIT_REFUSED",
    "CommandError",
    "Setup",
    "action_name",
    "from_json",
    "open_journal",
    "plain",
    "relative",
    "requested_by",
    "run",
    "setup",
    "short",
    "span",
    "sweep_note",
    "utc",
]

EXIT_REFUSED = 1
"""Refused, unknown id, no journal, or the chain unreachable where the command needs it."""

Report = dict[str, Any]


class CommandError(Exception):
    """A command that cannot go on: the message is for the operator; ``exit_code`` for the shell."""

    def __init__(self, message: str, *, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """autobot's logging, warnings and up, to stderr for the command; restored afterwards so an
    in-process caller (a test) keeps its own configuration."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(level="warning", log_format="console", stream=sys.stderr)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        structlog.configure(**saved)


def run(body: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run one command's async body; its failures become messages on stderr and exit codes."""
    with _logs_to_stderr():
        try:
            return asyncio.run(body())
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem.render(), file=sys.stderr)
            print(f"{exc.source}: {len(exc.problems)} problem(s)", file=sys.stderr)
            return EX_CONFIG
        except CommandError as exc:
            print(f"autobot: {exc}", file=sys.stderr)
            return exc.exit_code
        except RequestRefused as exc:
            print(f"autobot: refused: {exc}; nothing was written", file=sys.stderr)
            return EXIT_REFUSED
        except JournalError as exc:
            print(f"autobot: {exc}", file=sys.stderr)
            return EXIT_REFUSED


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    config: Config
    names: OperatorNames


def setup(args: argparse.Namespace) -> Setup:
    """The config and the operators' addresses; ``ConfigError`` (exit 78) lists every problem.

    Key files are read only to learn the addresses (the config names key files, not addresses);
    nothing here signs, and no key is ever printed.
    """
    config = load_config(args.config)
    try:
        keyring = load_keyring(config)
    except ConfigError:
        print(
            "autobot: key files are read to learn the operators' addresses; they must be "
            "readable by and owned by the user running this command (the daemon's user)",
            file=sys.stderr,
        )
        raise
    names = OperatorNames(by_name={n: s.address for n, s in keyring.operators.items()})
    return Setup(config=config, names=names)


async def open_journal(config: Config) -> Journal:
    """The daemon's journal. Never creates one: an empty new journal would hide the real one."""
    if config.journal.backend == "sqlite" and not config.journal.path.exists():
        raise CommandError(
            f"no journal at {config.journal.path} (journal.path in {config.source}): the daemon "
            "creates it on its first start; is it running with this config?"
        )
    return await journal_setup.open_journal(
        config.journal,
        clock=SystemClock(),
        credentials_directory=config.credentials_directory,
        create=False,
    )


def requested_by() -> str:
    """The user writing a request (the account, not the environment)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def sweep_note(config: Config) -> str:
    """When the daemon acts on a request: its next sweep."""
    note = (
        f"on its next sweep, within ~{span(config.scheduler.poll_interval_seconds)} "
        "(scheduler.poll_interval_seconds)"
    )
    if not config.automation.live:
        note += (
            " — NOTE: automation.mode is dry-run, so the daemon only plans and simulates it and "
            "submits nothing"
        )
    return note


# --------------------------------------------------------------------------------------------
# How values read


def utc(ts: float | None) -> str | None:
    """``2025-01-31 12:00:00 UTC`` (``None`` stays ``None``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(seconds: float) -> str:
    """A duration for people: ``45 s``, ``15 min``, ``2 h 5 min``, ``3 d 4 h``."""
    s = int(abs(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7_200:
        return f"{s // 60} min"
    if s < 172_800:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3_600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def relative(ts: int, now: int) -> str:
    """``in 15 min``, ``12 s ago`` or ``now``."""
    if ts == now:
        return "now"
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def short(address: str | None) -> str:
    """``0x3277…7503``."""
    return "-" if not address else f"{address[:6]}…{address[-4:]}"


def plain(value: Any) -> Any:
    """A domain value as JSON: dataclasses as dicts, bytes as 0x hex (empty: ``None``), string
    enums by value and integer enums by name, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return "0x" + value.hex() if value else None
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value, str) else value.name
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def from_json(text: str | None) -> Any:
    """Journaled JSON text as a value (text that does not parse stays text)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def action_name(action_id: int | None) -> str | None:
    """``PAYOUT_BATCH`` for 6."""
    if action_id is None:
        return None
    try:
        return ActionId(action_id).name
    except ValueError:
        return f"UNKNOWN_{action_id}"
