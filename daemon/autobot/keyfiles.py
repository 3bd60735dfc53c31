"""Key files: where a private key may live, and what a key file must contain. No SDK here.

A key file holds one ed25519 private key as 64 hex digits (optionally ``0x``-prefixed, surrounding
whitespace ignored): the format of ``supra_sdk.account.Account.load_key``. This module decides
whether a file is acceptable and returns its contents wrapped in ``KeyMaterial``, which never
renders the key. Turning that into an SDK account is ``autobot.chain.keys`` (only ``chain/``
imports ``supra_sdk``), so ``check-config`` and the daemon's start run the very same checks.

The policy, as ssh applies to identity files: a key is refused when it is

* missing, unreadable, not a regular file (a symlink is followed and its *target* is judged),
* accessible by group or others (``mode & 0o077``), or not owned by the user autobot runs as
  (``os.geteuid()``): another local user could read or replace it,
* larger than a key file can be, or not exactly 64 hex digits, or all zeros (a placeholder).

One exception, for systemd's ``LoadCredential=``: a file inside ``$CREDENTIALS_DIRECTORY``
(``trusted_dir``) may also be owned by root and show group-read. systemd writes credentials
``0400`` and grants the service user read access with an ACL where the file system supports it,
which ``stat`` reports as an ``r`` in the group bits (the ACL mask); that directory is private to
the unit and read-only. Group write and any access for others are still refused there.

Every ``KeyFileError`` names the file and the reason, never a byte of its content: reasons are
built from ``stat`` results and lengths only, and decoding errors are not chained.

``read_secret_file`` is the same policy for any secret kept in a file (the PostgreSQL journal's
DSN, which may hold a password: ``autobot.journal.dsn``).
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from pathlib import Path
from typing import NoReturn

from autobot.errors import KeyFileError
from autobot.logs import register_secret

__all__ = ["MAX_KEY_FILE_BYTES", "KeyMaterial", "read_key_file", "read_secret_file"]

MAX_KEY_FILE_BYTES = 1024
"""A hex key with whitespace is ~67 bytes; anything this large is not a key file."""

_KEY = re.compile(rb"\s*(?:0[xX])?([0-9a-fA-F]{64})\s*")


class KeyMaterial:
    """A private key read from a file. ``repr``/``str`` never show it; it does not pickle."""

    __slots__ = ("_hex",)

    def __init__(self, hex_key: str) -> None:
        self._hex = hex_key

    def reveal_hex(self) -> str:
        """The key as ``0x`` + 64 lowercase hex digits: hand it to the SDK, nowhere else."""
        return self._hex

    def __repr__(self) -> str:
        return "KeyMaterial(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("key material cannot be pickled")


def _user(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def _refuse(
    path: Path, reason: str, *, before: tuple[str, ...] = (), what: str = "key file"
) -> NoReturn:
    """Refuse the file for ``reason`` (and the problems ``before`` it found already)."""
    reasons = (*before, reason)
    raise KeyFileError(str(path), "; ".join(reasons), reasons=reasons, what=what)


def _is_inside(path: Path, directory: Path) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(path), os.path.abspath(directory)]) == str(
            os.path.abspath(directory)
        )
    except ValueError:
        return False


def _check_stat(path: Path, st: os.stat_result, *, euid: int, trusted: bool) -> list[str]:
    """Every problem of the file's kind, owner and mode (a non-file is refused at once)."""
    kind = stat.S_IFMT(st.st_mode)
    if kind != stat.S_IFREG:
        names = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}
        _refuse(path, f"is not a regular file (it is {names.get(kind, 'a device')})")
    problems = []
    owners = {euid, 0} if trusted else {euid}
    if st.st_uid not in owners:
        problems.append(
            f"is owned by {_user(st.st_uid)}, not by {_user(euid)} that reads it; "
            "chown it to the daemon's user (and run check-config as that user)"
        )
    forbidden = 0o037 if trusted else 0o077
    mode = stat.S_IMODE(st.st_mode)
    if mode & forbidden:
        problems.append(f"has mode {mode:04o}, which lets group or others at it; chmod 600 it")
    return problems


def _read_vetted(
    path: Path, *, trusted_dir: Path | None, euid: int | None, max_bytes: int, what: str
) -> tuple[bytes, tuple[str, ...]]:
    """The file's bytes and the owner/mode problems found on the way (every one, so one run of
    check-config names them all); what makes reading impossible is refused at once."""
    uid = os.geteuid() if euid is None else euid
    trusted = trusted_dir is not None and _is_inside(path, trusted_dir)
    via = f" (a symlink to {os.path.realpath(path)})" if path.is_symlink() else ""
    try:
        # O_NONBLOCK: opening a FIFO must not hang; the fstat below refuses it anyway.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        _refuse(path, f"does not exist{via}", what=what)
    except PermissionError:
        _refuse(path, f"cannot be opened by {_user(uid)}: permission denied{via}", what=what)
    except OSError as exc:
        _refuse(path, f"cannot be opened: {exc.strerror or type(exc).__name__}{via}", what=what)
    found_already: list[str] = []
    try:
        try:
            found_already = [
                p + via for p in _check_stat(path, os.fstat(fd), euid=uid, trusted=trusted)
            ]
        except KeyFileError as exc:
            _refuse(path, exc.reason + via, what=what)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        _refuse(
            path,
            f"cannot be read: {exc.strerror or type(exc).__name__}",
            before=tuple(found_already),
            what=what,
        )
    finally:
        os.close(fd)
    before = tuple(found_already)
    if size > max_bytes:
        _refuse(path, f"is larger than {max_bytes} bytes: not a {what}", before=before, what=what)
    return b"".join(chunks), before


def read_secret_file(
    path: Path,
    *,
    trusted_dir: Path | None = None,
    euid: int | None = None,
    max_bytes: int = MAX_KEY_FILE_BYTES,
    what: str = "key file",
) -> bytes:
    """A secret file's bytes, after the checks of the module docstring (owner, mode, a regular
    file, at most ``max_bytes``); raises ``KeyFileError(path, reason, what=what)`` naming every
    problem found."""
    data, problems = _read_vetted(
        path, trusted_dir=trusted_dir, euid=euid, max_bytes=max_bytes, what=what
    )
    if problems:
        raise KeyFileError(str(path), "; ".join(problems), reasons=problems, what=what)
    return data


def read_key_file(
    path: Path, *, trusted_dir: Path | None = None, euid: int | None = None
) -> KeyMaterial:
    """Read and vet a key file; raises ``KeyFileError(path, reason)``.

    ``trusted_dir`` is ``$CREDENTIALS_DIRECTORY`` (see the module docstring); ``euid`` defaults to
    ``os.geteuid()`` (a parameter so tests can state it). The loaded key is registered with the
    log redactor (``autobot.logs.register_secret``) as defense in depth.
    """
    data, before = _read_vetted(
        path,
        trusted_dir=trusted_dir,
        euid=euid,
        max_bytes=MAX_KEY_FILE_BYTES,
        what="key file",
    )
    size = len(data)
    found = _KEY.fullmatch(data)
    if found is None:
        _refuse(
            path,
            f"is not a hex ed25519 private key ({size} bytes; expected 64 hex digits, "
            "optionally 0x-prefixed, on one line)",
            before=before,
        )
    body = found[1].decode("ascii").lower()
    if body == "0" * 64:
        _refuse(path, "holds an all-zero key (a placeholder, not a key)", before=before)
    register_secret(body)
    if before:
        raise KeyFileError(str(path), "; ".join(before), reasons=before)
    return KeyMaterial("0x" + body)
