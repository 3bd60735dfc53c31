"""Active/standby (``[ha] enabled``): which instance leads, and when it must stop.

Several instances share one PostgreSQL journal; the one holding the leader lease
(``journal.protocol.LeasedJournal``: one row, database time, a fencing epoch per takeover) signs
and sends, the others stand by. ``LeaderLease`` is one instance's side of it:

* **Standing by.** Every ``renew_seconds`` it reads the lease; while another instance holds it,
  nothing else happens (the daemon meanwhile reads the chain, keeping its watchlist warm, and
  serves ``/metrics``). Once the lease is free or expired it calls ``acquire_or_renew``; a
  takeover (a new epoch) binds the journal's writes to that epoch (``fence``) and starts
  ``on_takeover`` — the daemon's recovery, exactly as at a restart — while the loop goes on
  renewing. A lease held under this instance's own id that this process never took (its previous
  incarnation's, killed a moment ago) is waited out, never adopted: a new process starts a new
  epoch.
* **Leading.** Every ``renew_seconds`` it renews. The deadline is the start of the last good
  renewal plus ``lease_seconds / 2`` (monotonic clock): the database's lease outlives it by half a
  lease, so by the time another instance can take over, this one has stopped. ``permit`` — asked
  by every sequencer right before each signature and submission — refuses (``FencedOut``) past
  the deadline, so a process frozen for longer than that (a GC pause, a stopped VM) that resumes
  signs and sends nothing, even before the loop notices; its journal writes are refused by the
  database's fence.
* **Losing it** (the deadline passed, the lease went to another instance, or taking over failed):
  ``on_lost`` gets the ``FencedOut`` to stop with; the daemon exits non-zero and systemd starts
  it again, as a standby.
* **A clean stop** (SIGTERM): after the executor drained, ``release`` ends the lease now, so a
  standby takes over within ``renew_seconds`` instead of after the lease.

Metrics (``DaemonMetrics``): ``autobot_ha_leader`` (1 from the takeover until the lease is lost
or released), ``autobot_ha_epoch``, ``autobot_ha_lease_age_seconds`` (since the start of the last
good renewal or reading), ``autobot_ha_takeovers_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable

import structlog

from autobot.clock import Clock
from autobot.errors import FencedOut, JournalError
from autobot.journal.protocol import Journal, Lease, LeasedJournal
from autobot.metrics import DaemonMetrics

__all__ = ["LeaderLease", "Role", "leased"]

log = structlog.get_logger(__name__)

RELEASE_TIMEOUT_SECONDS = 5.0


class Role(enum.StrEnum):
    STANDBY = "standby"
    TAKING_OVER = "taking_over"  # the lease taken, the journal fenced; recovering
    LEADER = "leader"
    DEPOSED = "deposed"  # the lease lost or released: signs nothing more


def leased(journal: Journal) -> LeasedJournal:
    """``journal`` as one that holds a leader lease; ``TypeError`` if it cannot (``[ha]`` needs
    the PostgreSQL journal, which the config check already demands)."""
    if not isinstance(journal, LeasedJournal):
        raise TypeError(f"journal {journal.location} has no leader lease: [ha] needs PostgreSQL")
    return journal


class LeaderLease:
    """One instance's leader lease loop (see the module docstring)."""

    def __init__(
        self,
        *,
        journal: LeasedJournal,
        instance_id: str,
        lease_seconds: float,
        renew_seconds: float,
        clock: Clock,
        metrics: DaemonMetrics,
        on_takeover: Callable[[Lease], Awaitable[None]],
        on_lost: Callable[[FencedOut], None],
    ) -> None:
        if not 0 < renew_seconds <= lease_seconds / 2:
            raise ValueError(
                f"renew_seconds must be in (0, lease_seconds / 2], got {renew_seconds} "
                f"with a {lease_seconds} s lease"
            )
        self._journal = journal
        self._id = instance_id
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self._clock = clock
        self._metrics = metrics
        self._on_takeover = on_takeover
        self._on_lost = on_lost
        self._role = Role.STANDBY
        self._epoch: int | None = None  # the epoch this process took
        self._deadline = float("-inf")  # monotonic: no signing from then on
        self._last_good = clock.monotonic()  # start of the last good renewal or reading
        self._took_at = 0.0
        self._quiet_since: str | None = None  # the problem last logged (standby)
        self._waiting_own = False
        self._task: asyncio.Task[None] | None = None
        self._promotion: asyncio.Task[None] | None = None
        metrics.ha_leader.set(0)
        metrics.ha_lease_age.set_function(lambda: self._clock.monotonic() - self._last_good)

    @property
    def role(self) -> Role:
        return self._role

    @property
    def epoch(self) -> int | None:
        """The epoch this process took (``None``: it never led)."""
        return self._epoch

    @property
    def leading(self) -> bool:
        """Recovered and leading: the daemon's sweeps act (not only observe)."""
        return self._role is Role.LEADER and self.may_act()

    def may_act(self) -> bool:
        """Whether this instance may sign and send now (taking over or leading, before the
        deadline)."""
        return (
            self._role in (Role.TAKING_OVER, Role.LEADER)
            and self._clock.monotonic() < self._deadline
        )

    def permit(self) -> None:
        """Raise ``FencedOut`` unless this instance may sign and send now (the sequencers')."""
        if self.may_act():
            return
        if self._role in (Role.TAKING_OVER, Role.LEADER):
            why = (
                f"no lease renewal for {self._clock.monotonic() - self._last_good:.1f} s "
                f"(the deadline is lease_seconds / 2 = {self._lease_seconds / 2:g} s)"
            )
        else:
            why = f"this instance is {self._role.value}"
        raise FencedOut(
            f"instance {self._id}: not signing or sending: {why}",
            epoch=self._epoch or 0,
            current=None,
        )

    # ------------------------------------------------------------------ the loop

    def start(self) -> None:
        log.info(
            "ha_standing_by",
            instance_id=self._id,
            lease_seconds=self._lease_seconds,
            renew_seconds=self._renew_seconds,
        )
        self._task = asyncio.create_task(self._run(), name="leader-lease")

    async def stop(self) -> None:
        """Stop the loop and any takeover in progress (the daemon's stop)."""
        for task in (self._promotion, self._task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def release(self) -> None:
        """A clean stop, after the executor drained: sign nothing more, end the lease now."""
        if self._epoch is None:
            return
        self._depose()
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS):
                released = await self._journal.release(self._id)
        except (JournalError, TimeoutError) as exc:  # it expires by itself
            log.warning("ha_release_failed", instance_id=self._id, error=type(exc).__name__)
            return
        log.info("ha_lease_released", instance_id=self._id, epoch=self._epoch, released=released)

    async def _run(self) -> None:
        while not self._deposed():
            started = self._clock.monotonic()
            if self._role is Role.STANDBY:
                await self._stand_by(started)
            else:
                await self._renew(started)
            if self._deposed():
                return
            now = self._clock.monotonic()
            if self._role is not Role.STANDBY and now >= self._deadline:
                self._lose(
                    f"no lease renewal for {now - self._last_good:.1f} s (deadline: "
                    f"lease_seconds / 2 = {self._lease_seconds / 2:g} s after the last good one)"
                )
                return
            wake = started + self._renew_seconds
            if self._role is not Role.STANDBY:
                wake = min(wake, self._deadline)
            await asyncio.sleep(max(0.0, wake - self._clock.monotonic()))

    async def _stand_by(self, started: float) -> None:
        try:
            async with asyncio.timeout(self._lease_seconds):
                current = await self._journal.lease()
                if current.live:
                    self._seen(started, current)
                    if current.holder == self._id and not self._waiting_own:
                        self._waiting_own = True
                        log.info(
                            "ha_waiting_for_own_lease",
                            instance_id=self._id,
                            epoch=current.epoch,
                            remaining_seconds=round(current.remaining_seconds, 3),
                        )
                    return
                lease = await self._journal.acquire_or_renew(self._id, self._lease_seconds)
        except (JournalError, TimeoutError) as exc:
            problem = type(exc).__name__
            if self._quiet_since != problem:
                self._quiet_since = problem
                log.warning(
                    "ha_lease_unavailable", instance_id=self._id, error=problem, detail=str(exc)
                )
            return
        self._quiet_since = None
        self._seen(started, lease)
        if lease.acquired and lease.took_over:
            self._take_over(started, lease)
        elif lease.acquired:
            # renewed a lease under this id that this process never took: another process
            # runs with the same instance_id (two hosts named alike?). Never adopt it.
            log.error(
                "ha_instance_id_in_use",
                instance_id=self._id,
                epoch=lease.epoch,
                detail="another process holds the leader lease under this instance_id; give "
                "every instance its own [ha] instance_id",
            )

    def _seen(self, started: float, lease: Lease) -> None:
        self._last_good = started
        if self._role is Role.STANDBY:
            self._metrics.ha_epoch.set(lease.epoch)

    def _take_over(self, started: float, lease: Lease) -> None:
        self._epoch = lease.epoch
        self._deadline = started + self._lease_seconds / 2
        self._journal.fence(lease.epoch)
        self._role = Role.TAKING_OVER
        self._took_at = self._clock.monotonic()
        self._metrics.ha_leader.set(1)
        self._metrics.ha_epoch.set(lease.epoch)
        self._metrics.ha_takeovers.inc()
        log.warning("ha_taking_over", instance_id=self._id, epoch=lease.epoch)
        self._promotion = asyncio.create_task(self._promote(lease), name="ha-takeover")

    async def _promote(self, lease: Lease) -> None:
        try:
            await self._on_takeover(lease)
        except FencedOut as exc:
            self._lose(f"taking over failed: {exc}", current=exc.current)
            return
        except JournalError as exc:
            self._lose(f"taking over failed: {exc}")
            return
        if self._role is not Role.TAKING_OVER:
            return
        self._role = Role.LEADER
        log.warning(
            "ha_took_over",
            instance_id=self._id,
            epoch=lease.epoch,
            seconds=round(self._clock.monotonic() - self._took_at, 3),
        )

    async def _renew(self, started: float) -> None:
        try:
            async with asyncio.timeout(max(0.0, self._deadline - started)):
                lease = await self._journal.acquire_or_renew(self._id, self._lease_seconds)
        except (JournalError, TimeoutError) as exc:
            log.warning(
                "ha_renewal_failed",
                instance_id=self._id,
                epoch=self._epoch,
                error=type(exc).__name__,
                seconds_to_deadline=round(self._deadline - self._clock.monotonic(), 3),
            )
            return
        if lease.acquired and not lease.took_over and lease.epoch == self._epoch:
            self._last_good = started
            self._deadline = started + self._lease_seconds / 2
            return
        if lease.acquired:  # its lease had expired: the database started epoch + 1 for it
            self._lose(
                f"its lease expired before this renewal (the database gave it epoch {lease.epoch},"
                " which it did not recover under)",
                current=lease.epoch,
            )
        else:
            self._lose(
                f"the lease is held by {lease.holder!r} (epoch {lease.epoch})", current=lease.epoch
            )

    def _deposed(self) -> bool:
        return self._role is Role.DEPOSED

    def _depose(self) -> None:
        self._role = Role.DEPOSED
        self._deadline = float("-inf")
        self._metrics.ha_leader.set(0)

    def _lose(self, reason: str, *, current: int | None = None) -> None:
        if self._role is Role.DEPOSED:
            return
        self._depose()
        log.error("ha_leadership_lost", instance_id=self._id, epoch=self._epoch, reason=reason)
        self._on_lost(
            FencedOut(
                f"instance {self._id} lost the leader lease (epoch {self._epoch}): {reason}; it "
                "signs nothing more and stops (a restart stands by)",
                epoch=self._epoch or 0,
                current=current,
            )
        )
