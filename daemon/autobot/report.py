"""What the operator CLI shows: plain JSON-shaped reports, and their text and Markdown renderings.

``autobot.operator`` gathers (config, journal, one chain snapshot, a planning pass) and hands the
facts to the ``*_report`` functions here, which return plain dicts with stable keys (``--json``
prints them as they are: bytes as ``0x`` hex, times as integers plus a ``*_utc`` string). The
``render_*`` functions turn the same dicts into text for people, so the text and the JSON can
never tell two different stories. Nothing here does I/O or reads a clock; nothing here ever sees
key material (operators are known by address and configured name only).

The incident log in Markdown is the handbook's table (domain.md §8) with an **English** header,
``| Date/time (UTC) | Type | Description | Responsible | Links |`` (the handbook's original reads
``| Дата/время (UTC) | …``): newest first, ``|`` escaped as ``\\|``, one line per row. The
description names the transaction and the action hash when the row has them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from autobot.domain.actions import ActionId
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.journal.records import ActionRecord, Incident, RequestRecord, TxRecord
from autobot.planning.plan import Escalation, PlannedAction
from autobot.planning.planner import PlanResult

__all__ = [
    "MARKDOWN_HEADER",
    "ChainFacts",
    "JournalFacts",
    "OperatorNames",
    "Routing",
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
_LOTTERY_KINDS = frozenset({"close", "draw", "schedule", "winners", "refund", "cancel"})


# --------------------------------------------------------------------------------------------
# Small values


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorNames:
    """The configured operator names (``keys.operator_key_files``) by address, for display."""

    by_name: Mapping[str, str]  # name -> 0x address

    def name(self, address: str | None) -> str | None:
        return next((n for n, a in self.by_name.items() if a == address), None)

    def label(self, address: str | None) -> str:
        """``A`` for a configured operator, else the address shortened (``0x3277…7503``)."""
        if address is None:
            return "-"
        return self.name(address) or short(address)


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """Which bot a planned action would go to now (Decisions §8), or why none would."""

    operator: str | None
    timelock_secs: int | None = None
    note: str = ""  # why no bot (or that the chosen one is busy)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainFacts:
    """One chain read and the planning pass over it."""

    snapshot: Snapshot
    result: PlanResult
    routes: Mapping[str, Routing]  # by planned action key


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalFacts:
    """What the journal says, read once."""

    path: str
    open_actions: tuple[ActionRecord, ...]
    pending_requests: tuple[RequestRecord, ...]
    parked: tuple[ActionRecord, ...] = ()
    failed: tuple[ActionRecord, ...] = ()
    requests_would_reject: Mapping[int, str] = field(default_factory=dict)


def utc(ts: float | None) -> str | None:
    """``2025-01-31 12:00:00 UTC`` (``None`` stays ``None``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
    """``in 15 min`` / ``12 s ago`` / ``now``."""
    if ts == now:
        return "now"
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _hex(raw: bytes | None) -> str | None:
    return None if not raw else "0x" + raw.hex()


def _action_name(action_id: int | None) -> str | None:
    if action_id is None:
        return None
    try:
        return ActionId(action_id).name
    except ValueError:
        return f"UNKNOWN_{action_id}"


def _json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# --------------------------------------------------------------------------------------------
# Journal rows


def action_row(record: ActionRecord, names: OperatorNames) -> Report:
    """One ``actions`` list entry."""
    return {
        "key": record.key,
        "kind": record.kind,
        "subject_id": record.subject_id,
        "action_id": record.action_id,
        "action_name": _action_name(record.action_id),
        "state": record.state.value,
        "outcome": None if record.outcome is None else record.outcome.value,
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
    return {
        "tx_hash": tx.tx_hash,
        "purpose": tx.purpose.value,
        "call_index": tx.call_index,
        "call": _json_or_text(tx.call),
        "sender": tx.sender,
        "sender_name": "admin" if names.name(tx.sender) is None else names.name(tx.sender),
        "secondary": list(tx.secondary),
        "sequence_number": tx.sequence_number,
        "expires_at": tx.expires_at,
        "expires_at_utc": utc(tx.expires_at),
        "state": tx.state.value,
        "submissions": tx.submissions,
        "created_utc": utc(tx.created_wall),
        "submitted_utc": utc(tx.submitted_wall),
        "settled_utc": utc(tx.settled_wall),
        "error_code": tx.error_code,
        "error_name": tx.error_name,
        "vm_status": tx.error_message,
        "action_hash": _hex(tx.action_hash),
        "raw_bytes": len(tx.raw),
    }


def action_detail(
    record: ActionRecord, transactions: Sequence[TxRecord], names: OperatorNames
) -> Report:
    """``actions show``: the row, its recipe and calls, its hash and every transaction in order."""
    calls = _json_or_text(record.calls)
    return {
        **action_row(record, names),
        "reason": record.reason,
        "timelock_secs": record.timelock_secs,
        "execute_at_utc": utc(record.execute_at),
        "action_hash": _hex(record.action_hash),
        "progress": record.progress,
        "call_count": len(calls) if isinstance(calls, list) else None,
        "error_message": record.error_message,
        "created_utc": utc(record.created_wall),
        "created_chain": record.created_chain,
        "updated_chain": record.updated_chain,
        "recipe": _json_or_text(record.recipe),
        "calls": calls,
        "transactions": [_tx_row(tx, names) for tx in transactions],
    }


def incident_row(incident: Incident) -> Report:
    return {
        "id": incident.id,
        "at_utc": incident.at_utc,
        "type": incident.type,
        "description": incident.description,
        "responsible": incident.responsible,
        "links": incident.links,
        "action_key": incident.action_key,
        "action_hash": incident.action_hash,
        "tx_hash": incident.tx_hash,
    }


def _request_row(request: RequestRecord, would_reject: Mapping[int, str]) -> Report:
    return {
        "id": request.id,
        "kind": request.kind.value,
        "subject": request.subject,
        "params": _json_or_text(request.params),
        "requested_by": request.requested_by,
        "requested_utc": utc(request.requested_wall),
        "would_be_rejected": would_reject.get(request.id),
    }


# --------------------------------------------------------------------------------------------
# autobot status


def _bot_entry(
    address: str, snapshot: Snapshot | None, result: PlanResult | None, names: OperatorNames
) -> Report:
    bot = snapshot.bot(address) if snapshot is not None else None
    entry: Report = {
        "name": names.name(address),
        "operator": address,
        "registered": bot is not None,
    }
    if bot is None or snapshot is None or result is None:
        return entry
    now = snapshot.now
    pending = None
    if bot.has_pending:
        pending = {
            "action_hash": _hex(bot.pending_action_hash),
            "execute_after": bot.pending_execute_after,
            "execute_after_utc": utc(bot.pending_execute_after),
            "ready": bot.pending_ready(now),
        }
    entry |= {
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
        "alerts": [
            {"kind": a.kind.value, "value": a.value, "detail": a.detail}
            for a in result.bot_alerts
            if a.operator == address
        ],
    }
    return entry


def _planned_entry(
    action: PlannedAction, routes: Mapping[str, Routing], names: OperatorNames
) -> Report:
    route = routes.get(str(action.key), Routing(operator=None))
    attested = action.action_id is not None
    return {
        "key": str(action.key),
        "kind": action.recipe.KIND.value,
        "action_id": None if action.action_id is None else int(action.action_id),
        "action_name": _action_name(action.action_id),
        "subject_id": action.subject_id,
        "bot": names.name(route.operator) if attested else None,
        "operator": route.operator if attested else None,
        "timelock_secs": route.timelock_secs if attested else None,
        "route_note": route.note if attested else "no bot: admin call gated locally",
        "reason": action.reason,
        "due_at": action.due_at,
        "request_id": action.request_id,
    }


def _escalation_entry(escalation: Escalation) -> Report:
    return {
        "kind": escalation.kind,
        "subject": escalation.subject,
        "reason": escalation.reason,
        "since": escalation.since,
    }


def _open_lottery(record: ActionRecord) -> int | None:
    return record.subject_id if record.kind in _LOTTERY_KINDS else None


def _next_hint(view: LotteryView, now: int) -> str:
    """What happens next to a lottery with no work now."""
    status = view.status.name
    if status == "ACTIVE":
        return f"sales end {relative(view.config.sales_end, now)}"
    if status == "DRAW_REQUESTED":
        return "waiting for the VRF callback"
    if status == "PAYOUT":
        return "payouts are the treasury's (monitored)"
    if status == "CANCELED":
        return "refunded and archived" if view.archived else "refund pending"
    return "nothing to do now"


def _lotteries(
    chain: ChainFacts, journal: JournalFacts, names: OperatorNames
) -> tuple[list[Report], list[Report]]:
    snapshot, result = chain.snapshot, chain.result
    needing: list[Report] = []
    others: list[Report] = []
    for lottery_id in sorted(snapshot.lotteries):
        view = snapshot.lotteries[lottery_id]
        planned = [
            _planned_entry(a, chain.routes, names)
            for a in result.actions
            if a.key.kind in _LOTTERY_KINDS and a.subject_id == lottery_id
        ]
        in_progress = [
            action_row(r, names) for r in journal.open_actions if _open_lottery(r) == lottery_id
        ]
        escalations = [
            _escalation_entry(e)
            for e in result.escalations
            if e.kind != "bot_unavailable" and e.subject == lottery_id
        ]
        entry: Report = {
            "lottery_id": lottery_id,
            "status": view.status.name,
            "tickets_sold": view.tickets_sold,
            "sales_end": view.config.sales_end,
            "sales_end_utc": utc(view.config.sales_end),
            "vrf_status": view.vrf.status.name,
            "vrf_attempt": view.vrf.attempt,
        }
        if planned or in_progress or escalations:
            needing.append(
                entry | {"planned": planned, "in_progress": in_progress, "escalations": escalations}
            )
        else:
            others.append(entry | {"next": _next_hint(view, snapshot.now)})
    return needing, others


def _refunds(chain: ChainFacts) -> list[Report]:
    sla = {s.lottery_id: s for s in chain.result.refund_sla}
    out: list[Report] = []
    for lottery_id in sorted(chain.snapshot.lotteries):
        view = chain.snapshot.lotteries[lottery_id]
        if view.status.name != "CANCELED" and not view.refund.active:
            continue
        p, record, state = view.refund, view.cancellation, sla.get(lottery_id)
        out.append(
            {
                "lottery_id": lottery_id,
                "status": view.status.name,
                "archived": view.archived,
                "active": p.active,
                "refund_round": p.refund_round,
                "tickets_refunded": p.tickets_refunded,
                "tickets_sold": p.tickets_sold,
                "remaining_tickets": p.remaining_tickets,
                "prize_refunded": p.prize_refunded,
                "operations_refunded": p.operations_refunded,
                "amount_refunded": p.amount_refunded,
                "proceeds_accum": p.proceeds_accum,
                "remaining_amount": p.remaining_amount,
                "last_refund_ts": p.last_refund_ts,
                "canceled_ts": None if record is None else record.canceled_ts,
                "cancel_reason": None if record is None else record.reason_code,
                "sla": None
                if state is None
                else {
                    "state": state.state.value,
                    "first_batch_due": state.first_batch_due,
                    "first_batch_due_utc": utc(state.first_batch_due),
                    "completion_due": state.completion_due,
                    "completion_due_utc": utc(state.completion_due),
                    "breached": state.breached,
                },
            }
        )
    return out


def _feeds(chain: ChainFacts) -> list[Report]:
    out: list[Report] = []
    for feed_report in chain.result.feed_reports:
        feed = chain.snapshot.feeds[feed_report.asset_id]
        out.append(
            {
                "asset_id": feed.asset_id,
                "price": feed.price,
                "decimals": feed.decimals,
                "last_updated_ts": feed.last_updated_ts,
                "last_updated_utc": utc(feed.last_updated_ts),
                "age_seconds": feed_report.age_seconds,
                "staleness_window": feed.staleness_window,
                "clamp_threshold_bps": feed.clamp_threshold_bps,
                "stale": feed_report.stale,
                "clamped": feed_report.clamped,
                "fallback": feed_report.fallback,
                "fallback_reason": feed.fallback_reason,
                "fallback_by_autobot": feed_report.fallback_by_autobot,
                "usable": feed_report.usable,
            }
        )
    return out


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
    """The whole ``autobot status`` as one JSON object (``None`` sections: the chain was not read)."""
    snapshot = None if chain is None else chain.snapshot
    result = None if chain is None else chain.result
    chain_section: Report = {
        "reachable": chain is not None,
        "chain_id": chain_id,
        "rpc_urls": list(rpc_urls),
        "time": None if snapshot is None else snapshot.now,
        "time_utc": None if snapshot is None else utc(snapshot.now),
        "height": None if snapshot is None else snapshot.height,
        "error": chain_error,
        "overview": None,
    }
    report: Report = {
        "config": config_path,
        "mode": mode,
        "poll_interval_seconds": poll_interval_seconds,
        "chain": chain_section,
        "bots": None,
        "lotteries": None,
        "other_lotteries": None,
        "refunds": None,
        "feeds": None,
        "other_planned": None,
        "escalations": None,
        "journal": _journal_section(journal, names),
    }
    addresses = list(names.by_name.values())
    if chain is None or snapshot is None or result is None:
        report["bots"] = [
            _bot_entry(a, None, None, names) | {"registered": None} for a in addresses
        ]
        return report
    overview = snapshot.overview
    chain_section["overview"] = {
        name: getattr(overview, name) for name in overview.__dataclass_fields__
    }
    registered = [b.operator for b in snapshot.bots]
    report["bots"] = [
        _bot_entry(a, snapshot, result, names)
        for a in [*registered, *(a for a in addresses if a not in registered)]
    ]
    report["lotteries"], report["other_lotteries"] = _lotteries(chain, journal, names)
    report["refunds"] = _refunds(chain)
    report["feeds"] = _feeds(chain)
    report["other_planned"] = [
        _planned_entry(a, chain.routes, names)
        for a in result.actions
        if a.key.kind not in _LOTTERY_KINDS
    ]
    lottery_ids = set(snapshot.lotteries)
    report["escalations"] = [
        _escalation_entry(e)
        for e in result.escalations
        if e.kind == "bot_unavailable" or e.subject not in lottery_ids
    ]
    return report


def _journal_section(journal: JournalFacts, names: OperatorNames) -> Report:
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


# --------------------------------------------------------------------------------------------
# Text


def _planned_line(p: Report) -> str:
    if p["action_id"] is None:
        via = "admin, no bot attestation"
    elif p["operator"] is None:
        via = f"NO BOT: {p['route_note']}"
    else:
        via = f"via operator {p['bot'] or short(p['operator'])} (timelock {p['timelock_secs']} s)"
        if p["route_note"]:
            via += f"; {p['route_note']}"
    action = f"{p['action_name']}({p['action_id']})" if p["action_id"] is not None else p["kind"]
    request = f" [request #{p['request_id']}]" if p["request_id"] is not None else ""
    return f"next: {p['key']} {action} {via} — {p['reason']}{request}"


def _open_line(a: Report) -> str:
    who = f" operator {a['operator_name'] or short(a['operator'])}" if a["operator"] else ""
    when = f", executes at {utc(a['execute_at'])}" if a["execute_at"] else ""
    tries = f", {a['attempts']} attempt(s)" if a["attempts"] else ""
    error = f", last error {a['error_name']}" if a["error_name"] else ""
    return f"in progress: {a['key']} {a['state']}{who}{when}{tries}{error}"


def _bot_lines(b: Report, now: int | None) -> list[str]:
    name = b["name"] or "(no key in config)"
    if b["registered"] is None:
        return [f"  {name}  {b['operator']}  (chain not read)"]
    if not b["registered"]:
        return [f"  {name}  {b['operator']}  NOT REGISTERED on chain"]
    allowed = ",".join(str(a) for a in b["allowed_actions"])
    expiry = utc(b["expires_at"])
    if now is not None:
        expiry = f"{expiry} ({'EXPIRED' if b['expired'] else relative(b['expires_at'], now)})"
    lines = [
        f"  {name}  {b['operator']}",
        f"     failures {b['failure_count']}/{b['max_failures']}  timelock {b['timelock_secs']} s"
        f"  allowed [{allowed}]  expires {expiry}",
    ]
    pending = b["pending"]
    if pending is None:
        lines.append("     pending: none")
    else:
        after = pending["execute_after"]
        ready = "ready" if pending["ready"] else relative(after, now or after)
        lines.append(
            f"     pending: {pending['action_hash']} executes after {utc(after)} ({ready})"
        )
    for alert in b["alerts"]:
        lines.append(f"     ALERT {alert['kind']}: {alert['detail']}")
    return lines


def _feed_line(f: Report) -> str:
    flags = [
        flag
        for flag, on in (
            ("STALE", f["stale"]),
            ("CLAMPED", f["clamped"]),
            ("FALLBACK" + (" (set by autobot)" if f["fallback_by_autobot"] else ""), f["fallback"]),
        )
        if on
    ]
    state = ", ".join(flags) if flags else "ok"
    line = (
        f"  asset {f['asset_id']}  price {f['price']} ({f['decimals']} decimals)"
        f"  age {span(f['age_seconds'])} (window {f['staleness_window']} s)  {state}"
    )
    if f["clamped"]:
        line += f"  → `autobot feed clear-clamp {f['asset_id']}` after checking the price"
    return line


def _refund_line(r: Report) -> list[str]:
    head = (
        f"  lottery {r['lottery_id']}  round {r['refund_round']}  tickets "
        f"{r['tickets_refunded']}/{r['tickets_sold']}  amount "
        f"{r['amount_refunded']}/{r['proceeds_accum']}"
    )
    if r["archived"]:
        head += "  archived"
    lines = [head]
    sla = r["sla"]
    if sla is not None:
        lines.append(
            f"     SLA {sla['state']}: first batch due {sla['first_batch_due_utc']},"
            f" complete due {sla['completion_due_utc']}"
        )
    return lines


def render_status(report: Report) -> str:
    """``autobot status`` for people."""
    chain = report["chain"]
    now: int | None = chain["time"]
    out = [f"autobot status — {report['config']} (mode {report['mode']})"]
    if chain["reachable"]:
        out.append(
            f"chain {chain['chain_id']} at {chain['time_utc']} (chain time {chain['time']}),"
            f" height {chain['height']}"
        )
        o = chain["overview"]
        counts = ", ".join(
            f"{name} {o[name]}"
            for name in (
                "draft", "active", "closing", "draw_requested", "drawn", "payout", "finalized",
                "canceled",
            )
            if o[name]
        )  # fmt: skip
        out.append(f"lotteries on chain: {o['total']} ({counts or 'none'})")
    else:
        out.append(
            f"chain {chain['chain_id']} UNREACHABLE ({chain['error']}): showing the journal only"
        )
    out.append("")
    out.append(f"Bots ({len(report['bots'])})")
    for bot in report["bots"]:
        out.extend(_bot_lines(bot, now))
    if report["lotteries"] is not None:
        out.append("")
        out.append(f"Lotteries that need work ({len(report['lotteries'])})")
        for lot in report["lotteries"]:
            out.append(
                f"  #{lot['lottery_id']} {lot['status']}  {lot['tickets_sold']} tickets"
                f"  VRF {lot['vrf_status']}"
            )
            out.extend(f"     {_planned_line(p)}" for p in lot["planned"])
            out.extend(f"     {_open_line(a)}" for a in lot["in_progress"])
            out.extend(f"     ESCALATED {e['kind']}: {e['reason']}" for e in lot["escalations"])
        if not report["lotteries"]:
            out.append("  none")
        if report["other_lotteries"]:
            rest = "; ".join(
                f"#{o['lottery_id']} {o['status']} ({o['next']})" for o in report["other_lotteries"]
            )
            out.append(f"  others: {rest}")
        if report["other_planned"]:
            out.append("")
            out.append("Other planned work")
            out.extend(f"  {_planned_line(p)}" for p in report["other_planned"])
        if report["escalations"]:
            out.append("")
            out.append("Escalations")
            out.extend(
                f"  {e['kind']} ({e['subject']}): {e['reason']}" for e in report["escalations"]
            )
        out.append("")
        out.append("Refunds")
        for refund in report["refunds"]:
            out.extend(_refund_line(refund))
        if not report["refunds"]:
            out.append("  none")
        out.append("")
        out.append("Price feeds")
        out.extend(_feed_line(f) for f in report["feeds"])
        if not report["feeds"]:
            out.append("  none")
    out.append("")
    out.extend(_journal_lines(report["journal"]))
    return "\n".join(out)


def _journal_lines(j: Report) -> list[str]:
    states = ", ".join(f"{state} {n}" for state, n in j["open_by_state"].items())
    out = [
        f"Journal {j['path']}",
        f"  open actions: {j['open_actions']}" + (f" ({states})" if states else ""),
    ]
    out.extend(f"    {_open_line(a)}" for a in j["open"])
    for label in ("parked", "failed"):
        rows = j[label]
        if rows:
            out.append(f"  {label}: {len(rows)} (`autobot actions retry KEY` to run one again)")
            out.extend(
                f"    {a['key']} {a['error_name'] or ''} updated {a['updated_utc']}".rstrip()
                for a in rows[:10]
            )
    requests = j["pending_requests"]
    out.append(f"  pending requests: {len(requests)}")
    for r in requests:
        line = f"    #{r['id']} {r['kind']} {r['subject']} {json.dumps(r['params'])}"
        line += f" by {r['requested_by']} at {r['requested_utc']}"
        if r["would_be_rejected"]:
            line += f" — the daemon would reject it: {r['would_be_rejected']}"
        out.append(line)
    return out


def render_actions(rows: Iterable[Report]) -> str:
    """``autobot actions``: one line per action, newest first."""
    lines = []
    for r in rows:
        action = f"{r['action_name']}({r['action_id']})" if r["action_id"] is not None else "-"
        operator = r["operator_name"] or (short(r["operator"]) if r["operator"] else "-")
        lines.append(
            f"{r['key']:<28} {r['kind']:<9} subject {r['subject_id']:<4} {action:<16}"
            f" {operator:<8} {r['state']:<10} attempts {r['attempts']:<3}"
            f" due {r['due_at_utc']}  updated {r['updated_utc']}"
            + (f"  error {r['error_name']}" if r["error_name"] else "")
        )
    return "\n".join(lines) if lines else "no actions"


def _call_text(call: Any) -> str:
    if not isinstance(call, dict):
        return str(call)
    args = ", ".join(f"{a[0]} {a[1]}" for a in call.get("args", []) if isinstance(a, list))
    text = f"{call.get('module')}::{call.get('function')}({args})"
    if "not_before" in call:
        text += f" not before {utc(call['not_before'])}"
    if call.get("secondary"):
        text += f" co-signed by {', '.join(short(s) for s in call['secondary'])}"
    return text


def render_action_detail(d: Report) -> str:
    """``autobot actions show KEY``: the full timeline."""
    action = f"action id {d['action_id']} ({d['action_name']})" if d["action_id"] else "no bot"
    operator = d["operator_name"] or d["operator"] or "-"
    out = [
        f"action {d['key']} — {d['kind']}, subject {d['subject_id']}, {action}",
        f"  state {d['state']}  outcome {d['outcome'] or '-'}  attempts {d['attempts']}"
        f"  progress {d['progress']}/{d['call_count'] if d['call_count'] is not None else '?'}",
        f"  operator {operator}  timelock {d['timelock_secs'] if d['timelock_secs'] is not None else '-'} s"
        f"  execute at {d['execute_at_utc'] or '-'}",
        f"  action hash {d['action_hash'] or '- (fixed when announced)'}",
        f"  reason: {d['reason']}",
        f"  due {d['due_at_utc']}  created {d['created_utc']}  updated {d['updated_utc']}",
    ]
    if d["error_name"] or d["error_message"]:
        code = f"(0x{d['error_code']:x})" if d["error_code"] is not None else ""
        out.append(
            f"  last error: {d['error_name'] or ''}{code} {d['error_message'] or ''}".rstrip()
        )
    out.append(f"recipe: {json.dumps(d['recipe'], sort_keys=True)}")
    calls = d["calls"]
    if isinstance(calls, list):
        out.append(f"calls ({len(calls)}):")
        out.extend(f"  {i}. {_call_text(c)}" for i, c in enumerate(calls, start=1))
    else:
        out.append("calls: not materialised yet (fixed with the hash when the action is announced)")
    txs = d["transactions"]
    out.append(f"transactions ({len(txs)}):")
    for i, tx in enumerate(txs, start=1):
        out.append(f"  {i}. {tx['purpose']} #{tx['call_index']} {tx['tx_hash']} — {tx['state']}")
        out.append(f"     call {_call_text(tx['call'])}")
        out.append(
            f"     sender {tx['sender_name']} {tx['sender']} sequence {tx['sequence_number']}"
            f"  expires {tx['expires_at_utc']}  submissions {tx['submissions']}"
        )
        out.append(
            f"     signed {tx['created_utc']}  submitted {tx['submitted_utc'] or '-'}"
            f"  settled {tx['settled_utc'] or '-'}"
        )
        if tx["error_name"] or tx["vm_status"]:
            out.append(f"     vm_status: {tx['vm_status'] or tx['error_name']}")
    if not txs:
        out.append("  none")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Incidents


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _description(row: Report) -> str:
    text = row["description"]
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
        lines = [MARKDOWN_HEADER, "| --- | --- | --- | --- | --- |"]
        lines.extend(
            "| "
            + " | ".join(
                _cell(v)
                for v in (r["at_utc"], r["type"], _description(r), r["responsible"], r["links"])
            )
            + " |"
            for r in rows
        )
        return "\n".join(lines)
    if not rows:
        return "no incidents"
    return "\n".join(
        f"{r['at_utc']}  {r['type']:<13} {_description(r)} — {r['responsible']}"
        + (f"  {r['links']}" if r["links"] else "")
        for r in rows
    )
