"""The key scanner (``tests/key_scan.py``) finds a key in every spelling it claims, and nothing in
what autobot legitimately writes about a key (its address, its public key)."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import key_scan
from autobot.chain.signer import Signer

KEYS = key_scan.dev_keys()
ADMIN = KEYS["admin"]


def test_the_dev_keys_are_the_localnets_five_accounts() -> None:
    assert sorted(KEYS) == ["A", "B", "C", "D", "admin"]
    assert all(len(k) == 32 for k in KEYS.values())


@pytest.mark.parametrize(
    "spelled",
    [
        ADMIN.hex(),
        "0x" + ADMIN.hex().upper(),
        ADMIN.hex()[:10].upper() + ADMIN.hex()[10:],
        base64.b64encode(ADMIN).decode(),
        base64.urlsafe_b64encode(ADMIN).decode().rstrip("="),
        base64.b64encode(b"seed:" + ADMIN + b"public-key-bytes").decode(),
        base64.b64encode(b"xy" + ADMIN).decode(),
        repr(ADMIN),
        json.dumps({"detail": repr(ADMIN)}),
        json.dumps(list(ADMIN)),
        str(list(ADMIN)),
    ],
)
def test_every_spelling_of_a_key_is_found_in_text(spelled: str) -> None:
    findings = key_scan.scan_text(f"before {spelled} after", KEYS, where="log")
    assert [f.key for f in findings] and {f.key for f in findings} == {"admin"}
    assert all(ADMIN.hex() not in f.excerpt.lower() for f in findings)


def test_raw_bytes_and_sqlite_cells_are_found_with_their_table_and_column(tmp_path: Path) -> None:
    # given: a database with the key as a blob in one table and as hex text in another
    path = tmp_path / "j.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE tx (raw BLOB)")
    db.execute("CREATE TABLE notes (text TEXT)")
    db.execute("INSERT INTO tx VALUES (?)", (b"\x00" + KEYS["B"] + b"\x01",))
    db.execute("INSERT INTO notes VALUES (?)", ("key=" + KEYS["C"].hex(),))
    db.commit()
    # when: scanned while the rows are still in the WAL
    findings = key_scan.scan_paths([tmp_path], KEYS)
    db.close()
    # then
    cells = {(f.where.split(":")[-1], f.key) for f in findings if f.offset is None}
    assert cells == {("tx.raw[1]", "B"), ("notes.text[1]", "C")}
    assert any(f.spelling == "raw bytes" and f.key == "B" for f in findings)


def test_a_missing_path_is_an_error_not_a_clean_scan(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        key_scan.scan_paths([tmp_path / "nope.log"], KEYS)


def test_addresses_and_public_keys_are_not_key_material() -> None:
    signers = [Signer.from_private_key_hex(k.hex()) for k in KEYS.values()]
    text = "\n".join(f"{s!r} {s.address} {s.public_key_hex()}" for s in signers)
    assert key_scan.scan_text(text, KEYS, where="log") == []


@settings(max_examples=200)
@given(st.binary(max_size=2000))
def test_random_bytes_hold_no_dev_key(data: bytes) -> None:
    assert key_scan.scan_bytes(data, KEYS, where="x") == []


def test_keys_from_files_reads_key_files(tmp_path: Path) -> None:
    (tmp_path / "admin.key").write_text("0x" + ADMIN.hex() + "\n")
    assert key_scan.keys_from_files([tmp_path / "admin.key"]) == {"admin.key": ADMIN}
