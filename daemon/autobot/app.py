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
production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from autobot.config import Config, changed_settings, is_loopback_host, load_config
from autobot.config_check import check_config_file
from autobot.engine import Engine
from autobot.errors import (
    EX_CONFIG,
    EX_IOERR,
    EX_SOFTWARE,
    AutobotError,
    ConfigError,
    JournalError,
    Problem,
)
from autobot.gcwatch import GcWatch
from autobot.journal.incident_log import IncidentLogFile
from autobot.journal.store import SqliteJournal
from autobot.logs import configure_logging
from autobot.metrics import DaemonMetrics, make_registry
from autobot.notify import SdNotifier
from autobot.planning.plan import ACTION_KINDS
from autobot.scheduling import ChainClockMap, SweepScheduler
from autobot.status.site import StatusSite, with_status_listen
from autobot.sweep_context import plan_settings
from autobot.watchlist import SweepReads, Watchlist
from autobot.web import TickHealth, WebServer

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
    ) -> None:
        self.config = config
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
        self.journal: SqliteJournal | None = None
        self.gateway: ChainGateway | None = None
        self._scheduler: SweepScheduler | None = None
        self._engine: Engine | None = None
        self._executor: execution.Executor | None = None

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
        self.journal = await SqliteJournal.open(config.journal.path, clock=self._clock)
        self._stack.push_async_callback(self.journal.close)
        await self.journal.check_writable()  # a read-only disk stops the start (exit 74)
        # the one place the implementation is chosen: everything else sees a ChainGateway
        self.gateway = SupraGateway.from_config(config.chain, observer=self.metrics)
        self._stack.push_async_callback(self.gateway.aclose)
        exec_metrics = execution.PrometheusExecutionMetrics(self.metrics)
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
        )
        self._executor = execution.Executor(
            journal=self._journal,
            gateway=self._gateway,
            steps=steps,
            book=book,
            stopping=self._stop.is_set,
        )
        self._scheduler = SweepScheduler(
            sweep=self._sweep,
            poll_interval_seconds=config.scheduler.poll_interval_seconds,
            clock_map=self.clock_map,
            wall=self._clock.wall,
            chain_time=self._chain_seconds,
        )
        self._engine = self.engine_over(
            Watchlist(
                gateway=self._gateway,
                journal=self._journal,
                schedule=plan_settings(config),
                clock=self._clock,
            )
        )
        host, port = self._listen
        self.web = WebServer(host=host, port=port, registry=self.registry, health=self.health)
        await self.web.start()
        self._stack.push_async_callback(self.web.stop)
        if config.status.listen is not None:
            site = StatusSite(config=config.status, journal=self._journal, clock_map=self.clock_map)
            await site.start()
            self._stack.push_async_callback(site.stop)
            self.status_site = site
        log.info(
            "daemon_started",
            chain_id=config.chain.chain_id,
            endpoints=len(config.chain.rpc_urls),
            mode=config.automation.mode,
            operators=sorted(self._keyring.operators),
            metrics_url=f"{self.web.url}/metrics",
            status_url=None if self.status_site is None else self.status_site.url,
            journal=str(config.journal.path),
        )

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
        )  # fmt: skip

    @property
    def _gateway(self) -> ChainGateway:
        assert self.gateway is not None
        return self.gateway

    @property
    def _journal(self) -> SqliteJournal:
        assert self.journal is not None
        return self.journal

    @property
    def _scheduler_ref(self) -> SweepScheduler:
        assert self._scheduler is not None
        return self._scheduler

    # ------------------------------------------------------------------ running

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload_requested.set()

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        with _signals(loop, self):
            await self._wait_ready()
            if self._stop.is_set():
                return
            await self._recover()
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

    async def _shutdown_scheduler(self) -> None:
        """The grace period: a sweep in progress may finish; after it, it is cancelled (every
        transaction it sent was journaled first, so the next start finishes its action)."""
        finished = await self._scheduler_ref.shutdown(grace_seconds=SHUTDOWN_GRACE_SECONDS)
        # actions advancing in the background: each finishes its step in progress (stopping)
        if self._executor is not None:
            finished &= await self._executor.drain(grace_seconds=SHUTDOWN_GRACE_SECONDS)
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
                self.health.mark_not_ready(f"chain not answering: {type(exc).__name__}")
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
        try:
            summary = await self._engine.sweep()
        except JournalError as exc:
            # The journal is the source of truth: without it nothing may be sent. Stop cleanly.
            log.error("journal_failed", detail=str(exc))
            self.health.tick_failed(f"journal: {exc}")
            self.fatal = exc
            self._stop.set()
            return
        except AutobotError as exc:
            self.health.tick_failed(f"{type(exc).__name__}: {exc}")
            log.warning("tick_failed", error=type(exc).__name__, detail=str(exc))
            return
        self.sweeps += 1
        if self._gc is not None and not self._gc.frozen:
            self._gc.freeze_after_start()  # the first sweep's reads: never walked again
        self.health.tick_succeeded(time.monotonic())
        self._last_summary = summary.status_line()
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


# ---------------------------------------------------------------------- the command


def run_command(args: argparse.Namespace) -> int:
    """``autobot run``: exit 0 after a clean stop, 78 on configuration problems, 74 when the
    journal cannot be used, 70 on a bug (logged through the redacting log pipeline, so a
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
    config: Config, environ: Mapping[str, str], listen: tuple[str, int] | None
) -> int:
    configure_logging(level=config.log.level, log_format=config.log.format)
    keyring = load_keyring(config)
    notifier = SdNotifier.from_environ(environ)
    try:
        async with Daemon(config=config, keyring=keyring, notifier=notifier, listen=listen) as d:
            await d.run_until_stopped()
            if d.fatal is not None:
                print(f"autobot: {d.fatal}", file=sys.stderr)
                return EX_IOERR
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
        configure_logging()
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
        return await _run_daemon(config, environ, listen)
    return 0  # unreachable: the stack's body always returns
