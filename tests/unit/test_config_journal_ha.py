"""``[journal]`` back ends (the DSN is a secret) and ``[ha]``: every problem by dotted path."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from autobot.chain.signer import Signer
from autobot.cli import main
from autobot.config import Config, parse_config
from autobot.config_check import check_config_file
from autobot.errors import EX_CONFIG, ConfigError, Problem

SECRET = "hunter2-not-for-logs"


def minimal(**sections: dict[str, Any]) -> dict[str, Any]:
    return {
        "chain": {"rpc_urls": ["http://127.0.0.1:27100"], "chain_id": 77, "package_address": "0x1"},
        "keys": {"admin_key_file": "admin.key", "operator_key_files": {"A": "a.key"}},
        **sections,
    }


def parse(data: dict[str, Any], **env: str) -> Config:
    return parse_config(data, source=Path("/etc/autobot/autobot.toml"), environ=env)


def problems_of(data: dict[str, Any], **env: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        parse(data, **env)
    return list(caught.value.problems)


def rendered(problems: list[Problem]) -> str:
    return "\n".join(p.render() for p in problems)


def test_the_defaults_are_sqlite_and_no_ha() -> None:
    config = parse(minimal())
    assert (config.journal.backend, config.journal.dsn, config.journal.dsn_file) == (
        "sqlite",
        None,
        None,
    )
    assert not config.ha.enabled
    assert (config.ha.lease_seconds, config.ha.renew_seconds) == (10.0, 1.0)
    assert config.ha.instance_id == socket.gethostname().split(".")[0]


def test_a_postgres_journal_with_a_dsn_and_ha() -> None:
    config = parse(
        minimal(
            journal={"backend": "postgres", "dsn": "host=db1 dbname=autobot user=autobot"},
            ha={
                "enabled": True,
                "instance_id": "autobot-2",
                "lease_seconds": 6,
                "renew_seconds": 3,
            },
        )
    )
    assert config.journal.describe() == "postgres postgresql://autobot@db1/autobot"
    assert (config.ha.enabled, config.ha.instance_id, config.ha.renew_seconds) == (
        True,
        "autobot-2",
        3.0,
    )


def test_a_dsn_file_resolves_like_a_key_file() -> None:
    config = parse(
        minimal(journal={"backend": "postgres", "dsn_file": "journal.dsn"}),
        CREDENTIALS_DIRECTORY="/run/credentials/autobot.service",
    )
    assert config.journal.dsn_file == Path("/run/credentials/autobot.service/journal.dsn")


@pytest.mark.parametrize(
    "dsn",
    [
        f"host=db1 dbname=autobot user=autobot password={SECRET}",
        f"postgresql://autobot:{SECRET}@db1/autobot",
    ],
)
def test_a_password_in_the_config_file_is_refused_without_echoing_it(dsn: str) -> None:
    problems = problems_of(minimal(journal={"backend": "postgres", "dsn": dsn}))
    assert [p.path for p in problems] == ["journal.dsn"]
    assert "dsn_file" in problems[0].message and SECRET not in rendered(problems)


def test_a_dsn_that_does_not_parse_is_refused_without_echoing_it() -> None:
    problems = problems_of(minimal(journal={"backend": "postgres", "dsn": f"host=db1 {SECRET}"}))
    assert [p.path for p in problems] == ["journal.dsn"]
    assert "not a PostgreSQL connection string" in problems[0].message
    assert SECRET not in rendered(problems)


def test_a_connection_string_given_as_the_dsn_file_is_refused_without_echoing_it() -> None:
    problems = problems_of(
        minimal(journal={"backend": "postgres", "dsn_file": f"password={SECRET}"})
    )
    assert [p.path for p in problems] == ["journal.dsn_file"]
    assert SECRET not in rendered(problems)


@pytest.mark.parametrize(
    ("journal", "path", "says"),
    [
        ({"backend": "postgres"}, "journal.dsn", "needs a dsn or a dsn_file"),
        (
            {"backend": "postgres", "dsn": "host=db1", "dsn_file": "j.dsn"},
            "journal.dsn_file",
            "not both",
        ),
        ({"dsn": "host=db1"}, "journal.dsn", 'only used with backend = "postgres"'),
        ({"backend": "mysql"}, "journal.backend", "expected one of 'sqlite', 'postgres'"),
    ],
)
def test_the_journal_settings_must_fit_the_backend(
    journal: dict[str, Any], path: str, says: str
) -> None:
    problems = problems_of(minimal(journal=journal))
    assert [p.path for p in problems] == [path]
    assert says in problems[0].message


def test_ha_needs_the_postgres_journal() -> None:
    problems = problems_of(minimal(ha={"enabled": True}))
    assert [p.path for p in problems] == ["ha.enabled"]
    assert 'backend = "postgres"' in problems[0].message


@pytest.mark.parametrize(("lease", "renew"), [(10, 5.5), (10, 10), (2, 1.5)])
def test_renewing_less_often_than_twice_per_lease_is_refused(lease: float, renew: float) -> None:
    problems = problems_of(minimal(ha={"lease_seconds": lease, "renew_seconds": renew}))
    assert [p.path for p in problems] == ["ha.renew_seconds"]
    assert f"at most lease_seconds / 2 ({lease / 2:g})" in problems[0].message


@pytest.mark.parametrize("instance_id", ["", "-x", "a b", "x" * 64, "é"])
def test_a_malformed_instance_id_is_refused(instance_id: str) -> None:
    problems = problems_of(minimal(ha={"instance_id": instance_id}))
    assert [p.path for p in problems] == ["ha.instance_id"]


# --- check-config: the DSN file is vetted like a key file ---------------------------------------


def config_with_dsn_file(folder: Path, content: str, mode: int) -> Path:
    keys = {name: os.urandom(32).hex() for name in ("admin", "a")}
    for name, key in keys.items():
        (folder / f"{name}.key").write_text(key + "\n")
        (folder / f"{name}.key").chmod(0o600)
    dsn = folder / "journal.dsn"
    dsn.write_text(content)
    dsn.chmod(mode)
    source = folder / "autobot.toml"
    source.write_text(
        f"""\
[chain]
rpc_urls = ["http://127.0.0.1:27100"]
chain_id = 77
package_address = "{Signer.from_private_key_hex(keys["admin"]).address}"

[keys]
admin_key_file = "admin.key"
operator_key_files = {{ A = "a.key" }}

[journal]
backend = "postgres"
dsn_file = "journal.dsn"

[ha]
enabled = true
instance_id = "host-a"
"""
    )
    return source


def test_check_config_accepts_a_private_dsn_file_and_never_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    source = config_with_dsn_file(
        tmp_path, f"# the journal\nhost=db1 dbname=autobot password={SECRET}\n", 0o600
    )
    assert main(["check-config", str(source)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].endswith(
        f"journal postgres (dsn_file {tmp_path / 'journal.dsn'}), ha instance host-a "
        f"({source}, --config)"
    )
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("content", "mode", "says"),
    [
        (f"host=db1 password={SECRET}\n", 0o644, "has mode 0644"),
        (f"host=db1 password={SECRET}\nhost=db2\n", 0o600, "holds 2 connection strings"),
        (f"host=db1 {SECRET}\n", 0o600, "not a PostgreSQL connection string"),
        ("", 0o600, "holds 0 connection strings"),
    ],
)
def test_check_config_refuses_a_bad_dsn_file_naming_it_never_its_content(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str,
    mode: int,
    says: str,
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    source = config_with_dsn_file(tmp_path, content, mode)
    _, problems = check_config_file(source, environ={})
    assert [p.path for p in problems] == ["journal.dsn_file"]
    assert says in problems[0].message
    assert main(["check-config", str(source)]) == EX_CONFIG
    out, err = capsys.readouterr()
    assert "journal.dsn_file" in err and SECRET not in out + err
