"""Status listener: a flood of ``GET /status.json`` costs no chain read and stays fast.

The daemon runs as a process (``autobot run --config F``) with ``[status] listen`` on a free port,
against the ``scale`` scenario (half the lotteries terminal, 45 % selling, 5 % cancelled with
refunds owed: the document lists every live one). Its poll interval is set to an hour, so after
its first sweep (which publishes the status) nothing it does on its own reads the chain during the
flood; every RPC request the localnet counts in that time (``GET /localnet/v1/faults``,
``requests``) would be one the flood caused.

The flood is open-loop: request ``i`` is due at ``start + i / rate`` and is sent then, whatever
the answers before it did (up to 256 in flight over keep-alive connections); its latency is
measured from that due time to the last byte of the body, so a server that falls behind pays
for the queue it builds (no coordinated omission). The client runs in this process, on the same
two cores as the daemon and the localnet: its own scheduling delays count against the server (its
garbage collector is off during the flood).
Before the flood the published status must have stayed the same for two seconds (the start-up
sweeps' builds are over). A build is not free: rendering the page for 100 live lotteries takes
about 20 ms in the daemon's worker thread (holding the GIL), so a sweep that publishes in the
middle of a flood delays the requests queued behind it by about that much; sweeps come every
``poll_interval_seconds`` (15 s by default) and builds at most once a second.
Reported: p50/p99/max latency, requests answered, non-200 answers, RPC requests during the flood,
the daemon's CPU seconds during it, and the document's size.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from pathlib import Path

import aiohttp

from bench import harness, scenarios
from bench.harness import bench_line, percentile, say, table

RATE = 1_000  # requests per second
TARGET_P99_MS = 10.0


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    seconds = 3.0 if quick else 10.0
    total = 200
    folder = workdir / "status"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"status: {RATE} requests/s against /status.json for {seconds:.0f} s ({total} lotteries)")
    scenario = scenarios.scale(folder / "scenario.toml", total=total)
    port = _free_port()
    async with harness.localnet(folder, scenario) as net:
        harness.patch_config(
            net.config,
            {
                "feeds": {"assets": [1]},
                "refunds": {"auto_refund": False},
                "scheduler": {"poll_interval_seconds": 3600},
                "status": {"listen": f"127.0.0.1:{port}"},
            },
        )
        url = f"http://127.0.0.1:{port}/status.json"
        async with harness.daemon(net) as daemon:
            connector = aiohttp.TCPConnector(limit=256)
            async with aiohttp.ClientSession(connector=connector) as http:
                size = await _first_document(http, url, daemon)
                await _settled(http, url)  # the first sweep's follow-up sweeps have published
                rpc_before = await net.rpc_requests()
                cpu_before = harness.cpu_seconds(daemon.proc.pid)
                gc.collect()
                gc.disable()  # the client's collector pauses are not the server's latency
                try:
                    latencies, failures = await _flood(http, url, rate=RATE, seconds=seconds)
                finally:
                    gc.enable()
                cpu = harness.cpu_seconds(daemon.proc.pid) - cpu_before
                rpc = await net.rpc_requests() - rpc_before
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    worst = max(latencies) if latencies else float("nan")
    table(
        f"status: GET /status.json ({size / 1024:.0f} KiB), {RATE}/s for {seconds:.0f} s",
        [
            ("requests", "non-200", "p50 ms", "p99 ms", "max ms", "RPC requests", "daemon CPU s"),
            (
                f"{len(latencies)}",
                f"{failures}",
                f"{p50:.2f}",
                f"{p99:.2f}",
                f"{worst:.1f}",
                f"{rpc}",
                f"{cpu:.2f}",
            ),
        ],
    )
    say(f"  target: p99 <= {TARGET_P99_MS:.0f} ms and no RPC request: "
        + ("met" if p99 <= TARGET_P99_MS and rpc == 0 and failures == 0 else "NOT met"))  # fmt: skip
    bench_line(
        "status",
        rate=RATE,
        seconds=round(seconds),
        requests=len(latencies),
        non_200=failures,
        p50_ms=round(p50, 2),
        p99_ms=round(p99, 2),
        max_ms=round(worst, 1),
        rpc_requests=rpc,
        daemon_cpu_s=round(cpu, 2),
        document_kib=round(size / 1024, 1),
    )
    return {
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": worst,
        "requests": float(len(latencies)),
        "non_200": float(failures),
        "rpc_requests": float(rpc),
        "daemon_cpu_s": cpu,
    }


async def _first_document(
    http: aiohttp.ClientSession, url: str, daemon: harness.Daemon, within: float = 120.0
) -> int:
    """Wait for the first published status; its size in bytes."""
    deadline = time.monotonic() + within
    while True:
        async with http.get(url) as reply:
            body = await reply.read()
            if reply.status == 200:
                return len(body)
        if daemon.proc.poll() is not None:
            raise RuntimeError(f"the daemon exited: {harness.tail(daemon.log)}")
        if time.monotonic() > deadline:
            raise TimeoutError("no status published")
        await asyncio.sleep(0.2)


async def _settled(http: aiohttp.ClientSession, url: str, quiet: float = 2.0) -> None:
    """Until the published status has not changed for ``quiet`` seconds (the start-up sweeps'
    builds are over: the flood measures serving, not a render that happens to overlap it)."""
    etag, since = None, time.monotonic()
    while time.monotonic() - since < quiet:
        async with http.head(url) as reply:
            if reply.headers.get("ETag") != etag:
                etag, since = reply.headers.get("ETag"), time.monotonic()
        await asyncio.sleep(0.1)


async def _flood(
    http: aiohttp.ClientSession, url: str, *, rate: int, seconds: float
) -> tuple[list[float], int]:
    """Open-loop ``rate``/s for ``seconds``: latencies (ms, from each request's due time)."""
    latencies: list[float] = []
    failures = 0
    count = int(rate * seconds)
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        nonlocal failures
        try:
            async with http.get(url) as reply:
                await reply.read()
                if reply.status != 200:
                    failures += 1
        except aiohttp.ClientError:
            failures += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)

    start = time.perf_counter() + 0.05
    sent = 0
    while sent < count:
        now = time.perf_counter()
        due_now = min(count, int((now - start) * rate) + 1) if now >= start else 0
        while sent < due_now:
            task = asyncio.create_task(one(start + sent / rate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.sleep(0.0005)
    if tasks:
        await asyncio.gather(*tasks)
    return latencies, failures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
