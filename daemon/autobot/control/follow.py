"""``--wait``: follow a written request until its outcome, with a countdown through the timelock.

The request is the daemon's to carry out; this only reads. Each moment is printed once as it
happens (stdout; nothing with ``--json``): the daemon takes the request (or rejects it) →
the action is announced by its bot → waits for the timelock, counting down to the expected wall
time (on a terminal one line updated in place, otherwise a line every ``PROGRESS_SECONDS``) →
executes → ends. The outcome (``Outcome``) gives the exit code: 0 for ``done`` (also ``moot``:
the goal was already reached on chain, said so), 1 for ``rejected``, ``failed`` or ``parked``.
A request the daemon does not take within a few sweeps gets one line asking whether it runs;
the follower keeps waiting (Ctrl-C stops it; the request stays written).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from autobot.chain.gateway import ChainGateway
from autobot.chain.supra import SupraGateway
from autobot.config import Config
from autobot.control.clocks import read_clocks
from autobot.control.survey import OperatorNames
from autobot.errors import AutobotError
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionRecord,
    ActionState,
    RequestKind,
    RequestState,
    TxState,
)
from autobot.status.moments import Clocks

__all__ = ["Outcome", "follow_request"]

POLL_SECONDS = 0.25
PROGRESS_SECONDS = 10.0
_PLANNED = re.compile(r"planned as action (\S+)")
_ENDED = {ActionState.DONE, ActionState.FAILED, ActionState.PARKED, ActionState.MOOT}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How a followed request ended."""

    request_id: int
    state: str  # rejected | done | moot | failed | parked
    detail: str
    action_key: str | None = None
    transactions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return 0 if self.state in ("done", "moot") else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "state": self.state,
            "detail": self.detail,
            "action_key": self.action_key,
            "transactions": list(self.transactions),
        }


class _Printer:
    """Prints each new line once; a countdown rewrites one line in place on a terminal."""

    def __init__(self, *, quiet: bool) -> None:
        self._quiet = quiet
        self._tty = sys.stdout.isatty()
        self._last = ""
        self._countdown_at = 0.0
        self._open_line = False

    def line(self, text: str) -> None:
        if self._quiet or text == self._last:
            return
        self._end_countdown()
        print(text, flush=True)
        self._last = text

    def countdown(self, text: str) -> None:
        if self._quiet:
            return
        if self._tty:
            print("\r\x1b[2K" + text, end="", flush=True)
            self._open_line = True
            return
        now = time.monotonic()
        if now - self._countdown_at >= PROGRESS_SECONDS:
            print(text, flush=True)
            self._countdown_at = now

    def _end_countdown(self) -> None:
        if self._open_line:
            print(flush=True)
            self._open_line = False


async def _clocks(config: Config, gateway: ChainGateway) -> Clocks | None:
    try:
        async with asyncio.timeout(5):
            now = (await gateway.chain_time()).seconds
    except (AutobotError, TimeoutError):
        return None
    return (await read_clocks(config, chain_now=now, wall_now=time.time())).clocks


def _announced(action: ActionRecord, names: OperatorNames) -> str:
    who = names.label(action.operator)
    return f"{action.key}: announced by bot {who} ({action.operator})"


async def _transactions(journal: Journal, key: str) -> tuple[str, ...]:
    return tuple(
        tx.tx_hash for tx in await journal.transactions(key) if tx.state is TxState.COMMITTED
    )


async def follow_request(
    journal: Journal,
    *,
    gateway: ChainGateway | None,
    config: Config,
    request_id: int,
    names: OperatorNames,
    quiet: bool = False,
) -> Outcome:
    """Follow request ``request_id`` to its outcome (module docstring)."""
    if gateway is None:
        async with SupraGateway.from_config(config.chain) as own:
            return await follow_request(
                journal,
                gateway=own,
                config=config,
                request_id=request_id,
                names=names,
                quiet=quiet,
            )
    out = _Printer(quiet=quiet)
    started = time.monotonic()
    patience = 3 * config.scheduler.poll_interval_seconds + 10
    out.line(f"request #{request_id}: waiting for the daemon to take it (its next sweep)…")
    key: str | None = None
    while key is None:
        request = await journal.get_request(request_id)
        if request is None:
            return Outcome(request_id=request_id, state="rejected", detail="no such request")
        if request.state is RequestState.REJECTED:
            detail = request.result or "rejected"
            out.line(f"request #{request_id}: REJECTED by the daemon: {detail}")
            return Outcome(request_id=request_id, state="rejected", detail=detail)
        if request.state is RequestState.DONE:
            result = request.result or ""
            found = _PLANNED.search(result)
            if request.kind is RequestKind.RETRY:
                key = request.subject
            elif found is None:  # park, or a request with no action of its own
                out.line(f"request #{request_id}: done: {result}")
                return Outcome(request_id=request_id, state="done", detail=result)
            else:
                key = found[1]
            out.line(f"request #{request_id}: {result or 'taken'}")
            break
        if time.monotonic() - started > patience:
            out.line(
                f"request #{request_id}: the daemon has not taken it after "
                f"{int(time.monotonic() - started)} s: is it running with this journal?"
            )
            patience = float("inf")
        await asyncio.sleep(POLL_SECONDS)
    return await _follow_action(journal, gateway, config, key, request_id, names, out)


async def _follow_action(
    journal: Journal,
    gateway: ChainGateway,
    config: Config,
    key: str,
    request_id: int,
    names: OperatorNames,
    out: _Printer,
) -> Outcome:
    seen: ActionState | None = None
    clocks: Clocks | None = None
    clocks_at = 0.0
    while True:
        action = await journal.get_action(key)
        if action is None:
            await asyncio.sleep(POLL_SECONDS)
            continue
        if action.state is not seen:
            seen = action.state
            if action.state is ActionState.ANNOUNCED or (
                action.state is ActionState.WAITING and action.operator
            ):
                out.line(_announced(action, names))
            elif action.state not in _ENDED:
                out.line(f"{key}: {action.state.value}")
        if action.state in _ENDED:
            txs = await _transactions(journal, key)
            state = action.state.value
            error = f" ({action.error_name or action.error_message})" if action.error_name else ""
            detail = f"{state}{error}"
            if action.state is ActionState.MOOT:
                detail = "moot: the goal was already reached on chain; nothing more was sent"
            listed = f"; transactions: {', '.join(txs)}" if txs else ""
            out.line(f"{key}: {detail.upper() if state != 'done' else 'done'}{listed}")
            return Outcome(
                request_id=request_id,
                state=state,
                detail=detail,
                action_key=key,
                transactions=txs,
            )
        if action.state is ActionState.WAITING and action.execute_at is not None:
            if time.monotonic() - clocks_at > 1.0:
                clocks, clocks_at = await _clocks(config, gateway), time.monotonic()
            if clocks is not None:
                out.countdown(
                    f"{key}: waiting for the timelock: executes {clocks.moment(action.execute_at)}"
                )
        await asyncio.sleep(POLL_SECONDS)
