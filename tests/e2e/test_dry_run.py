"""Dry-run mode: nothing is submitted, and every would-be transaction is logged.

Engine issue, acceptance 5. The real ``Daemon`` (``[automation] mode = "dry-run"``) runs a few
sweeps in-process against the in-process localnet (demo scenario, over HTTP). A spy on
``SupraGateway.submit`` proves the boundary was not crossed (docs/conventions.md §14: a mock only for
that), and the node agrees: no account's sequence number moved, no event of any action appeared,
no lottery or feed changed. Every transaction the demo's actions would send is logged as
``dry_run_transaction`` with its function, arguments and sender.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from autobot.app import Daemon
from autobot.chain.gateway import SignedTx
from autobot.chain.keys import load_keyring
from autobot.chain.supra import SupraGateway
from autobot.config import load_config
from autobot.domain.lotteries import LotteryStatus
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.runner import Localnet

pytestmark = [pytest.mark.timeout(60)]

SWEEPS = 3
EFFECT_EVENTS = (
    "AutomationDryRunPlannedEvent",
    "AutomationTickEvent",
    "AutomationErrorEvent",
    "AutomationKeyRotatedEvent",
    "VrfRequestedEvent",
    "WinnersComputedEvent",
    "RefundBatchEvent",
    "LotteryCanceledEvent",
    "LotteryFinalizedEvent",
    "PriceFeedFallbackEvent",
    "PriceFeedClampClearedEvent",
)


async def event_counts(gateway: SupraGateway) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in EFFECT_EVENTS:
        total, cursor = 0, None
        while True:
            page = await gateway.events(f"history::{name}", cursor=cursor)
            total += len(page.events)
            if page.cursor is None:
                break
            cursor = page.cursor
        counts[name] = total
    return counts


@pytest.mark.localnet(time_scale=60.0)
async def test_dry_run_submits_nothing_and_logs_every_would_be_transaction(
    localnet: Localnet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the daemon's config for the demo localnet, switched to dry-run
    config_path = tmp_path / "daemon" / "autobot.toml"
    write_daemon_config(config_path, localnet.info, listen="127.0.0.1:0")
    text = config_path.read_text()
    assert 'mode = "live"' in text
    config_path.write_text(text.replace('mode = "live"', 'mode = "dry-run"'))
    config = load_config(config_path)
    assert not config.automation.live
    keyring = load_keyring(config)
    node = localnet.node
    accounts = [str(keyring.admin.address), *(str(s.address) for s in keyring.operators.values())]
    accounts += [op.address for op in localnet.info.operators]
    sequences_before = {a: node.sequence_number(a) for a in accounts}
    submitted: list[SignedTx] = []

    async def submit_spy(self: SupraGateway, tx: SignedTx) -> str:
        submitted.append(tx)
        raise AssertionError(f"dry-run submitted {tx.call.function}")

    monkeypatch.setattr(SupraGateway, "submit", submit_spy)
    async with SupraGateway(
        rpc_urls=[localnet.base_url],
        chain_id=localnet.info.chain_id,
        package=localnet.info.package_address,
    ) as reader:
        events_before = await event_counts(reader)
        before = await reader.snapshot(lottery_ids=(1, 2, 3, 4, 5), asset_ids=(1, 2, 3))

        # when: the daemon runs a few sweeps
        with structlog.testing.capture_logs() as logs:
            async with Daemon(config=config, keyring=keyring, listen=("127.0.0.1", 0)) as daemon:
                running = asyncio.create_task(daemon.run_until_stopped())
                async with asyncio.timeout(30):
                    while daemon.sweeps < SWEEPS:
                        assert not running.done(), running
                        await asyncio.sleep(0.05)
                daemon.request_stop()
                await running

        events_after = await event_counts(reader)
        after = await reader.snapshot(lottery_ids=(1, 2, 3, 4, 5), asset_ids=(1, 2, 3))

    # then: nothing crossed the boundary, and the node saw nothing
    assert submitted == []
    assert {a: node.sequence_number(a) for a in accounts} == sequences_before
    assert events_after == events_before
    assert {i: v.status for i, v in after.lotteries.items()} == {
        i: v.status for i, v in before.lotteries.items()
    }
    assert after.lotteries[1].status == LotteryStatus.ACTIVE
    assert not after.feeds[3].fallback_active
    assert [(b.operator, b.pending_action_hash, b.success_streak) for b in after.bots] == [
        (b.operator, b.pending_action_hash, b.success_streak) for b in before.bots
    ]
    # ... and every would-be transaction is in the log: function, arguments, sender
    shown = [e for e in logs if e["event"] == "dry_run_transaction"]
    assert shown, [e["event"] for e in logs]
    for entry in shown:
        assert entry["function"] and entry["sender"].startswith("0x")
        assert isinstance(entry["arguments"], list)
    admin = str(keyring.admin.address)
    operator_a = str(keyring.operators["A"].address)
    operator_b = str(keyring.operators["B"].address)

    def lines(function: str, key: str) -> list[MutableMapping[str, Any]]:
        return [e for e in shown if e["function"] == function and e["action_key"] == key]

    # lottery 1: auto-close (action 1) by the admin, attested by B (timelock 0: no announce)
    (close,) = lines("lottery_registry::advance_status", "close:1:0")
    assert (close["arguments"], close["sender"]) == (["u64:1", "u8:2"], admin)
    assert [e["sender"] for e in lines("automation::record_success", "close:1:0")] == [operator_b]
    assert lines("automation::announce_dry_run", "close:1:0") == []
    # lotteries 2 and 3: the first draw request
    for lottery in (2, 3):
        (draw,) = lines("draw::request_draw_admin", f"draw:{lottery}:1")
        assert draw["sender"] == admin
        assert draw["arguments"][0] == f"u64:{lottery}"
        assert draw["arguments"][3] == f"u8:{localnet.info.chain_id}"
    # lottery 4: the refund plan (action 6, sensitive) announced by A, three batches and the
    # archive by the admin, then A's record — all with the same action hash
    refund = [e for e in shown if e["action_key"] == "refund:4:1"]
    assert [(e["function"], e["sender"]) for e in refund] == [
        ("automation::announce_dry_run", operator_a),
        ("payouts::force_refund_batch_admin", admin),
        ("payouts::force_refund_batch_admin", admin),
        ("payouts::force_refund_batch_admin", admin),
        ("payouts::archive_canceled_lottery_admin", admin),
        ("automation::record_success", operator_a),
    ]
    assert len({e["action_hash"] for e in refund}) == 1
    batches = [e["arguments"] for e in refund if e["function"].endswith("force_refund_batch_admin")]
    assert [b[:2] for b in batches] == [["u64:4", f"u64:{r}"] for r in (1, 2, 3)]
    assert sum(int(b[2].removeprefix("u64:")) for b in batches) == 1234  # every ticket
    assert refund[0]["simulated"] == "ok"  # the announce would be accepted
    # asset 3: stale, so fallback (no bot, no attestation)
    (fallback,) = [e for e in shown if e["function"] == "price_feed::set_fallback"]
    assert fallback["arguments"][:2] == ["u64:3", "bool:true"]
    assert fallback["sender"] == admin
    # every action stays planned: nothing was signed, so nothing is in flight
    assert {e["state"] for e in logs if e["event"] == "dry_run_left_alone"} <= {"planned"}
