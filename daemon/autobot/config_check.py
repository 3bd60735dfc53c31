"""``autobot check-config [PATH] [--json]``: every problem of a config file, of its key files and
of its journal's folder, in one list.

``config.py`` reads and checks the file (``read_config_file``); the key files are checked here with
``chain.keys.check_keys`` (the SDK lives in ``chain/``), and the PostgreSQL journal's DSN file
like a key file (``journal_setup.read_dsn_file``), so the config module knows nothing of keys and
nothing imports back into it. The SQLite journal's folder must exist and be writable by the user
running the check (the daemon's user): SQLite writes its WAL and lock files beside the journal.
``autobot run`` reports the same list when it cannot start. Without ``PATH`` the config is found
as every operator command finds it (``config.find_config``).

``--json`` prints ``{"ok", "path", "how", "problems": [{"path", "message", "value"}], "summary"}``
(exit 0 or 78 as without it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from autobot.chain.keys import check_keys
from autobot.config import READS_EXPLAINED, Config, ConfigFile, find_config, read_config_file
from autobot.errors import EX_CONFIG, ConfigError, KeyFileError, Problem
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
    journal = (
        journal_folder_problems(read.config.journal.path)
        if read.config is not None and read.config.journal.backend == "sqlite"
        else []
    )
    return read.config, [*read.problems, *key_problems, *journal, *_dsn_file_problems(read)]


def journal_folder_problems(path: Path) -> list[Problem]:
    """The journal's folder must exist and be writable (and the journal, if it exists)."""
    folder = path.parent
    if not folder.is_dir():
        return [
            Problem(
                "journal.path",
                f"its folder {folder} does not exist: create it, owned by the daemon's user",
                str(path),
                has_value=True,
            )
        ]
    problems = []
    if not os.access(folder, os.W_OK | os.X_OK):
        problems.append(
            Problem(
                "journal.path",
                f"its folder {folder} is not writable by this user (uid {os.geteuid()}): the "
                "journal and its WAL files are written there",
                str(path),
                has_value=True,
            )
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        problems.append(
            Problem(
                "journal.path",
                "the journal exists but this user cannot read and write it",
                str(path),
                has_value=True,
            )
        )
    return problems


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
    given = args.path if args.path is not None else getattr(args, "config", None)
    as_json = bool(getattr(args, "json", False))
    try:
        choice = find_config(given)
    except ConfigError as exc:
        return _report(None, "", list(exc.problems), as_json=as_json, config=None)
    config, problems = check_config_file(choice.path)
    return _report(choice.path, choice.how, problems, as_json=as_json, config=config)


def _report(
    source: Path | None,
    how: str,
    problems: list[Problem],
    *,
    as_json: bool,
    config: Config | None,
) -> int:
    ok = not problems and config is not None
    summary = (
        f"ok: chain {config.chain.chain_id} via {len(config.chain.rpc_urls)} endpoint(s), "
        f"package {config.chain.package_address}, "
        f"{len(config.keys.operator_key_files)} operator(s), mode {config.automation.mode}, "
        f"journal {config.journal.describe()}"
        + (f", ha instance {config.ha.instance_id}" if config.ha.enabled else "")
        if ok and config is not None
        else f"{source}: {len(problems)} problem(s)"
    )
    if as_json:
        print(
            json.dumps(
                {
                    "ok": ok,
                    "path": None if source is None else str(source),
                    "how": how or None,
                    "problems": [
                        {
                            "path": p.path,
                            "message": p.message,
                            "value": None if not p.has_value else str(p.value),
                        }
                        for p in problems
                    ],
                    "summary": summary,
                    "reads": None
                    if not ok or config is None
                    else {
                        "choice": config.chain.reads,
                        "explained": READS_EXPLAINED[config.chain.reads],
                    },
                },
                indent=2,
            )
        )
        return 0 if ok else EX_CONFIG
    if not ok or config is None:
        for problem in problems:
            print(problem.render(), file=sys.stderr)
        print(summary, file=sys.stderr)
        return EX_CONFIG
    print(f"{summary} ({source}, {how})")
    print(f"reads {config.chain.reads}: {READS_EXPLAINED[config.chain.reads]}")
    return 0
