"""``deploy/ha/``: the two-host example. Its config passes ``check-config`` (keys and the DSN file
in a credentials directory, as the unit's ``LoadCredential=`` makes it), and the unit with the
example's drop-in passes ``systemd-analyze verify``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from deploy_support import REPO, run, tool

from autobot.config_check import check_config_file
from autobot.journal_setup import configured_dsn
from autobot.localnet.accounts import dev_accounts

EXAMPLE = REPO / "deploy" / "ha" / "autobot.toml"
DROP_IN = REPO / "deploy" / "ha" / "journal-dsn.conf"
UNIT = REPO / "systemd" / "autobot.service"


def secret(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def host_config(tmp_path: Path, *, instance: str) -> tuple[Path, dict[str, str]]:
    """The example as a host installs it, its package the localnet's (whose dev keys we have)."""
    accounts = dev_accounts()
    text = re.sub(
        r'^package_address = "0x[0-9a-f]+"',
        f'package_address = "{accounts.package_address}"',
        EXAMPLE.read_text(encoding="utf-8"),
        flags=re.M,
    ).replace('instance_id = "autobot-1"', f'instance_id = "{instance}"')
    config = tmp_path / instance / "autobot.toml"
    config.parent.mkdir()
    config.write_text(text)
    credentials = tmp_path / instance / "credentials"
    credentials.mkdir(mode=0o700)
    secret(credentials / "admin.key", accounts.admin.private_key + "\n")
    secret(credentials / "operator-1.key", accounts.operator("A").private_key + "\n")
    secret(
        credentials / "journal.dsn",
        "host=db1.example.net dbname=autobot user=autobot password=s3cret sslmode=verify-full\n",
    )
    return config, {"CREDENTIALS_DIRECTORY": str(credentials)}


def test_both_hosts_configs_pass_check_config_and_share_one_journal(tmp_path: Path) -> None:
    # when
    found = {}
    databases = set()
    for instance in ("autobot-1", "autobot-2"):
        path, environ = host_config(tmp_path, instance=instance)
        config, problems = check_config_file(path, environ=environ)
        assert problems == [], [p.render() for p in problems]
        assert config is not None
        found[instance] = config
        dsn = configured_dsn(config.journal, credentials_directory=config.credentials_directory)
        databases.add(dsn.describe())
    # then: the same journal, each its own instance id, a lease renewed twice per lease at least
    one, two = found["autobot-1"], found["autobot-2"]
    assert one.journal.backend == two.journal.backend == "postgres"
    assert databases == {"postgresql://autobot@db1.example.net/autobot"}
    assert (one.ha.enabled, two.ha.enabled) == (True, True)
    assert (one.ha.instance_id, two.ha.instance_id) == ("autobot-1", "autobot-2")
    assert one.ha.renew_seconds <= one.ha.lease_seconds / 2


def test_the_unit_with_the_drop_in_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    entry_point = Path(sys.executable).parent / "autobot"
    if not entry_point.exists():
        pytest.skip(f"no autobot entry point beside {sys.executable} (run `make env`)")
    service = [ln for ln in DROP_IN.read_text().splitlines() if ln and not ln.startswith("#")]
    assert service[0] == "[Service]" and service[1:] == [
        "LoadCredential=journal.dsn:/etc/autobot/journal.dsn"
    ]
    # the drop-in's lines in the unit's [Service] section (what systemd merges)
    unit = UNIT.read_text(encoding="utf-8").replace("/usr/bin/autobot", str(entry_point))
    merged = re.sub(
        r"^\[Service\]$", "[Service]\n" + "\n".join(service[1:]), unit, count=1, flags=re.M
    )
    path = tmp_path / "autobot.service"
    path.write_text(merged)
    result = run([tool("systemd-analyze"), "verify", str(path)], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "autobot.service" not in output, output
