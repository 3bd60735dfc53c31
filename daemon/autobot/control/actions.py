"""``autobot actions``: the journal's actions, one action's timeline, and retry/park requests.

``actions [--state S,…] [--json]`` lists actions newest first (``S``: a state name or ``open``);
``actions show KEY`` prints the row, the recipe, the materialised calls, the action hash and
every journaled transaction in signing order; ``actions retry|park KEY`` journals a request the
daemon's executor carries out (``Executor.retry(key)``/``park(key, reason=...)``). ``KEY`` is the
action key (``refund:4:1``); a unique prefix (``refund:4``) is accepted. Retry and park take
the request options every request command has (``--dry-run``, ``--note``, ``--wait``,
``--json``; ``submission``).

Times: the journal's own times (created, updated, signed, settled) are wall-clock; an action's
due and execution times are chain time, labelled (and, ahead, converted: ``control.clocks``).
JSON: chain times as integers (seconds) plus ``*_chain_time`` (ISO-8601), wall times as
``*_wall`` (ISO-8601).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from autobot.chain.gateway import ChainGateway
from autobot.control.clocks import read_clocks
from autobot.control.console import (
    CommandError,
    Setup,
    action_name,
    call_text,
    from_json,
    open_journal,
    plain,
    requested_by,
    run,
    setup,
    short,
)
from autobot.control.submission import Proposal, submit
from autobot.control.survey import OperatorNames
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    OPEN_ACTION_STATES,
    ActionRecord,
    ActionState,
    RequestKind,
    TxRecord,
)
from autobot.status.moments import Clocks, chain_text, iso, pretty

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
        "due_at_chain_time": iso(record.due_at),
        "execute_at": record.execute_at,
        "next_check_at": record.next_check_at,
        "updated_wall": iso(record.updated_wall),
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
        "expires_at_wall": iso(tx.expires_at),
        "created_wall": iso(tx.created_wall),
        "submitted_wall": None if tx.submitted_wall is None else iso(tx.submitted_wall),
        "settled_wall": None if tx.settled_wall is None else iso(tx.settled_wall),
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
        "execute_at_chain_time": None if record.execute_at is None else iso(record.execute_at),
        "action_hash": plain(record.action_hash),
        "progress": record.progress,
        "call_count": len(calls) if isinstance(calls, list) else None,
        "created_wall": iso(record.created_wall),
        "recipe": from_json(record.recipe),
        "calls": calls,
        "transactions": [_tx_row(tx, names) for tx in transactions],
    }


def render_actions(rows: Iterable[Report]) -> str:
    """One line per action, newest first (``updated``: the journal's wall-clock time)."""
    lines = []
    for r in rows:
        action = f"{r['action_name']}({r['action_id']})" if r["action_id"] is not None else "-"
        bot = short(r["operator"])  # a bot by its configured name, with its address
        if r["operator_name"] and r["operator"]:
            bot = f"{r['operator_name']} ({bot})"
        line = (
            f"{r['key']:<28} {r['kind']:<9} subject {r['subject_id']:<4} {action:<16}"
            f" bot {bot:<17} {r['state']:<10} attempts {r['attempts']:<3}"
            f" updated {pretty(r['updated_wall'])}"
        )
        lines.append(line + (f"  error {r['error_name']}" if r["error_name"] else ""))
    return "\n".join(lines) if lines else "no actions"


def _call_text(call: Any, clocks: Clocks | None) -> str:
    text = call_text(call)
    if not isinstance(call, dict):
        return text
    if isinstance(call.get("not_before"), int):
        at = call["not_before"]
        text += f" not before {clocks.moment(at) if clocks is not None else chain_text(at)}"
    if call.get("secondary"):
        text += f" co-signed by {', '.join(short(s) for s in call['secondary'])}"
    return text


def _recipe_text(recipe: Any) -> str:
    """The journaled recipe, its chain times labelled (``*_ts``, ``*_at``, ``not_before``)."""
    if not isinstance(recipe, dict):
        return json.dumps(recipe)
    parts = []
    for name, value in sorted(recipe.items()):
        timed = name.endswith(("_ts", "_at")) or name == "not_before"
        if timed and isinstance(value, int) and value > 0:
            parts.append(f"{name}: {chain_text(value)}")
        else:
            parts.append(f"{name}: {json.dumps(value)}")
    return "{" + ", ".join(parts) + "}"


def render_action_detail(d: Report, clocks: Clocks | None = None) -> str:
    """The full timeline of one action (journal times are wall-clock, chain times labelled)."""
    attest = f"action id {d['action_id']} ({d['action_name']})" if d["action_id"] else "no bot"
    count = "?" if d["call_count"] is None else d["call_count"]
    timelock = "-" if d["timelock_secs"] is None else f"{d['timelock_secs']} s"
    out = [
        f"action {d['key']} — {d['kind']}, subject {d['subject_id']}, {attest}",
        f"  state {d['state']}  outcome {d['outcome'] or '-'}  attempts {d['attempts']}"
        f"  progress {d['progress']}/{count}",
        f"  bot {d['operator_name'] or '-'} ({d['operator'] or 'no bot'})  timelock {timelock}",
        f"  executes {_when(d['execute_at'], clocks)}",
        f"  action hash {d['action_hash'] or '- (fixed when the action is announced)'}",
        f"  reason: {d['reason']}",
        f"  due {_when(d['due_at'], clocks)}",
        f"  created {pretty(d['created_wall'])}  updated {pretty(d['updated_wall'])}",
    ]
    if d["error_name"] or d["error_message"]:
        code = "" if d["error_code"] is None else f"(0x{d['error_code']:x})"
        out.append(f"  last error: {d['error_name'] or ''}{code} {d['error_message'] or ''}")
    out.append(f"recipe: {_recipe_text(d['recipe'])}")
    calls = d["calls"]
    if isinstance(calls, list):
        out.append(f"calls ({len(calls)}):")
        out += [f"  {i}. {_call_text(c, clocks)}" for i, c in enumerate(calls, start=1)]
    else:
        out.append("calls: not fixed yet (materialised with the hash when announced)")
    out.append(f"transactions ({len(d['transactions'])}):")
    for i, tx in enumerate(d["transactions"], start=1):
        out += [
            f"  {i}. {tx['purpose']} #{tx['call_index']} {tx['tx_hash']} — {tx['state']}",
            f"     call {_call_text(tx['call'], clocks)}",
            f"     sender {tx['sender_name']} {tx['sender']} sequence {tx['sequence_number']}"
            f"  expires {pretty(tx['expires_at_wall'])}  submissions {tx['submissions']}",
            f"     signed {pretty(tx['created_wall'])}  submitted "
            f"{pretty(tx['submitted_wall']) if tx['submitted_wall'] else '-'}"
            f"  settled {pretty(tx['settled_wall']) if tx['settled_wall'] else '-'}",
        ]
        if tx["error_name"] or tx["vm_status"]:
            out.append(f"     vm_status: {tx['vm_status'] or tx['error_name']}")
    if not d["transactions"]:
        out.append("  none")
    return "\n".join(out)


def _when(chain_ts: int | None, clocks: Clocks | None) -> str:
    if chain_ts is None:
        return "- (fixed when the action is announced)"
    return clocks.moment(chain_ts) if clocks is not None else chain_text(chain_ts)


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
    sub = args.actions_command
    if sub in ("retry", "park"):
        return await _request(args, ready)
    states = _states(args.state) if sub is None else set()
    async with await open_journal(config) as journal:
        if sub is None:
            records = await journal.list_actions(states=states, limit=1_000)
            rows = [action_row(a, names) for a in records]
            print(json.dumps(rows, indent=2) if args.json else render_actions(rows))
            return 0
        record = await _find(journal, args.action_id)
        detail = action_detail(record, await journal.transactions(record.key), names)
    if args.json:
        print(json.dumps(detail, indent=2))
        return 0
    print(render_action_detail(detail, await _clocks(ready)))
    return 0


async def _clocks(ready: Setup) -> Clocks | None:
    """Both clocks, if the chain answers (an action's times are still labelled without)."""
    from autobot.chain.supra import SupraGateway
    from autobot.errors import AutobotError

    try:
        async with SupraGateway.from_config(ready.config.chain) as gateway:
            now = (await gateway.chain_time()).seconds
    except AutobotError:
        return None
    return (await read_clocks(ready.config, chain_now=now, wall_now=time.time())).clocks


async def _request(args: argparse.Namespace, ready: Setup) -> int:
    """``retry`` or ``park``: checked against the action's state, then the common flow."""
    kind = RequestKind.RETRY if args.actions_command == "retry" else RequestKind.PARK

    async def propose(journal: Journal, gateway: ChainGateway) -> Proposal:
        record = await _find(journal, args.action_id)
        if kind is RequestKind.RETRY and record.state not in (
            ActionState.PARKED,
            ActionState.FAILED,
        ):
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
            if pending.kind in (RequestKind.RETRY, RequestKind.PARK) and (
                pending.subject == record.key
            ):
                raise CommandError(
                    f"request #{pending.id} ({pending.kind.value} {record.key}) is still "
                    "pending; nothing was written"
                )
        if kind is RequestKind.RETRY:
            what = (
                f"run {record.key} ({record.state.value}) again: an announcement still pending "
                "on chain resumes with the same hash, anything else starts over with a new "
                "execution time and hash"
            )
            params: dict[str, object] = {}
        else:
            what = (
                f"stop {record.key} ({record.state.value}) and leave it parked for a person (a "
                "transaction already submitted may still land)"
            )
            params = {"reason": f"parked by {requested_by()} (autobot actions park)"}
        return Proposal(
            kind=kind,
            subject=record.key,
            params=params,
            summary=f"{kind.value} action {record.key}: the daemon will {what}",
            action_key=record.key,
        )

    return await submit(args, ready, propose)
