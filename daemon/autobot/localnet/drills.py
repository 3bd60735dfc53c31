"""Alert drills: the localnet makes a page happen on purpose, so the runbook can be practised.

Dev-only, like everything under ``/localnet/v1``: ``POST /localnet/v1/drill`` with one of

=====================================================  ========================================
body                                                   what the chain sees (system transactions)
=====================================================  ========================================
``{"drill": "failure-limit", "operator": "B"}``        ``record_failure`` signed by the operator
                                                       (a timelocked bot: ``announce_dry_run``
                                                       first, ``record_failure`` after its
                                                       timelock) until its ``failure_count``
                                                       reaches ``max_failures``: what a leaked
                                                       operator key does. autobot journaled none
                                                       of it (``autobot bot history`` shows it).
``{"drill": "clamp", "asset": 1}``                     ``update_price`` with a price 1.5 times (or
                                                       ``"factor"``) the feed's: the package
                                                       refuses it and sets ``clamp_active``.
``{"drill": "pause-deposit"}``                         ``record_snapshot_admin`` with an
                                                       effective balance below the required
                                                       minimum: VRF requests pause.
``{"drill": "restore-deposit"}``                       a healthy snapshot: requests resume.
``{"drill": "stall-draw", "lottery": 5}``              the dVRF oracle withholds every callback
                                                       of the lottery from now on.
=====================================================  ========================================

Operators are named as in the daemon's config (``A``, ``B``: the dev accounts) or by address.
The calls run in the next block (a timelocked failure's record in the first block after its
timelock). A drill that cannot run now (a bot already at its limit, a pending announcement in the
way, a feed that is missing or in fallback) is refused with the reason (HTTP 409); a malformed one
with 400. The answer says what was queued. Drill state is not persisted: a localnet restarted in
the middle of a failure-limit drill forgets its remaining steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

import structlog

from autobot.domain.values import normalise_address
from autobot.localnet.accounts import DevAccount
from autobot.localnet.model import PackageModel
from autobot.localnet.oracle import Oracle, SystemCall
from autobot.localnet.scenario import CallbackMode, CallbackRule

__all__ = ["DRILLS", "DrillError", "DrillRefused", "Drills"]

log = structlog.get_logger()

DRILLS = ("failure-limit", "clamp", "pause-deposit", "restore-deposit", "stall-draw")
DRILL_ERROR_CODE = 0xD1
"""The abort code the failure drill records (no package code: it names no real abort)."""


class DrillError(ValueError):
    """A malformed drill request (HTTP 400)."""


class DrillRefused(Exception):
    """A drill that cannot run now, and why (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class _Step:
    after: int  # chain seconds after the previous step of its drill ran (the first: at once)
    call: SystemCall


class Drills:
    """Queues each drill's system calls; the node runs them through ``Actors.due_calls``."""

    def __init__(self, *, admin: str, operators: tuple[DevAccount, ...], oracle: Oracle) -> None:
        self._admin = admin
        self._operators = operators
        self._oracle = oracle
        self._queues: list[tuple[int, list[_Step]]] = []  # (next step's chain second, steps)
        self._count = 0

    @property
    def queued(self) -> int:
        return sum(len(steps) for _, steps in self._queues)

    def due_calls(self, *, now_s: int) -> list[SystemCall]:
        """Each drill's next step whose time has come (one step per drill per block)."""
        calls: list[SystemCall] = []
        kept: list[tuple[int, list[_Step]]] = []
        for due, steps in self._queues:
            if due <= now_s:
                calls.append(_at(steps[0].call, now_s))
                steps = steps[1:]
                if steps:
                    kept.append((now_s + steps[0].after, steps))
            else:
                kept.append((due, steps))
        self._queues = kept
        return calls

    def _queue(self, steps: list[_Step]) -> None:
        self._queues.append((0, steps))

    def settled(self, call: SystemCall, *, success: bool) -> None:
        if not success:
            log.warning("localnet_drill_call_aborted", function=f"{call.module}::{call.function}")

    # ------------------------------------------------------------------ starting a drill

    def start(
        self, body: Mapping[str, object], *, model: PackageModel, now_s: int
    ) -> dict[str, object]:
        """Queue a drill; its description. ``DrillError`` (bad body), ``DrillRefused`` (not now)."""
        name = body.get("drill")
        if name not in DRILLS:
            raise DrillError(f'expected "drill": one of {", ".join(DRILLS)}; got {name!r}')
        match name:
            case "failure-limit":
                out = self._failure_limit(body, model, now_s)
            case "clamp":
                out = self._clamp(body, model)
            case "pause-deposit" | "restore-deposit":
                out = self._deposit(model, healthy=name == "restore-deposit")
            case _:
                out = self._stall(body, model)
        log.info(
            "localnet_drill_started", drill=name, story=f"localnet drill {name}: {out['what']}"
        )
        return {"drill": name, **out}

    def _operator(self, raw: object) -> tuple[str, str]:
        if not isinstance(raw, str) or not raw:
            raise DrillError('expected "operator": a name (A, B, …) or an address')
        for op in self._operators:
            if raw == op.name:
                return op.name, op.address
        try:
            address = normalise_address(raw)
        except ValueError:
            raise DrillError(f"unknown operator {raw!r}") from None
        return next((op.name for op in self._operators if op.address == address), address), address

    def _failure_limit(
        self, body: Mapping[str, object], model: PackageModel, now_s: int
    ) -> dict[str, object]:
        name, operator = self._operator(body.get("operator"))
        bot = model.state.bots.get(operator)
        if bot is None:
            raise DrillRefused(f"operator {name} is not a registered bot")
        if bot.failure_count >= bot.max_failures:
            raise DrillRefused(
                f"bot {name} is already at its limit ({bot.failure_count}/{bot.max_failures})"
            )
        if bot.pending_action_hash:
            raise DrillRefused(
                f"bot {name} has a pending announcement: run the drill once it has executed"
            )
        if not bot.allowed_actions:
            raise DrillRefused(f"bot {name} is allowed no action")
        action_id = bot.allowed_actions[0]
        failures = bot.max_failures - bot.failure_count
        steps: list[_Step] = []
        for _ in range(failures):
            self._count += 1
            digest = hashlib.sha3_256(f"autobot-localnet-drill:{self._count}".encode()).digest()
            if bot.timelock_secs:
                announce = (action_id, digest, 0, bot.timelock_secs)
                steps.append(_Step(after=1, call=_signed(operator, "announce_dry_run", announce)))
            record = (action_id, digest, 0, DRILL_ERROR_CODE)
            steps.append(
                _Step(
                    after=bot.timelock_secs + 1 if bot.timelock_secs else 0,
                    call=_signed(operator, "record_failure", record),
                )
            )
        self._queue(steps)
        at = now_s + failures * (bot.timelock_secs + 2)
        return {
            "what": (
                f"{failures} failure(s) recorded by bot {name} ({operator}) for action {action_id}, "
                f"signed with its key as a leaked key would be, until failure_count reaches "
                f"{bot.max_failures}"
                + (f"; each after its {bot.timelock_secs} s timelock" if bot.timelock_secs else "")
            ),
            "operator": operator,
            "failures": failures,
            "done_by_chain_time": at,
        }

    def _clamp(self, body: Mapping[str, object], model: PackageModel) -> dict[str, object]:
        asset = body.get("asset", 1)
        factor = body.get("factor", 1.5)
        if isinstance(asset, bool) or not isinstance(asset, int):
            raise DrillError(f'expected "asset": an asset id, got {asset!r}')
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
            raise DrillError(f'expected "factor": a positive number, got {factor!r}')
        feed = model.state.feeds.get(asset)
        if feed is None:
            raise DrillRefused(f"no price feed for asset {asset}")
        if feed.fallback_active:
            raise DrillRefused(f"asset {asset} is in fallback: an update would clear it, not clamp")
        price = max(1, int(feed.price * factor))
        if abs(price - feed.price) * 10_000 <= feed.price * feed.clamp_threshold_bps:
            raise DrillRefused(
                f"a factor of {factor} stays within the {feed.clamp_threshold_bps / 100:.1f} % "
                "threshold: it would update, not clamp"
            )
        call = _sent_by(self._admin, "price_feed", "update_price", (asset, price, 0))
        self._queue([_Step(after=0, call=call)])
        return {
            "what": (
                f"asset {asset}: an update to {price} (from {feed.price}, threshold "
                f"{feed.clamp_threshold_bps / 100:.1f} %): the package refuses it and clamps the feed"
            ),
            "asset": asset,
            "refused_price": price,
        }

    def _deposit(self, model: PackageModel, *, healthy: bool) -> dict[str, object]:
        deposit = model.state.g.vrf_deposit
        if deposit is None:
            raise DrillRefused("the package has no VRF deposit ledger")
        minimum = deposit.minimum_balance or 10**10
        required = minimum * deposit.min_balance_multiplier_bps // 10_000
        effective = max(required, deposit.effective_floor) * 2 if healthy else required // 2
        snapshot = (max(effective, deposit.total_balance), minimum, effective, 0)
        call = _sent_by(self._admin, "vrf_deposit", "record_snapshot_admin", snapshot)
        self._queue([_Step(after=0, call=call)])
        what = (
            f"a healthy deposit snapshot (effective {effective}): paused requests resume"
            if healthy
            else f"a deposit snapshot with effective {effective} below the required {required}: "
            "VRF requests pause"
        )
        return {"what": what, "effective_balance": effective, "required_minimum": required}

    def _stall(self, body: Mapping[str, object], model: PackageModel) -> dict[str, object]:
        lottery = body.get("lottery")
        if isinstance(lottery, bool) or not isinstance(lottery, int):
            raise DrillError(f'expected "lottery": a lottery id, got {lottery!r}')
        if lottery not in model.state.lotteries:
            raise DrillRefused(f"lottery {lottery} does not exist")
        settings = self._oracle.settings
        rules = dict(settings.lotteries) | {lottery: CallbackRule(mode=CallbackMode.NEVER)}
        self._oracle.settings = replace(settings, lotteries=rules)
        return {
            "what": (
                f"the dVRF oracle withholds every VRF callback of lottery {lottery} from now on "
                "(its draws stall; a restart of the localnet keeps it)"
            ),
            "lottery": lottery,
        }


def _sent_by(sender: str, module: str, function: str, args: tuple[object, ...]) -> SystemCall:
    """A drill's call of ``module::function``, signed by ``sender`` alone."""
    return SystemCall(
        actor="drill", sender=sender, module=module, function=function, signers=(sender,), args=args
    )


def _signed(operator: str, function: str, args: tuple[object, ...]) -> SystemCall:
    """An automation call signed by ``operator`` (what someone holding its key would send)."""
    return _sent_by(operator, "automation", function, args)


def _at(call: SystemCall, now_s: int) -> SystemCall:
    """The call with its time arguments filled in for the block at ``now_s``."""
    args = list(call.args)
    if call.function == "announce_dry_run":
        args[2] = now_s
        args[3] = now_s + int(str(args[3]))
    elif call.function == "record_failure":
        args[2] = now_s
    elif call.function in ("update_price", "record_snapshot_admin"):
        args[-1] = now_s
    return replace(call, args=tuple(args))
