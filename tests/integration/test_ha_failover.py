"""Two ``autobot run`` instances with ``[ha]`` on one PostgreSQL journal and the localnet demo.

* A leader paused (SIGSTOP) longer than the lease, while its transactions are in flight, is
  replaced by the standby; when it resumes it writes nothing (an audit trigger records every
  journal row by the writing session) and signs or sends nothing (its log), and exits 75 for
  systemd to start it again as a standby (issue 16, acceptance 2).
* SIGTERM hands over at once: the leader drains, releases the lease and exits 0; the hot
  standby takes over within a renewal, recovers and goes on with the work.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
import urllib.request
from pathlib import Path

import pytest

import processes
from autobot.clock import SystemClock
from autobot.errors import EX_TEMPFAIL
from autobot.journal.dsn import Dsn
from autobot.journal.postgres import PostgresJournal
from ha_support import (
    PgJournalReader,
    audit_rows,
    db_now,
    install_audit,
    instance_configs,
    split_brain,
    takeovers_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

LEASE = 3.0
RENEW = 1.0
ACTING = ("transaction_signed", "transaction_resent", "transaction_settled", "call_submitted")
"""Log events of a process that signs, sends or settles (a chain read such as
``sequence_synced`` is not one)."""


def events_after(process: processes.Process, offset: int) -> list[dict[str, object]]:
    out = []
    with process.log.open("rb") as f:
        f.seek(offset)
        for line in f.read().decode(errors="replace").splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def metric(process: processes.Process, name: str) -> float:
    [started] = process.find("web_server_started")
    url = f"http://{started['host']}:{started['port']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def executed(chain_db: Path) -> list[tuple[str, str, int]]:
    db = sqlite3.connect(f"file:{chain_db}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT hash, sender, sequence_number FROM transactions"
            " WHERE kind = 'user' AND status IN ('Success', 'Fail')"
        ).fetchall()
    finally:
        db.close()
    return [(str(h), str(s), int(n)) for h, s, n in rows]


async def start_pair(
    net: processes.Localnet, dsn: Dsn, folder: Path
) -> tuple[processes.Process, processes.Process]:
    """Both instances started together; (leader, standby) once one of them took over."""
    configs = instance_configs(
        net.config,
        dsn,
        ["a", "b"],
        lease_seconds=LEASE,
        renew_seconds=RENEW,
        log_level="debug",  # the test reads what each instance signs, sends and settles
    )
    a, b = (
        processes.start(
            [processes.AUTOBOT, "run", "--config", str(c), "--listen", "127.0.0.1:0"],
            folder / f"{c.stem}.log",
        )
        for c in configs
    )
    deadline = time.monotonic() + 60
    while not (a.find("ha_took_over") or b.find("ha_took_over")):
        assert a.returncode is None and b.returncode is None, a.text()[-2000:] + b.text()[-2000:]
        assert time.monotonic() < deadline, a.text()[-2000:] + b.text()[-2000:]
        await asyncio.sleep(0.05)
    return (a, b) if a.find("ha_took_over") else (b, a)


async def test_a_paused_leader_that_resumes_after_losing_the_lease_writes_and_signs_nothing(
    tmp_path: Path, pg_database: Dsn
) -> None:
    # given: the journal's tables, every row written to them audited by session
    await (await PostgresJournal.open(pg_database, clock=SystemClock())).close()
    install_audit(pg_database)
    async with processes.localnet(tmp_path, "--block-interval-ms", "1000") as net:
        leader, standby = await start_pair(net, pg_database, tmp_path)
        try:
            # a leader with transactions in flight (blocks come once a second)
            await leader.wait_event("transaction_signed", within=60)
            # when: it freezes for longer than the lease
            leader.send(signal.SIGSTOP)
            frozen = time.monotonic()
            took = await standby.wait_event("ha_took_over", within=LEASE + 20)
            assert time.monotonic() - frozen > LEASE
            await standby.wait_event("transaction_signed", within=30, after=0)
            resumed_at = db_now(pg_database)
            # what the deposed epoch journaled (all of it before the freeze: the audit below)
            deposed = {
                t.tx_hash
                for t in PgJournalReader(pg_database).epochs()
                if t.epoch == took["epoch"] - 1
            }
            offset = leader.log.stat().st_size
            leader.send(signal.SIGCONT)
            code = await leader.wait_exit(within=30)
            # the new leader goes on working
            await asyncio.sleep(2)
            assert standby.returncode is None, standby.text()[-3000:]
            assert metric(standby, "autobot_ha_leader") == 1
            assert metric(standby, "autobot_ha_epoch") == took["epoch"]
        finally:
            leader.send(signal.SIGCONT)
            leader.stop()
            standby.stop()
        # then: it stopped for systemd to start it again as a standby ...
        assert code == EX_TEMPFAIL, leader.text()[-3000:]
        after = events_after(leader, offset)
        assert any(e.get("event") == "ha_leadership_lost" for e in after), after[-20:]
        # ... having signed, sent and settled nothing after it resumed (frozen between a step
        # that it had done and journaled and that step's log line — a signature, a submission —
        # it may finish those lines: they name transactions journaled before the freeze, never a
        # new one) ...
        acting = [e for e in after if e.get("event") in ACTING]
        assert [e for e in acting if e.get("tx_hash") not in deposed] == []
        # ... and written no journal row, while the new leader wrote (the audit sees writes)
        leader_app = f"autobot-{leader.argv[3].rsplit('autobot-', 1)[1].removesuffix('.toml')}"
        standby_app = "autobot-b" if leader_app == "autobot-a" else "autobot-a"
        assert audit_rows(pg_database, app=leader_app, after=resumed_at) == []
        assert audit_rows(pg_database, app=standby_app, after=resumed_at)
        # the deposed epoch's transactions were all journaled before the takeover, and on
        # chain no account has transactions of two leaders interleaved
        journal = PgJournalReader(pg_database)
        epochs = journal.epochs()
        assert {t.epoch for t in epochs} >= {took["epoch"] - 1, took["epoch"]}
        found = split_brain(
            chain_executed=executed(tmp_path / "chain" / "chain.sqlite3"),
            journal=epochs,
            accounts={t.sender for t in epochs},
            takeovers=takeovers_in([leader.log, standby.log]),
        )
        assert found == []
        assert journal.problems() == []


async def test_sigterm_hands_the_lease_over_at_once(tmp_path: Path, pg_database: Dsn) -> None:
    async with processes.localnet(tmp_path) as net:
        leader, standby = await start_pair(net, pg_database, tmp_path)
        try:
            # given: a hot standby (it reads the chain and serves its metrics)
            await standby.wait_event("standby_tick", within=60)
            assert metric(standby, "autobot_ha_leader") == 0
            assert metric(leader, "autobot_ha_leader") == 1
            # when
            leader.send(signal.SIGTERM)
            stopped = time.monotonic()
            code = await leader.wait_exit(within=40)
            await standby.wait_event("ha_took_over", within=30)
            handover = time.monotonic() - stopped
        finally:
            leader.stop()
            standby.stop()
    # then: a clean stop that released the lease; the standby did not wait for it to expire
    assert code == 0, leader.text()[-3000:]
    assert leader.find("ha_lease_released", where=lambda e: e["released"] is True)
    assert standby.find("ha_took_over")[0]["epoch"] == 2
    assert handover < 10, handover
