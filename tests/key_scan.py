"""Scan what a run produced for private-key material: the check behind "no key anywhere".

Importable from any test as ``import key_scan`` (this folder holds the root ``conftest.py``, which
pytest puts on ``sys.path``). Typical use, after a demo or soak run::

    findings = key_scan.scan_paths([run_dir / "daemon.log", journal_path, metrics_file],
                                   key_scan.dev_keys())
    assert not findings, key_scan.report(findings)

A key is 32 bytes (an ed25519 seed; the SDK's "private key"). It counts as found in any of the
spellings a program might leak it in:

* the raw bytes (a BLOB, a pickle, a binary dump);
* hex, in any letter case, with or without ``0x`` (``str(PrivateKey)``, ``.hex()``, ``repr``);
* base64, standard or URL-safe alphabet, at any byte alignment (the stable core of the encoding
  is searched, so a key inside a longer blob, e.g. seed‖public key, is still found);
* Python's ``bytes`` repr body (``b'\\x9c…'``, also as escaped inside a JSON string) and a list of
  its byte values (``[156, 12, …]``).

Files are scanned as bytes (text, logs, the SQLite file and its ``-wal`` alike). A SQLite database
is also dumped (every column of every row of every table, read through SQLite, so WAL content
counts) so a finding names the table and column. Directories are walked. Nothing here prints a
key: a finding's excerpt shows the surroundings with the key replaced by ``<KEY:name>``.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Finding",
    "dev_keys",
    "keys_from_files",
    "report",
    "scan_bytes",
    "scan_file",
    "scan_paths",
    "scan_sqlite",
    "scan_text",
    "spellings",
]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_CONTEXT = 40


@dataclass(frozen=True, slots=True)
class Finding:
    """One key found: ``where`` (file, and table.column[rowid] for SQLite), which key, which
    spelling, the byte offset (None for SQLite cells) and a masked excerpt."""

    where: str
    key: str
    spelling: str
    offset: int | None
    excerpt: str

    def __str__(self) -> str:
        at = "" if self.offset is None else f" @{self.offset}"
        return f"{self.where}{at}: key {self.key!r} as {self.spelling}: …{self.excerpt}…"


def _key_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        if len(value) != 32:
            raise ValueError("a private key is 32 bytes")
        return value
    text = value.strip().removeprefix("0x").removeprefix("0X")
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("a private key is 64 hex digits")
    return raw


def dev_keys() -> dict[str, bytes]:
    """The localnet's well-known dev keys (admin and operators A-D) by account name."""
    from autobot.localnet.accounts import dev_accounts

    accounts = dev_accounts()
    return {a.name: _key_bytes(a.private_key) for a in (accounts.admin, *accounts.operators)}


def keys_from_files(paths: Iterable[Path]) -> dict[str, bytes]:
    """Keys read from key files (hex, as ``autobot.keyfiles`` accepts them), by file name."""
    return {Path(p).name: _key_bytes(Path(p).read_text()) for p in paths}


def _base64_cores(key: bytes, alphabet: str) -> list[bytes]:
    """For each byte alignment, the base64 characters that depend on the key alone."""
    encode = base64.urlsafe_b64encode if alphabet == "urlsafe" else base64.b64encode
    cores: list[bytes] = []
    for pad in range(3):
        text = encode(b"\x00" * pad + key + b"\x00\x00")
        start = (pad * 8 + 5) // 6  # first character with no bit from the padding before
        end = ((pad + len(key)) * 8) // 6  # last character with bits from the key only
        cores.append(text[start:end])
    return cores


def spellings(key: bytes) -> dict[str, bytes]:
    """Every needle searched for ``key``: spelling name → bytes. Hex needles are lower-case and
    matched against a lower-cased haystack (so any letter case, and ``0x``, is covered)."""
    needles: dict[str, bytes] = {"raw bytes": key, "hex": key.hex().encode()}
    for alphabet in ("standard", "urlsafe"):
        for pad, core in enumerate(_base64_cores(key, alphabet)):
            needles[f"base64 ({alphabet}, alignment {pad})"] = core
    needles["bytes repr"] = repr(key)[2:-1].encode()
    needles["bytes repr (JSON-escaped)"] = json.dumps(repr(key)[2:-1])[1:-1].encode()
    needles["byte list"] = ", ".join(str(b) for b in key).encode()
    needles["byte list (compact)"] = ",".join(str(b) for b in key).encode()
    return needles


def _excerpt(data: bytes, start: int, length: int, name: str) -> str:
    before = data[max(0, start - _CONTEXT) : start]
    after = data[start + length : start + length + _CONTEXT]
    text = before.decode("utf-8", "replace") + f"<KEY:{name}>" + after.decode("utf-8", "replace")
    return text.replace("\n", "\\n")


def scan_bytes(data: bytes, keys: Mapping[str, bytes], *, where: str) -> list[Finding]:
    """Every spelling of every key in ``data`` (first occurrence per key and spelling)."""
    lowered = data.lower()
    found: list[Finding] = []
    for name, key in keys.items():
        for spelling, needle in spellings(key).items():
            haystack = lowered if spelling == "hex" else data
            offset = haystack.find(needle)
            if offset >= 0:
                found.append(
                    Finding(
                        where, name, spelling, offset, _excerpt(data, offset, len(needle), name)
                    )
                )
    return found


def scan_text(text: str, keys: Mapping[str, bytes], *, where: str) -> list[Finding]:
    """``scan_bytes`` over text (an HTTP body, a command's output)."""
    return scan_bytes(text.encode("utf-8", "surrogatepass"), keys, where=where)


def scan_sqlite(path: Path, keys: Mapping[str, bytes]) -> list[Finding]:
    """Every cell of every table of the database at ``path`` (opened read-only; WAL included)."""
    found: list[Finding] = []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        ]
        for table in tables:
            rows: Iterable[tuple[Any, ...]]
            try:
                cursor = db.execute(f'SELECT rowid, * FROM "{table}"')
                columns = [d[0] for d in cursor.description][1:]
                rows = cursor
            except sqlite3.OperationalError:  # a WITHOUT ROWID table: number the rows instead
                cursor = db.execute(f'SELECT * FROM "{table}"')
                columns = [d[0] for d in cursor.description]
                rows = ((n, *row) for n, row in enumerate(cursor))
            for rowid, *values in rows:
                for column, value in zip(columns, values, strict=True):
                    if value is None:
                        continue
                    if isinstance(value, bytes):
                        cell = value
                    else:
                        cell = str(value).encode("utf-8", "surrogatepass")
                    for f in scan_bytes(cell, keys, where=f"{path}:{table}.{column}[{rowid}]"):
                        found.append(
                            Finding(f.where, f.key, f.spelling, None, f.excerpt)  # cell, no offset
                        )
    finally:
        db.close()
    return found


def scan_file(path: Path, keys: Mapping[str, bytes]) -> list[Finding]:
    """The file's bytes, and for a SQLite database also its cells."""
    data = Path(path).read_bytes()
    found = scan_bytes(data, keys, where=str(path))
    if data.startswith(_SQLITE_MAGIC):
        found += scan_sqlite(Path(path), keys)
    return found


def scan_paths(paths: Iterable[Path], keys: Mapping[str, bytes]) -> list[Finding]:
    """``scan_file`` over files, and over every file below directories (symlinks not followed).

    A missing path is an error (a scan that silently skipped its input proves nothing).
    """
    found: list[Finding] = []
    for path in map(Path, paths):
        if path.is_dir():
            for folder, _, names in os.walk(path):
                for name in sorted(names):
                    file = Path(folder) / name
                    if file.is_file() and not file.is_symlink():
                        found += scan_file(file, keys)
        elif path.is_file():
            found += scan_file(path, keys)
        else:
            raise FileNotFoundError(f"nothing to scan at {path}")
    return found


def report(findings: Iterable[Finding]) -> str:
    """The findings, one per line, for an assertion message."""
    return "\n".join(str(f) for f in findings) or "no key material found"
