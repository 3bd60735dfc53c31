"""The package's storage structs as its Move sources declare them (the data ``layouts`` reads).

Read from repository ``PetrAdminus/supra-project`` at commit ``PACKAGE_COMMIT``: folder
``PACKAGE_SOURCES`` (every ``.move`` file; ``cancellation``, ``errors``, ``math``, ``tags`` and
``views`` declare no stored struct) and ``VRF_HUB_TABLE_SOURCE`` for the workspace's own
``vrf_hub::table::Table``, whose two-vector layout is what ``automation`` and ``legacy_bridge``
store. ``DECLARATIONS`` lists every struct storage holds, as the sources write it but with every
type fully qualified (named addresses ``lottery_multi``, ``vrf_hub``; ``0x1`` for the framework,
whose structs follow the package's). ``RESOURCE_PLACES`` says where each ``key`` struct lives and
which function ``move_to``s it.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "DECLARATIONS",
    "EVENT_HANDLE_FIRST_CREATION_NUM",
    "PACKAGE_COMMIT",
    "PACKAGE_REPOSITORY",
    "PACKAGE_SOURCES",
    "RESOURCE_PLACES",
    "VRF_HUB_TABLE_SOURCE",
]

PACKAGE_REPOSITORY = "PetrAdminus/supra-project"
PACKAGE_COMMIT = "04999ac141fac22dd984ff31e681366cbe10e695"
PACKAGE_SOURCES = "SupraLottery/supra/move_workspace/lottery_multi/sources"
VRF_HUB_TABLE_SOURCE = "SupraLottery/supra/move_workspace/vrf_hub/sources/Table.move"
EVENT_HANDLE_FIRST_CREATION_NUM = 2
"""GUID creation numbers 0 and 1 go to the two handles ``0x1::account`` creates with an account."""

DECLARATIONS = """
module lottery_multi::lottery_registry
struct Config has copy, drop, store {
    event_slug: vector<u8>,
    series_code: vector<u8>,
    run_id: u64,
    config_version: u64,
    primary_type: u8,
    tags_mask: u64,
    sales_window: lottery_multi::types::SalesWindow,
    ticket_price: u64,
    ticket_limits: lottery_multi::types::TicketLimits,
    sales_distribution: lottery_multi::economics::SalesDistribution,
    prize_plan: vector<lottery_multi::types::PrizeSlot>,
    winners_dedup: bool,
    draw_algo: u8,
    auto_close_policy: lottery_multi::types::AutoClosePolicy,
    reward_backend: lottery_multi::types::RewardBackend,
    vrf_retry_policy: lottery_multi::types::RetryPolicy,
}
struct Lottery has store {
    id: u64,
    config: lottery_multi::lottery_registry::Config,
    status: u8,
    snapshot_frozen: bool,
    slots_checksum: vector<u8>,
}
struct CancellationRecord has copy, drop, store {
    reason_code: u8,
    canceled_ts: u64,
    previous_status: u8,
    tickets_sold: u64,
    proceeds_accum: u64,
}
struct Registry has key {
    lotteries: 0x1::table::Table<u64, lottery_multi::lottery_registry::Lottery>,
    ordered_ids: vector<u64>,
    created_events: 0x1::event::EventHandle<lottery_multi::history::LotteryCreatedEvent>,
    canceled_events: 0x1::event::EventHandle<lottery_multi::history::LotteryCanceledEvent>,
    cancellations: 0x1::table::Table<u64, lottery_multi::lottery_registry::CancellationRecord>,
}

module lottery_multi::types
struct SalesWindow has copy, drop, store {
    sales_start: u64,
    sales_end: u64,
}
struct TicketLimits has copy, drop, store {
    max_tickets_total: u64,
    max_tickets_per_address: u64,
}
struct AutoClosePolicy has copy, drop, store {
    enabled: bool,
    grace_period_secs: u64,
}
struct PrizeSlot has copy, drop, store {
    slot_id: u64,
    winners_per_slot: u16,
    reward_type: u8,
    reward_payload: vector<u8>,
}
struct RewardBackend has copy, drop, store {
    backend_type: u8,
    config_blob: vector<u8>,
}
struct VrfState has copy, drop, store {
    request_id: u64,
    payload_hash: vector<u8>,
    schema_version: u16,
    attempt: u8,
    consumed: bool,
    retry_after_ts: u64,
    retry_strategy: u8,
    closing_block_height: u64,
    chain_id: u8,
    status: u8,
}
struct WinnerCursor has copy, drop, store {
    last_processed_index: u64,
    checksum_after_batch: vector<u8>,
}
struct RetryPolicy has copy, drop, store {
    strategy: u8,
    base_delay_secs: u64,
    max_delay_secs: u64,
}

module lottery_multi::economics
struct SalesDistribution has copy, drop, store {
    prize_bps: u16,
    jackpot_bps: u16,
    operations_bps: u16,
    reserve_bps: u16,
}
struct Accounting has copy, drop, store {
    total_sales: u64,
    total_allocated: u64,
    total_prize_paid: u64,
    total_operations_paid: u64,
    total_operations_allocated: u64,
    jackpot_allowance_token: u64,
}

module lottery_multi::automation
struct AutomationCap has key, store {
    operator: address,
    cron_spec: vector<u8>,
}
struct AutomationState has store {
    allowed_actions: vector<u64>,
    max_failures: u64,
    failure_count: u64,
    success_streak: u64,
    reputation_score: u64,
    timelock_secs: u64,
    pending_action_hash: vector<u8>,
    pending_execute_after: u64,
    expires_at: u64,
    cron_spec: vector<u8>,
    last_action_ts: u64,
    last_action_hash: vector<u8>,
}
struct AutomationRegistry has key {
    bots: vrf_hub::table::Table<address, lottery_multi::automation::AutomationState>,
    dry_run_events: 0x1::event::EventHandle<lottery_multi::history::AutomationDryRunPlannedEvent>,
    call_rejected_events: 0x1::event::EventHandle<lottery_multi::history::AutomationCallRejectedEvent>,
    key_rotated_events: 0x1::event::EventHandle<lottery_multi::history::AutomationKeyRotatedEvent>,
    tick_events: 0x1::event::EventHandle<lottery_multi::history::AutomationTickEvent>,
    error_events: 0x1::event::EventHandle<lottery_multi::history::AutomationErrorEvent>,
}

module lottery_multi::draw
struct DrawState has store {
    vrf_state: lottery_multi::types::VrfState,
    rng_count: u8,
    client_seed: u64,
    last_request_ts: u64,
    snapshot_hash: vector<u8>,
    total_tickets: u64,
    winners_batch_hash: vector<u8>,
    checksum_after_batch: vector<u8>,
    verified_numbers: vector<u256>,
    payload: vector<u8>,
    next_client_seed: u64,
}
struct DrawLedger has key {
    states: 0x1::table::Table<u64, lottery_multi::draw::DrawState>,
    nonce_to_lottery: 0x1::table::Table<u64, u64>,
    requested_events: 0x1::event::EventHandle<lottery_multi::history::VrfRequestedEvent>,
    fulfilled_events: 0x1::event::EventHandle<lottery_multi::history::VrfFulfilledEvent>,
}

module lottery_multi::sales
struct TicketChunk has store {
    lottery_id: u64,
    chunk_seq: u64,
    start_index: u64,
    buyers: vector<address>,
}
struct RateTrack has store {
    window_start: u64,
    purchase_count: u64,
}
struct SalesState has store {
    ticket_price: u64,
    tickets_sold: u64,
    proceeds_accum: u64,
    last_purchase_ts: u64,
    last_purchase_block: u64,
    block_purchase_count: u64,
    next_chunk_seq: u64,
    tickets_per_address: 0x1::table::Table<address, u64>,
    ticket_chunks: 0x1::table::Table<u64, lottery_multi::sales::TicketChunk>,
    rate_track: 0x1::table::Table<address, lottery_multi::sales::RateTrack>,
    distribution: lottery_multi::economics::SalesDistribution,
    accounting: lottery_multi::economics::Accounting,
    refund_active: bool,
    refund_round: u64,
    refund_tickets_processed: u64,
    refund_prize_total: u64,
    refund_operations_total: u64,
    last_refund_ts: u64,
}
struct SalesLedger has key {
    states: 0x1::table::Table<u64, lottery_multi::sales::SalesState>,
    purchase_events: 0x1::event::EventHandle<lottery_multi::sales::TicketPurchaseEvent>,
    rate_limit_events: 0x1::event::EventHandle<lottery_multi::history::PurchaseRateLimitHitEvent>,
}

module lottery_multi::payouts
struct WinnerRecord has copy, drop, store {
    slot_id: u64,
    ticket_index: u64,
    winner: address,
    winner_hash: vector<u8>,
}
struct WinnerChunk has store {
    lottery_id: u64,
    chunk_seq: u64,
    start_ordinal: u64,
    records: vector<lottery_multi::payouts::WinnerRecord>,
}
struct WinnerState has store {
    initialized: bool,
    total_required: u64,
    total_assigned: u64,
    total_tickets: u64,
    snapshot_hash: vector<u8>,
    payload_hash: vector<u8>,
    schema_version: u16,
    attempt: u8,
    random_numbers: vector<u256>,
    winners_batch_hash: vector<u8>,
    cursor: lottery_multi::types::WinnerCursor,
    next_chunk_seq: u64,
    winner_chunks: 0x1::table::Table<u64, lottery_multi::payouts::WinnerChunk>,
    assigned_indices: 0x1::table::Table<u64, bool>,
    payout_round: u64,
    last_payout_ts: u64,
    next_winner_batch_no: u64,
}
struct PayoutLedger has key {
    states: 0x1::table::Table<u64, lottery_multi::payouts::WinnerState>,
    winner_events: 0x1::event::EventHandle<lottery_multi::history::WinnersComputedEvent>,
    payout_events: 0x1::event::EventHandle<lottery_multi::history::PayoutBatchEvent>,
    partner_events: 0x1::event::EventHandle<lottery_multi::history::PartnerPayoutEvent>,
    refund_events: 0x1::event::EventHandle<lottery_multi::history::RefundBatchEvent>,
}

module lottery_multi::price_feed
struct PriceFeedRecord has store {
    asset_id: u64,
    price: u64,
    decimals: u8,
    last_updated_ts: u64,
    staleness_window: u64,
    clamp_threshold_bps: u64,
    fallback_active: bool,
    fallback_reason: u8,
    clamp_active: bool,
}
struct PriceFeedRegistry has key {
    version: u16,
    feeds: 0x1::table::Table<u64, lottery_multi::price_feed::PriceFeedRecord>,
    updates: 0x1::event::EventHandle<lottery_multi::price_feed::PriceFeedUpdatedEvent>,
    fallbacks: 0x1::event::EventHandle<lottery_multi::price_feed::PriceFeedFallbackEvent>,
    clamps: 0x1::event::EventHandle<lottery_multi::price_feed::PriceFeedClampEvent>,
    clamp_clears: 0x1::event::EventHandle<lottery_multi::price_feed::PriceFeedClampClearedEvent>,
}

module lottery_multi::roles
struct PremiumAccessCap has store, drop {
    holder: address,
    expires_at: u64,
    auto_renew: bool,
    referrer: 0x1::option::Option<address>,
}
struct PayoutBatchCap has store, drop {
    holder: address,
    max_batch_size: u64,
    operations_budget_total: u64,
    operations_budget_used: u64,
    cooldown_secs: u64,
    last_batch_at: u64,
    last_nonce: u64,
    nonce_stride: u64,
}
struct PartnerPayoutCap has store, drop {
    partner: address,
    max_total_payout: u64,
    remaining_payout: u64,
    payout_cooldown_secs: u64,
    last_payout_at: u64,
    next_nonce: u64,
    nonce_stride: u64,
    expires_at: u64,
}
struct RoleEvents has store {
    payout_granted: 0x1::event::EventHandle<lottery_multi::roles::PayoutBatchCapGrantedEvent>,
    payout_revoked: 0x1::event::EventHandle<lottery_multi::roles::PayoutBatchCapRevokedEvent>,
    partner_granted: 0x1::event::EventHandle<lottery_multi::roles::PartnerPayoutCapGrantedEvent>,
    partner_revoked: 0x1::event::EventHandle<lottery_multi::roles::PartnerPayoutCapRevokedEvent>,
    premium_granted: 0x1::event::EventHandle<lottery_multi::roles::PremiumAccessGrantedEvent>,
    premium_revoked: 0x1::event::EventHandle<lottery_multi::roles::PremiumAccessRevokedEvent>,
}
struct RoleStore has key {
    payout_batch: 0x1::option::Option<lottery_multi::roles::PayoutBatchCap>,
    partner_caps: 0x1::table::Table<address, lottery_multi::roles::PartnerPayoutCap>,
    partner_index: vector<address>,
    premium_caps: 0x1::table::Table<address, lottery_multi::roles::PremiumAccessCap>,
    premium_index: vector<address>,
    events: lottery_multi::roles::RoleEvents,
}

module lottery_multi::vrf_deposit
struct VrfDepositConfig has store {
    min_balance_multiplier_bps: u64,
    effective_floor: u64,
}
struct VrfDepositStatus has copy, drop, store {
    total_balance: u64,
    minimum_balance: u64,
    effective_balance: u64,
    required_minimum: u64,
    last_update_ts: u64,
    requests_paused: bool,
    paused_since_ts: u64,
}
struct VrfDepositLedger has key {
    config: lottery_multi::vrf_deposit::VrfDepositConfig,
    status: lottery_multi::vrf_deposit::VrfDepositStatus,
    snapshots: 0x1::event::EventHandle<lottery_multi::history::VrfDepositSnapshotEvent>,
    alerts: 0x1::event::EventHandle<lottery_multi::history::VrfDepositAlertEvent>,
    paused_events: 0x1::event::EventHandle<lottery_multi::history::VrfRequestsPausedEvent>,
    resumed_events: 0x1::event::EventHandle<lottery_multi::history::VrfRequestsResumedEvent>,
}

module lottery_multi::history
struct LotterySummary has copy, drop, store {
    id: u64,
    status: u8,
    event_slug: vector<u8>,
    series_code: vector<u8>,
    run_id: u64,
    tickets_sold: u64,
    proceeds_accum: u64,
    total_allocated: u64,
    total_prize_paid: u64,
    total_operations_paid: u64,
    vrf_status: u8,
    primary_type: u8,
    tags_mask: u64,
    snapshot_hash: vector<u8>,
    slots_checksum: vector<u8>,
    winners_batch_hash: vector<u8>,
    checksum_after_batch: vector<u8>,
    payout_round: u64,
    created_at: u64,
    closed_at: u64,
    finalized_at: u64,
}
struct ArchiveLedger has key {
    summaries: 0x1::table::Table<u64, lottery_multi::history::LotterySummary>,
    imported_flags: 0x1::table::Table<u64, bool>,
    ordered_ids: vector<u64>,
    finalized_events: 0x1::event::EventHandle<lottery_multi::history::LotteryFinalizedEvent>,
    import_events: 0x1::event::EventHandle<lottery_multi::history::LegacySummaryImportedEvent>,
    rollback_events: 0x1::event::EventHandle<lottery_multi::history::LegacySummaryRolledBackEvent>,
    classification_events: 0x1::event::EventHandle<lottery_multi::history::LegacySummaryClassificationUpdatedEvent>,
}

module lottery_multi::feature_switch
struct FeatureSwitchAdminCap has key {}
struct FeatureRecord has store {
    mode: u8,
}
struct FeatureSwitchRegistry has key {
    force_enable_devnet: bool,
    entries: 0x1::table::Table<u64, lottery_multi::feature_switch::FeatureRecord>,
}

module lottery_multi::legacy_bridge
struct DualWriteControl has key {
    enabled: bool,
    abort_on_mismatch: bool,
    abort_on_missing: bool,
    expected_hashes: vrf_hub::table::Table<u64, vector<u8>>,
    started_events: 0x1::event::EventHandle<lottery_multi::legacy_bridge::ArchiveDualWriteStartedEvent>,
    completed_events: 0x1::event::EventHandle<lottery_multi::legacy_bridge::ArchiveDualWriteCompletedEvent>,
}
struct MirrorConfig has key, drop {}

module vrf_hub::table
struct Table<K, V> has store {
    keys: vector<K>,
    values: vector<V>,
}

module 0x1::table
struct Table<K, V> has store {
    handle: address,
}

module 0x1::event
struct EventHandle<T> has store {
    counter: u64,
    guid: 0x1::guid::GUID,
}

module 0x1::guid
struct GUID has drop, store {
    id: 0x1::guid::ID,
}
struct ID has copy, drop, store {
    creation_num: u64,
    addr: address,
}

module 0x1::option
struct Option<Element> has copy, drop, store {
    vec: vector<Element>,
}
"""

RESOURCE_PLACES: Mapping[str, tuple[str, str]] = {
    "lottery_registry::Registry": ("@lottery_multi", "lottery_registry::init_registry"),
    "automation::AutomationCap": (
        "each registered operator's account",
        "automation::register_bot",
    ),
    "automation::AutomationRegistry": ("@lottery_multi", "automation::init_automation"),
    "draw::DrawLedger": ("@lottery_multi", "draw::init_draw"),
    "sales::SalesLedger": ("@lottery_multi", "sales::init_sales"),
    "payouts::PayoutLedger": ("@lottery_multi", "payouts::init_payouts"),
    "price_feed::PriceFeedRegistry": ("@lottery_multi", "price_feed::init_price_feed"),
    "roles::RoleStore": ("@lottery_multi", "roles::init_roles"),
    "vrf_deposit::VrfDepositLedger": ("@lottery_multi", "vrf_deposit::init_vrf_deposit"),
    "history::ArchiveLedger": ("@lottery_multi", "history::init_history"),
    "feature_switch::FeatureSwitchAdminCap": (
        "@lottery_multi",
        "feature_switch::init_feature_switch",
    ),
    "feature_switch::FeatureSwitchRegistry": (
        "@lottery_multi",
        "feature_switch::init_feature_switch",
    ),
    "legacy_bridge::DualWriteControl": ("@lottery_multi", "legacy_bridge::init_dual_write"),
    "legacy_bridge::MirrorConfig": ("@lottery_multi", "legacy_bridge::enable_legacy_mirror"),
}
"""Where each ``key`` struct of the package is stored, and the function that ``move_to``s it."""
