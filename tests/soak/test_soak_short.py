"""The soak's short version, in ``make test``: 12 lotteries, 5 SIGKILLs, 1 SIGTERM, faults at 20 %,
a lying endpoint listed first (the byzantine mode: early and overpriced 0).

Runs ``tests/soak/soak.py`` as a process (exactly what ``make soak`` runs, smaller) and checks its
report: the SOAK line with duplicates, lost, stuck and mismatches all 0, every lottery in the state
its scenario expects, every account's sequence numbers gapless, every SIGTERM answered with exit 0,
and no key material in anything the run wrote (the harness's own scan, and this test's scan of the
harness's output). Then ``autobot journal migrate`` moves the soak's journal into PostgreSQL,
verified row by row (issue 16, acceptance 3).
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
from autobot.journal.dsn import Dsn

pytestmark = [pytest.mark.timeout(240)]

SOAK = Path(__file__).with_name("soak.py")
LINE = re.compile(
    r"^SOAK kills=(\d+) sigterms=(\d+) faults=(\d+) actions=(\d+) duplicates=(\d+) lost=(\d+) "
    r"stuck=(\d+) mismatches=(\d+) lies=(\d+) early=(\d+) overpriced=(\d+)$"
)
SHORT = [
    "--lotteries", "12", "--kills", "5", "--sigterms", "1", "--fault-rate", "0.2",
    "--seed", "7", "--max-minutes", "2.5", "--spread-wall-seconds", "30",
    "--min-gap", "1", "--kill-share", "0.5",
]  # fmt: skip


def test_the_short_soak_finds_nothing_twice_lost_stuck_or_mismatched(
    tmp_path: Path, pg_database: Dsn
) -> None:
    out = tmp_path / "soak"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(SOAK), *SHORT, "--out", str(out)],
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
        f"no SOAK line last (exit {run.returncode}):\n{run.stdout[-4000:]}{run.stderr[-4000:]}"
    )
    kills, sigterms, faults, actions, duplicates, lost, stuck, mismatches, lies, early, over = map(
        int, found.groups()
    )
    assert (duplicates, lost, stuck, mismatches) == (0, 0, 0, 0), run.stdout[-6000:]
    assert (early, over) == (0, 0), run.stdout[-6000:]
    assert lies > 0, last  # the byzantine mode is on by default
    assert kills == 5 and sigterms == 1, last
    assert faults > 0 and actions > 0, last
    report = json.loads((out / "report.json").read_text())
    assert report["outcomes"] == report["expected"]
    assert report["gaps"] == [], report["gaps"]
    assert report["sigterm_codes"] == [0], report["sigterm_codes"]
    assert report["unexpected_exits"] == []
    assert report["key_findings"] == []
    assert run.returncode == 0, run.stdout[-4000:]
    # no key material in anything the run wrote, nor in what it printed (key files are inputs)
    outputs = [f for f in out.rglob("*") if f.is_file() and f.suffix != ".key"]
    keys = key_scan.dev_keys()
    findings = key_scan.scan_paths(outputs, keys)
    findings += key_scan.scan_text(run.stdout + run.stderr, keys, where="soak output")
    assert not findings, key_scan.report(findings)
    assert elapsed < 180, f"the short soak took {elapsed:.0f} s"
    # and the journal it left moves into PostgreSQL, every row compared
    journal = out / "daemon" / "journal.sqlite3"
    # the DSN in a file of mode 600, as an operator passes one that may hold a password (CI's does;
    # autobot refuses a password on the command line)
    dsn_file = out / "journal.dsn"
    dsn_file.write_text(pg_database.reveal() + "\n")
    dsn_file.chmod(0o600)
    migrated = subprocess.run(
        [str(Path(sys.executable).with_name("autobot")), "journal", "migrate",
         "--from", str(journal), "--to-dsn-file", str(dsn_file)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "verified row by row" in migrated.stdout
    copied = re.search(r"transactions (\d+)", migrated.stdout)
    assert copied is not None and int(copied.group(1)) > 0, migrated.stdout
