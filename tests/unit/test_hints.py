"""Hints run as printed: the program as it can be found, ``--config`` only when it is needed."""

from __future__ import annotations

import os
from pathlib import Path

from autobot.config import CommandEnvironment, find_config
from autobot.hints import Hints, program


def _installed(folder: Path) -> Path:
    exe = folder / "autobot"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return exe


def test_the_program_is_autobot_when_the_path_finds_this_one(tmp_path: Path) -> None:
    exe = _installed(tmp_path)
    assert program(str(exe), path_env=str(tmp_path)) == "autobot"


def test_the_program_is_its_path_when_the_path_does_not_find_it(tmp_path: Path) -> None:
    exe = _installed(tmp_path)
    assert program(str(exe), path_env="/nonexistent") == str(exe)
    assert program(".venv/bin/autobot", path_env="/nonexistent") == ".venv/bin/autobot"


def test_python_dash_m_gives_the_installed_name() -> None:
    assert program("/x/autobot/__main__.py", path_env="") == "autobot"


def test_a_hint_names_the_config_only_when_given(tmp_path: Path) -> None:
    assert Hints(prog="autobot")("status") == "`autobot status`"
    with_config = Hints(prog="autobot", config=tmp_path / "my config.toml")
    assert with_config.command("feed clear-clamp 2") == (
        f"autobot feed clear-clamp 2 --config '{tmp_path / 'my config.toml'}'"
    )


def test_the_search_finds_autobot_config_then_the_checkout_then_etc(tmp_path: Path) -> None:
    given = find_config("x.toml", env=CommandEnvironment(config="/y.toml"), cwd=tmp_path)
    assert (given.path, given.explicit) == (Path("x.toml"), True)
    env = find_config(None, env=CommandEnvironment(config="/y.toml"), cwd=tmp_path)
    assert (env.path, env.how, env.explicit) == (Path("/y.toml"), "$AUTOBOT_CONFIG", False)
    (tmp_path / ".autobot").mkdir()
    (tmp_path / ".autobot" / "autobot.toml").write_text("")
    found = find_config(None, env=CommandEnvironment(), cwd=tmp_path)
    assert found.path == tmp_path / ".autobot" / "autobot.toml"
    assert found.how == "found at .autobot/autobot.toml"
    assert os.path.isabs(found.path)
