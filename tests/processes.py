"""autobot as an operator runs it, for process-level tests: a localnet and a daemon as real
processes, their JSON log lines, and read-only looks into the daemon's journal.

Importable from any test as ``import processes`` (this folder holds the root ``conftest.py``).

    async with processes.localnet(tmp_path, "--block-interval-ms", "3000") as net:
        async with processes.daemon(net.config, tmp_path / "daemon.log") as d:
            await d.wait_event("daemon_ready", within=30)
            ...
        assert d.returncode == 0

The daemon writes JSON lines to stdout (not a TTY); stderr goes to the same log file, so a line
that is not JSON (``autobot: …`` on stderr) is kept as ``{"event": None, "text": line}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AUTOBOT",
    "Localnet",
    "Process",
    "daemon",
    "journal_problems",
    "journal_rows",
    "localnet",
    "set_key",
    "start",
]

AUTOBOT = str(Path(sys.executable).with_name("autobot"))
OPEN_STATES = ("planned", "announced", "waiting", "executing", "recording")


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}


class Process:
    """A started autobot process whose stdout and stderr go to ``log``."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            argv, stdout=self._out, stderr=subprocess.STDOUT, env=_environment()
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for line in self.text().splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            out.append(value if isinstance(value, dict) else {"event": None, "text": line})
        return out

    def find(
        self, name: str, where: Callable[[dict[str, Any]], bool] = lambda e: True
    ) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == name and where(e)]

    async def wait_event(
        self,
        name: str,
        *,
        within: float,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first ``name`` event (the ``after``-th on, 0-based) matching ``where``."""
        deadline = time.monotonic() + within
        while True:
            found = self.find(name, where)
            if len(found) > after:
                return found[after]
            if self.returncode is not None:
                raise AssertionError(
                    f"{self.argv[1]} exited {self.returncode} before {name}:\n{self.text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} within {within} s:\n{self.text()[-4000:]}")
            await asyncio.sleep(0.1)

    def send(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    async def wait_exit(self, *, within: float) -> int:
        deadline = time.monotonic() + within
        while self.returncode is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.argv[1]} still running after {within} s")
            await asyncio.sleep(0.05)
        self._out.close()
        return self.popen.returncode

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``: the process is gone when this returns."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()
        return self.popen.returncode


def start(argv: list[str], log: Path) -> Process:
    return Process(argv, log)


@dataclass(frozen=True, slots=True)
class Localnet:
    process: Process
    config: Path  # the daemon config it wrote (key files beside it)
    rpc_url: str


_URL = re.compile(r"listening on (http://\S+/)")


@asynccontextmanager
async def localnet(folder: Path, *extra: str, time_scale: float = 60.0) -> AsyncIterator[Localnet]:
    """``autobot localnet --scenario demo`` with a daemon config written to ``folder/daemon/``."""
    config = folder / "daemon" / "autobot.toml"
    argv = [AUTOBOT, "localnet", "--scenario", "demo", "--time-scale", str(time_scale)]
    argv += ["--port", "0", "--state-dir", str(folder / "chain"), "--write-config", str(config)]
    process = start([*argv, *extra], folder / "localnet.log")
    try:
        deadline = time.monotonic() + 15
        while not (config.exists() and _URL.search(process.text())):
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"localnet not ready:\n{process.text()[-3000:]}")
            await asyncio.sleep(0.05)
        found = _URL.search(process.text())
        assert found is not None
        yield Localnet(process=process, config=config, rpc_url=found[1])
    finally:
        process.stop()


@asynccontextmanager
async def daemon(config: Path, log: Path, *extra: str) -> AsyncIterator[Process]:
    """``autobot run --config CONFIG --listen 127.0.0.1:0``; stopped (SIGTERM) on exit if running."""
    process = start(
        [AUTOBOT, "run", "--config", str(config), "--listen", "127.0.0.1:0", *extra], log
    )
    try:
        yield process
    finally:
        process.stop()


def set_key(config: Path, section: str, key: str, value: str) -> None:
    """Set ``key = value`` (TOML text) in ``[section]`` of a written config, adding either."""
    lines = config.read_text().splitlines()
    header = f"[{section}]"
    if header not in lines:
        lines += ["", header]
    start_at = lines.index(header) + 1
    end = next((i for i in range(start_at, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start_at, end):
        if lines[i].split("=")[0].strip() == key:
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(end, f"{key} = {value}")
    config.write_text("\n".join(lines) + "\n")


@contextmanager
def _read_only(journal: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        yield db
    finally:
        db.close()


def journal_rows(journal: Path, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    """Rows of a query on the journal, read-only (WAL lets a test read while the daemon writes)."""
    with _read_only(journal) as db:
        return list(db.execute(sql, params))


def journal_problems(journal: Path) -> list[str]:
    """What is wrong with a journal left behind by a stopped daemon: empty when consistent.

    SQLite's own checks (``integrity_check``, ``foreign_key_check``) and the journal's
    invariants: a transaction's action carries the hash it was signed under; an action's outcome
    matches its terminal state; settled transactions have a settlement time; a submitted one was
    handed to a node at least once.
    """
    problems: list[str] = []
    with _read_only(journal) as db:
        integrity = [r[0] for r in db.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {integrity[:3]}")
        problems += [f"foreign key: {tuple(r)}" for r in db.execute("PRAGMA foreign_key_check")]
        rules = {
            "action with transactions but no hash": """
                SELECT a.key FROM actions a WHERE a.action_hash IS NULL
                AND EXISTS (SELECT 1 FROM transactions t WHERE t.action_key = a.key)""",
            "terminal action with the wrong outcome": """
                SELECT key FROM actions WHERE (state = 'done' AND outcome IS NOT 'success')
                OR (state = 'failed' AND outcome IS NOT 'failure')
                OR (state = 'moot' AND outcome IS NOT 'moot')""",
            "recording without an outcome": "SELECT key FROM actions WHERE state = 'recording' AND outcome IS NULL",
            "settled transaction without a settlement time": """
                SELECT tx_hash FROM transactions
                WHERE state IN ('committed', 'aborted', 'dropped') AND settled_wall IS NULL""",
            "submitted transaction never handed to a node": """
                SELECT tx_hash FROM transactions WHERE state = 'submitted' AND submissions < 1""",
            "two executed transactions for one sequence number": """
                SELECT sender, sequence_number FROM transactions
                WHERE state IN ('committed', 'aborted')
                GROUP BY sender, sequence_number HAVING COUNT(*) > 1""",
        }
        for what, sql in rules.items():
            problems += [f"{what}: {tuple(r)}" for r in db.execute(sql)]
    return problems
