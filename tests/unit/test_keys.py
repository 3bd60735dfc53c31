"""Key files (``autobot.keyfiles``) and the keyring built from them (``autobot.chain.keys``)."""

from __future__ import annotations

import io
import logging
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from autobot.chain.keys import check_keys, load_keyring, load_signer
from autobot.chain.signer import Signer
from autobot.config import parse_config
from autobot.errors import ConfigError, KeyFileError
from autobot.keyfiles import MAX_KEY_FILE_BYTES, KeyMaterial, read_key_file
from autobot.logs import configure_logging

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")

SECRET = "4f" * 32  # never expected in any message


def write_key(path: Path, text: str = SECRET, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def address_of(hex_key: str) -> str:
    return Signer.from_private_key_hex(hex_key).address


def refusal(path: Path, **kwargs: object) -> KeyFileError:
    with pytest.raises(KeyFileError) as caught:
        read_key_file(path, **kwargs)  # type: ignore[arg-type]
    error = caught.value
    for text in (str(error), repr(error), error.reason):
        assert SECRET not in text and SECRET.upper() not in text
    assert error.path == str(path)
    return error


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    structlog.reset_defaults()


# ---------------------------------------------------------------------------------------------
# autobot.keyfiles: the file policy


def test_a_0600_key_file_owned_by_the_user_loads(tmp_path: Path) -> None:
    material = read_key_file(write_key(tmp_path / "k"))
    assert material.reveal_hex() == "0x" + SECRET


@pytest.mark.parametrize(
    "text",
    [SECRET, "0x" + SECRET, "0X" + SECRET.upper(), f"  {SECRET}\n", f"\n0x{SECRET}\r\n"],
)
def test_hex_with_or_without_0x_and_surrounding_whitespace_is_accepted(
    tmp_path: Path, text: str
) -> None:
    assert read_key_file(write_key(tmp_path / "k", text)).reveal_hex() == "0x" + SECRET


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o620, 0o602, 0o660, 0o666, 0o700 | 0o070])
def test_a_key_file_accessible_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    error = refusal(write_key(tmp_path / "k", mode=mode))
    assert f"mode {mode:04o}" in error.reason and "chmod 600" in error.reason


def test_a_0400_key_file_is_accepted(tmp_path: Path) -> None:
    assert read_key_file(write_key(tmp_path / "k", mode=0o400)).reveal_hex() == "0x" + SECRET


@needs_root
def test_a_key_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k")
    os.chown(path, 65534, -1)
    error = refusal(path)
    assert "owned by uid 65534" in error.reason


def test_a_key_file_owned_by_root_is_refused_for_another_daemon_user(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k")
    error = refusal(path, euid=os.geteuid() + 1000)
    assert f"owned by uid {os.geteuid()}" in error.reason


def test_a_symlink_to_a_good_key_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(write_key(tmp_path / "k"))
    assert read_key_file(tmp_path / "link").reveal_hex() == "0x" + SECRET


def test_a_symlink_to_a_permissive_key_file_is_refused_naming_the_target(tmp_path: Path) -> None:
    target = write_key(tmp_path / "k", mode=0o644)
    (tmp_path / "link").symlink_to(target)
    error = refusal(tmp_path / "link")
    assert "mode 0644" in error.reason and str(target) in error.reason


def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    assert "does not exist" in refusal(tmp_path / "link").reason


def test_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "missing").reason == "does not exist"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o700)
    assert "not a regular file (it is a directory)" in refusal(tmp_path / "d").reason


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo", 0o600)
    assert "a FIFO" in refusal(tmp_path / "fifo").reason


@pytest.mark.parametrize(
    "text",
    [
        SECRET[:-1],  # 63 digits
        SECRET + "0",  # 65 digits
        SECRET[:-1] + "g",  # not hex
        f"{SECRET}\n{SECRET}",  # two keys
        f'{{"private_key": "0x{SECRET}"}}',  # the SDK's JSON account file
        f"ed25519-priv-0x{SECRET}",
        "",
    ],
)
def test_a_malformed_key_is_refused_without_showing_it(tmp_path: Path, text: str) -> None:
    error = refusal(write_key(tmp_path / "k", text))
    assert "is not a hex ed25519 private key" in error.reason


def test_binary_garbage_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(b"\xff\xfe" + bytes.fromhex(SECRET))
    path.chmod(0o600)
    assert "is not a hex ed25519 private key" in refusal(path).reason


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    error = refusal(write_key(tmp_path / "k", SECRET + " " * MAX_KEY_FILE_BYTES))
    assert f"larger than {MAX_KEY_FILE_BYTES} bytes" in error.reason


def test_an_all_zero_key_is_refused_as_a_placeholder(tmp_path: Path) -> None:
    assert "all-zero" in refusal(write_key(tmp_path / "k", "0" * 64)).reason


def test_key_material_never_renders_and_does_not_pickle(tmp_path: Path) -> None:
    material = read_key_file(write_key(tmp_path / "k"))
    assert (
        SECRET not in repr(material) and SECRET not in str(material) and SECRET not in f"{material}"
    )
    with pytest.raises(TypeError):
        pickle.dumps(material)
    assert repr(KeyMaterial("x")) == "KeyMaterial(<redacted>)"


@needs_root
def test_inside_the_credentials_directory_a_root_owned_acl_granted_copy_is_accepted(
    tmp_path: Path,
) -> None:
    # systemd writes 0400 root-owned copies and grants the service user read with an ACL, which
    # stat shows as group-read (0440); the daemon runs as another (dynamic) user.
    path = write_key(tmp_path / "admin.key", mode=0o440)
    material = read_key_file(path, trusted_dir=tmp_path, euid=61_234)
    assert material.reveal_hex() == "0x" + SECRET


def test_outside_the_credentials_directory_group_read_is_refused(tmp_path: Path) -> None:
    path = write_key(tmp_path / "admin.key", mode=0o440)
    assert "mode 0440" in refusal(path, trusted_dir=tmp_path / "elsewhere").reason


def test_inside_the_credentials_directory_others_still_may_not_read(tmp_path: Path) -> None:
    error = refusal(write_key(tmp_path / "admin.key", mode=0o444), trusted_dir=tmp_path)
    assert "mode 0444" in error.reason


# ---------------------------------------------------------------------------------------------
# autobot.chain.keys: signers and the keyring


def keys_config(tmp_path: Path, *, admin: str, operators: dict[str, str]) -> dict[str, object]:
    return {
        "chain": {
            "rpc_urls": ["http://127.0.0.1:27100/"],
            "chain_id": 77,
            "package_address": address_of(admin),
        },
        "keys": {"admin_key_file": "admin.key", "operator_key_files": operators},
    }


def make_keys(tmp_path: Path, count: int) -> list[str]:
    keys = [os.urandom(32).hex() for _ in range(count)]
    write_key(tmp_path / "admin.key", keys[0])
    for i, key in enumerate(keys[1:]):
        write_key(tmp_path / f"op{i}.key", key)
    return keys


def test_a_loaded_signer_shows_its_address_and_never_its_key(tmp_path: Path) -> None:
    signer = load_signer(write_key(tmp_path / "k"))
    assert signer.address == address_of(SECRET)
    for text in (repr(signer), str(signer), f"{signer!r}"):
        assert SECRET not in text and signer.address in text


def test_the_keyring_holds_the_admin_and_named_operators(tmp_path: Path) -> None:
    keys = make_keys(tmp_path, 3)
    config = parse_config(
        keys_config(tmp_path, admin=keys[0], operators={"A": "op0.key", "B": "op1.key"}),
        source=tmp_path / "autobot.toml",
        environ={},
    )

    keyring = load_keyring(config)

    assert keyring.admin.address == config.chain.package_address
    assert {name: s.address for name, s in keyring.operators.items()} == {
        "A": address_of(keys[1]),
        "B": address_of(keys[2]),
    }
    assert keyring.operator("B") == ("B", keyring.operators["B"])
    assert keyring.operator(address_of(keys[1]).upper().replace("0X", "0x")) == (
        "A",
        keyring.operators["A"],
    )
    assert keyring.operator("C") is None
    assert all(k not in repr(keyring) for k in keys)


def test_an_admin_key_that_is_not_the_package_address_is_a_problem(tmp_path: Path) -> None:
    keys = make_keys(tmp_path, 2)
    keyring, problems = check_keys(
        admin_key_file=tmp_path / "admin.key",
        operator_key_files={"A": tmp_path / "op0.key"},
        package_address="0x" + "1" * 64,
        credentials_directory=None,
    )
    assert keyring is None
    (problem,) = problems
    assert problem.path == "keys.admin_key_file"
    assert address_of(keys[0]) in problem.message and "E_REGISTRY_MISSING" in problem.message


def test_two_roles_sharing_one_key_is_a_problem(tmp_path: Path) -> None:
    keys = make_keys(tmp_path, 2)
    write_key(tmp_path / "copy.key", keys[0])
    _, problems = check_keys(
        admin_key_file=tmp_path / "admin.key",
        operator_key_files={"A": tmp_path / "op0.key", "B": tmp_path / "copy.key"},
        package_address=address_of(keys[0]),
        credentials_directory=None,
    )
    assert [(p.path, "keys.admin_key_file" in p.message) for p in problems] == [
        ("keys.operator_key_files.B", True)
    ]


def test_every_key_problem_is_reported_by_config_path(tmp_path: Path) -> None:
    keys = make_keys(tmp_path, 2)
    (tmp_path / "op0.key").chmod(0o644)
    config = parse_config(
        keys_config(tmp_path, admin=keys[0], operators={"A": "op0.key", "B": "missing.key"}),
        source=tmp_path / "autobot.toml",
        environ={},
    )
    with pytest.raises(ConfigError) as caught:
        load_keyring(config)
    assert [p.path for p in caught.value.problems] == [
        "keys.operator_key_files.A",
        "keys.operator_key_files.B",
    ]
    assert all(k not in str(caught.value) for k in keys)


def test_loading_a_key_registers_it_for_log_redaction(tmp_path: Path) -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    load_signer(write_key(tmp_path / "k"))

    structlog.get_logger("test").error("oops", detail=f"leaked {SECRET}")

    assert SECRET not in out.getvalue() and "[redacted]" in out.getvalue()
