"""SdNotifier against a real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from autobot.notify import SdNotifier


class FakeSystemd:
    """A bound datagram socket that collects what the notifier sends."""

    def __init__(self, address: str, bind_to: str) -> None:
        self.address = address  # as NOTIFY_SOCKET spells it
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.sock.settimeout(2)

    def receive(self) -> list[str]:
        return self.sock.recv(4096).decode().split("\n")

    def pending(self) -> list[list[str]]:
        messages = []
        self.sock.setblocking(False)
        try:
            while True:
                messages.append(self.sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return messages
        finally:
            self.sock.settimeout(2)


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    path = str(tmp_path / "notify.sock")
    fake = FakeSystemd(path, path)
    yield fake
    fake.sock.close()


@pytest.fixture
def abstract_systemd() -> Iterator[FakeSystemd]:
    name = f"autobot-test-{uuid.uuid4().hex}"
    fake = FakeSystemd(f"@{name}", f"\0{name}")
    yield fake
    fake.sock.close()


def _notifier(fake: FakeSystemd, **environ: str) -> SdNotifier:
    return SdNotifier.from_environ({"NOTIFY_SOCKET": fake.address, **environ})


def test_ready_reaches_a_socket_in_the_file_system(systemd: FakeSystemd) -> None:
    notifier = _notifier(systemd)
    assert notifier.enabled
    notifier.ready()
    assert systemd.receive() == ["READY=1"]
    notifier.close()


def test_ready_reaches_an_abstract_socket(abstract_systemd: FakeSystemd) -> None:
    notifier = _notifier(abstract_systemd)
    notifier.ready(status="tick 1: 3 lotteries")
    assert abstract_systemd.receive() == ["READY=1", "STATUS=tick 1: 3 lotteries"]
    notifier.close()


def test_status_watchdog_and_stopping_send_their_assignments(systemd: FakeSystemd) -> None:
    notifier = _notifier(systemd)
    notifier.status("2 actions waiting")
    notifier.watchdog()
    notifier.stopping(status="draining")
    assert systemd.receive() == ["STATUS=2 actions waiting"]
    assert systemd.receive() == ["WATCHDOG=1"]
    assert systemd.receive() == ["STOPPING=1", "STATUS=draining"]
    notifier.close()


def test_a_newline_in_a_status_cannot_inject_an_assignment(systemd: FakeSystemd) -> None:
    notifier = _notifier(systemd)
    notifier.status("all good\nREADY=1")
    assert systemd.receive() == ["STATUS=all good READY=1"]
    notifier.close()


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = SdNotifier.from_environ({})
    assert not notifier.enabled
    assert notifier.watchdog_interval_seconds is None
    notifier.ready()
    notifier.watchdog()
    assert notifier.send(("STATUS", "x")) is False


def test_an_unsupported_socket_address_disables_notification_with_a_warning() -> None:
    with capture_logs() as logs:
        notifier = SdNotifier.from_environ({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert [e["event"] for e in logs] == ["sd_notify_socket_unsupported"]


def test_a_failed_send_is_logged_not_raised(tmp_path: Path) -> None:
    notifier = SdNotifier.from_environ({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with capture_logs() as logs:
        sent = notifier.send(("READY", "1"))
    assert sent is False
    assert [(e["event"], e["keys"]) for e in logs] == [("sd_notify_failed", ["READY"])]
    notifier.close()


def test_watchdog_interval_is_half_of_watchdog_usec(systemd: FakeSystemd) -> None:
    notifier = _notifier(systemd, WATCHDOG_USEC="60000000", WATCHDOG_PID=str(os.getpid()))
    assert notifier.watchdog_timeout_seconds == 60.0
    assert notifier.watchdog_interval_seconds == 30.0


def test_watchdog_for_another_process_is_ignored(systemd: FakeSystemd) -> None:
    notifier = SdNotifier.from_environ(
        {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"},
        pid=4242,
    )
    assert notifier.watchdog_interval_seconds is None


@pytest.mark.parametrize("usec", ["", "0", "-5", "soon"])
def test_an_invalid_watchdog_usec_turns_the_watchdog_off(systemd: FakeSystemd, usec: str) -> None:
    assert _notifier(systemd, WATCHDOG_USEC=usec).watchdog_interval_seconds is None


async def test_watchdog_loop_pings_only_while_healthy(systemd: FakeSystemd) -> None:
    # Given a 20 ms watchdog (pings every 10 ms) and a health check we control
    notifier = _notifier(systemd, WATCHDOG_USEC="20000")
    healthy = True
    loop_task = asyncio.create_task(notifier.watchdog_loop(healthy=lambda: healthy))
    try:
        # when healthy, pings arrive
        await asyncio.sleep(0.05)
        assert ["WATCHDOG=1"] in systemd.pending()
        # when the ticks go stale, the loop withholds the ping (and says so once)
        with capture_logs() as logs:
            healthy = False
            await asyncio.sleep(0.015)  # let an in-flight iteration finish
            systemd.pending()
            await asyncio.sleep(0.05)
            assert systemd.pending() == []
        assert [e["event"] for e in logs] == ["watchdog_withheld"]
        # and they resume with health
        healthy = True
        await asyncio.sleep(0.05)
        assert ["WATCHDOG=1"] in systemd.pending()
    finally:
        loop_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop_task
        notifier.close()


async def test_watchdog_loop_returns_when_the_watchdog_is_off(systemd: FakeSystemd) -> None:
    notifier = _notifier(systemd)
    await asyncio.wait_for(notifier.watchdog_loop(healthy=lambda: True), timeout=1)
    assert systemd.pending() == []
