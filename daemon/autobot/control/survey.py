"""What the daemon would see and do, read by the operator CLI: journal knowledge, one chain
snapshot, the planners' answer and each action's route.

The CLI must tell the same story the daemon acts on, so it reuses the daemon's parts rather than
re-deriving them: the planners (``plan_all``, and ``planning.requests.decide`` for a new
request), the planners' context (``build_plan_context``: the daemon's ``sweep_context`` and
``planning.context.plan_context``), the router's candidate order (``execution.Router``) and the
guards (``execution.DEFAULT_GUARDS``). ``read_snapshot`` reads what the daemon's first sweep
reads: every lottery the journal does not know as terminal, and the watched feeds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from autobot.chain.gateway import ChainGateway
from autobot.config import Config
from autobot.domain.bots import Bot
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import Snapshot, live_overview
from autobot.errors import AutobotError
from autobot.execution import DEFAULT_GUARDS, SLOT_STATES, GuardContext, Guards, Router
from autobot.journal.protocol import Journal
from autobot.journal.records import ActionRecord, ActionState, RequestRecord
from autobot.planning import PlanContext, PlannedAction, PlanResult
from autobot.planning.context import plan_context
from autobot.planning.requests import OperatorRequest, decide
from autobot.sweep_context import plan_settings, read_journal

__all__ = [
    "PROBE_REQUEST_ID",
    "ChainFacts",
    "CheckedRequest",
    "JournalFacts",
    "OperatorNames",
    "RequestRefused",
    "Routing",
    "build_plan_context",
    "busy_operators",
    "chain_deadline",
    "check_request",
    "read_snapshot",
    "route",
    "routes_for",
    "unreachable",
]

PROBE_REQUEST_ID = 0
"""The id a request carries while it is checked, before the journal gives it one (ids start at 1)."""


class RequestRefused(Exception):
    """The daemon would not carry out a request (or it could not be checked); nothing written.

    ``unreachable``: the chain did not answer, so the request could not be checked (exit 75)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorNames:
    """The configured operator names (``keys.operator_key_files``) and their addresses."""

    by_name: Mapping[str, str]  # name -> 0x address

    def name(self, address: str | None) -> str | None:
        return next((n for n, a in self.by_name.items() if a == address), None)

    def label(self, address: str | None) -> str:
        """``A`` for a configured operator, else the address shortened (``0x3277…7503``)."""
        if address is None:
            return "-"
        return self.name(address) or f"{address[:6]}…{address[-4:]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """The bot a planned action would go to now (docs/decisions.md §8), or why none would."""

    operator: str | None
    timelock_secs: int | None = None
    note: str = ""  # why there is no bot, or that the chosen one is busy


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainFacts:
    """One chain read and the planning pass over it."""

    snapshot: Snapshot
    result: PlanResult
    routes: Mapping[str, Routing]  # by planned action key
    journaled: Mapping[str, ActionState] = field(default_factory=dict)
    """Planned keys the journal already has: the executor keeps an existing key as it is, so a
    parked, failed, done or moot one is not run again without ``autobot actions retry``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalFacts:
    """What the journal says, read once."""

    path: str
    open_actions: tuple[ActionRecord, ...]
    pending_requests: tuple[RequestRecord, ...]
    parked: tuple[ActionRecord, ...] = ()
    failed: tuple[ActionRecord, ...] = ()
    requests_would_reject: Mapping[int, str] = field(default_factory=dict)


async def build_plan_context(
    config: Config,
    journal: Journal,
    *,
    names: OperatorNames,
    extra: Sequence[OperatorRequest] = (),
) -> PlanContext:
    """The planners' ``PlanContext`` as the daemon's sweep builds it (``sweep_context`` and
    ``planning.context.plan_context``, the same functions), then ``extra`` requests."""
    read = await read_journal(journal, operators=names.by_name)
    return plan_context(plan_settings(config), read.knowledge, extra=extra)


# --------------------------------------------------------------------------------------------
# Routing


def busy_operators(open_actions: Sequence[ActionRecord]) -> set[str]:
    """Operators whose pending slot one of autobot's open actions holds (or is taking)."""
    return {a.operator for a in open_actions if a.operator and a.state in SLOT_STATES}


def route(
    action_id: int,
    bots: Sequence[Bot],
    *,
    holders: Collection[str],
    busy: Collection[str],
    now: int,
    names: OperatorNames,
) -> Routing:
    """``Router.route`` without its logging and metrics: the allowed bot with the smallest
    timelock whose key autobot holds (sensitive ids: timelock >= 900 s) that passes every guard.
    If only busy bots qualify, the first of them (the action waits for its slot)."""
    refusals: list[str] = []
    waiting: list[Bot] = []
    for bot in Router(guards=Guards(()), operators=holders).candidates(action_id, bots):
        if bot.timelock_secs > 0 and bot.operator in busy:
            waiting.append(bot)
            continue
        ctx = GuardContext(bot=bot, action_id=action_id, now=now, announcing=bot.timelock_secs > 0)
        refused = next((r for g in DEFAULT_GUARDS if (r := g.check(ctx)) is not None), None)
        if refused is None:
            return Routing(operator=bot.operator, timelock_secs=bot.timelock_secs)
        refusals.append(f"{names.label(bot.operator)}: {refused}")
    if waiting:
        note = "busy: its pending slot holds another of autobot's actions, this one waits"
        return Routing(
            operator=waiting[0].operator, timelock_secs=waiting[0].timelock_secs, note=note
        )
    reason = "; ".join(refusals) or "no bot autobot holds a key for is allowed this action"
    return Routing(operator=None, note=reason)


def routes_for(
    actions: Sequence[PlannedAction],
    snapshot: Snapshot,
    names: OperatorNames,
    open_actions: Sequence[ActionRecord],
) -> dict[str, Routing]:
    """The route of every planned action that a bot attests, by key."""
    busy = busy_operators(open_actions)
    holders = set(names.by_name.values())
    return {
        str(a.key): route(
            int(a.action_id),
            snapshot.bots,
            holders=holders,
            busy=busy,
            now=snapshot.now,
            names=names,
        )
        for a in actions
        if a.action_id is not None
    }


# --------------------------------------------------------------------------------------------
# The chain


def chain_deadline(config: Config) -> float:
    """How long one command waits for its whole chain read."""
    return max(5.0, 3 * config.chain.request_timeout_seconds)


def unreachable(exc: BaseException, config: Config) -> str:
    """Why a chain read failed, in one line."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {chain_deadline(config):g} s"
    return f"{type(exc).__name__}: {exc}"


async def read_snapshot(
    config: Config,
    gateway: ChainGateway,
    journal: Journal,
    *,
    lottery_ids: Collection[int] | None = None,
    asset_ids: Collection[int] | None = None,
) -> Snapshot:
    """One chain read within ``chain_deadline``, by default what the daemon's sweep reads: every
    lottery the journal does not know as terminal, and ``[feeds] assets`` or
    ``config.DEFAULT_FEED_PROBE`` (``FeedsConfig.watched``), with the overview the daemon exports
    (``live_overview``). Raises ``AutobotError`` or ``TimeoutError``."""
    async with asyncio.timeout(chain_deadline(config)):
        terminal: dict[int, int] | None = None
        if lottery_ids is None:
            terminal = await journal.terminal_statuses()
            lottery_ids = [i for i in await gateway.lottery_ids() if i not in terminal]
        if asset_ids is None:
            asset_ids = config.feeds.watched
        snapshot = await gateway.snapshot(lottery_ids=lottery_ids, asset_ids=asset_ids)
    if terminal is None:
        return snapshot
    # the overview the daemon exports: every lottery read, the journal's terminal ones by status
    known = Counter(LotteryStatus(s) for s in terminal.values())
    overview = live_overview(snapshot.lotteries.values(), snapshot.now, terminal=known)
    return replace(snapshot, overview=overview)


# --------------------------------------------------------------------------------------------
# Checking a new request


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedRequest:
    """A request the daemon's planner accepts, and how it would be carried out now."""

    planned: PlannedAction
    routing: Routing | None  # None: no bot attestation (an admin call gated locally)
    snapshot: Snapshot


async def check_request(
    request: OperatorRequest,
    *,
    config: Config,
    names: OperatorNames,
    journal: Journal,
    gateway: ChainGateway,
    lottery_ids: Collection[int] = (),
    asset_ids: Collection[int] = (),
) -> CheckedRequest:
    """Run the daemon's request planner over a fresh snapshot with ``request`` (carrying
    ``PROBE_REQUEST_ID``) after the pending ones; ``RequestRefused`` says why not."""
    try:
        snapshot = await read_snapshot(
            config, gateway, journal, lottery_ids=lottery_ids, asset_ids=asset_ids
        )
    except (AutobotError, TimeoutError) as exc:
        raise RequestRefused(
            f"cannot read the chain ({unreachable(exc, config)}): a request is checked against "
            "the chain before it is written",
            unreachable=True,
        ) from None
    ctx = await build_plan_context(config, journal, names=names, extra=(request,))
    outcome = decide(snapshot, ctx)
    rejected = next((r for r in outcome.rejected if r.request_id == PROBE_REQUEST_ID), None)
    if rejected is not None:
        raise RequestRefused(rejected.reason)
    planned = next(a for a in outcome.actions if a.request_id == PROBE_REQUEST_ID)
    existing = await journal.get_action(str(planned.key))
    if existing is not None and not existing.is_open:
        # The executor keeps an existing key as it is: the request would change nothing.
        again = existing.state in (ActionState.PARKED, ActionState.FAILED)
        hint = f"; run it again with `autobot actions retry {existing.key}`" if again else ""
        raise RequestRefused(
            f"the daemon would plan {planned.key}, which the journal already has "
            f"({existing.state.value}){hint}"
        )
    routing = None
    if planned.action_id is not None:
        routing = route(
            int(planned.action_id),
            snapshot.bots,
            holders=set(names.by_name.values()),
            busy=busy_operators(await journal.open_actions()),
            now=snapshot.now,
            names=names,
        )
    return CheckedRequest(planned=planned, routing=routing, snapshot=snapshot)
