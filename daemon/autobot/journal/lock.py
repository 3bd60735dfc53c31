"""The single-instance lock: one ``autobot run`` per journal.

Two daemons on one journal would both sign with the same keys and write the same actions: every
sequence number a race (docs/decisions.md §3), every step a conflict. ``InstanceLock.acquire`` takes
an exclusive ``flock`` on a lock file beside the SQLite journal (``<journal>.lock``) and writes the
holder's PID into it; a second daemon finds the lock taken and raises ``InstanceLocked`` naming
that PID at once (``autobot run`` exits 75, EX_TEMPFAIL), while the first runs on. The kernel
releases the lock when the holder exits, however it exits (SIGKILL included): a stale lock file
holds nothing. The operator CLI never takes it (it only reads and adds requests).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from autobot.errors import InstanceLocked, JournalError

__all__ = ["InstanceLock", "lock_path"]


def lock_path(journal: Path) -> Path:
    """The lock file of the journal at ``journal``."""
    return journal.with_name(journal.name + ".lock")


class InstanceLock:
    """Held from ``acquire`` until ``release`` (or the process's end)."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, journal: Path) -> InstanceLock:
        """Take the lock of ``journal``; ``InstanceLocked`` if another process holds it."""
        path = lock_path(Path(journal))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.ENOSPC, errno.EDQUOT):
                # nothing can write there, the other daemon neither: the journal's own checks
                # at open say what is wrong with the disk (exit 74)
                return cls(path, None)
            raise JournalError(
                f"journal {journal}: cannot open its lock file {path.name} ({exc.strerror}); "
                "the daemon user must be able to create files in the journal's directory"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            who = f"PID {holder}" if holder is not None else "another process"
            raise InstanceLocked(
                f"another autobot ({who}) is running on the journal {journal} (lock {path}); "
                "stop it first, or point this one at another journal",
                holder=holder,
            ) from None
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"journal lock {path}: {exc.strerror}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _holder(fd: int) -> int | None:
    """The PID the holder wrote, if it can be read (it may be writing it right now)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
