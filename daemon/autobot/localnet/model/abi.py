"""Signatures of the entry and view functions the localnet's package model implements.

The node decodes a transaction's BCS arguments with these tables (one Move type string per
parameter, in order) and refuses a call whose function is not listed or whose signer count
differs. ``&signer`` parameters are not in ``params``; ``signers`` counts them (admin first, then
the operator for the multi-agent ``register_bot``/``rotate_bot``; the buyer for the purchase
entries; zero for ``vrf_callback``, which the localnet's oracle submits as a system transaction).

Move type strings used: ``u8 u16 u64 u128 bool address vector<u8> vector<u64>
0x1::option::Option<u64> 0x1::option::Option<address>``. Parameter names follow the package's source so that error messages
and docs can name them.

Views are the readers the model answers: ``history::is_legacy_summary``, the one function the
published package marks ``#[view]`` (``VIEW_ATTRIBUTE``), and the package's plain ``public fun``
readers, which a node executes through ``POST /rpc/v3/view`` only for a package redeployed with
``#[view]`` on them (the localnet's ``--views patched``, see ``localnet.view_mode``); ``returns``
describes the result for documentation only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ENTRY_FUNCTIONS",
    "MOVE_TYPES",
    "VIEW_ATTRIBUTE",
    "VIEW_FUNCTIONS",
    "EntrySignature",
    "Param",
    "ViewSignature",
]

U8 = "u8"
U16 = "u16"
U64 = "u64"
U128 = "u128"
BOOL = "bool"
ADDRESS = "address"
BYTES = "vector<u8>"
VEC_U64 = "vector<u64>"
OPT_U64 = "0x1::option::Option<u64>"
OPT_ADDRESS = "0x1::option::Option<address>"

MOVE_TYPES: frozenset[str] = frozenset(
    {U8, U16, U64, U128, BOOL, ADDRESS, BYTES, VEC_U64, OPT_U64, OPT_ADDRESS}
)
"""Every Move type string a parameter may have."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One non-signer parameter: its source name and Move type string."""

    name: str
    type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EntrySignature:
    """An entry function: how many signers it takes and its other parameters in order."""

    module: str
    function: str
    signers: int
    params: tuple[Param, ...]

    @property
    def param_types(self) -> tuple[str, ...]:
        return tuple(p.type for p in self.params)


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewSignature:
    """A view function: its parameters in order and a description of what it returns."""

    module: str
    function: str
    params: tuple[Param, ...]
    returns: str

    @property
    def param_types(self) -> tuple[str, ...]:
        return tuple(p.type for p in self.params)


def _params(spec: str) -> tuple[Param, ...]:
    """``"lottery_id:u64 now_ts:u64"`` → params; types never contain spaces."""
    out: list[Param] = []
    for item in spec.split():
        name, _, type_ = item.partition(":")
        if type_ not in MOVE_TYPES:
            raise ValueError(f"unknown Move type {type_!r} for {name}")
        out.append(Param(name=name, type=type_))
    return tuple(out)


_ENTRY: tuple[tuple[str, str, int, str], ...] = (
    # automation (§1.3)
    ("automation", "init_automation", 1, ""),
    (
        "automation",
        "register_bot",
        2,
        f"cron_spec:{BYTES} allowed_actions:{VEC_U64} timelock_secs:u64 max_failures:u64 expires_at:u64",
    ),
    (
        "automation",
        "rotate_bot",
        2,
        f"cron_spec:{BYTES} allowed_actions:{VEC_U64} timelock_secs:u64 max_failures:u64 expires_at:u64",
    ),
    (
        "automation",
        "announce_dry_run",
        1,
        f"action_id:u64 action_hash:{BYTES} now_ts:u64 executes_after_ts:u64",
    ),
    ("automation", "record_success", 1, f"action_id:u64 action_hash:{BYTES} now_ts:u64"),
    (
        "automation",
        "record_failure",
        1,
        f"action_id:u64 action_hash:{BYTES} now_ts:u64 error_code:u64",
    ),
    (
        "automation",
        "report_call_rejected",
        1,
        f"action_id:u64 action_hash:{BYTES} reason_code:u64",
    ),
    # lottery registry (§2.1)
    ("lottery_registry", "advance_status", 1, "id:u64 next_status:u8"),
    # sales (§2.1): the buyer signs
    (
        "sales",
        "purchase_tickets_public",
        1,
        "lottery_id:u64 quantity:u64 now_ts:u64 current_block:u64",
    ),
    (
        "sales",
        "purchase_tickets_premium",
        1,
        "lottery_id:u64 quantity:u64 now_ts:u64 current_block:u64",
    ),
    # draw (§2.3, §2.4)
    ("draw", "init_draw", 1, ""),
    (
        "draw",
        "request_draw_admin",
        1,
        "lottery_id:u64 now_ts:u64 closing_block_height:u64 chain_id:u8 num_confirmations:u64",
    ),
    ("draw", "schedule_manual_retry_admin", 1, "lottery_id:u64 now_ts:u64 retry_after_ts:u64"),
    (
        "draw",
        "vrf_callback",
        0,
        f"nonce:u64 message:{BYTES} signature:{BYTES} caller_address:address rng_count:u8 client_seed:u64",
    ),
    # payouts (§2.5, §4, §5.1)
    ("payouts", "init_payouts", 1, ""),
    ("payouts", "compute_winners_admin", 1, "lottery_id:u64 batch_limit:u64"),
    (
        "payouts",
        "force_refund_batch_admin",
        1,
        "lottery_id:u64 refund_round:u64 tickets_refunded:u64 prize_refund:u64 "
        "operations_refund:u64 timestamp:u64",
    ),
    ("payouts", "archive_canceled_lottery_admin", 1, "lottery_id:u64 finalized_at:u64"),
    (
        "payouts",
        "record_payout_batch_admin",
        1,
        "lottery_id:u64 payout_round:u64 winners_paid:u64 prize_paid:u64 operations_paid:u64 "
        "timestamp:u64",
    ),
    (
        "payouts",
        "record_partner_payout_admin",
        1,
        "lottery_id:u64 partner:address amount:u64 payout_round:u64 timestamp:u64",
    ),
    ("payouts", "finalize_lottery_admin", 1, "lottery_id:u64 finalized_at:u64"),
    # cancellation (§4)
    ("cancellation", "cancel_lottery_admin", 1, "id:u64 reason_code:u8 now_ts:u64"),
    # price feed (§3)
    ("price_feed", "init_price_feed", 1, "version:u16"),
    (
        "price_feed",
        "register_feed",
        1,
        f"asset_id:u64 price:u64 decimals:u8 staleness_window:{OPT_U64} "
        f"clamp_threshold_bps:{OPT_U64} updated_ts:u64",
    ),
    ("price_feed", "update_price", 1, "asset_id:u64 price:u64 updated_ts:u64"),
    ("price_feed", "set_fallback", 1, "asset_id:u64 active:bool reason:u8"),
    ("price_feed", "clear_clamp", 1, "asset_id:u64 cleared_ts:u64"),
    # roles (§5.2)
    ("roles", "init_roles", 1, ""),
    (
        "roles",
        "set_payout_batch_cap_admin",
        1,
        "holder:address max_batch_size:u64 operations_budget_total:u64 cooldown_secs:u64 "
        "nonce_stride:u64",
    ),
    ("roles", "revoke_payout_batch_cap_admin", 1, ""),
    (
        "roles",
        "upsert_partner_payout_cap_admin",
        1,
        "partner:address max_total_payout:u64 payout_cooldown_secs:u64 nonce_stride:u64 "
        "expires_at:u64",
    ),
    ("roles", "revoke_partner_payout_cap_admin", 1, "partner:address"),
    (
        "roles",
        "grant_premium_access_admin",
        1,
        f"holder:address expires_at:u64 auto_renew:bool referrer:{OPT_ADDRESS}",
    ),
    ("roles", "revoke_premium_access_admin", 1, "holder:address"),
    ("roles", "cleanup_expired_admin", 1, "now_sec:u64"),
    # history and legacy_bridge (§4: the summary write and its dual-write control)
    ("history", "mirror_summary_admin", 1, "lottery_id:u64"),
    ("legacy_bridge", "init_dual_write", 1, "abort_on_mismatch:bool abort_on_missing:bool"),
    ("legacy_bridge", "enable_legacy_mirror", 1, ""),
    ("legacy_bridge", "disable_legacy_mirror", 1, ""),
    (
        "legacy_bridge",
        "update_flags",
        1,
        "enabled:bool abort_on_mismatch:bool abort_on_missing:bool",
    ),
    ("legacy_bridge", "set_expected_hash", 1, f"lottery_id:u64 expected_hash:{BYTES}"),
    ("legacy_bridge", "clear_expected_hash", 1, "lottery_id:u64"),
    # vrf deposit (§2.7)
    ("vrf_deposit", "init_vrf_deposit", 1, "min_balance_multiplier_bps:u64 effective_floor:u64"),
    ("vrf_deposit", "update_config", 1, "min_balance_multiplier_bps:u64 effective_floor:u64"),
    (
        "vrf_deposit",
        "record_snapshot_admin",
        1,
        "total_balance:u64 minimum_balance:u64 effective_balance:u64 timestamp:u64",
    ),
    ("vrf_deposit", "resume_requests", 1, "timestamp:u64"),
    # feature switch (§2.1)
    ("feature_switch", "set_mode", 1, "feature_id:u64 mode:u8"),
)

_VIEW: tuple[tuple[str, str, str, str], ...] = (
    ("views", "status_overview", "now_ts:u64", "StatusOverview"),
    ("views", "list_automation_bots", "", "vector<AutomationBotView>"),
    ("views", "get_automation_bot", "operator:address", "Option<AutomationBotView>"),
    ("views", "get_refund_progress", "id:u64", "RefundProgressView"),
    ("views", "get_cancellation", "id:u64", "Option<CancellationRecord>"),
    ("views", "get_vrf_deposit_status", "", "VrfDepositStatusView"),
    ("views", "get_lottery_status", "id:u64", "LotteryStatusView"),
    ("views", "get_lottery", "id:u64", "Config"),
    ("views", "accounting_snapshot", "id:u64", "Accounting"),
    ("views", "get_lottery_summary", "id:u64", "LotterySummary"),
    ("views", "get_lottery_badges", "id:u64", "(u8, u64)"),
    ("views", "list_active", "from:u64 limit:u64", "vector<u64>"),
    ("views", "list_by_primary_type", "primary_type:u8 from:u64 limit:u64", "vector<u64>"),
    ("views", "list_by_tag_mask", "tag_mask:u64 from:u64 limit:u64", "vector<u64>"),
    ("views", "list_by_all_tags", "tag_mask:u64 from:u64 limit:u64", "vector<u64>"),
    ("views", "list_finalized_ids", "from:u64 limit:u64", "vector<u64>"),
    ("history", "is_legacy_summary", "lottery_id:u64", "bool"),
    ("draw", "vrf_state_view", "lottery_id:u64", "VrfStateView"),
    ("draw", "finalization_snapshot", "lottery_id:u64", "FinalizationSnapshot"),
    ("draw", "has_state", "lottery_id:u64", "bool"),
    ("payouts", "winner_progress", "lottery_id:u64", "WinnerProgressView"),
    ("price_feed", "get_price_view", "asset_id:u64", "PriceFeedView"),
    ("roles", "payout_batch_cap_view", "", "Option<PayoutBatchCap>"),
    ("roles", "has_payout_batch_cap", "", "bool"),
    ("roles", "list_partner_caps", "", "vector<PartnerCapInfo>"),
    ("roles", "list_premium_caps", "", "vector<PremiumCapInfo>"),
    ("roles", "partner_payout_cap_view", "partner:address", "Option<PartnerPayoutCap>"),
    ("roles", "premium_cap_view", "holder:address", "Option<PremiumAccessCap>"),
    ("roles", "has_partner_payout_cap", "partner:address", "bool"),
    ("roles", "has_premium_cap", "holder:address", "bool"),
    ("legacy_bridge", "pending_expected_hashes", "", "vector<u64>"),
    ("legacy_bridge", "dual_write_status", "lottery_id:u64", "DualWriteStatus"),
    ("legacy_bridge", "dual_write_flags", "", "DualWriteStatus"),
    ("legacy_bridge", "has_expected_hash", "lottery_id:u64", "bool"),
    ("legacy_bridge", "is_enabled", "", "bool"),
    ("legacy_bridge", "is_mirror_enabled", "", "bool"),
    ("automation", "automation_status_option", "operator:address", "Option<AutomationBotStatus>"),
    ("automation", "automation_operators", "", "vector<address>"),
    ("feature_switch", "is_initialized", "", "bool"),
    ("feature_switch", "is_enabled", "feature_id:u64 has_premium:bool", "bool"),
)

ENTRY_FUNCTIONS: Mapping[tuple[str, str], EntrySignature] = MappingProxyType(
    {
        (module, function): EntrySignature(
            module=module, function=function, signers=signers, params=_params(spec)
        )
        for module, function, signers, spec in _ENTRY
    }
)
"""(module, function) → entry signature, for every entry function the model executes."""

VIEW_FUNCTIONS: Mapping[tuple[str, str], ViewSignature] = MappingProxyType(
    {
        (module, function): ViewSignature(
            module=module, function=function, params=_params(spec), returns=returns
        )
        for module, function, spec, returns in _VIEW
    }
)
"""(module, function) → view signature, for every view the model answers."""

VIEW_ATTRIBUTE: frozenset[tuple[str, str]] = frozenset({("history", "is_legacy_summary")})
"""The functions the published package (pinned commit) marks ``#[view]``: the only ones a node
executes through ``POST /rpc/v3/view``."""
