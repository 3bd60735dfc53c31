"""The single-instance lock beside the journal: one ``autobot run`` per journal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autobot.errors import InstanceLocked
from autobot.journal.lock import InstanceLock, lock_path


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    with InstanceLock.acquire(journal):
        assert lock_path(journal).read_text().strip() == str(os.getpid())
        with pytest.raises(InstanceLocked, match=f"PID {os.getpid()}") as refused:
            InstanceLock.acquire(journal)
        assert refused.value.holder == os.getpid()
    # released: the next one gets it
    InstanceLock.acquire(journal).release()


def test_a_lock_file_left_behind_holds_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    lock_path(journal).write_text("999999\n")  # a holder that died without cleaning up
    lock = InstanceLock.acquire(journal)
    assert lock_path(journal).read_text().strip() == str(os.getpid())
    lock.release()
    lock.release()  # idempotent
