"""The journal's disk going bad under a running daemon, as real file systems do.

* Full (a small tmpfs filled up mid-run) and read-only (a tmpfs remounted ``ro`` between runs; an
  ext4 image the kernel turns read-only mid-run, as ``errors=remount-ro`` does on an I/O error):
  the daemon exits 74 (EX_IOERR, not 78: systemd keeps restarting it until the disk is back) with a
  message naming the journal and the cause; the file is whole (``integrity_check`` and the
  journal's invariants); once the disk is writable again, the next start recovers and finishes
  what was open.
* Corrupt (pages overwritten): refused at start with 74 and what to do (move it aside, restore the
  last backup); the operator CLI refuses it the same way, without a traceback.

Mounting needs root (the sandbox and CI run as root); without it these tests are skipped with
the reason. ``chmod`` cannot stand in for a read-only disk: root ignores it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import processes
from autobot.app import SHUTDOWN_GRACE_SECONDS
from autobot.clock import FakeClock
from autobot.journal.records import NewIncident
from autobot.journal.store import SqliteJournal
from autobot.localnet.accounts import dev_accounts

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

EX_IOERR = 74


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def _umount(path: Path) -> None:
    for _ in range(50):  # a process that just exited may still hold the mount for a moment
        if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def ext4(path: Path, image: Path, size_mb: int = 32) -> Iterator[Path]:
    """An ext4 image mounted with ``errors=remount-ro`` (the kernel's response to a disk error)."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        pytest.skip("an ext4 loop mount needs root and mkfs.ext4")
    with image.open("wb") as f:
        f.truncate(size_mb << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    path.mkdir(parents=True, exist_ok=True)
    done = _mount("-o", "loop,errors=remount-ro", str(image), str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot loop-mount an ext4 image here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        _umount(path)


def _force_read_only(mountpoint: Path) -> None:
    """What the kernel does to ext4 after an I/O error with ``errors=remount-ro``."""
    source = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(mountpoint)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    trigger = Path("/sys/fs/ext4") / Path(source).name / "trigger_fs_error"
    if not trigger.exists():
        pytest.skip(f"this kernel cannot inject an ext4 error ({trigger} missing)")
    trigger.write_text("autobot test: simulated disk error\n")


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    # Unbuffered: a buffered file would try again to write its last partial chunk on close and
    # raise ENOSPC there, outside the except, depending on how much of that chunk fitted.
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _use_journal(config: Path, journal: Path) -> None:
    processes.set_key(config, "journal", "path", json.dumps(str(journal)))


def _open_actions(journal: Path) -> set[str]:
    states = ", ".join(f"'{s}'" for s in processes.OPEN_STATES)
    rows = processes.journal_rows(journal, f"SELECT key FROM actions WHERE state IN ({states})")
    return {r["key"] for r in rows}


async def _until_committed(journal: Path, daemon: processes.Process, *, at_least: int = 1) -> None:
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(sqlite3.OperationalError):
            rows = processes.journal_rows(
                journal, "SELECT COUNT(*) AS n FROM transactions WHERE state = 'committed'"
            )
            if rows[0]["n"] >= at_least:
                return
        assert daemon.returncode is None, daemon.text()[-3000:]
        assert time.monotonic() < deadline, "no committed transaction within 60 s"
        await asyncio.sleep(0.1)


async def _finishes(journal: Path, daemon: processes.Process, keys: set[str]) -> None:
    """The actions ``keys`` (open before the failure) all leave the open states."""
    deadline = time.monotonic() + 120
    while keys & _open_actions(journal):
        assert daemon.returncode is None, daemon.text()[-3000:]
        assert time.monotonic() < deadline, f"still open: {keys & _open_actions(journal)}"
        await asyncio.sleep(0.25)


def _failure_text(daemon: processes.Process) -> str:
    """What the daemon said about its journal: the log event's detail and the stderr line."""
    details = [str(e.get("detail")) for e in daemon.find("journal_failed")]
    details += [str(e.get("detail")) for e in daemon.find("journal_unusable")]
    stderr = [e["text"] for e in daemon.events() if e.get("event") is None]
    return "\n".join(details + stderr)


async def _restart_and_finish(
    config: Path, journal: Path, log: Path, open_before: set[str]
) -> processes.Process:
    async with processes.daemon(config, log) as daemon:
        await daemon.wait_event("recovered", within=60)
        await _finishes(journal, daemon, open_before)
        await _until_committed(journal, daemon)
        daemon.send(signal.SIGTERM)
        assert await daemon.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30) == 0
    assert not daemon.find("journal_failed")
    assert processes.journal_problems(journal) == []
    return daemon


async def test_a_full_disk_stops_the_daemon_with_74_and_a_restart_after_freeing_space_continues(
    tmp_path: Path,
) -> None:
    async with processes.localnet(tmp_path) as net:
        with tmpfs(tmp_path / "disk", "24m") as disk:
            journal = disk / "journal.sqlite3"
            _use_journal(net.config, journal)
            # given: a daemon at work
            async with processes.daemon(net.config, tmp_path / "daemon-1.log") as first:
                await _until_committed(journal, first)
                # when: the disk fills up
                filler = _fill(disk)
                code = await first.wait_exit(within=120)
            # then: a clear fatal error and EX_IOERR
            assert code == EX_IOERR, first.text()[-3000:]
            said = _failure_text(first)
            assert str(journal) in said and "disk is full" in said, said
            assert "Traceback" not in first.text()
            # and once space is back: a whole journal, and the open work is finished
            filler.unlink()
            assert processes.journal_problems(journal) == []
            open_before = _open_actions(journal)
            await _restart_and_finish(net.config, journal, tmp_path / "daemon-2.log", open_before)


async def test_a_read_only_file_system_at_start_exits_74_and_a_remount_read_write_continues(
    tmp_path: Path,
) -> None:
    async with processes.localnet(tmp_path) as net:
        with tmpfs(tmp_path / "disk", "24m") as disk:
            journal = disk / "journal.sqlite3"
            _use_journal(net.config, journal)
            # given: a journal with work in it, left by a stopped daemon
            async with processes.daemon(net.config, tmp_path / "daemon-1.log") as first:
                await _until_committed(journal, first)
                first.send(signal.SIGTERM)
                assert await first.wait_exit(within=SHUTDOWN_GRACE_SECONDS + 30) == 0
            before = journal.read_bytes()
            open_before = _open_actions(journal)
            # when: the file system is read-only at the next start
            done = _mount("-o", "remount,ro", str(disk))
            assert done.returncode == 0, done.stderr
            async with processes.daemon(net.config, tmp_path / "daemon-2.log") as second:
                code = await second.wait_exit(within=60)
            # then
            assert code == EX_IOERR, second.text()[-3000:]
            said = _failure_text(second)
            assert str(journal) in said and "read-only" in said, said
            # found when the journal is opened, before any work (which of the two depends on
            # whether SQLite's -wal/-shm files were left beside it)
            assert "opening failed" in said or "checking that it is writable" in said, said
            assert not second.find("recovered") and not second.find("daemon_ready")
            assert journal.read_bytes() == before
            # when: it is writable again
            assert _mount("-o", "remount,rw", str(disk)).returncode == 0
            assert processes.journal_problems(journal) == []
            await _restart_and_finish(net.config, journal, tmp_path / "daemon-3.log", open_before)


async def test_a_disk_the_kernel_turns_read_only_mid_run_stops_the_daemon_with_74(
    tmp_path: Path,
) -> None:
    async with processes.localnet(tmp_path) as net:
        image = tmp_path / "ext4.img"
        with ext4(tmp_path / "disk", image) as disk:
            journal = disk / "journal.sqlite3"
            _use_journal(net.config, journal)
            # given: a daemon at work
            async with processes.daemon(net.config, tmp_path / "daemon-1.log") as first:
                await _until_committed(journal, first)
                # when: the disk reports an error and the kernel makes the file system read-only
                _force_read_only(disk)
                code = await first.wait_exit(within=120)
            # then
            assert code == EX_IOERR, first.text()[-3000:]
            said = _failure_text(first)
            assert str(journal) in said and "read-only" in said, said
        # when: the operator repairs the file system (fsck) and mounts it again
        fsck = subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, check=False)  # noqa: ASYNC221 - the daemon is stopped; nothing else runs
        assert fsck.returncode in (0, 1), fsck.stdout  # 1: errors corrected
        assert _mount("-o", "loop,errors=remount-ro", str(image), str(disk)).returncode == 0
        try:
            # then: the last committed state is whole, and the work continues
            assert processes.journal_problems(journal) == []
            open_before = _open_actions(journal)
            await _restart_and_finish(net.config, journal, tmp_path / "daemon-2.log", open_before)
        finally:
            _umount(disk)


def _write_config(folder: Path, journal: Path) -> Path:
    """A valid config (dev keys, 0600) for a chain that is not running, using ``journal``."""
    accounts = dev_accounts()
    for name, account in (("admin", accounts.admin), ("a", accounts.operators[0])):
        key = folder / f"{name}.key"
        key.write_text(account.private_key + "\n")
        key.chmod(0o600)
    config = folder / "autobot.toml"
    config.write_text(
        f"""\
[chain]
rpc_urls = ["http://127.0.0.1:9/"]
chain_id = 77
package_address = "{accounts.package_address}"

[keys]
admin_key_file = "admin.key"
operator_key_files = {{ A = "a.key" }}

[journal]
path = {json.dumps(str(journal))}
"""
    )
    return config


def _corrupt_journal(folder: Path) -> Path:
    """A journal with a few hundred rows whose middle pages are then overwritten."""
    journal = folder / "journal.sqlite3"

    async def fill() -> None:
        async with await SqliteJournal.open(journal, clock=FakeClock()) as j:
            for i in range(300):
                await j.add_incident(
                    NewIncident(type="test", description=f"incident {i} " * 40, responsible="t")
                )

    asyncio.run(fill())
    data = bytearray(journal.read_bytes())
    page = 4096
    middle = len(data) // page // 2
    for n in range(middle - 2, middle + 3):
        data[n * page + 8 : n * page + 1000] = os.urandom(992)
    journal.write_bytes(bytes(data))
    return journal


def test_a_corrupt_journal_is_refused_at_start_with_74_and_what_to_do(tmp_path: Path) -> None:
    # given: a config whose journal is corrupt (no chain is needed: the journal opens first)
    journal = _corrupt_journal(tmp_path)
    config = _write_config(tmp_path, journal)
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    # when
    done = subprocess.run(
        [processes.AUTOBOT, "run", "--config", str(config), "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    # then: EX_IOERR (never 78: this is no configuration mistake), and what to do
    assert done.returncode == EX_IOERR, done.stderr + done.stdout
    assert str(journal) in done.stderr and "corrupt" in done.stderr
    assert "backup" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # and the operator CLI says the same, without a traceback
    cli = subprocess.run(
        [processes.AUTOBOT, "incidents", "--config", str(config)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert cli.returncode not in (0, 78), cli.stderr
    assert "corrupt" in cli.stderr and "Traceback" not in cli.stderr
