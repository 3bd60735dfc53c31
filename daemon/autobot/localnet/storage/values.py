"""Table values and nested structs of the package's storage, one function per struct.

Each function renders a model record (``localnet.model.state``) as the struct the package stores
(``storage.layouts``), in node JSON with its fields sorted by name. Where the model keeps a
record differently the function rebuilds the package's form: tickets are kept as runs of one
buyer (``Purchase``) and served as the package's 256-buyer ``TicketChunk``s (a chunk counter
that advances only when a chunk fills), winner records as 64-record ``WinnerChunk``s, a
``DrawState``'s ``VrfState`` is inlined in the model, a buyer's ``tickets_per_address`` entry and
``RateTrack`` are one ``BuyerState``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING

from autobot.localnet.model import feature_switch
from autobot.localnet.model.state import (
    Accounting,
    BotState,
    BuyerState,
    CancellationRecord,
    DrawState,
    Lottery,
    LotteryConfig,
    LotterySummary,
    PackageState,
    PartnerPayoutCap,
    PayoutBatchCap,
    PremiumAccessCap,
    PriceFeed,
    PrizeSlot,
    Purchase,
    SalesDistribution,
    SalesState,
    WinnerRecord,
    WinnerState,
    buyer_key,
)
from autobot.localnet.model.views import record_json
from autobot.localnet.storage.handles import Context, Json, obj, opt, u64, x

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "TICKET_CHUNK_CAPACITY",
    "WINNER_CHUNK_CAPACITY",
    "accounting",
    "automation_state",
    "cancellation_record",
    "config",
    "draw_state",
    "feature_record",
    "lottery",
    "lottery_summary",
    "partner_payout_cap",
    "payout_batch_cap",
    "premium_access_cap",
    "price_feed_record",
    "prize_slot",
    "rate_track",
    "sales_distribution",
    "sales_state",
    "ticket_chunk",
    "tickets_of",
    "vrf_state",
    "winner_chunk",
    "winner_record",
    "winner_state",
]

TICKET_CHUNK_CAPACITY = 256  # sales::CHUNK_CAPACITY
WINNER_CHUNK_CAPACITY = 64  # payouts::WINNER_CHUNK_CAPACITY
_VRF_STATE_FIELDS = (
    "request_id",
    "payload_hash",
    "schema_version",
    "attempt",
    "consumed",
    "retry_after_ts",
    "retry_strategy",
    "closing_block_height",
    "chain_id",
    "status",
)
"""``DrawState``'s fields that make its ``vrf_state``."""
_VRF_STATE_SMALL = ("schema_version", "attempt", "retry_strategy", "chain_id", "status")


def record(
    value: DataclassInstance,
    *,
    small: Collection[str] = (),
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
    **given: Json,
) -> Json:
    """A model record as its struct's node JSON (``record_json``: the view's spelling of each
    field), fields sorted by name as ``obj`` keeps them."""
    return obj(**record_json(value, small=small, exclude=exclude, only=only, **given))


def lottery(value: Lottery) -> Json:
    return record(value, small=("status",), config=config(value.config))


def config(cfg: LotteryConfig) -> Json:
    return obj(
        event_slug=x(cfg.event_slug),
        series_code=x(cfg.series_code),
        run_id=u64(cfg.run_id),
        config_version=u64(cfg.config_version),
        primary_type=cfg.primary_type,
        tags_mask=u64(cfg.tags_mask),
        sales_window=obj(sales_start=u64(cfg.sales_start), sales_end=u64(cfg.sales_end)),
        ticket_price=u64(cfg.ticket_price),
        ticket_limits=obj(
            max_tickets_total=u64(cfg.max_tickets_total),
            max_tickets_per_address=u64(cfg.max_tickets_per_address),
        ),
        sales_distribution=sales_distribution(cfg.distribution),
        prize_plan=[prize_slot(slot) for slot in cfg.prize_plan],
        winners_dedup=cfg.winners_dedup,
        draw_algo=cfg.draw_algo,
        auto_close_policy=obj(
            enabled=cfg.auto_close_enabled, grace_period_secs=u64(cfg.grace_period_secs)
        ),
        reward_backend=obj(
            backend_type=cfg.reward_backend_type, config_blob=x(cfg.reward_backend_blob)
        ),
        vrf_retry_policy=obj(
            strategy=cfg.retry_policy.strategy,
            base_delay_secs=u64(cfg.retry_policy.base_delay_secs),
            max_delay_secs=u64(cfg.retry_policy.max_delay_secs),
        ),
    )


def prize_slot(slot: PrizeSlot) -> Json:
    return record(slot, small=("winners_per_slot", "reward_type"))


def sales_distribution(d: SalesDistribution) -> Json:
    return record(d, small=("prize_bps", "jackpot_bps", "operations_bps", "reserve_bps"))


def accounting(a: Accounting) -> Json:
    return record(a)


def cancellation_record(r: CancellationRecord) -> Json:
    return record(r, small=("reason_code", "previous_status"))


def automation_state(bot: BotState) -> Json:
    return record(bot, allowed_actions=[u64(a) for a in bot.allowed_actions])


def draw_state(d: DrawState) -> Json:
    return record(
        d,
        exclude=_VRF_STATE_FIELDS,
        small=("rng_count",),
        vrf_state=vrf_state(d),
        verified_numbers=[u64(n) for n in d.verified_numbers],
    )


def vrf_state(d: DrawState) -> Json:
    """The ``VrfState`` inside a ``DrawState`` (the model keeps its fields first, flat)."""
    return record(d, only=_VRF_STATE_FIELDS, small=_VRF_STATE_SMALL)


def sales_state(c: Context, lottery_id: int, s: SalesState) -> Json:
    name = "sales::SalesState"
    tables = ("tickets_per_address", "ticket_chunks", "rate_track")
    return record(
        s,
        exclude=("purchases",),
        next_chunk_seq=u64(s.tickets_sold // TICKET_CHUNK_CAPACITY),
        distribution=sales_distribution(s.distribution),
        accounting=accounting(s.accounting),
        **{t: c.table(f"{name}.{t}", lottery_id) for t in tables},
    )


def _buyers(purchases: Sequence[Purchase], start: int, stop: int) -> Iterator[str]:
    """The buyers of tickets ``start`` .. ``stop - 1`` (purchases are runs of one buyer)."""
    first = 0
    for p in purchases:
        last = first + p.quantity
        if last > start and first < stop:
            yield from [p.buyer] * (min(last, stop) - max(first, start))
        if last >= stop:
            return
        first = last


def ticket_chunk(lottery_id: int, s: SalesState, chunk_seq: int) -> Json | None:
    start = chunk_seq * TICKET_CHUNK_CAPACITY
    if start >= s.tickets_sold:
        return None
    stop = min(start + TICKET_CHUNK_CAPACITY, s.tickets_sold)
    return obj(
        lottery_id=u64(lottery_id),
        chunk_seq=u64(chunk_seq),
        start_index=u64(start),
        buyers=list(_buyers(s.purchases, start, stop)),
    )


def tickets_of(state: PackageState, lottery_id: int, buyer: str) -> Json | None:
    """The ``tickets_per_address`` entry: a buyer's ticket count (none before its purchase)."""
    record = state.buyers.get(buyer_key(lottery_id, buyer))
    return None if record is None or record.tickets == 0 else u64(record.tickets)


def rate_track(record: BuyerState | None) -> Json | None:
    """``RateTrack``: created by the buyer's first purchase transaction (seeded sales have none)."""
    if record is None or not record.tracked:
        return None
    return obj(window_start=u64(record.window_start), purchase_count=u64(record.purchase_count))


def winner_state(c: Context, lottery_id: int, w: WinnerState) -> Json:
    name = "payouts::WinnerState"
    return record(
        w,
        exclude=("cursor_last_index", "cursor_checksum", "records"),
        small=("schema_version", "attempt"),
        random_numbers=[u64(n) for n in w.random_numbers],
        cursor=obj(
            last_processed_index=u64(w.cursor_last_index),
            checksum_after_batch=x(w.cursor_checksum),
        ),
        next_chunk_seq=u64(len(w.records) // WINNER_CHUNK_CAPACITY),
        winner_chunks=c.table(f"{name}.winner_chunks", lottery_id),
        assigned_indices=c.table(f"{name}.assigned_indices", lottery_id),
    )


def winner_chunk(lottery_id: int, w: WinnerState, chunk_seq: int) -> Json | None:
    start = chunk_seq * WINNER_CHUNK_CAPACITY
    if start >= len(w.records):
        return None
    return obj(
        lottery_id=u64(lottery_id),
        chunk_seq=u64(chunk_seq),
        start_ordinal=u64(start),
        records=[winner_record(r) for r in w.records[start : start + WINNER_CHUNK_CAPACITY]],
    )


def winner_record(r: WinnerRecord) -> Json:
    return record(r)


def price_feed_record(f: PriceFeed) -> Json:
    return record(f, small=("decimals", "fallback_reason"))


def payout_batch_cap(cap: PayoutBatchCap) -> Json:
    return record(cap)


def partner_payout_cap(cap: PartnerPayoutCap) -> Json:
    return record(cap)


def premium_access_cap(cap: PremiumAccessCap) -> Json:
    return record(cap, referrer=opt(cap.referrer))


_SMALL_SUMMARY_FIELDS = frozenset({"status", "vrf_status", "primary_type"})


def lottery_summary(s: LotterySummary) -> Json:
    return record(s, small=_SMALL_SUMMARY_FIELDS)


def feature_record(state: PackageState, feature_id: int) -> Json | None:
    """``FeatureRecord``: the switch's entry for ``feature_id`` (none under force-enable)."""
    mode = feature_switch.entries(state).get(feature_id)
    return None if mode is None else obj(mode=mode)
