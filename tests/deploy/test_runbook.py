"""Every ``autobot …`` command the runbook tells an operator to run is accepted by the real CLI parser.

A runbook read at 3 a.m. must not contain a command that fails on flag order (``--config`` belongs to
the subcommand) or a flag that does not exist.
"""

from __future__ import annotations

import re
import shlex

import pytest
from deploy_support import REPO, RUNBOOK

from autobot.cli import build_parser

# Placeholders used in the runbook → a value of the right shape.
PLACEHOLDERS = {
    "$F": "/etc/autobot/autobot.toml",
    "OPERATOR": "ops-1",
    "ACTION_ID": "refund:4:1",
    "LOTTERY": "4",
    "ASSET": "1",
    "N": "5",
}


def _runbook_commands() -> list[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    spans = re.findall(r"(?<!`)`([^`]+)`(?!`)", text)
    commands = []
    for span in spans:
        command = " ".join(span.split())
        if command.startswith("autobot ") and "…" not in command and "[" not in command:
            commands.append(command)
    return sorted(set(commands))


COMMANDS = _runbook_commands()


def test_runbook_names_the_operator_commands() -> None:
    used = {command.split()[1] for command in COMMANDS}
    assert {
        "status",
        "actions",
        "incidents",
        "cancel",
        "feed",
        "refund",
        "bot",
        "check-config",
    } <= used


@pytest.mark.parametrize("command", COMMANDS)
def test_runbook_command_parses(command: str) -> None:
    argv = [PLACEHOLDERS.get(word, word) for word in shlex.split(command)[1:]]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse reports the problem on stderr and exits 2
        pytest.fail(f"{command!r} is rejected by the CLI (exit {exc.code})")


def test_unit_file_and_runbook_agree_on_the_config_path() -> None:
    unit = (REPO / "systemd" / "autobot.service").read_text(encoding="utf-8")
    assert "--config /etc/autobot/autobot.toml" in unit
    assert "F=/etc/autobot/autobot.toml" in RUNBOOK.read_text(encoding="utf-8")
