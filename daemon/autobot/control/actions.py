"""``autobot actions``: the journal's actions, one action's timeline, and retry/park requests.

``actions [--state S,…] [--json]`` lists actions newest first (``S``: a state name or ``open``);
``actions show KEY`` prints the row, the recipe, the materialised calls, the action hash and
every journaled transaction in signing order; ``actions retry|park KEY`` journals a request the
daemon's executor carries out (``Executor.retry(key)``/``park(key, reason=...)``). ``KEY`` is the
action key (``refund:4:1``); a unique prefix (``refund:4``) is accepted.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from typing import Any

from autobot.config import Config
from autobot.control.console import (
    CommandError,
    action_name,
    from_json,
    open_journal,
    plain,
    requested_by,
    run,
    setup,
    short,
    sweep_note,
    utc,
)
from autobot.control.survey import OperatorNames
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    OPEN_ACTION_STATES,
    ActionRecord,
    ActionState,
    RequestKind,
    TxRecord,
)

__all__ = [
    "action_detail",
    "action_row",
    "actions_command",
    "render_action_detail",
    "render_actions",
]

Report = dict[str, Any]


def action_row(record: ActionRecord, names: OperatorNames) -> Report:
    """One ``autobot actions`` entry."""
    return {
        "key": record.key,
        "kind": record.kind,
        "subject_id": record.subject_id,
        "action_id": record.action_id,
        "action_name": action_name(record.action_id),
        "state": record.state.value,
        "outcome": plain(record.outcome),
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
        "error_message": record.error_message,
    }


def _tx_row(tx: TxRecord, names: OperatorNames) -> Report:
    row: Report = plain(tx)
    del row["raw"]  # the signed bytes (public once submitted): only their length is shown
    return row | {
        "call": from_json(tx.call),
        "sender_name": names.name(tx.sender) or "admin",
        "vm_status": tx.error_message,
        "expires_at_utc": utc(tx.expires_at),
        "created_utc": utc(tx.created_wall),
        "submitted_utc": utc(tx.submitted_wall),
        "settled_utc": utc(tx.settled_wall),
        "raw_bytes": len(tx.raw),
    }


def action_detail(
    record: ActionRecord, transactions: Sequence[TxRecord], names: OperatorNames
) -> Report:
    """``actions show``: the row, recipe, calls, hash and every transaction in signing order."""
    calls = from_json(record.calls)
    return action_row(record, names) | {
        "reason": record.reason,
        "timelock_secs": record.timelock_secs,
        "execute_at_utc": utc(record.execute_at),
        "action_hash": plain(record.action_hash),
        "progress": record.progress,
        "call_count": len(calls) if isinstance(calls, list) else None,
        "created_utc": utc(record.created_wall),
        "recipe": from_json(record.recipe),
        "calls": calls,
        "transactions": [_tx_row(tx, names) for tx in transactions],
    }


def render_actions(rows: Iterable[Report]) -> str:
    """One line per action, newest first."""
    lines = []
    for r in rows:
        action = f"{r['action_name']}({r['action_id']})" if r["action_id"] is not None else "-"
        operator = r["operator_name"] or short(r["operator"])
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
        text += f" co-signed by {', '.join(short(s) for s in call['secondary'])}"
    return text


def render_action_detail(d: Report) -> str:
    """The full timeline of one action."""
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
# The command


def actions_command(args: argparse.Namespace) -> int:
    return run(lambda: _actions(args))


def _states(text: str | None) -> set[ActionState]:
    """``--state``: comma-separated state names, ``open`` for every open state."""
    wanted: set[ActionState] = set()
    for part in (p.strip().lower() for p in (text or "").split(",") if p.strip()):
        if part == "open":
            wanted |= OPEN_ACTION_STATES
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


async def _find(journal: Journal, key: str) -> ActionRecord:
    record = await journal.get_action(key)
    if record is not None:
        return record
    close = [a for a in await journal.list_actions(limit=100_000) if a.key.startswith(key + ":")]
    if len(close) == 1:
        return close[0]
    hint = f"; did you mean one of {', '.join(a.key for a in close[:8])}?" if close else ""
    raise CommandError(
        f"no action {key!r} in the journal (keys look like refund:4:1; see `autobot actions`)"
        + hint
    )


async def _actions(args: argparse.Namespace) -> int:
    ready = setup(args)
    config, names = ready.config, ready.names
    as_json = bool(args.json or getattr(args, "json_sub", False))
    sub = args.actions_command
    states = _states(args.state) if sub is None else set()
    async with await open_journal(config) as journal:
        if sub is None:
            records = await journal.list_actions(states=states, limit=1_000)
            rows = [action_row(a, names) for a in records]
            print(json.dumps(rows, indent=2) if as_json else render_actions(rows))
            return 0
        record = await _find(journal, args.action_id)
        if sub == "show":
            detail = action_detail(record, await journal.transactions(record.key), names)
            print(json.dumps(detail, indent=2) if as_json else render_action_detail(detail))
            return 0
        return await _request(sub, record, config, journal, as_json=as_json)


async def _request(
    sub: str, record: ActionRecord, config: Config, journal: Journal, *, as_json: bool
) -> int:
    """Journal a retry or park request for ``record`` (checked against its state first)."""
    kind = RequestKind.RETRY if sub == "retry" else RequestKind.PARK
    if kind is RequestKind.RETRY and record.state not in (ActionState.PARKED, ActionState.FAILED):
        raise CommandError(
            f"action {record.key} is {record.state.value}: only parked or failed actions are "
            "retried; nothing was written"
        )
    if kind is RequestKind.PARK and not record.is_open:
        raise CommandError(
            f"action {record.key} is {record.state.value}: only open actions can be parked; "
            "nothing was written"
        )
    for pending in await journal.pending_requests():
        if pending.kind in (RequestKind.RETRY, RequestKind.PARK) and pending.subject == record.key:
            raise CommandError(
                f"request #{pending.id} ({pending.kind.value} {record.key}) is still pending; "
                "nothing was written"
            )
    user = requested_by()
    params = {"reason": f"parked by {user} (autobot actions park)"} if sub == "park" else {}
    request = await journal.add_request(kind, record.key, requested_by=user, params=params)
    if kind is RequestKind.RETRY:
        what = (
            f"run {record.key} ({record.state.value}) again: an announcement still pending on "
            "chain resumes with the same hash, anything else starts over with a new execution "
            "time and hash"
        )
    else:
        what = (
            f"stop {record.key} ({record.state.value}) and leave it parked for a person (a "
            "transaction already submitted may still land)"
        )
    if as_json:
        print(json.dumps({"request_id": request.id, "kind": kind.value, "subject": record.key}))
    else:
        print(
            f"{kind.value} of action {record.key} requested as request #{request.id}; the "
            f"daemon will {what}, {sweep_note(config)}."
        )
    return 0
