"""``automation``: the bot registry, its timelock protocol and its attestation events (§1).

Check order and abort codes are the package's (docs/package.md §1.5). Two faithful oddities:

* ``AutomationErrorEvent``: the package builds it with ``now_ts`` and ``error_code`` swapped
  (its emitter passes ``(…, now_ts, error_code)`` to a constructor whose parameters are
  ``(…, error_code, timestamp)``), so on chain ``error_code`` holds the call's ``now_ts`` and
  ``timestamp`` holds the abort code being reported. The model emits exactly that; readers must
  swap back (or read the code from their own journal).
* ``rotate_bot`` checks the operator's ``AutomationCap`` *after* the registry row, and the
  admin-signer check of this module aborts ``E_AUTOBOT_REGISTRY_MISSING`` (0x1A01).

Operators are listed in registration order (``automation_operators``).
"""

from __future__ import annotations

from autobot.localnet.model.core import Args, CallContext, j_bytes, j_u64, sha3
from autobot.localnet.model.state import BotState, PackageState

__all__ = [
    "MIN_SENSITIVE_TIMELOCK_SECS",
    "SENSITIVE_ACTIONS",
    "announce_dry_run",
    "init_automation",
    "record_failure",
    "record_success",
    "register_bot",
    "report_call_rejected",
    "rotate_bot",
]

MODULE = "automation"
E_ALREADY_INITIALIZED = 0x1201
E_AUTOBOT_REGISTRY_MISSING = 0x1A01
E_AUTOBOT_ALREADY_REGISTERED = 0x1A02
E_AUTOBOT_NOT_REGISTERED = 0x1A03
E_AUTOBOT_EXPIRED = 0x1A04
E_AUTOBOT_FORBIDDEN_TARGET = 0x1A05
E_AUTOBOT_FAILURE_LIMIT = 0x1A06
E_AUTOBOT_TIMELOCK = 0x1A07
E_AUTOBOT_PENDING_EXISTS = 0x1A08
E_AUTOBOT_PENDING_MISMATCH = 0x1A09
E_AUTOBOT_PENDING_REQUIRED = 0x1A0A
E_AUTOBOT_ACTION_HASH_EMPTY = 0x1A0B
E_AUTOBOT_CALLER_MISMATCH = 0x1A0C

MIN_SENSITIVE_TIMELOCK_SECS = 900
SENSITIVE_ACTIONS = frozenset({5, 6, 7})
EVENT_VERSION = 1
CATEGORY_AUTOMATION = 6


def _head(operator: str) -> list[tuple[str, object]]:
    return [
        ("event_version", EVENT_VERSION),
        ("event_category", CATEGORY_AUTOMATION),
        ("operator", operator),
    ]


def _registry(c: CallContext) -> None:
    if not c.state.g.automation:
        c.abort(E_AUTOBOT_REGISTRY_MISSING, MODULE)


def _row(c: CallContext, operator: str) -> BotState:
    _registry(c)
    bot = c.state.bots.get(operator)
    if bot is None:
        c.abort(E_AUTOBOT_NOT_REGISTERED, MODULE)
    return bot


def _admin_and_policy(c: CallContext, a: Args) -> tuple[bytes, tuple[int, ...], int, int, int]:
    cron_spec, allowed, timelock, max_failures, expires_at = (
        a.raw(0),
        a.u64s(1),
        a.u(2),
        a.u(3),
        a.u(4),
    )
    if not c.is_admin():
        c.abort(E_AUTOBOT_REGISTRY_MISSING, MODULE)
    if not allowed:
        c.abort(E_AUTOBOT_FORBIDDEN_TARGET, MODULE)
    if max_failures == 0:
        c.abort(E_AUTOBOT_FAILURE_LIMIT, MODULE)
    if expires_at == 0:
        c.abort(E_AUTOBOT_EXPIRED, MODULE)
    if SENSITIVE_ACTIONS.intersection(allowed) and timelock < MIN_SENSITIVE_TIMELOCK_SECS:
        c.abort(E_AUTOBOT_TIMELOCK, MODULE)
    return cron_spec, allowed, timelock, max_failures, expires_at


def _key_rotated(c: CallContext, operator: str, cron_spec: bytes, expires_at: int) -> None:
    c.emit(
        "history",
        "AutomationKeyRotatedEvent",
        [
            *_head(operator),
            ("schedule_hash", j_bytes(sha3(cron_spec))),
            ("expires_at", j_u64(expires_at)),
        ],
    )


def init_automation(c: CallContext, a: Args) -> None:
    if not c.is_admin():
        c.abort(E_AUTOBOT_REGISTRY_MISSING, MODULE)
    if c.state.g.automation:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    c.write(c.state.globals_, 0).automation = True


def register_bot(c: CallContext, a: Args) -> None:
    cron_spec, allowed, timelock, max_failures, expires_at = _admin_and_policy(c, a)
    operator = c.signers[1]
    if operator in c.state.caps:
        c.abort(E_AUTOBOT_ALREADY_REGISTERED, MODULE)
    _registry(c)
    if operator in c.state.bots:
        c.abort(E_AUTOBOT_ALREADY_REGISTERED, MODULE)
    c.put(
        c.state.bots,
        operator,
        BotState(
            allowed_actions=allowed,
            max_failures=max_failures,
            timelock_secs=timelock,
            expires_at=expires_at,
            cron_spec=cron_spec,
        ),
    )
    c.put(c.state.caps, operator, cron_spec)
    _key_rotated(c, operator, cron_spec, expires_at)


def rotate_bot(c: CallContext, a: Args) -> None:
    cron_spec, allowed, timelock, max_failures, expires_at = _admin_and_policy(c, a)
    operator = c.signers[1]
    _row(c, operator)
    if operator not in c.state.caps:
        c.abort(E_AUTOBOT_NOT_REGISTERED, MODULE)
    bot = c.write(c.state.bots, operator)
    bot.allowed_actions = allowed
    bot.timelock_secs = timelock
    bot.max_failures = max_failures
    bot.expires_at = expires_at
    bot.cron_spec = cron_spec
    bot.pending_action_hash = b""
    bot.pending_execute_after = 0
    bot.last_action_hash = b""
    c.put(c.state.caps, operator, cron_spec)
    _key_rotated(c, operator, cron_spec, expires_at)


def _caller(c: CallContext, action_hash: bytes) -> str:
    """Cap at the signer (0x1A03), caller == cap.operator (always true here), hash non-empty."""
    operator = c.signers[0]
    if operator not in c.state.caps:
        c.abort(E_AUTOBOT_NOT_REGISTERED, MODULE)
    if not action_hash:
        c.abort(E_AUTOBOT_ACTION_HASH_EMPTY, MODULE)
    return operator


def _live_and_allowed(c: CallContext, bot: BotState, action_id: int, now_ts: int) -> None:
    if now_ts > bot.expires_at:
        c.abort(E_AUTOBOT_EXPIRED, MODULE)
    if bot.failure_count >= bot.max_failures:
        c.abort(E_AUTOBOT_FAILURE_LIMIT, MODULE)
    if action_id not in bot.allowed_actions:
        c.abort(E_AUTOBOT_FORBIDDEN_TARGET, MODULE)


def _timelock_ok(c: CallContext, bot: BotState, action_hash: bytes, now_ts: int) -> None:
    if bot.timelock_secs == 0:
        return
    if not bot.pending_action_hash:
        c.abort(E_AUTOBOT_PENDING_REQUIRED, MODULE)
    if action_hash != bot.pending_action_hash:
        c.abort(E_AUTOBOT_PENDING_MISMATCH, MODULE)
    if now_ts < bot.pending_execute_after:
        c.abort(E_AUTOBOT_TIMELOCK, MODULE)


def announce_dry_run(c: CallContext, a: Args) -> None:
    action_id, action_hash, now_ts, executes_after = a.u(0), a.raw(1), a.u(2), a.u(3)
    operator = _caller(c, action_hash)
    bot = _row(c, operator)
    _live_and_allowed(c, bot, action_id, now_ts)
    if bot.timelock_secs == 0:
        c.abort(E_AUTOBOT_TIMELOCK, MODULE)
    if bot.pending_action_hash:
        c.abort(E_AUTOBOT_PENDING_EXISTS, MODULE)
    if executes_after < now_ts + bot.timelock_secs:
        c.abort(E_AUTOBOT_TIMELOCK, MODULE)
    c.emit(
        "history",
        "AutomationDryRunPlannedEvent",
        [
            *_head(operator),
            ("action_id", j_u64(action_id)),
            ("action_hash", j_bytes(action_hash)),
            ("executes_after_ts", j_u64(executes_after)),
        ],
    )
    live = c.write(c.state.bots, operator)
    live.pending_action_hash = action_hash
    live.pending_execute_after = executes_after


def _tick(c: CallContext, operator: str, action_id: int, h: bytes, now: int, ok: bool) -> None:
    bot = c.state.bots[operator]
    c.emit(
        "history",
        "AutomationTickEvent",
        [
            *_head(operator),
            ("action_id", j_u64(action_id)),
            ("action_hash", j_bytes(h)),
            ("executed_ts", j_u64(now)),
            ("success", ok),
            ("reputation_score", j_u64(bot.reputation_score)),
            ("success_streak", j_u64(bot.success_streak)),
            ("failure_count", j_u64(bot.failure_count)),
        ],
    )


def record_success(c: CallContext, a: Args) -> None:
    action_id, action_hash, now_ts = a.u(0), a.raw(1), a.u(2)
    operator = _caller(c, action_hash)
    bot = _row(c, operator)
    _live_and_allowed(c, bot, action_id, now_ts)
    _timelock_ok(c, bot, action_hash, now_ts)
    live = c.write(c.state.bots, operator)
    live.failure_count = 0
    live.success_streak += 1
    live.reputation_score += 1
    live.last_action_ts = now_ts
    live.pending_action_hash = b""
    live.pending_execute_after = 0
    _tick(c, operator, action_id, action_hash, now_ts, True)
    live.last_action_hash = action_hash


def record_failure(c: CallContext, a: Args) -> None:
    action_id, action_hash, now_ts, error_code = a.u(0), a.raw(1), a.u(2), a.u(3)
    operator = _caller(c, action_hash)
    bot = _row(c, operator)
    _live_and_allowed(c, bot, action_id, now_ts)
    _timelock_ok(c, bot, action_hash, now_ts)
    live = c.write(c.state.bots, operator)
    live.last_action_ts = now_ts
    live.pending_action_hash = b""
    live.pending_execute_after = 0
    live.success_streak = 0
    if live.reputation_score > 0:
        live.reputation_score -= 1
    live.failure_count += 1
    _tick(c, operator, action_id, action_hash, now_ts, False)
    c.emit(
        "history",
        "AutomationErrorEvent",
        [
            *_head(operator),
            ("action_id", j_u64(action_id)),
            ("action_hash", j_bytes(action_hash)),
            # Swapped as in the package (see the module docstring).
            ("error_code", j_u64(now_ts)),
            ("timestamp", j_u64(error_code)),
        ],
    )
    live.last_action_hash = action_hash


def report_call_rejected(c: CallContext, a: Args) -> None:
    action_id, action_hash, reason_code = a.u(0), a.raw(1), a.u(2)
    operator = c.signers[0]
    if operator not in c.state.caps:
        c.abort(E_AUTOBOT_NOT_REGISTERED, MODULE)
    _registry(c)
    c.emit(
        "history",
        "AutomationCallRejectedEvent",
        [
            *_head(operator),
            ("action_id", j_u64(action_id)),
            ("action_hash", j_bytes(action_hash)),
            ("reason_code", j_u64(reason_code)),
        ],
    )


def operators(state: PackageState) -> list[str]:
    """``automation_operators``: registration order; empty without a registry."""
    return list(state.bots) if state.g.automation else []
