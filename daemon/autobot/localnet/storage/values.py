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

from collections.abc import Iterator, Sequence

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
from autobot.localnet.storage.handles import Context, Json, obj, opt, u64, x

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


def lottery(record: Lottery) -> Json:
    return obj(
        id=u64(record.id),
        config=config(record.config),
        status=record.status,
        snapshot_frozen=record.snapshot_frozen,
        slots_checksum=x(record.slots_checksum),
    )


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
    return obj(
        slot_id=u64(slot.slot_id),
        winners_per_slot=slot.winners_per_slot,
        reward_type=slot.reward_type,
        reward_payload=x(slot.reward_payload),
    )


def sales_distribution(d: SalesDistribution) -> Json:
    return obj(
        prize_bps=d.prize_bps,
        jackpot_bps=d.jackpot_bps,
        operations_bps=d.operations_bps,
        reserve_bps=d.reserve_bps,
    )


def accounting(a: Accounting) -> Json:
    return obj(
        total_sales=u64(a.total_sales),
        total_allocated=u64(a.total_allocated),
        total_prize_paid=u64(a.total_prize_paid),
        total_operations_paid=u64(a.total_operations_paid),
        total_operations_allocated=u64(a.total_operations_allocated),
        jackpot_allowance_token=u64(a.jackpot_allowance_token),
    )


def cancellation_record(r: CancellationRecord) -> Json:
    return obj(
        reason_code=r.reason_code,
        canceled_ts=u64(r.canceled_ts),
        previous_status=r.previous_status,
        tickets_sold=u64(r.tickets_sold),
        proceeds_accum=u64(r.proceeds_accum),
    )


def automation_state(bot: BotState) -> Json:
    return obj(
        allowed_actions=[u64(a) for a in bot.allowed_actions],
        max_failures=u64(bot.max_failures),
        failure_count=u64(bot.failure_count),
        success_streak=u64(bot.success_streak),
        reputation_score=u64(bot.reputation_score),
        timelock_secs=u64(bot.timelock_secs),
        pending_action_hash=x(bot.pending_action_hash),
        pending_execute_after=u64(bot.pending_execute_after),
        expires_at=u64(bot.expires_at),
        cron_spec=x(bot.cron_spec),
        last_action_ts=u64(bot.last_action_ts),
        last_action_hash=x(bot.last_action_hash),
    )


def draw_state(d: DrawState) -> Json:
    return obj(
        vrf_state=vrf_state(d),
        rng_count=d.rng_count,
        client_seed=u64(d.client_seed),
        last_request_ts=u64(d.last_request_ts),
        snapshot_hash=x(d.snapshot_hash),
        total_tickets=u64(d.total_tickets),
        winners_batch_hash=x(d.winners_batch_hash),
        checksum_after_batch=x(d.checksum_after_batch),
        verified_numbers=[u64(n) for n in d.verified_numbers],
        payload=x(d.payload),
        next_client_seed=u64(d.next_client_seed),
    )


def vrf_state(d: DrawState) -> Json:
    return obj(
        request_id=u64(d.request_id),
        payload_hash=x(d.payload_hash),
        schema_version=d.schema_version,
        attempt=d.attempt,
        consumed=d.consumed,
        retry_after_ts=u64(d.retry_after_ts),
        retry_strategy=d.retry_strategy,
        closing_block_height=u64(d.closing_block_height),
        chain_id=d.chain_id,
        status=d.status,
    )


def sales_state(c: Context, lottery_id: int, s: SalesState) -> Json:
    name = "sales::SalesState"
    return obj(
        ticket_price=u64(s.ticket_price),
        tickets_sold=u64(s.tickets_sold),
        proceeds_accum=u64(s.proceeds_accum),
        last_purchase_ts=u64(s.last_purchase_ts),
        last_purchase_block=u64(s.last_purchase_block),
        block_purchase_count=u64(s.block_purchase_count),
        next_chunk_seq=u64(s.tickets_sold // TICKET_CHUNK_CAPACITY),
        tickets_per_address=c.table(f"{name}.tickets_per_address", lottery_id),
        ticket_chunks=c.table(f"{name}.ticket_chunks", lottery_id),
        rate_track=c.table(f"{name}.rate_track", lottery_id),
        distribution=sales_distribution(s.distribution),
        accounting=accounting(s.accounting),
        refund_active=s.refund_active,
        refund_round=u64(s.refund_round),
        refund_tickets_processed=u64(s.refund_tickets_processed),
        refund_prize_total=u64(s.refund_prize_total),
        refund_operations_total=u64(s.refund_operations_total),
        last_refund_ts=u64(s.last_refund_ts),
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
    return obj(
        initialized=w.initialized,
        total_required=u64(w.total_required),
        total_assigned=u64(w.total_assigned),
        total_tickets=u64(w.total_tickets),
        snapshot_hash=x(w.snapshot_hash),
        payload_hash=x(w.payload_hash),
        schema_version=w.schema_version,
        attempt=w.attempt,
        random_numbers=[u64(n) for n in w.random_numbers],
        winners_batch_hash=x(w.winners_batch_hash),
        cursor=obj(
            last_processed_index=u64(w.cursor_last_index),
            checksum_after_batch=x(w.cursor_checksum),
        ),
        next_chunk_seq=u64(len(w.records) // WINNER_CHUNK_CAPACITY),
        winner_chunks=c.table(f"{name}.winner_chunks", lottery_id),
        assigned_indices=c.table(f"{name}.assigned_indices", lottery_id),
        payout_round=u64(w.payout_round),
        last_payout_ts=u64(w.last_payout_ts),
        next_winner_batch_no=u64(w.next_winner_batch_no),
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
    return obj(
        slot_id=u64(r.slot_id),
        ticket_index=u64(r.ticket_index),
        winner=r.winner,
        winner_hash=x(r.winner_hash),
    )


def price_feed_record(f: PriceFeed) -> Json:
    return obj(
        asset_id=u64(f.asset_id),
        price=u64(f.price),
        decimals=f.decimals,
        last_updated_ts=u64(f.last_updated_ts),
        staleness_window=u64(f.staleness_window),
        clamp_threshold_bps=u64(f.clamp_threshold_bps),
        fallback_active=f.fallback_active,
        fallback_reason=f.fallback_reason,
        clamp_active=f.clamp_active,
    )


def payout_batch_cap(cap: PayoutBatchCap) -> Json:
    return obj(
        holder=cap.holder,
        max_batch_size=u64(cap.max_batch_size),
        operations_budget_total=u64(cap.operations_budget_total),
        operations_budget_used=u64(cap.operations_budget_used),
        cooldown_secs=u64(cap.cooldown_secs),
        last_batch_at=u64(cap.last_batch_at),
        last_nonce=u64(cap.last_nonce),
        nonce_stride=u64(cap.nonce_stride),
    )


def partner_payout_cap(cap: PartnerPayoutCap) -> Json:
    return obj(
        partner=cap.partner,
        max_total_payout=u64(cap.max_total_payout),
        remaining_payout=u64(cap.remaining_payout),
        payout_cooldown_secs=u64(cap.payout_cooldown_secs),
        last_payout_at=u64(cap.last_payout_at),
        next_nonce=u64(cap.next_nonce),
        nonce_stride=u64(cap.nonce_stride),
        expires_at=u64(cap.expires_at),
    )


def premium_access_cap(cap: PremiumAccessCap) -> Json:
    return obj(
        holder=cap.holder,
        expires_at=u64(cap.expires_at),
        auto_renew=cap.auto_renew,
        referrer=opt(cap.referrer),
    )


_SMALL_SUMMARY_FIELDS = frozenset({"status", "vrf_status", "primary_type"})


def lottery_summary(s: LotterySummary) -> Json:
    fields: dict[str, Json] = {}
    for name in s.__dataclass_fields__:
        value = getattr(s, name)
        if isinstance(value, bytes):
            fields[name] = x(value)
        elif name in _SMALL_SUMMARY_FIELDS:
            fields[name] = value
        else:
            fields[name] = u64(value)
    return obj(**fields)


def feature_record(state: PackageState, feature_id: int) -> Json | None:
    """``FeatureRecord``: the switch's entry for ``feature_id`` (none under force-enable)."""
    mode = feature_switch.entries(state).get(feature_id)
    return None if mode is None else obj(mode=mode)
