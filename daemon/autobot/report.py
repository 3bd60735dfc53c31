"""What the operator CLI shows: JSON-shaped reports and their text and Markdown renderings.

``autobot.operator`` gathers the facts (``autobot.survey``); the ``*_report``/``*_row``
functions here turn them into plain dicts with stable keys, which ``--json`` prints as they are
(bytes as ``0x`` hex, chain and wall times as integers plus ``*_utc`` strings), and the
``render_*`` functions turn the *same* dicts into text, so text and JSON never tell two stories.
Nothing here does I/O or reads a clock, and nothing here ever sees key material.

The incident log in Markdown is the handbook's table (domain.md §8) with an **English** header,
``| Date/time (UTC) | Type | Description | Responsible | Links |`` (the handbook's own reads
``| Дата/время (UTC) | …``): newest first, ``|`` escaped as ``\\|``, one line per row, and the
description names the action, the transaction and the action hash when the row has them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from autobot.domain.actions import ActionId
from autobot.domain.snapshot import LotteryView
from autobot.journal.records import ActionRecord, Incident, RequestRecord, TxRecord
from autobot.planning import Escalation, PlannedAction
from autobot.survey import ChainFacts, JournalFacts, OperatorNames, Routing

__all__ = [
    "MARKDOWN_HEADER",
    "action_detail",
    "action_row",
    "incident_row",
    "render_action_detail",
    "render_actions",
    "render_incidents",
    "render_status",
    "span",
    "status_report",
    "utc",
]

Report = dict[str, Any]

MARKDOWN_HEADER = "| Date/time (UTC) | Type | Description | Responsible | Links |"
LOTTERY_KINDS = frozenset({"close", "draw", "schedule", "winners", "refund", "cancel"})
"""Action-key kinds whose subject is a lottery id (docs/architecture.md, key scheme)."""


def utc(ts: float | None) -> str | None:
    """``2025-01-31 12:00:00 UTC`` (``None`` stays ``None``)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(seconds: float) -> str:
    """A duration for people: ``45 s``, ``15 min``, ``2 h 5 min``, ``3 d 4 h``."""
    s = int(abs(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7_200:
        return f"{s // 60} min"
    if s < 172_800:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3_600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def relative(ts: int, now: int) -> str:
    """``in 15 min``, ``12 s ago`` or ``now``."""
    if ts == now:
        return "now"
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def _plain(value: Any) -> Any:
    """A domain value as JSON: dataclasses as dicts, bytes as 0x hex, enums by name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return "0x" + value.hex() if value else None
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value, str) else value.name
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _action_name(action_id: int | None) -> str | None:
    if action_id is None:
        return None
    try:
        return ActionId(action_id).name
    except ValueError:
        return f"UNKNOWN_{action_id}"


# --------------------------------------------------------------------------------------------
# Journal rows


def action_row(record: ActionRecord, names: OperatorNames) -> Report:
    """One ``autobot actions`` entry."""
    return {
        "key": record.key,
        "kind": record.kind,
        "subject_id": record.subject_id,
        "action_id": record.action_id,
        "action_name": _action_name(record.action_id),
        "state": record.state.value,
        "outcome": _plain(record.outcome),
        "operator": record.operator,
        "operator_name": names.name(record.operator),
        "attempts": record.attempts,
        "due_at": record.due_at,
        "due_at_utc": utc(record.due_at),
        "execute_at": record.execute_at,
        "next_check_at": record.next_check_at,
        "updated_utc": utc(record.updated_wall),
        "error_name": record.error_name,
        "error_code": record.error_code,
    }


def _tx_row(tx: TxRecord, names: OperatorNames) -> Report:
    row: Report = _plain(tx)
    del row["raw"]  # the signed bytes: public once submitted, but noise here
    row |= {
        "call": _json(tx.call),
        "sender_name": names.name(tx.sender) or "admin",
        "vm_status": tx.error_message,
        "expires_at_utc": utc(tx.expires_at),
        "created_utc": utc(tx.created_wall),
        "submitted_utc": utc(tx.submitted_wall),
        "settled_utc": utc(tx.settled_wall),
        "raw_bytes": len(tx.raw),
    }
    return row


def action_detail(
    record: ActionRecord, transactions: Sequence[TxRecord], names: OperatorNames
) -> Report:
    """``autobot actions show``: the row, recipe, calls, hash and every transaction in order."""
    calls = _json(record.calls)
    return action_row(record, names) | {
        "reason": record.reason,
        "timelock_secs": record.timelock_secs,
        "execute_at_utc": utc(record.execute_at),
        "action_hash": _plain(record.action_hash),
        "progress": record.progress,
        "call_count": len(calls) if isinstance(calls, list) else None,
        "error_message": record.error_message,
        "created_utc": utc(record.created_wall),
        "recipe": _json(record.recipe),
        "calls": calls,
        "transactions": [_tx_row(tx, names) for tx in transactions],
    }


def incident_row(incident: Incident) -> Report:
    row: Report = _plain(incident)
    return row


def _request_row(request: RequestRecord, would_reject: Mapping[int, str]) -> Report:
    return {
        "id": request.id,
        "kind": request.kind.value,
        "subject": request.subject,
        "params": _json(request.params),
        "requested_by": request.requested_by,
        "requested_utc": utc(request.requested_wall),
        "would_be_rejected": would_reject.get(request.id),
    }


# --------------------------------------------------------------------------------------------
# autobot status


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
            "action_hash": _plain(bot.pending_action_hash),
            "execute_after": bot.pending_execute_after,
            "execute_after_utc": utc(bot.pending_execute_after),
            "ready": bot.pending_ready(now),
        }
    alerts = [_plain(a) for a in chain.result.bot_alerts if a.operator == address]
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
        "kind": action.recipe.KIND.value,
        "action_id": None if action.action_id is None else int(action.action_id),
        "action_name": _action_name(action.action_id),
        "subject_id": action.subject_id,
        "bot": None if routing is None else names.name(routing.operator),
        "operator": None if routing is None else routing.operator,
        "timelock_secs": None if routing is None else routing.timelock_secs,
        "route_note": "admin call gated locally, no bot" if routing is None else routing.note,
        "reason": action.reason,
        "due_at": action.due_at,
        "request_id": action.request_id,
    }


def _escalation(e: Escalation) -> Report:
    return {"kind": e.kind, "subject": e.subject, "reason": e.reason, "since": e.since}


def _next_hint(view: LotteryView, now: int) -> str:
    """What comes next for a lottery with no work now."""
    match view.status.name:
        case "ACTIVE":
            return f"sales end {relative(view.config.sales_end, now)}"
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


def _refunds(chain: ChainFacts) -> list[Report]:
    sla = {s.lottery_id: s for s in chain.result.refund_sla}
    out: list[Report] = []
    for lottery_id, view in sorted(chain.snapshot.lotteries.items()):
        if view.status.name != "CANCELED" and not view.refund.active:
            continue
        p, record, state = view.refund, view.cancellation, sla.get(lottery_id)
        out.append(
            {"lottery_id": lottery_id, "status": view.status.name, "archived": view.archived}
            | _plain(p)
            | {
                "remaining_tickets": p.remaining_tickets,
                "amount_refunded": p.amount_refunded,
                "remaining_amount": p.remaining_amount,
                "canceled_ts": None if record is None else record.canceled_ts,
                "cancel_reason": None if record is None else record.reason_code,
                "sla": None
                if state is None
                else _plain(state)
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
        _plain(chain.snapshot.feeds[r.asset_id])
        | _plain(r)
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
            "overview": None if snapshot is None else _plain(snapshot.overview),
            "error": chain_error,
        },
        "bots": None,
        "lotteries": None,
        "other_lotteries": None,
        "refunds": None,
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


def _short(address: str | None) -> str:
    return "-" if not address else f"{address[:6]}…{address[-4:]}"


def _planned_line(p: Report) -> str:
    if p["action_id"] is None:
        action, via = p["kind"], "as the admin, no bot attestation"
    else:
        action = f"{p['action_name']}({p['action_id']})"
        if p["operator"] is None:
            via = f"NO BOT CAN CARRY IT: {p['route_note']}"
        else:
            via = f"via operator {p['bot'] or _short(p['operator'])} (timelock {p['timelock_secs']} s)"
            via += f", {p['route_note']}" if p["route_note"] else ""
    request = f" [request #{p['request_id']}]" if p["request_id"] is not None else ""
    return f"next: {p['key']} {action} {via} — {p['reason']}{request}"


def _open_line(a: Report) -> str:
    who = f" operator {a['operator_name'] or _short(a['operator'])}" if a["operator"] else ""
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
            lottery_lines.append(
                f"  #{lot['lottery_id']} {lot['status']}  {lot['tickets_sold']} tickets"
                f"  VRF {lot['vrf_status']}"
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
                f"    {a['key']} {a['error_name'] or ''} updated {a['updated_utc']}"
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


def render_actions(rows: Iterable[Report]) -> str:
    """``autobot actions``: one line per action, newest first."""
    lines = []
    for r in rows:
        action = f"{r['action_name']}({r['action_id']})" if r["action_id"] is not None else "-"
        operator = r["operator_name"] or _short(r["operator"])
        line = (
            f"{r['key']:<28} {r['kind']:<9} subject {r['subject_id']:<4} {action:<16}"
            f" {operator:<8} {r['state']:<10} attempts {r['attempts']:<3}"
            f" due {r['due_at_utc']}  updated {r['updated_utc']}"
        )
        lines.append(line + (f"  error {r['error_name']}" if r["error_name"] else ""))
    return "\n".join(lines) if lines else "no actions"


def _call_text(call: Any) -> str:
    if not isinstance(call, dict):
        return str(call)
    args = ", ".join(f"{a[0]} {a[1]}" for a in call.get("args", []) if isinstance(a, list))
    text = f"{call.get('module')}::{call.get('function')}({args})"
    if "not_before" in call:
        text += f" not before {utc(call['not_before'])}"
    if call.get("secondary"):
        text += f" co-signed by {', '.join(_short(s) for s in call['secondary'])}"
    return text


def render_action_detail(d: Report) -> str:
    """``autobot actions show KEY``: the full timeline."""
    attest = f"action id {d['action_id']} ({d['action_name']})" if d["action_id"] else "no bot"
    count = "?" if d["call_count"] is None else d["call_count"]
    timelock = "-" if d["timelock_secs"] is None else f"{d['timelock_secs']} s"
    out = [
        f"action {d['key']} — {d['kind']}, subject {d['subject_id']}, {attest}",
        f"  state {d['state']}  outcome {d['outcome'] or '-'}  attempts {d['attempts']}"
        f"  progress {d['progress']}/{count}",
        f"  operator {d['operator_name'] or d['operator'] or '-'}  timelock {timelock}"
        f"  execute at {d['execute_at_utc'] or '-'}",
        f"  action hash {d['action_hash'] or '- (fixed when the action is announced)'}",
        f"  reason: {d['reason']}",
        f"  due {d['due_at_utc']}  created {d['created_utc']}  updated {d['updated_utc']}",
    ]
    if d["error_name"] or d["error_message"]:
        code = "" if d["error_code"] is None else f"(0x{d['error_code']:x})"
        out.append(f"  last error: {d['error_name'] or ''}{code} {d['error_message'] or ''}")
    out.append(f"recipe: {json.dumps(d['recipe'], sort_keys=True)}")
    calls = d["calls"]
    if isinstance(calls, list):
        out.append(f"calls ({len(calls)}):")
        out += [f"  {i}. {_call_text(c)}" for i, c in enumerate(calls, start=1)]
    else:
        out.append("calls: not fixed yet (materialised with the hash when announced)")
    out.append(f"transactions ({len(d['transactions'])}):")
    for i, tx in enumerate(d["transactions"], start=1):
        out += [
            f"  {i}. {tx['purpose']} #{tx['call_index']} {tx['tx_hash']} — {tx['state']}",
            f"     call {_call_text(tx['call'])}",
            f"     sender {tx['sender_name']} {tx['sender']} sequence {tx['sequence_number']}"
            f"  expires {tx['expires_at_utc']}  submissions {tx['submissions']}",
            f"     signed {tx['created_utc']}  submitted {tx['submitted_utc'] or '-'}"
            f"  settled {tx['settled_utc'] or '-'}",
        ]
        if tx["error_name"] or tx["vm_status"]:
            out.append(f"     vm_status: {tx['vm_status'] or tx['error_name']}")
    if not d["transactions"]:
        out.append("  none")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Incidents


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _description(row: Report) -> str:
    text: str = row["description"]
    extras = [
        f"{label} {value}"
        for label, value in (
            ("action", row["action_key"]),
            ("tx", row["tx_hash"]),
            ("action hash", row["action_hash"]),
        )
        if value and value not in text
    ]
    return f"{text} ({', '.join(extras)})" if extras else text


def render_incidents(rows: Sequence[Report], *, fmt: str) -> str:
    """The incident log, newest first: ``text``, ``markdown`` (the handbook's table) or ``json``."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    if fmt == "markdown":
        cells = (
            (r["at_utc"], r["type"], _description(r), r["responsible"], r["links"]) for r in rows
        )
        body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in cells]
        return "\n".join([MARKDOWN_HEADER, "| --- | --- | --- | --- | --- |", *body])
    if not rows:
        return "no incidents"
    return "\n".join(
        f"{r['at_utc']}  {r['type']:<13} {_description(r)} — {r['responsible']}"
        + (f"  {r['links']}" if r["links"] else "")
        for r in rows
    )
