"""SIGKILL the daemon at each journal state of an action, restart it, and nothing happens twice.

Engine issue, acceptance 4. The demo runs on a localnet process with slow blocks (one a second,
so a transaction in flight stays in flight for a while) and a real daemon process. The test reads
the daemon's journal file read-only every few milliseconds and SIGKILLs the daemon on the first
read that shows the target state of operator A's refund plan for lottery 4 (announce, timelock,
three refund batches and the archive, record): ``planned`` (any refund plan: lottery 4's lasts
milliseconds, lottery 3's seconds while A's slot is busy), ``announced`` (the announcement
journaled, maybe sent), ``waiting``, ``executing`` (nothing sent yet), the first batch in
flight, between two refund batches (the rest in flight), ``recording``, and the record in
flight; and once for operator B (timelock 0), with the close of lottery 1 in flight. Then it starts the
daemon again and waits until every flow of the demo has finished. The state the journal held
at the kill, with the target's transactions, is printed and kept as a JUnit property.

What must hold afterwards, from the chain's events and the journal:

* no sequence number was ever signed twice: one transaction (one hash, one set of bytes) per
  (sender, sequence number) in the journal, and every account's sequence numbers on chain are
  exactly the journal's, without a gap — so every transaction on chain is a journaled one;
* no effect happened twice: one announcement per action hash and one record per announcement,
  one refund batch per (lottery, round), one archive per lottery, one draw request per
  (lottery, attempt), one ``advance_status`` (the close of lottery 1), one ``set_fallback``;
* every flow completed (the demo's end state) and every action is ``done``.

Chain time is advanced over the timelocks the daemon waits out, except before a kill whose target
is ``planned`` or ``waiting`` (those states must last until the kill).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from demo_processes import (
    ActionRow,
    DaemonProcess,
    JournalReader,
    LocalnetProcess,
    TimelockSkipper,
    TxRow,
)

from autobot.chain.gateway import ChainEvent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

BLOCK_INTERVAL_MS = 1000
POLL_SECONDS = 0.01
TARGET = "refund:4:1"


@dataclass(frozen=True, slots=True)
class KillPoint:
    """Kill on the first journal read where ``hit(action, its transactions)`` holds."""

    name: str
    hit: Callable[[ActionRow, list[TxRow]], bool]
    skip_timelocks_before: bool = True


def _in_flight(txs: list[TxRow], purpose: str, call_index: int = 0) -> bool:
    return any(
        t.purpose == purpose and t.call_index == call_index and t.state in ("signed", "submitted")
        for t in txs
    )


def _target(state: str) -> Callable[[ActionRow], bool]:
    return lambda a: a.key == TARGET and a.state == state


KILL_POINTS = [
    KillPoint(
        "planned",
        lambda a, _: a.kind == "refund" and a.state == "planned",
        skip_timelocks_before=False,
    ),
    KillPoint("announced", lambda a, _: _target("announced")(a)),
    KillPoint(
        "waiting",
        lambda a, _: _target("waiting")(a),
        skip_timelocks_before=False,
    ),
    KillPoint(
        "executing",
        # the executor journals the state and its first call together, so "executing" means:
        # in that state, with no admin call of it executed yet (signed or in flight is fine)
        lambda a, txs: (
            _target("executing")(a)
            and not any(t.purpose == "execute" and t.state in ("committed", "aborted") for t in txs)
        ),
    ),
    KillPoint(
        "first-batch-in-flight",
        lambda a, txs: _target("executing")(a) and _in_flight(txs, "execute", 0),
    ),
    KillPoint(
        "between-batches",
        # later batches are pipelined behind the first: "between" means at least one batch of
        # the plan executed while the action is still executing
        lambda a, txs: (
            _target("executing")(a)
            and (
                a.progress >= 1
                or any(t.purpose == "execute" and t.state == "committed" for t in txs)
            )
        ),
    ),
    KillPoint("recording", lambda a, _: _target("recording")(a)),
    KillPoint(
        "record-in-flight",
        lambda a, txs: _target("recording")(a) and _in_flight(txs, "record"),
    ),
    # operator B (timelock 0): no announcement; the admin's call in flight, then B's record
    KillPoint(
        "close-in-flight",
        lambda a, txs: a.key == "close:1:0" and _in_flight(txs, "execute"),
    ),
]


async def kill_at(
    point: KillPoint, journal: JournalReader, daemon: DaemonProcess, *, within: float
) -> tuple[ActionRow, ActionRow]:
    """SIGKILL on the first read showing the state; returns (what was seen, the state at death)."""
    deadline = time.monotonic() + within
    while True:
        txs = journal.transactions()
        seen = next(
            (
                a
                for a in journal.actions()
                if point.hit(a, [t for t in txs if t.action_key == a.key])
            ),
            None,
        )
        if seen is not None:
            daemon.kill()
            after = journal.action(seen.key)
            assert after is not None
            return seen, after
        daemon.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"never saw {point.name} within {within} s:\n{daemon.tail()}")
        await asyncio.sleep(POLL_SECONDS)


async def until_story_told(net: LocalnetProcess, daemon: DaemonProcess, *, within: float) -> None:
    deadline = time.monotonic() + within
    while not await net.story_told():
        daemon.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"the demo did not finish after the restart:\n{daemon.tail()}")
        await asyncio.sleep(0.2)


def _once(items: list[object]) -> list[object]:
    """Items that occur more than once."""
    return [item for item, n in Counter(items).items() if n > 1]


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
async def test_a_daemon_killed_mid_action_finishes_everything_once_after_a_restart(
    point: KillPoint, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    daemon_log = tmp_path / "daemon.log"
    async with LocalnetProcess.start(tmp_path, block_interval_ms=BLOCK_INTERVAL_MS) as net:
        with JournalReader(net.journal_path) as journal:
            async with TimelockSkipper(net, journal) as skipper:
                # given: the daemon working on the demo
                skipper.paused = not point.skip_timelocks_before
                first = DaemonProcess(net.config_path, daemon_log)
                try:
                    # when: it is killed at the target state, and started again
                    seen, at_death = await kill_at(point, journal, first, within=45)
                    at_death_txs = journal.transactions()
                finally:
                    first.stop()
                skipper.paused = False
                with DaemonProcess.running(net.config_path, daemon_log) as second:
                    await until_story_told(net, second, within=60)
                    assert second.stop() == 0, second.tail()
            in_flight = [
                f"{t.purpose}#{t.call_index}:{t.state}"
                for t in at_death_txs
                if t.action_key == seen.key
            ]
            report = (
                f"seen {seen.key} {seen.state}/{seen.progress}; at death "
                f"{at_death.state}/{at_death.progress}, transactions {in_flight}; "
                f"{time.monotonic() - started:.1f} s"
            )
            record_property("kill", report)
            print(f"\nkill point {point.name}: {report}")
            actions = journal.actions()
            transactions = journal.transactions()
        await _assert_everything_happened_once(net, actions, transactions, killed=seen.key)


async def _assert_everything_happened_once(
    net: LocalnetProcess, actions: list[ActionRow], txs: list[TxRow], *, killed: str
) -> None:
    # every flow completed, each action once
    assert {a.state for a in actions} == {"done"}, [(a.key, a.state) for a in actions]
    # the journal: the bytes are the hash's, and one transaction per (sender, sequence number)
    for tx in txs:
        assert "0x" + hashlib.sha3_256(tx.raw).hexdigest() == tx.tx_hash
    assert _once([(t.sender, t.sequence_number) for t in txs]) == []
    # nothing in the demo aborts on chain: every call is simulated, or follows one that was
    assert {t.state for t in txs} == {"committed"}, Counter(t.state for t in txs)
    # the chain: each account's sequence numbers are exactly the journal's, gapless
    for sender in {net.admin(), net.operator("A"), net.operator("B")}:
        numbers = sorted(t.sequence_number for t in txs if t.sender == sender)
        assert numbers == list(range(await net.gateway.account_sequence(sender))), sender
    for tx in txs:
        body = await net.transaction(tx.tx_hash)
        assert body["status"] == "Success", tx
    # one close of lottery 1 (advance_status emits no event: the admin's transactions are all
    # journaled — the check above — so the journal is the chain's list)
    assert [t.function for t in txs].count("advance_status") == 1
    assert [t.function for t in txs].count("set_fallback") == 1
    # the chain's events: no effect twice
    announces = await net.all_events("history::AutomationDryRunPlannedEvent")
    ticks = await net.all_events("history::AutomationTickEvent")
    refunds = await net.all_events("history::RefundBatchEvent")
    archives = await net.all_events("history::LotteryFinalizedEvent")
    draws = await net.all_events("history::VrfRequestedEvent")

    def key(event: ChainEvent, *names: str) -> tuple[str, ...]:
        return tuple(str(event.data[n]) for n in names)

    assert _once([key(e, "action_hash") for e in announces]) == []
    assert _once([key(e, "action_hash") for e in ticks]) == []
    announced = {key(e, "operator", "action_hash") for e in announces}
    recorded = {key(e, "operator", "action_hash") for e in ticks}
    assert announced <= recorded  # one record per announcement (same operator, same hash)
    assert all(e.data["success"] is True for e in ticks)
    assert sorted(key(e, "lottery_id", "refund_round") for e in refunds) == [
        ("3", "1"),
        ("4", "1"),
        ("4", "2"),
        ("4", "3"),
    ]
    assert sorted(key(e, "id") for e in archives) == [("3",), ("4",)]
    assert _once([key(e, "lottery_id", "attempt") for e in draws]) == []
    # the killed action and lottery 4's refund plan: announced at most once (timelock-0 bots
    # never announce), recorded once with the same hash, each call executed exactly once
    for action in {a.key: a for a in actions if a.key in (TARGET, killed)}.values():
        digest = "0x" + (action.action_hash or b"").hex()
        expected = 1 if action.operator == net.operator("A") else 0
        assert [e.data["action_hash"] for e in announces].count(digest) == expected
        assert [e.data["action_hash"] for e in ticks].count(digest) == 1
        executed = [
            t.call_index for t in txs if t.action_key == action.key and t.purpose == "execute"
        ]
        assert sorted(executed) == list(range(len(executed))), (action.key, executed)
    # three batches (at most 500 of 1,234 tickets each) and the archive
    assert len([t for t in txs if t.action_key == TARGET and t.purpose == "execute"]) == 4
