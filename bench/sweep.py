"""Sweep: what one idle tick costs with many lotteries, 95 % of them idle or terminal.

The scenario (``scenarios.scale``): half the lotteries canceled and archived (terminal), 45 %
ACTIVE with sales ending in a week (idle), 5 % canceled with refunds owed (live: their metrics are
kept; automatic refunds are off, so nothing is due). The daemon runs in this process (the
composition root, ``autobot.app.Daemon``) so each sweep can be measured alone: RPC requests (the
localnet's count of ``/rpc/`` requests) and CPU milliseconds of this process (``process_time``:
the event loop and the journal's thread) per sweep. The localnet is another process.

The daemon reads the package's storage (``[chain] reads = "storage"``, the default). An idle tick
reads chain time, the aggregate resources (bots, cap, deposit, the price feeds' registry and the
watched feed) and the resources whose event-handle counters tell whether anything happened (the
registry, draw, payout and archive ledgers): when no counter moved, no events are asked for. The
localnet's buyers purchase on every ACTIVE lottery (``scenarios.BUYERS_PER_MINUTE`` each, 75
purchases a second at 10,000 lotteries); autobot reads them as ``TicketPurchaseEvent``s every 10
seconds of chain time (one request, a page per 100; ``sales_rate``) — by events, never per lottery. Once
every ``EVENTS_EVERY_SECONDS`` (a minute) a tick also reads one event type, in turn, whatever its
counter says: a safety net (the *safety-net read* row, made to happen by moving the watchlist's
clock). The ``BENCH`` line reports the idle tick, and the safety-net tick as ``scan_*``.

Baseline, on the same localnet in the same run: the sweep as it was before the watchlist,
reading every lottery not known terminal at every tick (``EveryLottery``, read through by a sweep
over the daemon's parts: ``Daemon.engine_over``). The scanning ticks are made so by
moving the daemon's monotonic clock past ``EVENTS_EVERY_SECONDS`` (``SkippingClock``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from autobot.app import Daemon
from autobot.chain.gateway import ChainGateway
from autobot.chain.keys import load_keyring
from autobot.clock import SystemClock
from autobot.config import load_config
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.journal.protocol import Journal
from autobot.logs import configure_logging
from autobot.watchlist import EVENTS_EVERY_SECONDS, ReadStats
from bench import harness, scenarios
from bench.harness import Net, bench_line, median, say, table

IDLE_TICKS = 8


class SkippingClock(SystemClock):
    """The host clock, whose monotonic reading can be moved on (``skip``)."""

    def __init__(self) -> None:
        self._skipped = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self._skipped

    def skip(self, seconds: float) -> None:
        self._skipped += seconds


class EveryLottery:
    """The baseline read (a ``SweepReads``): ``lottery_ids()`` minus the journal's terminal ones,
    every view."""

    def __init__(self, gateway: ChainGateway, journal: Journal) -> None:
        self._gateway = gateway
        self._journal = journal
        self.last = ReadStats()
        self.finished: Mapping[int, tuple[int, LotteryView]] = {}
        self.terminal: frozenset[int] = frozenset()

    async def read(self, *, asset_ids: Collection[int], **_: object) -> Snapshot:
        self.terminal = await self._journal.terminal_lotteries()
        ids = [i for i in await self._gateway.lottery_ids() if i not in self.terminal]
        snapshot = await self._gateway.snapshot(lottery_ids=ids, asset_ids=asset_ids)
        self.last = ReadStats(read=len(ids), kept=len(ids))
        return snapshot

    async def scan(self, *, busy: Collection[int] = ()) -> int:
        return 0

    def for_planning(self, snapshot: Snapshot, *, also: Collection[int] = ()) -> Snapshot:
        return snapshot

    def next_due(self) -> int | None:
        return None

    def mark_changed(self, lottery_ids: Iterable[int]) -> None:
        pass


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    total = 1_000 if quick else 10_000
    folder = workdir / "sweep"
    folder.mkdir(parents=True, exist_ok=True)
    say(
        f"sweep: {total} lotteries (50 % terminal, 45 % idle, 5 % live), buyers on the idle ones "
        f"({scenarios.BUYERS_PER_MINUTE:g} purchase a minute each)"
    )
    scenario = scenarios.scale(folder / "scenario.toml", total=total)
    async with harness.localnet(folder, scenario) as net:
        harness.patch_config(
            net.config,
            {"feeds": {"assets": [1]}, "refunds": {"auto_refund": False}},
        )
        config = load_config(net.config)
        configure_logging(level="warning")
        clock = SkippingClock()
        async with Daemon(
            config=config, keyring=load_keyring(config), listen=("127.0.0.1", 0), clock=clock
        ) as daemon:
            engine = daemon.engine
            cold = await measure(net, engine.sweep)
            quiet, scanning = [], []
            for n in range(2 * IDLE_TICKS):
                await asyncio.sleep(0.3)  # a block or two: the chain moves, nothing is due
                if n % 2:  # as one tick a minute: the safety net reads one event type too
                    clock.skip(EVENTS_EVERY_SECONDS)
                    scanning.append(await measure(net, engine.sweep))
                else:
                    quiet.append(await measure(net, engine.sweep))
            idle = quiet
            assert daemon.gateway is not None and daemon.journal is not None
            every_lottery = daemon.engine_over(EveryLottery(daemon.gateway, daemon.journal))
            baseline = await measure(net, every_lottery.sweep)
    requests = median(r for r, _, _ in idle)
    cpu_ms = median(c for _, c, _ in idle)
    rows = [("", "requests", "CPU ms", "wall ms")]
    rows.append(("autobot, first sweep", f"{cold[0]}", f"{cold[1]:.0f}", f"{cold[2]:.0f}"))
    for name, ticks in (("quiet", quiet), ("safety-net read", scanning)):
        rows.append(
            (
                f"autobot, idle, {name} (median of {IDLE_TICKS})",
                f"{median(r for r, _, _ in ticks):.0f}",
                f"{median(c for _, c, _ in ticks):.1f}",
                f"{median(w for _, _, w in ticks):.0f}",
            )
        )
    rows.append(("every lottery", f"{baseline[0]}", f"{baseline[1]:.0f}", f"{baseline[2]:.0f}"))
    table(f"sweep: one tick with {total} lotteries", rows)
    result = {
        "requests_per_tick": requests,
        "cpu_ms_per_tick": cpu_ms,
        "scan_requests_per_tick": median(r for r, _, _ in scanning),
        "scan_cpu_ms_per_tick": median(c for _, c, _ in scanning),
        "first_sweep_seconds": cold[2] / 1000,
        "baseline_requests_per_tick": float(baseline[0]),
        "baseline_cpu_ms_per_tick": baseline[1],
    }
    result["ratio"] = result["baseline_requests_per_tick"] / requests
    bench_line(
        "sweep",
        requests_per_tick=round(requests),
        cpu_ms_per_tick=round(cpu_ms, 1),
        scan_requests_per_tick=round(result["scan_requests_per_tick"]),
        scan_cpu_ms_per_tick=round(result["scan_cpu_ms_per_tick"], 1),
        first_sweep_s=round(cold[2] / 1000, 1),
        baseline_requests_per_tick=baseline[0],
        ratio=round(result["ratio"], 1),
    )
    return result


async def measure(net: Net, sweep: object) -> tuple[int, float, float]:
    """(RPC requests, CPU ms, wall ms) of one sweep."""
    before = await net.rpc_requests()
    cpu, wall = time.process_time(), time.perf_counter()
    await sweep()  # type: ignore[operator]
    cpu_ms, wall_ms = (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
    return await net.rpc_requests() - before, cpu_ms, wall_ms
