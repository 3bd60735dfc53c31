"""What every benchmark needs: a localnet process, a daemon process, their dev endpoints.

The localnet and the daemon run as separate processes, as an operator runs them (``autobot
localnet --scenario FILE --write-config F`` and ``autobot run --config F``); the benchmark process
only watches (HTTP to the localnet's dev endpoints, the daemon's journal read-only, ``/proc``).

The daemon's journal is its SQLite file, or — after ``use_postgres(server)`` (``bench.run
--journal postgres``) — a database of its own on that PostgreSQL server (``fsync`` on, as in
production), named to the daemon by a DSN file; ``journal_rows`` reads either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from autobot.journal.dsn import Dsn
from autobot.journal.pgserver import PgServer

AUTOBOT = str(Path(sys.executable).with_name("autobot"))

_postgres: list[PgServer] = []  # the server for the daemons' journals, when not SQLite


def use_postgres(server: PgServer | None) -> None:
    """Journal every daemon started from now on in a new database on ``server`` (None: SQLite)."""
    _postgres[:] = [] if server is None else [server]


def journal_backend() -> str:
    return "postgres" if _postgres else "sqlite"


# --- output ----------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def table(title: str, rows: Sequence[tuple[str, ...]]) -> None:
    """A plain text table; the first row is the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    say(f"\n{title}")
    for n, row in enumerate(rows):
        say("  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            say("  " + "  ".join("-" * w for w in widths))


def bench_line(name: str, **values: object) -> str:
    parts = [f"{k}={_fmt(v)}" for k, v in values.items()]
    line = f"BENCH {name} " + " ".join(parts)
    say(line)
    return line


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank on the sorted values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else float("nan")


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        memory = subprocess.run(
            ["free", "-h"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --- processes -------------------------------------------------------------------------------


@contextlib.contextmanager
def process(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the localnet ----------------------------------------------------------------------------


@dataclass
class Net:
    """A running localnet process and the daemon config it wrote."""

    url: str  # trailing slash
    config: Path
    folder: Path
    proc: subprocess.Popen[bytes]
    info: dict[str, Any]
    http: httpx.AsyncClient
    timings: dict[int, tuple[float, float]] = field(default_factory=dict)  # benchmark notes

    async def get(self, path: str) -> Any:
        reply = await self.http.get(self.url + path)
        reply.raise_for_status()
        return reply.json()

    async def view(self, function: str, *args: object) -> list[Any]:
        body = {
            "function": f"{self.info['package_address']}::{function}",
            "type_arguments": [],
            "arguments": [str(a) if isinstance(a, int) else a for a in args],
        }
        # the dev endpoint: any reader of the model, whether or not the package marks it #[view]
        reply = await self.http.post(self.url + "localnet/v1/view", json=body)
        reply.raise_for_status()
        result: list[Any] = reply.json()["result"]
        return result

    async def chain_time(self) -> float:
        block = await self.get("rpc/v3/block")
        return int(block["header"]["timestamp"]["timestamp"]) / 1e6

    async def advance(self, seconds: int) -> None:
        reply = await self.http.post(self.url + "localnet/v1/advance", json={"seconds": seconds})
        reply.raise_for_status()

    async def rpc_requests(self) -> int:
        """Every ``/rpc/`` request the localnet answered so far (its fault front end counts)."""
        report = await self.get("localnet/v1/faults")
        return int(report["requests"])

    async def accepted_wall(self, tx_hash: str) -> float | None:
        reply = await self.http.get(self.url + f"localnet/v1/transactions/{tx_hash}")
        if reply.status_code != 200:
            return None
        value = reply.json().get("accepted_wall")
        return float(value) if value is not None else None

    async def time_reached_wall(self, chain_second: int) -> float | None:
        reply = await self.http.get(self.url + f"localnet/v1/time_reached/{chain_second}")
        if reply.status_code != 200:
            return None
        return float(reply.json()["produced_wall"])


@contextlib.asynccontextmanager
async def localnet(
    folder: Path, scenario: Path, *, block_interval_ms: int = 200, startup_timeout: float = 180.0
) -> AsyncIterator[Net]:
    """``autobot localnet`` on a free port with ``scenario``; yields once its config is written."""
    config = folder / "daemon" / "autobot.toml"
    argv = [
        AUTOBOT, "localnet", "--scenario", str(scenario), "--port", "0",
        "--state-dir", str(folder / "chain"), "--write-config", str(config),
        "--block-interval-ms", str(block_interval_ms),
    ]  # fmt: skip
    with process(argv, folder / "localnet.log") as proc:
        deadline = time.monotonic() + startup_timeout
        while not config.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"localnet exited: {tail(folder / 'localnet.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError("localnet did not start in time")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        # the benchmarks move the localnet's clock at will (advance) through its one endpoint:
        # autobot follows such jumps only within this tolerance (docs/decisions.md §14)
        patch_config(config, {"chain": {"clock_tolerance_seconds": 1e9}})
        url = re.search(r'rpc_urls = \["([^"]+)"\]', config.read_text())
        assert url is not None
        async with httpx.AsyncClient(
            timeout=120.0, limits=httpx.Limits(max_connections=32)
        ) as http:
            info = (await http.get(url.group(1) + "localnet/v1/info")).json()
            yield Net(
                url=url.group(1), config=config, folder=folder, proc=proc, info=info, http=http
            )


def patch_config(path: Path, sections: dict[str, dict[str, object]]) -> None:
    """Set ``[section] key = value`` in the written daemon config (replacing or adding)."""
    lines = path.read_text().splitlines()
    for section, values in sections.items():
        header = f"[{section}]"
        if header not in lines:
            lines += ["", header]
        start = lines.index(header) + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
        body = [ln for ln in lines[start:end] if ln.split("=")[0].strip() not in values]
        body = [ln for ln in body if ln.strip()]
        body += [f"{k} = {_toml(v)}" for k, v in values.items()]
        lines[start:end] = [*body, ""]
    path.write_text("\n".join(lines) + "\n")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


# --- the daemon ------------------------------------------------------------------------------


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    metrics_url: str
    journal: Path | Dsn  # the SQLite file, or the PostgreSQL database
    ready_after: float  # seconds from spawn to READY=1
    log: Path


@contextlib.asynccontextmanager
async def daemon(
    net: Net, *, log_name: str = "daemon.log", ready_timeout: float = 60.0
) -> AsyncIterator[Daemon]:
    """``autobot run --config`` with ``NOTIFY_SOCKET``; yields once it sent ``READY=1``."""
    port = _free_port()
    journal = _journal_for(net)
    with tempfile.TemporaryDirectory(prefix="autobot-bench-") as tmp:
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(Path(tmp) / "notify"))
        notify.setblocking(False)
        env = dict(os.environ, NOTIFY_SOCKET=str(Path(tmp) / "notify"))
        argv = [AUTOBOT, "run", "--config", str(net.config), "--listen", f"127.0.0.1:{port}"]
        if os.environ.get("BENCH_PROFILE"):  # where the daemon's time goes (pyinstrument)
            report = net.folder / f"{log_name}.profile.txt"
            argv = [sys.executable, "-m", "pyinstrument", "--no-color", "--interval=0.01",
                    "-o", str(report), "-m", "autobot", *argv[1:]]  # fmt: skip
        started = time.perf_counter()
        with process(argv, net.folder / log_name, env=env) as proc:
            ready_after = await _wait_ready(
                notify, proc, started, ready_timeout, net.folder / log_name
            )
            drain = asyncio.create_task(_drain(notify))  # the watchdog pings, as systemd would
            try:
                yield Daemon(
                    proc=proc,
                    metrics_url=f"http://127.0.0.1:{port}/metrics",
                    journal=journal,
                    ready_after=ready_after,
                    log=net.folder / log_name,
                )
            finally:
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drain
                notify.close()


async def _drain(sock: socket.socket) -> None:
    """Read what the daemon sends after ``READY=1`` (``WATCHDOG=1``, ``STATUS=``): a full
    socket buffer would make each of its pings fail."""
    loop = asyncio.get_running_loop()
    while True:
        await loop.sock_recv(sock, 4096)


async def _wait_ready(
    sock: socket.socket, proc: subprocess.Popen[bytes], started: float, within: float, log: Path
) -> float:
    loop = asyncio.get_running_loop()
    deadline = started + within
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited: {tail(log)}")
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=0.05)
        except TimeoutError:
            continue
        if b"READY=1" in data.split(b"\n"):
            return time.perf_counter() - started
    raise RuntimeError("daemon not ready in time")


def _section(config: Path, name: str) -> str:
    text = config.read_text()
    start = text.index(f"[{name}]")
    end = text.find("\n[", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text()[-chars:]


def _journal_for(net: Net) -> Path | Dsn:
    """The daemon's journal: the config's SQLite file, or a new PostgreSQL database."""
    if not _postgres:
        journal_line = re.search(r'path = "([^"]+)"', _section(net.config, "journal"))
        assert journal_line is not None
        return net.config.parent / journal_line.group(1)
    dsn = _postgres[0].create_database()
    secret = net.config.parent / "journal.dsn"
    secret.write_text(dsn.reveal() + "\n")
    secret.chmod(0o600)
    patch_config(net.config, {"journal": {"backend": "postgres", "dsn_file": "journal.dsn"}})
    return dsn


def journal_rows(
    path: Path | Dsn, sql: str, params: Sequence[object] = ()
) -> list[tuple[Any, ...]]:
    """Read the daemon's journal (read-only; WAL lets us while the daemon writes); no rows
    while it does not exist yet."""
    if isinstance(path, Dsn):
        try:
            with psycopg.connect(path.reveal(), autocommit=True) as conn:
                cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
                return list(cursor.fetchall())
        except psycopg.errors.UndefinedTable:
            return []
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return list(db.execute(sql, tuple(params)))
    finally:
        db.close()


async def until(
    check: Any,
    *,
    within: float,
    interval: float = 0.5,
    what: str = "condition",
    daemon: Daemon | None = None,
) -> float:
    """Await ``check()`` (async, truthy when done) every ``interval``; seconds it took. With
    ``daemon``, its exit ends the wait (with its log's end)."""
    started = time.perf_counter()
    while True:
        if await check():
            return time.perf_counter() - started
        if daemon is not None and daemon.proc.poll() is not None:
            raise RuntimeError(f"the daemon exited {daemon.proc.returncode}: {tail(daemon.log)}")
        if time.perf_counter() - started > within:
            raise TimeoutError(f"{what} not reached within {within:.0f} s")
        await asyncio.sleep(interval)
