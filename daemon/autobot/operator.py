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
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from autobot.chain.keys import load_keyring
from autobot.chain.supra import SupraGateway
from autobot.clock import SystemClock
from autobot.config import Config, load_config
from autobot.domain.bots import Bot
from autobot.domain.snapshot import Snapshot
from autobot.domain.values import normalise_address
from autobot.errors import EX_CONFIG, AutobotError, ConfigError, JournalError
from autobot.execution.bookkeeping import SLOT_STATES
from autobot.execution.guards import DEFAULT_GUARDS, GuardContext, Guards
from autobot.execution.routing import Router
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    Outcome,
    RequestKind,
    RequestRecord,
)
from autobot.journal.store import SqliteJournal
from autobot.logs import configure_logging
from autobot.planning import ActionKey, PlanContext, PlannedAction, plan_all
from autobot.planning.recipes import RefundPlan, recipe_from_json
from autobot.planning.requests import (
    CancelRequest,
    ClearClampRequest,
    OperatorRequest,
    RefundRequest,
    RotateRequest,
    decide,
    request_from_journal,
)
from autobot.report import (
    ChainFacts,
    JournalFacts,
    OperatorNames,
    Routing,
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

__all__ = [
    "CANCEL_REASONS",
    "CommandError",
    "actions_command",
    "build_plan_context",
    "cancel_command",
    "clear_clamp_command",
    "incidents_command",
    "refund_command",
    "rotate_command",
    "route",
    "status_command",
]

log = structlog.get_logger(__name__)

EXIT_REFUSED = 1
CANCEL_REASONS: Mapping[str, int] = {"vrf-failure": 1, "compliance": 2, "operations": 3}
_FEED_EVENT = "price_feed::PriceFeedUpdatedEvent"
_MAX_EVENT_PAGES = 50  # asset discovery without [feeds] assets: at most 5 000 events read
_PROBE_ID = 0  # request id used while validating (journal ids start at 1)


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


def _run(body: Callable[[], Awaitable[int]]) -> int:
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


def _chain_deadline(config: Config) -> float:
    return max(5.0, 3 * config.chain.request_timeout_seconds)


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
# What the daemon knows: the plan context, routing, the snapshot


async def build_plan_context(
    config: Config, journal: SqliteJournal, *, extra: Sequence[OperatorRequest] = ()
) -> tuple[PlanContext, list[RequestRecord]]:
    """The ``PlanContext`` the daemon's planners see (config values + journal knowledge), plus
    the pending requests it was built from; ``extra`` requests go after the journal's."""
    open_actions = await journal.open_actions()
    parked = await journal.list_actions(states={ActionState.PARKED}, limit=100_000)
    done_fallbacks = [
        a for a in await journal.list_actions(states={ActionState.DONE}, limit=100_000)
        if a.kind == "fallback"
    ]  # fmt: skip
    latest: dict[int, bool] = {}
    for action in done_fallbacks:  # newest first: the first seen per asset is its latest
        if action.subject_id not in latest:
            latest[action.subject_id] = bool(json.loads(action.recipe).get("active"))
    pending = await journal.pending_requests()
    requests: list[OperatorRequest] = []
    for record in pending:
        try:
            request = request_from_journal(
                record.id, record.kind.value, record.subject, json.loads(record.params)
            )
        except ValueError:
            continue  # the daemon rejects it; nothing for the planners
        if request is not None:
            requests.append(request)
    keys = set()
    for action in open_actions:
        try:
            keys.add(ActionKey.parse(action.key))
        except ValueError:
            continue
    ctx = PlanContext(
        chain_id=config.chain.chain_id,
        auto_close_grace_seconds=config.automation.grace_period_seconds,
        num_confirmations=config.draws.num_confirmations,
        winners_batch_limit=config.draws.winners_batch_limit,
        manual_retry_delay_seconds=config.draws.manual_retry_delay_seconds,
        vrf_deadline_seconds=config.draws.vrf_deadline_seconds,
        cancel_on_vrf_failure=config.draws.cancel_on_vrf_failure,
        auto_refund=config.refunds.auto_refund,
        refund_batch_size=config.refunds.batch_size,
        refund_first_batch_sla_seconds=config.refunds.first_batch_sla_seconds,
        refund_complete_sla_seconds=config.refunds.complete_sla_seconds,
        fallback_on_stale=config.feeds.fallback_on_stale,
        fallback_reason=config.feeds.fallback_reason,
        bot_expiry_warning_seconds=config.automation.bot_expiry_warning_seconds,
        bot_pending_grace_seconds=config.automation.bot_pending_grace_seconds,
        open_actions=frozenset(keys),
        escalated_draws=frozenset(
            a.subject_id for a in parked if a.outcome is Outcome.ESCALATED and a.kind == "draw"
        ),
        fallbacks_set_by_autobot=frozenset(a for a, active in latest.items() if active),
        archived_lotteries=await journal.terminal_lotteries(),
        requests=(*requests, *extra),
    )
    return ctx, pending


def route(
    action_id: int,
    bots: Sequence[Bot],
    *,
    holders: Collection[str],
    busy: Collection[str],
    now: int,
    names: OperatorNames,
) -> Routing:
    """The executor's routing (``execution.routing.Router``) without its logging side effects:
    the allowed bot with the smallest timelock whose key autobot holds, sensitive ids only to
    bots with timelock >= 900 s, every guard passed; a busy bot's action waits for its slot."""
    refusals: list[str] = []
    waiting: list[Bot] = []
    for bot in Router(guards=Guards(()), operators=holders).candidates(action_id, bots):
        if bot.timelock_secs > 0 and bot.operator in busy:
            waiting.append(bot)
            continue
        ctx = GuardContext(bot=bot, action_id=action_id, now=now, announcing=bot.timelock_secs > 0)
        refused = next((r for g in DEFAULT_GUARDS if (r := g.check(ctx)) is not None), None)
        if refused is None:
            return Routing(operator=bot.operator, timelock_secs=bot.timelock_secs)
        refusals.append(f"{names.label(bot.operator)}: {refused}")
    if waiting:
        first = waiting[0]
        note = "its pending slot holds another of autobot's actions: waits for it"
        return Routing(operator=first.operator, timelock_secs=first.timelock_secs, note=note)
    reason = "; ".join(refusals) or "no bot autobot holds a key for is allowed this action"
    return Routing(operator=None, note=reason)


async def _asset_ids(config: Config, gateway: SupraGateway) -> tuple[int, ...]:
    """``[feeds] assets``, else every asset seen in ``PriceFeedUpdatedEvent`` (registration
    emits one), reading at most ``_MAX_EVENT_PAGES`` pages."""
    if config.feeds.assets is not None:
        return config.feeds.assets
    found: set[int] = set()
    cursor: str | None = None
    for _ in range(_MAX_EVENT_PAGES):
        page = await gateway.events(_FEED_EVENT, cursor=cursor)
        found.update(int(str(e.data["asset_id"])) for e in page.events if "asset_id" in e.data)
        cursor = page.cursor
        if cursor is None or not page.events:
            break
    return tuple(sorted(found))


async def _snapshot(
    config: Config,
    gateway: SupraGateway,
    journal: SqliteJournal,
    *,
    lottery_ids: Collection[int] | None = None,
    asset_ids: Collection[int] | None = None,
) -> Snapshot:
    """One chain read (within the deadline): every lottery not known terminal and every feed,
    unless the caller names them."""
    async with asyncio.timeout(_chain_deadline(config)):
        if lottery_ids is None:
            terminal = await journal.terminal_lotteries()
            lottery_ids = [i for i in await gateway.lottery_ids() if i not in terminal]
        if asset_ids is None:
            asset_ids = await _asset_ids(config, gateway)
        return await gateway.snapshot(lottery_ids=lottery_ids, asset_ids=asset_ids)


def _unreachable(exc: BaseException, config: Config) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {_chain_deadline(config):g} s"
    return f"{type(exc).__name__}: {exc}"


def _busy(open_actions: Sequence[ActionRecord]) -> set[str]:
    return {a.operator for a in open_actions if a.operator and a.state in SLOT_STATES}


def _routes(
    actions: Sequence[PlannedAction],
    snapshot: Snapshot,
    names: OperatorNames,
    open_actions: Sequence[ActionRecord],
) -> dict[str, Routing]:
    busy = _busy(open_actions)
    holders = set(names.by_name.values())
    return {
        str(a.key): route(
            int(a.action_id), snapshot.bots, holders=holders, busy=busy, now=snapshot.now,
            names=names,
        )
        for a in actions
        if a.action_id is not None
    }  # fmt: skip


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
                snapshot = await _snapshot(config, gateway, journal)
        except (AutobotError, TimeoutError) as exc:
            error = _unreachable(exc, config)
        else:
            result = plan_all(snapshot, ctx)
            routes = _routes(result.actions, snapshot, names, open_actions)
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
# Requests that need one chain read: cancel, refund, clear-clamp, rotate


@dataclass(frozen=True, slots=True, kw_only=True)
class _Checked:
    """A request the daemon's planner accepts, and how it would be carried out now."""

    planned: PlannedAction
    routing: Routing | None  # None: no bot attestation (admin call gated locally)
    snapshot: Snapshot


async def _check(
    config: Config,
    names: OperatorNames,
    journal: SqliteJournal,
    gateway: SupraGateway,
    request: OperatorRequest,
    *,
    lottery_ids: Collection[int] = (),
    asset_ids: Collection[int] = (),
) -> _Checked:
    """Run the daemon's request planner on a fresh snapshot with ``request`` appended."""
    try:
        snapshot = await _snapshot(
            config, gateway, journal, lottery_ids=lottery_ids, asset_ids=asset_ids
        )
    except (AutobotError, TimeoutError) as exc:
        raise CommandError(
            f"cannot read the chain ({_unreachable(exc, config)}): this request is validated "
            "against the chain first; nothing was written"
        ) from None
    ctx, _ = await build_plan_context(config, journal, extra=(request,))
    outcome = decide(snapshot, ctx)
    rejected = next((r for r in outcome.rejected if r.request_id == _PROBE_ID), None)
    if rejected is not None:
        raise CommandError(f"refused: {rejected.reason}; nothing was written")
    planned = next(a for a in outcome.actions if a.request_id == _PROBE_ID)
    existing = await journal.get_action(str(planned.key))
    if existing is not None and not existing.is_open:
        hint = (
            f"; run it again with `autobot actions retry {existing.key}`"
            if existing.state in (ActionState.PARKED, ActionState.FAILED)
            else ""
        )
        raise CommandError(
            f"refused: the daemon would plan {planned.key}, which the journal already has "
            f"({existing.state.value}){hint}; nothing was written"
        )
    routing = None
    if planned.action_id is not None:
        routing = route(
            int(planned.action_id),
            snapshot.bots,
            holders=set(names.by_name.values()),
            busy=_busy(await journal.open_actions()),
            now=snapshot.now,
            names=names,
        )
    return _Checked(planned=planned, routing=routing, snapshot=snapshot)


def _attested_note(checked: _Checked, names: OperatorNames, executes: str) -> str:
    routing = checked.routing
    if routing is None or routing.operator is None:
        why = "" if routing is None else f" ({routing.note})"
        return (
            f"WARNING: no bot can carry action {checked.planned.action_id} now{why}; the daemon "
            "plans it and escalates (bot_unavailable) until a bot can"
        )
    timelock = routing.timelock_secs or 0
    note = (
        f"announce it via operator {names.label(routing.operator)} (timelock {timelock} s) and "
        f"{executes} no earlier than ~{span(timelock)} after the announcement"
    )
    if routing.note:
        note += f" ({names.label(routing.operator)}: {routing.note})"
    return note


async def _lottery_ids_or_refuse(gateway: SupraGateway, lottery_id: int, config: Config) -> None:
    try:
        async with asyncio.timeout(_chain_deadline(config)):
            known = await gateway.lottery_ids()
    except (AutobotError, TimeoutError) as exc:
        raise CommandError(
            f"cannot read the chain ({_unreachable(exc, config)}); nothing was written"
        ) from None
    if lottery_id not in known:
        listed = ", ".join(str(i) for i in known[-10:]) or "none"
        raise CommandError(f"lottery {lottery_id} does not exist (lotteries: {listed})")


def cancel_command(args: argparse.Namespace) -> int:
    return _run(lambda: _cancel(args))


async def _cancel(args: argparse.Namespace) -> int:
    setup = _setup(args)
    config, names = setup.config, setup.names
    lottery_id, reason = int(args.lottery_id), CANCEL_REASONS[args.reason]
    probe = CancelRequest(request_id=_PROBE_ID, lottery_id=lottery_id, reason=reason)
    async with await _open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            await _lottery_ids_or_refuse(gateway, lottery_id, config)
            checked = await _check(config, names, journal, gateway, probe, lottery_ids=[lottery_id])
        request = await journal.add_request(
            RequestKind.CANCEL,
            str(lottery_id),
            requested_by=_requested_by(),
            params={"reason": reason},
        )
    status = checked.snapshot.lotteries[lottery_id].status.name
    print(
        f"cancel of lottery {lottery_id} ({status}; reason {args.reason}, code {reason}) "
        f"requested as request #{request.id}; the daemon will plan it as {checked.planned.key} "
        f"{_sweep_note(config)}, "
        f"{_attested_note(checked, names, 'execute cancellation::cancel_lottery_admin')}."
    )
    if config.refunds.auto_refund:
        print("After the cancellation the daemon plans the refund by itself (refunds.auto_refund).")
    else:
        print(f"refunds.auto_refund is off: request the refund with `autobot refund {lottery_id}`.")
    return 0


def refund_command(args: argparse.Namespace) -> int:
    return _run(lambda: _refund(args))


async def _refund(args: argparse.Namespace) -> int:
    setup = _setup(args)
    config, names = setup.config, setup.names
    lottery_id = int(args.lottery_id)
    probe = RefundRequest(request_id=_PROBE_ID, lottery_id=lottery_id)
    async with await _open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            await _lottery_ids_or_refuse(gateway, lottery_id, config)
            checked = await _check(config, names, journal, gateway, probe, lottery_ids=[lottery_id])
        request = await journal.add_request(
            RequestKind.REFUND, str(lottery_id), requested_by=_requested_by(), params={}
        )
    recipe = checked.planned.recipe
    progress = checked.snapshot.lotteries[lottery_id].refund
    if isinstance(recipe, RefundPlan) and recipe.batches:
        tickets = sum(b[1] for b in recipe.batches)
        amount = sum(b[2] + b[3] for b in recipe.batches)
        start = "starting" if progress.refund_round == 0 else "resuming"
        plan = (
            f"{start} at round {recipe.first_round}: {len(recipe.batches)} batch(es) of "
            f"force_refund_batch_admin ({tickets} tickets, {amount} refunded), "
            f"{span(recipe.cooldown_secs)} apart"
            + (", then archive_canceled_lottery_admin" if recipe.archive else "")
        )
    else:
        plan = "every ticket is refunded: archive_canceled_lottery_admin only"
    print(
        f"refund of lottery {lottery_id} requested as request #{request.id} "
        f"(round {progress.refund_round}, {progress.tickets_refunded}/{progress.tickets_sold} "
        f"tickets refunded so far); the daemon will plan {checked.planned.key} — {plan} — "
        f"{_sweep_note(config)}, {_attested_note(checked, names, 'run the first batch')}."
    )
    return 0


def clear_clamp_command(args: argparse.Namespace) -> int:
    return _run(lambda: _clear_clamp(args))


async def _clear_clamp(args: argparse.Namespace) -> int:
    setup = _setup(args)
    config = setup.config
    asset_id = int(args.asset_id)
    probe = ClearClampRequest(request_id=_PROBE_ID, asset_id=asset_id)
    async with await _open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            checked = await _check(
                config, setup.names, journal, gateway, probe, asset_ids=[asset_id]
            )
        request = await journal.add_request(
            RequestKind.CLEAR_CLAMP, str(asset_id), requested_by=_requested_by(), params={}
        )
    feed = checked.snapshot.feeds[asset_id]
    print(
        f"clear-clamp of asset {asset_id} (price {feed.price}, clamped) requested as request "
        f"#{request.id}; the daemon will call price_feed::clear_clamp as the admin as "
        f"clamp:{asset_id}:{request.id} {_sweep_note(config)}, with no bot and no timelock "
        "(Decisions §8). The feed's freshness restarts then, without a new price: check the "
        "price source first."
    )
    return 0


def rotate_command(args: argparse.Namespace) -> int:
    return _run(lambda: _rotate(args))


def _cron_text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


async def _rotate(args: argparse.Namespace) -> int:
    setup = _setup(args)
    config, names = setup.config, setup.names
    wanted = str(args.operator)
    address = names.by_name.get(wanted)
    if address is None and wanted.lower().startswith("0x"):
        address = next((a for a in names.by_name.values() if _same_address(a, wanted)), None)
    if address is None:
        configured = ", ".join(f"{n} ({a})" for n, a in names.by_name.items())
        raise CommandError(
            f"operator {wanted!r} is not configured (keys.operator_key_files: {configured}); "
            "rotate_bot needs the operator's signature, so autobot must hold its key"
        )
    async with await _open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            try:
                async with asyncio.timeout(_chain_deadline(config)):
                    bot = await gateway.get_bot(address)
            except (AutobotError, TimeoutError) as exc:
                raise CommandError(
                    f"cannot read the chain ({_unreachable(exc, config)}); nothing was written"
                ) from None
            if bot is None:
                raise CommandError(
                    f"operator {names.label(address)} ({address}) is not registered as a bot "
                    "on chain: rotate_bot needs a registered bot (register_bot is not automated)"
                )
            params = _rotate_params(args, bot)
            probe = RotateRequest(
                request_id=_PROBE_ID,
                operator=address,
                max_failures=params["max_failures"],
                timelock_secs=params["timelock_secs"],
                expires_in=args.expires_in,
                allowed_actions=tuple(params["allowed_actions"]),
                cron_spec=params.get("cron_spec"),
            )
            checked = await _check(config, names, journal, gateway, probe)
        request = await journal.add_request(
            RequestKind.ROTATE, address, requested_by=_requested_by(), params=params
        )
    recipe = json.loads(json.dumps(checked.planned.recipe.to_json()))
    print(
        f"rotate of operator {names.label(address)} ({address}) requested as request "
        f"#{request.id}:\n{_rotate_changes(bot, recipe, checked.snapshot.now)}\n"
        f"The daemon will submit automation::rotate_bot signed by the admin and operator "
        f"{names.label(address)} (multi-agent) as rotate:{address}:{request.id} "
        f"{_sweep_note(config)}; no timelock applies (no action id, Decisions §8)."
    )
    if bot.has_pending:
        print(
            f"WARNING: the bot has a pending announcement (0x{bot.pending_action_hash.hex()}); "
            "rotate_bot clears it, so the action that announced it starts over."
        )
    return 0


def _same_address(a: str, b: str) -> bool:
    try:
        return normalise_address(a) == normalise_address(b)
    except ValueError:
        return False


def _rotate_params(args: argparse.Namespace, bot: Bot) -> dict[str, Any]:
    """Explicit values for every setting: the given ones, the bot's current ones for the rest."""
    params: dict[str, Any] = {
        "max_failures": bot.max_failures if args.max_failures is None else args.max_failures,
        "timelock_secs": bot.timelock_secs if args.timelock is None else args.timelock,
        "allowed_actions": list(
            bot.allowed_actions if args.allowed_actions is None else args.allowed_actions
        ),
    }
    cron = args.cron if args.cron is not None else _cron_text(bot.cron_spec)
    if cron is not None:  # a current spec that is not UTF-8 text is kept by leaving it unset
        params["cron_spec"] = cron
    if args.expires_in is not None:
        params["expires_in"] = args.expires_in
    else:
        params["expires_at"] = bot.expires_at
    return params


def _rotate_changes(bot: Bot, recipe: Mapping[str, Any], now: int) -> str:
    rows = [
        ("max_failures", bot.max_failures, recipe["max_failures"], ""),
        ("timelock_secs", bot.timelock_secs, recipe["timelock_secs"], " s"),
        ("allowed_actions", list(bot.allowed_actions), recipe["allowed_actions"], ""),
        ("expires_at", bot.expires_at, recipe["expires_at"], ""),
        ("cron_spec", bot.cron_spec.hex(), recipe["cron_spec_hex"], ""),
    ]
    lines = []
    for name, old, new, unit in rows:
        shown_old, shown_new = old, new
        if name == "expires_at":
            shown_old, shown_new = utc(old), f"{utc(new)} (~{span(new - now)} from now)"
        if name == "cron_spec":
            shown_old = repr(bytes.fromhex(old).decode("utf-8", errors="replace"))
            shown_new = repr(bytes.fromhex(new).decode("utf-8", errors="replace"))
        if old == new:
            change = f"{shown_new}{unit} (unchanged)"
        else:
            change = f"{shown_old}{unit} → {shown_new}{unit}"
        lines.append(f"  {name}: {change}")
    if bot.is_locked_out:
        lines.append(f"  (the bot is locked out at {bot.failure_count} failures)")
    return "\n".join(lines)
