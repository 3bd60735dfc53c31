"""The playbook scenario end to end: the daemon's story completes beside the buyers and treasury.

``autobot localnet --scenario playbook --time-scale 60`` and ``autobot run`` as two processes
(``demo_processes``). The playbook is the demo plus the operations playbook's traffic
(``autobot.localnet.scenario.spec``): buyers on lotteries 5 and 6 with three rate-limit bursts,
a treasury that pays winners after PAYOUT on the shared PayoutBatchCap and finalizes (lottery 1
with a partner payout and a matching dual-write hash, lottery 2 late), partner and premium caps,
and an expected hash for lottery 4 that its archive does not match. Within the demo's two
minutes the daemon must finish its own story untouched by that traffic (lotteries 3 and 4
refunded exactly and archived on the cap the treasury also uses, bots idle with no failure),
and the chain must show every playbook fact a monitor will read.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from demo_processes import DaemonProcess, LocalnetProcess, autobot_cli, refunded_and_archived

from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import Snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

DEADLINE_SECONDS = 150.0
LOTTERIES = (1, 2, 3, 4, 5, 6)


async def snapshot(net: LocalnetProcess) -> Snapshot:
    return await net.gateway.snapshot(lottery_ids=LOTTERIES, asset_ids=(1, 2, 3))


def told(s: Snapshot) -> bool:
    lotteries = s.lotteries
    bots_idle = all(b.failure_count == 0 and not b.has_pending for b in s.bots)
    return (
        lotteries[1].status == LotteryStatus.FINALIZED  # the treasury's
        and lotteries[2].status == LotteryStatus.PAYOUT  # paid, finalized three days late
        and lotteries[2].winners.payout_round == 7  # 14 winners, two a round
        and refunded_and_archived(s, 3)
        and refunded_and_archived(s, 4)
        and bots_idle
    )


def refusals(state_dir: Path) -> Counter[str]:
    db = sqlite3.connect(f"file:{state_dir / 'chain.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT json FROM transactions WHERE kind = 'system' AND status = 'Fail'")
        out: Counter[str] = Counter()
        for (text,) in rows:
            tx = json.loads(text)
            if tx["authenticator"] == {"LocalnetSystem": {"actor": "buyer"}}:
                out[tx["output"]["Move"]["vm_status"].rsplit("(", 1)[-1].rstrip(")")] += 1
        return out
    finally:
        db.close()


async def test_the_daemons_story_completes_beside_the_playbooks_traffic(tmp_path: Path) -> None:
    async with LocalnetProcess.start(tmp_path, extra=("--scenario", "playbook")) as net:
        with DaemonProcess.running(net.config_path, tmp_path / "daemon.log") as daemon:
            started = time.monotonic()
            state = await snapshot(net)
            while not told(state) and time.monotonic() - started < DEADLINE_SECONDS:
                daemon.check_alive()
                await asyncio.sleep(0.5)
                state = await snapshot(net)
            assert told(state), (
                f"story incomplete after {time.monotonic() - started:.0f} s: "
                f"{ {i: v.status for i, v in state.lotteries.items()} }\n{daemon.tail()}"
            )
            payouts = await net.all_events("history::PayoutBatchEvent")
            partner = await net.all_events("history::PartnerPayoutEvent")
            completed = await net.all_events("legacy_bridge::ArchiveDualWriteCompletedEvent")
            purchases = await net.all_events("sales::TicketPurchaseEvent")
            hits = await net.all_events("history::PurchaseRateLimitHitEvent")
            url = f"{net.base_url}localnet/v1/view"
            body = {
                "function": f"{net.config.chain.package_address}::legacy_bridge::"
                "pending_expected_hashes",
                "type_arguments": [],
                "arguments": [],
            }
            async with net.http.post(url, json=body) as reply:
                pending = await reply.json()
        assert daemon.proc.returncode == 0, daemon.tail()
        # `autobot status` shows the playbook's systems as the daemon's watch sees them
        shown = await autobot_cli("status", "--config", str(net.config_path))
        report = json.loads(
            (await autobot_cli("status", "--json", "--config", str(net.config_path))).stdout
        )
    section = shown.stdout.split("Sales, payouts, roles and dual-write\n")[1].split("\nJournal")[0]
    assert "payouts: PAYOUT #2 round 7" in section
    assert "dual-write: on, 1 expected hash(es) waiting, 1 MISMATCH(ES)" in section
    assert "dual-write mismatch for lottery 4: expected hash 0x" in section
    assert "roles: 2 partner cap(s), 2 premium cap(s); 4 expiring" in section
    assert "roles cleanup" in section  # the command that removes them
    playbook = report["playbook"]
    assert {"lottery_id": 2, "payout_round": 7} in playbook["in_payout"]
    assert playbook["dual_write"] == {"enabled": True, "expected": 1, "mismatch": 1}
    assert [(f["kind"], f["lottery_id"]) for f in playbook["findings"]] == [
        ("dual_write_mismatch", 4)
    ]
    assert playbook["accounting_mismatch"] == {}
    # the treasury paid lottery 1 in four rounds after one partner payout, and lottery 2 in seven
    rounds = Counter(e.data["lottery_id"] for e in payouts)
    assert (rounds["1"], rounds["2"]) == (4, 7)
    assert [e.data["lottery_id"] for e in partner] == ["1"]
    final = state.lotteries[1]
    assert final.winners.payout_round == 4
    # dual-write: lottery 1's hash matched, lottery 4's (archived by the daemon) did not
    assert [e.data["lottery_id"] for e in completed] == ["1"]
    assert pending == {"result": [["4"]]}
    # buyers: purchases as events, refusals as failed transactions only
    assert {e.data["lottery_id"] for e in purchases} >= {"5", "6"}
    assert hits == []
    refused = refusals(tmp_path / "chain")
    assert refused["0x1608"] >= 6 and refused["0x1609"] == 2 and refused["0x160a"] >= 3
    # the refunds that share the cap with the treasury ended exactly
    assert state.lotteries[4].refund.tickets_refunded == 1234
