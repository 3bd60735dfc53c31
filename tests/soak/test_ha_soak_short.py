"""The failover soak's short version, in ``make test``: two instances, a 3 s lease, three
SIGKILLs of the leader, one SIGSTOP past the lease, its database sessions terminated once and
PostgreSQL restarted once, under RPC faults.

Runs ``tests/soak/ha_soak.py`` as a process (exactly what ``make ha-soak`` runs, smaller) and
checks its report: the HA line with duplicates, lost, stuck, mismatches and split brain all 0, a
takeover after every kill and pause within twice the lease, every lottery in the state its
scenario expects, every account's sequence numbers gapless, every exit of an instance explained
by what was done to it, and no key material in anything the run wrote.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import key_scan

pytestmark = [pytest.mark.timeout(240)]

HA_SOAK = Path(__file__).with_name("ha_soak.py")
LINE = re.compile(
    r"^HA kills=(\d+) pauses=(\d+) db_faults=(\d+) takeovers=(\d+) takeover_p50_s=([\d.]+) "
    r"takeover_p99_s=([\d.]+) duplicates=(\d+) lost=(\d+) stuck=(\d+) mismatches=(\d+) "
    r"split_brain=(\d+)$"
)
LEASE = 3.0
SHORT = [
    "--instances", "2", "--kills", "3", "--pauses", "1", "--db-faults", "1",
    "--pg-restarts", "1", "--lotteries", "6", "--lease-seconds", str(LEASE),
    "--renew-seconds", "1", "--fault-rate", "0.2", "--seed", "3", "--max-minutes", "2.5",
    "--spread-wall-seconds", "20",
]  # fmt: skip


def test_the_short_failover_soak_loses_nothing_and_never_has_two_leaders(tmp_path: Path) -> None:
    out = tmp_path / "ha-soak"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(HA_SOAK), *SHORT, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    elapsed = time.monotonic() - started
    print(run.stdout[-6000:])
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    found = LINE.match(last)
    assert found, (
        f"no HA line last (exit {run.returncode}):\n{run.stdout[-4000:]}{run.stderr[-4000:]}"
    )
    kills, pauses, db_faults, takeovers = map(int, found.groups()[:4])
    p50, p99 = map(float, found.groups()[4:6])
    duplicates, lost, stuck, mismatches, split = map(int, found.groups()[6:])
    assert (duplicates, lost, stuck, mismatches, split) == (0, 0, 0, 0, 0), run.stdout[-6000:]
    assert (kills, pauses, db_faults) == (3, 1, 2), last
    assert takeovers >= kills + pauses, last
    assert 0 < p50 <= p99 <= 2 * LEASE, last
    report = json.loads((out / "report.json").read_text())
    assert report["outcomes"] == report["expected"]
    assert report["gaps"] == [] and report["unexpected_exits"] == []
    assert report["key_findings"] == []
    assert run.returncode == 0, run.stdout[-4000:]
    outputs = [f for f in out.rglob("*") if f.is_file() and f.suffix != ".key"]
    keys = key_scan.dev_keys()
    findings = key_scan.scan_paths(outputs, keys)
    findings += key_scan.scan_text(run.stdout + run.stderr, keys, where="ha-soak output")
    assert not findings, key_scan.report(findings)
    assert elapsed < 180, f"the short failover soak took {elapsed:.0f} s"
