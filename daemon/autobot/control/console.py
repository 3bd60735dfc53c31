"""What every operator command shares: loading, the journal, exit codes, and how values read.

``run`` is each command's frame: logs go to stderr (stdout carries only the answer, so
``--json`` parses), the async body runs with ``asyncio.run``, and failures become exit codes
with one clear line on stderr (``autobot.cli.EXIT_CODES``): a refusal, a rejection or an
unknown id → 1; the journal missing or unusable → 74; the chain not answering → 75;
``ConfigError`` → every problem, 78; Ctrl-C → 130; a bug → 70 (the traceback on stderr, through
the log redactor).

``setup`` finds the config (``config.find_config``: ``--config``, ``$AUTOBOT_CONFIG``,
``./.autobot/autobot.toml``, ``/etc/autobot/autobot.toml``) and learns the operators' names;
``Setup.hints`` writes the commands the output suggests so that they run as printed
(``autobot.hints``).
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
from typing import Any

import structlog

from autobot import journal_setup
from autobot.chain.keys import load_keyring
from autobot.clock import SystemClock
from autobot.config import (
    CommandEnvironment,
    Config,
    ConfigChoice,
    command_environment,
    find_config,
    load_config,
)
from autobot.control.survey import OperatorNames, RequestRefused
from autobot.domain.actions import ActionId
from autobot.domain.calls import TIME_ARGUMENTS, Call
from autobot.errors import EX_CONFIG, EX_IOERR, EX_SOFTWARE, ConfigError, JournalError
from autobot.hints import Hints, program
from autobot.journal.protocol import Journal
from autobot.logs import configure_logging
from autobot.status.moments import chain_text, duration_text

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "ChainUnreachable",
    "CommandError",
    "Loaded",
    "Setup",
    "action_name",
    "call_text",
    "from_json",
    "load",
    "open_journal",
    "plain",
    "relative",
    "requested_by",
    "run",
    "setup",
    "short",
    "span",
    "sweep_note",
]

EXIT_REFUSED = 1
"""Refused, rejected, failed, or an unknown id."""
EXIT_UNAVAILABLE = 75
"""EX_TEMPFAIL: the chain did not answer (try again)."""
EXIT_INTERRUPTED = 130

Report = dict[str, Any]

log = structlog.get_logger(__name__)


class CommandError(Exception):
    """A command that cannot go on: the message is for the operator; ``exit_code`` for the shell."""

    def __init__(self, message: str, *, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ChainUnreachable(CommandError):
    """The chain did not answer within the command's deadline (exit 75: try again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_UNAVAILABLE)


@contextmanager
def _logs_to_stderr(env: CommandEnvironment) -> Iterator[None]:
    """autobot's logging, warnings and up, to stderr for the command; restored afterwards so an
    in-process caller (a test) keeps its own configuration."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    colors = None if not env.no_color else False
    configure_logging(level="warning", log_format="console", stream=sys.stderr, colors=colors)
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
    with _logs_to_stderr(command_environment()):
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
            return EXIT_UNAVAILABLE if exc.unreachable else EXIT_REFUSED
        except JournalError as exc:
            print(f"autobot: {exc}", file=sys.stderr)
            return EX_IOERR
        except KeyboardInterrupt:
            print("autobot: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:  # the process boundary: a bug
            log.critical("command_crashed", error=type(exc).__name__, exc_info=True)
            print(
                f"autobot: internal error ({type(exc).__name__}); the traceback is above: "
                "please report it",
                file=sys.stderr,
            )
            return EX_SOFTWARE


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """The config a command runs with, which file it is and why, and how hints are written."""

    config: Config
    choice: ConfigChoice
    env: CommandEnvironment
    hints: Hints


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Setup(Loaded):
    names: OperatorNames


def load(args: argparse.Namespace) -> Loaded:
    """The config (no key files): ``ConfigError`` (exit 78) lists every problem."""
    env = command_environment()
    choice = find_config(getattr(args, "config", None), env=env)
    config = load_config(choice.path)
    hints = Hints(prog=program(path_env=env.path), config=choice.path if choice.explicit else None)
    return Loaded(config=config, choice=choice, env=env, hints=hints)


def setup(args: argparse.Namespace) -> Setup:
    """The config and the operators' addresses; ``ConfigError`` (exit 78) lists every problem.

    Key files are read only to learn the addresses (the config names key files, not addresses);
    nothing here signs, and no key is ever printed.
    """
    loaded = load(args)
    try:
        keyring = load_keyring(loaded.config)
    except ConfigError:
        print(
            "autobot: key files are read to learn the operators' addresses; they must be "
            "readable by and owned by the user running this command (the daemon's user)",
            file=sys.stderr,
        )
        raise
    names = OperatorNames(by_name={n: s.address for n, s in keyring.operators.items()})
    return Setup(
        config=loaded.config,
        choice=loaded.choice,
        env=loaded.env,
        hints=loaded.hints,
        names=names,
    )


async def open_journal(config: Config) -> Journal:
    """The daemon's journal. Never creates one: an empty new journal would hide the real one."""
    if config.journal.backend == "sqlite" and not config.journal.path.exists():
        raise CommandError(
            f"no journal at {config.journal.path} (journal.path in {config.source}): the daemon "
            "creates it on its first start; is it running with this config?",
            exit_code=EX_IOERR,
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


def span(seconds: float) -> str:
    """A duration for people: ``45 s``, ``15 min``, ``2 h 5 min``, ``3 d 4 h``."""
    return duration_text(seconds)


def relative(ts: int, now: int) -> str:
    """``in 15 min``, ``12 s ago`` or ``now`` (both on one clock)."""
    if ts == now:
        return "now"
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def call_text(call: Any) -> str:
    """A journaled call (``{"module", "function", "args": [[type, value], …]}``) or a ``Call``
    for people: its chain-time arguments labelled (``chain time …``), never as numbers; long
    bytes and addresses shortened."""
    if isinstance(call, Call):
        module, function = call.module, call.function
        args: list[Any] = [[a.move_type, getattr(a, "value", None)] for a in call.args]
    elif isinstance(call, dict):
        module, function = str(call.get("module")), str(call.get("function"))
        args = [a for a in call.get("args", []) if isinstance(a, list) and len(a) == 2]
    else:
        return str(call)
    times = TIME_ARGUMENTS.get((module, function), frozenset())
    shown: list[str] = []
    for i, (_move_type, value) in enumerate(args):
        if i in times and isinstance(value, int | str) and str(value).isdigit():
            shown.append(chain_text(int(value)))
        elif isinstance(value, tuple | list):
            shown.append("[" + ", ".join(str(v) for v in value) + "]")
        elif isinstance(value, bytes):
            shown.append("0x" + (value.hex() if len(value) <= 8 else value[:4].hex() + "…"))
        elif isinstance(value, str) and value.startswith("0x") and len(value) > 20:
            shown.append(value[:10] + "…" + value[-4:])
        else:
            shown.append(f"{value}")
    return f"{module}::{function}({', '.join(shown)})"


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
