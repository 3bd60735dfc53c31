"""The systemd unit: ``systemd-analyze verify`` passes and ``security`` scores at most 1.5.

``verify`` needs ``ExecStart``'s binary to exist on the checking machine, so the tests check a copy
whose ``/usr/bin/autobot`` is replaced by the ``autobot`` entry point of the environment running the
tests. systemd need not be PID 1 (systemd 252 analyses offline).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from deploy_support import REPO, run, tool

UNIT = REPO / "systemd" / "autobot.service"
SYSUSERS = REPO / "systemd" / "autobot.sysusers"
MAX_EXPOSURE = 1.5


def _parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → key → every value (keys like LoadCredential= repeat)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        sections[section][key.strip()].append(value.strip())
    return sections


SERVICE = _parse_unit(UNIT.read_text(encoding="utf-8"))["Service"]


@pytest.fixture
def checkable_unit(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart names a binary that exists here."""
    entry_point = Path(sys.executable).parent / "autobot"
    if not entry_point.exists():
        pytest.skip(f"no autobot entry point beside {sys.executable} (run `make env`)")
    path = tmp_path / "autobot.service"
    path.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/bin/autobot", str(entry_point)))
    return path


def test_systemd_analyze_verify_passes(checkable_unit: Path) -> None:
    result = run(
        [tool("systemd-analyze"), "verify", str(checkable_unit)], cwd=checkable_unit.parent
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "autobot.service" not in output, output  # no warnings about our unit either


def test_security_exposure_is_at_most_1_5(checkable_unit: Path) -> None:
    result = run(
        [tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(checkable_unit)],
        cwd=checkable_unit.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"Overall exposure level for autobot\.service: (\d+\.\d+)", result.stdout)
    assert match is not None, result.stdout
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_security_threshold_flag_agrees(checkable_unit: Path) -> None:
    # systemd-analyze's own gate (exit status) with the threshold in tenths.
    result = run(
        [tool("systemd-analyze"), "security", "--offline=true", "--threshold=15", "--no-pager",
         str(checkable_unit)],
        cwd=checkable_unit.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_exec_start_runs_the_daemon_with_the_installed_config() -> None:
    assert SERVICE["ExecStart"] == ["/usr/bin/autobot run --config /etc/autobot/autobot.toml"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "60s"),
        ("Restart", "on-failure"),
        ("RestartPreventExitStatus", "78"),  # errors.EX_CONFIG
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("StateDirectory", "autobot"),
        ("ConfigurationDirectory", "autobot"),
        ("RuntimeDirectory", "autobot"),
        ("User", "autobot"),
        ("UMask", "0077"),
        ("ProtectSystem", "strict"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("MemoryDenyWriteExecute", "yes"),
        ("NoNewPrivileges", "yes"),
        ("PrivateUsers", "yes"),
    ],
)
def test_unit_sets(key: str, value: str) -> None:
    assert SERVICE[key] == [value]


def test_restart_prevent_exit_status_is_the_cli_config_error_code() -> None:
    from autobot.errors import EX_CONFIG

    assert SERVICE["RestartPreventExitStatus"] == [str(EX_CONFIG)]


def test_keys_arrive_as_credentials_from_etc_autobot_keys() -> None:
    credentials = dict(value.split(":", 1) for value in SERVICE["LoadCredential"])
    assert credentials["admin.key"] == "/etc/autobot/keys/admin.key"
    assert all(path.startswith("/etc/autobot/keys/") for path in credentials.values())


def test_system_calls_are_filtered_to_the_service_set() -> None:
    assert SERVICE["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert SERVICE["SystemCallArchitectures"] == ["native"]


def test_sighup_semantics_are_documented_next_to_exec_reload() -> None:
    text = UNIT.read_text(encoding="utf-8")
    comment = text[: text.index("ExecReload=")].rsplit("\n\n", 1)[-1]
    assert "config_reload_refused" in comment
    assert "log level" in comment


def test_sysusers_creates_the_user_the_unit_runs_as(tmp_path: Path) -> None:
    # Given an empty root, when systemd-sysusers applies our file there
    (tmp_path / "etc").mkdir()
    result = run([tool("systemd-sysusers"), f"--root={tmp_path}", str(SYSUSERS)])
    assert result.returncode == 0, result.stdout + result.stderr
    # then the unit's user exists, without a login shell, at home in the state directory
    entry = next(
        line.split(":")
        for line in (tmp_path / "etc" / "passwd").read_text().splitlines()
        if line.startswith("autobot:")
    )
    assert entry[0] == SERVICE["User"][0]
    assert entry[5] == "/var/lib/autobot"
    assert entry[6] == "/usr/sbin/nologin"


# MemoryDenyWriteExecute=yes kills nothing at verify time; it bites at run time if a dependency needs
# writable+executable memory (a JIT, libffi closures). Linux >= 6.3 offers the same refusal per
# process (prctl PR_SET_MDWE), so the daemon's dependencies can be exercised under it here.
_MDWE_PROBE = """
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("W+X mapping allowed: the probe proves nothing")
except OSError:
    pass
import asyncio
import aiohttp, aiosqlite
from prometheus_client import CollectorRegistry, ProcessCollector
from supra_sdk.account import Account
from autobot.web import TickHealth, WebServer
assert len(Account.generate().sign(b"autobot").data()) == 64  # PyNaCl through cffi

async def main():
    async with aiosqlite.connect(":memory:") as db:
        await db.execute("create table t (x)")
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    health = TickHealth(tick_max_age_seconds=5)
    async with WebServer(host="127.0.0.1", port=0, registry=registry, health=health) as server:
        async with aiohttp.ClientSession() as session, session.get(server.url + "/metrics") as r:
            assert r.status == 200 and "process_cpu_seconds_total" in await r.text()

asyncio.run(main())
print("ok")
"""


def test_dependencies_run_with_write_execute_memory_denied() -> None:
    result = run([sys.executable, "-c", _MDWE_PROBE])
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
