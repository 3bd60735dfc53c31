"""``autobot status [--json]``: what the chain and the journal say, and what the daemon does next.

One story, from one chain read and one planning pass (``autobot.control.survey``): the chain
(id, time, height, status counters); the bots (configured name, address, failures of max,
pending announcement and when it may execute, timelock, expiry, alert states); the lotteries
that need work, each with its planned actions (key, action id, the bot routing would pick,
docs/decisions.md §8), its actions in progress and its escalations; refund progress with the SLA; the
price feeds (price, age, stale/clamp/fallback); and the journal's backlog (open actions by
state, parked and failed actions, pending requests and whether the planner would reject them).

``--json`` prints ``status_report``'s dict: stable keys, bytes as ``0x`` hex, times as integers
plus ``*_utc``. If the chain cannot be read within the deadline, the chain sections are
``null``, ``chain.error`` says why, the journal part is still shown and the exit code is 0.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from autobot.chain.supra import SupraGateway
from autobot.control.actions import action_row
from autobot.control.console import (
    action_name,
    from_json,
    open_journal,
    plain,
    relative,
    run,
    setup,
    short,
    span,
    utc,
)
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
from autobot.domain.snapshot import LotteryView
from autobot.errors import AutobotError
from autobot.journal.records import ActionState, RequestRecord
from autobot.planning import Escalation, PlannedAction, plan_all
from autobot.planning.preconditions import manual_schedule_refusals

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
        try:
            async with SupraGateway.from_config(config.chain) as gateway:
                snapshot = await read_snapshot(config, gateway, journal)
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


def _request_row(request: RequestRecord, would_reject: Mapping[int, str]) -> Report:
    return {
        "id": request.id,
        "kind": request.kind.value,
        "subject": request.subject,
        "params": from_json(request.params),
        "requested_by": request.requested_by,
        "requested_utc": utc(request.requested_wall),
        "would_be_rejected": would_reject.get(request.id),
    }


_BOT_KEYS = (
    "failure_count", "max_failures", "failures_left", "success_streak", "reputation_score",
    "timelock_secs", "allowed_actions", "expires_at", "expires_at_utc", "expired", "pending",
    "cron_spec", "last_action_ts", "alerts",
)  # fmt: skip


def _bot_entry(address: str, chain: ChainFacts | None, names: OperatorNames) -> Report:
    bot = None if chain is None else chain.snapshot.bot(address)
    entry: Report = {
        "name": names.name(address),
        "operator": address,
        "registered": None if chain is None else bot is not None,
    } | dict.fromkeys(_BOT_KEYS)
    if bot is None or chain is None:
        return entry
    now = chain.snapshot.now
    pending = None
    if bot.has_pending:
        pending = {
            "action_hash": plain(bot.pending_action_hash),
            "execute_after": bot.pending_execute_after,
            "execute_after_utc": utc(bot.pending_execute_after),
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
        "expires_at_utc": utc(bot.expires_at),
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


def _next_hint(view: LotteryView, now: int) -> str:
    """What comes next for a lottery with no work now."""
    match view.status.name:
        case "ACTIVE":
            hand = "" if view.config.auto_close.enabled else "; closing by hand"
            return f"sales end {relative(view.config.sales_end, now)}{hand}"
        case "DRAW_REQUESTED":
            return "waiting for the VRF callback"
        case "PAYOUT":
            return "payouts are the treasury's (monitored)"
        case "CANCELED":
            return "archived" if view.archived else "refund pending"
    return "nothing to do now"


def _lotteries(
    chain: ChainFacts, journal: JournalFacts, names: OperatorNames
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
            "sales_end_utc": utc(view.config.sales_end),
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
            others.append(entry | {"next": _next_hint(view, chain.snapshot.now)})
    return needing, others


def _deposit(chain: ChainFacts) -> Report:
    """The VRF deposit guard and the DRAW feature switch: what every draw waits on."""
    snapshot = chain.snapshot
    deposit = snapshot.deposit
    draw = manual_schedule_refusals(snapshot)  # the DRAW feature's refusal, if any
    return {
        "requests_paused": deposit.requests_paused,
        "paused_since": deposit.paused_since_ts or None,
        "paused_since_utc": utc(deposit.paused_since_ts) if deposit.requests_paused else None,
        "total_balance": deposit.total_balance,
        "minimum_balance": deposit.minimum_balance,
        "effective_balance": deposit.effective_balance,
        "required_minimum": deposit.required_minimum,
        "effective_floor": deposit.effective_floor,
        "shortfall": deposit.shortfall,
        "draw_feature": f"OFF ({draw[0].name})" if draw else "on",
    }


def _deposit_lines(d: Report) -> list[str]:
    floor = f", floor {d['effective_floor']}" if d["effective_floor"] else ""
    state = f"PAUSED since {d['paused_since_utc']}" if d["requests_paused"] else "running"
    lines = [
        f"  VRF requests {state}  effective {d['effective_balance']} (required minimum "
        f"{d['required_minimum']}{floor})  total {d['total_balance']}",
        f"  DRAW feature {d['draw_feature']}",
    ]
    if d["requests_paused"]:
        lines.append(
            "     → short: " + d["shortfall"] + " — top up and record a snapshot"
            if d["shortfall"]
            else "     → the deposit is healthy: `autobot vrf resume` resumes requests"
        )
    return lines


def _refunds(chain: ChainFacts) -> list[Report]:
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
                    "first_batch_due_utc": utc(state.first_batch_due),
                    "completion_due_utc": utc(state.completion_due),
                },
            }
        )
    return out


def _feeds(chain: ChainFacts) -> list[Report]:
    return [
        plain(chain.snapshot.feeds[r.asset_id])
        | plain(r)
        | {
            "last_updated_utc": utc(chain.snapshot.feeds[r.asset_id].last_updated_ts),
            "usable": r.usable,
        }
        for r in chain.result.feed_reports
    ]


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
) -> Report:
    """All of ``autobot status`` as one JSON object; chain sections are ``None`` when the chain
    could not be read (``chain.error`` says why)."""
    snapshot = None if chain is None else chain.snapshot
    report: Report = {
        "config": config_path,
        "mode": mode,
        "poll_interval_seconds": poll_interval_seconds,
        "chain": {
            "reachable": chain is not None,
            "chain_id": chain_id,
            "rpc_urls": list(rpc_urls),
            "time": None if snapshot is None else snapshot.now,
            "time_utc": None if snapshot is None else utc(snapshot.now),
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
        "journal": _journal(journal, names),
    }
    configured = list(names.by_name.values())
    registered = [] if snapshot is None else [b.operator for b in snapshot.bots]
    every = [*registered, *(a for a in configured if a not in registered)]
    report["bots"] = [_bot_entry(a, chain, names) for a in every]
    if chain is None or snapshot is None:
        return report
    report["lotteries"], report["other_lotteries"] = _lotteries(chain, journal, names)
    report["refunds"] = _refunds(chain)
    report["deposit"] = _deposit(chain)
    report["feeds"] = _feeds(chain)
    report["other_planned"] = [
        _planned(a, chain, names) for a in chain.result.actions if a.key.kind not in LOTTERY_KINDS
    ]
    report["escalations"] = [
        _escalation(e)
        for e in chain.result.escalations
        if e.kind == "bot_unavailable" or e.subject not in snapshot.lotteries
    ]
    return report


# --------------------------------------------------------------------------------------------
# Text


def _planned_line(p: Report) -> str:
    if p["action_id"] is None:
        action, via = p["kind"], "as the admin, no bot attestation"
    else:
        action = f"{p['action_name']}({p['action_id']})"
        if p["operator"] is None:
            via = f"NO BOT CAN CARRY IT: {p['route_note']}"
        else:
            via = (
                f"via operator {p['bot'] or short(p['operator'])} (timelock {p['timelock_secs']} s)"
            )
            via += f", {p['route_note']}" if p["route_note"] else ""
    request = f" [request #{p['request_id']}]" if p["request_id"] is not None else ""
    line = f"next: {p['key']} {action} {via} — {p['reason']}{request}"
    state = p["journaled_state"]
    if state in ("parked", "failed"):
        line += (
            f"\n       BUT {p['key']} is already journaled as {state}: the daemon will not run it"
            f" again by itself (`autobot actions retry {p['key']}`)"
        )
    elif state is not None:
        line += f"\n       BUT {p['key']} is already journaled as {state}: nothing new will run"
    return line


def _open_line(a: Report) -> str:
    who = f" operator {a['operator_name'] or short(a['operator'])}" if a["operator"] else ""
    when = f", executes at {utc(a['execute_at'])}" if a["execute_at"] else ""
    tries = f", {a['attempts']} attempt(s)" if a["attempts"] else ""
    error = f", last error {a['error_name']}" if a["error_name"] else ""
    return f"in progress: {a['key']} {a['state']}{who}{when}{tries}{error}"


def _bot_lines(b: Report, now: int | None) -> list[str]:
    head = f"  {b['name'] or '(no key in config)'}  {b['operator']}"
    if b["registered"] is None:
        return [head + "  (chain not read)"]
    if not b["registered"]:
        return [head + "  NOT REGISTERED on chain"]
    allowed = ",".join(str(a) for a in b["allowed_actions"])
    expiry = f"{b['expires_at_utc']}"
    if now is not None:
        expiry += f" ({'EXPIRED' if b['expired'] else relative(b['expires_at'], now)})"
    lines = [
        head,
        f"     failures {b['failure_count']}/{b['max_failures']}  timelock {b['timelock_secs']} s"
        f"  allowed [{allowed}]  expires {expiry}",
    ]
    pending = b["pending"]
    if pending is None:
        lines.append("     pending: none")
    else:
        after = pending["execute_after"]
        ready = "ready" if pending["ready"] or now is None else relative(after, now)
        lines.append(
            f"     pending: {pending['action_hash']} executes after {utc(after)} ({ready})"
        )
    lines.extend(f"     ALERT {a['kind']}: {a['detail']}" for a in b["alerts"])
    return lines


def _feed_line(f: Report) -> str:
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
        f"  age {span(f['age_seconds'])} (window {f['staleness_window']} s)"
        f"  {', '.join(flags) if flags else 'ok'}"
    )
    if f["clamped"]:
        line += f"  → check the price, then `autobot feed clear-clamp {f['asset_id']}`"
    return line


def _refund_lines(r: Report) -> list[str]:
    lines = [
        f"  lottery {r['lottery_id']}  round {r['refund_round']}"
        f"  tickets {r['tickets_refunded']}/{r['tickets_sold']} refunded"
        f"  amount {r['amount_refunded']}/{r['proceeds_accum']} refunded"
        + ("  archived" if r["archived"] else "")
    ]
    if r["sla"] is not None:
        s = r["sla"]
        lines.append(
            f"     SLA {s['state']}: first batch due {s['first_batch_due_utc']},"
            f" complete due {s['completion_due_utc']}"
        )
    return lines


def _section(title: str, lines: Sequence[str]) -> list[str]:
    return ["", title, *(lines or ["  none"])]


def render_status(report: Report) -> str:
    """``autobot status`` for people."""
    chain = report["chain"]
    now: int | None = chain["time"]
    out = [f"autobot status — {report['config']} (mode {report['mode']})"]
    if chain["reachable"]:
        o = chain["overview"]
        counts = ", ".join(
            f"{s} {o[s]}"
            for s in ("draft", "active", "closing", "draw_requested", "drawn", "payout",
                      "finalized", "canceled")
            if o[s]
        )  # fmt: skip
        out.append(
            f"chain {chain['chain_id']} at {chain['time_utc']} (chain time {chain['time']}),"
            f" height {chain['height']}; lotteries on chain: {o['total']} ({counts or 'none'})"
        )
    else:
        out.append(f"chain {chain['chain_id']} UNREACHABLE ({chain['error']}): the journal only")
    out += _section(
        f"Bots ({len(report['bots'])})", [ln for b in report["bots"] for ln in _bot_lines(b, now)]
    )
    if chain["reachable"]:
        lottery_lines: list[str] = []
        for lot in report["lotteries"]:
            hand = "  CLOSING BY HAND" if lot["auto_close"] == "by hand" else ""
            lottery_lines.append(
                f"  #{lot['lottery_id']} {lot['status']}  {lot['tickets_sold']} tickets"
                f"  VRF {lot['vrf_status']}{hand}"
            )
            lottery_lines += [f"     {_planned_line(p)}" for p in lot["planned"]]
            lottery_lines += [f"     {_open_line(a)}" for a in lot["in_progress"]]
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
                "Other planned work", [f"  {_planned_line(p)}" for p in report["other_planned"]]
            )
        if report["escalations"]:
            out += _section(
                "Escalations",
                [f"  {e['kind']} ({e['subject']}): {e['reason']}" for e in report["escalations"]],
            )
        out += _section("VRF deposit and DRAW feature", _deposit_lines(report["deposit"]))
        out += _section("Refunds", [ln for r in report["refunds"] for ln in _refund_lines(r)])
        out += _section("Price feeds", [_feed_line(f) for f in report["feeds"]])
    out.append("")
    out += _journal_lines(report["journal"])
    return "\n".join(out)


def _journal_lines(j: Report) -> list[str]:
    states = ", ".join(f"{state} {n}" for state, n in j["open_by_state"].items())
    out = [
        f"Journal {j['path']}",
        f"  open actions: {j['open_actions']}" + (f" ({states})" if states else ""),
    ]
    out += [f"    {_open_line(a)}" for a in j["open"]]
    for label in ("parked", "failed"):
        if j[label]:
            out.append(f"  {label}: {len(j[label])} (`autobot actions retry KEY` runs one again)")
            out += [
                f"    {a['key']} updated {a['updated_utc']}: "
                f"{a['error_name'] or a['error_message'] or 'no error recorded'}"
                for a in j[label][:10]
            ]
    out.append(f"  pending requests: {len(j['pending_requests'])}")
    for r in j["pending_requests"]:
        line = (
            f"    #{r['id']} {r['kind']} {r['subject']} {json.dumps(r['params'])}"
            f" by {r['requested_by']} at {r['requested_utc']}"
        )
        if r["would_be_rejected"]:
            line += f" — the daemon would reject it: {r['would_be_rejected']}"
        out.append(line)
    return out
