"""Operator requests checked against the chain: cancel, refund, clear-clamp, bot rotate, vrf resume,
roles cleanup.

Each command reads the chain once, runs the daemon's own request planner
(``autobot.control.survey.check_request``) and, only if the daemon would carry the request
out, describes it as a ``submission.Proposal`` — the calls, the bot that will announce it, the
timelock and when it ends, the side effects — which ``submission.submit`` prints, confirms,
writes and (``--wait``) follows. Refused → exit 1, nothing written.

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

Every request's params may also hold ``note`` (``--note``). A rotation stores an explicit value
for every setting: options left unset take the bot's current on-chain values, read when the
request is made; a rotation that would change nothing (every setting as it is, no pending
announcement to clear) is refused. ``OP`` is a configured operator name (``A``) or its address:
``rotate_bot`` is multi-agent, so autobot must hold the operator's key.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from autobot.chain.gateway import ChainGateway
from autobot.config import Config
from autobot.control.console import (
    CommandError,
    Setup,
    call_text,
    run,
    setup,
)
from autobot.control.events import clamp_refusals
from autobot.control.submission import BotRoute, Proposal, clocks_for, submit
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
from autobot.execution import SLOT_STATES
from autobot.journal.protocol import Journal
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
from autobot.status.moments import Clocks, chain_text, duration_text

__all__ = [
    "CANCEL_REASONS",
    "cancel_command",
    "clear_clamp_command",
    "operator_address",
    "refund_command",
    "resume_command",
    "roles_cleanup_command",
    "rotate_command",
]

CANCEL_REASONS: Mapping[str, int] = {"vrf-failure": 1, "compliance": 2, "operations": 3}
"""``--reason`` → ``cancel_lottery_admin``'s reason code (docs/package.md §4)."""


async def _check(
    request: OperatorRequest,
    *,
    ready: Setup,
    journal: Journal,
    gateway: ChainGateway,
    lottery_id: int | None = None,
    asset_id: int | None = None,
) -> tuple[CheckedRequest, Clocks]:
    """``request`` checked with one chain read (``RequestRefused`` says why not), and both
    clocks at the chain time it was read at."""
    config = ready.config
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
    return checked, await clocks_for(config, checked.snapshot.now)


def _proposal(
    checked: CheckedRequest,
    clocks: Clocks,
    *,
    kind: RequestKind,
    subject: str,
    summary: str,
    effects: Iterable[str],
    params: Mapping[str, object] | None = None,
    route: tuple[BotRoute | None, int | None] = (None, None),
    **rest: Any,
) -> Proposal:
    """The proposal for ``checked``: its calls as sent now, its action key and both clocks filled
    in; ``route`` is ``_route``'s answer (the announcing bot, when it may execute); empty
    effects are left out."""
    bot, executes_after = route
    return Proposal(
        kind=kind,
        subject=subject,
        params=params or {},
        summary=summary,
        calls=_calls(checked, clocks),
        bot=bot,
        executes_after=executes_after,
        effects=tuple(e for e in effects if e),
        action_key=_key(checked),
        clocks=clocks,
        **rest,
    )


async def _lottery_exists(gateway: ChainGateway, lottery_id: int, config: Config) -> None:
    try:
        async with asyncio.timeout(chain_deadline(config)):
            known = await gateway.lottery_ids()
    except (AutobotError, TimeoutError) as exc:
        raise RequestRefused(
            f"cannot read the chain ({unreachable(exc, config)})", unreachable=True
        ) from None
    if lottery_id not in known:
        listed = ", ".join(str(i) for i in known[-10:]) or "none"
        raise CommandError(
            f"lottery {lottery_id} does not exist (lotteries on chain: {listed}); nothing was "
            "written"
        )


def _calls(checked: CheckedRequest, clocks: Clocks) -> tuple[str, ...]:
    """The recipe's calls as the daemon would send them now (times as moments)."""
    execute_at = checked.snapshot.now + (
        0 if checked.routing is None else checked.routing.timelock_secs or 0
    )
    return tuple(call_text(timed.call) for timed in checked.planned.recipe.calls(execute_at))


def _route(
    checked: CheckedRequest, names: OperatorNames, *, refuse_without_bot: bool = True
) -> tuple[BotRoute | None, int | None]:
    """The announcing bot and when the action may execute (chain time), or why no bot can
    (refused, or with ``refuse_without_bot=False`` no route: the caller warns)."""
    routing = checked.routing
    if routing is None:
        return None, None
    if routing.operator is None and not refuse_without_bot:
        return None, None
    if routing.operator is None:
        raise CommandError(
            f"refused: no bot can carry action {checked.planned.action_id} now ({routing.note}); "
            "the daemon would plan it and escalate it until one can; nothing was written"
        )
    timelock = routing.timelock_secs or 0
    bot = BotRoute(
        name=names.name(routing.operator),
        address=routing.operator,
        timelock_secs=timelock,
        note=routing.note,
    )
    return bot, checked.snapshot.now + timelock


def _key(checked: CheckedRequest) -> str:
    """The action's key, ``{id}`` standing for the request id where the key carries it."""
    key = checked.planned.key
    if key.round == PROBE_REQUEST_ID:
        return f"{key.kind.value}:{key.subject}:{{id}}"
    return str(key)


# --------------------------------------------------------------------------------------------
# cancel


def cancel_command(args: argparse.Namespace) -> int:
    return run(lambda: _cancel(args))


async def _cancel(args: argparse.Namespace) -> int:
    ready = setup(args)
    lottery_id, reason = int(args.lottery_id), CANCEL_REASONS[args.reason]

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        checked, clocks = await _check(
            CancelRequest(request_id=PROBE_REQUEST_ID, lottery_id=lottery_id, reason=reason),
            ready=ready,
            journal=journal,
            gateway=gateway,
            lottery_id=lottery_id,
        )
        view = checked.snapshot.lotteries[lottery_id]
        route = _route(checked, ready.names)
        bot = route[0]
        refund = (
            "then its refund is planned automatically once the cancellation lands (auto_refund)"
            if ready.config.refunds.auto_refund
            else f"refunds.auto_refund is off: then run {ready.hints(f'refund {lottery_id}')}"
        )
        effects = (
            f"lottery {lottery_id} ({view.status.name}, {view.tickets_sold} tickets) stops for good; "
            + refund,
            f"bot {bot.name or bot.address}'s pending slot is held until it executes"
            if bot is not None and bot.timelock_secs
            else "",
        )
        return _proposal(
            checked,
            clocks,
            kind=RequestKind.CANCEL,
            subject=str(lottery_id),
            params={"reason": reason},
            summary=(
                f"cancel lottery {lottery_id} ({view.status.name}) with reason {args.reason} "
                f"(code {reason})"
            ),
            route=route,
            effects=effects,
        )

    return await submit(args, ready, propose)


# --------------------------------------------------------------------------------------------
# refund


def refund_command(args: argparse.Namespace) -> int:
    return run(lambda: _refund(args))


async def _refund(args: argparse.Namespace) -> int:
    ready = setup(args)
    lottery_id = int(args.lottery_id)

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        checked, clocks = await _check(
            RefundRequest(request_id=PROBE_REQUEST_ID, lottery_id=lottery_id),
            ready=ready,
            journal=journal,
            gateway=gateway,
            lottery_id=lottery_id,
        )
        recipe = checked.planned.recipe
        progress = checked.snapshot.lotteries[lottery_id].refund
        plan = "every ticket is refunded already: archive_canceled_lottery_admin only"
        if isinstance(recipe, RefundPlan) and recipe.batches:
            tickets = sum(b[1] for b in recipe.batches)
            amount = sum(b[2] + b[3] for b in recipe.batches)
            plan = (
                f"{'resumes' if progress.refund_round else 'starts'} at round "
                f"{recipe.first_round}: {len(recipe.batches)} batch(es), {tickets} tickets and "
                f"{amount} refunded, {duration_text(recipe.cooldown_secs)} apart"
                + (", then the archive" if recipe.archive else "")
            )
        return _proposal(
            checked,
            clocks,
            kind=RequestKind.REFUND,
            subject=str(lottery_id),
            summary=(
                f"refund lottery {lottery_id}: so far round {progress.refund_round}, "
                f"{progress.tickets_refunded}/{progress.tickets_sold} tickets refunded; {plan}"
            ),
            route=_route(checked, ready.names),
            effects=(
                "each batch records refunds the treasury pays out: tell the treasury",
                "one announcement covers every batch (one action hash)",
            ),
        )

    return await submit(args, ready, propose)


# --------------------------------------------------------------------------------------------
# feed clear-clamp


def clear_clamp_command(args: argparse.Namespace) -> int:
    return run(lambda: _clear_clamp(args))


async def _clear_clamp(args: argparse.Namespace) -> int:
    ready = setup(args)
    asset_id = int(args.asset_id)

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        checked, clocks = await _check(
            ClearClampRequest(request_id=PROBE_REQUEST_ID, asset_id=asset_id),
            ready=ready,
            journal=journal,
            gateway=gateway,
            asset_id=asset_id,
        )
        feed = checked.snapshot.feeds[asset_id]
        refused = (await clamp_refusals(gateway, ready.config, asset_ids=(asset_id,))).get(asset_id)
        seen = (
            f"the refused price was {refused.new_price} (a move of {refused.move_bps / 100:.1f} %"
            f" against the threshold {refused.threshold_bps / 100:.1f} %)"
            if refused is not None
            else "the refused price is not in the events searched"
        )
        return _proposal(
            checked,
            clocks,
            kind=RequestKind.CLAMP,
            subject=str(asset_id),
            summary=(
                f"clear the clamp of asset {asset_id}: last accepted price {feed.price} "
                f"({feed.decimals} decimals); {seen}"
            ),
            effects=(
                "signed by the admin; no bot and no timelock (docs/decisions.md §8)",
                "freshness restarts without a new price: the reference stays the last accepted "
                "price, so a larger move must arrive in steps or it clamps again — check the "
                "price source first",
            ),
            extra={
                "refused_price": None if refused is None else refused.new_price,
                "threshold_bps": feed.clamp_threshold_bps,
            },
        )

    return await submit(args, ready, propose)


# --------------------------------------------------------------------------------------------
# roles cleanup


def roles_cleanup_command(args: argparse.Namespace) -> int:
    return run(lambda: _roles_cleanup(args))


async def _roles_cleanup(args: argparse.Namespace) -> int:
    ready = setup(args)

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        checked, clocks = await _check(
            CleanupRequest(request_id=PROBE_REQUEST_ID),
            ready=ready,
            journal=journal,
            gateway=gateway,
        )
        return _proposal(
            checked,
            clocks,
            kind=RequestKind.CLEANUP,
            subject="0",
            summary="remove expired partner and premium caps: roles::cleanup_expired_admin",
            effects=(
                "signed by the admin; no bot and no timelock",
                "removes every cap expired at the daemon's chain time (and partner caps without "
                "budget) and emits their revoke events",
            ),
        )

    return await submit(args, ready, propose)


# --------------------------------------------------------------------------------------------
# bot rotate


def rotate_command(args: argparse.Namespace) -> int:
    return run(lambda: _rotate(args))


def operator_address(wanted: str, names: OperatorNames) -> str:
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


async def _current_bot(address: str, ready: Setup, gateway: ChainGateway) -> Bot:
    config = ready.config
    try:
        async with asyncio.timeout(chain_deadline(config)):
            bot = await gateway.get_bot(address)
    except (AutobotError, TimeoutError) as exc:
        raise RequestRefused(
            f"cannot read the chain ({unreachable(exc, config)})", unreachable=True
        ) from None
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
    address = operator_address(str(args.operator), ready.names)
    label = ready.names.label(address)

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        bot = await _current_bot(address, ready, gateway)
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
        checked, clocks = await _check(probe, ready=ready, journal=journal, gateway=gateway)
        rows, changed = _rotate_changes(bot, checked.planned.recipe.to_json(), clocks)
        effects = [f"signed by the admin and operator {label} (multi-agent); no timelock applies"]
        if bot.has_pending:
            holder = next(
                (
                    a
                    for a in await journal.open_actions()
                    if a.operator == address and a.state in SLOT_STATES
                ),
                None,
            )
            if holder is not None:
                effects.append(
                    f"rotate_bot clears {label}'s pending slot: the announced {holder.key} "
                    "starts over (announced again, a new timelock)"
                )
            else:
                effects.append(
                    f"rotate_bot clears {label}'s pending slot (hash "
                    f"0x{bot.pending_action_hash.hex()[:16]}…), which is not in autobot's "
                    "journal: whoever announced it must announce again"
                )
        if bot.is_locked_out:
            effects.append(
                f"the bot is locked out at {bot.failure_count} failures; rotate_bot keeps the "
                "count, so max_failures must exceed it"
            )
        nothing = None
        if not changed and not bot.has_pending:
            nothing = (
                f"rotating {label} changes nothing: every setting is already as requested and "
                "it has no pending announcement (give --max-failures, --timelock, --expires-in, "
                "--allowed-actions or --cron)"
            )
        return _proposal(
            checked,
            clocks,
            kind=RequestKind.ROTATE,
            subject=address,
            params=params,
            summary=f"rotate bot {label} ({address}):\n" + "\n".join(rows),
            effects=effects,
            changes_nothing=nothing,
        )

    return await submit(args, ready, propose)


def _rotate_changes(bot: Bot, recipe: Mapping[str, Any], clocks: Clocks) -> tuple[list[str], bool]:
    """Each setting, current → requested (as the planner resolved it); and whether any differs."""

    def cron(hex_text: str) -> str:
        return repr(bytes.fromhex(hex_text).decode("utf-8", errors="replace"))

    rows: list[tuple[str, object, object]] = [
        ("max_failures", bot.max_failures, recipe["max_failures"]),
        ("timelock", f"{bot.timelock_secs} s", f"{recipe['timelock_secs']} s"),
        ("allowed actions", list(bot.allowed_actions), list(recipe["allowed_actions"])),
        ("expires", bot.expires_at, recipe["expires_at"]),
        ("cron", cron(bot.cron_spec.hex()), cron(recipe["cron_spec_hex"])),
    ]
    lines = []
    changed = False
    for name, old, new in rows:
        if name == "expires":
            old_text, new_text = chain_text(int(str(old))), clocks.moment(int(str(new)))
        else:
            old_text, new_text = str(old), str(new)
        if old == new:
            lines.append(f"  {name}: {old_text} (unchanged)")
        else:
            changed = True
            lines.append(f"  {name}: {old_text} → {new_text}")
    return lines, changed


# --------------------------------------------------------------------------------------------
# vrf resume


def resume_command(args: argparse.Namespace) -> int:
    return run(lambda: _resume(args))


async def _resume(args: argparse.Namespace) -> int:
    ready = setup(args)

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        checked, clocks = await _check(
            UnpauseRequest(request_id=PROBE_REQUEST_ID),
            ready=ready,
            journal=journal,
            gateway=gateway,
        )
        deposit = checked.snapshot.deposit
        floor = f", floor {deposit.effective_floor}" if deposit.effective_floor else ""
        route = _route(checked, ready.names, refuse_without_bot=False)
        bot = route[0]
        routing = checked.routing
        nobody = (
            f"WARNING: no bot can carry action {checked.planned.action_id} now ({routing.note}); "
            "the daemon plans it and escalates it (bot_unavailable) until one can"
            if routing is not None and routing.operator is None
            else ""
        )
        return _proposal(
            checked,
            clocks,
            kind=RequestKind.UNPAUSE,
            subject="0",
            summary=(
                f"resume VRF requests (paused since {chain_text(deposit.paused_since_ts)}; "
                f"effective balance {deposit.effective_balance}, required minimum "
                f"{deposit.required_minimum}{floor}): action 5, UNPAUSE"
            ),
            route=route,
            effects=(
                nobody,
                "due draws are requested again at the next sweep after it executes",
                f"bot {bot.name or bot.address}'s pending slot is held until it executes"
                if bot is not None and bot.timelock_secs
                else "",
            ),
        )

    return await submit(args, ready, propose)
