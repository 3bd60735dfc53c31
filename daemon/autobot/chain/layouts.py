"""The Move layouts of the package's storage that autobot reads (docs/package.md §6a).

Every struct a storage read decodes, as the package declares it at the pinned commit: fields in
declaration order (the order of its BCS), each with its Move type. Types are written short: a
package struct as ``module::Struct``, the framework's ``0x1::table::Table<K, V>`` as
``Table<K, V>`` (a native table: only its handle is stored), ``0x1::event::EventHandle<E>`` as
``EventHandle<module::Event>``, ``0x1::option::Option<T>`` as ``Option<T>``, and the workspace's
own ``vrf_hub::table::Table<K, V>`` (two parallel vectors stored inside the resource) as
``HubTable<K, V>``. ``tests/unit/chain/test_chain_layouts.py`` keeps this table equal, struct by
struct, to the layouts vendored in ``tests/data/lottery_multi_layouts.json`` (read from the Move
sources independently, for the localnet).

``parse_type`` turns a type string into a ``MoveType``; ``fields(struct)`` gives a struct's parsed
fields. Nothing here does I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "NATIVE_TABLES",
    "RESOURCES",
    "STRUCTS",
    "TABLE_KEYS",
    "MoveType",
    "event_handles",
    "fields",
    "parse_type",
]

STRUCTS: Mapping[str, tuple[tuple[str, str], ...]] = {
    # -- lottery_registry, types, economics ------------------------------------------------
    "lottery_registry::Registry": (
        ("lotteries", "Table<u64, lottery_registry::Lottery>"),
        ("ordered_ids", "vector<u64>"),
        ("created_events", "EventHandle<history::LotteryCreatedEvent>"),
        ("canceled_events", "EventHandle<history::LotteryCanceledEvent>"),
        ("cancellations", "Table<u64, lottery_registry::CancellationRecord>"),
    ),
    "lottery_registry::Lottery": (
        ("id", "u64"),
        ("config", "lottery_registry::Config"),
        ("status", "u8"),
        ("snapshot_frozen", "bool"),
        ("slots_checksum", "vector<u8>"),
    ),
    "lottery_registry::Config": (
        ("event_slug", "vector<u8>"),
        ("series_code", "vector<u8>"),
        ("run_id", "u64"),
        ("config_version", "u64"),
        ("primary_type", "u8"),
        ("tags_mask", "u64"),
        ("sales_window", "types::SalesWindow"),
        ("ticket_price", "u64"),
        ("ticket_limits", "types::TicketLimits"),
        ("sales_distribution", "economics::SalesDistribution"),
        ("prize_plan", "vector<types::PrizeSlot>"),
        ("winners_dedup", "bool"),
        ("draw_algo", "u8"),
        ("auto_close_policy", "types::AutoClosePolicy"),
        ("reward_backend", "types::RewardBackend"),
        ("vrf_retry_policy", "types::RetryPolicy"),
    ),
    "lottery_registry::CancellationRecord": (
        ("reason_code", "u8"),
        ("canceled_ts", "u64"),
        ("previous_status", "u8"),
        ("tickets_sold", "u64"),
        ("proceeds_accum", "u64"),
    ),
    "types::SalesWindow": (("sales_start", "u64"), ("sales_end", "u64")),
    "types::TicketLimits": (("max_tickets_total", "u64"), ("max_tickets_per_address", "u64")),
    "types::AutoClosePolicy": (("enabled", "bool"), ("grace_period_secs", "u64")),
    "types::PrizeSlot": (
        ("slot_id", "u64"),
        ("winners_per_slot", "u16"),
        ("reward_type", "u8"),
        ("reward_payload", "vector<u8>"),
    ),
    "types::RewardBackend": (("backend_type", "u8"), ("config_blob", "vector<u8>")),
    "types::RetryPolicy": (
        ("strategy", "u8"),
        ("base_delay_secs", "u64"),
        ("max_delay_secs", "u64"),
    ),
    "types::VrfState": (
        ("request_id", "u64"),
        ("payload_hash", "vector<u8>"),
        ("schema_version", "u16"),
        ("attempt", "u8"),
        ("consumed", "bool"),
        ("retry_after_ts", "u64"),
        ("retry_strategy", "u8"),
        ("closing_block_height", "u64"),
        ("chain_id", "u8"),
        ("status", "u8"),
    ),
    "types::WinnerCursor": (
        ("last_processed_index", "u64"),
        ("checksum_after_batch", "vector<u8>"),
    ),
    "economics::SalesDistribution": (
        ("prize_bps", "u16"),
        ("jackpot_bps", "u16"),
        ("operations_bps", "u16"),
        ("reserve_bps", "u16"),
    ),
    "economics::Accounting": (
        ("total_sales", "u64"),
        ("total_allocated", "u64"),
        ("total_prize_paid", "u64"),
        ("total_operations_paid", "u64"),
        ("total_operations_allocated", "u64"),
        ("jackpot_allowance_token", "u64"),
    ),
    # -- automation ---------------------------------------------------------------------------
    "automation::AutomationRegistry": (
        ("bots", "HubTable<address, automation::AutomationState>"),
        ("dry_run_events", "EventHandle<history::AutomationDryRunPlannedEvent>"),
        ("call_rejected_events", "EventHandle<history::AutomationCallRejectedEvent>"),
        ("key_rotated_events", "EventHandle<history::AutomationKeyRotatedEvent>"),
        ("tick_events", "EventHandle<history::AutomationTickEvent>"),
        ("error_events", "EventHandle<history::AutomationErrorEvent>"),
    ),
    "automation::AutomationState": (
        ("allowed_actions", "vector<u64>"),
        ("max_failures", "u64"),
        ("failure_count", "u64"),
        ("success_streak", "u64"),
        ("reputation_score", "u64"),
        ("timelock_secs", "u64"),
        ("pending_action_hash", "vector<u8>"),
        ("pending_execute_after", "u64"),
        ("expires_at", "u64"),
        ("cron_spec", "vector<u8>"),
        ("last_action_ts", "u64"),
        ("last_action_hash", "vector<u8>"),
    ),
    # -- draw -----------------------------------------------------------------------------------
    "draw::DrawLedger": (
        ("states", "Table<u64, draw::DrawState>"),
        ("nonce_to_lottery", "Table<u64, u64>"),
        ("requested_events", "EventHandle<history::VrfRequestedEvent>"),
        ("fulfilled_events", "EventHandle<history::VrfFulfilledEvent>"),
    ),
    "draw::DrawState": (
        ("vrf_state", "types::VrfState"),
        ("rng_count", "u8"),
        ("client_seed", "u64"),
        ("last_request_ts", "u64"),
        ("snapshot_hash", "vector<u8>"),
        ("total_tickets", "u64"),
        ("winners_batch_hash", "vector<u8>"),
        ("checksum_after_batch", "vector<u8>"),
        ("verified_numbers", "vector<u256>"),
        ("payload", "vector<u8>"),
        ("next_client_seed", "u64"),
    ),
    # -- sales ----------------------------------------------------------------------------------
    "sales::SalesLedger": (
        ("states", "Table<u64, sales::SalesState>"),
        ("purchase_events", "EventHandle<sales::TicketPurchaseEvent>"),
        ("rate_limit_events", "EventHandle<history::PurchaseRateLimitHitEvent>"),
    ),
    "sales::SalesState": (
        ("ticket_price", "u64"),
        ("tickets_sold", "u64"),
        ("proceeds_accum", "u64"),
        ("last_purchase_ts", "u64"),
        ("last_purchase_block", "u64"),
        ("block_purchase_count", "u64"),
        ("next_chunk_seq", "u64"),
        ("tickets_per_address", "Table<address, u64>"),
        ("ticket_chunks", "Table<u64, sales::TicketChunk>"),
        ("rate_track", "Table<address, sales::RateTrack>"),
        ("distribution", "economics::SalesDistribution"),
        ("accounting", "economics::Accounting"),
        ("refund_active", "bool"),
        ("refund_round", "u64"),
        ("refund_tickets_processed", "u64"),
        ("refund_prize_total", "u64"),
        ("refund_operations_total", "u64"),
        ("last_refund_ts", "u64"),
    ),
    # -- payouts --------------------------------------------------------------------------------
    "payouts::PayoutLedger": (
        ("states", "Table<u64, payouts::WinnerState>"),
        ("winner_events", "EventHandle<history::WinnersComputedEvent>"),
        ("payout_events", "EventHandle<history::PayoutBatchEvent>"),
        ("partner_events", "EventHandle<history::PartnerPayoutEvent>"),
        ("refund_events", "EventHandle<history::RefundBatchEvent>"),
    ),
    "payouts::WinnerState": (
        ("initialized", "bool"),
        ("total_required", "u64"),
        ("total_assigned", "u64"),
        ("total_tickets", "u64"),
        ("snapshot_hash", "vector<u8>"),
        ("payload_hash", "vector<u8>"),
        ("schema_version", "u16"),
        ("attempt", "u8"),
        ("random_numbers", "vector<u256>"),
        ("winners_batch_hash", "vector<u8>"),
        ("cursor", "types::WinnerCursor"),
        ("next_chunk_seq", "u64"),
        ("winner_chunks", "Table<u64, payouts::WinnerChunk>"),
        ("assigned_indices", "Table<u64, bool>"),
        ("payout_round", "u64"),
        ("last_payout_ts", "u64"),
        ("next_winner_batch_no", "u64"),
    ),
    # -- price_feed -----------------------------------------------------------------------------
    "price_feed::PriceFeedRegistry": (
        ("version", "u16"),
        ("feeds", "Table<u64, price_feed::PriceFeedRecord>"),
        ("updates", "EventHandle<price_feed::PriceFeedUpdatedEvent>"),
        ("fallbacks", "EventHandle<price_feed::PriceFeedFallbackEvent>"),
        ("clamps", "EventHandle<price_feed::PriceFeedClampEvent>"),
        ("clamp_clears", "EventHandle<price_feed::PriceFeedClampClearedEvent>"),
    ),
    "price_feed::PriceFeedRecord": (
        ("asset_id", "u64"),
        ("price", "u64"),
        ("decimals", "u8"),
        ("last_updated_ts", "u64"),
        ("staleness_window", "u64"),
        ("clamp_threshold_bps", "u64"),
        ("fallback_active", "bool"),
        ("fallback_reason", "u8"),
        ("clamp_active", "bool"),
    ),
    # -- roles ----------------------------------------------------------------------------------
    "roles::RoleStore": (
        ("payout_batch", "Option<roles::PayoutBatchCap>"),
        ("partner_caps", "Table<address, roles::PartnerPayoutCap>"),
        ("partner_index", "vector<address>"),
        ("premium_caps", "Table<address, roles::PremiumAccessCap>"),
        ("premium_index", "vector<address>"),
        ("events", "roles::RoleEvents"),
    ),
    "roles::PartnerPayoutCap": (
        ("partner", "address"),
        ("max_total_payout", "u64"),
        ("remaining_payout", "u64"),
        ("payout_cooldown_secs", "u64"),
        ("last_payout_at", "u64"),
        ("next_nonce", "u64"),
        ("nonce_stride", "u64"),
        ("expires_at", "u64"),
    ),
    "roles::PremiumAccessCap": (
        ("holder", "address"),
        ("expires_at", "u64"),
        ("auto_renew", "bool"),
        ("referrer", "Option<address>"),
    ),
    "roles::PayoutBatchCap": (
        ("holder", "address"),
        ("max_batch_size", "u64"),
        ("operations_budget_total", "u64"),
        ("operations_budget_used", "u64"),
        ("cooldown_secs", "u64"),
        ("last_batch_at", "u64"),
        ("last_nonce", "u64"),
        ("nonce_stride", "u64"),
    ),
    "roles::RoleEvents": (
        ("payout_granted", "EventHandle<roles::PayoutBatchCapGrantedEvent>"),
        ("payout_revoked", "EventHandle<roles::PayoutBatchCapRevokedEvent>"),
        ("partner_granted", "EventHandle<roles::PartnerPayoutCapGrantedEvent>"),
        ("partner_revoked", "EventHandle<roles::PartnerPayoutCapRevokedEvent>"),
        ("premium_granted", "EventHandle<roles::PremiumAccessGrantedEvent>"),
        ("premium_revoked", "EventHandle<roles::PremiumAccessRevokedEvent>"),
    ),
    # -- vrf_deposit ----------------------------------------------------------------------------
    "vrf_deposit::VrfDepositLedger": (
        ("config", "vrf_deposit::VrfDepositConfig"),
        ("status", "vrf_deposit::VrfDepositStatus"),
        ("snapshots", "EventHandle<history::VrfDepositSnapshotEvent>"),
        ("alerts", "EventHandle<history::VrfDepositAlertEvent>"),
        ("paused_events", "EventHandle<history::VrfRequestsPausedEvent>"),
        ("resumed_events", "EventHandle<history::VrfRequestsResumedEvent>"),
    ),
    "vrf_deposit::VrfDepositConfig": (
        ("min_balance_multiplier_bps", "u64"),
        ("effective_floor", "u64"),
    ),
    "vrf_deposit::VrfDepositStatus": (
        ("total_balance", "u64"),
        ("minimum_balance", "u64"),
        ("effective_balance", "u64"),
        ("required_minimum", "u64"),
        ("last_update_ts", "u64"),
        ("requests_paused", "bool"),
        ("paused_since_ts", "u64"),
    ),
    # -- feature_switch -------------------------------------------------------------------------
    "feature_switch::FeatureSwitchRegistry": (
        ("force_enable_devnet", "bool"),
        ("entries", "Table<u64, feature_switch::FeatureRecord>"),
    ),
    "feature_switch::FeatureRecord": (("mode", "u8"),),
    # -- legacy_bridge ------------------------------------------------------------------------
    "legacy_bridge::DualWriteControl": (
        ("enabled", "bool"),
        ("abort_on_mismatch", "bool"),
        ("abort_on_missing", "bool"),
        ("expected_hashes", "HubTable<u64, vector<u8>>"),
        ("started_events", "EventHandle<legacy_bridge::ArchiveDualWriteStartedEvent>"),
        ("completed_events", "EventHandle<legacy_bridge::ArchiveDualWriteCompletedEvent>"),
    ),
    # -- history --------------------------------------------------------------------------------
    "history::ArchiveLedger": (
        ("summaries", "Table<u64, history::LotterySummary>"),
        ("imported_flags", "Table<u64, bool>"),
        ("ordered_ids", "vector<u64>"),
        ("finalized_events", "EventHandle<history::LotteryFinalizedEvent>"),
        ("import_events", "EventHandle<history::LegacySummaryImportedEvent>"),
        ("rollback_events", "EventHandle<history::LegacySummaryRolledBackEvent>"),
        ("classification_events", "EventHandle<history::LegacySummaryClassificationUpdatedEvent>"),
    ),
    "history::LotterySummary": (
        ("id", "u64"),
        ("status", "u8"),
        ("event_slug", "vector<u8>"),
        ("series_code", "vector<u8>"),
        ("run_id", "u64"),
        ("tickets_sold", "u64"),
        ("proceeds_accum", "u64"),
        ("total_allocated", "u64"),
        ("total_prize_paid", "u64"),
        ("total_operations_paid", "u64"),
        ("vrf_status", "u8"),
        ("primary_type", "u8"),
        ("tags_mask", "u64"),
        ("snapshot_hash", "vector<u8>"),
        ("slots_checksum", "vector<u8>"),
        ("winners_batch_hash", "vector<u8>"),
        ("checksum_after_batch", "vector<u8>"),
        ("payout_round", "u64"),
        ("created_at", "u64"),
        ("closed_at", "u64"),
        ("finalized_at", "u64"),
    ),
}
"""Every struct autobot decodes, by ``module::Struct``: ``(field, Move type)`` in declaration order."""

RESOURCES: tuple[str, ...] = (
    "lottery_registry::Registry",
    "automation::AutomationRegistry",
    "draw::DrawLedger",
    "sales::SalesLedger",
    "payouts::PayoutLedger",
    "price_feed::PriceFeedRegistry",
    "roles::RoleStore",
    "vrf_deposit::VrfDepositLedger",
    "history::ArchiveLedger",
    "feature_switch::FeatureSwitchRegistry",
    "legacy_bridge::DualWriteControl",
)
"""The resources at the package address autobot reads (each with the ``key`` ability)."""

NATIVE_TABLES: Mapping[str, str] = {
    "lottery_registry::Registry.lotteries": "lottery_registry::Lottery",
    "lottery_registry::Registry.cancellations": "lottery_registry::CancellationRecord",
    "draw::DrawLedger.states": "draw::DrawState",
    "sales::SalesLedger.states": "sales::SalesState",
    "payouts::PayoutLedger.states": "payouts::WinnerState",
    "price_feed::PriceFeedRegistry.feeds": "price_feed::PriceFeedRecord",
    "history::ArchiveLedger.summaries": "history::LotterySummary",
    "feature_switch::FeatureSwitchRegistry.entries": "feature_switch::FeatureRecord",
    "roles::RoleStore.partner_caps": "roles::PartnerPayoutCap",
    "roles::RoleStore.premium_caps": "roles::PremiumAccessCap",
}
"""The native tables autobot reads items of, by ``owner.field`` (keyed by ``u64``, but the
roles' caps by ``address``: ``TABLE_KEYS``)."""

TABLE_KEYS: Mapping[str, str] = {
    "roles::RoleStore.partner_caps": "address",
    "roles::RoleStore.premium_caps": "address",
}
"""The key type of a native table in ``NATIVE_TABLES`` that is not ``u64``."""

_NUMBERS = frozenset({"u8", "u16", "u32", "u64", "u128", "u256"})
_GENERIC = {"vector": 1, "Option": 1, "Table": 2, "HubTable": 2, "EventHandle": 1}


@dataclass(frozen=True, slots=True)
class MoveType:
    """A parsed type: ``kind`` is a primitive (``u8`` … ``u256``, ``bool``, ``address``), a
    generic (``vector``, ``Option``, ``Table``, ``HubTable``, ``EventHandle``) with ``args``, or
    ``struct`` with ``name`` (``module::Struct``, a key of ``STRUCTS``)."""

    kind: str
    args: tuple[MoveType, ...] = ()
    name: str = ""

    @property
    def is_bytes(self) -> bool:
        """``vector<u8>``: hex in JSON, length-prefixed bytes in BCS."""
        return self.kind == "vector" and self.args[0].kind == "u8"

    def __str__(self) -> str:
        if self.kind == "struct":
            return self.name
        if self.args:
            return f"{self.kind}<{', '.join(str(a) for a in self.args)}>"
        return self.kind


@functools.cache
def parse_type(text: str) -> MoveType:
    """A type string of ``STRUCTS`` as a ``MoveType``; ``ValueError`` for anything else."""
    found, rest = _parse(text.replace(" ", ""), opaque=False)
    if rest:
        raise ValueError(f"trailing text in Move type {text!r}: {rest!r}")
    return found


def _parse(text: str, *, opaque: bool) -> tuple[MoveType, str]:
    """One type from the start of ``text``, and the rest; ``opaque``: a type argument of an
    ``EventHandle`` or a native ``Table`` (neither is stored in the resource, so such a struct
    needs no layout here unless autobot reads the table's items)."""
    head = ""
    for i, char in enumerate(text):
        if char in "<>,":
            head, rest = text[:i], text[i:]
            break
    else:
        head, rest = text, ""
    if head in _NUMBERS or head in ("bool", "address"):
        return MoveType(head), rest
    if head in _GENERIC:
        if not rest.startswith("<"):
            raise ValueError(f"{head} needs type arguments")
        args: list[MoveType] = []
        rest = rest[1:]
        while True:
            arg, rest = _parse(rest, opaque=head in ("EventHandle", "Table"))
            args.append(arg)
            if rest.startswith(","):
                rest = rest[1:]
                continue
            if rest.startswith(">"):
                rest = rest[1:]
                break
            raise ValueError(f"unterminated type arguments of {head}")
        if len(args) != _GENERIC[head]:
            raise ValueError(f"{head} takes {_GENERIC[head]} type argument(s), got {len(args)}")
        return MoveType(head, tuple(args)), rest
    if head.count("::") == 1 and all(p.isidentifier() for p in head.split("::")):
        if head not in STRUCTS and not opaque:
            raise ValueError(f"no layout for struct {head}")
        return MoveType("struct", name=head), rest
    raise ValueError(f"not a Move type: {text!r}")


@functools.cache
def fields(struct: str) -> tuple[tuple[str, MoveType], ...]:
    """``struct``'s fields, parsed, in declaration order."""
    return tuple((name, parse_type(type_)) for name, type_ in STRUCTS[struct])


@functools.cache
def event_handles(struct: str) -> tuple[tuple[str, str], ...]:
    """``(field path, event type)`` of every ``EventHandle`` in ``struct`` (nested structs
    included, e.g. ``events.payout_granted`` of ``roles::RoleStore``)."""
    found: list[tuple[str, str]] = []
    for name, type_ in fields(struct):
        if type_.kind == "EventHandle":
            found.append((name, type_.args[0].name))
        elif type_.kind == "struct":
            found.extend((f"{name}.{path}", event) for path, event in event_handles(type_.name))
    return tuple(found)
