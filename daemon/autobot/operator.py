"""The CLI for people: look at what autobot sees and does, and ask the daemon to do something.

Reading commands::

    autobot status [--json]                   bots, lotteries that need work (and what is next),
                                              refunds, feeds, the journal's backlog
    autobot actions [--state S] [--json]      journaled actions, newest first
    autobot actions show KEY [--json]         one action's full timeline (calls, hash, txs)
    autobot incidents [--format text|markdown|json]   the incident log, newest first

Requesting commands write an **operator request** into the journal; the daemon (a separate
process, the only writer of sequence numbers) carries it out on its next sweep with the same
gating as automatic work. This CLI never signs or submits anything::

    autobot cancel LOTTERY --reason vrf-failure|compliance|operations
    autobot refund LOTTERY                    start or resume a refund
    autobot feed clear-clamp ASSET
    autobot bot rotate OPERATOR [--max-failures N] [--timelock S] [--expires-in D]
                                [--allowed-actions 1,2,…] [--cron SPEC]
    autobot actions retry|park KEY

Each request is validated first, offline where possible and otherwise with one chain read, by
the daemon's own request planner (``planning.requests.decide``) over a snapshot and a
``PlanContext`` built the way the daemon builds it, so a request the daemon would reject is
refused here (exit 1) and nothing is written. A rotation resolves unset options from the bot's
current on-chain state and stores explicit values.

Journal requests (``RequestKind`` → subject, params) as the daemon reads them:
``cancel`` → lottery id, ``{"reason": 1|2|3}``; ``refund`` → lottery id, ``{}``; ``clear-clamp``
→ asset id, ``{}``; ``rotate`` → operator 0x address, ``{"max_failures", "timelock_secs",
"allowed_actions", "cron_spec", and "expires_in" (seconds from the daemon's chain time) when
given, else "expires_at" (the current expiry, kept)}``; ``retry`` → action key, ``{}``;
``park`` → action key, ``{"reason": text}``.

Exit codes: 0 ok; 1 refused, unknown id, no journal, or the chain unreachable where a command
needs it (``status`` still shows the journal then, and exits 0); 2 bad arguments; 78 config.
Key files are loaded only to learn the operators' addresses; no key material is ever printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import pwd
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from autobot.chain.keys import load_keyring
from autobot.chain.supra import SupraGateway
from autobot.clock import SystemClock
from autobot.config import Config, load_config
from autobot.domain.bots import Bot
from autobot.domain.values import normalise_address
from autobot.errors import EX_CONFIG, AutobotError, ConfigError, JournalError
from autobot.journal.records import ActionRecord, ActionState, RequestKind
from autobot.journal.store import SqliteJournal
from autobot.logs import configure_logging
from autobot.planning import plan_all
from autobot.planning.recipes import RefundPlan
from autobot.planning.requests import (
    CancelRequest,
    ClearClampRequest,
    OperatorRequest,
    RefundRequest,
    RotateRequest,
)
from autobot.report import (
    action_detail,
    action_row,
    incident_row,
    render_action_detail,
    render_actions,
    render_incidents,
    render_status,
    span,
    status_report,
    utc,
)
from autobot.survey import (
    PROBE_REQUEST_ID,
    ChainFacts,
    CheckedRequest,
    JournalFacts,
    OperatorNames,
    RequestRefused,
    build_plan_context,
    chain_deadline,
    check_request,
    read_snapshot,
    routes_for,
    unreachable,
)

__all__ = [
    "CANCEL_REASONS",
    "CommandError",
    "actions_command",
    "cancel_command",
    "clear_clamp_command",
    "incidents_command",
    "refund_command",
    "rotate_command",
    "status_command",
]

EXIT_REFUSED = 1
CANCEL_REASONS: Mapping[str, int] = {"vrf-failure": 1, "compliance": 2, "operations": 3}


class CommandError(Exception):
    """A command that cannot go on: the message is for the operator; ``exit_code`` for the shell."""

    def __init__(self, message: str, *, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------------
# Plumbing shared by every command


@contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """Route autobot's logs to stderr (warnings and up) for the command, then restore.

    stdout carries only the command's answer (``--json`` must parse). Restoring keeps an
    in-process caller's (a test's) logging as it was.
    """
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(level="warning", log_format="console", stream=sys.stderr)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        structlog.configure(**saved)


def _run(body: Callable[[], Coroutine[Any, Any, int]]) -> int:
    with _logs_to_stderr():
        try:
            return asyncio.run(body())
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem.render(), file=sys.stderr)
            print(f"{exc.source}: {len(exc.problems)} problem(s)", file=sys.stderr)
            return EX_CONFIG
        except CommandError as exc:
            print(f"autobot: {exc}", file=sys.stderr)
            return exc.exit_code
        except RequestRefused as exc:
            print(f"autobot: refused: {exc}; nothing was written", file=sys.stderr)
            return EXIT_REFUSED
        except JournalError as exc:
            print(f"autobot: {exc}", file=sys.stderr)
            return EXIT_REFUSED


@dataclass(frozen=True, slots=True, kw_only=True)
class _Setup:
    config: Config
    names: OperatorNames


def _setup(args: argparse.Namespace) -> _Setup:
    """Config and operator addresses; ``ConfigError`` (exit 78) lists every problem."""
    config = load_config(args.config)
    try:
        keyring = load_keyring(config)
    except ConfigError as exc:
        print(
            "autobot: the key files must be readable by, and owned by, the user running this "
            "command (run it as the daemon's user); they are read only to learn the addresses",
            file=sys.stderr,
        )
        raise exc
    names = OperatorNames(by_name={n: s.address for n, s in keyring.operators.items()})
    return _Setup(config=config, names=names)


async def _open_journal(config: Config) -> SqliteJournal:
    """The daemon's journal; never creates one (a new empty journal would hide the real one)."""
    path = config.journal.path
    if not path.exists():
        raise CommandError(
            f"no journal at {path} (journal.path in {config.source}): the daemon creates it on "
            "its first start; is it running with this config?"
        )
    return await SqliteJournal.open(path, clock=SystemClock())


def _requested_by() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _sweep_note(config: Config) -> str:
    note = f"on its next sweep, within ~{span(config.scheduler.poll_interval_seconds)}"
    note += " (scheduler.poll_interval_seconds)"
    if not config.automation.live:
        note += (
            "; NOTE: automation.mode is dry-run, so the daemon only plans and simulates: "
            "nothing is submitted"
        )
    return note


# --------------------------------------------------------------------------------------------
# autobot status


def status_command(args: argparse.Namespace) -> int:
    return _run(lambda: _status(args))


async def _status(args: argparse.Namespace) -> int:
    setup = _setup(args)
    config, names = setup.config, setup.names
    async with await _open_journal(config) as journal:
        ctx, pending = await build_plan_context(config, journal)
        open_actions = await journal.open_actions()
        parked = await journal.list_actions(states={ActionState.PARKED})
        failed = await journal.list_actions(states={ActionState.FAILED})
        chain: ChainFacts | None = None
        error: str | None = None
        try:
            async with SupraGateway.from_config(config.chain) as gateway:
                snapshot = await read_snapshot(config, gateway, journal)
        except (AutobotError, TimeoutError) as exc:
            error = unreachable(exc, config)
        else:
            result = plan_all(snapshot, ctx)
            routes = routes_for(result.actions, snapshot, names, open_actions)
            chain = ChainFacts(snapshot=snapshot, result=result, routes=routes)
        rejects = (
            {}
            if chain is None
            else {r.request_id: r.reason for r in chain.result.rejected_requests}
        )
        facts = JournalFacts(
            path=str(journal.path),
            open_actions=tuple(open_actions),
            pending_requests=tuple(pending),
            parked=tuple(parked),
            failed=tuple(failed),
            requests_would_reject=rejects,
        )
    report = status_report(
        config_path=str(config.source),
        mode=config.automation.mode,
        chain_id=config.chain.chain_id,
        rpc_urls=config.chain.rpc_urls,
        poll_interval_seconds=config.scheduler.poll_interval_seconds,
        names=names,
        chain=chain,
        chain_error=error,
        journal=facts,
    )
    print(json.dumps(report, indent=2) if args.json else render_status(report))
    return 0


# --------------------------------------------------------------------------------------------
# autobot actions [show|retry|park]


def actions_command(args: argparse.Namespace) -> int:
    return _run(lambda: _actions(args))


def _states(text: str | None) -> set[ActionState]:
    if not text:
        return set()
    wanted: set[ActionState] = set()
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if part == "open":
            wanted |= set(ActionState) - {
                ActionState.DONE, ActionState.FAILED, ActionState.MOOT, ActionState.PARKED
            }  # fmt: skip
            continue
        try:
            wanted.add(ActionState(part))
        except ValueError:
            known = ", ".join(["open", *(s.value for s in ActionState)])
            raise CommandError(
                f"--state: unknown state {part!r} (one or more of {known}, comma-separated)",
                exit_code=2,
            ) from None
    return wanted


async def _find_action(journal: SqliteJournal, key: str) -> ActionRecord:
    record = await journal.get_action(key)
    if record is not None:
        return record
    close = [a for a in await journal.list_actions(limit=100_000) if a.key.startswith(key + ":")]
    if len(close) == 1:
        return close[0]
    hint = f"; did you mean one of {', '.join(a.key for a in close[:8])}?" if close else ""
    raise CommandError(
        f"no action {key!r} in the journal (keys look like refund:4:1; see `autobot actions`){hint}"
    )


async def _actions(args: argparse.Namespace) -> int:
    setup = _setup(args)
    config, names = setup.config, setup.names
    as_json = bool(args.json or getattr(args, "json_sub", False))
    sub = args.actions_command
    states = _states(args.state) if sub is None else set()
    async with await _open_journal(config) as journal:
        if sub is None:
            rows = [
                action_row(a, names) for a in await journal.list_actions(states=states, limit=1_000)
            ]
            print(json.dumps(rows, indent=2) if as_json else render_actions(rows))
            return 0
        record = await _find_action(journal, args.action_id)
        if sub == "show":
            detail = action_detail(record, await journal.transactions(record.key), names)
            print(json.dumps(detail, indent=2) if as_json else render_action_detail(detail))
            return 0
        return await _retry_or_park(sub, record, config, journal, as_json)


async def _retry_or_park(
    sub: str, record: ActionRecord, config: Config, journal: SqliteJournal, as_json: bool
) -> int:
    kind = RequestKind.RETRY if sub == "retry" else RequestKind.PARK
    if kind is RequestKind.RETRY and record.state not in (ActionState.PARKED, ActionState.FAILED):
        raise CommandError(
            f"action {record.key} is {record.state.value}: only parked or failed actions are "
            "retried"
        )
    if kind is RequestKind.PARK and not record.is_open:
        raise CommandError(
            f"action {record.key} is {record.state.value}: only open actions can be parked"
        )
    for pending in await journal.pending_requests():
        if pending.kind in (RequestKind.RETRY, RequestKind.PARK) and pending.subject == record.key:
            raise CommandError(
                f"request #{pending.id} ({pending.kind.value} {record.key}) is still pending"
            )
    user = _requested_by()
    params: dict[str, object] = {}
    if kind is RequestKind.PARK:
        params["reason"] = f"parked by {user} with `autobot actions park`"
    request = await journal.add_request(kind, record.key, requested_by=user, params=params)
    if kind is RequestKind.RETRY:
        what = (
            f"run {record.key} again: an announcement still pending on chain resumes with the "
            "same hash, anything else starts over with a new execution time and hash"
        )
    else:
        what = (
            f"stop {record.key} ({record.state.value}) and leave it parked for a person; a "
            "transaction already submitted may still land"
        )
    if as_json:
        print(json.dumps({"request_id": request.id, "kind": kind.value, "subject": record.key}))
    else:
        print(
            f"{kind.value} of action {record.key} requested as request #{request.id}; "
            f"the daemon will {what}, {_sweep_note(config)}."
        )
    return 0


# --------------------------------------------------------------------------------------------
# autobot incidents


def incidents_command(args: argparse.Namespace) -> int:
    return _run(lambda: _incidents(args))


async def _incidents(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    async with await _open_journal(config) as journal:
        rows = [incident_row(i) for i in await journal.incidents(limit=100_000)]
    print(render_incidents(rows, fmt=args.format))
    return 0


# --------------------------------------------------------------------------------------------
# Requests checked against the chain: cancel, refund, clear-clamp, rotate


def _route_note(checked: CheckedRequest, names: OperatorNames, executes: str) -> str:
    """How an attested request's action will run: its bot, its timelock, when it executes."""
    routing = checked.routing
    if routing is None or routing.operator is None:
        why = "" if routing is None else f" ({routing.note})"
        return (
            f"WARNING: no bot can carry action {checked.planned.action_id} now{why}; the daemon "
            "plans it and escalates it (bot_unavailable) until one can"
        )
    operator, timelock = names.label(routing.operator), routing.timelock_secs or 0
    note = (
        f"announce it via operator {operator} (timelock {timelock} s) and {executes} no "
        f"earlier than ~{span(timelock)} after the announcement"
    )
    return note + (f" (operator {operator} is {routing.note})" if routing.note else "")


async def _request_checked(
    request: OperatorRequest,
    *,
    setup: _Setup,
    kind: RequestKind,
    subject: str,
    params: Mapping[str, object],
    lottery_id: int | None = None,
    asset_id: int | None = None,
) -> tuple[CheckedRequest, int]:
    """Check ``request`` with one chain read, then journal it; returns the check and its id."""
    config = setup.config
    async with await _open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            if lottery_id is not None:
                await _lottery_exists(gateway, lottery_id, config)
            checked = await check_request(
                request,
                config=config,
                names=setup.names,
                journal=journal,
                gateway=gateway,
                lottery_ids=() if lottery_id is None else (lottery_id,),
                asset_ids=() if asset_id is None else (asset_id,),
            )
        record = await journal.add_request(
            kind, subject, requested_by=_requested_by(), params=params
        )
    return checked, record.id


async def _lottery_exists(gateway: SupraGateway, lottery_id: int, config: Config) -> None:
    try:
        async with asyncio.timeout(chain_deadline(config)):
            known = await gateway.lottery_ids()
    except (AutobotError, TimeoutError) as exc:
        raise RequestRefused(f"cannot read the chain ({unreachable(exc, config)})") from None
    if lottery_id not in known:
        listed = ", ".join(str(i) for i in known[-10:]) or "none"
        raise CommandError(
            f"lottery {lottery_id} does not exist (lotteries on chain: {listed}); nothing was "
            "written"
        )


def cancel_command(args: argparse.Namespace) -> int:
    return _run(lambda: _cancel(args))


async def _cancel(args: argparse.Namespace) -> int:
    setup = _setup(args)
    lottery_id, reason = int(args.lottery_id), CANCEL_REASONS[args.reason]
    checked, request_id = await _request_checked(
        CancelRequest(request_id=PROBE_REQUEST_ID, lottery_id=lottery_id, reason=reason),
        setup=setup,
        kind=RequestKind.CANCEL,
        subject=str(lottery_id),
        params={"reason": reason},
        lottery_id=lottery_id,
    )
    config = setup.config
    status = checked.snapshot.lotteries[lottery_id].status.name
    execute = _route_note(checked, setup.names, "execute cancellation::cancel_lottery_admin")
    print(
        f"cancel of lottery {lottery_id} ({status}) with reason {args.reason} (code {reason}) "
        f"requested as request #{request_id}; the daemon will plan it as {checked.planned.key} "
        f"{_sweep_note(config)}, {execute}."
    )
    if config.refunds.auto_refund:
        print("The refund is planned automatically once the cancellation lands (auto_refund).")
    else:
        print(f"refunds.auto_refund is off: then run `autobot refund {lottery_id}`.")
    return 0


def refund_command(args: argparse.Namespace) -> int:
    return _run(lambda: _refund(args))


async def _refund(args: argparse.Namespace) -> int:
    setup = _setup(args)
    lottery_id = int(args.lottery_id)
    checked, request_id = await _request_checked(
        RefundRequest(request_id=PROBE_REQUEST_ID, lottery_id=lottery_id),
        setup=setup,
        kind=RequestKind.REFUND,
        subject=str(lottery_id),
        params={},
        lottery_id=lottery_id,
    )
    recipe = checked.planned.recipe
    progress = checked.snapshot.lotteries[lottery_id].refund
    plan = "every ticket is refunded: archive_canceled_lottery_admin only"
    if isinstance(recipe, RefundPlan) and recipe.batches:
        tickets = sum(b[1] for b in recipe.batches)
        amount = sum(b[2] + b[3] for b in recipe.batches)
        plan = (
            f"{'resuming' if progress.refund_round else 'starting'} at round "
            f"{recipe.first_round}: {len(recipe.batches)} force_refund_batch_admin batch(es) "
            f"({tickets} tickets, {amount} refunded) {span(recipe.cooldown_secs)} apart"
            + (", then archive_canceled_lottery_admin" if recipe.archive else "")
        )
    execute = _route_note(checked, setup.names, "run the first batch")
    print(
        f"refund of lottery {lottery_id} requested as request #{request_id} (so far round "
        f"{progress.refund_round}, {progress.tickets_refunded}/{progress.tickets_sold} tickets "
        f"refunded); the daemon will plan {checked.planned.key}, {plan}, "
        f"{_sweep_note(setup.config)}, {execute}."
    )
    return 0


def clear_clamp_command(args: argparse.Namespace) -> int:
    return _run(lambda: _clear_clamp(args))


async def _clear_clamp(args: argparse.Namespace) -> int:
    setup = _setup(args)
    asset_id = int(args.asset_id)
    checked, request_id = await _request_checked(
        ClearClampRequest(request_id=PROBE_REQUEST_ID, asset_id=asset_id),
        setup=setup,
        kind=RequestKind.CLEAR_CLAMP,
        subject=str(asset_id),
        params={},
        asset_id=asset_id,
    )
    feed = checked.snapshot.feeds[asset_id]
    print(
        f"clear-clamp of asset {asset_id} (last accepted price {feed.price}) requested as "
        f"request #{request_id}; the daemon will call price_feed::clear_clamp as the admin "
        f"(action clamp:{asset_id}:{request_id}) {_sweep_note(setup.config)}; there is no bot "
        "and no timelock for it (Decisions §8). Freshness restarts then without a new price: "
        "check the price source first."
    )
    return 0


def rotate_command(args: argparse.Namespace) -> int:
    return _run(lambda: _rotate(args))


def _operator_address(wanted: str, names: OperatorNames) -> str:
    """A configured operator by name (``A``) or address (any spelling)."""
    if wanted in names.by_name:
        return names.by_name[wanted]
    try:
        address = normalise_address(wanted)
    except ValueError:
        address = None
    if address is not None and address in names.by_name.values():
        return address
    configured = ", ".join(f"{n} ({a})" for n, a in names.by_name.items())
    raise CommandError(
        f"operator {wanted!r} is not configured (keys.operator_key_files: {configured}); "
        "rotate_bot needs the operator's signature, so autobot must hold its key"
    )


async def _current_bot(address: str, setup: _Setup) -> Bot:
    config = setup.config
    async with SupraGateway.from_config(config.chain) as gateway:
        try:
            async with asyncio.timeout(chain_deadline(config)):
                bot = await gateway.get_bot(address)
        except (AutobotError, TimeoutError) as exc:
            raise RequestRefused(f"cannot read the chain ({unreachable(exc, config)})") from None
    if bot is None:
        raise CommandError(
            f"operator {setup.names.label(address)} ({address}) is not registered as a bot on "
            "chain: rotate_bot needs a registered bot (register_bot is not automated)"
        )
    return bot


def _rotate_params(args: argparse.Namespace, bot: Bot) -> dict[str, Any]:
    """Explicit values for every setting: the given ones, the bot's current ones for the rest.

    An unset expiry is stored as the bot's current ``expires_at``; ``--expires-in`` is stored as
    ``expires_in`` (seconds from the daemon's chain time when it plans the rotation).
    """
    allowed = bot.allowed_actions if args.allowed_actions is None else args.allowed_actions
    params: dict[str, Any] = {
        "max_failures": bot.max_failures if args.max_failures is None else args.max_failures,
        "timelock_secs": bot.timelock_secs if args.timelock is None else args.timelock,
        "allowed_actions": list(allowed),
    }
    cron = args.cron
    if cron is None:
        try:
            cron = bot.cron_spec.decode("utf-8")
        except UnicodeDecodeError:
            cron = None  # not text: leaving it unset keeps the bot's current bytes
    if cron is not None:
        params["cron_spec"] = cron
    if args.expires_in is not None:
        params["expires_in"] = args.expires_in
    else:
        params["expires_at"] = bot.expires_at
    return params


async def _rotate(args: argparse.Namespace) -> int:
    setup = _setup(args)
    address = _operator_address(str(args.operator), setup.names)
    bot = await _current_bot(address, setup)
    params = _rotate_params(args, bot)
    probe = RotateRequest(
        request_id=PROBE_REQUEST_ID,
        operator=address,
        max_failures=params["max_failures"],
        timelock_secs=params["timelock_secs"],
        expires_in=args.expires_in,
        allowed_actions=tuple(params["allowed_actions"]),
        cron_spec=params.get("cron_spec"),
    )
    checked, request_id = await _request_checked(
        probe, setup=setup, kind=RequestKind.ROTATE, subject=address, params=params
    )
    label = setup.names.label(address)
    changes = _rotate_changes(bot, checked.planned.recipe.to_json(), checked.snapshot.now)
    print(
        f"rotate of operator {label} ({address}) requested as request #{request_id}:\n"
        f"{changes}\nThe daemon will submit automation::rotate_bot signed by the admin and "
        f"operator {label} (multi-agent) as rotate:{address}:{request_id} "
        f"{_sweep_note(setup.config)}; no timelock applies (no action id, Decisions §8)."
    )
    if bot.has_pending:
        print(
            f"WARNING: the bot has a pending announcement (0x{bot.pending_action_hash.hex()}); "
            "rotate_bot clears it, so the action that announced it starts over."
        )
    return 0


def _rotate_changes(bot: Bot, recipe: Mapping[str, Any], now: int) -> str:
    def cron(hex_text: str) -> str:
        return repr(bytes.fromhex(hex_text).decode("utf-8", errors="replace"))

    rows: list[tuple[str, object, object, str, str]] = [
        ("max_failures", bot.max_failures, recipe["max_failures"], "", ""),
        ("timelock", bot.timelock_secs, recipe["timelock_secs"], "", " s"),
        ("allowed actions", list(bot.allowed_actions), list(recipe["allowed_actions"]), "", ""),
        ("expires", utc(bot.expires_at), utc(recipe["expires_at"]), "", ""),
        ("cron", cron(bot.cron_spec.hex()), cron(recipe["cron_spec_hex"]), "", ""),
    ]
    lines = []
    for name, old, new, _, unit in rows:
        if old == new:
            lines.append(f"  {name}: {new}{unit} (unchanged)")
        else:
            lines.append(f"  {name}: {old}{unit} → {new}{unit}")
    if recipe["expires_at"] != bot.expires_at:
        lines[3] += f", ~{span(recipe['expires_at'] - now)} from now"
    if bot.is_locked_out:
        lines.append(f"  (the bot is locked out at {bot.failure_count} failures)")
    return "\n".join(lines)
