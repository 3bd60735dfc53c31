"""Footprint: the daemon process with the 10,000-lottery scenario (no baseline).

* ``start_s``: cold start, from spawning ``autobot run`` to its ``READY=1`` (``NOTIFY_SOCKET``);
* ``rss_mb``: resident memory after an hour of chain time — after its first sweep (every live
  lottery read once), the localnet's chain time is advanced by an hour in minute steps while
  the daemon sweeps;
* ``scrape_ms``: ``GET /metrics`` (median of several).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from bench import harness, scenarios
from bench.harness import bench_line, median, say, table


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    total = 1_000 if quick else 10_000
    folder = workdir / "footprint"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"footprint: {total} lotteries")
    scenario = scenarios.scale(folder / "scenario.toml", total=total)
    async with harness.localnet(folder, scenario) as net:
        harness.patch_config(
            net.config,
            {"feeds": {"assets": [1]}, "refunds": {"auto_refund": False}},
        )
        async with harness.daemon(net) as daemon, httpx.AsyncClient(timeout=30) as http:
            first = await harness.until(
                lambda: _swept(http, daemon.metrics_url),
                within=600,
                interval=0.5,
                what="the first sweep",
                daemon=daemon,
            )
            rss_first = harness.rss_mb(daemon.proc.pid)
            steps = 6 if quick else 60
            for _ in range(steps):
                await net.advance(3_600 // steps)
                await asyncio.sleep(0.4)
            await asyncio.sleep(2.0)
            rss = harness.rss_mb(daemon.proc.pid)
            scrapes = []
            for _ in range(20):
                started = time.perf_counter()
                reply = await http.get(daemon.metrics_url)
                reply.raise_for_status()
                scrapes.append((time.perf_counter() - started) * 1000)
            series = sum(1 for line in reply.text.splitlines() if line and line[0] != "#")
    start_s = daemon.ready_after
    scrape_ms = median(scrapes)
    table(
        f"footprint: {total} lotteries",
        [
            ("", "value"),
            ("cold start to READY=1", f"{start_s:.2f} s"),
            ("first sweep (every live lottery read once)", f"{first:.1f} s"),
            ("RSS after the first sweep", f"{rss_first:.0f} MB"),
            ("RSS after an hour of chain time", f"{rss:.0f} MB"),
            ("/metrics render (median of 20)", f"{scrape_ms:.1f} ms, {series} series"),
        ],
    )
    result = {"rss_mb": rss, "start_s": start_s, "scrape_ms": scrape_ms}
    bench_line(
        "footprint", rss_mb=round(rss, 1), start_s=round(start_s, 2), scrape_ms=round(scrape_ms, 1)
    )
    return result


async def _swept(http: httpx.AsyncClient, url: str) -> bool:
    text = (await http.get(url)).text
    for line in text.splitlines():
        if line.startswith("autobot_tick_duration_seconds_count"):
            return float(line.split()[-1]) >= 1
    return False
