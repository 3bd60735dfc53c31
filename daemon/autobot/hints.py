"""How autobot writes a command it suggests, so that it runs when pasted.

A hint (``→ autobot feed clear-clamp 2``) is only useful if it runs as printed, from where the
person reads it. Two things decide that:

* the program: ``autobot`` when ``$PATH`` finds this very program under that name, else the path
  it was started by (``.venv/bin/autobot`` after ``make run``: it runs from the checkout, where
  ``make run`` was typed);
* the config: the operator commands find it without ``--config`` (``config.find_config``:
  ``$AUTOBOT_CONFIG``, ``./.autobot/autobot.toml``, ``/etc/autobot/autobot.toml``), so a hint
  names it only when it would not be found that way (it was given with ``--config``, or the
  daemon runs with a config outside the search).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Hints", "program"]


def program(argv0: str | None = None, *, path_env: str = "") -> str:
    """The shortest spelling of this program that runs: ``autobot`` or the path it was run by."""
    started = argv0 if argv0 is not None else sys.argv[0]
    if os.path.basename(started) not in ("autobot", "__main__.py") or started.endswith(".py"):
        return "autobot"  # python -m autobot, or an embedding: the installed name
    found = shutil.which("autobot", path=path_env or None)
    if found is not None and os.path.realpath(found) == os.path.realpath(started):
        return "autobot"
    return shlex.quote(started) if os.sep in started else "autobot"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hints:
    """Writes ``autobot …`` commands for people: ``hints.command("status")``."""

    prog: str = "autobot"
    config: Path | None = None
    """Named in every hint (``--config PATH``) when a pasted command would not find it."""

    def command(self, args: str) -> str:
        """The full command, e.g. ``.venv/bin/autobot feed clear-clamp 2``."""
        config = "" if self.config is None else f" --config {shlex.quote(str(self.config))}"
        return f"{self.prog} {args}{config}"

    def __call__(self, args: str) -> str:
        """The command in backquotes, as hints are printed: ``\\`autobot status\\```."""
        return f"`{self.command(args)}`"
