"""``autobot status [--json]``: what the chain and the journal say, and what the daemon does next.

One story, from one chain read and one planning pass (``autobot.control.survey``): the chain
(id, time, height, status counters); the bots (configured name, address, failures of max,
pending announcement and when it may execute, timelock, expiry, alert states); the lotteries
that need work, each with its planned actions (key, action id, the bot routing would pick,
docs/decisions.md §8), its actions in progress and its escalations; refund progress with the SLA; the
price feeds (price, age, stale/clamp/fallback); and the journal's backlog (open actions by
state, parked and failed actions, pending requests and whether the planner would reject them).

Times (two clocks): a chain-time moment is shown as ``chain time …`` and, when it is still
ahead, as when the wall clock is expected to reach it, using the daemon's measured chain pace
(``control.clocks``; the header says where the pace came from); wall-clock times (the
journal's) carry no label. A clamped feed shows the price its last refused update carried and
the threshold (``control.events``), with the command that clears it.

``--json`` prints ``status_report``'s dict: stable keys, bytes as ``0x`` hex; a chain time is an
integer ``X`` (seconds) plus ``X_moment`` = ``{"chain_time", "expected_wall_time"}`` (ISO-8601
UTC, as on the status page); a wall-clock time is ``X_wall`` (ISO-8601 UTC); ``chain.clock`` is
``{"source", "line": {"chain", "wall", "rate"} | null, "read_at_wall"}``. If the chain cannot be
read within the deadline, the chain sections are ``null``, ``chain.error`` says why, the journal
part is still shown and the exit code is 75.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autobot.chain.supra import SupraGateway
from autobot.control.actions import action_row
from autobot.control.clocks import ClockReading, read_clocks
from autobot.control.console import (
    EXIT_UNAVAILABLE,
    action_name,
    from_json,
    open_journal,
    plain,
    run,
    setup,
    short,
    span,
)
from autobot.control.events import ClampRefusal, clamp_refusals
from autobot.control.survey import (
    ChainFacts,
    JournalFacts,
    OperatorNames,
    Routing,
    build_plan_context,
    read_snapshot,
    routes_for,
    unreachable,
)
from autobot.domain.actions import LOTTERY_KINDS
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.errors import AutobotError
from autobot.hints import Hints
from autobot.journal.records import ActionState, RequestRecord
from autobot.planning import Escalation, PlannedAction, plan_all
from autobot.planning.preconditions import manual_schedule_refusals
from autobot.playbook_watch import Finding, PlaybookWatch
from autobot.status.moments import ClockLine, Clocks, Moments, chain_text, iso, pretty

__all__ = ["render_status", "status_command", "status_report"]

Report = dict[str, Any]


def status_command(args: argparse.Namespace) -> int:
    return run(lambda: _status(args))


async def _status(args: argparse.Namespace) -> int:
    ready = setup(args)
    config, names = ready.config, ready.names
    async with await open_journal(config) as journal:
        pending = await journal.pending_requests()
        open_actions = await journal.open_actions()
        parked = await journal.list_actions(states={ActionState.PARKED})
        failed = await journal.list_actions(states={ActionState.FAILED})
        chain: ChainFacts | None = None
        error: str | None = None
        refusals: dict[int, ClampRefusal] = {}
        playbook: PlaybookSeen | None = None
        try:
            async with SupraGateway.from_config(config.chain) as gateway:
                snapshot = await read_snapshot(config, gateway, journal)
                clamped = [a for a, f in snapshot.feeds.items() if f.clamp_active]
                if clamped:
                    refusals = await clamp_refusals(gateway, config, asset_ids=clamped)
                watch = PlaybookWatch(gateway=gateway)  # the daemon's watch, one look
                findings = await watch.observe(snapshot)
                playbook = PlaybookSeen(report=watch.report, findings=findings)
        except (AutobotError, TimeoutError) as exc:
            error = unreachable(exc, config)
        else:
            ctx = await build_plan_context(config, journal, names=names)
            result = plan_all(snapshot, ctx)
            routes = routes_for(result.actions, snapshot, names, open_actions)
            journaled = {}
            for action in result.actions:
                record = await journal.get_action(str(action.key))
                if record is not None:
                    journaled[record.key] = record.state
            chain = ChainFacts(snapshot=snapshot, result=result, routes=routes, journaled=journaled)
        rejects = (
            {}
            if chain is None
            else {r.request_id: r.reason for r in chain.result.rejected_requests}
        )
        facts = JournalFacts(
            path=journal.location,
            open_actions=tuple(open_actions),
            pending_requests=tuple(pending),
            parked=tuple(parked),
            failed=tuple(failed),
            requests_would_reject=rejects,
        )
    wall_now = time.time()
    reading = (
        None
        if chain is None
        else await read_clocks(config, chain_now=chain.snapshot.now, wall_now=wall_now)
    )
    report = status_report(
        config_path=f"{ready.choice.path} ({ready.choice.how})",
        mode=config.automation.mode,
        chain_id=config.chain.chain_id,
        rpc_urls=config.chain.rpc_urls,
        poll_interval_seconds=config.scheduler.poll_interval_seconds,
        names=names,
        chain=chain,
        chain_error=error,
        journal=facts,
        clock=reading,
        refusals=refusals,
        wall_now=wall_now,
        playbook=playbook,
    )
    print(json.dumps(report, indent=2) if args.json else render_status(report, hints=ready.hints))
    return 0 if chain is not None else EXIT_UNAVAILABLE


def _request_row(request: RequestRecord, would_reject: Mapping[int, str]) -> Report:
    return {
        "id": request.id,
        "kind": request.kind.value,
        "subject": request.subject,
        "params": from_json(request.params),
        "requested_by": request.requested_by,
        "requested_wall": iso(request.requested_wall),
        "would_be_rejected": would_reject.get(request.id),
    }


_BOT_KEYS = (
    "failure_count", "max_failures", "failures_left", "success_streak", "reputation_score",
    "timelock_secs", "allowed_actions", "expires_at", "expires_at_moment", "expired", "pending",
    "cron_spec", "last_action_ts", "alerts",
)  # fmt: skip


def _bot_entry(
    address: str, chain: ChainFacts | None, names: OperatorNames, moments: Moments | None
) -> Report:
    bot = None if chain is None else chain.snapshot.bot(address)
    entry: Report = {
        "name": names.name(address),
        "operator": address,
        "registered": None if chain is None else bot is not None,
    } | dict.fromkeys(_BOT_KEYS)
    if bot is None or chain is None:
        return entry
    now = chain.snapshot.now
    moment = moments or Moments(now=now, clock=None)
    pending = None
    if bot.has_pending:
        pending = {
            "action_hash": plain(bot.pending_action_hash),
            "execute_after": bot.pending_execute_after,
            "execute_after_moment": moment(bot.pending_execute_after),
            "ready": bot.pending_ready(now),
        }
    alerts = [plain(a) for a in chain.result.bot_alerts if a.operator == address]
    return entry | {
        "failure_count": bot.failure_count,
        "max_failures": bot.max_failures,
        "failures_left": bot.failures_left,
        "success_streak": bot.success_streak,
        "reputation_score": bot.reputation_score,
        "timelock_secs": bot.timelock_secs,
        "allowed_actions": list(bot.allowed_actions),
        "expires_at": bot.expires_at,
        "expires_at_moment": moment(bot.expires_at),
        "expired": bot.is_expired(now),
        "pending": pending,
        "cron_spec": bot.cron_spec.decode("utf-8", errors="replace"),
        "last_action_ts": bot.last_action_ts,
        "alerts": [{k: a[k] for k in ("kind", "value", "detail")} for a in alerts],
    }


def _planned(action: PlannedAction, chain: ChainFacts, names: OperatorNames) -> Report:
    attested = action.action_id is not None
    routing = chain.routes.get(str(action.key), Routing(operator=None)) if attested else None
    return {
        "key": str(action.key),
        "kind": action.kind.value,
        "action_id": None if action.action_id is None else int(action.action_id),
        "action_name": action_name(action.action_id),
        "subject_id": action.subject_id,
        "bot": None if routing is None else names.name(routing.operator),
        "operator": None if routing is None else routing.operator,
        "timelock_secs": None if routing is None else routing.timelock_secs,
        "route_note": "admin call gated locally, no bot" if routing is None else routing.note,
        "reason": action.reason,
        "due_at": action.due_at,
        "request_id": action.request_id,
        "journaled_state": plain(chain.journaled.get(str(action.key))),
    }


def _escalation(e: Escalation) -> Report:
    return {"kind": e.kind, "subject": e.subject, "reason": e.reason, "since": e.since}


def _next_hint(view: LotteryView, clocks: Clocks) -> str:
    """What comes next for a lottery with no work now."""
    match view.status.name:
        case "ACTIVE":
            hand = "" if view.config.auto_close.enabled else "; closing by hand"
            return f"sales end {clocks.moment(view.config.sales_end)}{hand}"
        case "DRAW_REQUESTED":
            return "waiting for the VRF callback"
        case "PAYOUT":
            return "payouts are the treasury's (monitored)"
        case "CANCELED":
            return "archived" if view.archived else "refund pending"
    return "nothing to do now"


def _lotteries(
    chain: ChainFacts, journal: JournalFacts, names: OperatorNames, clocks: Clocks
) -> tuple[list[Report], list[Report]]:
    """Lotteries with planned, in-progress or escalated work; and the rest."""
    needing: list[Report] = []
    others: list[Report] = []
    for lottery_id, view in sorted(chain.snapshot.lotteries.items()):
        entry: Report = {
            "lottery_id": lottery_id,
            "status": view.status.name,
            "tickets_sold": view.tickets_sold,
            "sales_end": view.config.sales_end,
            "sales_end_moment": _moments(clocks)(view.config.sales_end),
            "vrf_status": view.vrf.status.name,
            "vrf_attempt": view.vrf.attempt,
            "auto_close": "automatic" if view.config.auto_close.enabled else "by hand",
        }
        work = {
            "planned": [
                _planned(a, chain, names)
                for a in chain.result.actions
                if a.key.kind in LOTTERY_KINDS and a.subject_id == lottery_id
            ],
            "in_progress": [
                action_row(r, names)
                for r in journal.open_actions
                if r.kind in LOTTERY_KINDS and r.subject_id == lottery_id
            ],
            "escalations": [
                _escalation(e)
                for e in chain.result.escalations
                if e.kind != "bot_unavailable" and e.subject == lottery_id
            ],
        }
        if any(work.values()):
            needing.append(entry | work)
        else:
            others.append(entry | {"next": _next_hint(view, clocks)})
    return needing, others


def _deposit(chain: ChainFacts, moment: Moments) -> Report:
    """The VRF deposit guard and the DRAW feature switch: what every draw waits on."""
    snapshot = chain.snapshot
    deposit = snapshot.deposit
    draw = manual_schedule_refusals(snapshot)  # the DRAW feature's refusal, if any
    return {
        "requests_paused": deposit.requests_paused,
        "paused_since": deposit.paused_since_ts or None,
        "paused_since_moment": moment(deposit.paused_since_ts) if deposit.requests_paused else None,
        "total_balance": deposit.total_balance,
        "minimum_balance": deposit.minimum_balance,
        "effective_balance": deposit.effective_balance,
        "required_minimum": deposit.required_minimum,
        "effective_floor": deposit.effective_floor,
        "shortfall": deposit.shortfall,
        "draw_feature": f"OFF ({draw[0].name})" if draw else "on",
    }


def _deposit_lines(d: Report, hints: Hints) -> list[str]:
    floor = f", floor {d['effective_floor']}" if d["effective_floor"] else ""
    state = f"PAUSED since {chain_text(d['paused_since'])}" if d["requests_paused"] else "running"
    lines = [
        f"  VRF requests {state}  effective {d['effective_balance']} (required minimum "
        f"{d['required_minimum']}{floor})  total {d['total_balance']}",
        f"  DRAW feature {d['draw_feature']}",
    ]
    if d["requests_paused"]:
        lines.append(
            "     → short: " + d["shortfall"] + " — top up and record a snapshot"
            if d["shortfall"]
            else f"     → the deposit is healthy: {hints('vrf resume')} resumes requests"
        )
    return lines


def _refunds(chain: ChainFacts, moment: Moments) -> list[Report]:
    sla = {s.lottery_id: s for s in chain.result.refund_sla}
    out: list[Report] = []
    for lottery_id, view in sorted(chain.snapshot.lotteries.items()):
        if view.status.name != "CANCELED" and not view.refund.active:
            continue
        p, record, state = view.refund, view.cancellation, sla.get(lottery_id)
        out.append(
            {"lottery_id": lottery_id, "status": view.status.name, "archived": view.archived}
            | plain(p)
            | {
                "remaining_tickets": p.remaining_tickets,
                "amount_refunded": p.amount_refunded,
                "remaining_amount": p.remaining_amount,
                "canceled_ts": None if record is None else record.canceled_ts,
                "cancel_reason": None if record is None else record.reason_code,
                "sla": None
                if state is None
                else plain(state)
                | {
                    "breached": state.breached,
                    "first_batch_due_moment": moment(state.first_batch_due),
                    "completion_due_moment": moment(state.completion_due),
                },
            }
        )
    return out


def _feeds(
    chain: ChainFacts, moment: Moments, refusals: Mapping[int, ClampRefusal]
) -> list[Report]:
    out: list[Report] = []
    for r in chain.result.feed_reports:
        feed = chain.snapshot.feeds[r.asset_id]
        refused = refusals.get(r.asset_id) if feed.clamp_active else None
        out.append(
            plain(feed)
            | plain(r)
            | {
                "last_updated_moment": moment(feed.last_updated_ts),
                "usable": r.usable,
                "refused": None
                if refused is None
                else {
                    "price": refused.new_price,
                    "kept_price": refused.old_price,
                    "move_bps": refused.move_bps,
                    "threshold_bps": refused.threshold_bps,
                    "block_height": refused.block_height,
                    "tx_hash": refused.tx_hash,
                },
            }
        )
    return out


def _moments(clocks: Clocks) -> Moments:
    return Moments(now=clocks.chain_now, clock=clocks.line)


def clocks_of(report: Report) -> Clocks | None:
    """The report's two clocks (``None``: the chain was not read)."""
    chain = report["chain"]
    clock = chain.get("clock")
    if chain["time"] is None or clock is None:
        return None
    line = clock["line"]
    return Clocks(
        chain_now=chain["time"],
        wall_now=clock["read_at_wall"],
        line=None if line is None else ClockLine(**line),
    )


def _journal(journal: JournalFacts, names: OperatorNames) -> Report:
    by_state = Counter(r.state.value for r in journal.open_actions)
    return {
        "path": journal.path,
        "open_actions": len(journal.open_actions),
        "open_by_state": dict(sorted(by_state.items())),
        "open": [action_row(r, names) for r in journal.open_actions],
        "parked": [action_row(r, names) for r in journal.parked],
        "failed": [action_row(r, names) for r in journal.failed],
        "pending_requests": [
            _request_row(r, journal.requests_would_reject) for r in journal.pending_requests
        ],
    }


def status_report(
    *,
    config_path: str,
    mode: str,
    chain_id: int,
    rpc_urls: Sequence[str],
    poll_interval_seconds: float,
    names: OperatorNames,
    chain: ChainFacts | None,
    chain_error: str | None,
    journal: JournalFacts,
    clock: ClockReading | None = None,
    refusals: Mapping[int, ClampRefusal] | None = None,
    wall_now: float | None = None,
    playbook: PlaybookSeen | None = None,
) -> Report:
    """All of ``autobot status`` as one JSON object; chain sections are ``None`` when the chain
    could not be read (``chain.error`` says why)."""
    snapshot = None if chain is None else chain.snapshot
    wall = time.time() if wall_now is None else wall_now
    clocks = None
    if snapshot is not None:
        clocks = (
            clock.clocks if clock is not None else Clocks(chain_now=snapshot.now, wall_now=wall)
        )
    line = None if clocks is None else clocks.line
    report: Report = {
        "config": config_path,
        "mode": mode,
        "poll_interval_seconds": poll_interval_seconds,
        "chain": {
            "reachable": chain is not None,
            "chain_id": chain_id,
            "rpc_urls": list(rpc_urls),
            "time": None if snapshot is None else snapshot.now,
            "time_moment": None if snapshot is None else {"chain_time": iso(snapshot.now)},
            "clock": None
            if clocks is None
            else {
                "source": "unknown pace" if clock is None else clock.source,
                "line": None
                if line is None
                else {"chain": line.chain, "wall": line.wall, "rate": line.rate},
                "read_at_wall": clocks.wall_now,
            },
            "height": None if snapshot is None else snapshot.height,
            "overview": None if snapshot is None else plain(snapshot.overview),
            "error": chain_error,
        },
        "bots": None,
        "lotteries": None,
        "other_lotteries": None,
        "refunds": None,
        "deposit": None,
        "feeds": None,
        "other_planned": None,
        "escalations": None,
        "playbook": None,
        "journal": _journal(journal, names),
    }
    configured = list(names.by_name.values())
    registered = [] if snapshot is None else [b.operator for b in snapshot.bots]
    every = [*registered, *(a for a in configured if a not in registered)]
    moments = None if clocks is None else _moments(clocks)
    report["bots"] = [_bot_entry(a, chain, names, moments) for a in every]
    if chain is None or snapshot is None or clocks is None or moments is None:
        return report
    report["lotteries"], report["other_lotteries"] = _lotteries(chain, journal, names, clocks)
    report["refunds"] = _refunds(chain, moments)
    report["deposit"] = _deposit(chain, moments)
    report["feeds"] = _feeds(chain, moments, refusals or {})
    report["other_planned"] = [
        _planned(a, chain, names) for a in chain.result.actions if a.key.kind not in LOTTERY_KINDS
    ]
    report["escalations"] = [
        _escalation(e)
        for e in chain.result.escalations
        if e.kind == "bot_unavailable" or e.subject not in snapshot.lotteries
    ]
    if playbook is not None:
        report["playbook"] = _playbook(playbook, snapshot)
    return report


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookSeen:
    """One look of the daemon's playbook watch (``playbook_watch.py``) at the snapshot."""

    report: PlaybookReport
    findings: tuple[Finding, ...] = ()


def _playbook(seen: PlaybookSeen, snapshot: Snapshot) -> Report:
    """Sales, payouts and finalization, accounting, roles and dual-write: what the treasury and
    the package's other systems are doing (autobot watches them, never operates them)."""
    r = seen.report
    views = snapshot.lotteries.values()
    return {
        "selling": sorted(v.lottery_id for v in views if v.status == LotteryStatus.ACTIVE),
        "in_payout": [
            {"lottery_id": v.lottery_id, "payout_round": v.winners.payout_round}
            for v in sorted(views, key=lambda v: v.lottery_id)
            if v.status == LotteryStatus.PAYOUT
        ],
        "accounting_checked": len(snapshot.lotteries),
        "accounting_mismatch": {str(i): n for i, n in sorted(r.accounting_mismatch.items()) if n},
        "partner_caps": r.partner_caps,
        "partner_cap_expiring": r.partner_cap_expiring,
        "premium_caps": r.premium_caps,
        "premium_cap_expiring": r.premium_cap_expiring,
        "dual_write": None
        if r.dual_write_enabled is None
        else {
            "enabled": r.dual_write_enabled,
            "expected": r.dual_write_expected,
            "mismatch": r.dual_write_mismatch,
        },
        "findings": [
            {"kind": f.kind.value, "lottery_id": f.lottery_id, "description": f.description}
            for f in seen.findings
        ],
    }


def _playbook_lines(p: Report, hints: Hints) -> list[str]:
    selling = ", ".join(f"#{i}" for i in p["selling"]) or "none"
    paying = "; ".join(f"#{x['lottery_id']} round {x['payout_round']}" for x in p["in_payout"])
    lines = [
        f"  sales: selling {selling} (tickets a minute: sales_rate on /metrics)",
        "  payouts: "
        + (
            f"PAYOUT {paying} — the treasury's batches, then finalize_lottery_admin"
            if paying
            else "no lottery in PAYOUT"
        ),
    ]
    bad = p["accounting_mismatch"]
    lines.append(
        f"  accounting: {len(bad)} of {p['accounting_checked']} live lotteries fail a check "
        f"({hints('accounting')})"
        if bad
        else f"  accounting: all {p['accounting_checked']} live lotteries reconcile"
    )
    expiring = p["partner_cap_expiring"] + p["premium_cap_expiring"]
    lines.append(
        f"  roles: {p['partner_caps']} partner cap(s), {p['premium_caps']} premium cap(s)"
        + (
            f"; {expiring} expiring within 24 h, expired or spent ({hints('roles cleanup')})"
            if expiring
            else ""
        )
    )
    dual = p["dual_write"]
    if dual is None:
        lines.append("  dual-write: the control could not be read")
    else:
        state = "on" if dual["enabled"] else "off"
        mismatch = f", {dual['mismatch']} MISMATCH(ES)" if dual["mismatch"] else ""
        lines.append(
            f"  dual-write: {state}, {dual['expected']} expected hash(es) waiting{mismatch}"
        )
    lines += [f"     {f['description']}" for f in p["findings"]]
    return lines


# --------------------------------------------------------------------------------------------
# Text


def _planned_line(p: Report, hints: Hints) -> str:
    if p["action_id"] is None:
        action, via = p["kind"], "as the admin, no bot attestation"
    else:
        action = f"{p['action_name']}({p['action_id']})"
        if p["operator"] is None:
            via = f"NO BOT CAN CARRY IT: {p['route_note']}"
        else:
            via = f"via bot {_who(p['bot'], p['operator'])} (timelock {p['timelock_secs']} s)"
            via += f", {p['route_note']}" if p["route_note"] else ""
    request = f" [request #{p['request_id']}]" if p["request_id"] is not None else ""
    line = f"next: {p['key']} {action} {via} — {p['reason']}{request}"
    state = p["journaled_state"]
    if state in ("parked", "failed"):
        line += (
            f"\n       BUT {p['key']} is already journaled as {state}: the daemon will not run it"
            f" again by itself ({hints('actions retry ' + p['key'])})"
        )
    elif state is not None:
        line += f"\n       BUT {p['key']} is already journaled as {state}: nothing new will run"
    return line


def _who(name: str | None, address: str | None) -> str:
    """``A (0x3277…7503)``: a bot by its configured name, with its address."""
    if address is None:
        return "-"
    return f"{name or '(not configured)'} ({short(address)})"


def _open_line(a: Report, clocks: Clocks | None) -> str:
    who = f" bot {_who(a['operator_name'], a['operator'])}" if a["operator"] else ""
    when = ""
    if a["execute_at"]:
        at = a["execute_at"]
        when = f", executes {clocks.moment(at) if clocks is not None else chain_text(at)}"
    tries = f", {a['attempts']} attempt(s)" if a["attempts"] else ""
    error = f", last error {a['error_name']}" if a["error_name"] else ""
    return f"in progress: {a['key']} {a['state']}{who}{when}{tries}{error}"


def _bot_lines(b: Report, clocks: Clocks | None) -> list[str]:
    head = f"  {b['name'] or '(no key in config)'}  {b['operator']}"
    if b["registered"] is None:
        return [head + "  (chain not read)"]
    if not b["registered"]:
        return [head + "  NOT REGISTERED on chain"]
    allowed = ",".join(str(a) for a in b["allowed_actions"])
    expires = b["expires_at"]
    expiry = "EXPIRED " if b["expired"] else ""
    expiry += clocks.moment(expires) if clocks is not None else chain_text(expires)
    locked = "  LOCKED OUT" if b["failure_count"] >= b["max_failures"] else ""
    lines = [
        head,
        f"     failures {b['failure_count']}/{b['max_failures']}{locked}  timelock "
        f"{b['timelock_secs']} s  allowed [{allowed}]",
        f"     expires {expiry}",
    ]
    pending = b["pending"]
    if pending is None:
        lines.append("     pending: none")
    else:
        after = pending["execute_after"]
        when = "ready to execute" if pending["ready"] else "executes"
        moment = clocks.moment(after) if clocks is not None else chain_text(after)
        lines.append(f"     pending: {pending['action_hash']} {when} {moment}")
    lines.extend(f"     ALERT {a['kind']}: {a['detail']}" for a in b["alerts"])
    return lines


def _feed_line(f: Report, hints: Hints) -> str:
    flags = [
        name
        for name, on in (
            ("STALE", f["stale"]),
            ("CLAMPED", f["clamped"]),
            (
                "FALLBACK (set by autobot)" if f["fallback_by_autobot"] else "FALLBACK",
                f["fallback"],
            ),
        )
        if on
    ]
    line = (
        f"  asset {f['asset_id']}  price {f['price']} ({f['decimals']} decimals)"
        f"  age {span(f['age_seconds'])} of chain time (window {f['staleness_window']} s)"
        f"  {', '.join(flags) if flags else 'ok'}"
    )
    if f["clamped"]:
        refused = f["refused"]
        threshold = f["clamp_threshold_bps"] / 100
        if refused is not None:
            line += (
                f"\n     refused price {refused['price']} (a move of {refused['move_bps'] / 100:.1f} %"
                f" from {refused['kept_price']}; threshold {threshold:.1f} %) in block "
                f"{refused['block_height']}, tx {refused['tx_hash']}"
            )
        else:
            line += f"\n     threshold {threshold:.1f} % (the refused update is not in the blocks searched)"
        line += (
            f"\n     → confirm the price with its provider, then "
            f"{hints('feed clear-clamp ' + str(f['asset_id']))}"
        )
    return line


def _refund_lines(r: Report, clocks: Clocks | None) -> list[str]:
    lines = [
        f"  lottery {r['lottery_id']}  round {r['refund_round']}"
        f"  tickets {r['tickets_refunded']}/{r['tickets_sold']} refunded"
        f"  amount {r['amount_refunded']}/{r['proceeds_accum']} refunded"
        + ("  archived" if r["archived"] else "")
    ]
    if r["sla"] is not None and clocks is not None:
        s = r["sla"]
        lines.append(
            f"     SLA {s['state']}: first batch due {clocks.moment(s['first_batch_due'])};"
            f" complete due {clocks.moment(s['completion_due'])}"
        )
    return lines


def _section(title: str, lines: Sequence[str]) -> list[str]:
    return ["", title, *(lines or ["  none"])]


def render_status(report: Report, *, hints: Hints | None = None) -> str:
    """``autobot status`` for people."""
    hints = hints or Hints()
    chain = report["chain"]
    clocks = clocks_of(report)
    out = [f"autobot status — config {report['config']}, mode {report['mode']}"]
    if chain["reachable"]:
        o = chain["overview"]
        counts = ", ".join(
            f"{s} {o[s]}"
            for s in ("draft", "active", "closing", "draw_requested", "drawn", "payout",
                      "finalized", "canceled")
            if o[s]
        )  # fmt: skip
        out.append(
            f"chain {chain['chain_id']} at {chain_text(chain['time'])}, height {chain['height']};"
            f" lotteries on chain: {o['total']} ({counts or 'none'})"
        )
        if chain["clock"] is not None:
            out.append(f"clocks: {chain['clock']['source']}")
    else:
        out.append(
            f"chain {chain['chain_id']} UNREACHABLE ({chain['error']}): the journal only (exit 75)"
        )
    out += _section(
        f"Bots ({len(report['bots'])})",
        [ln for b in report["bots"] for ln in _bot_lines(b, clocks)],
    )
    if chain["reachable"]:
        lottery_lines: list[str] = []
        for lot in report["lotteries"]:
            hand = "  CLOSING BY HAND" if lot["auto_close"] == "by hand" else ""
            lottery_lines.append(
                f"  #{lot['lottery_id']} {lot['status']}  {lot['tickets_sold']} tickets"
                f"  VRF {lot['vrf_status']}{hand}"
            )
            lottery_lines += [f"     {_planned_line(p, hints)}" for p in lot["planned"]]
            lottery_lines += [f"     {_open_line(a, clocks)}" for a in lot["in_progress"]]
            lottery_lines += [
                f"     ESCALATED {e['kind']}: {e['reason']}" for e in lot["escalations"]
            ]
        if report["other_lotteries"]:
            rest = "; ".join(
                f"#{o['lottery_id']} {o['status']} ({o['next']})" for o in report["other_lotteries"]
            )
            lottery_lines.append(f"  others: {rest}")
        out += _section(f"Lotteries that need work ({len(report['lotteries'])})", lottery_lines)
        if report["other_planned"]:
            out += _section(
                "Other planned work",
                [f"  {_planned_line(p, hints)}" for p in report["other_planned"]],
            )
        if report["escalations"]:
            out += _section(
                "Escalations",
                [f"  {e['kind']} ({e['subject']}): {e['reason']}" for e in report["escalations"]],
            )
        out += _section("VRF deposit and DRAW feature", _deposit_lines(report["deposit"], hints))
        out += _section(
            "Refunds", [ln for r in report["refunds"] for ln in _refund_lines(r, clocks)]
        )
        out += _section("Price feeds", [_feed_line(f, hints) for f in report["feeds"]])
        if report["playbook"] is not None:
            out += _section(
                "Sales, payouts, roles and dual-write", _playbook_lines(report["playbook"], hints)
            )
    out.append("")
    out += _journal_lines(report["journal"], clocks, hints)
    return "\n".join(out)


def _journal_lines(j: Report, clocks: Clocks | None, hints: Hints) -> list[str]:
    states = ", ".join(f"{state} {n}" for state, n in j["open_by_state"].items())
    out = [
        f"Journal {j['path']}",
        f"  open actions: {j['open_actions']}" + (f" ({states})" if states else ""),
    ]
    out += [f"    {_open_line(a, clocks)}" for a in j["open"]]
    for label in ("parked", "failed"):
        if j[label]:
            first = j[label][0]["key"]
            out.append(
                f"  {label}: {len(j[label])} ({hints('actions retry ' + first)} runs {first} again)"
            )
            out += [
                f"    {a['key']} updated {pretty(a['updated_wall'])}: "
                f"{a['error_name'] or a['error_message'] or 'no error recorded'}"
                for a in j[label][:10]
            ]
    out.append(f"  pending requests: {len(j['pending_requests'])}")
    for r in j["pending_requests"]:
        line = (
            f"    #{r['id']} {r['kind']} {r['subject']} {json.dumps(r['params'])}"
            f" by {r['requested_by']} at {pretty(r['requested_wall'])}"
        )
        if r["would_be_rejected"]:
            line += f" — the daemon would reject it: {r['would_be_rejected']}"
        out.append(line)
    return out
