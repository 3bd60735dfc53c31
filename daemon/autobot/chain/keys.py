"""The daemon's signing keys: key files (vetted by ``autobot.keyfiles``) into ``Signer``s.

This is the SDK half of key loading; ``autobot.keyfiles`` is the SDK-free half (file permissions,
ownership, format). ``check-config`` and the daemon's start both call ``check_keys`` so they agree
on what is wrong, and report it as config problems under ``keys.admin_key_file`` and
``keys.operator_key_files.NAME``. Beyond each file, the set of keys must make sense:

* the admin key's address must be the package address (``lottery_multi`` checks
  ``signer == @lottery_multi``; with another key every admin call aborts ``E_REGISTRY_MISSING``);
* no two roles may share a key: an operator's attestations must come from another account than
  the admin's executions, and each account has one sequence-number writer (docs/decisions.md §3).

``autobot keygen PATH`` (``keygen_command``) writes a new key in the format and mode this module
accepts (hex, one line, 0600, created exclusively: never over an existing file) and prints only
its address.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from autobot.chain.signer import Signer
from autobot.config import Config
from autobot.domain.values import normalise_address
from autobot.errors import ConfigError, KeyFileError, Problem
from autobot.keyfiles import read_key_file

__all__ = [
    "Keyring",
    "check_keys",
    "keygen_command",
    "load_keyring",
    "load_signer",
    "write_new_key",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Keyring:
    """The admin signer and the operator signers by configured name. Shows addresses only."""

    admin: Signer
    operators: Mapping[str, Signer]

    def operator(self, name_or_address: str) -> tuple[str, Signer] | None:
        """Find an operator by its configured name or its address (any spelling)."""
        if name_or_address in self.operators:
            return name_or_address, self.operators[name_or_address]
        try:
            wanted = normalise_address(name_or_address)
        except ValueError:
            return None
        for name, signer in self.operators.items():
            if signer.address == wanted:
                return name, signer
        return None


def load_signer(path: Path, *, trusted_dir: Path | None = None, euid: int | None = None) -> Signer:
    """One key file into a ``Signer``; raises ``KeyFileError`` (never showing the key)."""
    material = read_key_file(path, trusted_dir=trusted_dir, euid=euid)
    try:
        return Signer.from_private_key_hex(material.reveal_hex())
    except ValueError:
        # Not chained: a foreign exception's text is not ours to vouch for.
        raise KeyFileError(str(path), "is not a valid ed25519 private key") from None


def check_keys(
    *,
    admin_key_file: Path | None,
    operator_key_files: Mapping[str, Path],
    package_address: str | None,
    credentials_directory: Path | None,
    euid: int | None = None,
) -> tuple[Keyring | None, list[Problem]]:
    """Load every given key; return the keyring (if complete and sound) and every problem found.

    Arguments may be partial (``check-config`` passes what converted); ``None``/missing entries
    are skipped, and then no keyring is returned.
    """
    problems: list[Problem] = []
    loaded: dict[str, Signer] = {}
    paths: dict[str, Path] = {}
    if admin_key_file is not None:
        paths["keys.admin_key_file"] = admin_key_file
    operator_paths = {name: f"keys.operator_key_files.{name}" for name in operator_key_files}
    for name, where in operator_paths.items():
        paths[where] = operator_key_files[name]
    for where, path in paths.items():
        try:
            loaded[where] = load_signer(path, trusted_dir=credentials_directory, euid=euid)
        except KeyFileError as exc:
            problems += [Problem(where, r, str(path), has_value=True) for r in exc.reasons]

    admin = loaded.get("keys.admin_key_file")
    if admin is not None and package_address is not None and admin.address != package_address:
        problems.append(
            Problem(
                "keys.admin_key_file",
                f"the key's address {admin.address} is not chain.package_address "
                f"{package_address}: every admin call would abort E_REGISTRY_MISSING",
                str(admin_key_file),
                has_value=True,
            )
        )
    owners: dict[str, str] = {}
    for where, signer in loaded.items():
        first = owners.setdefault(signer.address, where)
        if first != where:
            problems.append(
                Problem(
                    where,
                    f"is the same key as {first} ({signer.address}): every role needs its own key",
                    str(paths[where]),
                    has_value=True,
                )
            )

    if problems or admin is None or not operator_key_files:
        return None, problems
    operators = {name: loaded[where] for name, where in operator_paths.items()}
    return Keyring(admin=admin, operators=MappingProxyType(operators)), problems


def load_keyring(config: Config, *, euid: int | None = None) -> Keyring:
    """The daemon's keys, as the daemon starts; raises ``ConfigError`` listing every problem."""
    keyring, problems = check_keys(
        admin_key_file=config.keys.admin_key_file,
        operator_key_files=config.keys.operator_key_files,
        package_address=config.chain.package_address,
        credentials_directory=config.credentials_directory,
        euid=euid,
    )
    if keyring is None:
        raise ConfigError(problems, source=str(config.source))
    return keyring


def write_new_key(path: Path) -> str:
    """Create ``path`` (exclusively, mode 0600) holding a new random ed25519 key; its address.

    Raises ``FileExistsError`` if the path exists and ``OSError`` for any other failure (the
    partial file is removed).
    """
    key_hex = os.urandom(32).hex()
    address = Signer.from_private_key_hex(key_hex).address
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (key_hex + "\n").encode("ascii"))
        os.fsync(fd)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    del key_hex
    return str(address)


def keygen_command(args: argparse.Namespace) -> int:
    """``autobot keygen PATH``: exit 0 and the address; 1 if the file exists or cannot be written."""
    path = Path(args.path)
    try:
        address = write_new_key(path)
    except FileExistsError:
        print(f"autobot: {path} exists; keygen never overwrites a key file", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"autobot: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(
        f"wrote a new ed25519 key to {path} (mode 0600, owned by uid {os.geteuid()})\n"
        f"address: {address}\n"
        f'name it in the config\'s [keys] section (operator_key_files = {{ A = "{path.name}" }}, '
        "or admin_key_file for the package admin) and keep it owned by the daemon's user"
    )
    return 0
