"""The byzantine harness (the ``byz`` fixture is in ``conftest.py``): one localnet, a lying endpoint listed first, an honest one second.

Fixtures (function scope, on the test's event loop):

* ``byz`` — a ``Byzantine``: the localnet (``net``, the demo scenario unless the test's
  ``@pytest.mark.localnet(...)`` says otherwise), a ``LyingProxy`` in front of its main front end
  (``proxy``, listed first in ``rpc_urls``), an honest second front end of the same node
  (``honest``), and the chain's own record read through the main front end, which no lie touches:
  ``chain`` (a ``SupraGateway``), ``tx(hash)`` (the node's ``TransactionV3``), ``timing(hash)``
  (``/localnet/v1/transactions/{hash}``), ``events(type)``, ``user_transactions()`` (every
  executed user transaction the node holds, with sender, sequence number, gas fields and the
  block's timestamp), ``advance(seconds)`` (chain time moves on at once).
* ``byz.config(**sections)`` — the daemon config written for this chain (``write_daemon_config``)
  with both URLs, then any ``[section] key = value`` overrides given as
  ``{"chain": {"request_timeout_seconds": "2.0"}}`` (TOML text values).
* ``byz.daemon(config)`` — ``autobot.app.Daemon`` running in-process (its own task) for the
  ``async with`` block; ``byz.journal(config)`` reads its journal file read-only.
* ``byz.machine(clock=...)`` — the execution pipeline alone (``Sequencer``s, ``ActionSteps``,
  ``Executor``) over a ``SupraGateway`` on both URLs and a journal of its own, for tests that
  plan one action by hand and drive it (``Machine.plan``, ``Machine.drive``) as the daemon would.

Every property is asserted against the chain's record, never the daemon's word.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from lying_proxy import Lie, LyingProxy

from autobot.app import Daemon
from autobot.chain.gateway import ChainEvent
from autobot.chain.keys import load_keyring
from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.clock import Clock, SystemClock
from autobot.config import Config, load_config
from autobot.domain.actions import ActionKey
from autobot.execution import ActionSteps, Bookkeeper, Executor, Guards, Router, Sequencer
from autobot.journal.records import ActionRecord
from autobot.journal.store import SqliteJournal
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.runner import Frontend, Localnet
from autobot.planning.plan import PlannedAction, Recipe

__all__ = ["Byzantine", "ChainTx", "Lie", "LyingProxy", "eventually"]


async def eventually[T](
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within: float,
    every: float = 0.1,
    what: str = "condition",
) -> T:
    """Read until ``done(value)``; fails the test with the last value after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {within} s; last: {value!r}"[:3000])
        await asyncio.sleep(every)


@dataclass(frozen=True, slots=True)
class ChainTx:
    """An executed user transaction as the node records it."""

    hash: str
    sender: str
    sequence_number: int
    status: str  # Success | Fail
    function: str  # module::function
    arguments: tuple[object, ...]
    gas_unit_price: int
    max_gas_amount: int
    block_seconds: int  # chain time of the block it executed in


class JournalFile:
    """The daemon's journal opened read-only (WAL: beside the running writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        if not self.path.exists():
            return []
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
        db.row_factory = sqlite3.Row
        try:
            return list(db.execute(sql, params))
        except sqlite3.OperationalError:  # not migrated yet
            return []
        finally:
            db.close()

    def actions(self) -> list[sqlite3.Row]:
        return self.rows("SELECT * FROM actions ORDER BY rowid")

    def action(self, key: str) -> sqlite3.Row | None:
        found = self.rows("SELECT * FROM actions WHERE key = ?", (key,))
        return found[0] if found else None

    def transactions(self, action_key: str | None = None) -> list[sqlite3.Row]:
        if action_key is None:
            return self.rows("SELECT * FROM transactions ORDER BY rowid")
        return self.rows(
            "SELECT * FROM transactions WHERE action_key = ? ORDER BY rowid", (action_key,)
        )

    def incidents(self) -> list[sqlite3.Row]:
        return self.rows("SELECT * FROM incidents ORDER BY id")


class Machine:
    """The execution pipeline over the byzantine endpoints (``Byzantine.machine``)."""

    def __init__(
        self, *, executor: Executor, journal: SqliteJournal, gateway: SupraGateway
    ) -> None:
        self.executor = executor
        self.journal = journal
        self.gateway = gateway

    async def plan(self, recipe: Recipe, key: str) -> ActionKey:
        now = (await self.gateway.chain_time()).seconds
        action = PlannedAction(
            key=ActionKey.parse(key), recipe=recipe, due_at=now, reason="byzantine test"
        )
        record, _ = await self.executor.accept(action, chain_now=now)
        return record.action_key

    async def drive(
        self,
        key: ActionKey,
        *,
        until: Callable[[ActionRecord], bool],
        within: float,
        between: Callable[[], Awaitable[None]] | None = None,
    ) -> ActionRecord:
        """Advance ``key`` again and again (as the daemon's sweeps would, transport errors
        deferring a step) until ``until(record)`` or ``within`` wall seconds passed; the record."""
        deadline = time.monotonic() + within
        while True:
            record = await self.journal.get_action(str(key))
            assert record is not None
            if until(record) or time.monotonic() > deadline:
                return record
            await self.executor.advance(key)
            if between is not None:
                await between()
            await asyncio.sleep(0.05)


class Byzantine:
    def __init__(
        self,
        *,
        net: Localnet,
        proxy: LyingProxy,
        honest: Frontend,
        chain: SupraGateway,
        http: aiohttp.ClientSession,
        workdir: Path,
    ) -> None:
        self.net = net
        self.proxy = proxy
        self.honest = honest
        self.chain = chain
        self.http = http
        self.workdir = workdir
        self.base = net.base_url
        self._config_path = workdir / "daemon" / "autobot.toml"

    # -- the daemon -----------------------------------------------------------------------------

    def config(
        self,
        sections: Mapping[str, Mapping[str, str]] | None = None,
        *,
        urls: tuple[str, ...] | None = None,
    ) -> Config:
        """The daemon config: the localnet's written one, ``urls`` (default: the proxy, then the
        honest front end), a sweep every 0.25 s, and ``sections`` overrides (TOML values)."""
        from processes import set_key

        path = self._config_path
        info = dataclasses.replace(self.net.info, rpc_url=self.proxy.url)
        write_daemon_config(path, info, listen="127.0.0.1:0", journal=Path("journal.sqlite3"))
        urls = urls if urls is not None else (self.proxy.url, self.honest.url)
        base: dict[str, dict[str, str]] = {
            "chain": {
                "rpc_urls": json.dumps(list(urls)),
                "request_timeout_seconds": "2.0",
                "tx_ttl_seconds": "20",
            },
            "scheduler": {"poll_interval_seconds": "0.25"},
        }
        for section, values in (sections or {}).items():
            base.setdefault(section, {}).update(values)
        for section, values in base.items():
            for key, value in values.items():
                set_key(path, section, key, value)
        return load_config(path)

    @contextlib.asynccontextmanager
    async def daemon(self, config: Config | None = None) -> AsyncIterator[Daemon]:
        config = config or self.config()
        daemon = Daemon(config=config, keyring=load_keyring(config), listen=("127.0.0.1", 0))
        async with daemon:
            running = asyncio.create_task(daemon.run_until_stopped(), name="daemon")
            try:
                yield daemon
                assert not running.done(), f"the daemon stopped by itself: {running!r}"
            finally:
                daemon.request_stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(running, 30)

    def journal(self, config: Config) -> JournalFile:
        return JournalFile(config.journal.path)

    @contextlib.asynccontextmanager
    async def machine(
        self,
        *,
        clock: Clock | None = None,
        urls: tuple[str, ...] | None = None,
        ttl_seconds: int = 20,
        expiry_grace_seconds: float = 2.0,
        confirm_seconds: float = 2.0,
        gateway_options: Mapping[str, Any] | None = None,
        book_options: Mapping[str, Any] | None = None,
        steps_options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Machine]:
        clock = clock or SystemClock()
        info = self.net.info
        urls = urls if urls is not None else (self.proxy.url, self.honest.url)
        journal = await SqliteJournal.open(self.workdir / "machine.sqlite3", clock=clock)
        try:
            async with SupraGateway(
                rpc_urls=list(urls),
                chain_id=info.chain_id,
                package=info.package_address,
                request_timeout=2.0,
                tx_ttl_seconds=ttl_seconds,
                **dict(gateway_options or {}),
            ) as gateway:

                def sequencer(key_hex: str) -> Sequencer:
                    return Sequencer(
                        signer=Signer.from_private_key_hex(key_hex),
                        gateway=gateway,
                        journal=journal,
                        clock=clock,
                        window=4,
                        ttl_seconds=ttl_seconds,
                        expiry_grace_seconds=expiry_grace_seconds,
                    )

                operators = {
                    s.address: s for s in (sequencer(op.private_key) for op in info.operators[:2])
                }
                guards = Guards()
                book = Bookkeeper(journal=journal, **dict(book_options or {}))
                steps = ActionSteps(
                    journal=journal,
                    gateway=gateway,
                    admin=sequencer(info.admin.private_key),
                    operators=operators,
                    router=Router(guards=guards, operators=operators),
                    guards=guards,
                    clock=clock,
                    live=True,
                    book=book,
                    **dict(steps_options or {}),
                )
                executor = Executor(
                    journal=journal,
                    gateway=gateway,
                    steps=steps,
                    book=book,
                    confirm_seconds=confirm_seconds,
                )
                yield Machine(executor=executor, journal=journal, gateway=gateway)
        finally:
            await journal.close()

    # -- the chain's own record -------------------------------------------------------------------

    async def advance(self, seconds: int) -> int:
        async with self.http.post(
            f"{self.base}localnet/v1/advance", json={"seconds": seconds}
        ) as reply:
            body = await reply.json()
            assert reply.status == 200, body
        return int(body["chain_time"])

    async def now(self) -> int:
        return (await self.chain.chain_time()).seconds

    async def tx(self, tx_hash: str) -> dict[str, Any] | None:
        async with self.http.get(f"{self.base}rpc/v3/transactions/{tx_hash}") as reply:
            if reply.status == 404:
                return None
            body: dict[str, Any] = await reply.json()
            assert reply.status == 200, body
            return body

    async def timing(self, tx_hash: str) -> dict[str, Any] | None:
        async with self.http.get(f"{self.base}localnet/v1/transactions/{tx_hash}") as reply:
            if reply.status == 404:
                return None
            body: dict[str, Any] = await reply.json()
            return body

    async def events(self, event_type: str) -> list[ChainEvent]:
        out: list[ChainEvent] = []
        cursor: str | None = None
        while True:
            page = await self.chain.events(event_type, cursor=cursor)
            out.extend(page.events)
            if page.cursor is None:
                return out
            cursor = page.cursor

    def user_transactions(self) -> list[ChainTx]:
        """Every executed user transaction in the node's store (``chain.sqlite3``), by the
        node's own JSON: sender, sequence number, function, arguments, gas fields, block time."""
        db = sqlite3.connect(f"file:{self.net.state_dir / 'chain.sqlite3'}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT t.hash, t.json, b.timestamp_us FROM transactions t"
                " JOIN blocks b ON b.height = t.block_height"
                " WHERE t.kind = 'user' AND t.status IN ('Success', 'Fail')"
            ).fetchall()
        finally:
            db.close()
        out = []
        for tx_hash, text, micros in rows:
            body = json.loads(text)
            header = body["header"]
            payload = body["payload"]
            move = payload.get("Move", payload)
            out.append(
                ChainTx(
                    hash=tx_hash,
                    sender=str(header["sender"]),
                    sequence_number=int(header["sequence_number"]),
                    status=str(body["status"]),
                    function=str(move.get("function", "")).split("::", 1)[-1],
                    arguments=tuple(move.get("arguments", ())),
                    gas_unit_price=int(header["gas_unit_price"]),
                    max_gas_amount=int(header["max_gas_amount"]),
                    block_seconds=int(micros) // 1_000_000,
                )
            )
        return out
