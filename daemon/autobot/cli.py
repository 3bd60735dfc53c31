"""The ``autobot`` command line: argument parsing in one place, handlers imported lazily.

Every handler takes the parsed ``argparse.Namespace`` and returns a process exit code (the
table is ``EXIT_CODES``, printed once at the end of ``autobot --help``). ``--config`` may stand
before the command (``autobot --config F status``) or after it (``autobot status --config F``);
the operator commands also find their config without it (``autobot.config.find_config``:
``$AUTOBOT_CONFIG``, ``./.autobot/autobot.toml``, ``/etc/autobot/autobot.toml``). Every option
has help text and every command's help ends with an example (``tests/unit/test_cli_help.py``).
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


EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "done (status: the chain answered)"),
    (1, "refused, rejected or failed: nothing was written, or the request's action failed"),
    (2, "bad arguments"),
    (70, "an internal error (a bug); the message says where the traceback is"),
    (74, "the journal is missing, unreadable or not writable"),
    (75, "temporarily unavailable: the chain did not answer (status, requests); try again"),
    (78, "a configuration or key-file problem (every problem is listed)"),
    (130, "interrupted (Ctrl-C); a request already written stays written"),
)
"""The exit codes of every command (sysexits.h where one fits)."""

_EPILOG = """\
The operator commands find their config without --config: $AUTOBOT_CONFIG, else
./.autobot/autobot.toml (written by `make run`), else /etc/autobot/autobot.toml. --config may
stand before or after the command. NO_COLOR=1 turns colours off.

exit codes:
{codes}

examples:
  autobot run                                   the demo: a localnet in this process
  autobot status                                what the chain and the journal say
  autobot feed clear-clamp 2 --note "provider confirmed the move" --wait
"""


def _example(*lines: str) -> str:
    return "example:\n" + "\n".join(f"  {line}" for line in lines)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's line breaks; wider option column."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34)


def _sub(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    example: tuple[str, ...],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand with its help, an example, and ``--config`` accepted after it too."""
    p = group.add_parser(
        name,
        help=help,
        description=description or help[:1].upper() + help[1:] + ".",
        epilog=_example(*example),
        formatter_class=_Formatter,
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the daemon's config (TOML); default: $AUTOBOT_CONFIG, ./.autobot/autobot.toml, "
        "/etc/autobot/autobot.toml",
    )
    return p


def _json(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help=f"print {what} as JSON"
    )


def _request_options(p: argparse.ArgumentParser, *, sensitive: bool) -> None:
    """The options every request command shares (``autobot.control.submission``)."""
    confirm = (
        "do not ask for confirmation (needed without a terminal)"
        if sensitive
        else "accepted for symmetry: this request is not asked for"
    )
    p.add_argument("-y", "--yes", action="store_true", help=confirm)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would happen and write nothing (the request is still checked)",
    )
    p.add_argument(
        "--note",
        metavar="TEXT",
        help="why (free text): kept with the request and your user name in the incident log",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="follow the request through planning, announcement, timelock (with a countdown) "
        "and execution; exit with its outcome",
    )
    _json(p, "the request and its outcome")


def build_parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES)
    parser = argparse.ArgumentParser(
        prog="autobot",
        description="Operates the lottery_multi Move package on Supra L1.",
        epilog=_EPILOG.format(codes=codes),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"autobot {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="the daemon's config (TOML), for any command; also accepted after the command",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = _sub(
        sub,
        "run",
        help="run the daemon (without a config: on an embedded localnet, the demo)",
        example=("autobot run", "autobot run --config /etc/autobot/autobot.toml"),
    )
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

    check = _sub(
        sub,
        "check-config",
        help="validate a config and its key files, and that the journal's folder is writable; "
        "exit 78 on problems",
        example=("autobot check-config /etc/autobot/autobot.toml", "autobot check-config --json"),
    )
    check.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        help="the config file (default: --config, $AUTOBOT_CONFIG or the default search)",
    )
    _json(check, "the result and every problem")
    check.set_defaults(handler=_handler("autobot.config_check:check_config_command"))

    keygen = _sub(
        sub,
        "keygen",
        help="write a new ed25519 key file (mode 0600) and print its address",
        example=("autobot keygen /etc/autobot/keys/operator-a.key",),
    )
    keygen.add_argument("path", metavar="PATH", help="the key file to create (never overwritten)")
    keygen.set_defaults(handler=_handler("autobot.chain.keys:keygen_command"))

    net = _sub(
        sub,
        "localnet",
        help="run a local Supra node with the lottery_multi package",
        example=(
            "autobot localnet --scenario demo --time-scale 60 --write-config demo/autobot.toml",
        ),
    )
    net.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    net.add_argument(
        "--port", type=_port, default=27100, help="port (default: %(default)s; 0: any free port)"
    )
    net.add_argument(
        "--allow-remote",
        action="store_true",
        help="permit a non-loopback --host (the localnet hands out its dev keys)",
    )
    net.add_argument(
        "--scenario",
        default="demo",
        metavar="demo|playbook|ops|empty|FILE.toml",
        help="what the chain starts with (default: %(default)s; the demo and the ops scenario are "
        "in the README)",
    )
    net.add_argument(
        "--time-scale",
        type=_positive_float,
        default=1.0,
        metavar="X",
        help="chain seconds per wall second (default: %(default)s; the demo uses 60)",
    )
    net.add_argument(
        "--state-dir", metavar="DIR", help="persist the chain here (default: a temporary folder)"
    )
    net.add_argument(
        "--write-config",
        metavar="PATH",
        help="write a daemon config (and its dev keys) for this node",
    )
    net.add_argument(
        "--vrf-retry",
        choices=("intent", "strict"),
        default=None,
        help="how the model treats a VRF re-request (default: the scenario's: strict for ops, "
        "else intent; strict: as the package's code, E_VRF_PENDING while a request is pending)",
    )
    net.add_argument(
        "--block-interval-ms",
        type=_positive_int,
        default=200,
        metavar="MS",
        help="wall milliseconds between blocks (default: %(default)s)",
    )
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

    status = _sub(
        sub,
        "status",
        help="what the chain and the journal say, and what the daemon does next; exit 75 when "
        "the chain does not answer",
        example=("autobot status", "autobot status --json | jq .bots"),
    )
    _json(status, "the report")
    status.set_defaults(handler=_handler("autobot.control:status_command"))

    actions = _sub(
        sub,
        "actions",
        help="list the journal's actions; show, retry or park one",
        example=("autobot actions --state open", "autobot actions show refund:4:1"),
    )
    actions.add_argument(
        "--state",
        metavar="S",
        help="only these states, comma-separated (planned, announced, waiting, executing, "
        "recording, done, failed, parked, moot; open: every unfinished one)",
    )
    _json(actions, "the list")
    actions.set_defaults(json=False)
    actions_sub = actions.add_subparsers(dest="actions_command", metavar="SUBCOMMAND")
    show = _sub(
        actions_sub,
        "show",
        help="one action's timeline: calls, hash, transactions, last error",
        example=("autobot actions show refund:4:1",),
    )
    show.add_argument(
        "action_id", metavar="ACTION_ID", help="the action key (refund:4:1) or a unique prefix"
    )
    _json(show, "the action")
    for name, what, sensitive in (
        ("retry", "run a parked or failed action again", False),
        ("park", "stop working on an open action and leave it for a person", False),
    ):
        p = _sub(actions_sub, name, help=what, example=(f"autobot actions {name} refund:4:1",))
        p.add_argument("action_id", metavar="ACTION_ID", help="the action key or a unique prefix")
        _request_options(p, sensitive=sensitive)
    actions.set_defaults(handler=_handler("autobot.control:actions_command"))

    incidents = _sub(
        sub,
        "incidents",
        help="the incident log, newest first",
        example=("autobot incidents --format markdown", "autobot incidents --json"),
    )
    incidents.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text, the handbook's markdown table, or JSON (default: %(default)s)",
    )
    _json(incidents, "the rows (the same as --format json)")
    incidents.set_defaults(handler=_handler("autobot.control:incidents_command"))

    accounting = _sub(
        sub,
        "accounting",
        help="reconcile sales, payouts and refunds per lottery, from the chain (exit 1 when a "
        "check fails)",
        example=("autobot accounting", "autobot accounting 1 --json"),
    )
    accounting.add_argument(
        "lottery_id",
        type=_non_negative_int,
        metavar="LOTTERY",
        nargs="?",
        help="one lottery (default: every lottery the registry lists)",
    )
    _json(accounting, "the comparison")
    accounting.set_defaults(handler=_handler("autobot.control:accounting_command"))

    roles = _sub(
        sub,
        "roles",
        help="partner and premium cap requests",
        example=("autobot roles cleanup",),
    )
    roles_sub = roles.add_subparsers(dest="roles_command", metavar="SUBCOMMAND", required=True)
    cleanup = _sub(
        roles_sub,
        "cleanup",
        help="request roles::cleanup_expired_admin: the package removes expired partner and "
        "premium caps",
        example=("autobot roles cleanup --yes",),
    )
    _request_options(cleanup, sensitive=False)
    cleanup.set_defaults(handler=_handler("autobot.control:roles_cleanup_command"))

    cancel = _sub(
        sub,
        "cancel",
        help="request a lottery's cancellation (sensitive: announced, then the bot's timelock)",
        example=('autobot cancel 5 --reason compliance --note "regulator asked"',),
    )
    cancel.add_argument(
        "lottery_id", type=_non_negative_int, metavar="LOTTERY", help="the lottery id"
    )
    cancel.add_argument(
        "--reason",
        required=True,
        choices=("vrf-failure", "compliance", "operations"),
        help="the cancellation's reason code: vrf-failure 1, compliance 2, operations 3",
    )
    _request_options(cancel, sensitive=True)
    cancel.set_defaults(handler=_handler("autobot.control:cancel_command"))

    refund = _sub(
        sub,
        "refund",
        help="start or resume a cancelled lottery's refund (sensitive: announced, then the "
        "bot's timelock)",
        example=("autobot refund 4 --wait",),
    )
    refund.add_argument(
        "lottery_id", type=_non_negative_int, metavar="LOTTERY", help="the lottery id"
    )
    _request_options(refund, sensitive=True)
    refund.set_defaults(handler=_handler("autobot.control:refund_command"))

    feed = _sub(
        sub,
        "feed",
        help="price-feed requests",
        example=("autobot feed clear-clamp 2",),
    )
    feed_sub = feed.add_subparsers(dest="feed_command", metavar="SUBCOMMAND", required=True)
    clear = _sub(
        feed_sub,
        "clear-clamp",
        help="request clear_clamp for an asset (sensitive: check the price first)",
        example=('autobot feed clear-clamp 2 --note "provider confirmed the move" --wait',),
    )
    clear.add_argument("asset_id", type=_non_negative_int, metavar="ASSET", help="the asset id")
    _request_options(clear, sensitive=True)
    clear.set_defaults(handler=_handler("autobot.control:clear_clamp_command"))

    bot = _sub(
        sub,
        "bot",
        help="automation bot requests and history",
        example=("autobot bot rotate A --max-failures 5", "autobot bot history A"),
    )
    bot_sub = bot.add_subparsers(dest="bot_command", metavar="SUBCOMMAND", required=True)
    rotate = _sub(
        bot_sub,
        "rotate",
        help="request rotate_bot for an operator (sensitive: clears its pending slot); unset "
        "options keep the bot's current values",
        example=("autobot bot rotate A --max-failures 5 --expires-in 90d",),
    )
    rotate.add_argument("operator", metavar="OPERATOR", help="operator name (A) or address")
    rotate.add_argument("--max-failures", type=_positive_int, metavar="N", help="new max_failures")
    rotate.add_argument(
        "--timelock", type=_non_negative_int, metavar="SECONDS", help="new timelock in seconds"
    )
    rotate.add_argument(
        "--expires-in",
        type=parse_duration,
        metavar="DURATION",
        help="new expiry from now in chain time: 3600, 90m, 12h, 30d, 2w",
    )
    rotate.add_argument(
        "--allowed-actions", type=_action_list, metavar="1,2,…", help="new allowed action ids"
    )
    rotate.add_argument(
        "--cron", metavar="SPEC", help="new cron spec (the handbook asks to refresh it)"
    )
    _request_options(rotate, sensitive=True)
    rotate.set_defaults(handler=_handler("autobot.control:rotate_command"))
    history = _sub(
        bot_sub,
        "history",
        help="an operator's automation events on chain (announcements, successes, failures, "
        "rotations), each marked autobot's or not",
        example=("autobot bot history A", "autobot bot history B --json"),
    )
    history.add_argument("operator", metavar="OPERATOR", help="operator name (A) or address")
    history.add_argument(
        "--blocks",
        type=_positive_int,
        default=100_000,
        metavar="N",
        help="how many recent blocks to search (default: %(default)s)",
    )
    _json(history, "the events")
    history.set_defaults(handler=_handler("autobot.control:bot_history_command"))

    journal = _sub(
        sub,
        "journal",
        help="journal maintenance",
        example=("autobot journal migrate --from journal.sqlite3 --to-dsn-file journal.dsn",),
    )
    journal_sub = journal.add_subparsers(
        dest="journal_command", metavar="SUBCOMMAND", required=True
    )
    migrate = _sub(
        journal_sub,
        "migrate",
        help="copy an SQLite journal into an empty PostgreSQL database, verified row by row",
        example=(
            "autobot journal migrate --from /var/lib/autobot/journal.sqlite3 "
            "--to-dsn-file /etc/autobot/journal.dsn",
        ),
    )
    migrate.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="PATH.sqlite",
        help="the SQLite journal to copy (the daemon stopped)",
    )
    target = migrate.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="DSN", help="a libpq connection string without password")
    target.add_argument("--to-dsn-file", metavar="PATH", help="a file (mode 600) holding the DSN")
    migrate.set_defaults(handler=_handler("autobot.journal_setup:migrate_command"))

    vrf = _sub(
        sub,
        "vrf",
        help="VRF deposit requests",
        example=("autobot vrf resume",),
    )
    vrf_sub = vrf.add_subparsers(dest="vrf_command", metavar="SUBCOMMAND", required=True)
    resume = _sub(
        vrf_sub,
        "resume",
        help="request resume_requests (action 5, sensitive: announced, then the bot's timelock): "
        "VRF requests paused by the deposit guard run again; refused while the deposit is short",
        example=('autobot vrf resume --note "deposit topped up" --wait',),
    )
    _request_options(resume, sensitive=True)
    resume.set_defaults(handler=_handler("autobot.control:resume_command"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "json"):
        args.json = False
    handler = cast(Handler, args.handler)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("autobot: interrupted", file=sys.stderr)
        return 130


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
