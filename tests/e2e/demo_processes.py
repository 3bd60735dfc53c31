"""Real parts for the engine's acceptance tests: the localnet and the daemon as processes.

``autobot localnet --scenario demo --write-config F`` runs in one process, ``autobot run --config
F`` in another; the tests read the chain over HTTP (``SupraGateway``, the node's raw JSON, the
dev endpoints under ``/localnet/v1``) and the daemon's journal as the SQLite file it is, opened
read-only next to the running daemon (WAL lets a reader look while the writer works).

* ``LocalnetProcess.start(workdir, ...)`` — an async context manager: the node process, its
  written config, a ``SupraGateway`` and an HTTP session; ``advance(seconds)``,
  ``block_seconds(tx_hash)`` (the chain time of the block a transaction executed in),
  ``all_events(type)`` (every page), ``story_told()``.
* ``DaemonProcess`` — ``autobot run --config F``: ``kill()`` (SIGKILL), ``stop()`` (SIGTERM),
  ``log_lines()`` (its JSON log lines), ``metrics_url()``.
* ``JournalReader`` — read-only queries on the journal file.
* ``TimelockSkipper`` — while the daemon waits out a timelock (an action ``waiting`` for its
  ``execute_at``), moves chain time forward to that second with ``POST /localnet/v1/advance``,
  so a 900 s timelock costs no wall time (docs/conventions.md §16: chain time is advanced, not slept).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiohttp
import pytest

from autobot.chain.gateway import ChainEvent
from autobot.chain.supra import SupraGateway
from autobot.config import Config, load_config
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import Snapshot

__all__ = [
    "AUTOBOT",
    "ActionRow",
    "CliResult",
    "DaemonProcess",
    "JournalReader",
    "LocalnetProcess",
    "TimelockSkipper",
    "TxRow",
    "autobot_cli",
    "refunded_and_archived",
    "story_told",
]

AUTOBOT = str(Path(sys.executable).with_name("autobot"))
LOTTERIES = (1, 2, 3, 4, 5)
ASSETS = (1, 2, 3)


def refunded_and_archived(snapshot: Snapshot, lottery_id: int) -> bool:
    view = snapshot.lotteries[lottery_id]
    refund = view.refund
    return (
        view.status == LotteryStatus.CANCELED
        and view.archived
        and refund.tickets_refunded == refund.tickets_sold
        and refund.prize_refunded + refund.operations_refunded == refund.proceeds_accum
    )


def story_told(snapshot: Snapshot) -> bool:
    """The demo's end state (tests/e2e/test_demo_story.py): every flow finished."""
    lotteries = snapshot.lotteries
    bots_idle = all(b.failure_count == 0 and not b.has_pending for b in snapshot.bots)
    return (
        lotteries[1].status == LotteryStatus.PAYOUT
        and lotteries[2].status == LotteryStatus.PAYOUT
        and refunded_and_archived(snapshot, 3)
        and refunded_and_archived(snapshot, 4)
        and snapshot.feeds[3].fallback_active
        and bots_idle
    )


@dataclass(frozen=True, slots=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def autobot_cli(*args: str, within: float = 30.0) -> CliResult:
    """Run ``autobot ARGS...`` (the operator CLI) as a process; its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        AUTOBOT, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(within):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


def _popen(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def _terminate(proc: subprocess.Popen[bytes], *, grace: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- the localnet


class LocalnetProcess:
    """``autobot localnet`` as a child process, with the clients a test reads it through."""

    def __init__(
        self,
        *,
        proc: subprocess.Popen[bytes],
        log: Path,
        config_path: Path,
        config: Config,
        gateway: SupraGateway,
        http: aiohttp.ClientSession,
    ) -> None:
        self.proc = proc
        self.log = log
        self.config_path = config_path
        self.config = config
        self.gateway = gateway
        self.http = http
        self.base_url = config.chain.rpc_urls[0].rstrip("/") + "/"

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        workdir: Path,
        *,
        time_scale: float = 60.0,
        block_interval_ms: int = 200,
        extra: tuple[str, ...] = (),
        scenario: str = "demo",
    ) -> AsyncIterator[Self]:
        config_path = workdir / "demo" / "autobot.toml"
        log = workdir / "localnet.log"
        argv = [AUTOBOT, "localnet", "--scenario", scenario, "--port", "0"]
        argv += ["--time-scale", str(time_scale), "--block-interval-ms", str(block_interval_ms)]
        argv += ["--state-dir", str(workdir / "chain"), "--write-config", str(config_path)]
        proc = _popen([*argv, *extra], log)
        try:
            deadline = time.monotonic() + 15
            while not config_path.exists():
                if proc.poll() is not None:
                    pytest.fail(f"localnet exited {proc.returncode}:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail("localnet did not write its config within 15 s")
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)  # the key files are written right after the config
            config = load_config(config_path)
            async with (
                SupraGateway.from_config(config.chain) as gateway,
                aiohttp.ClientSession() as http,
            ):
                yield cls(
                    proc=proc,
                    log=log,
                    config_path=config_path,
                    config=config,
                    gateway=gateway,
                    http=http,
                )
        finally:
            _terminate(proc)

    @property
    def journal_path(self) -> Path:
        return self.config.journal.path

    def operator(self, name: str) -> str:
        """A configured operator's address (``A``, ``B``) from the dev keys the config names."""
        from autobot.chain.keys import load_keyring

        return str(load_keyring(self.config).operators[name].address)

    def admin(self) -> str:
        from autobot.chain.keys import load_keyring

        return str(load_keyring(self.config).admin.address)

    async def snapshot(self) -> Snapshot:
        return await self.gateway.snapshot(lottery_ids=LOTTERIES, asset_ids=ASSETS)

    async def story_told(self) -> bool:
        return story_told(await self.snapshot())

    async def chain_now(self) -> int:
        return (await self.gateway.chain_time()).seconds

    async def advance(self, seconds: int) -> int:
        """``POST /localnet/v1/advance``: chain time moves on and a block is produced at once."""
        url = f"{self.base_url}localnet/v1/advance"
        async with self.http.post(url, json={"seconds": seconds}) as reply:
            body = await reply.json()
            assert reply.status == 200, body
        return int(body["chain_time"])

    async def transaction(self, tx_hash: str) -> dict[str, Any]:
        """The node's ``TransactionV3`` JSON (404 fails the test)."""
        async with self.http.get(f"{self.base_url}rpc/v3/transactions/{tx_hash}") as reply:
            body: dict[str, Any] = await reply.json()
            assert reply.status == 200, (tx_hash, body)
        return body

    async def block_seconds(self, tx_hash: str) -> int:
        """Chain time (seconds) of the block the transaction executed in."""
        body = await self.transaction(tx_hash)
        header = body["block_header"]
        assert header is not None, f"{tx_hash} has not executed"
        return int(header["timestamp"]["timestamp"]) // 1_000_000

    async def all_events(self, event_type: str) -> list[ChainEvent]:
        """Every event of ``event_type`` (``module::Struct`` in the package), oldest first."""
        out: list[ChainEvent] = []
        cursor: str | None = None
        while True:
            page = await self.gateway.events(event_type, cursor=cursor)
            out.extend(page.events)
            if page.cursor is None:
                return out
            cursor = page.cursor


# --------------------------------------------------------------------------- the daemon


class DaemonProcess:
    """``autobot run --config F`` as a child process; its log is appended to ``log``."""

    def __init__(self, config_path: Path, log: Path) -> None:
        self.config_path = config_path
        self.log = log
        self._offset = log.stat().st_size if log.exists() else 0
        argv = [AUTOBOT, "run", "--config", str(config_path), "--listen", "127.0.0.1:0"]
        self.proc = _popen(argv, log)

    @classmethod
    @contextlib.contextmanager
    def running(cls, config_path: Path, log: Path) -> Iterator[DaemonProcess]:
        daemon = cls(config_path, log)
        try:
            yield daemon
        finally:
            _terminate(daemon.proc)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            pytest.fail(f"daemon exited {self.proc.returncode}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (what a power cut or the OOM killer does)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        _terminate(self.proc)
        return self.proc.returncode

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def log_lines(self) -> list[dict[str, Any]]:
        """This process's JSON log lines (the daemon logs JSON when stdout is not a TTY)."""
        with self.log.open("rb") as f:
            f.seek(self._offset)
            text = f.read().decode(errors="replace")
        out = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                item = json.loads(line)
                if isinstance(item, dict):
                    out.append(item)
        return out

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.log_lines() if line.get("event") == name]

    async def metrics_url(self, *, within: float = 15.0) -> str:
        deadline = time.monotonic() + within
        while True:
            started = self.events("daemon_started")
            if started:
                return str(started[-1]["metrics_url"])
            self.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"the daemon did not start within {within} s:\n{self.tail()}")
            await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- the journal


@dataclass(frozen=True, slots=True)
class ActionRow:
    key: str
    kind: str
    subject_id: int
    action_id: int | None
    state: str
    operator: str | None
    execute_at: int | None
    action_hash: bytes | None
    progress: int
    next_check_at: int | None


@dataclass(frozen=True, slots=True)
class TxRow:
    tx_hash: str
    action_key: str
    action_hash: bytes
    purpose: str
    call_index: int
    function: str
    sender: str
    sequence_number: int
    raw: bytes
    state: str


class JournalReader:
    """Read-only access to the daemon's journal file (``mode=ro``: this reader never writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None:
            if not self.path.exists():
                return None
            try:
                db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
            except sqlite3.Error:
                return None
            try:
                db.execute("SELECT 1 FROM actions LIMIT 1")
            except sqlite3.Error:  # the schema is not migrated yet
                db.close()
                return None
            self._db = db
        return self._db

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        db = self._conn()
        if db is None:
            return []
        return db.execute(sql, params).fetchall()

    def actions(self) -> list[ActionRow]:
        rows = self._query(
            "SELECT key, kind, subject_id, action_id, state, operator, execute_at, action_hash, "
            "progress, next_check_at FROM actions ORDER BY created_wall, key"
        )
        return [ActionRow(*row) for row in rows]

    def action(self, key: str) -> ActionRow | None:
        return next((a for a in self.actions() if a.key == key), None)

    def terminal_lotteries(self) -> set[int]:
        return {int(row[0]) for row in self._query("SELECT lottery_id FROM terminal_lotteries")}

    def transactions(self) -> list[TxRow]:
        rows = self._query(
            "SELECT tx_hash, action_key, action_hash, purpose, call_index, "
            "json_extract(call, '$.function'), sender, sequence_number, raw, state "
            "FROM transactions ORDER BY created_wall, rowid"
        )
        return [TxRow(*row) for row in rows]


# --------------------------------------------------------------------------- chain time


class TimelockSkipper:
    """Advances chain time to the ``execute_at`` of any action the daemon waits on.

    Every ``interval`` seconds it reads the journal; an action in ``waiting`` whose ``execute_at``
    is still ahead of the chain gets ``POST /localnet/v1/advance`` by the difference (a new block
    at once). The daemon's own behaviour is unchanged: it still waits for chain time; there is
    just less wall time to wait. ``short_by`` stops that many chain seconds before ``execute_at``,
    so the last stretch of the timelock passes at the chain's own pace (a daemon that did not wait
    would act in it). ``paused`` holds it off (a test that wants to catch ``waiting``).
    """

    def __init__(
        self,
        net: LocalnetProcess,
        journal: JournalReader,
        *,
        interval: float = 0.1,
        short_by: int = 0,
    ) -> None:
        self._net = net
        self._journal = journal
        self._interval = interval
        self._short_by = short_by
        self.paused = False
        self.advanced: list[tuple[str, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._loop(), name="timelock-skipper")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self.paused:
                continue
            waiting = [a for a in self._journal.actions() if a.state == "waiting" and a.execute_at]
            if not waiting:
                continue
            target = min(a.execute_at for a in waiting if a.execute_at is not None)
            target -= self._short_by
            now = await self._net.chain_now()
            if target > now:
                await self._net.advance(target - now)
                self.advanced.append((waiting[0].key, target - now))
