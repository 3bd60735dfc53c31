"""Refunds: every batch, archive and record of many canceled lotteries, as fast as the chain takes.

Canceled lotteries with 5,000 tickets each and a PayoutBatchCap of 500 (ten batches and an archive
per lottery), refund plans announced by ten timelocked (900 s) operators. The package keeps one
pending slot per bot, so ten plans are announced at a time: the benchmark passes each round's
timelock by advancing chain time as soon as its announcements are on chain (``/localnet/v1/advance``,
a few milliseconds; the first round's before the clock starts). Measured: wall time from the first
round's timelock passing until every lottery is refunded, archived and its plan recorded (every
refund action ``done`` in the journal); transactions per second are everything autobot's accounts
submitted in that time (batches, archives, records and the later rounds' announcements).

Baseline, in the same run on the same localnet (before the daemon starts, on lotteries of its
own): one short-lived process per batch and per archive that builds, signs and submits with
``supra-sdk`` and waits for the result (``bench/baseline_tx.py``; what ``refund_control.sh`` does
with the CLI). It runs on a sample of lotteries; its seconds for the whole set are the sample's
mean per transaction times the set's batches and archives.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from autobot.chain.supra import SupraGateway
from autobot.domain.calls import Bool, Call
from autobot.planning.plan import PlanContext, PlannedAction
from autobot.planning.recipes import RefundPlan
from autobot.planning.refunds import plan_refund
from bench import harness, scenarios
from bench.harness import Net, bench_line, say, table

TICKETS = 5_000
OPERATORS = 10


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    count, sample = (10, 1) if quick else (100, 8)
    folder = workdir / "refunds"
    folder.mkdir(parents=True, exist_ok=True)
    scenario = scenarios.refunds(
        folder / "scenario.toml",
        lotteries=count,
        baseline=sample,
        tickets=TICKETS,
        operators=OPERATORS,
    )
    say(
        f"refunds: {count} lotteries x {TICKETS} tickets, {OPERATORS} operators; baseline sample {sample}"
    )
    async with harness.localnet(folder, scenario) as net:
        harness.patch_config(
            net.config,
            {
                "chain": {"submit_window": 64},
                "scheduler": {"max_concurrent_actions": 32, "poll_interval_seconds": 0.25},
                "feeds": {"assets": [1]},
            },
        )
        base_seconds, base_txs = await baseline(net, [100_001 + i for i in range(sample)])
        async with harness.daemon(net) as daemon:
            seconds, txs, rounds = await autobot(net, daemon, count)
    per_tx = base_seconds / base_txs
    full_txs = count * (TICKETS // 500 + 1)
    result = {
        "seconds": seconds,
        "tx_per_s": txs / seconds,
        "baseline_seconds": per_tx * full_txs,
    }
    result["ratio"] = result["baseline_seconds"] / seconds
    table(
        "refunds: every batch, archive and record",
        [
            ("", "lotteries", "transactions", "seconds", "tx/s"),
            ("autobot", str(count), str(txs), f"{seconds:.1f}", f"{txs / seconds:.0f}"),
            (
                "process per tx",
                f"{sample} (of {count})",
                f"{base_txs} (x{full_txs / base_txs:.0f})",
                f"{base_seconds:.1f} -> {result['baseline_seconds']:.0f}",
                f"{base_txs / base_seconds:.1f}",
            ),
        ],
    )
    say(f"  autobot: chain time advanced past {rounds} timelocks (one pending slot per bot)")
    bench_line("refunds", **result)
    return result


async def baseline(net: Net, lottery_ids: list[int]) -> tuple[float, int]:
    """``refund_control.sh``: one process per batch and per archive, one after the other."""
    key = net.info["accounts"]["admin"]["private_key"]
    package = net.info["package_address"]
    async with _gateway(net) as gateway:
        snapshot = await gateway.snapshot(lottery_ids=lottery_ids)
        calls: list[Call] = []
        for lottery_id in lottery_ids:
            planned = plan_refund(
                snapshot.lotteries[lottery_id], snapshot, PlanContext(chain_id=77)
            )
            assert isinstance(planned, PlannedAction) and isinstance(planned.recipe, RefundPlan)
            calls += [t.call for t in planned.recipe.calls(snapshot.now)]
    started = time.perf_counter()
    for call in calls:
        args = [_cli_arg(a) for a in call.args]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.baseline_tx", net.url, key, package,
            call.module, call.function, *args,
        )  # fmt: skip
        if await proc.wait() != 0:
            raise RuntimeError(f"baseline transaction failed: {call.render()}")
    return time.perf_counter() - started, len(calls)


def _cli_arg(arg: object) -> str:
    if isinstance(arg, Bool):
        return f"bool:{'true' if arg.value else 'false'}"
    return f"{arg.move_type}:{arg.value}"  # type: ignore[attr-defined]


def _gateway(net: Net) -> SupraGateway:
    return SupraGateway(
        rpc_urls=[net.url], chain_id=int(net.info["chain_id"]), package=net.info["package_address"]
    )


async def autobot(net: Net, daemon: harness.Daemon, count: int) -> tuple[float, int, int]:
    async with _gateway(net) as gateway:
        # the first round: ten plans announced, their timelocks passed before the clock starts
        await harness.until(
            lambda: _announced(gateway, OPERATORS),
            within=120,
            interval=0.1,
            what="announced",
            daemon=daemon,
        )
        rounds = 1
        await _pass_timelocks(net, gateway)
        started_wall, started = time.time(), time.perf_counter()
        done = asyncio.Event()

        async def time_lapse() -> None:
            nonlocal rounds
            while not done.is_set():
                if await _pass_timelocks(net, gateway):
                    rounds += 1
                await asyncio.sleep(0.05)

        lapse = asyncio.create_task(time_lapse())
        try:
            await harness.until(
                lambda: _all_done(daemon, count),
                within=600,
                interval=0.1,
                what="refunds done",
                daemon=daemon,
            )
        finally:
            done.set()
            await lapse
        seconds = time.perf_counter() - started
    (txs,) = harness.journal_rows(
        daemon.journal,
        "SELECT COUNT(*) FROM transactions WHERE submitted_wall >= ?",
        (started_wall,),
    )[0]
    return seconds, int(txs), rounds


async def _announced(gateway: SupraGateway, bots: int) -> bool:
    return sum(b.has_pending for b in await gateway.list_bots()) >= bots


async def _pass_timelocks(net: Net, gateway: SupraGateway) -> bool:
    """Advance chain time past every pending announcement's ``execute_after``."""
    now = (await gateway.chain_time()).seconds
    waiting = [b.pending_execute_after for b in await gateway.list_bots() if b.has_pending]
    if not waiting or max(waiting) < now:
        return False
    await net.advance(max(waiting) - now + 1)
    return True


async def _all_done(daemon: harness.Daemon, count: int) -> bool:
    rows = harness.journal_rows(
        daemon.journal, "SELECT COUNT(*) FROM actions WHERE kind = 'refund' AND state = 'done'"
    )
    return bool(rows) and int(rows[0][0]) >= count
