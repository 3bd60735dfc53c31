"""Run a localnet in-process: the node, its block loop and its HTTP server on one asyncio loop.

    async with Localnet.start(LocalnetOptions(scenario="demo", port=0)) as net:
        net.base_url   # "http://127.0.0.1:54321/" (trailing slash: the SDK's urljoin needs it)
        net.info       # LocalnetInfo: chain id, package address, dev accounts, chain time …
        net.node       # LocalNode: advance(), next_block(), … for tests and tools

Used by ``autobot localnet`` (``cli.py``), by the daemon's embedded mode and by the test fixtures.
Port 0 picks a free port. Without ``state_dir`` the chain lives in a temporary directory removed
on exit. A non-loopback host needs ``allow_remote``.

One chain, several front ends: ``await net.add_frontend(faults=spec)`` serves the same node on
another port with its own fault injection (``faults.py``) and returns a ``Frontend`` (``url``,
``faults``, ``stop()``), so a test can put one chain behind a healthy and a faulty URL and take
one of them down mid-run. ``net.faults`` is the main front end's ``FaultEngine``
(``LocalnetOptions.faults`` sets its initial spec).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import structlog
from aiohttp import web

from autobot.config import is_loopback_host
from autobot.localnet.faults import FaultEngine, FaultSpec
from autobot.localnet.info import LOCALNET_CHAIN_ID, LocalnetInfo
from autobot.localnet.node import LocalNode, NodeOptions
from autobot.localnet.server import build_app
from autobot.localnet.view_mode import DEFAULT_VIEW_MODE, ViewMode

__all__ = ["Frontend", "Localnet", "LocalnetError", "LocalnetOptions"]

log = structlog.get_logger()


class LocalnetError(Exception):
    """The localnet cannot start with these options (bad host, port in use, bad state dir)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalnetOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    scenario: str = "demo"  # "demo" | "empty" | path to a scenario TOML file
    time_scale: float = 1.0
    state_dir: Path | None = None  # None: a temporary directory, removed on exit
    vrf_retry: str = "intent"  # "intent" | "strict"
    views: ViewMode = DEFAULT_VIEW_MODE  # what /rpc/v3/view executes (view_mode.py)
    block_interval_ms: int = 200
    allow_remote: bool = False
    chain_id: int = LOCALNET_CHAIN_ID
    faults: FaultSpec | None = None  # the main front end's fault injection (None: none)


def _url_host(host: str) -> str:
    """The host to put in URLs: a wildcard bind is reached through loopback."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
    host = wildcard.get(host, host)
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise LocalnetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class Frontend:
    """One HTTP front end of the node: its URL, its fault injection; ``stop()`` takes it down."""

    def __init__(
        self,
        *,
        url: str,
        port: int,
        faults: FaultEngine,
        runner: web.AppRunner,
        sock: socket.socket,
    ) -> None:
        self.url = url
        self.port = port
        self.faults = faults
        self._runner = runner
        self._sock = sock
        self._stopped = False

    @classmethod
    async def serve(
        cls, node: LocalNode, *, sock: socket.socket, host: str, faults: FaultSpec | None
    ) -> Self:
        """Serve ``node`` on the listening ``sock`` (owned from now on, closed by ``stop``)."""
        try:
            port = int(sock.getsockname()[1])
            url = f"http://{_url_host(host)}:{port}/"
            engine = FaultEngine(faults)
            runner = web.AppRunner(
                build_app(node, rpc_url=url, faults=engine), access_log=None, shutdown_timeout=1.0
            )
            await runner.setup()
            try:
                await web.SockSite(runner, sock).start()
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            sock.close()
            raise
        return cls(url=url, port=port, faults=engine, runner=runner, sock=sock)

    @property
    def stopped(self) -> bool:
        return self._stopped

    async def stop(self) -> None:
        """Stop serving (connections are refused from now on); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await self._runner.cleanup()
        finally:
            self._sock.close()
        log.info("localnet_frontend_stopped", url=self.url)


class Localnet:
    """A running localnet; create it with ``Localnet.start``."""

    def __init__(
        self,
        *,
        node: LocalNode,
        frontend: Frontend,
        host: str,
        state_dir: Path,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.node = node
        self.frontend = frontend
        self.base_url = frontend.url
        self.host = host
        self.port = frontend.port
        self.state_dir = state_dir
        self._stack = stack
        self._extra: list[Frontend] = []

    @property
    def info(self) -> LocalnetInfo:
        return self.node.info(rpc_url=self.base_url)

    @property
    def faults(self) -> FaultEngine:
        """The main front end's fault injection."""
        return self.frontend.faults

    @property
    def frontends(self) -> tuple[Frontend, ...]:
        """Every front end, the main one first."""
        return (self.frontend, *self._extra)

    async def add_frontend(self, *, port: int = 0, faults: FaultSpec | None = None) -> Frontend:
        """Serve the same node on another port (0: a free one) with its own fault injection."""
        sock = _bind(self.host, port)
        frontend = await Frontend.serve(self.node, sock=sock, host=self.host, faults=faults)
        self._stack.push_async_callback(frontend.stop)
        self._extra.append(frontend)
        log.info("localnet_frontend_started", url=frontend.url, faults=frontend.faults.spec.enabled)
        return frontend

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, options: LocalnetOptions) -> AsyncIterator[Localnet]:
        if not options.allow_remote and not is_loopback_host(options.host):
            raise LocalnetError(
                f"refusing to serve on non-loopback address {options.host!r} without allow_remote "
                "(the localnet hands out its private keys)"
            )
        async with contextlib.AsyncExitStack() as stack:
            if options.state_dir is None:
                state_dir = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="autobot-localnet-"))
                )
            else:
                state_dir = options.state_dir
                try:
                    state_dir.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise LocalnetError(f"cannot use state dir {state_dir}: {exc}") from exc
            sock = _bind(options.host, options.port)  # a busy port fails before the chain opens
            stack.callback(sock.close)
            try:
                node = LocalNode.open(
                    state_dir=state_dir,
                    options=NodeOptions(
                        chain_id=options.chain_id,
                        scenario=options.scenario,
                        time_scale=options.time_scale,
                        block_interval_ms=options.block_interval_ms,
                        vrf_retry=options.vrf_retry,
                        views=ViewMode(options.views),
                    ),
                )
            except ValueError as exc:  # another chain's state dir, a bad scenario file
                raise LocalnetError(str(exc)) from exc
            stack.callback(node.close)
            frontend = await Frontend.serve(
                node, sock=sock, host=options.host, faults=options.faults
            )
            stack.push_async_callback(frontend.stop)
            blocks = asyncio.create_task(node.run(), name="localnet-blocks")

            async def stop_blocks() -> None:
                blocks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await blocks

            stack.push_async_callback(stop_blocks)
            base_url = frontend.url
            log.info(
                "localnet_started",
                url=base_url,
                chain_id=options.chain_id,
                state_dir=str(state_dir),
                faults=frontend.faults.spec.enabled,
            )
            yield cls(
                node=node, frontend=frontend, host=options.host, state_dir=state_dir, stack=stack
            )
            log.info("localnet_stopping", url=base_url)
