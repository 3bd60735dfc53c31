"""``autobot --help`` and every command's help: every option listed with text, an example each, and
the exit codes listed once, at the top.

The help is parsed as a person reads it (the text argparse prints), and cross-checked against the
parser's own list of options, so an option added without help text fails here.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autobot.cli import EXIT_CODES, build_parser

REPO = Path(__file__).resolve().parents[2]
AUTOBOT = REPO / ".venv" / "bin" / "autobot"
SYSEXITS = {0, 1, 2, 70, 74, 75, 78, 130}


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))


def _options_with_text(help_text: str) -> dict[str, str]:
    """Every option line of a help text → the text beside (or below) it."""
    found: dict[str, str] = {}
    lines = help_text.splitlines()
    in_options = False
    for i, line in enumerate(lines):
        if re.match(r"^(options|positional arguments):$", line):
            in_options = True
            continue
        if in_options and line and not line.startswith(" "):
            in_options = False
        if not in_options or not line.startswith("  ") or line.startswith("    " * 4):
            continue
        match = re.match(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", line)
        if match is None or not (match[1].startswith("-") or match[1][0].isupper()):
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        continued = following.startswith(" " * 6)  # the text wrapped below a long option
        text = match[2] or (following.strip() if continued else "")
        found[match[1].split(",")[0].split()[0]] = text
    return found


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "autobot")
def test_every_option_of_every_command_has_help_text(path: tuple[str, ...]) -> None:
    parser = COMMANDS[path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.metavar or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{path} {name}: no help"
    printed = _options_with_text(parser.format_help())
    wanted = {
        a.option_strings[0] if a.option_strings else str(a.metavar)
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction)
    }
    for option in wanted:
        assert option in printed, f"{path}: {option} is not in the printed help"
        assert len(printed[option]) > 8, f"{path}: {option} has no text in the printed help"


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=lambda p: " ".join(p))
def test_every_command_ends_its_help_with_an_example(path: tuple[str, ...]) -> None:
    text = COMMANDS[path].format_help()
    example = text.split("example:\n", 1)
    assert len(example) == 2, f"{' '.join(path)}: no example"
    first = example[1].strip().splitlines()[0]
    assert first.startswith("autobot " + path[0])


def test_the_exit_codes_are_listed_once_in_the_main_help() -> None:
    assert {code for code, _ in EXIT_CODES} == SYSEXITS
    text = build_parser().format_help()
    listed = text.split("exit codes:\n", 1)[1].split("\n\n", 1)[0]
    codes = [int(line.split()[0]) for line in listed.splitlines()]
    assert codes == sorted(SYSEXITS)
    for path, parser in COMMANDS.items():
        if path:
            assert "exit codes:" not in parser.format_help(), path


def test_the_installed_program_prints_the_same_help() -> None:
    done = subprocess.run(
        [str(AUTOBOT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "exit codes:" in done.stdout and "130" in done.stdout
    printed = _options_with_text(done.stdout)
    assert set(printed) >= {"-h", "--version", "--config"}
    assert all(len(text) > 8 for option, text in printed.items() if option.startswith("-"))
