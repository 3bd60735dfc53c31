"""Signals to a running daemon, as systemd sends them (``systemctl stop`` / ``reload``).

* SIGTERM while a transaction is in flight: the daemon exits 0 within its bounded grace period,
  the journal is consistent, and the next start finishes the action without signing the same
  step twice.
* SIGHUP (``systemd/autobot.service``): a new log level is applied (``config_reloaded``); any other
  change, or a file that does not parse, is refused (``config_reload_refused`` naming the keys)
  and the daemon keeps running on the old config.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

import processes
from autobot.app import SHUTDOWN_GRACE_SECONDS
from autobot.config import load_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

STOP_MARGIN_SECONDS = 5.0  # interpreter exit, closing the journal, the web server, the gateway


async def _in_flight(journal: Path, daemon: processes.Process, *, within: float) -> str:
    """The hash of a transaction that is journaled but not yet settled (signed or submitted)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):  # not created or migrated yet
            rows = processes.journal_rows(
                journal, "SELECT tx_hash FROM transactions WHERE state IN ('signed', 'submitted')"
            )
            if rows:
                return str(rows[0]["tx_hash"])
        assert daemon.returncode is None, daemon.text()[-3000:]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no transaction in flight within {within} s:\n{daemon.text()[-3000:]}")


async def test_sigterm_during_an_in_flight_submission_exits_0_and_a_restart_finishes_it(
    tmp_path: Path,
) -> None:
    # given: a chain that takes 3 s per block, so a submitted transaction waits for its block
    async with processes.localnet(tmp_path, "--block-interval-ms", "3000") as net:
        journal = load_config(net.config).journal.path
        async with processes.daemon(net.config, tmp_path / "daemon-1.log") as first:
            tx_hash = await _in_flight(journal, first, within=60)
            # when: systemd stops the service
            os.kill(first.pid, signal.SIGTERM)
            started = time.monotonic()
            code = await first.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30)
            took = time.monotonic() - started
        # then: a clean, bounded stop, and a journal that is whole
        assert code == 0, first.text()[-3000:]
        assert took <= SHUTDOWN_GRACE_SECONDS + STOP_MARGIN_SECONDS, f"stopped after {took:.1f} s"
        assert first.find("daemon_stopped"), first.text()[-3000:]
        # the in-flight step was allowed to finish (grace), not cut off mid-write
        assert not first.find("shutdown_grace_expired")
        assert "CancelledError" not in first.text()
        (cut,) = processes.journal_rows(
            journal, "SELECT state FROM transactions WHERE tx_hash = ?", (tx_hash,)
        )
        assert cut["state"] != "signed", "the transaction in flight was never handed to the node"
        assert processes.journal_problems(journal) == []
        (row,) = processes.journal_rows(
            journal, "SELECT action_key, purpose, call_index FROM transactions WHERE tx_hash = ?",
            (tx_hash,),
        )  # fmt: skip
        step = (row["action_key"], row["purpose"], row["call_index"])

        # when: the daemon starts again
        async with processes.daemon(net.config, tmp_path / "daemon-2.log") as second:
            await second.wait_event("recovered", within=60)
            deadline = time.monotonic() + 90
            while True:
                (action,) = processes.journal_rows(
                    journal, "SELECT state FROM actions WHERE key = ?", (step[0],)
                )
                if action["state"] not in processes.OPEN_STATES:
                    break
                assert time.monotonic() < deadline, f"{step[0]} still {action['state']}"
                assert second.returncode is None, second.text()[-3000:]
                await asyncio.sleep(0.2)
            os.kill(second.pid, signal.SIGTERM)
            assert await second.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30) == 0

    # then: the cut step was finished, not signed again after it landed
    settled = processes.journal_rows(
        journal, "SELECT state FROM transactions WHERE tx_hash = ?", (tx_hash,)
    )
    assert settled[0]["state"] in ("committed", "aborted", "dropped")
    executed = processes.journal_rows(
        journal,
        "SELECT tx_hash FROM transactions WHERE action_key = ? AND purpose = ? AND call_index = ?"
        " AND state = 'committed'",
        step,
    )
    assert len(executed) <= 1, [r["tx_hash"] for r in executed]
    twice = processes.journal_rows(
        journal,
        "SELECT action_key, purpose, call_index, action_hash, COUNT(*) AS n FROM transactions"
        " WHERE state = 'committed' GROUP BY action_key, purpose, call_index, action_hash"
        " HAVING n > 1",
    )
    assert twice == []
    assert processes.journal_problems(journal) == []
    assert action["state"] == "done", action["state"]


async def test_sighup_applies_a_new_log_level_and_refuses_anything_else(tmp_path: Path) -> None:
    async with (
        processes.localnet(tmp_path) as net,
        processes.daemon(net.config, tmp_path / "daemon.log") as daemon,
    ):
        ready = await daemon.wait_event("daemon_ready", within=60)
        assert ready["level"] == "info"
        started = await daemon.wait_event("daemon_started", within=1)
        metrics_url = started["metrics_url"]
        assert metrics_url.startswith("http://127.0.0.1:")

        # when: the log level changes and systemd sends SIGHUP (ExecReload)
        processes.set_key(net.config, "log", "level", '"debug"')
        os.kill(daemon.pid, signal.SIGHUP)
        # then: it is applied, and debug lines follow
        reloaded = await daemon.wait_event("config_reloaded", within=15)
        assert reloaded["changed"] == ["log.level"]
        assert await _a_debug_line_after(daemon, reloaded)

        # when: a setting that needs a restart changes (and the log level goes back)
        processes.set_key(net.config, "scheduler", "poll_interval_seconds", "7.5")
        processes.set_key(net.config, "automation", "mode", '"dry-run"')
        processes.set_key(net.config, "log", "level", '"info"')
        os.kill(daemon.pid, signal.SIGHUP)
        # then: refused, naming exactly those keys; nothing applied, still running
        refused = await daemon.wait_event("config_reload_refused", within=15)
        assert refused["reason"] == "these settings need a restart"
        assert sorted(refused["keys"]) == ["automation.mode", "scheduler.poll_interval_seconds"]
        assert len(daemon.find("config_reloaded")) == 1
        assert await _a_debug_line_after(daemon, refused)  # the old level (debug) still holds

        # when: the file no longer parses
        net.config.write_text(net.config.read_text() + "\n[chain\n")
        os.kill(daemon.pid, signal.SIGHUP)
        # then: refused as invalid, still serving
        invalid = await daemon.wait_event("config_reload_refused", within=15, after=1)
        assert invalid["reason"] == "invalid configuration" and invalid["problems"]
        await asyncio.sleep(1.0)
        assert daemon.returncode is None, daemon.text()[-3000:]
        async with httpx.AsyncClient() as http:
            health = await http.get(metrics_url.replace("/metrics", "/healthz"))
        assert health.status_code == 200, health.text

        os.kill(daemon.pid, signal.SIGTERM)
        assert await daemon.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30) == 0


async def _a_debug_line_after(daemon: processes.Process, event: dict[str, object]) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        events = daemon.events()
        index = events.index(event)
        if any(e.get("level") == "debug" for e in events[index + 1 :]):
            return True
        await asyncio.sleep(0.2)
    return False
