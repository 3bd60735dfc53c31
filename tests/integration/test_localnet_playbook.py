"""The playbook scenario over HTTP: buyers, their refused purchases, the treasury, dual-write.

A localnet seeded with ``--scenario playbook`` is driven through chain time with
``/localnet/v1/advance``; the buyers and the treasury act by themselves (system transactions).
What a client reads afterwards is checked as a client reads it: events over
``GET /rpc/v3/events``, transactions over ``GET /rpc/v3/transactions/{hash}``, storage over the
resource and table-item routes, the readers (computed from storage, ``storage_views``) against
the dev view. The daemon's part of the story (closing, drawing, winners) is played by signed
admin transactions.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from supra_sdk.clients.rest import SupraClient, SupraClientConfig

from autobot.localnet.accounts import dev_accounts
from autobot.localnet.buyers import burst_buyer_address
from autobot.localnet.runner import Localnet
from autobot.localnet.scenario import partner_address, pool_buyer_address
from storage_readers import HttpReader, walk
from storage_views import READERS, StorageAbort

pytestmark = [pytest.mark.timeout(90), pytest.mark.localnet(scenario="playbook")]

PURCHASE = ("purchase_tickets_public", "purchase_tickets_premium")


async def advance(http: httpx.AsyncClient, seconds: int, *, step: int = 12) -> None:
    """Chain time forward, one block every ``step`` seconds (as at time scale 60)."""
    for _ in range(seconds // step):
        (await http.post("localnet/v1/advance", json={"seconds": step})).raise_for_status()


async def events(http: httpx.AsyncClient, event_type: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, str] = {}
    while True:
        response = await http.get(f"rpc/v3/events/{event_type}", params=params)
        response.raise_for_status()
        out += response.json()["data"]
        if "x-supra-cursor" not in response.headers:
            return out
        params["start"] = response.headers["x-supra-cursor"]


def system_transactions(state_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(hash, status, json) of every system transaction the chain kept."""
    db = sqlite3.connect(f"file:{state_dir / 'chain.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT hash, status, json FROM transactions WHERE kind = 'system'")
        return [(h, s, json.loads(j)) for h, s, j in rows]
    finally:
        db.close()


def function_of(tx: dict[str, Any]) -> str:
    payload = tx["payload"].get("Move")
    return "" if payload is None else str(payload["function"].split("::", 2)[2])


async def test_buyers_sell_tickets_and_their_refusals_are_failed_transactions_only(
    localnet: Localnet,
) -> None:
    pkg = localnet.info.package_address
    node = localnet.node
    sold_before = {i: node.model.state.sales[i].tickets_sold for i in (5, 6)}
    async with httpx.AsyncClient(base_url=localnet.base_url, timeout=10) as http:
        await advance(http, 1_812)  # past every burst and past lottery 6's sales end
        purchases = await events(http, f"{pkg}::sales::TicketPurchaseEvent")
        hits = await events(http, f"{pkg}::history::PurchaseRateLimitHitEvent")
        kept = system_transactions(localnet.state_dir)
        refused = [(h, tx) for h, status, tx in kept if status == "Fail"]
        sample = {}
        for tx_hash, tx in refused:
            sample.setdefault(tx["output"]["Move"]["vm_status"].split(": ")[-1], tx_hash)
        fetched = {
            name: (await http.get(f"rpc/v3/transactions/{tx_hash}")).json()
            for name, tx_hash in sample.items()
        }
    # every successful purchase is a TicketPurchaseEvent; the tickets add up
    bought = Counter[int]()
    for e in purchases:
        bought[int(e["event"]["data"]["lottery_id"])] += int(e["event"]["data"]["quantity"])
    assert {i: node.model.state.sales[i].tickets_sold - sold_before[i] for i in (5, 6)} == bought
    assert len(purchases) == sum(
        1 for _, status, tx in kept if status == "Success" and function_of(tx) in PURCHASE
    )
    # refusals: failed transactions of the buyers (the burst sizes say how many), never an event
    assert hits == []
    reasons = Counter(tx["output"]["Move"]["vm_status"].split(": ")[-1] for _, tx in refused)
    assert reasons["E_PURCHASE_RATE_LIMIT_WINDOW(0x1609)"] == 2
    assert reasons["E_PURCHASE_GRACE_RESTRICTED(0x160a)"] >= 3  # and new pool buyers late
    assert reasons["E_PURCHASE_RATE_LIMIT_BLOCK(0x1608)"] >= 6
    assert {function_of(tx) for _, tx in refused} <= set(PURCHASE)
    for name, tx in fetched.items():
        assert (tx["status"], tx["txn_type"], tx["output"]["Move"]["events"]) == (
            "Fail",
            "automated",
            [],
        ), name
        assert tx["authenticator"] == {"LocalnetSystem": {"actor": "buyer"}}
        assert tx["header"]["sequence_number"] == 0
    # only the premium holder (pool buyer 0, cap active for 12 h) buys through the premium entry
    # (whether it had a turn here depends on the genesis time; test_actors covers it for sure)
    entries = {
        (tx["header"]["sender"] == pool_buyer_address(0), function_of(tx))
        for _, _, tx in kept
        if function_of(tx) in PURCHASE
    }
    assert entries <= {(True, "purchase_tickets_premium"), (False, "purchase_tickets_public")}
    # storage (read in a thread: the localnet serves on this loop)
    state, track, ledger = await asyncio.to_thread(_sales_storage, localnet.base_url, pkg)
    assert int(state["block_purchase_count"]) >= 1
    assert track is not None and track["purchase_count"] == "10"  # the window burst's buyer
    assert int(ledger["purchase_events"]["counter"]) == len(purchases)
    assert ledger["rate_limit_events"]["counter"] == "0"


def _sales_storage(base_url: str, pkg: str) -> tuple[Any, Any, Any]:
    """Lottery 5's SalesState, the window burst buyer's RateTrack, the SalesLedger."""
    reader = HttpReader(base_url, pkg)
    try:
        ledger = reader.resource("sales::SalesLedger")
        assert ledger is not None
        state = reader.item(ledger["states"]["handle"], "u64", f"{pkg}::sales::SalesState", "5")
        assert state is not None
        track = reader.item(
            state["rate_track"]["handle"],
            "address",
            f"{pkg}::sales::RateTrack",
            burst_buyer_address(1, 0),
        )
        return state, track, ledger
    finally:
        reader.close()


async def _signed(
    client: SupraClient, tx_factory: Any, seq: list[int], function: str, *args: Any
) -> None:
    module, name = function.split("::")
    admin = dev_accounts().admin.sdk_account()
    body = tx_factory.entry(admin, module, name, list(args), sequence_number=seq[0])
    seq[0] += 1
    done = await tx_factory.wait(client, await client.submit(body))
    assert done["status"] == "Success", (function, done["output"]["Move"]["vm_status"])


async def test_the_treasury_pays_and_finalizes_lottery_1_with_its_partner_and_dual_write(
    localnet: Localnet, tx_factory: Any
) -> None:
    pkg, node = localnet.info.package_address, localnet.node
    u64, u8 = tx_factory.u64, tx_factory.u8
    client = SupraClient(localnet.base_url, SupraClientConfig(wait_for_transaction=False))
    seq = [0]
    try:
        async with httpx.AsyncClient(base_url=localnet.base_url, timeout=10) as http:
            # what the daemon does: close, draw, winners
            await _signed(
                client, tx_factory, seq, "lottery_registry::advance_status", u64(1), u8(2)
            )
            now, height = node.chain_time, node.tip.height
            await _signed(
                client,
                tx_factory,
                seq,
                "draw::request_draw_admin",
                u64(1),
                u64(now),
                u64(height),
                u8(77),
                u64(1),
            )
            await advance(http, 12)  # the dVRF answers 5 chain seconds later
            assert node.model.state.lotteries[1].status == 4  # DRAWN: the callback ran
            await _signed(
                client, tx_factory, seq, "payouts::compute_winners_admin", u64(1), u64(100)
            )
            assert node.model.state.lotteries[1].status == 5
            # the treasury: 600 s, then 8 winners in 4 rounds 120 s apart, then 1800 s
            await advance(http, 600 + 4 * 120 + 1_800 + 60)
            names = ("PartnerPayoutEvent", "PayoutBatchEvent", "LotteryFinalizedEvent")
            found = {n: await events(http, f"{pkg}::history::{n}") for n in names}
            completed = await events(http, f"{pkg}::legacy_bridge::ArchiveDualWriteCompletedEvent")
            pending = (
                await http.post(
                    "localnet/v1/view",
                    json={
                        "function": f"{pkg}::legacy_bridge::pending_expected_hashes",
                        "type_arguments": [],
                        "arguments": [],
                    },
                )
            ).json()
    finally:
        await client.close()
    assert node.model.state.lotteries[1].status == 6
    partner = found["PartnerPayoutEvent"]
    assert [e["event"]["data"]["partner"] for e in partner] == [partner_address(1)]
    rounds = [
        e["event"]["data"]["payout_round"]
        for e in found["PayoutBatchEvent"]
        if e["event"]["data"]["lottery_id"] == "1"
    ]
    assert rounds == ["1", "2", "3", "4"]
    assert [e["event"]["data"]["lottery_id"] for e in completed] == ["1"]
    assert pending == {"result": [["4"]]}  # lottery 4's expected hash waits (a mismatch)
    acc = node.model.state.sales[1].accounting
    assert (acc.total_prize_paid, acc.total_operations_paid) == (
        acc.total_allocated,
        acc.total_operations_allocated,
    )
    summary = node.model.state.summaries[1]
    assert (summary.status, summary.payout_round) == (6, 4)


async def test_playbook_storage_matches_the_layouts_and_every_reader_the_dev_view(
    localnet: Localnet,
) -> None:
    """After the buyers' bursts: the walk reaches RateTrack, the partner and premium caps and
    the dual-write hashes, and the role and dual-write readers agree with the dev view."""
    async with httpx.AsyncClient(base_url=localnet.base_url, timeout=10) as http:
        await advance(http, 720)
    info = localnet.info
    reader = HttpReader(localnet.base_url, info.package_address)
    holders = list(localnet.node.model.state.premium_caps)
    partners = list(localnet.node.model.state.partner_caps)
    calls: list[tuple[tuple[str, str], list[object]]] = [
        (("roles", "list_partner_caps"), []),
        (("roles", "list_premium_caps"), []),
        (("legacy_bridge", "pending_expected_hashes"), []),
        (("legacy_bridge", "dual_write_flags"), []),
        (("legacy_bridge", "is_enabled"), []),
        (("legacy_bridge", "is_mirror_enabled"), []),
        *[(("roles", "partner_payout_cap_view"), [p]) for p in [*partners, "0x" + "ee" * 32]],
        *[(("roles", "premium_cap_view"), [h]) for h in [*holders, "0x" + "ee" * 32]],
        *[(("roles", "has_premium_cap"), [h]) for h in holders],
        *[(("legacy_bridge", "dual_write_status"), [i]) for i in (1, 4)],
        *[(("legacy_bridge", "has_expected_hash"), [i]) for i in (1, 4)],
        *[(("views", "accounting_snapshot"), [i]) for i in (5, 6)],
    ]

    def check() -> set[str]:
        try:
            report = walk(reader, operators=[op.address for op in info.operators])
            with httpx.Client(base_url=localnet.base_url, timeout=10) as http:
                for (module, function), args in calls:
                    body = {
                        "function": f"{info.package_address}::{module}::{function}",
                        "type_arguments": [],
                        "arguments": [str(a) if isinstance(a, int) else a for a in args],
                    }
                    expected = http.post("localnet/v1/view", json=body).json()["result"]
                    try:
                        actual = READERS[(module, function)](reader, args)
                    except StorageAbort as abort:  # pragma: no cover - none of these aborts
                        raise AssertionError((module, function, abort.code)) from None
                    assert json.dumps(actual, sort_keys=True) == json.dumps(
                        expected, sort_keys=True
                    ), (module, function, args)
            return report.layouts.checked
        finally:
            reader.close()

    checked = await asyncio.to_thread(check)
    assert {
        "lottery_multi::sales::RateTrack",
        "lottery_multi::roles::PartnerPayoutCap",
        "lottery_multi::roles::PremiumAccessCap",
    } <= checked
