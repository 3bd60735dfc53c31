"""No key material anywhere a full demo run leaves behind (the security pass's acceptance).

The demo as an operator runs it (a localnet process and ``autobot run --config``), with the log
level raised to debug over SIGHUP, ``/metrics``, ``/healthz`` and ``/readyz`` scraped while it
works, and the operator commands (``status --json``, ``actions --json``, ``incidents`` in every
format) run against it. Then two crashes whose exception text carries the admin key in every
spelling (hex, upper-case, ``str(PrivateKey)``, base64, ``bytes`` repr): one at a job boundary
(a sweep raising), one that ends the process (start-up recovery raising; exit 70). Everything is
scanned with ``tests/key_scan.py``: every log line, every scrape and command output, and the
journal (raw bytes and every cell). The localnet's own log is not scanned: it prints its
well-known dev keys on purpose, as anvil does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import key_scan
import processes
from autobot.app import SHUTDOWN_GRACE_SECONDS
from autobot.chain.supra import SupraGateway
from autobot.config import load_config
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import Snapshot
from autobot.errors import EX_SOFTWARE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

STORY_DEADLINE_SECONDS = 150.0

# Runs the real CLI with one function replaced by one that raises with the key in its message.
CRASH = """
import base64, sys
from pathlib import Path

mode, key_file, config = sys.argv[1:4]
key_hex = Path(key_file).read_text().strip().removeprefix("0x")
from autobot.chain.signer import Signer

signer = Signer.from_private_key_hex(key_hex)
raw = bytes.fromhex(key_hex)
text = (
    f"key={key_hex} KEY=0x{key_hex.upper()} sdk={signer.account.private_key} signer={signer!r} "
    f"b64={base64.b64encode(raw).decode()} url={base64.urlsafe_b64encode(raw).decode()} raw={raw!r}"
)

async def explode(*args, **kwargs):
    raise RuntimeError(f"{mode} blew up: {text}")

if mode == "sweep":
    import autobot.engine
    autobot.engine.Engine.sweep = explode
else:
    import autobot.app
    autobot.app.Daemon._recover = explode

from autobot.cli import main
sys.exit(main(["run", "--config", config, "--listen", "127.0.0.1:0"]))
"""


def story_told(snapshot: Snapshot) -> bool:
    lotteries = snapshot.lotteries

    def refunded(lottery_id: int) -> bool:
        view = lotteries[lottery_id]
        return view.status == LotteryStatus.CANCELED and view.archived

    return (
        lotteries[1].status == LotteryStatus.PAYOUT
        and lotteries[2].status == LotteryStatus.PAYOUT
        and refunded(3)
        and refunded(4)
    )


async def scrape(base_url: str, out: Path, n: int) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in ("metrics", "healthz", "readyz"):
            response = await http.get(f"{base_url}/{path}")
            (out / f"{path}-{n}.txt").write_text(f"{response.status_code}\n{response.text}")


def operator_commands(config: Path, out: Path) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    commands = {
        "status-json": ["status", "--json"],
        "status-text": ["status"],
        "actions-json": ["actions", "--json"],
        "incidents-json": ["incidents", "--format", "json"],
        "incidents-markdown": ["incidents", "--format", "markdown"],
        "incidents-text": ["incidents"],
    }
    codes: dict[str, int] = {}
    for name, argv in commands.items():
        done = subprocess.run(
            [processes.AUTOBOT, *argv, "--config", str(config)],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )  # fmt: skip
        (out / f"{name}.txt").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        codes[name] = done.returncode
    return codes


async def crash(mode: str, key_file: Path, config: Path, log: Path) -> processes.Process:
    argv = [sys.executable, "-c", CRASH, mode, str(key_file), str(config)]
    process = processes.start(argv, log)
    if mode == "sweep":
        await process.wait_event("sweep_failed", within=30)
        process.send(signal.SIGTERM)
    await process.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30)
    return process


async def test_a_full_demo_run_leaves_no_key_material_anywhere(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    out.mkdir()
    async with processes.localnet(tmp_path) as net:
        config_path = net.config
        key_files = sorted(config_path.parent.glob("*.key"))
        keys = key_scan.dev_keys() | key_scan.keys_from_files(key_files)
        config = load_config(config_path)
        gateway = SupraGateway.from_config(config.chain)
        try:
            async with processes.daemon(config_path, out / "daemon.log") as daemon:
                started = await daemon.wait_event("daemon_started", within=30)
                base_url = started["metrics_url"].removesuffix("/metrics")
                # the chattiest logs too
                processes.set_key(config_path, "log", "level", '"debug"')
                os.kill(daemon.pid, signal.SIGHUP)
                await daemon.wait_event("config_reloaded", within=15)
                began, n, told = time.monotonic(), 0, False
                while time.monotonic() - began < STORY_DEADLINE_SECONDS:
                    assert daemon.returncode is None, daemon.text()[-3000:]
                    await scrape(base_url, out, n)
                    n += 1
                    snapshot = await gateway.snapshot(lottery_ids=(1, 2, 3, 4, 5))
                    if story_told(snapshot):
                        told = True
                        break
                    await asyncio.sleep(2)
                await scrape(base_url, out, n)
                codes = operator_commands(config_path, out)
                daemon.send(signal.SIGTERM)
                assert await daemon.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30) == 0
        finally:
            await gateway.aclose()
        # two crashes with the admin key in their exception text
        admin_key = config.keys.admin_key_file
        in_sweep = await crash("sweep", admin_key, config_path, out / "crash-sweep.log")
        at_start = await crash("recover", admin_key, config_path, out / "crash-start.log")

    journal = config.journal.path
    scanned = [out, *sorted(journal.parent.glob(journal.name + "*"))]
    findings = key_scan.scan_paths(scanned, keys)
    assert not findings, key_scan.report(findings)

    # the scan was over real material: the crashes were logged (redacted), the outputs exist
    assert at_start.returncode == EX_SOFTWARE, at_start.text()[-2000:]
    crashed = at_start.find("daemon_crashed")
    assert crashed and "recover blew up" in crashed[0]["exception"]
    assert crashed[0]["exception"].count("[redacted]") == 6  # hex x2, sdk, b64 x2, bytes repr
    failed = in_sweep.find("sweep_failed")
    assert failed and "sweep blew up" in failed[0]["exception"]
    assert "[redacted]" in failed[0]["exception"]
    assert (out / "metrics-0.txt").read_text().startswith("200")
    assert codes["status-json"] == 0 and codes["incidents-json"] == 0, codes
    assert key_scan.scan_paths(key_files, keys), "the scanner must find the key files' own keys"
    assert told, f"the demo did not finish within {STORY_DEADLINE_SECONDS} s"
