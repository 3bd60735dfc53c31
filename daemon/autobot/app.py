"""The composition root and the daemon's lifecycle (``autobot run``).

``Daemon`` builds the object graph from ``Config`` and owns every resource on one
``AsyncExitStack`` (journal, gateway, web server, scheduler), released in reverse order::

    async with Daemon(config=..., keyring=...) as daemon:
        await daemon.run_until_stopped()

Signals only set flags (docs/conventions.md §10): SIGTERM/SIGINT stop planning; in-flight steps get a
bounded grace period (``SHUTDOWN_GRACE_SECONDS``) and are then cancelled — every transaction was
journaled before it was sent, so a cut step is finished by the next start. SIGHUP re-reads the
config file: the log level is applied; any other change is refused with ``config_reload_refused``
naming the keys that need a restart, and the daemon keeps running on the old config.

Without ``--config``, ``autobot run`` starts a localnet in-process (``--scenario demo`` or ``ops``,
time-scale 60), writes a config for it and runs against it over HTTP — the same code path as
production. When the demo's story is told (nothing open, nothing planned, no lottery between close
and payout or cancelled without its refund), one line says so and what to try next.

A port already taken is reported with the flag that changes it (``--listen``, ``--status-listen``).
Commands suggested in the log are written to run as printed (``autobot.hints``).

With ``[ha] enabled`` (``ha.py``) the journal refuses every write until this instance takes the
leader lease; until then the sweeps only observe (``Engine.observe``: the chain read, the
watchlist warm, the metrics served). A takeover recovers exactly as a start does, then the sweeps
act; losing the lease stops the daemon with exit 75 (``EX_TEMPFAIL``: systemd starts it again, as
a standby), and a clean stop releases the lease after the drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog

from autobot import execution
from autobot.chain.gateway import ChainGateway
from autobot.chain.keys import Keyring, load_keyring
from autobot.chain.supra import SupraGateway
from autobot.clock import Clock, SystemClock
from autobot.config import (
    CommandEnvironment,
    Config,
    changed_settings,
    command_environment,
    find_config,
    is_loopback_host,
    load_config,
)
from autobot.config_check import check_config_file
from autobot.domain.lotteries import LotteryStatus
from autobot.engine import Engine, SweepSummary
from autobot.errors import (
    EX_CONFIG,
    EX_IOERR,
    EX_SOFTWARE,
    EX_TEMPFAIL,
    AutobotError,
    ConfigError,
    FencedOut,
    InstanceLocked,
    JournalError,
    Problem,
)
from autobot.gcwatch import GcWatch
from autobot.ha import LeaderLease, leased
from autobot.hints import Hints, program
from autobot.journal.incident_log import IncidentLogFile
from autobot.journal.lock import InstanceLock
from autobot.journal.protocol import Journal, Lease
from autobot.journal_setup import open_journal
from autobot.logs import configure_logging
from autobot.metrics import DaemonMetrics, make_registry
from autobot.notify import SdNotifier
from autobot.planning.plan import ACTION_KINDS
from autobot.scheduling import ChainClockMap, SweepScheduler
from autobot.status.site import StatusSite, with_status_listen
from autobot.sweep_context import plan_settings
from autobot.watchlist import SweepReads, Watchlist
from autobot.web import TickHealth, WebServer, error_code

__all__ = ["Daemon", "run_command"]

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
READY_RETRY_SECONDS = 2.0


class Daemon:
    """Owns the daemon's resources and runs it until a stop signal."""

    def __init__(
        self,
        *,
        config: Config,
        keyring: Keyring,
        notifier: SdNotifier | None = None,
        clock: Clock | None = None,
        listen: tuple[str, int] | None = None,
        hints: Hints | None = None,
        demo: DemoGuide | None = None,
    ) -> None:
        """``demo``: the embedded demo's guide (says when its story is told, once)."""
        self.config = config
        self.hints = hints or Hints()
        self._demo = demo
        self._keyring = keyring
        self._notifier = notifier or SdNotifier(socket_address=None)
        self._clock = clock or SystemClock()
        self._listen = listen or (config.http.listen.host, config.http.listen.port)
        self._stack = AsyncExitStack()
        self._stop = asyncio.Event()
        self._reload_requested = asyncio.Event()
        max_age = max(60.0, config.scheduler.poll_interval_seconds * 4)
        self.health = TickHealth(tick_max_age_seconds=max_age)
        self.registry = make_registry()
        self.metrics = DaemonMetrics(
            self.registry,
            guards=[guard.name for guard in execution.DEFAULT_GUARDS],
            action_kinds=ACTION_KINDS,
            action_outcomes=execution.ACTION_OUTCOMES,
        )
        self.clock_map = ChainClockMap()
        self.sweeps = 0
        self._last_summary = "starting"
        self.web: WebServer | None = None
        self.status_site: StatusSite | None = None  # [status] listen: the public status page
        self.journal: Journal | None = None
        self.gateway: ChainGateway | None = None
        self._scheduler: SweepScheduler | None = None
        self._engine: Engine | None = None
        self._executor: execution.Executor | None = None
        self._watchlist: Watchlist | None = None
        self.ha: LeaderLease | None = None  # [ha] enabled: this instance's side of the lease

    # ------------------------------------------------------------------ resources

    async def __aenter__(self) -> Self:
        try:
            await self._build()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._notifier.stopping("stopping")
        log.info("daemon_stopping")
        await self._stack.aclose()
        log.info("daemon_stopped", sweeps=self.sweeps)

    async def _build(self) -> None:
        config = self.config
        if config.journal.backend == "sqlite":
            # one daemon per journal file: a second one stops here (InstanceLocked, exit 75); on
            # PostgreSQL the leader lease ([ha]) decides who writes
            self._stack.callback(InstanceLock.acquire(config.journal.path).release)
        self.journal = await open_journal(
            config.journal,
            clock=self._clock,
            credentials_directory=config.credentials_directory,
        )
        self._stack.push_async_callback(self.journal.close)
        await self.journal.check_writable()  # a read-only disk stops the start (exit 74)
        if config.ha.enabled:  # a standby writes nothing: only a takeover fences the journal
            journal = leased(self.journal)
            journal.require_fence()
            self.ha = LeaderLease(
                journal=journal,
                instance_id=config.ha.instance_id,
                lease_seconds=config.ha.lease_seconds,
                renew_seconds=config.ha.renew_seconds,
                clock=self._clock,
                metrics=self.metrics,
                on_takeover=self._take_over,
                on_lost=self._lost,
            )
        # the one place the implementation is chosen: everything else sees a ChainGateway
        exec_metrics = execution.PrometheusExecutionMetrics(self.metrics)
        # background steps give way to a sales close's (execution/lane.py)
        lane = execution.UrgentLane(on_wait=exec_metrics.gave_way)
        self.gateway = SupraGateway.from_config(
            config.chain, observer=self.metrics, pace=lane.give_way
        )
        self._stack.push_async_callback(self.gateway.aclose)
        window = config.chain.submit_window
        ttl = config.chain.tx_ttl_seconds

        def sequencer(signer_name: str) -> execution.Sequencer:
            signer = (
                self._keyring.admin
                if signer_name == "admin"
                else self._keyring.operators[signer_name]
            )
            return execution.Sequencer(
                signer=signer,
                gateway=self._gateway,
                journal=self._journal,
                clock=self._clock,
                window=window,
                ttl_seconds=ttl,
                metrics=exec_metrics,
                permit=None if self.ha is None else self.ha.permit,
            )

        operators: dict[str, execution.Sequencer] = {
            str(self._keyring.operators[name].address): sequencer(name)
            for name in self._keyring.operators
        }
        guards = execution.Guards(metrics=exec_metrics)
        book = execution.Bookkeeper(
            journal=self._journal,
            metrics=exec_metrics,
            responsible=config.incidents.responsible,
        )
        steps = execution.ActionSteps(
            journal=self._journal,
            gateway=self._gateway,
            admin=sequencer("admin"),
            operators=operators,
            router=execution.Router(guards=guards, operators=operators.keys()),
            guards=guards,
            clock=self._clock,
            live=config.automation.live,
            book=book,
            metrics=exec_metrics,
            chain_abort_retries=config.automation.chain_abort_retries,
        )
        self._executor = execution.Executor(
            journal=self._journal,
            gateway=self._gateway,
            steps=steps,
            book=book,
            stopping=self._stop.is_set,
            lane=lane,
        )
        self._scheduler = SweepScheduler(
            sweep=self._sweep,
            poll_interval_seconds=config.scheduler.poll_interval_seconds,
            clock_map=self.clock_map,
            wall=self._clock.wall,
            chain_time=self._chain_seconds,
        )
        self._watchlist = Watchlist(
            gateway=self._gateway,
            journal=self._journal,
            schedule=plan_settings(config),
            clock=self._clock,
        )
        if self.ha is not None:
            self._watchlist.defer_terminal_marks()  # written once this instance leads
        self._engine = self.engine_over(self._watchlist)
        host, port = self._listen
        self.web = WebServer(
            host=host,
            port=port,
            registry=self.registry,
            health=self.health,
            chain_clock=lambda: self.clock_map.line(self._clock.wall()),
            renderer=self.metrics.snapshot,
        )
        try:
            await self.web.start()
        except OSError as exc:
            raise _busy(exc, host, port, "--listen HOST:PORT (or [http] listen)") from exc
        self._stack.push_async_callback(self.web.stop)
        if config.status.listen is not None:
            site = StatusSite(config=config.status, journal=self._journal, clock_map=self.clock_map)
            try:
                await site.start()
            except OSError as exc:
                listen = config.status.listen
                raise _busy(
                    exc, listen.host, listen.port, "--status-listen HOST:PORT (or [status] listen)"
                ) from exc
            self._stack.push_async_callback(site.stop)
            self.status_site = site

    @property
    def engine(self) -> Engine:
        """The sweep (benchmarks and tests drive it directly)."""
        assert self._engine is not None
        return self._engine

    def engine_over(self, reads: SweepReads) -> Engine:
        """A sweep over this daemon's parts that reads the chain through ``reads``: the daemon's
        own reads through its ``Watchlist``; the sweep benchmark's baseline reads everything."""
        assert self._executor is not None
        path = self.config.incidents.log_path
        return Engine(
            config=self.config, gateway=self._gateway, journal=self._journal,
            executor=self._executor, metrics=self.metrics, clock_map=self.clock_map,
            watchlist=reads,
            incident_log=None if path is None else IncidentLogFile(path=path, journal=self._journal),
            operator_names={s.address: name for name, s in self._keyring.operators.items()},
            wake_at_chain=lambda ts, key: self._scheduler_ref.wake_at_chain(ts, key=key),
            wake_after=lambda seconds, key: self._scheduler_ref.wake_after(seconds, key=key),
            hints=self.hints,
        )  # fmt: skip

    @property
    def _gateway(self) -> ChainGateway:
        assert self.gateway is not None
        return self.gateway

    @property
    def _journal(self) -> Journal:
        assert self.journal is not None
        return self.journal

    @property
    def _scheduler_ref(self) -> SweepScheduler:
        assert self._scheduler is not None
        return self._scheduler

    # ------------------------------------------------------------------ running

    def _say_started(self) -> None:
        """``daemon_started``: logged once the signal handlers are in place (a SIGHUP sent on
        seeing it reloads the configuration instead of killing the process)."""
        config = self.config
        assert self.web is not None
        log.info(
            "daemon_started",
            chain_id=config.chain.chain_id,
            endpoints=len(config.chain.rpc_urls),
            mode=config.automation.mode,
            operators=sorted(self._keyring.operators),
            metrics_url=f"{self.web.url}/metrics",
            status_url=None if self.status_site is None else self.status_site.url,
            journal=self._journal.location,
            ha_instance=None if self.ha is None else config.ha.instance_id,
        )

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload_requested.set()

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        with _signals(loop, self):
            self._say_started()
            await self._wait_ready()
            if self._stop.is_set():
                return
            if self.ha is None:
                await self._recover()
                self.metrics.ha_leader.set(1)  # the one instance leads
            else:  # unwound after the drain below: stop renewing, then release
                self._stack.push_async_callback(self.ha.release)
                self._stack.push_async_callback(self.ha.stop)
                self.ha.start()
            scheduler = self._scheduler_ref
            scheduler.start()
            self._stack.push_async_callback(self._shutdown_scheduler)
            self._notifier.ready("started; waiting for the first sweep")
            log.info("daemon_ready", notify=self._notifier.enabled)
            self._gc = GcWatch()
            self._stack.callback(self._gc.close)
            helpers = [
                asyncio.create_task(self._notifier.watchdog_loop(healthy=self._healthy)),
                asyncio.create_task(self._reload_loop()),
            ]
            try:
                await self._stop.wait()
            finally:
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)

    async def _recover(self) -> None:
        """Reconcile the journal with the chain before the first sweep (settle, re-send, report)."""
        assert self._executor is not None
        try:
            report = await execution.recover(
                journal=self._journal,
                gateway=self._gateway,
                executor=self._executor,
                responsible=self.config.incidents.responsible,
            )
        except JournalError:
            raise  # without its journal autobot must not act: stop (exit 74)
        except AutobotError as exc:  # the sweeps continue unfinished actions anyway
            log.warning("recovery_incomplete", error=type(exc).__name__, detail=str(exc))
            return
        log.info(
            "recovered",
            settled=report.settled,
            still_live=report.still_live,
            unreachable=report.unreachable,
            orphan_slots=len(report.orphan_slots),
            actions=len(report.actions),
        )

    async def _take_over(self, lease: Lease) -> None:
        """``[ha]``: this instance took the lease (the journal is fenced to its epoch): recover
        as a start does, then the sweeps act (``LeaderLease`` makes it the leader on return).

        As at a start, the recovery runs alone: a standby sweep in progress ends first and none
        runs until the recovery is done (a standby sweep reading views while the recovery
        finishes a close would keep the lottery's older view, and take the re-read the watchlist
        was asked for). Then every kept lottery is read again before the first sweep plans
        (``Watchlist.flush``): the views kept while standing by may predate what the previous
        leader did in its last moments and what the recovery just finished."""
        assert self._watchlist is not None
        log.info("ha_recovering", epoch=lease.epoch, previous_holder=lease.holder)
        async with self._scheduler_ref.exclusive():
            await self._recover()
            await self._watchlist.flush()  # the terminal marks kept; every view read again
        self._scheduler_ref.wake_now()

    def _lost(self, exc: FencedOut) -> None:
        """``[ha]``: the lease is gone; nothing is signed or sent any more. Stop (exit 75)."""
        if self.fatal is None:
            self.fatal = exc
        self._stop.set()

    def _acting(self) -> bool:
        """Whether this instance's sweeps act (a single instance always; under ``[ha]`` the
        recovered leader)."""
        return self.ha is None or self.ha.leading

    async def _shutdown_scheduler(self) -> None:
        """The grace period: a sweep in progress may finish; after it, it is cancelled (every
        transaction it sent was journaled first, so the next start finishes its action)."""
        finished = await self._scheduler_ref.shutdown(grace_seconds=SHUTDOWN_GRACE_SECONDS)
        # actions advancing in the background: each finishes its step in progress (stopping)
        if self._executor is not None:
            finished &= await self._executor.drain(grace_seconds=SHUTDOWN_GRACE_SECONDS)
        if self._engine is not None and self._acting():
            # rows the drained steps journaled after the last sweep (an announcement, a request's
            # end) reach the incident log file now, not at the next start
            try:
                await self._engine.write_incident_log()
            except AutobotError as exc:  # the journal's own failure is reported where it occurs
                log.warning("incident_log_not_synced_at_stop", error=type(exc).__name__)
        if not finished:
            log.warning("shutdown_grace_expired", grace_seconds=SHUTDOWN_GRACE_SECONDS)

    async def _chain_seconds(self) -> float:
        """The latest block's chain time in (fractional) seconds; the scheduler's wake-ups."""
        return (await self._gateway.chain_time()).micros / 1e6

    async def _wait_ready(self) -> None:
        """Ready once the chain answered with the configured chain id; retry until then."""
        while not self._stop.is_set():
            try:
                tip = await self._gateway.chain_time()
            except AutobotError as exc:
                self.health.mark_not_ready("chain_unreachable")
                log.warning("chain_unreachable", error=type(exc).__name__, detail=str(exc))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(READY_RETRY_SECONDS):
                        await self._stop.wait()
                continue
            self.clock_map.observe(wall=self._clock.wall(), chain=tip.micros / 1e6)
            self.health.mark_ready()
            return

    def _healthy(self) -> bool:
        """The watchdog's verdict: a good tick recently, or the web server started recently.

        Measured from the web server's start before the first tick, so a daemon that sends
        READY=1 and then never completes a sweep stops pinging and systemd restarts it.
        """
        if self.web is None:
            return False
        return self.web.liveness().alive

    async def _sweep(self) -> None:
        if self._stop.is_set():
            return
        assert self._engine is not None
        if not self._acting():
            await self._observe()
            return
        try:
            summary = await self._engine.sweep()
        except JournalError as exc:
            # The journal is the source of truth: without it nothing may be sent. Stop cleanly.
            log.error("journal_failed", detail=str(exc))
            self.health.tick_failed("journal_failed")
            self.fatal = exc
            self._stop.set()
            return
        except AutobotError as exc:
            self.health.tick_failed(error_code(exc))
            log.warning("tick_failed", error=type(exc).__name__, detail=str(exc))
            return
        self.sweeps += 1
        if self._gc is not None and not self._gc.frozen:
            self._gc.freeze_after_start()  # the first sweep's reads: never walked again
        self.health.tick_succeeded(time.monotonic())
        self._last_summary = summary.status_line()
        if self.status_site is not None:
            self.status_site.sweep_finished(self._engine, summary)
        if self._demo is not None:
            self._demo.sweep_finished(self._engine, summary)
        self._notifier.status(self._last_summary)

    async def _observe(self) -> None:
        """A standby's sweep: the chain read and the metrics, nothing planned or written."""
        assert self._engine is not None
        try:
            summary = await self._engine.observe()
        except AutobotError as exc:  # a standby has nothing to lose: try again next time
            self.health.tick_failed(f"{type(exc).__name__}: {exc}")
            log.warning("tick_failed", error=type(exc).__name__, detail=str(exc))
            return
        self.sweeps += 1
        self.health.tick_succeeded(time.monotonic())
        self._last_summary = "standby; " + summary.status_line()
        if self.status_site is not None:
            self.status_site.sweep_finished(self._engine, summary)
        self._notifier.status(self._last_summary)

    fatal: BaseException | None = None
    _gc: GcWatch | None = None

    async def _reload_loop(self) -> None:
        while True:
            await self._reload_requested.wait()
            self._reload_requested.clear()
            self.reload()

    def reload(self) -> None:
        """SIGHUP: apply a new log level; refuse (and keep running) anything else."""
        try:
            new = load_config(self.config.source)
        except ConfigError as exc:
            log.error(
                "config_reload_refused",
                reason="invalid configuration",
                problems=[p.render() for p in exc.problems],
            )
            return
        changed = changed_settings(self.config, new)
        needs_restart = tuple(k for k in changed if not k.startswith("log."))
        if needs_restart:
            log.error(
                "config_reload_refused",
                reason="these settings need a restart",
                keys=list(needs_restart),
            )
            return
        if changed:
            configure_logging(level=new.log.level, log_format=new.log.format)
            self.config = new
        log.info("config_reloaded", changed=list(changed))


@contextlib.contextmanager
def _signals(loop: asyncio.AbstractEventLoop, daemon: Daemon) -> Iterator[None]:
    installed: list[signal.Signals] = []
    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGTERM: daemon.request_stop,
        signal.SIGINT: daemon.request_stop,
        signal.SIGHUP: daemon.request_reload,
    }
    for signum, handler in handlers.items():
        try:
            loop.add_signal_handler(signum, handler)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _busy(exc: OSError, host: str, port: int, flag: str) -> OSError:
    """A listen failure that says which flag changes the address."""
    if exc.errno == errno.EADDRINUSE:
        said = OSError(f"{host}:{port} is already in use; choose another with {flag}")
    else:
        said = OSError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); see {flag}")
    said.errno = exc.errno  # kept for callers; the text stays free of "[Errno N]"
    return said


class DemoGuide:
    """Says once, at info, when the embedded demo's scripted story is told and what to try next."""

    def __init__(self, *, hints: Hints, localnet_url: str) -> None:
        self._hints = hints
        self._url = localnet_url.rstrip("/")
        self._acted = False
        self.told = False

    def sweep_finished(self, engine: Engine, summary: SweepSummary) -> None:
        journal = summary.journal
        self._acted |= journal.get("done", 0) > 0
        if self.told or not self._acted or summary.planned:
            return
        if any(
            journal.get(s, 0) for s in ("planned", "announced", "waiting", "executing", "recording")
        ):
            return
        snapshot = engine.last_snapshot
        if snapshot is None:
            return
        moving = (LotteryStatus.CLOSING, LotteryStatus.DRAW_REQUESTED, LotteryStatus.DRAWN)
        if any(
            v.status in moving or (v.status is LotteryStatus.CANCELED and not v.archived)
            for v in snapshot.lotteries.values()
        ):
            return
        self.told = True
        drill = (
            f"curl -s -X POST {self._url}/localnet/v1/drill -H 'Content-Type: application/json' "
            '-d \'{"drill": "clamp", "asset": 1}\''
        )
        log.info(
            "demo_story_told",
            story=(
                "the demo's scripted story is told: every lottery that could move has (closed, "
                "drawn, paid out, or cancelled and refunded) and the daemon is idle. Try "
                f"{self._hints('status')}, {self._hints('incidents')} and "
                f"{self._hints('bot history A')}; then an alert drill from deploy/RUNBOOK.md, "
                f"e.g. PriceFeedClamp: `{drill}` and follow the runbook's steps"
            ),
            localnet_url=self._url,
        )


def daemon_hints(config: Config, env: CommandEnvironment, *, cwd: Path | None = None) -> Hints:
    """Hints from the daemon: ``--config`` only if a pasted command would not find its config."""
    try:
        found = find_config(None, env=env, cwd=cwd)
        same = os.path.realpath(found.path) == os.path.realpath(config.source)
    except ConfigError:
        same = False
    return Hints(prog=program(path_env=env.path), config=None if same else config.source.resolve())


# ---------------------------------------------------------------------- the command


def run_command(args: argparse.Namespace) -> int:
    """``autobot run``: exit 0 after a clean stop, 78 on configuration problems, 74 when the
    journal cannot be used, 75 at once when another daemon holds the journal or when this
    instance lost the leader lease (``[ha]``), 70 on a bug (logged through the redacting log pipeline, so a
    traceback never carries key material)."""
    try:
        return asyncio.run(_run(args, os.environ))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EX_CONFIG
    except Exception as exc:  # the process boundary: a bug; systemd restarts the daemon
        log.critical("daemon_crashed", error=type(exc).__name__, exc_info=True)
        print(
            f"autobot: crashed ({type(exc).__name__}); the log has the traceback", file=sys.stderr
        )
        return EX_SOFTWARE


async def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    listen: tuple[str, int] | None = args.listen
    if args.config is None:
        return await _run_embedded(args, environ, listen)
    if getattr(args, "scenario", None) is not None:
        raise ConfigError(
            [Problem("--scenario", "only without --config (the embedded localnet's scenario)")],
            source=str(args.config),
        )
    try:
        config = load_config(args.config, environ=environ)
    except ConfigError as exc:
        # List the key files' problems too, as check-config does: one round of fixes.
        _, problems = check_config_file(args.config, environ=environ)
        raise ConfigError(problems or exc.problems, source=str(args.config)) from None
    _check_listen_override(listen, config)
    config = with_status_listen(config, getattr(args, "status_listen", None))
    return await _run_daemon(config, environ, listen)


def _check_listen_override(listen: tuple[str, int] | None, config: Config) -> None:
    """``--listen`` replaces ``[http] listen`` but not its rule: loopback unless allow_remote."""
    if listen is None or config.http.allow_remote or is_loopback_host(listen[0]):
        return
    host, port = listen
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    raise ConfigError(
        [
            Problem(
                "--listen",
                "not a loopback address; set [http] allow_remote = true to serve other hosts "
                "(the endpoints have no authentication)",
                shown,
                has_value=True,
            )
        ],
        source=str(config.source),
    )


async def _run_daemon(
    config: Config,
    environ: Mapping[str, str],
    listen: tuple[str, int] | None,
    *,
    localnet_url: str | None = None,
) -> int:
    env = command_environment(environ)
    configure_logging(
        level=config.log.level, log_format=config.log.format, colors=False if env.no_color else None
    )
    keyring = load_keyring(config)
    notifier = SdNotifier.from_environ(environ)
    hints = daemon_hints(config, env)
    demo = None if localnet_url is None else DemoGuide(hints=hints, localnet_url=localnet_url)
    try:
        async with Daemon(
            config=config,
            keyring=keyring,
            notifier=notifier,
            listen=listen,
            hints=hints,
            demo=demo,
        ) as d:
            await d.run_until_stopped()
            if d.fatal is not None:
                print(f"autobot: {d.fatal}", file=sys.stderr)
                return EX_TEMPFAIL if isinstance(d.fatal, FencedOut) else EX_IOERR
    except InstanceLocked as exc:
        log.error("journal_locked", holder=exc.holder, detail=str(exc))
        print(f"autobot: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except FencedOut as exc:
        log.error("journal_fenced_out", detail=str(exc))
        print(f"autobot: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except JournalError as exc:
        log.error("journal_unusable", detail=str(exc))
        print(f"autobot: {exc}", file=sys.stderr)
        return EX_IOERR
    except OSError as exc:
        log.error("startup_failed", error=type(exc).__name__, detail=str(exc))
        print(f"autobot: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run_embedded(
    args: argparse.Namespace, environ: Mapping[str, str], listen: tuple[str, int] | None
) -> int:
    from autobot.localnet.config_writer import write_daemon_config
    from autobot.localnet.runner import Localnet, LocalnetOptions
    from autobot.localnet.scenario import scenario_defaults

    scenario = getattr(args, "scenario", None) or "demo"
    defaults = scenario_defaults(scenario)

    state_dir = Path(args.state_dir) if args.state_dir else None
    async with contextlib.AsyncExitStack() as stack:
        if state_dir is None:
            import tempfile

            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="autobot-")))
        state_dir.mkdir(parents=True, exist_ok=True)
        configure_logging(colors=False if command_environment(environ).no_color else None)
        net = await stack.enter_async_context(
            Localnet.start(
                LocalnetOptions(
                    scenario=scenario,
                    time_scale=60.0,
                    state_dir=state_dir / "localnet",
                    vrf_retry=defaults.vrf_retry,
                )
            )
        )
        config_path = state_dir / "autobot.toml"
        host, port = listen or ("127.0.0.1", 9464)
        write_daemon_config(
            config_path,
            net.info,
            listen=f"{host}:{port}",
            journal=Path("journal.sqlite3"),
            cancel_on_vrf_failure=defaults.cancel_on_vrf_failure,
        )
        status_listen = getattr(args, "status_listen", None)
        log.warning(
            "embedded_localnet",
            message=f"running against a LOCAL chain started in this process ({scenario} "
            f"scenario, vrf retry {defaults.vrf_retry}, time-scale 60); pass --config to run "
            "against a real network",
            rpc_url=net.base_url,
            config=str(config_path),
            status_page=None if status_listen is None else "http://{}:{}/".format(*status_listen),
        )
        config = with_status_listen(load_config(config_path, environ=environ), status_listen)
        return await _run_daemon(config, environ, listen, localnet_url=net.base_url)
    return 0  # unreachable: the stack's body always returns
