"""How every request command writes its request: say what will happen, confirm, write, follow.

One flow for ``cancel``, ``refund``, ``feed clear-clamp``, ``bot rotate`` and ``actions retry|park``
(each command only builds its ``Proposal``):

1. the command checks its request against the chain and the journal (``survey.check_request``:
   the daemon's own planner) and describes it: the calls, the bot that will announce it, the
   timelock and when it ends on both clocks, and the side effects (a rotation clearing a pending
   slot names the action that starts over). A request that would change nothing is refused
   here, before anything is written;
2. the description is printed (stdout; with ``--json``, one JSON object at the end instead);
3. ``--dry-run`` stops: nothing is written (exit 0);
4. a **sensitive** request (cancel, refund, clear-clamp, rotate, resume) asks ``Write this
   request? [y/N]`` on the terminal; without a terminal it is refused unless ``--yes`` says so;
5. the request is written with the requester's user name and ``--note`` (kept in the request's
   params as ``note``; the daemon puts both in the incident log when the action ends, with the
   transaction hashes as links);
6. ``--wait`` follows it (``follow.follow_request``) and the exit code is its outcome.

The JSON object (``--json``): ``{"request": {id, kind, subject, params, requested_by, note},
"dry_run", "config": {path, how}, "preview": {summary, calls, bot, timelock_secs,
executes_after, effects}, "action_key", "outcome"}`` (``outcome`` with ``--wait``, else ``null``;
``request.id`` is ``null`` for a dry run). ``executes_after`` is ``{"chain_time",
"expected_wall_time"}`` as on the status page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autobot.chain.gateway import ChainGateway
from autobot.chain.supra import SupraGateway
from autobot.config import Config
from autobot.control.clocks import read_clocks
from autobot.control.console import CommandError, Setup, open_journal, requested_by
from autobot.control.follow import follow_request
from autobot.journal.protocol import Journal
from autobot.journal.records import RequestKind
from autobot.status.moments import Clocks, Moments

__all__ = ["SENSITIVE", "BotRoute", "Proposal", "clocks_for", "submit"]

SENSITIVE = frozenset(
    {
        RequestKind.CANCEL,
        RequestKind.REFUND,
        RequestKind.CLAMP,
        RequestKind.ROTATE,
        RequestKind.UNPAUSE,
    }
)
"""The requests asked for on a terminal (``--yes`` without one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BotRoute:
    """The bot that announces and records the request's action (``None`` in a proposal: an admin
    call gated locally, no bot)."""

    name: str | None
    address: str
    timelock_secs: int
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """A checked request and what the person is told about it before it is written."""

    kind: RequestKind
    subject: str
    params: Mapping[str, object]
    summary: str
    calls: tuple[str, ...] = ()
    bot: BotRoute | None = None
    executes_after: int | None = None  # chain seconds: the announcement's earliest execution
    effects: tuple[str, ...] = ()
    action_key: str | None = None  # "{id}" stands for the request's id
    changes_nothing: str | None = None  # why writing it would be pointless: refused
    clocks: Clocks | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def sensitive(self) -> bool:
        return self.kind in SENSITIVE

    def key_for(self, request_id: int | None) -> str | None:
        if self.action_key is None:
            return None
        return self.action_key.replace("{id}", "N" if request_id is None else str(request_id))


async def clocks_for(config: Config, chain_now: int) -> Clocks:
    """Both clocks now, for a proposal read at chain time ``chain_now``."""
    return (await read_clocks(config, chain_now=chain_now, wall_now=time.time())).clocks


_COMMANDS = {
    RequestKind.CANCEL: "cancel",
    RequestKind.REFUND: "refund",
    RequestKind.CLAMP: "feed clear-clamp",
    RequestKind.ROTATE: "bot rotate",
    RequestKind.UNPAUSE: "vrf resume",
    RequestKind.RETRY: "actions retry",
    RequestKind.PARK: "actions park",
}


Propose = Callable[[Journal, ChainGateway], Awaitable[Proposal]]


def _preview_lines(p: Proposal, ready: Setup) -> list[str]:
    lines = [p.summary]
    if p.calls:
        lines.append("  calls:")
        lines += [f"    {call}" for call in p.calls]
    if p.bot is not None:
        who = p.bot.name or "an unnamed operator"
        lines.append(
            f"  announced by bot {who} ({p.bot.address}) with announce_dry_run; its timelock "
            f"is {p.bot.timelock_secs} s" + (f" ({p.bot.note})" if p.bot.note else "")
        )
        if p.executes_after is not None and p.clocks is not None:
            lines.append(f"  earliest execution: {p.clocks.moment(p.executes_after)}")
    lines += [f"  {effect}" for effect in p.effects]
    lines.append(f"  config: {ready.choice.path} ({ready.choice.how})")
    return lines


def _preview_json(p: Proposal) -> dict[str, Any]:
    moments = None if p.clocks is None else Moments(now=p.clocks.chain_now, clock=p.clocks.line)
    return {
        "summary": p.summary,
        "calls": list(p.calls),
        "bot": None
        if p.bot is None
        else {"name": p.bot.name, "address": p.bot.address, "note": p.bot.note or None},
        "timelock_secs": None if p.bot is None else p.bot.timelock_secs,
        "executes_after": None
        if p.executes_after is None or moments is None
        else moments(p.executes_after),
        "effects": list(p.effects),
        **p.extra,
    }


def _confirmed(p: Proposal, args: argparse.Namespace) -> bool:
    """Step 4: ``--yes``, or a ``y`` typed on the terminal; ``CommandError`` without one."""
    if not p.sensitive or args.yes:
        return True
    if not sys.stdin.isatty():
        raise CommandError(
            f"refused: {_COMMANDS.get(p.kind, p.kind.value)} is a sensitive request and there is "
            "no terminal to confirm it on: read the above, then run it again with --yes; nothing "
            "was written"
        )
    print("Write this request? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


async def submit(args: argparse.Namespace, ready: Setup, propose: Propose) -> int:
    """The whole flow (module docstring) for one request command; returns its exit code."""
    as_json = bool(args.json)
    config = ready.config
    async with await open_journal(config) as journal:
        async with SupraGateway.from_config(config.chain) as gateway:
            proposal = await propose(journal, gateway)
        if proposal.changes_nothing is not None:
            raise CommandError(f"refused: {proposal.changes_nothing}; nothing was written")
        report: dict[str, Any] = {
            "request": None,
            "dry_run": bool(args.dry_run),
            "config": {"path": str(ready.choice.path), "how": ready.choice.how},
            "preview": _preview_json(proposal),
            "action_key": proposal.key_for(None),
            "outcome": None,
        }
        if not as_json:
            print("\n".join(_preview_lines(proposal, ready)))
        note = args.note
        params = dict(proposal.params) | ({"note": note} if note else {})
        user = requested_by()
        request_json = {
            "id": None,
            "kind": proposal.kind.value,
            "subject": proposal.subject,
            "params": params,
            "requested_by": user,
            "note": note,
        }
        if args.dry_run:
            report["request"] = request_json
            if as_json:
                print(json.dumps(report, indent=2))
            else:
                print("dry run: the request was checked and nothing was written")
            return 0
        if not _confirmed(proposal, args):
            raise CommandError("not confirmed; nothing was written")
        record = await journal.add_request(
            proposal.kind, proposal.subject, requested_by=user, params=params
        )
        request_json["id"] = record.id
        report["request"] = request_json
        report["action_key"] = proposal.key_for(record.id)
        if not as_json:
            print(_written(proposal, record.id, user, note, ready, waiting=bool(args.wait)))
        if not args.wait:
            if as_json:
                print(json.dumps(report, indent=2))
            return 0
        outcome = await follow_request(
            journal,
            gateway=None,
            config=config,
            request_id=record.id,
            names=ready.names,
            quiet=as_json,
        )
    report["outcome"] = outcome.to_json()
    if as_json:
        print(json.dumps(report, indent=2))
    return outcome.exit_code


def _written(
    p: Proposal, request_id: int, user: str, note: str | None, ready: Setup, *, waiting: bool
) -> str:
    key = p.key_for(request_id)
    planned = f" as {key}" if key else ""
    why = f' (note: "{note}")' if note else ""
    live = (
        "" if ready.config.automation.live else " — automation.mode is dry-run: it only simulates"
    )
    follow = "" if waiting else f" Follow it with {ready.hints('status')}."
    return (
        f"request #{request_id} written by {user}{why}: the daemon plans it{planned} on its next "
        f"sweep, within ~{ready.config.scheduler.poll_interval_seconds:g} s{live}.{follow}"
    )
