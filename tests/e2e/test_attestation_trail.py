"""The attestation trail of a timelocked bot, read back from the chain after a demo run.

Engine issue, acceptance 2: every action by operator A (timelock 900 s) appears on chain as
announce → execution not before ``pending_execute_after`` → record with the same hash. The demo
runs as two processes (``autobot localnet`` at time-scale 60, ``autobot run``) until its whole
story is told; chain time is advanced over most of each timelock the daemon waits out, the last
three chain minutes pass at the chain's own pace (a daemon that did not wait would act in them). The trail is then read from the node's events (``GET rpc/v3/events``)
and the blocks the transactions executed in (``GET rpc/v3/transactions``); the journal only
tells which transactions belong to which action.

The same finished demo answers ``autobot status --config F`` (the operator CLI) in this module.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from demo_processes import (
    DaemonProcess,
    JournalReader,
    LocalnetProcess,
    TimelockSkipper,
    autobot_cli,
)

from autobot.chain.gateway import ChainEvent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(150),
    pytest.mark.asyncio(loop_scope="module"),
]

STORY_DEADLINE_SECONDS = 90.0
LAST_STRETCH_SECONDS = 180  # of each 900 s timelock, left to pass at the chain's pace (3 s)


@dataclass(frozen=True, slots=True)
class FinishedDemo:
    net: LocalnetProcess
    daemon_exit: int


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FinishedDemo]:
    """The demo, run by a real daemon until every flow finished; the localnet stays up."""
    workdir = tmp_path_factory.mktemp("attestation")
    async with LocalnetProcess.start(workdir) as net:
        with JournalReader(net.journal_path) as journal:
            started = time.monotonic()
            with DaemonProcess.running(net.config_path, workdir / "daemon.log") as daemon:
                async with TimelockSkipper(net, journal, short_by=LAST_STRETCH_SECONDS):
                    while not await net.story_told():
                        daemon.check_alive()
                        if time.monotonic() - started > STORY_DEADLINE_SECONDS:
                            pytest.fail(f"demo unfinished:\n{daemon.tail()}")
                        await asyncio.sleep(0.25)
                # the steady state: the next sweep notes the archived lotteries as terminal
                while not {3, 4} <= journal.terminal_lotteries():
                    daemon.check_alive()
                    if time.monotonic() - started > STORY_DEADLINE_SECONDS:
                        pytest.fail(f"3 and 4 never noted terminal:\n{daemon.tail()}")
                    await asyncio.sleep(0.1)
                exit_code = daemon.stop()
        yield FinishedDemo(net=net, daemon_exit=exit_code)


def _hex(data: bytes | None) -> str:
    assert data is not None
    return "0x" + data.hex()


def _by_operator(events: list[ChainEvent], operator: str) -> list[ChainEvent]:
    return [e for e in events if e.data["operator"] == operator]


async def test_every_action_of_the_timelocked_bot_is_announced_waited_out_executed_and_recorded(
    finished_demo: FinishedDemo,
) -> None:
    # given: the demo, finished by the daemon (operator A: timelock 900 s, actions 1, 2, 6, 7)
    net = finished_demo.net
    operator_a = net.operator("A")
    with JournalReader(net.journal_path) as journal:
        actions = [a for a in journal.actions() if a.operator == operator_a]
        transactions = journal.transactions()
    # when: the chain's own record of A is read
    announces = _by_operator(
        await net.all_events("history::AutomationDryRunPlannedEvent"), operator_a
    )
    ticks = _by_operator(await net.all_events("history::AutomationTickEvent"), operator_a)
    refund_batches = await net.all_events("history::RefundBatchEvent")
    archives = await net.all_events("history::LotteryFinalizedEvent")

    # then: A carried the demo's refund plans (action 6) — lotteries 3 and 4 — and nothing else
    assert sorted((a.kind, a.subject_id, a.action_id, a.state) for a in actions) == [
        ("refund", 3, 6, "done"),
        ("refund", 4, 6, "done"),
    ]
    # every announcement and every record of A on chain belongs to one of those actions, once
    hashes = sorted(_hex(a.action_hash) for a in actions)
    assert sorted(str(e.data["action_hash"]) for e in announces) == hashes
    assert sorted(str(e.data["action_hash"]) for e in ticks) == hashes

    for action in actions:
        digest, execute_at = _hex(action.action_hash), action.execute_at
        assert execute_at is not None
        # announce: hash H, executes after T
        (announce,) = [e for e in announces if e.data["action_hash"] == digest]
        assert int(str(announce.data["action_id"])) == action.action_id == 6
        assert int(str(announce.data["executes_after_ts"])) == execute_at
        assert await net.block_seconds(announce.tx_hash) < execute_at
        # execution: every admin call of the action, in blocks at or after T, after the announce
        executed = [
            t
            for t in transactions
            if t.action_key == action.key and t.purpose == "execute" and t.state == "committed"
        ]
        assert [t.function for t in executed][-1] == "archive_canceled_lottery_admin"
        assert all(t.sender == net.admin() for t in executed)
        heights = []
        for tx in executed:
            assert await net.block_seconds(tx.tx_hash) >= execute_at, (action.key, tx.function)
            body = await net.transaction(tx.tx_hash)
            assert body["status"] == "Success"
            heights.append(int(body["block_header"]["height"]))
        assert min(heights) > announce.block_height
        # ... and the package's own effects for the lottery are exactly those transactions
        lottery = str(action.subject_id)
        effects = {e.tx_hash for e in refund_batches if e.data["lottery_id"] == lottery}
        effects |= {e.tx_hash for e in archives if e.data["id"] == lottery}
        assert effects == {t.tx_hash for t in executed}
        # record: one tick with the same hash, a success, after every execution
        (tick,) = [e for e in ticks if e.data["action_hash"] == digest]
        assert tick.data["success"] is True
        assert int(str(tick.data["executed_ts"])) >= execute_at
        assert tick.block_height > max(heights)
    assert finished_demo.daemon_exit == 0


async def test_status_tells_the_finished_demo_s_story(finished_demo: FinishedDemo) -> None:
    # given: the finished demo, the localnet still up, the daemon stopped
    config = str(finished_demo.net.config_path)
    # when: an operator asks
    text = await autobot_cli("status", "--config", config)
    as_json = await autobot_cli("status", "--json", "--config", config)
    # then: lotteries 1 and 2 at PAYOUT, 3 and 4 done with (archived: no refund left, no work),
    # asset 3 in fallback set by autobot, asset 2 clamped awaiting a person, nothing open
    assert text.returncode == 0, text.stderr
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["chain"]["reachable"] is True
    others = {item["lottery_id"]: item for item in report["other_lotteries"]}
    assert others[1]["status"] == others[2]["status"] == "PAYOUT"
    assert others[5]["status"] == "ACTIVE"
    assert report["lotteries"] == []  # nothing needs work
    for archived in (3, 4):  # archived: listed as such, or left out as terminal (never re-read)
        if archived in others:
            assert (others[archived]["status"], others[archived]["next"]) == (
                "CANCELED",
                "archived",
            )
    assert report["chain"]["overview"]["canceled"] == 2
    assert report["refunds"] == []  # no refund pending
    feeds = {f["asset_id"]: f for f in report["feeds"]}
    assert feeds[3]["fallback"] and feeds[3]["fallback_by_autobot"]
    assert feeds[2]["clamped"] and not feeds[2]["fallback"]
    assert not feeds[1]["fallback"] and not feeds[1]["clamped"]
    assert report["journal"]["open_actions"] == 0
    assert {b["name"]: b["failure_count"] for b in report["bots"]} == {"A": 0, "B": 0}
    lines = text.stdout.splitlines()
    assert any(
        line.strip().startswith("asset 3") and "FALLBACK (set by autobot)" in line for line in lines
    )
    # the clamped feed's line, then (indented below it) its refused price and the clearing command
    feed = text.stdout.split("  asset 2 ", 1)[1].split("\n  asset ", 1)[0]
    assert "CLAMPED" in feed.splitlines()[0] and "feed clear-clamp 2" in feed
    assert "#1 PAYOUT" in text.stdout and "#2 PAYOUT" in text.stdout
    assert "open actions: 0" in text.stdout
