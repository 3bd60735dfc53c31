"""``autobot localnet`` as a user runs it: a separate process, ready fast, a daemon config written."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import sys
import time
from pathlib import Path

import httpx
import pytest

from autobot.config import load_config
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(30)

_URL = re.compile(r"listening on (http://\S+/)")


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autobot",
        "localnet",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            raise AssertionError("the localnet exited before it was ready")
        found = _URL.search(line)
        if found:
            return found[1]


async def _drain(process: asyncio.subprocess.Process) -> bytes:
    assert process.stdout is not None
    return await process.stdout.read()


async def test_the_command_is_ready_in_under_three_seconds_and_stops_on_sigint(
    tmp_path: Path,
) -> None:
    config = tmp_path / "daemon" / "autobot.toml"
    started = time.monotonic()
    process = await _start(
        "--port", "0", "--state-dir", str(tmp_path / "chain"), "--write-config", str(config)
    )
    try:
        url = await asyncio.wait_for(_url(process), timeout=10)
        async with httpx.AsyncClient(base_url=url) as http:
            info = (await http.get("localnet/v1/info")).json()
        ready = time.monotonic() - started
        assert ready < 3.0, f"ready after {ready:.2f} s"
        assert info["chain_id"] == 77
        assert config.exists()
    finally:
        process.send_signal(signal.SIGINT)
        output = await asyncio.wait_for(_drain(process), timeout=10)
        code = await asyncio.wait_for(process.wait(), timeout=10)
    assert code == 0, output.decode()
    assert (tmp_path / "chain" / "chain.sqlite3").exists()
    assert b"POST /localnet/v1/drill (alert drills" in output  # the banner lists the drills


async def test_views_published_refuses_status_overview_and_answers_is_legacy_summary(
    tmp_path: Path,
) -> None:
    """Acceptance 1 of issue 11, run as a user runs it: ``autobot localnet --views published``."""
    process = await _start(
        "--port", "0", "--state-dir", str(tmp_path / "chain"), "--views", "published"
    )
    try:
        url = await asyncio.wait_for(_url(process), timeout=10)
        async with httpx.AsyncClient(base_url=url) as http:
            info = (await http.get("localnet/v1/info")).json()
            assert info["views"] == "published"
            pkg = info["package_address"]

            def body(function: str, *args: str) -> dict[str, object]:
                return {
                    "function": f"{pkg}::{function}",
                    "type_arguments": [],
                    "arguments": list(args),
                }

            now = str(info["chain_time"])
            refused = await http.post("rpc/v3/view", json=body("views::status_overview", now))
            assert refused.status_code == 400
            assert "function not marked as view function" in refused.json()["message"]
            legacy = await http.post("rpc/v3/view", json=body("history::is_legacy_summary", "1"))
            assert (legacy.status_code, legacy.json()) == (200, {"result": [False]})
            for function, args in (
                ("views::status_overview", [now]),
                ("history::is_legacy_summary", ["1"]),
            ):
                dev = await http.post("localnet/v1/view", json=body(function, *args))
                assert dev.status_code == 200, dev.text
    finally:
        process.send_signal(signal.SIGINT)
        output = await asyncio.wait_for(_drain(process), timeout=10)
        code = await asyncio.wait_for(process.wait(), timeout=10)
    assert code == 0, output.decode()
    assert b"views published" in output


async def test_a_non_loopback_host_without_allow_remote_exits_2(tmp_path: Path) -> None:
    process = await _start("--host", "0.0.0.0", "--port", "0")
    output = await asyncio.wait_for(_drain(process), timeout=10)
    assert await process.wait() == 2
    assert b"--allow-remote" in output


async def test_the_written_config_loads_with_the_daemon_loader_and_its_keys_are_private(
    localnet: Localnet, tmp_path: Path
) -> None:
    path = tmp_path / "conf" / "autobot.toml"
    written = write_daemon_config(path, localnet.info)
    config = load_config(path, environ={})
    assert config.chain.rpc_urls == (localnet.base_url,)
    assert config.chain.chain_id == 77
    assert config.chain.package_address == localnet.info.package_address
    assert config.automation.mode == "live"
    assert config.feeds.fallback_on_stale and config.draws.cancel_on_vrf_failure
    assert set(config.keys.operator_key_files) == {"A", "B"}
    for key_file in written[1:]:
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    accounts = dev_accounts()
    assert config.keys.admin_key_file.read_text().strip() == accounts.admin.private_key
    assert config.keys.operator_key_files["B"].read_text().strip() == (
        accounts.operator("B").private_key
    )
    from autobot.chain.keys import check_keys

    keyring, problems = check_keys(
        admin_key_file=config.keys.admin_key_file,
        operator_key_files=config.keys.operator_key_files,
        package_address=config.chain.package_address,
        credentials_directory=None,
    )
    assert problems == []
    assert keyring is not None
