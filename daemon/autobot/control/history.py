"""``autobot bot history OPERATOR [--blocks N] [--json]``: a bot's automation events on chain.

Reads the operator's announcements, successes, failures, errors and rotations
(``events.bot_history``) and marks each by whether its action hash is in autobot's journal. The
AutomationFailureLimit runbook starts here: failures marked ``NOT autobot's`` were recorded by
someone else signing with the operator's key (a leaked key), and no journal entry explains them.

Text: one line per event, oldest first, with its block, chain time, action and transaction. JSON:
``{"operator", "name", "blocks", "events": [{kind, block_height, tx_hash, action_id, action_hash,
at, at_chain_time, failure_count, error_code, autobots}], "foreign_failures"}``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from autobot.chain.supra import SupraGateway
from autobot.control.console import ChainUnreachable, action_name, open_journal, run, setup
from autobot.control.events import BotEvent, bot_history
from autobot.control.requests import operator_address
from autobot.control.survey import unreachable
from autobot.errors import AutobotError
from autobot.hints import Hints
from autobot.status.moments import chain_text, iso

__all__ = ["bot_history_command", "render_history"]


def _line(e: BotEvent) -> str:
    action = "" if e.action_id is None else f" {action_name(e.action_id)}({e.action_id})"
    when = "" if e.at is None else f" {chain_text(e.at)}"
    whose = {True: "autobot's", False: "NOT autobot's", None: "-"}[e.autobots]
    extra = ""
    if e.kind == "failure" and e.failure_count is not None:
        extra = f" → failure_count {e.failure_count}"
    if e.kind == "error" and e.error_code is not None:
        extra = f" code 0x{e.error_code:x}"
    hash_text = "" if e.action_hash is None else f" hash {e.action_hash[:18]}…"
    return (
        f"  block {e.block_height:<8} {e.kind:<9}{action}{extra}{when}{hash_text}"
        f"  [{whose}]  tx {e.tx_hash}"
    )


def render_history(
    label: str, address: str, events: list[BotEvent], hints: Hints | None = None
) -> str:
    hints = hints or Hints()
    failures = [e for e in events if e.kind == "failure"]
    foreign = [e for e in failures if e.autobots is False]
    out = [f"bot {label} ({address}): {len(events)} automation event(s), oldest first"]
    out += [_line(e) for e in events] or ["  none in the blocks searched"]
    if foreign:
        out.append(
            f"{len(foreign)} of {len(failures)} failure(s) are NOT in autobot's journal: someone "
            f"else signs with {label}'s key. Revoke that key (rotate to a new operator key) before "
            "raising max_failures."
        )
    elif failures:
        out.append("every failure is autobot's: see `autobot actions --state failed`")
    return "\n".join(out)


def bot_history_command(args: argparse.Namespace) -> int:
    return run(lambda: _history(args))


async def _history(args: argparse.Namespace) -> int:
    ready = setup(args)
    address = operator_address(str(args.operator), ready.names)
    label = ready.names.label(address)
    async with await open_journal(ready.config) as journal:
        known = {
            "0x" + a.action_hash.hex()
            for a in await journal.list_actions(limit=1_000_000)
            if a.action_hash is not None
        }
    try:
        async with SupraGateway.from_config(ready.config.chain) as gateway:
            events = await bot_history(
                gateway, ready.config, operator=address, known_hashes=known, blocks=args.blocks
            )
    except (AutobotError, TimeoutError) as exc:
        raise ChainUnreachable(
            f"cannot read the chain ({unreachable(exc, ready.config)})"
        ) from None
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "kind": e.kind,
                "block_height": e.block_height,
                "tx_hash": e.tx_hash,
                "action_id": e.action_id,
                "action_hash": e.action_hash,
                "at": e.at,
                "at_chain_time": None if e.at is None else iso(e.at),
                "failure_count": e.failure_count,
                "error_code": e.error_code,
                "autobots": e.autobots,
            }
            for e in events
        ]
        foreign = sum(1 for e in events if e.kind == "failure" and e.autobots is False)
        print(
            json.dumps(
                {
                    "operator": address,
                    "name": ready.names.name(address),
                    "blocks": args.blocks,
                    "events": rows,
                    "foreign_failures": foreign,
                },
                indent=2,
            )
        )
        return 0
    print(render_history(label, address, events, ready.hints))
    return 0
