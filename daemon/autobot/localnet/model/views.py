"""View functions in node JSON (§6): what ``POST /rpc/v3/view`` returns as ``result``.

Every view returns the ``result`` list: one element per Move return value (two for
``get_lottery_badges``). Encoding: u8/u16 as JSON numbers, u64/u128/u256 as decimal strings,
bool as bool, ``vector<u8>`` and addresses as ``0x`` hex, ``Option`` as ``{"vec": [...]}``,
structs as objects with the Move field names in declaration order, vectors as lists.

Views abort like the package's readers (``ModelAbort``); a price view without a feed registry
aborts ``E_REGISTRY_MISSING`` where the package would fail to borrow the resource.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from autobot.localnet.model import (
    automation,
    feature_switch,
    legacy_bridge,
    price_feed,
    registry,
    roles,
    sales,
)
from autobot.localnet.model.core import (
    TABLE_ADDRESS,
    TABLE_NOT_FOUND,
    LotteryStatus,
    ModelAbort,
    RetryStrategy,
    VrfStatus,
    j_bytes,
    j_u64,
    normalise_address,
)
from autobot.localnet.model.state import (
    BotState,
    LotteryConfig,
    PackageState,
    PartnerPayoutCap,
    PremiumAccessCap,
    VrfDeposit,
    WinnerState,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["VIEW_HANDLERS", "VRF_DEPOSIT_CONFIG", "record_json", "run_view"]

E_REGISTRY_MISSING = 0x1202
E_PAGINATION_LIMIT = 0x1501
E_HISTORY_MISSING = 0x1B01
REFUND_FIRST_BATCH_SLA_SECS = 43_200
REFUND_FULL_SLA_SECS = 86_400
VRF_DEPOSIT_CONFIG = ("min_balance_multiplier_bps", "effective_floor")
"""``VrfDeposit``'s fields the ledger keeps in its ``config``; the others are its ``status``."""

type Json = object
type ViewHandler = Callable[[PackageState, Sequence[object]], list[Json]]


def record_json(
    value: DataclassInstance,
    *,
    small: Collection[str] = (),
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
    **given: Json,
) -> dict[str, Json]:
    """A model record as node JSON, field for field in its dataclass's (the Move struct's) order:
    bytes ``j_bytes``, bools and addresses as they are, integers ``j_u64`` but the ``small`` ones
    (u8/u16 stay numbers); a ``given`` value (computed, nested, optional) stands in its field's place.
    ``only``/``exclude`` pick the fields a struct holds when the record is wider; a ``given``
    name the record lacks is a field the struct adds (after the record's own).
    """
    out: dict[str, Json] = {}
    for f in dataclasses.fields(value):
        if f.name in exclude or (only is not None and f.name not in only):
            continue
        item = given[f.name] if f.name in given else getattr(value, f.name)
        if f.name in given or isinstance(item, bool | str) or f.name in small:
            out[f.name] = item
        elif isinstance(item, bytes):
            out[f.name] = j_bytes(item)
        elif isinstance(item, int):
            out[f.name] = j_u64(item)
        else:
            raise TypeError(f"{type(value).__name__}.{f.name}: {item!r} needs to be given")
    return out | {name: item for name, item in given.items() if name not in out}


def _row[V](rows: Mapping[int, V], lottery_id: int, *, ledger: bool, code: int, module: str) -> V:
    """A lottery's entry of a ledger's table: without the ledger the view aborts ``code`` in
    ``module``; without the entry, ``0x1::table``'s ``TABLE_NOT_FOUND``."""
    if not ledger:
        raise ModelAbort(code, module)
    row = rows.get(lottery_id)
    if row is None:
        raise ModelAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    return row


def _opt(value: Json | None) -> dict[str, list[Json]]:
    return {"vec": [] if value is None else [value]}


def _u(args: Sequence[object], index: int) -> int:
    value = args[index]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"argument {index}: expected an unsigned integer, got {value!r}")
    return value


def _addr(args: Sequence[object], index: int) -> str:
    value = args[index]
    if not isinstance(value, str):
        raise TypeError(f"argument {index}: expected an address, got {value!r}")
    return normalise_address(value)


# --- per-lottery readers (also used by status_overview) --------------------------------------


def vrf_state_view(state: PackageState, lottery_id: int) -> dict[str, Json]:
    d = state.draws.get(lottery_id) if state.g.draw else None
    if d is None:
        return {
            "status": VrfStatus.IDLE.value,
            "attempt": 0,
            "consumed": True,
            "retry_after_ts": "0",
            "retry_strategy": RetryStrategy.FIXED.value,
            "last_request_ts": "0",
            "request_id": "0",
        }
    return {
        "status": d.status,
        "attempt": d.attempt,
        "consumed": d.consumed,
        "retry_after_ts": j_u64(d.retry_after_ts),
        "retry_strategy": d.retry_strategy,
        "last_request_ts": j_u64(d.last_request_ts),
        "request_id": j_u64(d.request_id),
    }


def _winner_state(state: PackageState, lottery_id: int) -> WinnerState | None:
    return state.winners.get(lottery_id) if state.g.payouts else None


def winner_progress(state: PackageState, lottery_id: int) -> dict[str, Json]:
    w = _winner_state(state, lottery_id) or WinnerState()
    return {
        "initialized": w.initialized,
        "total_required": j_u64(w.total_required),
        "total_assigned": j_u64(w.total_assigned),
        "payout_round": j_u64(w.payout_round),
        "next_winner_batch_no": j_u64(w.next_winner_batch_no),
        "last_payout_ts": j_u64(w.last_payout_ts),
    }


def refund_progress(state: PackageState, lottery_id: int) -> dict[str, Json]:
    s = state.sales.get(lottery_id) if sales.has_state(state, lottery_id) else None
    if s is None:
        values = dict.fromkeys(
            (
                "refund_round",
                "tickets_refunded",
                "prize_refunded",
                "operations_refunded",
                "last_refund_ts",
                "tickets_sold",
                "proceeds_accum",
            ),
            "0",
        )
        return {"active": False, **values}
    return {
        "active": s.refund_active,
        "refund_round": j_u64(s.refund_round),
        "tickets_refunded": j_u64(s.refund_tickets_processed),
        "prize_refunded": j_u64(s.refund_prize_total),
        "operations_refunded": j_u64(s.refund_operations_total),
        "last_refund_ts": j_u64(s.last_refund_ts),
        "tickets_sold": j_u64(s.tickets_sold),
        "proceeds_accum": j_u64(s.proceeds_accum),
    }


def _ordered_ids(state: PackageState) -> list[int]:
    if not state.g.registry:
        raise ModelAbort(E_REGISTRY_MISSING, "lottery_registry")
    return state.ordered_ids


def status_overview(state: PackageState, args: Sequence[object]) -> list[Json]:
    now_ts = _u(args, 0)
    counts = [0] * 8
    vrf_requested = vrf_fulfilled_pending = vrf_retry_blocked = 0
    winners_pending = payout_backlog = refund_active = refund_batch_pending = 0
    sla_breach = False
    for lottery_id in _ordered_ids(state):
        counts[registry.get_lottery(state, lottery_id).status] += 1
        d = state.draws.get(lottery_id) if state.g.draw else None
        if d is not None and d.status == VrfStatus.REQUESTED:
            vrf_requested += 1
            if not d.consumed and d.retry_after_ts > 0 and d.retry_after_ts > now_ts:
                vrf_retry_blocked += 1
        elif d is not None and d.status == VrfStatus.FULFILLED and not d.consumed:
            vrf_fulfilled_pending += 1
        w = _winner_state(state, lottery_id)
        if w is not None and w.initialized:
            winners_pending += w.total_required > w.total_assigned
            payout_backlog += w.next_winner_batch_no > w.payout_round
        s = state.sales.get(lottery_id) if state.g.sales else None
        if s is None or not s.refund_active:
            continue
        refund_active += 1
        refund_batch_pending += max(0, s.tickets_sold - s.refund_tickets_processed)
        record = state.cancellations.get(lottery_id)
        if sla_breach or record is None:
            continue
        if s.refund_round == 0:
            sla_breach = now_ts > record.canceled_ts + REFUND_FIRST_BATCH_SLA_SECS
        elif s.refund_tickets_processed < s.tickets_sold:
            sla_breach = now_ts > record.canceled_ts + REFUND_FULL_SLA_SECS
    names = ("draft", "active", "closing", "draw_requested", "drawn", "payout", "finalized")
    overview: dict[str, Json] = {"total": j_u64(sum(counts))}
    overview.update({name: j_u64(counts[i]) for i, name in enumerate(names)})
    overview["canceled"] = j_u64(counts[LotteryStatus.CANCELED])
    overview.update(
        {
            "vrf_requested": j_u64(vrf_requested),
            "vrf_fulfilled_pending": j_u64(vrf_fulfilled_pending),
            "vrf_retry_blocked": j_u64(vrf_retry_blocked),
            "winners_pending": j_u64(winners_pending),
            "payout_backlog": j_u64(payout_backlog),
            "refund_active": j_u64(refund_active),
            "refund_batch_pending": j_u64(refund_batch_pending),
            "refund_sla_breach": sla_breach,
        }
    )
    return [overview]


# --- automation -----------------------------------------------------------------------------


def _bot_status(operator: str, bot: BotState) -> dict[str, Json]:
    return {
        "operator": operator,
        "allowed_actions": [j_u64(v) for v in bot.allowed_actions],
        "timelock_secs": j_u64(bot.timelock_secs),
        "max_failures": j_u64(bot.max_failures),
        "failure_count": j_u64(bot.failure_count),
        "success_streak": j_u64(bot.success_streak),
        "reputation_score": j_u64(bot.reputation_score),
        "pending_action_hash": j_bytes(bot.pending_action_hash),
        "pending_execute_after": j_u64(bot.pending_execute_after),
        "expires_at": j_u64(bot.expires_at),
        "cron_spec": j_bytes(bot.cron_spec),
        "last_action_ts": j_u64(bot.last_action_ts),
        "last_action_hash": j_bytes(bot.last_action_hash),
    }


def _bot_view(operator: str, bot: BotState) -> dict[str, Json]:
    s = _bot_status(operator, bot)
    order = (
        "operator",
        "allowed_actions",
        "timelock_secs",
        "max_failures",
        "failure_count",
        "success_streak",
        "reputation_score",
    )
    view = {k: s[k] for k in order}
    view["has_pending"] = bool(bot.pending_action_hash)
    for k in (
        "pending_execute_after",
        "pending_action_hash",
        "expires_at",
        "cron_spec",
        "last_action_ts",
        "last_action_hash",
    ):
        view[k] = s[k]
    return view


def list_automation_bots(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [[_bot_view(op, state.bots[op]) for op in automation.operators(state)]]


def _bot(state: PackageState, operator: str) -> BotState | None:
    return state.bots.get(operator) if state.g.automation else None


def get_automation_bot(state: PackageState, args: Sequence[object]) -> list[Json]:
    operator = _addr(args, 0)
    bot = _bot(state, operator)
    return [_opt(None if bot is None else _bot_view(operator, bot))]


def automation_status_option(state: PackageState, args: Sequence[object]) -> list[Json]:
    operator = _addr(args, 0)
    bot = _bot(state, operator)
    return [_opt(None if bot is None else _bot_status(operator, bot))]


def automation_operators(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [automation.operators(state)]


# --- lotteries ------------------------------------------------------------------------------


def _config(c: LotteryConfig) -> dict[str, Json]:
    d = c.distribution
    p = c.retry_policy
    return {
        "event_slug": j_bytes(c.event_slug),
        "series_code": j_bytes(c.series_code),
        "run_id": j_u64(c.run_id),
        "config_version": j_u64(c.config_version),
        "primary_type": c.primary_type,
        "tags_mask": j_u64(c.tags_mask),
        "sales_window": {"sales_start": j_u64(c.sales_start), "sales_end": j_u64(c.sales_end)},
        "ticket_price": j_u64(c.ticket_price),
        "ticket_limits": {
            "max_tickets_total": j_u64(c.max_tickets_total),
            "max_tickets_per_address": j_u64(c.max_tickets_per_address),
        },
        "sales_distribution": {
            "prize_bps": d.prize_bps,
            "jackpot_bps": d.jackpot_bps,
            "operations_bps": d.operations_bps,
            "reserve_bps": d.reserve_bps,
        },
        "prize_plan": [
            {
                "slot_id": j_u64(s.slot_id),
                "winners_per_slot": s.winners_per_slot,
                "reward_type": s.reward_type,
                "reward_payload": j_bytes(s.reward_payload),
            }
            for s in c.prize_plan
        ],
        "winners_dedup": c.winners_dedup,
        "draw_algo": c.draw_algo,
        "auto_close_policy": {
            "enabled": c.auto_close_enabled,
            "grace_period_secs": j_u64(c.grace_period_secs),
        },
        "reward_backend": {
            "backend_type": c.reward_backend_type,
            "config_blob": j_bytes(c.reward_backend_blob),
        },
        "vrf_retry_policy": {
            "strategy": p.strategy,
            "base_delay_secs": j_u64(p.base_delay_secs),
            "max_delay_secs": j_u64(p.max_delay_secs),
        },
    }


def get_lottery(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [_config(registry.get_lottery(state, _u(args, 0)).config)]


def get_lottery_status(state: PackageState, args: Sequence[object]) -> list[Json]:
    lottery = registry.get_lottery(state, _u(args, 0))
    return [
        {
            "status": lottery.status,
            "snapshot_frozen": lottery.snapshot_frozen,
            "primary_type": lottery.config.primary_type,
            "tags_mask": j_u64(lottery.config.tags_mask),
        }
    ]


def get_lottery_badges(state: PackageState, args: Sequence[object]) -> list[Json]:
    config = registry.get_lottery(state, _u(args, 0)).config
    return [config.primary_type, j_u64(config.tags_mask)]


def accounting_snapshot(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [record_json(sales.accounting(state, _u(args, 0)))]


def get_cancellation(state: PackageState, args: Sequence[object]) -> list[Json]:
    lottery_id = _u(args, 0)
    _ordered_ids(state)
    r = state.cancellations.get(lottery_id)
    if r is None:
        return [_opt(None)]
    return [_opt(record_json(r, small=("reason_code", "previous_status")))]


def get_refund_progress(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [refund_progress(state, _u(args, 0))]


def get_vrf_deposit_status(state: PackageState, args: Sequence[object]) -> list[Json]:
    d = state.g.vrf_deposit or VrfDeposit(min_balance_multiplier_bps=0, effective_floor=0)
    return [record_json(d, exclude=VRF_DEPOSIT_CONFIG)]


def get_lottery_summary(state: PackageState, args: Sequence[object]) -> list[Json]:
    summary = _row(
        state.summaries,
        _u(args, 0),
        ledger=state.g.history,
        code=E_HISTORY_MISSING,
        module="history",
    )
    return [record_json(summary, small=("status", "vrf_status", "primary_type"))]


def is_legacy_summary(state: PackageState, args: Sequence[object]) -> list[Json]:
    """``history::is_legacy_summary`` (the package's one ``#[view]``): the model imports no
    legacy summaries (``import_legacy_summary_admin`` is not modelled), so every flag is false."""
    _u(args, 0)
    if not state.g.history:
        raise ModelAbort(E_HISTORY_MISSING, "history")
    return [False]


def _listing(
    state: PackageState, args: Sequence[object], offset: int, keep: Callable[[int], bool]
) -> list[Json]:
    start, limit = _u(args, offset), _u(args, offset + 1)
    if limit > 1000:
        raise ModelAbort(E_PAGINATION_LIMIT, "views")
    out: list[str] = []
    skipped = 0
    for lottery_id in reversed(_ordered_ids(state)):
        if not keep(lottery_id):
            continue
        if skipped < start:
            skipped += 1
            continue
        if len(out) >= limit:
            break
        out.append(j_u64(lottery_id))
    return [out]


def _cfg(state: PackageState, lottery_id: int) -> LotteryConfig:
    return registry.get_lottery(state, lottery_id).config


def list_active(state: PackageState, args: Sequence[object]) -> list[Json]:
    return _listing(
        state, args, 0, lambda i: registry.get_lottery(state, i).status == LotteryStatus.ACTIVE
    )


def list_by_primary_type(state: PackageState, args: Sequence[object]) -> list[Json]:
    wanted = _u(args, 0)
    return _listing(state, args, 1, lambda i: _cfg(state, i).primary_type == wanted)


def list_by_tag_mask(state: PackageState, args: Sequence[object]) -> list[Json]:
    mask = _u(args, 0)
    return _listing(state, args, 1, lambda i: (_cfg(state, i).tags_mask & mask) != 0)


def list_by_all_tags(state: PackageState, args: Sequence[object]) -> list[Json]:
    mask = _u(args, 0)
    return _listing(state, args, 1, lambda i: (_cfg(state, i).tags_mask & mask) == mask)


def list_finalized_ids(state: PackageState, args: Sequence[object]) -> list[Json]:
    start, limit = _u(args, 0), _u(args, 1)
    if limit > 1000:
        raise ModelAbort(E_PAGINATION_LIMIT, "history")
    if not state.g.history:
        raise ModelAbort(E_HISTORY_MISSING, "history")
    ids = list(reversed(state.finalized_ids))[start : start + limit]
    return [[j_u64(i) for i in ids]]


# --- draw, payouts, price feed, roles -------------------------------------------------------


def draw_vrf_state_view(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [vrf_state_view(state, _u(args, 0))]


def draw_has_state(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [state.g.draw and _u(args, 0) in state.draws]


def draw_finalization_snapshot(state: PackageState, args: Sequence[object]) -> list[Json]:
    d = _row(state.draws, _u(args, 0), ledger=state.g.draw, code=E_REGISTRY_MISSING, module="draw")
    return [
        {
            "snapshot_hash": j_bytes(d.snapshot_hash),
            "payload_hash": j_bytes(d.payload_hash),
            "winners_batch_hash": j_bytes(d.winners_batch_hash),
            "checksum_after_batch": j_bytes(d.checksum_after_batch),
            "schema_version": d.schema_version,
            "attempt": d.attempt,
            "closing_block_height": j_u64(d.closing_block_height),
            "chain_id": d.chain_id,
            "request_ts": j_u64(d.last_request_ts),
            "vrf_status": d.status,
        }
    ]


def payouts_winner_progress(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [winner_progress(state, _u(args, 0))]


def get_price_view(state: PackageState, args: Sequence[object]) -> list[Json]:
    feed = price_feed.feed(state, _u(args, 0))
    return [record_json(feed, small=("decimals", "fallback_reason"))]


def payout_batch_cap_view(state: PackageState, args: Sequence[object]) -> list[Json]:
    roles.require_store(state)
    cap = state.g.payout_cap
    if cap is None:
        return [_opt(None)]
    return [_opt(record_json(cap))]


def has_payout_batch_cap(state: PackageState, args: Sequence[object]) -> list[Json]:
    roles.require_store(state)
    return [state.g.payout_cap is not None]


def partner_cap_info(cap: PartnerPayoutCap) -> dict[str, Json]:
    """``PartnerCapInfo`` and ``PartnerPayoutCap`` (the same eight fields, in this order)."""
    return record_json(cap)


def premium_cap_info(cap: PremiumAccessCap) -> dict[str, Json]:
    """``PremiumCapInfo`` and ``PremiumAccessCap`` (the same four fields, in this order)."""
    return record_json(cap, referrer=_opt(cap.referrer))


def list_partner_caps(state: PackageState, args: Sequence[object]) -> list[Json]:
    """In index order; an index entry without a cap is skipped."""
    roles.require_store(state)
    caps = (state.partner_caps.get(p) for p in state.g.partner_index)
    return [[partner_cap_info(cap) for cap in caps if cap is not None]]


def list_premium_caps(state: PackageState, args: Sequence[object]) -> list[Json]:
    roles.require_store(state)
    caps = (state.premium_caps.get(h) for h in state.g.premium_index)
    return [[premium_cap_info(cap) for cap in caps if cap is not None]]


def partner_payout_cap_view(state: PackageState, args: Sequence[object]) -> list[Json]:
    roles.require_store(state)
    cap = state.partner_caps.get(_addr(args, 0))
    return [_opt(None if cap is None else partner_cap_info(cap))]


def premium_cap_view(state: PackageState, args: Sequence[object]) -> list[Json]:
    roles.require_store(state)
    cap = state.premium_caps.get(_addr(args, 0))
    return [_opt(None if cap is None else premium_cap_info(cap))]


def has_partner_payout_cap(state: PackageState, args: Sequence[object]) -> list[Json]:
    roles.require_store(state)
    return [_addr(args, 0) in state.partner_caps]


def has_premium_cap(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [roles.has_premium_cap(state, _addr(args, 0))]


# --- legacy_bridge: the dual-write control ---------------------------------------------------


def _dual_write_status(state: PackageState, expected: bytes | None) -> dict[str, Json]:
    """``DualWriteStatus``; all false (and no hash) without a control."""
    g = state.g
    if not g.dual_write:
        return {
            "enabled": False,
            "abort_on_mismatch": False,
            "abort_on_missing": False,
            "expected_hash": _opt(None),
        }
    return {
        "enabled": g.dual_write_enabled,
        "abort_on_mismatch": g.abort_on_mismatch,
        "abort_on_missing": g.abort_on_missing,
        "expected_hash": _opt(None if expected is None else j_bytes(expected)),
    }


def pending_expected_hashes(state: PackageState, args: Sequence[object]) -> list[Json]:
    """The lotteries with an expected hash, in the table's order (empty without a control)."""
    if not state.g.dual_write:
        return [[]]
    return [[j_u64(e.lottery_id) for e in state.g.expected_hashes]]


def dual_write_status(state: PackageState, args: Sequence[object]) -> list[Json]:
    lottery_id = _u(args, 0)
    expected = legacy_bridge.expected_hash(state, lottery_id) if state.g.dual_write else None
    return [_dual_write_status(state, expected)]


def dual_write_flags(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [_dual_write_status(state, None)]


def has_expected_hash(state: PackageState, args: Sequence[object]) -> list[Json]:
    lottery_id = _u(args, 0)
    return [state.g.dual_write and legacy_bridge.expected_hash(state, lottery_id) is not None]


def dual_write_is_enabled(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [state.g.dual_write and state.g.dual_write_enabled]


def is_mirror_enabled(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [state.g.legacy_mirror]


def feature_is_initialized(state: PackageState, args: Sequence[object]) -> list[Json]:
    return [feature_switch.is_initialized(state)]


def feature_is_enabled(state: PackageState, args: Sequence[object]) -> list[Json]:
    """``feature_switch::is_enabled(feature_id, has_premium)``: aborts ``E_REGISTRY_MISSING``
    without a registry, ``E_FEATURE_UNKNOWN`` for an id without an entry (unless forced)."""
    feature_id, premium = _u(args, 0), args[1]
    assert isinstance(premium, bool)
    if not feature_switch.is_initialized(state):
        raise ModelAbort(E_REGISTRY_MISSING, "feature_switch")
    return [feature_switch.is_enabled(state, feature_id, premium=premium)]


VIEW_HANDLERS: Mapping[tuple[str, str], ViewHandler] = {
    ("views", "status_overview"): status_overview,
    ("views", "list_automation_bots"): list_automation_bots,
    ("views", "get_automation_bot"): get_automation_bot,
    ("views", "get_refund_progress"): get_refund_progress,
    ("views", "get_cancellation"): get_cancellation,
    ("views", "get_vrf_deposit_status"): get_vrf_deposit_status,
    ("views", "get_lottery_status"): get_lottery_status,
    ("views", "get_lottery"): get_lottery,
    ("views", "accounting_snapshot"): accounting_snapshot,
    ("views", "get_lottery_summary"): get_lottery_summary,
    ("views", "get_lottery_badges"): get_lottery_badges,
    ("views", "list_active"): list_active,
    ("views", "list_by_primary_type"): list_by_primary_type,
    ("views", "list_by_tag_mask"): list_by_tag_mask,
    ("views", "list_by_all_tags"): list_by_all_tags,
    ("views", "list_finalized_ids"): list_finalized_ids,
    ("history", "is_legacy_summary"): is_legacy_summary,
    ("draw", "vrf_state_view"): draw_vrf_state_view,
    ("draw", "finalization_snapshot"): draw_finalization_snapshot,
    ("draw", "has_state"): draw_has_state,
    ("payouts", "winner_progress"): payouts_winner_progress,
    ("price_feed", "get_price_view"): get_price_view,
    ("roles", "payout_batch_cap_view"): payout_batch_cap_view,
    ("roles", "has_payout_batch_cap"): has_payout_batch_cap,
    ("roles", "list_partner_caps"): list_partner_caps,
    ("roles", "list_premium_caps"): list_premium_caps,
    ("roles", "partner_payout_cap_view"): partner_payout_cap_view,
    ("roles", "premium_cap_view"): premium_cap_view,
    ("roles", "has_partner_payout_cap"): has_partner_payout_cap,
    ("roles", "has_premium_cap"): has_premium_cap,
    ("legacy_bridge", "pending_expected_hashes"): pending_expected_hashes,
    ("legacy_bridge", "dual_write_status"): dual_write_status,
    ("legacy_bridge", "dual_write_flags"): dual_write_flags,
    ("legacy_bridge", "has_expected_hash"): has_expected_hash,
    ("legacy_bridge", "is_enabled"): dual_write_is_enabled,
    ("legacy_bridge", "is_mirror_enabled"): is_mirror_enabled,
    ("automation", "automation_status_option"): automation_status_option,
    ("automation", "automation_operators"): automation_operators,
    ("feature_switch", "is_initialized"): feature_is_initialized,
    ("feature_switch", "is_enabled"): feature_is_enabled,
}


def run_view(state: PackageState, module: str, function: str, args: Sequence[object]) -> list[Json]:
    handler = VIEW_HANDLERS.get((module, function))
    if handler is None:
        raise KeyError(f"no view {module}::{function}")
    return handler(state, args)
