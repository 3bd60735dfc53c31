"""A port already in use says which flag moves it (``make run ARGS="--listen …"``), for every
address autobot listens on: the daemon's metrics (``--listen``), its status page
(``--status-listen``) and a standalone localnet (``--port``). Real processes, a real held socket."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

AUTOBOT = str(Path(sys.executable).with_name("autobot"))


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port some other program listens on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        yield int(held.getsockname()[1])


def _autobot(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTOBOT, *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("option", "flag"),
    [("--listen", "--listen HOST:PORT"), ("--status-listen", "--status-listen HOST:PORT")],
)
def test_the_daemon_names_the_flag_of_a_busy_port(
    tmp_path: Path, held_port: int, option: str, flag: str
) -> None:
    done = _autobot(tmp_path, "run", "--state-dir", "state", option, f"127.0.0.1:{held_port}")
    assert done.returncode == 1, done.stderr[-2000:]
    said = done.stderr.strip().splitlines()[-1]
    assert said == (
        f"autobot: cannot start: 127.0.0.1:{held_port} is already in use; choose another with "
        f"{flag} (or [{'http' if option == '--listen' else 'status'}] listen)"
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_a_standalone_localnet_names_the_flag_of_a_busy_port(
    tmp_path: Path, held_port: int
) -> None:
    done = _autobot(tmp_path, "localnet", "--port", str(held_port), "--state-dir", "chain")
    assert done.returncode == 1, done.stderr[-2000:]
    said = done.stderr.strip().splitlines()[-1]
    assert said.startswith(f"autobot localnet: cannot listen on 127.0.0.1:{held_port}: ")
    assert said.endswith("; choose another with --port PORT (0: any free port)")
    assert "Traceback" not in done.stdout + done.stderr
