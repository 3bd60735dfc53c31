"""Run the benchmarks: ``python -m bench.run [--quick] [--only reaction refunds sweep footprint
status takeover history] [--journal sqlite|postgres]``.

Prints the machine, then per benchmark a table and a final ``BENCH <name> key=value ...`` line;
``--json FILE`` also writes every number. Work files go to a temporary directory (``--keep DIR``
keeps them: localnet and daemon logs, journals, scenario files). ``--journal postgres`` journals the
daemons in PostgreSQL (``$AUTOBOT_TEST_PG_DSN``'s server, else a throwaway cluster with ``fsync``
on); the benchmarks that start ``autobot run`` (reaction, refunds, footprint) then measure it.
``takeover`` (``[ha]``) always journals in PostgreSQL: two instances, the leader killed or stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from autobot.journal.pgserver import postgres_server
from bench import footprint, harness, history, reaction, refunds, status, sweep, takeover
from bench.harness import machine, say

Benchmark = Callable[..., Awaitable[dict[str, float]]]
BENCHMARKS: dict[str, Benchmark] = {
    "reaction": reaction.run,
    "refunds": refunds.run,
    "sweep": sweep.run,
    "footprint": footprint.run,
    "status": status.run,
    "history": history.run,
    "takeover": takeover.run,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under two minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers here")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the work files here")
    parser.add_argument(
        "--journal", choices=("sqlite", "postgres"), default="sqlite", help="the daemon's journal"
    )
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
    info = machine()
    say(f"autobot benchmarks ({'quick' if args.quick else 'full'}): {', '.join(names)}")
    say(f"machine: {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}")
    say(info["memory"])
    started = time.perf_counter()
    results: dict[str, dict[str, float]] = {}
    with contextlib.ExitStack() as stack:
        if args.journal == "postgres":
            server = stack.enter_context(postgres_server(durable=True))
            harness.use_postgres(server)
            say(f"journal: PostgreSQL, {server.description}")
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="autobot-bench-"))
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name in names:
            began = time.perf_counter()
            results[name] = asyncio.run(BENCHMARKS[name](workdir, quick=args.quick))
            say(f"  ({name}: {time.perf_counter() - began:.0f} s)")
    say(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
