"""The ``autobot`` command line: argument parsing in one place, handlers imported lazily.

Every handler takes the parsed ``argparse.Namespace`` and returns a process exit code.
Bad arguments exit 2 (argparse's convention) with a message naming the argument;
configuration problems exit 78 (EX_CONFIG) so systemd does not restart-loop on them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

from autobot import __version__
from autobot.localnet.view_mode import DEFAULT_VIEW_MODE, ViewMode

Handler = Callable[[argparse.Namespace], int]


def _handler(target: str) -> Handler:
    """Resolve ``"module:function"`` lazily so ``autobot --help`` imports nothing heavy."""

    def call(args: argparse.Namespace) -> int:
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        return cast(Handler, getattr(module, attr))(args)

    return call


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT with a port in 0..65535 (0: any free port), got {value!r}"
        )
    return host.strip("[]"), int(port)


def _port(value: str) -> int:
    try:
        number = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {value!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {value!r}")
    return number


def _positive_int(value: str) -> int:
    try:
        number = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {value!r}"
        ) from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value!r}")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}") from None
    if not number > 0 or number != number or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {value!r}")
    return number


def _action_list(value: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(part, 10) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated action ids such as 1,2,6, got {value!r}"
        ) from None
    if not ids or any(i <= 0 for i in ids):
        raise argparse.ArgumentTypeError(f"expected positive action ids, got {value!r}")
    return ids


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> int:
    """``90``, ``90s``, ``15m``, ``12h``, ``30d``, ``2w`` → seconds."""
    text = value.strip().lower()
    unit = 1
    if text and text[-1] in _DURATION_UNITS:
        unit = _DURATION_UNITS[text[-1]]
        text = text[:-1]
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 3600, 90m, 12h or 30d, got {value!r}"
        )
    return int(text) * unit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autobot",
        description="Operates the lottery_multi Move package on Supra L1.",
    )
    parser.add_argument("--version", action="version", version=f"autobot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="run the daemon (without --config: on an embedded localnet)")
    run.add_argument("--config", metavar="PATH", help="daemon config (TOML)")
    run.add_argument("--listen", type=_listen, metavar="HOST:PORT", help="override [http] listen")
    run.add_argument(
        "--status-listen", type=_listen, metavar="HOST:PORT", help="override [status] listen"
    )
    run.add_argument(
        "--state-dir",
        metavar="DIR",
        help="embedded mode only: where the localnet, the journal and the written config live",
    )
    run.add_argument(
        "--scenario",
        choices=("demo", "ops"),
        default=None,
        help="embedded mode only: the localnet's scenario (default demo; ops: a stuck draw, a "
        "paused VRF deposit, the DRAW feature off, a lottery closed by hand)",
    )
    run.set_defaults(handler=_handler("autobot.app:run_command"))

    check = sub.add_parser("check-config", help="validate a config file; exit 78 on problems")
    check.add_argument("path", metavar="PATH")
    check.set_defaults(handler=_handler("autobot.config_check:check_config_command"))

    net = sub.add_parser("localnet", help="run a local Supra node with the lottery_multi package")
    net.add_argument("--host", default="127.0.0.1")
    net.add_argument("--port", type=_port, default=27100, help="0 picks a free port")
    net.add_argument("--allow-remote", action="store_true", help="permit a non-loopback --host")
    net.add_argument("--scenario", default="demo", metavar="demo|playbook|ops|empty|FILE.toml")
    net.add_argument("--time-scale", type=_positive_float, default=1.0, metavar="X")
    net.add_argument(
        "--state-dir", metavar="DIR", help="persist the chain here (default: temp dir)"
    )
    net.add_argument("--write-config", metavar="PATH", help="write a daemon config for this node")
    net.add_argument(
        "--vrf-retry",
        choices=("intent", "strict"),
        default=None,
        help="the VRF retry variant (default: the scenario's: strict for ops, else intent)",
    )
    net.add_argument("--block-interval-ms", type=_positive_int, default=200, metavar="MS")
    net.add_argument("--faults", metavar="SPEC", help="fault injection spec (JSON or FILE)")
    net.add_argument(
        "--views",
        choices=[mode.value for mode in ViewMode],
        default=DEFAULT_VIEW_MODE.value,
        help="published: /rpc/v3/view runs only the package's #[view] functions and refuses the "
        "rest like a node (the package as deployed); patched: every reader answers (a package "
        "redeployed with #[view]); POST /localnet/v1/view answers any reader in both modes "
        "(default: %(default)s)",
    )
    net.set_defaults(handler=_handler("autobot.localnet.cli:localnet_command"))

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="PATH", required=True, help="daemon config (TOML)")
        return p

    status = with_config(sub.add_parser("status", help="what the chain and the journal say"))
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_handler("autobot.control:status_command"))

    # --config may stand before or after the subcommand (`actions --config F show ID` and
    # `actions show ID --config F`); main() insists that one of them gave it.
    actions = sub.add_parser("actions", help="list, show, retry or park actions")
    actions.add_argument("--config", metavar="PATH", help="daemon config (TOML)")
    actions.add_argument("--state", metavar="S")
    actions.add_argument("--json", action="store_true")
    actions_sub = actions.add_subparsers(dest="actions_command", metavar="SUBCOMMAND")
    for name in ("show", "retry", "park"):
        p = actions_sub.add_parser(name)
        p.add_argument("action_id", metavar="ACTION_ID")
        p.add_argument("--json", action="store_true", dest="json_sub")
        p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="daemon config")
    actions.set_defaults(handler=_handler("autobot.control:actions_command"))

    incidents = with_config(sub.add_parser("incidents", help="the incident log, newest first"))
    incidents.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    incidents.set_defaults(handler=_handler("autobot.control:incidents_command"))

    accounting = with_config(
        sub.add_parser("accounting", help="reconcile sales, payouts and refunds, per lottery")
    )
    accounting.add_argument("lottery_id", type=_non_negative_int, metavar="LOTTERY", nargs="?")
    accounting.add_argument("--json", action="store_true")
    accounting.set_defaults(handler=_handler("autobot.control:accounting_command"))

    roles = sub.add_parser("roles", help="partner and premium cap requests")
    roles_sub = roles.add_subparsers(dest="roles_command", metavar="SUBCOMMAND", required=True)
    cleanup = with_config(
        roles_sub.add_parser("cleanup", help="request cleanup_expired_admin (expired caps)")
    )
    cleanup.set_defaults(handler=_handler("autobot.control:roles_cleanup_command"))

    cancel = with_config(sub.add_parser("cancel", help="request a lottery cancellation"))
    cancel.add_argument("lottery_id", type=_non_negative_int, metavar="LOTTERY")
    cancel.add_argument(
        "--reason", required=True, choices=("vrf-failure", "compliance", "operations")
    )
    cancel.set_defaults(handler=_handler("autobot.control:cancel_command"))

    refund = with_config(sub.add_parser("refund", help="start or resume a lottery's refund"))
    refund.add_argument("lottery_id", type=_non_negative_int, metavar="LOTTERY")
    refund.set_defaults(handler=_handler("autobot.control:refund_command"))

    feed = sub.add_parser("feed", help="price-feed requests")
    feed_sub = feed.add_subparsers(dest="feed_command", metavar="SUBCOMMAND", required=True)
    clear = with_config(feed_sub.add_parser("clear-clamp", help="request clear_clamp for ASSET"))
    clear.add_argument("asset_id", type=_non_negative_int, metavar="ASSET")
    clear.set_defaults(handler=_handler("autobot.control:clear_clamp_command"))

    bot = sub.add_parser("bot", help="automation bot requests")
    bot_sub = bot.add_subparsers(dest="bot_command", metavar="SUBCOMMAND", required=True)
    rotate = with_config(bot_sub.add_parser("rotate", help="request rotate_bot for OPERATOR"))
    rotate.add_argument("operator", metavar="OPERATOR", help="operator name or address")
    rotate.add_argument("--max-failures", type=_positive_int, metavar="N")
    rotate.add_argument("--timelock", type=_non_negative_int, metavar="SECONDS")
    rotate.add_argument("--expires-in", type=parse_duration, metavar="DURATION")
    rotate.add_argument("--allowed-actions", type=_action_list, metavar="1,2,…")
    rotate.add_argument("--cron", metavar="SPEC")
    rotate.set_defaults(handler=_handler("autobot.control:rotate_command"))

    vrf = sub.add_parser("vrf", help="VRF deposit requests")
    vrf_sub = vrf.add_subparsers(dest="vrf_command", metavar="SUBCOMMAND", required=True)
    resume = with_config(
        vrf_sub.add_parser(
            "resume",
            help="request resume_requests (action 5): VRF requests paused by the deposit guard "
            "run again; refused while the deposit is short",
        )
    )
    resume.set_defaults(handler=_handler("autobot.control:resume_command"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "actions" and not args.config:
        parser.error("the following arguments are required: --config")
    handler = cast(Handler, args.handler)
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
