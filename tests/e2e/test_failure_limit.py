"""A bot at its failure limit gets no transaction; ``autobot bot rotate`` brings it back.

Engine issue, acceptance 3. Given the demo with operator B (timelock 0, actions 1-4,
``max_failures`` 3) driven to its limit by three ``record_failure`` transactions it signs itself
(the official SDK; a timelock-0 bot may record directly), a real daemon runs against the localnet
process: no transaction from B reaches the chain while B is locked out (B's sequence number on the
node, the journal's transactions, the chain's automation events), the failure-budget guard refuses
B (``guard_refused`` log lines, ``autobot_guard_refusals_total{guard="failure_budget"}``) and
work B would have done (closes, draws) goes to operator A (timelock 900 s) instead. Then
``autobot bot rotate B --max-failures 6`` (a request the daemon carries out: ``rotate_bot``,
multi-agent) and B takes actions again: its transactions land after the rotation, it records
successes and its failure count is back at 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from demo_processes import (
    DaemonProcess,
    JournalReader,
    LocalnetProcess,
    TimelockSkipper,
    autobot_cli,
)
from supra_sdk.clients.rest import SupraClient, SupraClientConfig

if TYPE_CHECKING:
    from conftest import TxFactory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

ACTION_DEFRAGMENT_INDEX = 3  # allowed to B, never used by autobot
SOME_ABORT_CODE = 0x1A06


async def until(
    what: str, check: Callable[[], bool], daemon: DaemonProcess, *, within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while not check():
        daemon.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}\n{daemon.tail()}")
        await asyncio.sleep(0.1)


async def lock_out(net: LocalnetProcess, tx_factory: TxFactory, private_key: str) -> None:
    """Three record_failure transactions signed by the bot itself: failure_count 3 of 3."""
    bot = tx_factory.account(private_key)
    client = SupraClient(net.base_url, SupraClientConfig(wait_for_transaction=False))
    try:
        for seq in range(3):
            now = await net.chain_now()
            body = tx_factory.entry(
                bot,
                "automation",
                "record_failure",
                [
                    tx_factory.u64(ACTION_DEFRAGMENT_INDEX),
                    tx_factory.bytes_(hashlib.sha3_256(b"locked out %d" % seq).digest()),
                    tx_factory.u64(now),
                    tx_factory.u64(SOME_ABORT_CODE),
                ],
                sequence_number=seq,
            )
            done = await tx_factory.wait(client, await client.submit(body))
            assert done["status"] == "Success", done
    finally:
        await client.close()


async def guard_refusals(metrics_url: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(metrics_url) as reply:
        text = await reply.text()
    for line in text.splitlines():
        if line.startswith('autobot_guard_refusals_total{guard="failure_budget"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_locked_out_bot_gets_no_transaction_until_rotate_bot_raises_its_limit(
    tmp_path: Path, tx_factory: TxFactory
) -> None:
    async with LocalnetProcess.start(tmp_path) as net:
        operator_a, operator_b = net.operator("A"), net.operator("B")
        key_b = net.config.keys.operator_key_files["B"].read_text().strip()
        # given: B at its failure limit (3 of 3), before the daemon starts
        await lock_out(net, tx_factory, key_b)
        bot_b = await net.gateway.get_bot(operator_b)
        assert bot_b is not None and (bot_b.failure_count, bot_b.max_failures) == (3, 3)
        assert bot_b.is_locked_out
        assert await net.gateway.account_sequence(operator_b) == 3

        with (
            JournalReader(net.journal_path) as journal,
            DaemonProcess.running(net.config_path, tmp_path / "daemon.log") as daemon,
        ):
            metrics_url = await daemon.metrics_url()

            def refused_b() -> bool:
                return any(
                    e["guard"] == "failure_budget" and e["operator"] == operator_b
                    for e in daemon.events("guard_refused")
                )

            def bot_work_goes_to_a() -> bool:
                return any(
                    a.operator == operator_a and a.action_id in (1, 2) for a in journal.actions()
                )

            # when: the daemon runs the demo with B locked out
            async with TimelockSkipper(net, journal):
                await until("the failure budget guard refuses B", refused_b, daemon)
                await until("close/draw work is routed to A", bot_work_goes_to_a, daemon)
                # then: nothing from B reached the chain, and none was signed for it
                assert await net.gateway.account_sequence(operator_b) == 3
                assert [t for t in journal.transactions() if t.sender == operator_b] == []
                assert await guard_refusals(metrics_url) >= 1
                assert all(a.operator != operator_b for a in journal.actions())
                ticks_b = [
                    e
                    for e in await net.all_events("history::AutomationTickEvent")
                    if e.data["operator"] == operator_b
                ]
                assert [e.data["success"] for e in ticks_b] == [False, False, False]

                # when: an operator raises B's limit
                config = str(net.config_path)
                rotate = await autobot_cli(
                    "bot", "rotate", "B", "--max-failures", "6", "--yes", "--config", config
                )
                assert rotate.returncode == 0, rotate.stdout + rotate.stderr

                def b_recorded_a_success() -> bool:
                    return any(
                        a.operator == operator_b and a.state == "done" for a in journal.actions()
                    )

                # then: the daemon rotates B and B takes actions again
                await until("B records an action", b_recorded_a_success, daemon)
            bot_b = await net.gateway.get_bot(operator_b)
            transactions = journal.transactions()
            actions = journal.actions()

        assert bot_b is not None
        assert (bot_b.max_failures, bot_b.failure_count) == (6, 0)
        (rotation,) = [t for t in transactions if t.function == "rotate_bot"]
        assert rotation.sender == net.admin() and rotation.state == "committed"
        rotated_at = (await net.transaction(rotation.tx_hash))["block_header"]["height"]
        from_b = [t for t in transactions if t.sender == operator_b]
        assert from_b, "B sent nothing after the rotation"
        assert [t.sequence_number for t in from_b] == list(range(3, 3 + len(from_b)))
        for tx in from_b:  # every one of B's transactions landed after rotate_bot
            body = await net.transaction(tx.tx_hash)
            assert body["block_header"]["height"] > rotated_at
            assert tx.purpose == "record"
        ticks_b = [
            e
            for e in await net.all_events("history::AutomationTickEvent")
            if e.data["operator"] == operator_b
        ]
        assert all(e.data["success"] is True for e in ticks_b[3:]) and len(ticks_b) > 3
        assert any(a.operator == operator_b and a.action_id in (1, 2) for a in actions)
