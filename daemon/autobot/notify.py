"""systemd's readiness protocol (``sd_notify``) without libsystemd.

The unit runs autobot as ``Type=notify`` with ``WatchdogSec=``: systemd considers the service started
only when it receives ``READY=1`` and restarts it when ``WATCHDOG=1`` stops arriving. The protocol is one
datagram of newline-separated ``KEY=VALUE`` assignments to the ``AF_UNIX`` socket named in
``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace), so it needs no dependency.

What the daemon sends, and when (docs/conventions.md §11: readiness and liveness are earned):

* ``READY=1`` once every service started (journal, gateway, web server, scheduler) and the chain
  answered — not at process start;
* ``WATCHDOG=1`` only while the last good tick is recent (:meth:`SdNotifier.watchdog_loop`), so a
  wedged tick loop is restarted even though the event loop still spins;
* ``STATUS=…`` with counters, shown by ``systemctl status``;
* ``STOPPING=1`` when a stop begins (``systemctl status`` then shows the unit deactivating).

Outside systemd (a terminal, tests, containers) ``NOTIFY_SOCKET`` is unset and every method is a
no-op. A failed send is logged and swallowed: notification is advisory and must never take the daemon
down (systemd reacts to the *absence* of messages anyway).

Only ``config.py`` reads ``os.environ`` (docs/conventions.md §7) — except for the variables systemd itself sets
for this protocol, which the composition root passes in: ``SdNotifier.from_environ(os.environ)``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger(__name__)


class SdNotifier:
    """Sends ``sd_notify`` messages to one ``NOTIFY_SOCKET``; a no-op when there is none.

    ``watchdog_timeout_seconds`` is systemd's ``WatchdogSec=`` (from ``WATCHDOG_USEC``) and
    ``watchdog_interval_seconds`` half of it, the ping period ``sd_watchdog_enabled(3)`` recommends.
    Both are ``None`` when the watchdog is off or addressed to another process (``WATCHDOG_PID``).
    """

    def __init__(self, *, socket_address: str | None, watchdog_usec: int | None = None) -> None:
        self._address = _socket_address(socket_address)
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._sock: socket.socket | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, pid: int | None = None) -> SdNotifier:
        """Build from the variables systemd sets (``NOTIFY_SOCKET``, ``WATCHDOG_USEC``, ``WATCHDOG_PID``).

        ``pid`` defaults to this process; the watchdog settings are ignored when ``WATCHDOG_PID``
        names another process (they were inherited from a parent, like ``sd_watchdog_enabled``).
        """
        address = environ.get("NOTIFY_SOCKET") or None
        if address is not None and _socket_address(address) is None:
            log.warning("sd_notify_socket_unsupported", notify_socket=address)
        usec = _positive_int(environ.get("WATCHDOG_USEC"))
        watchdog_pid = _positive_int(environ.get("WATCHDOG_PID"))
        own_pid = os.getpid() if pid is None else pid
        if watchdog_pid is not None and watchdog_pid != own_pid:
            usec = None
        return cls(socket_address=address, watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        """True when messages go somewhere (``NOTIFY_SOCKET`` set to a supported address)."""
        return self._address is not None

    @property
    def watchdog_timeout_seconds(self) -> float | None:
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 1_000_000

    @property
    def watchdog_interval_seconds(self) -> float | None:
        timeout = self.watchdog_timeout_seconds
        return None if timeout is None else timeout / 2

    def ready(self, status: str | None = None) -> None:
        """``READY=1`` (with an optional ``STATUS=``): every service of the daemon is up."""
        self.send(("READY", "1"), *_status(status))

    def status(self, text: str) -> None:
        """``STATUS=text``: one line for ``systemctl status`` (newlines become spaces)."""
        self.send(("STATUS", text))

    def watchdog(self) -> None:
        """``WATCHDOG=1``: call only when the last good tick is recent, never from a bare timer."""
        self.send(("WATCHDOG", "1"))

    def stopping(self, status: str | None = None) -> None:
        """``STOPPING=1``: a stop began; systemd waits up to ``TimeoutStopSec=`` for the exit."""
        self.send(("STOPPING", "1"), *_status(status))

    def send(self, *assignments: tuple[str, str]) -> bool:
        """Send one datagram of ``KEY=VALUE`` lines; returns whether it was handed to the kernel.

        Values are flattened to one line: a newline would start a new assignment and let a status text
        inject ``READY=1`` or ``WATCHDOG=1``.
        """
        if self._address is None or not assignments:
            return False
        payload = "\n".join(f"{key}={_one_line(value)}" for key, value in assignments).encode()
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # A full receive queue must not stall the event loop: drop and log instead.
                sock.setblocking(False)
                self._sock = sock
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            log.warning("sd_notify_failed", keys=[key for key, _ in assignments], errno=exc.errno)
            return False
        return True

    async def watchdog_loop(self, *, healthy: Callable[[], bool]) -> None:
        """Ping ``WATCHDOG=1`` every :attr:`watchdog_interval_seconds` while ``healthy()`` is true.

        Runs until cancelled (put it in the daemon's task group); returns at once when the watchdog is
        off. ``healthy`` is the tick-freshness check that also drives ``/healthz``, so systemd and
        Prometheus judge liveness by the same rule.
        """
        interval = self.watchdog_interval_seconds
        if interval is None:
            return
        withheld = False
        while True:
            if healthy():
                self.watchdog()
                if withheld:
                    log.info("watchdog_resumed")
                withheld = False
            elif not withheld:
                # Logged once per episode; systemd restarts the unit after WatchdogSec= of silence.
                log.warning("watchdog_withheld", timeout_seconds=self.watchdog_timeout_seconds)
                withheld = True
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _socket_address(value: str | None) -> str | None:
    """``/path`` as is, ``@name`` → ``"\\0name"`` (abstract); anything else (``vsock:``…) unsupported."""
    if not value:
        return None
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None


def _positive_int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    number = int(value.strip())
    return number if number > 0 else None


def _status(text: str | None) -> tuple[tuple[str, str], ...]:
    return () if text is None else (("STATUS", text),)


def _one_line(value: str) -> str:
    return " ".join(value.splitlines())
