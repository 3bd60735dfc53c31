"""Finding 6: operator commands never crash the daemon; one daemon per journal.

* ``autobot actions park KEY`` while that action's step is running (its transaction's status is
  hidden by the lying endpoint, so the step waits for it): the park is applied at the step's next
  boundary, the request is finished, and the daemon runs on. (It used to write the park beside the
  running step, whose next write then found the action parked: exit 74, every in-flight step
  cancelled.)
* A second ``autobot run`` on the same journal exits 75 at once, naming the first one's PID; the
  first runs on.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from byz_harness import Byzantine, Lie, eventually

pytestmark = [pytest.mark.timeout(90), pytest.mark.localnet(block_interval_ms=50)]

AUTOBOT = str(Path(sys.executable).with_name("autobot"))


async def _value[T](value: T) -> T:
    return value


async def _cli(*args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    proc = await asyncio.create_subprocess_exec(
        AUTOBOT,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_parking_an_action_while_its_step_runs_leaves_the_daemon_running(
    byz: Byzantine,
) -> None:
    # given: the close of lottery 1 sent, its status hidden for a while (the step waits on it)
    byz.proxy.tell(Lie.HIDDEN_STATUS, for_seconds=5)
    config = byz.config(urls=(byz.proxy.url,))
    journal = byz.journal(config)
    async with byz.daemon(config) as daemon:
        await eventually(
            lambda: _value(journal.transactions("close:1:0")),
            lambda txs: any(t["state"] == "submitted" for t in txs),
            within=15,
            what="the close submitted",
        )
        assert byz.proxy.telling(Lie.HIDDEN_STATUS)
        # when: an operator parks it
        code, out = await _cli("actions", "park", "close:1:0", "--config", str(config.source))
        assert code == 0, out
        # then: it ends parked at the step's boundary (after its transaction settled, once the
        # status shows again), and the daemon runs on
        await eventually(
            lambda: _value(journal.transactions("close:1:0")),
            lambda txs: bool(txs) and txs[0]["state"] == "committed",
            within=30,
            what="the close's transaction settled",
        )
        await eventually(
            lambda: _value(journal.action("close:1:0")),
            lambda a: a is not None and a["state"] == "parked",
            within=30,
            what="the close parked",
        )
        sweeps = daemon.sweeps
        await eventually(
            lambda: _value(daemon.sweeps),
            lambda n: n > sweeps + 3,
            within=20,
            what="more sweeps after the park",
        )
        assert daemon.fatal is None
    requests = journal.rows("SELECT kind, subject, state, result FROM requests")
    assert [(r["kind"], r["subject"], r["state"]) for r in requests] == [
        ("park", "close:1:0", "done")
    ], [dict(r) for r in requests]
    closes = [
        t for t in byz.user_transactions() if t.function == "lottery_registry::advance_status"
    ]
    assert [t.status for t in closes] == ["Success"]  # executed once, as sent before the park
    assert not [i for i in journal.incidents() if "looked at again" in i["description"]]


async def test_a_second_daemon_on_the_same_journal_exits_75_at_once(byz: Byzantine) -> None:
    config = byz.config()
    log = byz.workdir / "first.log"
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    argv = [AUTOBOT, "run", "--config", str(config.source), "--listen", "127.0.0.1:0"]
    with log.open("ab") as out:
        first = await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=out, env=env)
    try:
        await eventually(
            lambda: _value(log.read_bytes()),
            lambda text: b'"daemon_ready"' in text or b"daemon_ready" in text,
            within=30,
            what="the first daemon ready",
        )
        # when: a second one starts on the same config (the same journal)
        started = time.monotonic()
        code, out_text = await _cli(
            "run", "--config", str(config.source), "--listen", "127.0.0.1:0"
        )
        took = time.monotonic() - started
        # then: it stops at once, naming the holder; the first runs on
        assert code == 75, out_text[-2000:]
        assert f"PID {first.pid}" in out_text, out_text[-2000:]
        assert took < 15, took
        assert first.returncode is None
        await asyncio.sleep(1.0)
        assert first.returncode is None
    finally:
        if first.returncode is None:
            first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), 30) == 0
