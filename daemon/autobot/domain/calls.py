"""Entry-function calls as values: what autobot asks the chain to do, before any signing.

A ``Call`` names a function of the ``lottery_multi`` package (module and function, the package
address is configuration) and its non-signer arguments as typed ``MoveArg`` values. The same value
is encoded to BCS for the transaction (``chain/codec.py``), hashed into the action hash, journaled,
and printed in dry-run mode, so it must be exact: every argument is range-checked when it is
built, and building an impossible argument (a negative u64, a 300 in a u8) raises ``ValueError``
at the planner's line that computed it, not at signing time. A ``Call`` checks its names are Move
identifiers and its arguments ``MoveArg`` values, for the same reason.

The constructor helpers below are the only way the daemon spells an entry function; their
parameter names follow the package source (docs/package.md §1.3, §2-§5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from autobot.domain.values import MAX_U8, MAX_U16, MAX_U64, MAX_U128, normalise_address

__all__ = [
    "TIME_ARGUMENTS",
    "U8",
    "U16",
    "U64",
    "U128",
    "Address",
    "Bool",
    "Bytes",
    "Call",
    "MoveArg",
    "OptU64",
    "VecU64",
]


TIME_ARGUMENTS: dict[tuple[str, str], frozenset[int]] = {
    ("draw", "request_draw_admin"): frozenset({1}),
    ("draw", "schedule_manual_retry_admin"): frozenset({1, 2}),
    ("payouts", "force_refund_batch_admin"): frozenset({5}),
    ("payouts", "archive_canceled_lottery_admin"): frozenset({1}),
    ("cancellation", "cancel_lottery_admin"): frozenset({2}),
    ("vrf_deposit", "resume_requests"): frozenset({0}),
    ("vrf_deposit", "record_snapshot_admin"): frozenset({3}),
    ("price_feed", "clear_clamp"): frozenset({1}),
    ("price_feed", "update_price"): frozenset({2}),
    ("automation", "register_bot"): frozenset({4}),
    ("automation", "rotate_bot"): frozenset({4}),
    ("automation", "announce_dry_run"): frozenset({2, 3}),
    ("automation", "record_success"): frozenset({2}),
    ("automation", "record_failure"): frozenset({2}),
}
"""(module, function) → the positions of its arguments that are chain times (seconds): what a
person sees as a moment, never as a number."""


def _uint(value: object, bound: int, kind: str) -> int:
    """``value`` as a plain ``int`` in ``0..bound``; ``IntEnum`` members (``ActionId``) are ints,
    ``bool`` and ``float`` are not."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= bound:
        raise ValueError(f"{kind} out of range: {value!r}")
    return int(value)


@dataclass(frozen=True, slots=True)
class _UInt:
    """An unsigned integer argument: ``value`` in ``0..bound``, rendered ``<move_type>:<value>``.

    Each width is a subclass naming its Move type and bound (``class U8(_UInt, ...)``); they
    compare unequal to each other (``U8(1) != U64(1)``), as dataclasses of different classes do.
    """

    value: int
    move_type: ClassVar[str]
    bound: ClassVar[int]

    def __init_subclass__(cls, *, move_type: str, bound: int) -> None:
        cls.move_type = move_type
        cls.bound = bound

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _uint(self.value, self.bound, self.move_type))

    def render(self) -> str:
        return f"{self.move_type}:{self.value}"


class U8(_UInt, move_type="u8", bound=MAX_U8): ...


class U16(_UInt, move_type="u16", bound=MAX_U16): ...


class U64(_UInt, move_type="u64", bound=MAX_U64): ...


class U128(_UInt, move_type="u128", bound=MAX_U128): ...


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool
    move_type: ClassVar[str] = "bool"

    def __post_init__(self) -> None:
        if type(self.value) is not bool:
            raise ValueError(f"bool expected: {self.value!r}")

    def render(self) -> str:
        return f"bool:{str(self.value).lower()}"


@dataclass(frozen=True, slots=True)
class Address:
    """An address argument; normalised to ``0x`` + 64 lowercase hex on construction."""

    value: str
    move_type: ClassVar[str] = "address"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", normalise_address(self.value))

    def render(self) -> str:
        return f"address:{self.value}"


@dataclass(frozen=True, slots=True)
class Bytes:
    """A ``vector<u8>`` argument (action hashes, cron specs)."""

    value: bytes
    move_type: ClassVar[str] = "vector<u8>"

    def __post_init__(self) -> None:
        if type(self.value) is not bytes:
            raise ValueError(f"bytes expected: {self.value!r}")

    def render(self) -> str:
        return f"hex:0x{self.value.hex()}"


@dataclass(frozen=True, slots=True)
class VecU64:
    """A ``vector<u64>`` argument (``allowed_actions``); order is kept as given."""

    value: tuple[int, ...]
    move_type: ClassVar[str] = "vector<u64>"

    def __post_init__(self) -> None:
        if not isinstance(self.value, tuple):
            raise ValueError(f"tuple expected: {self.value!r}")
        object.__setattr__(self, "value", tuple(_uint(v, MAX_U64, "u64") for v in self.value))

    def render(self) -> str:
        return "vector<u64>:[" + ",".join(str(v) for v in self.value) + "]"


@dataclass(frozen=True, slots=True)
class OptU64:
    """An ``0x1::option::Option<u64>`` argument; ``None`` is ``option::none()``."""

    value: int | None
    move_type: ClassVar[str] = "0x1::option::Option<u64>"

    def __post_init__(self) -> None:
        if self.value is not None:
            object.__setattr__(self, "value", _uint(self.value, MAX_U64, "u64"))

    def render(self) -> str:
        return "option<u64>:none" if self.value is None else f"option<u64>:{self.value}"


type MoveArg = U8 | U16 | U64 | U128 | Bool | Address | Bytes | VecU64 | OptU64

_MOVE_ARGS = (U8, U16, U64, U128, Bool, Address, Bytes, VecU64, OptU64)
_MULTI_AGENT = frozenset({("automation", "register_bot"), ("automation", "rotate_bot")})
_IDENTIFIER = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]*|_[A-Za-z0-9_]+)", re.ASCII)
"""A Move identifier (module and function names): ASCII, so it is also its own UTF-8."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One entry-function call of the package: ``<package>::<module>::<function>(args)``."""

    module: str
    function: str
    args: tuple[MoveArg, ...] = ()

    def __post_init__(self) -> None:
        for what, name in (("module", self.module), ("function", self.function)):
            if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
                raise ValueError(f"{what} is not a Move identifier: {name!r}")
        if not isinstance(self.args, tuple):
            object.__setattr__(self, "args", tuple(self.args))
        for arg in self.args:
            if not isinstance(arg, _MOVE_ARGS):
                raise ValueError(f"not a Move argument (U8, U64, Address, ...): {arg!r}")

    @property
    def needs_operator(self) -> bool:
        """``register_bot``/``rotate_bot`` take the operator as a second signer (multi-agent)."""
        return (self.module, self.function) in _MULTI_AGENT

    def function_id(self, package: str) -> str:
        """``0x<64 hex>::module::function`` for ``package``."""
        return f"{normalise_address(package)}::{self.module}::{self.function}"

    def render(self) -> str:
        """``module::function(u64:1, u8:2)``: the dry-run and journal spelling."""
        return f"{self.module}::{self.function}(" + ", ".join(a.render() for a in self.args) + ")"

    def describe(self, moment: Callable[[int], str]) -> str:
        """For people: ``render`` with every chain-time argument (``TIME_ARGUMENTS``) written by
        ``moment`` (a labelled chain time) instead of as a number."""
        times = TIME_ARGUMENTS.get((self.module, self.function), frozenset())
        shown = [
            moment(a.value) if i in times and isinstance(a, U64) else a.render()
            for i, a in enumerate(self.args)
        ]
        return f"{self.module}::{self.function}(" + ", ".join(shown) + ")"


def _call(module: str, function: str, *args: MoveArg | int) -> Call:
    """``Call(module, function, args)``; a plain ``int`` is a ``U64`` (most parameters are)."""
    return Call(
        module=module,
        function=function,
        args=tuple(U64(a) if isinstance(a, int) else a for a in args),
    )


# -- lottery operations (admin signer) ---------------------------------------------------------


def advance_status(lottery_id: int, next_status: int) -> Call:
    """``lottery_registry::advance_status(id, next_status)``; autobot only ever passes 2."""
    return _call("lottery_registry", "advance_status", lottery_id, U8(next_status))


def request_draw_admin(
    lottery_id: int, now_ts: int, closing_block_height: int, chain_id: int, num_confirmations: int
) -> Call:
    return _call(
        "draw",
        "request_draw_admin",
        lottery_id,
        now_ts,
        closing_block_height,
        U8(chain_id),
        num_confirmations,
    )


def schedule_manual_retry_admin(lottery_id: int, now_ts: int, retry_after_ts: int) -> Call:
    return _call("draw", "schedule_manual_retry_admin", lottery_id, now_ts, retry_after_ts)


def compute_winners_admin(lottery_id: int, batch_limit: int) -> Call:
    return _call("payouts", "compute_winners_admin", lottery_id, batch_limit)


def force_refund_batch_admin(
    lottery_id: int,
    refund_round: int,
    tickets_refunded: int,
    prize_refund: int,
    operations_refund: int,
    timestamp: int,
) -> Call:
    return _call(
        "payouts",
        "force_refund_batch_admin",
        lottery_id,
        refund_round,
        tickets_refunded,
        prize_refund,
        operations_refund,
        timestamp,
    )


def archive_canceled_lottery_admin(lottery_id: int, finalized_at: int) -> Call:
    return _call("payouts", "archive_canceled_lottery_admin", lottery_id, finalized_at)


def cancel_lottery_admin(lottery_id: int, reason_code: int, now_ts: int) -> Call:
    return _call("cancellation", "cancel_lottery_admin", lottery_id, U8(reason_code), now_ts)


def resume_requests(timestamp: int) -> Call:
    return _call("vrf_deposit", "resume_requests", timestamp)


def record_snapshot_admin(
    total_balance: int, minimum_balance: int, effective_balance: int, timestamp: int
) -> Call:
    """``vrf_deposit::record_snapshot_admin`` (tests and operator tooling)."""
    return _call(
        "vrf_deposit",
        "record_snapshot_admin",
        total_balance,
        minimum_balance,
        effective_balance,
        timestamp,
    )


# -- price feed (admin signer, no bot attestation) ---------------------------------------------


def set_fallback(asset_id: int, active: bool, reason: int) -> Call:
    return _call("price_feed", "set_fallback", asset_id, Bool(active), U8(reason))


def clear_clamp(asset_id: int, cleared_ts: int) -> Call:
    return _call("price_feed", "clear_clamp", asset_id, cleared_ts)


def cleanup_expired_admin(now_sec: int) -> Call:
    """``roles::cleanup_expired_admin``: removes expired partner and premium caps (and partner
    caps without budget), emitting their revoke events (docs/package.md §5.2)."""
    return Call(module="roles", function="cleanup_expired_admin", args=(U64(now_sec),))


def update_price(asset_id: int, price: int, updated_ts: int) -> Call:
    """``price_feed::update_price`` (tests: the localnet's pusher does this in production)."""
    return _call("price_feed", "update_price", asset_id, price, updated_ts)


# -- automation bots ------------------------------------------------------------------------------


def _bot_policy(
    function: str,
    cron_spec: bytes,
    allowed_actions: tuple[int, ...],
    timelock_secs: int,
    max_failures: int,
    expires_at: int,
) -> Call:
    return _call(
        "automation",
        function,
        Bytes(cron_spec),
        VecU64(tuple(allowed_actions)),
        timelock_secs,
        max_failures,
        expires_at,
    )


def register_bot(
    cron_spec: bytes,
    allowed_actions: tuple[int, ...],
    timelock_secs: int,
    max_failures: int,
    expires_at: int,
) -> Call:
    """Multi-agent: the admin sends, the operator co-signs."""
    return _bot_policy(
        "register_bot", cron_spec, allowed_actions, timelock_secs, max_failures, expires_at
    )


def rotate_bot(
    cron_spec: bytes,
    allowed_actions: tuple[int, ...],
    timelock_secs: int,
    max_failures: int,
    expires_at: int,
) -> Call:
    """Multi-agent; never automatic (docs/decisions.md §7). Clears the pending slot."""
    return _bot_policy(
        "rotate_bot", cron_spec, allowed_actions, timelock_secs, max_failures, expires_at
    )


def announce_dry_run(
    action_id: int, action_hash: bytes, now_ts: int, executes_after_ts: int
) -> Call:
    """Operator signer."""
    return _call(
        "automation", "announce_dry_run", action_id, Bytes(action_hash), now_ts, executes_after_ts
    )


def record_success(action_id: int, action_hash: bytes, now_ts: int) -> Call:
    """Operator signer."""
    return _call("automation", "record_success", action_id, Bytes(action_hash), now_ts)


def record_failure(action_id: int, action_hash: bytes, now_ts: int, error_code: int) -> Call:
    """Operator signer; ``error_code`` is the abort code that made the plan fail."""
    return _call("automation", "record_failure", action_id, Bytes(action_hash), now_ts, error_code)


def report_call_rejected(action_id: int, action_hash: bytes, reason_code: int) -> Call:
    """Operator signer; an event only, no state change."""
    return _call("automation", "report_call_rejected", action_id, Bytes(action_hash), reason_code)
