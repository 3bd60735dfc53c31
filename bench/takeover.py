"""Takeover: how long until a standby leads after the leader fails (``[ha]``, PostgreSQL journal).

Two ``autobot run`` instances with ``[ha] enabled`` share one journal (a database on
``$AUTOBOT_TEST_PG_DSN``'s server, else a throwaway cluster with ``fsync`` on) and the localnet's
demo scenario, at the defaults ``lease_seconds = 10``, ``renew_seconds = 1``. Round after round the
leader is

* SIGKILLed: the takeover is timed from the kill to the standby's ``ha_taking_over`` line (the
  lease taken, its journal fenced: it acts from here), and to its ``ha_took_over`` line (its
  recovery done) — expected: what was left of the killed leader's lease, plus up to a renewal;
* stopped with SIGTERM (a clean stop, an upgrade): it drains, releases the lease and exits; timed
  from the signal to the standby's ``ha_taking_over``.

The stopped instance is started again at once (as systemd would) and stands by for the next round.
Times come from the instances' own log timestamps (the same host's clock as the signal's).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from autobot.journal.pgserver import postgres_server
from bench import harness
from bench.harness import AUTOBOT, bench_line, median, percentile, say, table

LEASE_SECONDS = 10.0
RENEW_SECONDS = 1.0


class Instance:
    def __init__(self, name: str, config: Path, log: Path) -> None:
        self.name, self.config, self.log = name, config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        argv = [AUTOBOT, "run", "--config", str(self.config), "--listen", "127.0.0.1:0"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if f'"{name}"' in line:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == name:
                    found.append(event)
        return found

    def stop(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait_exit(self, within: float = 60.0) -> int | None:
        deadline = time.monotonic() + within
        while self.proc is not None and self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                return None
            await asyncio.sleep(0.05)
        return None if self.proc is None else self.proc.returncode


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["timestamp"])).timestamp()


async def _next(
    instances: list[Instance], name: str, after_epoch: int, within: float
) -> tuple[Instance, dict[str, Any]]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for instance in instances:
            for event in instance.events(name):
                if int(event["epoch"]) > after_epoch:
                    return instance, event
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no {name} after epoch {after_epoch} within {within:.0f} s")


async def run(workdir: Path, *, quick: bool) -> dict[str, float]:
    folder = workdir / "takeover"
    folder.mkdir(parents=True, exist_ok=True)
    kills, terms = (3, 2) if quick else (10, 5)
    say(
        f"takeover: 2 instances, lease {LEASE_SECONDS:g} s, renew {RENEW_SECONDS:g} s; "
        f"{kills} SIGKILLs and {terms} SIGTERMs of the leader"
    )
    with postgres_server(durable=True) as server:
        dsn = server.create_database()
        try:
            async with harness.localnet(folder, Path("demo")) as net:
                instances = []
                for name in ("a", "b"):
                    config = net.config.with_name(f"autobot-{name}.toml")
                    shutil.copy(net.config, config)
                    secret = config.with_name(f"journal-{name}.dsn")
                    secret.write_text(
                        make_conninfo(dsn.reveal(), application_name=f"autobot-{name}") + "\n"
                    )
                    secret.chmod(0o600)
                    harness.patch_config(
                        config,
                        {
                            "journal": {"backend": "postgres", "dsn_file": secret.name},
                            "ha": {
                                "enabled": True,
                                "instance_id": name,
                                "lease_seconds": LEASE_SECONDS,
                                "renew_seconds": RENEW_SECONDS,
                            },
                        },
                    )
                    instances.append(Instance(name, config, folder / f"instance-{name}.log"))
                for instance in instances:
                    instance.start()
                leader, first = await _next(instances, "ha_took_over", 0, 120)
                epoch = int(first["epoch"])
                taken: dict[str, list[float]] = {"kill": [], "term": []}
                recovered: list[float] = []
                for kind in ["kill"] * kills + ["term"] * terms:
                    await asyncio.sleep(2.0)  # the standby reads the chain meanwhile
                    sent = time.time()
                    leader.stop(signal.SIGKILL if kind == "kill" else signal.SIGTERM)
                    new, taking = await _next(instances, "ha_taking_over", epoch, 3 * LEASE_SECONDS)
                    taken[kind].append(_at(taking) - sent)
                    _, took = await _next(instances, "ha_took_over", epoch, 60)
                    recovered.append(_at(took) - sent)
                    code = await leader.wait_exit()
                    say(
                        f"  {kind} of {leader.name} (exit {code}): {new.name} took epoch "
                        f"{taking['epoch']} after {taken[kind][-1]:.2f} s, recovered after "
                        f"{recovered[-1]:.2f} s"
                    )
                    leader.start()  # it stands by for the next round
                    leader, epoch = new, int(taking["epoch"])
                for instance in instances:
                    instance.stop(signal.SIGTERM)
                for instance in instances:
                    await instance.wait_exit()
        finally:
            server.drop_database(dsn)
    rows = [("leader", "rounds", "p50 s", "max s")]
    for kind, values in taken.items():
        rows.append((f"{kind} → standby acts", str(len(values)),
                     f"{median(values):.2f}", f"{max(values):.2f}"))  # fmt: skip
    rows.append(("→ recovered", str(len(recovered)), f"{median(recovered):.2f}",
                 f"{max(recovered):.2f}"))  # fmt: skip
    table("takeover (wall seconds from the signal)", rows)
    result = {
        "kill_p50_s": median(taken["kill"]),
        "kill_p99_s": percentile(taken["kill"], 99),
        "kill_max_s": max(taken["kill"]),
        "term_p50_s": median(taken["term"]),
        "term_max_s": max(taken["term"]),
        "recovered_p50_s": median(recovered),
        "lease_s": LEASE_SECONDS,
    }
    bench_line("takeover", **result)
    return result
