"""``autobot check-config PATH``: every problem of a config file *and* of its key files, in one list.

``config.py`` reads and checks the file (``read_config_file``); the key files are checked here with
``chain.keys.check_keys`` (the SDK lives in ``chain/``), and the PostgreSQL journal's DSN file
like a key file (``journal_setup.read_dsn_file``), so the config module knows nothing of keys and
nothing imports back into it. ``autobot run`` reports the same list when it cannot start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from autobot.chain.keys import check_keys
from autobot.config import READS_EXPLAINED, Config, ConfigFile, read_config_file
from autobot.errors import EX_CONFIG, KeyFileError, Problem
from autobot.journal_setup import read_dsn_file

__all__ = ["check_config_command", "check_config_file"]


def check_config_file(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> tuple[Config | None, list[Problem]]:
    """Every problem of a config file and of its key files, in one list (empty: usable).

    Key files are checked even when other sections have problems, so one run lists everything.
    """
    read = read_config_file(path, environ=environ)
    _, key_problems = check_keys(
        admin_key_file=read.admin_key_file,
        operator_key_files=read.operator_key_files,
        package_address=read.package_address,
        credentials_directory=read.credentials_directory,
    )
    return read.config, [*read.problems, *key_problems, *_dsn_file_problems(read)]


def _dsn_file_problems(read: ConfigFile) -> list[Problem]:
    """The journal's DSN file vetted like a key file (``journal.dsn_file``), when it is used."""
    if read.dsn_file is None:
        return []
    try:
        read_dsn_file(read.dsn_file, trusted_dir=read.credentials_directory)
    except KeyFileError as exc:
        return [Problem("journal.dsn_file", exc.reason, str(read.dsn_file), has_value=True)]
    return []


def check_config_command(args: argparse.Namespace) -> int:
    """Validate the file and its key files; print every problem, exit 78 if there is one.

    Run it as the daemon's user: key files must be owned by the user that reads them.
    """
    source = Path(args.path)
    config, problems = check_config_file(source)
    if problems or config is None:
        for problem in problems:
            print(problem.render(), file=sys.stderr)
        print(f"{source}: {len(problems)} problem(s)", file=sys.stderr)
        return EX_CONFIG
    print(
        f"ok: chain {config.chain.chain_id} via {len(config.chain.rpc_urls)} endpoint(s), "
        f"package {config.chain.package_address}, "
        f"{len(config.keys.operator_key_files)} operator(s), mode {config.automation.mode}, "
        f"journal {config.journal.describe()}"
        + (f", ha instance {config.ha.instance_id}" if config.ha.enabled else "")
    )
    print(f"reads {config.chain.reads}: {READS_EXPLAINED[config.chain.reads]}")
    return 0
