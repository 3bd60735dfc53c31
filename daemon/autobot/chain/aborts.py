"""Abort codes of the ``lottery_multi`` package and the node's ``vm_status`` text for them.

The package aborts with raw u64 constants from ``sources/errors.move`` (no ``std::error``
category bits), so the decimal value equals the hex value (0x1701 = 5889). This table is the
complete list of that file, so a name can be shown for any abort the package raises, not only
the ones the daemon plans around.

One code has two names: ``E_BCS_DECODE`` and ``E_AUTOBOT_REGISTRY_MISSING`` are both 0x1A01.
Only the ``automation`` module raises it as "registry missing" (its admin check and a missing
bot registry); the BCS decoder of the history import raises it elsewhere. ``ABORT_NAMES`` and
``abort_name`` use the automation meaning, because that is the one the daemon meets;
``abort_name_in(module, code)`` picks per module (``automation`` → ``E_AUTOBOT_REGISTRY_MISSING``,
any other module → ``E_BCS_DECODE``), and ``format_vm_status`` uses it.

The status text follows the Move VM's abort rendering as the localnet emits it::

    Move abort in 0x<64 hex package>::<module>: <NAME>(0x<lowercase hex code>)

``parse_vm_status`` also accepts what real nodes print: short addresses (``0x1::coin``),
upper-case hex, a trailing ``: description``, and a bare code without a name.

This module is a plain table: it must not import ``supra_sdk`` (the localnet model uses it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ABORT_NAMES",
    "E_AUTOBOT_REGISTRY_MISSING",
    "E_BCS_DECODE",
    "NOT_YET_CODES",
    "ParsedAbort",
    "abort_name",
    "abort_name_in",
    "format_vm_status",
    "parse_vm_status",
]

E_BCS_DECODE = 0x1A01
E_AUTOBOT_REGISTRY_MISSING = 0x1A01

_NAMES: dict[int, str] = {
    # tags
    0x1001: "E_TAG_PRIMARY_TYPE",
    0x1002: "E_TAG_UNKNOWN_BIT",
    0x1003: "E_TAG_BUDGET_EXCEEDED",
    # roles / capabilities
    0x1101: "E_PRIMARY_TYPE_NOT_ALLOWED",
    0x1102: "E_TAG_MASK_NOT_ALLOWED",
    0x1103: "E_ROLES_NOT_INITIALIZED",
    0x1104: "E_PAYOUT_BATCH_CAP_MISSING",
    0x1105: "E_PARTNER_PAYOUT_CAP_MISSING",
    0x1106: "E_PREMIUM_CAP_MISSING",
    0x1107: "E_PREMIUM_CAP_EXPIRED",
    # registry and configuration
    0x1201: "E_ALREADY_INITIALIZED",
    0x1202: "E_REGISTRY_MISSING",
    0x1203: "E_LOTTERY_EXISTS",
    0x1204: "E_STATUS_TRANSITION_NOT_ALLOWED",
    0x1205: "E_PRIMARY_TYPE_LOCKED",
    0x1206: "E_TAGS_LOCKED",
    0x1207: "E_SNAPSHOT_FROZEN",
    0x1208: "E_SALES_WINDOW_INVALID",
    0x1209: "E_TICKET_PRICE_ZERO",
    0x120A: "E_TICKET_LIMIT_INVALID",
    0x120B: "E_PRIZE_PLAN_EMPTY",
    0x120C: "E_PRIZE_SLOT_INVALID",
    0x120D: "E_DRAW_ALGO_UNSUPPORTED",
    0x120E: "E_SALES_WINDOW_CLOSED",
    0x120F: "E_LOTTERY_NOT_ACTIVE",
    0x1210: "E_DRAW_STATUS_INVALID",
    0x1211: "E_CANCEL_REASON_INVALID",
    0x1212: "E_CANCELLATION_RECORD_MISSING",
    # accounting
    0x1301: "E_DISTRIBUTION_BPS_INVALID",
    0x1302: "E_JACKPOT_ALLOWANCE_UNDERFLOW",
    0x1303: "E_JACKPOT_ALLOWANCE_INCREASE",
    0x1304: "E_PAYOUT_ALLOC_EXCEEDED",
    0x1305: "E_OPERATIONS_ALLOC_EXCEEDED",
    # feature switch
    0x1401: "E_FEATURE_UNKNOWN",
    0x1402: "E_FEATURE_MODE_INVALID",
    0x1403: "E_FEATURE_DISABLED",
    # views
    0x1501: "E_PAGINATION_LIMIT",
    # ticket purchases
    0x1601: "E_PURCHASE_QTY_ZERO",
    0x1602: "E_PURCHASE_QTY_LIMIT",
    0x1603: "E_PURCHASE_TOTAL_LIMIT",
    0x1604: "E_PURCHASE_ADDRESS_LIMIT",
    0x1605: "E_AMOUNT_OVERFLOW",
    0x1606: "E_PREMIUM_CAP_MISMATCH",
    0x1608: "E_PURCHASE_RATE_LIMIT_BLOCK",
    0x1609: "E_PURCHASE_RATE_LIMIT_WINDOW",
    0x160A: "E_PURCHASE_GRACE_RESTRICTED",
    # VRF / draw
    0x1701: "E_VRF_PENDING",
    0x1702: "E_VRF_NOT_REQUESTED",
    0x1703: "E_VRF_NONCE_UNKNOWN",
    0x1704: "E_VRF_PAYLOAD_MISMATCH",
    0x1705: "E_VRF_ATTEMPT_OUT_OF_ORDER",
    0x1706: "E_VRF_RNG_COUNT_INVALID",
    0x1707: "E_VRF_SNAPSHOT_EMPTY",
    0x1708: "E_VRF_CONSUMED",
    0x1709: "E_VRF_RETRY_WINDOW",
    0x170A: "E_VRF_CLIENT_SEED_OVERFLOW",
    0x170B: "E_VRF_DEPOSIT_NOT_INITIALIZED",
    0x170C: "E_VRF_DEPOSIT_CONFIG",
    0x170D: "E_VRF_REQUESTS_PAUSED",
    0x170E: "E_VRF_RETRY_POLICY_INVALID",
    0x170F: "E_VRF_MANUAL_SCHEDULE_REQUIRED",
    0x1710: "E_VRF_MANUAL_DEADLINE",
    # winners / payouts / refunds
    0x1801: "E_WINNER_VRF_NOT_READY",
    0x1802: "E_WINNER_ALL_ASSIGNED",
    0x1803: "E_WINNER_INDEX_OUT_OF_RANGE",
    0x1804: "E_WINNER_DEDUP_EXHAUSTED",
    0x1805: "E_PAYOUT_STATE_MISSING",
    0x1806: "E_PAYOUT_ROUND_NON_MONOTONIC",
    0x1807: "E_PAYOUT_COOLDOWN",
    0x1808: "E_PAYOUT_BATCH_TOO_LARGE",
    0x1809: "E_PAYOUT_BATCH_COOLDOWN",
    0x180A: "E_PAYOUT_BATCH_NONCE",
    0x180B: "E_PAYOUT_OPERATIONS_BUDGET",
    0x180C: "E_PARTNER_PAYOUT_BUDGET_EXCEEDED",
    0x180D: "E_PARTNER_PAYOUT_COOLDOWN",
    0x180E: "E_PARTNER_PAYOUT_NONCE",
    0x180F: "E_PARTNER_PAYOUT_HOLDER_MISMATCH",
    0x1810: "E_PARTNER_PAYOUT_EXPIRED",
    0x1811: "E_REFUND_NOT_ACTIVE",
    0x1812: "E_REFUND_ROUND_NON_MONOTONIC",
    0x1813: "E_REFUND_LIMIT_TICKETS",
    0x1814: "E_REFUND_LIMIT_FUNDS",
    0x1815: "E_REFUND_STATUS_INVALID",
    0x1816: "E_REFUND_BATCH_EMPTY",
    0x1817: "E_REFUND_TIMESTAMP",
    0x1818: "E_REFUND_PROGRESS_INCOMPLETE",
    0x1819: "E_REFUND_PROGRESS_FUNDS",
    # price feed
    0x1901: "E_PRICE_FEED_EXISTS",
    0x1902: "E_PRICE_FEED_NOT_FOUND",
    0x1903: "E_PRICE_DECIMALS_INVALID",
    0x1904: "E_PRICE_STALE",
    0x1905: "E_PRICE_FALLBACK_ACTIVE",
    0x1906: "E_PRICE_CLAMP_TRIGGERED",
    0x1907: "E_PRICE_CLAMP_ACTIVE",
    0x1908: "E_PRICE_CLAMP_NOT_ACTIVE",
    # automation bots (0x1A01 is shared with E_BCS_DECODE: see the module docstring)
    0x1A01: "E_AUTOBOT_REGISTRY_MISSING",
    0x1A02: "E_AUTOBOT_ALREADY_REGISTERED",
    0x1A03: "E_AUTOBOT_NOT_REGISTERED",
    0x1A04: "E_AUTOBOT_EXPIRED",
    0x1A05: "E_AUTOBOT_FORBIDDEN_TARGET",
    0x1A06: "E_AUTOBOT_FAILURE_LIMIT",
    0x1A07: "E_AUTOBOT_TIMELOCK",
    0x1A08: "E_AUTOBOT_PENDING_EXISTS",
    0x1A09: "E_AUTOBOT_PENDING_MISMATCH",
    0x1A0A: "E_AUTOBOT_PENDING_REQUIRED",
    0x1A0B: "E_AUTOBOT_ACTION_HASH_EMPTY",
    0x1A0C: "E_AUTOBOT_CALLER_MISMATCH",
    # history / archive
    0x1B01: "E_HISTORY_MISSING",
    0x1B02: "E_HISTORY_MISMATCH",
    0x1B03: "E_FINALIZATION_INCOMPLETE",
    0x1B04: "E_HISTORY_NOT_AUTHORIZED",
    0x1B05: "E_HISTORY_EXPECTED_MISSING",
    0x1B06: "E_HISTORY_CONTROL_MISSING",
    0x1B07: "E_HISTORY_IMPORT_HASH",
    0x1B08: "E_HISTORY_ID_MISMATCH",
    0x1B09: "E_HISTORY_NOT_LEGACY",
    0x1B0A: "E_HISTORY_SUMMARY_MISSING",
    0x1B0B: "E_HISTORY_DECODE",
}

ABORT_NAMES: Mapping[int, str] = MappingProxyType(_NAMES)
"""Every abort code of ``errors.move`` → its name (0x1A01 → the automation meaning)."""

NOT_YET_CODES: frozenset[int] = frozenset({0x1709, 0x1A07, 0x1809, 0x170D})
"""Aborts that mean "wait and try again" (docs/decisions.md §9): retry window, bot timelock,
PayoutBatchCap cooldown, VRF requests paused."""

_UNKNOWN_NAME = "UNKNOWN"


def abort_name(code: int) -> str:
    """Name of ``code`` (``"E_..."``), or ``"unknown(0x<lowercase hex>)"`` if the package has none."""
    name = _NAMES.get(code)
    return name if name is not None else f"unknown({code:#x})"


def abort_name_in(module: str, code: int) -> str:
    """Name of ``code`` as raised by ``module``: resolves the shared 0x1A01 per module."""
    if code == 0x1A01 and module != "automation":
        return "E_BCS_DECODE"
    return abort_name(code)


def format_vm_status(package: str, module: str, code: int) -> str:
    """The ``vm_status`` text of an abort: ``Move abort in 0x<64 hex>::<module>: <NAME>(0x<hex>)``.

    Unknown codes are named ``UNKNOWN`` so the text keeps one shape that ``parse_vm_status`` reads.
    """
    name = _NAMES.get(code)
    if name is None:
        name = _UNKNOWN_NAME
    else:
        name = abort_name_in(module, code)
    return f"Move abort in {_normalise_address(package)}::{module}: {name}({code:#x})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedAbort:
    """A Move abort read back from a ``vm_status`` string.

    ``address`` is normalised to ``0x`` + 64 lowercase hex. ``name`` is the name in the text when
    there was one (kept as written, even if this table does not know it), else the table's name.
    """

    address: str
    module: str
    name: str
    code: int


# ASCII only (``re.ASCII``: ``\s`` and ``\b`` must not match Unicode lookalikes); codes are u64s,
# so at most 16 significant hex or 20 decimal digits (leading zeros allowed).
_VM_STATUS_RE = re.compile(
    r"Move abort in (?P<address>0x[0-9a-fA-F]{1,64})::(?P<module>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*"
    r"(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\((?P<named_code>0x0*[0-9a-fA-F]{1,16}|0*[0-9]{1,20})\)"
    r"|(?P<bare_code>0x0*[0-9a-fA-F]{1,16}|0*[0-9]{1,20})\b)",
    re.ASCII,
)
_MAX_U64 = (1 << 64) - 1


def parse_vm_status(text: str) -> ParsedAbort | None:
    """Parse a Move abort out of a node's ``vm_status``; ``None`` for any other status.

    Never raises: a code that is not a u64 (a node cannot abort with one) is not an abort.
    """
    match = _VM_STATUS_RE.search(text)
    if match is None:
        return None
    module = match["module"]
    raw_code = match["named_code"] or match["bare_code"]
    code = int(raw_code, 16) if raw_code.lower().startswith("0x") else int(raw_code)
    if code > _MAX_U64:
        return None
    name = match["name"]
    if name is None or name == _UNKNOWN_NAME:
        name = abort_name_in(module, code)
    return ParsedAbort(
        address=_normalise_address(match["address"]), module=module, name=name, code=code
    )


def _normalise_address(address: str) -> str:
    body = address.lower().removeprefix("0x")
    if not body or len(body) > 64 or any(c not in "0123456789abcdef" for c in body):
        raise ValueError(f"not an account address: {address!r}")
    return "0x" + body.rjust(64, "0")
