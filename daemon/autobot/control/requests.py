"""Operator requests checked against the chain: cancel, refund, clear-clamp, bot rotate, vrf resume,
roles cleanup.

Each command reads the chain once, runs the daemon's own request planner
(``autobot.control.survey.check_request``) and, only if the daemon would carry the request
out, journals it and says what will happen and when. Refused → exit 1, nothing written.

=====================  ===============  ===========  ========================================
command                ``RequestKind``  subject      params
=====================  ===============  ===========  ========================================
``cancel L --reason``  ``cancel``       lottery id   ``{"reason": 1|2|3}`` (vrf-failure,
                                                     compliance, operations)
``refund L``           ``refund``       lottery id   ``{}`` (start, or resume from the chain's
                                                     refund round)
``feed clear-clamp A`` ``clear-clamp``  asset id     ``{}``
``roles cleanup``      ``cleanup``      ``0``        ``{}``
``bot rotate OP``      ``rotate``       0x address   ``max_failures``, ``timelock_secs``,
                                                     ``allowed_actions``, ``cron_spec`` (text),
                                                     and ``expires_in`` (seconds from the
                                                     daemon's chain time) when given, else
                                                     ``expires_at`` (the current expiry)
``vrf resume``         ``unpause``      ``0``        ``{}`` (refused while the deposit is short)
=====================  ===============  ===========  ========================================

A rotation stores an explicit value for every setting: options left unset take the bot's
current on-chain values, read when the request is made. ``OP`` is a configured operator name
(``A``) or its address: ``rotate_bot`` is multi-agent, so autobot must hold the operator's key.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import Any

from autobot.chain.gateway import ChainGateway
from autobot.chain.supra import SupraGateway
from autobot.config import Config
from autobot.control.console import (
    CommandError,
    Setup,
    open_journal,
    requested_by,
    run,
    setup,
    span,
    sweep_note,
    utc,
)
from autobot.control.survey import (
    PROBE_REQUEST_ID,
    CheckedRequest,
    OperatorNames,
    RequestRefused,
    chain_deadline,
    check_request,
    unreachable,
)
from autobot.domain.bots import Bot
from autobot.domain.values import normalise_address
from autobot.errors import AutobotError
from autobot.journal.records import RequestKind
from autobot.planning.recipes import RefundPlan
from autobot.planning.requests import (
    CancelRequest,
    CleanupRequest,
    ClearClampRequest,
    OperatorRequest,
    RefundRequest,
    RotateRequest,
    UnpauseRequest,
)

__all__ = [
    "CANCEL_REASONS",
    "cancel_command",
    "clear_clamp_command",
    "refund_command",
    "resume_command",
    "roles_cleanup_command",
    "rotate_command",
]

CANCEL_REASONS: Mapping[str, int] = {"vrf-failure": 1, "compliance": 2, "operations": 3}
"""``--reason`` → ``cancel_lottery_admin``'s reason code (docs/package.md §4)."""


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
    ready: Setup,
    kind: RequestKind,
    subject: str,
    params: Mapping[str, object],
    lottery_id: int | None = None,
    asset_id: int | None = None,
) -> tuple[CheckedRequest, int]:
    """Check ``request`` with one chain read, then journal it; returns the check and its id."""
    config = ready.config
    async with await open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            if lottery_id is not None:
                await _lottery_exists(gateway, lottery_id, config)
            checked = await check_request(
                request,
                config=config,
                names=ready.names,
                journal=journal,
                gateway=gateway,
                lottery_ids=() if lottery_id is None else (lottery_id,),
                asset_ids=() if asset_id is None else (asset_id,),
            )
        record = await journal.add_request(
            kind, subject, requested_by=requested_by(), params=params
        )
    return checked, record.id


async def _lottery_exists(gateway: ChainGateway, lottery_id: int, config: Config) -> None:
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
    return run(lambda: _cancel(args))


async def _cancel(args: argparse.Namespace) -> int:
    ready = setup(args)
    lottery_id, reason = int(args.lottery_id), CANCEL_REASONS[args.reason]
    checked, request_id = await _request_checked(
        CancelRequest(request_id=PROBE_REQUEST_ID, lottery_id=lottery_id, reason=reason),
        ready=ready,
        kind=RequestKind.CANCEL,
        subject=str(lottery_id),
        params={"reason": reason},
        lottery_id=lottery_id,
    )
    config = ready.config
    status = checked.snapshot.lotteries[lottery_id].status.name
    execute = _route_note(checked, ready.names, "execute cancellation::cancel_lottery_admin")
    print(
        f"cancel of lottery {lottery_id} ({status}) with reason {args.reason} (code {reason}) "
        f"requested as request #{request_id}; the daemon will plan it as {checked.planned.key} "
        f"{sweep_note(config)}, {execute}."
    )
    if config.refunds.auto_refund:
        print("The refund is planned automatically once the cancellation lands (auto_refund).")
    else:
        print(f"refunds.auto_refund is off: then run `autobot refund {lottery_id}`.")
    return 0


def refund_command(args: argparse.Namespace) -> int:
    return run(lambda: _refund(args))


async def _refund(args: argparse.Namespace) -> int:
    ready = setup(args)
    lottery_id = int(args.lottery_id)
    checked, request_id = await _request_checked(
        RefundRequest(request_id=PROBE_REQUEST_ID, lottery_id=lottery_id),
        ready=ready,
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
    execute = _route_note(checked, ready.names, "run the first batch")
    print(
        f"refund of lottery {lottery_id} requested as request #{request_id} (so far round "
        f"{progress.refund_round}, {progress.tickets_refunded}/{progress.tickets_sold} tickets "
        f"refunded); the daemon will plan {checked.planned.key}, {plan}, "
        f"{sweep_note(ready.config)}, {execute}."
    )
    return 0


def clear_clamp_command(args: argparse.Namespace) -> int:
    return run(lambda: _clear_clamp(args))


async def _clear_clamp(args: argparse.Namespace) -> int:
    ready = setup(args)
    asset_id = int(args.asset_id)
    checked, request_id = await _request_checked(
        ClearClampRequest(request_id=PROBE_REQUEST_ID, asset_id=asset_id),
        ready=ready,
        kind=RequestKind.CLAMP,
        subject=str(asset_id),
        params={},
        asset_id=asset_id,
    )
    feed = checked.snapshot.feeds[asset_id]
    print(
        f"clear-clamp of asset {asset_id} (last accepted price {feed.price}) requested as "
        f"request #{request_id}; the daemon will call price_feed::clear_clamp as the admin "
        f"(action clamp:{asset_id}:{request_id}) {sweep_note(ready.config)}; there is no bot "
        "and no timelock for it (docs/decisions.md §8). Freshness restarts then without a new price: "
        "check the price source first."
    )
    return 0


def roles_cleanup_command(args: argparse.Namespace) -> int:
    return run(lambda: _roles_cleanup(args))


async def _roles_cleanup(args: argparse.Namespace) -> int:
    ready = setup(args)
    _, request_id = await _request_checked(
        CleanupRequest(request_id=PROBE_REQUEST_ID),
        ready=ready,
        kind=RequestKind.CLEANUP,
        subject="0",
        params={},
    )
    print(
        f"cleanup of expired partner and premium caps requested as request #{request_id}; the "
        "daemon will call roles::cleanup_expired_admin as the admin (action "
        f"cleanup:0:{request_id}) {sweep_note(ready.config)}; there is no bot and no timelock "
        "for it. It removes every cap expired at the daemon's chain time (and partner caps "
        "without budget) and emits their revoke events."
    )
    return 0


def rotate_command(args: argparse.Namespace) -> int:
    return run(lambda: _rotate(args))


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


async def _current_bot(address: str, ready: Setup) -> Bot:
    config = ready.config
    async with SupraGateway.from_config(config.chain) as gateway:
        try:
            async with asyncio.timeout(chain_deadline(config)):
                bot = await gateway.get_bot(address)
        except (AutobotError, TimeoutError) as exc:
            raise RequestRefused(f"cannot read the chain ({unreachable(exc, config)})") from None
    if bot is None:
        raise CommandError(
            f"operator {ready.names.label(address)} ({address}) is not registered as a bot on "
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
    ready = setup(args)
    address = _operator_address(str(args.operator), ready.names)
    bot = await _current_bot(address, ready)
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
        probe, ready=ready, kind=RequestKind.ROTATE, subject=address, params=params
    )
    label = ready.names.label(address)
    changes = _rotate_changes(bot, checked.planned.recipe.to_json(), checked.snapshot.now)
    print(
        f"rotate of operator {label} ({address}) requested as request #{request_id}:\n"
        f"{changes}\nThe daemon will submit automation::rotate_bot signed by the admin and "
        f"operator {label} (multi-agent) as rotate:{address}:{request_id} "
        f"{sweep_note(ready.config)}; no timelock applies (no action id, docs/decisions.md §8)."
    )
    if bot.has_pending:
        print(
            f"WARNING: the bot has a pending announcement (0x{bot.pending_action_hash.hex()}); "
            "rotate_bot clears it, so the action that announced it starts over."
        )
    return 0


def _rotate_changes(bot: Bot, recipe: Mapping[str, Any], now: int) -> str:
    """Each setting, current → requested (as the planner resolved it)."""

    def cron(hex_text: str) -> str:
        return repr(bytes.fromhex(hex_text).decode("utf-8", errors="replace"))

    expires = utc(recipe["expires_at"])
    if recipe["expires_at"] != bot.expires_at:
        expires = f"{expires} (~{span(recipe['expires_at'] - now)} from now)"
    rows: list[tuple[str, object, object]] = [
        ("max_failures", bot.max_failures, recipe["max_failures"]),
        ("timelock", f"{bot.timelock_secs} s", f"{recipe['timelock_secs']} s"),
        ("allowed actions", list(bot.allowed_actions), list(recipe["allowed_actions"])),
        ("expires", utc(bot.expires_at), expires),
        ("cron", cron(bot.cron_spec.hex()), cron(recipe["cron_spec_hex"])),
    ]
    lines = [
        f"  {name}: {new} (unchanged)" if old == new else f"  {name}: {old} → {new}"
        for name, old, new in rows
    ]
    if bot.is_locked_out:
        lines.append(f"  (the bot is locked out at {bot.failure_count} failures)")
    return "\n".join(lines)


def resume_command(args: argparse.Namespace) -> int:
    return run(lambda: _resume(args))


async def _resume(args: argparse.Namespace) -> int:
    ready = setup(args)
    checked, request_id = await _request_checked(
        UnpauseRequest(request_id=PROBE_REQUEST_ID),
        ready=ready,
        kind=RequestKind.UNPAUSE,
        subject="0",
        params={},
    )
    deposit = checked.snapshot.deposit
    execute = _route_note(checked, ready.names, "execute vrf_deposit::resume_requests")
    floor = f", floor {deposit.effective_floor}" if deposit.effective_floor else ""
    print(
        f"resume of VRF requests (paused since {utc(deposit.paused_since_ts)}; effective balance "
        f"{deposit.effective_balance}, required minimum {deposit.required_minimum}{floor}) "
        f"requested as request #{request_id}; the daemon will plan it as unpause:0:{request_id} "
        f"(action 5, UNPAUSE) {sweep_note(ready.config)}, {execute}."
    )
    return 0
