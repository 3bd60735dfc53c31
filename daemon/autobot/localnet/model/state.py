"""The model's state: one table per on-chain table of the package, and their records.

Records are mutable (they are the chain's storage), but every member is immutable (ints, bytes,
tuples, frozen values): a change assigns a new member. That is what lets ``UndoLog`` snapshot a
record with a shallow copy, so atomicity costs what a call touches.

``to_json``/``from_json`` serialise everything through the dataclass type hints (bytes as hex,
tuples as lists, table keys as strings), so the node can persist and restore the package.

**Rows.** The node persists the state incrementally, one row per table slot (``table``, ``key``,
JSON): ``RowEncoder.rows`` encodes the slots a transaction wrote, and ``state_from_rows`` rebuilds
the whole state from every row. A record member longer than ``PART_MIN_ITEMS`` (a lottery's ticket
purchases, its winner records) is kept in a row of its own, ``key#member``, and encoded again only
when the record holds a different object (members are immutable: a change assigns a new one), so
a refund batch on a lottery with 5,000 tickets does not re-encode its purchases.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Accounting",
    "BotState",
    "BuyerState",
    "CancellationRecord",
    "DrawState",
    "ExpectedHash",
    "Globals",
    "Lottery",
    "LotteryConfig",
    "LotterySummary",
    "PackageState",
    "PartnerPayoutCap",
    "PayoutBatchCap",
    "PremiumAccessCap",
    "PriceFeed",
    "PrizeSlot",
    "Purchase",
    "RetryPolicy",
    "Row",
    "RowEncoder",
    "SalesDistribution",
    "SalesState",
    "VrfDeposit",
    "VrfRequest",
    "WinnerRecord",
    "WinnerState",
    "buyer_key",
    "state_from_json",
    "state_from_rows",
    "state_to_json",
]

# --- lottery registry -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PrizeSlot:
    slot_id: int
    winners_per_slot: int
    reward_type: int = 0
    reward_payload: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesDistribution:
    prize_bps: int
    jackpot_bps: int
    operations_bps: int
    reserve_bps: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    strategy: int
    base_delay_secs: int
    max_delay_secs: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LotteryConfig:
    """``lottery_registry::Config`` (sales window, limits, auto-close and backend flattened)."""

    event_slug: bytes
    series_code: bytes
    run_id: int
    config_version: int
    primary_type: int
    tags_mask: int
    sales_start: int
    sales_end: int
    ticket_price: int
    max_tickets_total: int
    max_tickets_per_address: int
    distribution: SalesDistribution
    prize_plan: tuple[PrizeSlot, ...]
    winners_dedup: bool
    draw_algo: int
    auto_close_enabled: bool
    grace_period_secs: int
    reward_backend_type: int
    reward_backend_blob: bytes
    retry_policy: RetryPolicy


@dataclass(slots=True, kw_only=True)
class Lottery:
    id: int
    config: LotteryConfig
    status: int
    snapshot_frozen: bool
    slots_checksum: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CancellationRecord:
    reason_code: int
    canceled_ts: int
    previous_status: int
    tickets_sold: int
    proceeds_accum: int


# --- sales ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Accounting:
    total_sales: int = 0
    total_allocated: int = 0
    total_prize_paid: int = 0
    total_operations_paid: int = 0
    total_operations_allocated: int = 0
    jackpot_allowance_token: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Purchase:
    """A run of ``quantity`` consecutive tickets bought by ``buyer`` (tickets are kept as runs)."""

    buyer: str
    quantity: int


@dataclass(slots=True, kw_only=True)
class SalesState:
    """``sales::SalesState`` without its tables (tickets are ``purchases``, buyers ``buyers``)."""

    ticket_price: int
    tickets_sold: int
    proceeds_accum: int
    last_purchase_ts: int
    distribution: SalesDistribution
    accounting: Accounting
    purchases: tuple[Purchase, ...]
    last_purchase_block: int = 0  # the purchase rate limit's block (caller-chosen)
    block_purchase_count: int = 0  # purchases in that block
    refund_active: bool = False
    refund_round: int = 0
    refund_tickets_processed: int = 0
    refund_prize_total: int = 0
    refund_operations_total: int = 0
    last_refund_ts: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyerState:
    """One buyer in one lottery's sales: its ``tickets_per_address`` entry and ``RateTrack``.

    ``tracked`` says whether the buyer has a ``RateTrack`` (created by its first purchase; seeded
    sales have none); ``window_start``/``purchase_count`` are its fields.
    """

    tickets: int = 0
    tracked: bool = False
    window_start: int = 0
    purchase_count: int = 0


def buyer_key(lottery_id: int, buyer: str) -> str:
    """The ``PackageState.buyers`` key of ``buyer`` (normalised address) in ``lottery_id``."""
    return f"{lottery_id}:{buyer}"


# --- draw -----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class DrawState:
    """``draw::DrawState`` with its ``VrfState`` fields inlined."""

    request_id: int = 0
    payload_hash: bytes = b""
    schema_version: int = 1
    attempt: int = 0
    consumed: bool = False
    retry_after_ts: int = 0
    retry_strategy: int = 0
    closing_block_height: int = 0
    chain_id: int = 0
    status: int = 0
    rng_count: int = 0
    client_seed: int = 0
    last_request_ts: int = 0
    snapshot_hash: bytes = b""
    total_tickets: int = 0
    winners_batch_hash: bytes = b""
    checksum_after_batch: bytes = b""
    verified_numbers: tuple[int, ...] = ()
    payload: bytes = b""
    next_client_seed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class VrfRequest:
    """A request in the localnet dVRF's inbox (what ``supra_vrf::rng_request`` recorded)."""

    nonce: int
    lottery_id: int
    attempt: int
    request_ts: int
    rng_count: int
    client_seed: int
    caller_address: str
    message: bytes


# --- payouts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WinnerRecord:
    slot_id: int
    ticket_index: int
    winner: str
    winner_hash: bytes


@dataclass(slots=True, kw_only=True)
class WinnerState:
    initialized: bool = False
    total_required: int = 0
    total_assigned: int = 0
    total_tickets: int = 0
    snapshot_hash: bytes = b""
    payload_hash: bytes = b""
    schema_version: int = 0
    attempt: int = 0
    random_numbers: tuple[int, ...] = ()
    winners_batch_hash: bytes = b""
    cursor_last_index: int = 0
    cursor_checksum: bytes = b""
    records: tuple[WinnerRecord, ...] = ()
    assigned_indices: frozenset[int] = frozenset()
    payout_round: int = 0
    last_payout_ts: int = 0
    next_winner_batch_no: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LotterySummary:
    """``history::LotterySummary`` (21 fields, in BCS order)."""

    id: int
    status: int
    event_slug: bytes
    series_code: bytes
    run_id: int
    tickets_sold: int
    proceeds_accum: int
    total_allocated: int
    total_prize_paid: int
    total_operations_paid: int
    vrf_status: int
    primary_type: int
    tags_mask: int
    snapshot_hash: bytes
    slots_checksum: bytes
    winners_batch_hash: bytes
    checksum_after_batch: bytes
    payout_round: int
    created_at: int
    closed_at: int
    finalized_at: int


# --- automation, price feed, roles, deposit -------------------------------------------------


@dataclass(slots=True, kw_only=True)
class BotState:
    allowed_actions: tuple[int, ...]
    max_failures: int
    failure_count: int = 0
    success_streak: int = 0
    reputation_score: int = 0
    timelock_secs: int
    pending_action_hash: bytes = b""
    pending_execute_after: int = 0
    expires_at: int
    cron_spec: bytes
    last_action_ts: int = 0
    last_action_hash: bytes = b""


@dataclass(slots=True, kw_only=True)
class PriceFeed:
    asset_id: int
    price: int
    decimals: int
    last_updated_ts: int
    staleness_window: int
    clamp_threshold_bps: int
    fallback_active: bool = False
    fallback_reason: int = 0
    clamp_active: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchCap:
    holder: str
    max_batch_size: int
    operations_budget_total: int
    operations_budget_used: int = 0
    cooldown_secs: int = 0
    last_batch_at: int = 0
    last_nonce: int = 0
    nonce_stride: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerPayoutCap:
    """``roles::PartnerPayoutCap`` (one per partner, in ``RoleStore.partner_caps``)."""

    partner: str
    max_total_payout: int
    remaining_payout: int
    payout_cooldown_secs: int
    last_payout_at: int = 0
    next_nonce: int
    nonce_stride: int
    expires_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PremiumAccessCap:
    """``roles::PremiumAccessCap`` (one per holder, in ``RoleStore.premium_caps``)."""

    holder: str
    expires_at: int
    auto_renew: bool
    referrer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedHash:
    """One entry of ``DualWriteControl.expected_hashes`` (a ``vrf_hub::table``: ordered)."""

    lottery_id: int
    hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class VrfDeposit:
    """``VrfDepositLedger``: config and status."""

    min_balance_multiplier_bps: int
    effective_floor: int
    total_balance: int = 0
    minimum_balance: int = 0
    effective_balance: int = 0
    required_minimum: int = 0
    last_update_ts: int = 0
    requests_paused: bool = False
    paused_since_ts: int = 0


@dataclass(slots=True, kw_only=True)
class Globals:
    """Which ledgers exist (``init_*`` ran), the singletons, and the dVRF nonce counter.

    ``feature_draw`` models ``feature_switch``: ``None`` = switch not initialised (DRAW allowed),
    ``True`` = DRAW on, ``False`` = DRAW disabled; ``feature_forced`` = the registry's
    ``force_enable_devnet`` (the deployment's: every feature on, no entries, ``set_mode`` changes
    nothing); without it every feature has an entry, all ENABLED_ALL but DRAW as ``feature_draw``.
    ``dual_write`` = ``legacy_bridge::init_dual_write`` ran (``DualWriteControl``
    exists) with the flags ``dual_write_enabled``, ``abort_on_mismatch``, ``abort_on_missing`` and
    its ``expected_hashes`` in table order; ``legacy_mirror`` = ``MirrorConfig`` exists.
    ``partner_index``/``premium_index`` are ``RoleStore``'s index vectors (the caps themselves are
    the ``partner_caps``/``premium_caps`` tables).
    """

    registry: bool = False
    sales: bool = False
    draw: bool = False
    payouts: bool = False
    history: bool = False
    automation: bool = False
    roles: bool = False
    price_feed_version: int | None = None
    feature_draw: bool | None = None
    feature_forced: bool = True
    vrf_deposit: VrfDeposit | None = None
    payout_cap: PayoutBatchCap | None = None
    last_vrf_nonce: int = 0
    dual_write: bool = False
    legacy_mirror: bool = False
    dual_write_enabled: bool = True
    abort_on_mismatch: bool = False
    abort_on_missing: bool = False
    expected_hashes: tuple[ExpectedHash, ...] = ()
    partner_index: tuple[str, ...] = ()
    premium_index: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True)
class PackageState:
    """Every table of the package. ``globals_`` holds one ``Globals`` under key 0."""

    globals_: dict[int, Globals] = field(default_factory=lambda: {0: Globals()})
    lotteries: dict[int, Lottery] = field(default_factory=dict)
    ordered_ids: list[int] = field(default_factory=list)
    cancellations: dict[int, CancellationRecord] = field(default_factory=dict)
    sales: dict[int, SalesState] = field(default_factory=dict)
    buyers: dict[str, BuyerState] = field(default_factory=dict)  # key: buyer_key(lottery, buyer)
    draws: dict[int, DrawState] = field(default_factory=dict)
    nonce_to_lottery: dict[int, int] = field(default_factory=dict)
    vrf_inbox: dict[int, VrfRequest] = field(default_factory=dict)
    winners: dict[int, WinnerState] = field(default_factory=dict)
    summaries: dict[int, LotterySummary] = field(default_factory=dict)
    finalized_ids: list[int] = field(default_factory=list)
    bots: dict[str, BotState] = field(default_factory=dict)
    caps: dict[str, bytes] = field(default_factory=dict)
    feeds: dict[int, PriceFeed] = field(default_factory=dict)
    partner_caps: dict[str, PartnerPayoutCap] = field(default_factory=dict)
    premium_caps: dict[str, PremiumAccessCap] = field(default_factory=dict)

    @property
    def g(self) -> Globals:
        return self.globals_[0]


# --- JSON -----------------------------------------------------------------------------------


def state_to_json(state: PackageState) -> dict[str, object]:
    """Every table as JSON (bytes as hex, keys as strings)."""
    out = _dump(state)
    assert isinstance(out, dict)
    return out


def state_from_json(data: dict[str, object]) -> PackageState:
    """Inverse of ``state_to_json``; raises ``ValueError`` on a malformed document."""
    try:
        state = _load(PackageState, data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed package state: {exc}") from exc
    assert isinstance(state, PackageState)
    return state


def _dump(value: object) -> object:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _dump(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


def _load(hint: Any, data: object) -> object:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is types.UnionType or origin is typing.Union:
        if data is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _load(inner, data)
    if hint is bool:
        if not isinstance(data, bool):
            raise TypeError(f"expected bool, got {data!r}")
        return data
    if hint is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise TypeError(f"expected int, got {data!r}")
        return data
    if hint is str:
        if not isinstance(data, str):
            raise TypeError(f"expected str, got {data!r}")
        return data
    if hint is bytes:
        if not isinstance(data, str):
            raise TypeError(f"expected hex, got {data!r}")
        return bytes.fromhex(data)
    if origin is tuple:
        return tuple(_load(args[0], v) for v in _seq(data))
    if origin is list:
        return [_load(args[0], v) for v in _seq(data)]
    if origin is frozenset:
        return frozenset(_load(args[0], v) for v in _seq(data))
    if origin is dict:
        if not isinstance(data, dict):
            raise TypeError(f"expected object, got {data!r}")
        key_type = args[0]
        return {(int(k) if key_type is int else k): _load(args[1], v) for k, v in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise TypeError(f"expected object for {hint.__name__}, got {data!r}")
        hints = _hints(hint)
        kwargs = {
            f.name: _load(hints[f.name], data[f.name])
            for f in dataclasses.fields(hint)
            # a field added later with a default may be missing from older state
            if f.name in data
            or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        }
        return hint(**kwargs)
    raise TypeError(f"unsupported type {hint!r}")


def _seq(data: object) -> list[object]:
    if not isinstance(data, list):
        raise TypeError(f"expected list, got {data!r}")
    return data


# --- rows (incremental persistence) ---------------------------------------------------------

LIST_TABLES = ("ordered_ids", "finalized_ids")
"""Tables that are lists: one row each (key ``""``), rewritten whole when appended to."""
MAP_TABLES = tuple(f.name for f in dataclasses.fields(PackageState) if f.name not in LIST_TABLES)
PART_MIN_ITEMS = 32
"""Record members with more items than this get their own row (see the module doc)."""

type Row = tuple[str, str, str | None]
"""``(table, key, JSON text)``; ``None`` deletes the row and its member rows."""


class RowEncoder:
    """Encodes table slots as rows, remembering which long members it already wrote."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], dict[str, object]] = {}  # row -> member -> object

    def rows(self, state: PackageState, table: str, key: object) -> list[Row]:
        """The rows that make ``state.<table>[key]`` durable (``key`` is ignored for lists)."""
        if table in LIST_TABLES:
            return [(table, "", json.dumps(getattr(state, table)))]
        records = getattr(state, table)
        name = str(key)
        if key not in records:
            self._parts.pop((table, name), None)
            return [(table, name, None)]
        value = records[key]
        if not (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return [(table, name, json.dumps(_dump(value)))]
        written = self._parts.setdefault((table, name), {})
        out: list[Row] = []
        inline: dict[str, object] = {}
        for f in dataclasses.fields(value):
            member = getattr(value, f.name)
            if isinstance(member, tuple | frozenset) and len(member) > PART_MIN_ITEMS:
                if written.get(f.name) is not member:
                    written[f.name] = member
                    out.append((table, f"{name}#{f.name}", json.dumps(_dump(member))))
                continue
            written.pop(f.name, None)
            inline[f.name] = _dump(member)
        out.append((table, name, json.dumps(inline)))
        return out

    def all_rows(self, state: PackageState) -> list[Row]:
        """Every row of ``state`` (genesis, or a chain converted from the one-document format)."""
        out: list[Row] = []
        for table in LIST_TABLES:
            out.extend(self.rows(state, table, None))
        for table in MAP_TABLES:
            for key in list(getattr(state, table)):
                out.extend(self.rows(state, table, key))
        return out


def state_from_rows(rows: Iterable[tuple[str, str, str]]) -> PackageState:
    """The state the rows describe (inverse of ``RowEncoder``); ``ValueError`` if malformed."""
    tables: dict[str, dict[str, object]] = {name: {} for name in MAP_TABLES}
    lists: dict[str, object] = {name: [] for name in LIST_TABLES}
    parts: list[tuple[str, str, object]] = []
    for table, key, text in rows:
        value = json.loads(text)
        if table in lists:
            lists[table] = value
        elif "#" in key:
            parts.append((table, key, value))
        elif table in tables:
            tables[table][key] = value
    for table, key, value in parts:
        base, _, member = key.partition("#")
        row = tables.get(table, {}).get(base)
        if isinstance(row, dict):
            row.setdefault(member, value)  # an inline member (written later) wins
    return state_from_json({**tables, **lists})
