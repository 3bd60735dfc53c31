"""``autobot localnet``: run a local Supra node with the lottery_multi package until interrupted.

Exit codes: 0 after SIGINT/SIGTERM, 2 for bad arguments (a non-loopback ``--host`` without
``--allow-remote``, a missing scenario file, a bad ``--faults`` spec), 1 when the node cannot start
(port in use, a state directory of another chain).

``--faults SPEC`` (JSON text or a file; format in ``autobot.localnet.faults``) injects faults into
the ``/rpc/`` routes from the start; ``POST /localnet/v1/faults`` replaces the spec while running.

``--vrf-retry`` defaults to the scenario's variant (``strict`` for ``ops``, ``intent`` otherwise),
and ``--write-config`` writes the daemon config the scenario is meant for (``ops``: a stuck draw
waits for a person, ``cancel_on_vrf_failure = false``).

``--views published|patched`` (``autobot.localnet.view_mode``): whether ``/rpc/v3/view`` runs only
the package's ``#[view]`` functions, like a node, or every reader the model implements.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from pathlib import Path

import structlog

from autobot.config import is_loopback_host
from autobot.localnet.accounts import OPERATOR_NAMES, dev_accounts
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.faults import load_fault_spec
from autobot.localnet.info import LocalnetInfo
from autobot.localnet.runner import Localnet, LocalnetError, LocalnetOptions
from autobot.localnet.scenario import BUILT_IN, scenario_defaults
from autobot.localnet.view_mode import DEFAULT_VIEW_MODE, ViewMode

__all__ = ["localnet_command", "options_from_args"]

log = structlog.get_logger()


def options_from_args(args: argparse.Namespace) -> LocalnetOptions:
    """``LocalnetOptions`` from the parsed ``autobot localnet`` arguments; ``ValueError`` if bad."""
    if not args.allow_remote and not is_loopback_host(args.host):
        raise ValueError(
            f"--host {args.host} is not a loopback address; add --allow-remote to serve other hosts "
            "(the localnet hands out its private keys)"
        )
    if not 0 <= args.port < 65536:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    if args.scenario not in BUILT_IN and not Path(args.scenario).is_file():
        raise ValueError(
            f"--scenario: no such file {args.scenario!r} (or use {' / '.join(BUILT_IN)})"
        )
    faults = load_fault_spec(args.faults) if args.faults else None  # FaultSpecError: ValueError
    return LocalnetOptions(
        host=args.host,
        port=args.port,
        scenario=args.scenario,
        time_scale=args.time_scale,
        state_dir=Path(args.state_dir) if args.state_dir else None,
        vrf_retry=args.vrf_retry or scenario_defaults(args.scenario).vrf_retry,
        block_interval_ms=args.block_interval_ms,
        allow_remote=args.allow_remote,
        faults=faults,
        views=ViewMode(getattr(args, "views", DEFAULT_VIEW_MODE.value)),
    )


def _banner(info: LocalnetInfo, *, state_dir: Path, written: list[Path]) -> str:
    registered = {op.name for op in info.operators}
    lines = [
        f"autobot localnet: chain id {info.chain_id}, listening on {info.rpc_url}",
        f"  package (= admin) {info.package_address}",
        f"  chain time {info.chain_time}, height {info.block_height}, time scale {info.time_scale}x, "
        f"vrf retry {info.vrf_retry}, views {info.views}",
        f"  state dir {state_dir}",
        "",
        "Dev accounts (well-known keys: never use them on a real chain)",
        f"  admin  {info.admin.address}  {info.admin.private_key}",
    ]
    spares = tuple(op for op in info.operators if op.name not in OPERATOR_NAMES)  # registered
    for op in dev_accounts().operators + spares:
        mark = "registered bot" if op.name in registered else "not registered"
        lines.append(f"  {op.name:<5}  {op.address}  {op.private_key}  ({mark})")
    if written:
        lines += ["", f"Daemon config written: {written[0]} (+ {len(written) - 1} key file(s))"]
    lines += ["", 'Dev endpoints: GET /localnet/v1/info, POST /localnet/v1/advance {"seconds": N}']
    lines += ["  POST /localnet/v1/view (any reader, whatever --views says)"]
    lines += ["  GET/POST /localnet/v1/faults (fault injection on /rpc/)"]
    lines += [
        "  POST /localnet/v1/drill (alert drills; each in its alert's deploy/RUNBOOK.md section)"
    ]
    return "\n".join(lines)


async def _serve(options: LocalnetOptions, write_config: str | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Localnet.start(options) as net:
            info = net.info
            defaults = scenario_defaults(options.scenario)
            written = (
                write_daemon_config(
                    Path(write_config),
                    info,
                    cancel_on_vrf_failure=defaults.cancel_on_vrf_failure,
                )
                if write_config
                else []
            )
            print(_banner(info, state_dir=net.state_dir, written=written), flush=True)
            if options.faults is not None and options.faults.enabled:
                log.warning("localnet_faults_injected", spec=options.faults.to_json())
            await stop.wait()
            log.info("localnet_signal_received")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return 0


def localnet_command(args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"autobot localnet: {exc}", file=sys.stderr)
        return 2
    from autobot.logs import configure_logging

    configure_logging(level="info")
    try:
        return asyncio.run(_serve(options, args.write_config))
    except LocalnetError as exc:
        print(f"autobot localnet: {exc}{_which_flag(exc)}", file=sys.stderr)
        return 1


def _which_flag(exc: LocalnetError) -> str:
    """A busy port says which flag moves it."""
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
        return "; choose another with --port PORT (0: any free port)"
    return ""
