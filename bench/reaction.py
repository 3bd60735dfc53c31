"""Reaction: how long after a lottery's sales end does the auto-close reach the chain?

Lotteries whose sales end at spread-out times (time-scale 1, the default 200 ms block interval).
Reaction = the wall time the localnet accepted the ``advance_status(id, 2)`` transaction minus the
wall time the chain first showed the first second the close was valid (``sales_end + 1``: the
production wall time of the first block with that timestamp, ``/localnet/v1/time_reached``).

Baseline, in the same run on the same localnet: the handbook's polling, a poller that reads the
status of its lotteries every 60 s and closes what it finds past its sales end (building, signing
and submitting each close with the SDK and waiting for it, one after the other). The handbook's
poller calls ``status_overview`` and ``list_active``; on the package as published those are no
views, and computing them from storage reads every lottery, so the poller reads its own
lotteries' records instead (``SupraGateway`` reading storage, as autobot does). It owns its own lotteries (ids from 100,001), which autobot leaves alone because their
``AutoClosePolicy`` grace is ten years (the poller, like the scripts, ignores the policy) and which
sold no tickets (so autobot never draws them). Both use the admin key, so their closes are kept
apart in time: the poller's lotteries end in the first minute and it closes them at its 60 s poll;
autobot's end after it closed them (quick mode: before its poll, and they are done by then).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.domain import calls as c
from autobot.domain.lotteries import LotteryStatus
from autobot.journal.dsn import Dsn
from bench import harness, scenarios
from bench.harness import Net, bench_line, percentile, say, table

POLL_SECONDS = 60.0


def plan(quick: bool) -> tuple[list[int], list[int]]:
    """Sales-end offsets (chain seconds after genesis) of autobot's and the poller's lotteries."""
    rng = random.Random(7)
    if quick:
        ours = sorted(rng.uniform(8, 48) for _ in range(100))
        theirs = sorted(rng.uniform(3, 57) for _ in range(40))
    else:
        ours = sorted(rng.uniform(95, 395) for _ in range(1_000))
        theirs = sorted(rng.uniform(3, 57) for _ in range(60))
    return [round(x) for x in ours], [round(x) for x in theirs]


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    folder = workdir / "reaction"
    folder.mkdir(parents=True, exist_ok=True)
    ours, theirs = plan(quick)
    scenario = scenarios.reaction(folder / "scenario.toml", ours=ours, theirs=theirs)
    say(f"reaction: {len(ours)} autobot lotteries, {len(theirs)} for the 60 s poller")
    async with harness.localnet(folder, scenario) as net:
        harness.patch_config(
            net.config,
            {
                "chain": {"submit_window": 32},
                "scheduler": {"max_concurrent_actions": 32},
                "feeds": {"assets": [1]},
            },
        )
        theirs_ids = [100_001 + i for i in range(len(theirs))]
        async with harness.daemon(net) as daemon:
            poller = asyncio.create_task(poll(net, set(theirs_ids)))
            closed = await harness.until(
                lambda: _all_closed(daemon.journal, len(ours)),
                within=max(ours) + 180,
                interval=1.0,
                what="every autobot lottery closed",
                daemon=daemon,
            )
            baseline_hashes = await poller
            cpu = harness.cpu_seconds(daemon.proc.pid)
            requests = await net.rpc_requests()
            say(
                f"  all closed {closed:.0f} s after the daemon was ready; daemon CPU {cpu:.1f} s, "
                f"{requests} RPC requests"
            )
            ours_hashes = _close_hashes(daemon.journal)
        reactions = await _reactions(net, ours_hashes)
        (folder / "timings.json").write_text(json.dumps(net.timings))
        baseline = await _reactions(net, baseline_hashes)
    return report(reactions, baseline)


def report(reactions: list[float], baseline: list[float]) -> dict[str, float]:
    rows = [("", "lotteries", "p50 ms", "p99 ms", "max ms")]
    for name, values in (("autobot", reactions), ("poller 60 s", baseline)):
        rows.append(
            (
                name,
                str(len(values)),
                f"{percentile(values, 50):.0f}",
                f"{percentile(values, 99):.0f}",
                f"{max(values, default=float('nan')):.0f}",
            )
        )
    table("reaction: accepted close minus the chain reaching sales_end + 1", rows)
    result = {
        "p50_ms": percentile(reactions, 50),
        "p99_ms": percentile(reactions, 99),
        "max_ms": max(reactions, default=float("nan")),
        "baseline_p99_ms": percentile(baseline, 99),
    }
    result["ratio"] = result["baseline_p99_ms"] / result["p99_ms"]
    bench_line(
        "reaction",
        journal=harness.journal_backend(),
        **{k: round(v) if k != "ratio" else v for k, v in result.items()},
    )
    return result


async def _all_closed(journal: Path | Dsn, count: int) -> bool:
    return len(_close_hashes(journal)) >= count


def _close_hashes(journal: Path | Dsn) -> dict[int, str]:
    """Lottery id → the hash of autobot's committed auto-close."""
    rows = harness.journal_rows(
        journal,
        "SELECT tx_hash, call FROM transactions WHERE state = 'committed' AND purpose = 'execute'",
    )
    found: dict[int, str] = {}
    for tx_hash, call in rows:
        body = json.loads(call)
        if body["function"] == "advance_status":
            found[int(body["args"][0][1])] = tx_hash
    return found


async def _reactions(net: Net, hashes: dict[int, str]) -> list[float]:
    out: list[float] = []
    for lottery_id, tx_hash in sorted(hashes.items()):
        (config,) = await net.view("views::get_lottery", lottery_id)
        reached = await net.time_reached_wall(int(config["sales_window"]["sales_end"]) + 1)
        accepted = await net.accepted_wall(tx_hash)
        if reached is not None and accepted is not None:
            out.append((accepted - reached) * 1000)
            net.timings[lottery_id] = (reached, accepted)
    return out


async def poll(net: Net, ids: set[int]) -> dict[int, str]:
    """The handbook's 60 s poller over ``ids``: their statuses, close what ended."""
    admin = Signer.from_private_key_hex(net.info["accounts"]["admin"]["private_key"])
    sales_end: dict[int, int] = {}
    closed: dict[int, str] = {}
    async with SupraGateway(
        rpc_urls=[net.url], chain_id=int(net.info["chain_id"]), package=net.info["package_address"]
    ) as gateway:
        while len(closed) < len(ids):
            started = time.monotonic()
            now = (await gateway.chain_time()).seconds
            statuses = {i: (await gateway.lottery_status(i)).status for i in ids - closed.keys()}
            active = {i for i, s in statuses.items() if s == LotteryStatus.ACTIVE}
            for lottery_id in sorted(active - sales_end.keys()):
                sales_end[lottery_id] = (await gateway.lottery_config(lottery_id)).sales_end
            for lottery_id in sorted(active):
                if now > sales_end[lottery_id]:
                    closed[lottery_id] = await _close(gateway, admin, lottery_id)
            if len(closed) < len(ids):
                await asyncio.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - started)))
    return closed


async def _close(gateway: SupraGateway, admin: Signer, lottery_id: int) -> str:
    """What the scripts do per close: fetch the sequence number, sign, submit, wait."""
    while True:
        sequence = await gateway.account_sequence(admin.address)
        tx = gateway.sign(
            call=c.advance_status(lottery_id, 2),
            sender=admin,
            sequence_number=sequence,
            expires_at=int(time.time()) + 60,
        )
        try:
            await gateway.submit(tx)
        except Exception:  # a sequence race with the daemon: ask again
            await asyncio.sleep(0.2)
            continue
        await gateway.wait_for(tx.tx_hash, timeout=20)
        return tx.tx_hash
