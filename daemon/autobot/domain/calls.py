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
from dataclasses import dataclass
from typing import ClassVar

from autobot.domain.values import MAX_U8, MAX_U16, MAX_U64, MAX_U128, normalise_address

__all__ = [
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


def _uint(value: object, bound: int, kind: str) -> int:
    """``value`` as a plain ``int`` in ``0..bound``; ``IntEnum`` members (``ActionId``) are ints,
    ``bool`` and ``float`` are not."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= bound:
        raise ValueError(f"{kind} out of range: {value!r}")
    return int(value)


@dataclass(frozen=True, slots=True)
class U8:
    value: int
    move_type: ClassVar[str] = "u8"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _uint(self.value, MAX_U8, "u8"))

    def render(self) -> str:
        return f"u8:{self.value}"


@dataclass(frozen=True, slots=True)
class U16:
    value: int
    move_type: ClassVar[str] = "u16"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _uint(self.value, MAX_U16, "u16"))

    def render(self) -> str:
        return f"u16:{self.value}"


@dataclass(frozen=True, slots=True)
class U64:
    value: int
    move_type: ClassVar[str] = "u64"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _uint(self.value, MAX_U64, "u64"))

    def render(self) -> str:
        return f"u64:{self.value}"


@dataclass(frozen=True, slots=True)
class U128:
    value: int
    move_type: ClassVar[str] = "u128"

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _uint(self.value, MAX_U128, "u128"))

    def render(self) -> str:
        return f"u128:{self.value}"


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


# -- lottery operations (admin signer) ---------------------------------------------------------


def advance_status(lottery_id: int, next_status: int) -> Call:
    """``lottery_registry::advance_status(id, next_status)``; autobot only ever passes 2."""
    return Call(
        module="lottery_registry",
        function="advance_status",
        args=(U64(lottery_id), U8(next_status)),
    )


def request_draw_admin(
    lottery_id: int, now_ts: int, closing_block_height: int, chain_id: int, num_confirmations: int
) -> Call:
    return Call(
        module="draw",
        function="request_draw_admin",
        args=(
            U64(lottery_id),
            U64(now_ts),
            U64(closing_block_height),
            U8(chain_id),
            U64(num_confirmations),
        ),
    )


def schedule_manual_retry_admin(lottery_id: int, now_ts: int, retry_after_ts: int) -> Call:
    return Call(
        module="draw",
        function="schedule_manual_retry_admin",
        args=(U64(lottery_id), U64(now_ts), U64(retry_after_ts)),
    )


def compute_winners_admin(lottery_id: int, batch_limit: int) -> Call:
    return Call(
        module="payouts",
        function="compute_winners_admin",
        args=(U64(lottery_id), U64(batch_limit)),
    )


def force_refund_batch_admin(
    lottery_id: int,
    refund_round: int,
    tickets_refunded: int,
    prize_refund: int,
    operations_refund: int,
    timestamp: int,
) -> Call:
    return Call(
        module="payouts",
        function="force_refund_batch_admin",
        args=(
            U64(lottery_id),
            U64(refund_round),
            U64(tickets_refunded),
            U64(prize_refund),
            U64(operations_refund),
            U64(timestamp),
        ),
    )


def archive_canceled_lottery_admin(lottery_id: int, finalized_at: int) -> Call:
    return Call(
        module="payouts",
        function="archive_canceled_lottery_admin",
        args=(U64(lottery_id), U64(finalized_at)),
    )


def cancel_lottery_admin(lottery_id: int, reason_code: int, now_ts: int) -> Call:
    return Call(
        module="cancellation",
        function="cancel_lottery_admin",
        args=(U64(lottery_id), U8(reason_code), U64(now_ts)),
    )


def resume_requests(timestamp: int) -> Call:
    return Call(module="vrf_deposit", function="resume_requests", args=(U64(timestamp),))


def record_snapshot_admin(
    total_balance: int, minimum_balance: int, effective_balance: int, timestamp: int
) -> Call:
    """``vrf_deposit::record_snapshot_admin`` (tests and operator tooling)."""
    return Call(
        module="vrf_deposit",
        function="record_snapshot_admin",
        args=(U64(total_balance), U64(minimum_balance), U64(effective_balance), U64(timestamp)),
    )


# -- price feed (admin signer, no bot attestation) ---------------------------------------------


def set_fallback(asset_id: int, active: bool, reason: int) -> Call:
    return Call(
        module="price_feed",
        function="set_fallback",
        args=(U64(asset_id), Bool(active), U8(reason)),
    )


def clear_clamp(asset_id: int, cleared_ts: int) -> Call:
    return Call(module="price_feed", function="clear_clamp", args=(U64(asset_id), U64(cleared_ts)))


def cleanup_expired_admin(now_sec: int) -> Call:
    """``roles::cleanup_expired_admin``: removes expired partner and premium caps (and partner
    caps without budget), emitting their revoke events (docs/package.md §5.2)."""
    return Call(module="roles", function="cleanup_expired_admin", args=(U64(now_sec),))


def update_price(asset_id: int, price: int, updated_ts: int) -> Call:
    """``price_feed::update_price`` (tests: the localnet's pusher does this in production)."""
    return Call(
        module="price_feed",
        function="update_price",
        args=(U64(asset_id), U64(price), U64(updated_ts)),
    )


# -- automation bots ------------------------------------------------------------------------------


def _bot_policy(
    function: str,
    cron_spec: bytes,
    allowed_actions: tuple[int, ...],
    timelock_secs: int,
    max_failures: int,
    expires_at: int,
) -> Call:
    return Call(
        module="automation",
        function=function,
        args=(
            Bytes(cron_spec),
            VecU64(tuple(allowed_actions)),
            U64(timelock_secs),
            U64(max_failures),
            U64(expires_at),
        ),
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
    return Call(
        module="automation",
        function="announce_dry_run",
        args=(U64(action_id), Bytes(action_hash), U64(now_ts), U64(executes_after_ts)),
    )


def record_success(action_id: int, action_hash: bytes, now_ts: int) -> Call:
    """Operator signer."""
    return Call(
        module="automation",
        function="record_success",
        args=(U64(action_id), Bytes(action_hash), U64(now_ts)),
    )


def record_failure(action_id: int, action_hash: bytes, now_ts: int, error_code: int) -> Call:
    """Operator signer; ``error_code`` is the abort code that made the plan fail."""
    return Call(
        module="automation",
        function="record_failure",
        args=(U64(action_id), Bytes(action_hash), U64(now_ts), U64(error_code)),
    )


def report_call_rejected(action_id: int, action_hash: bytes, reason_code: int) -> Call:
    """Operator signer; an event only, no state change."""
    return Call(
        module="automation",
        function="report_call_rejected",
        args=(U64(action_id), Bytes(action_hash), U64(reason_code)),
    )
