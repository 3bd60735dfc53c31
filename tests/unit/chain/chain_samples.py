"""Node-JSON samples of every view autobot reads, written from the spec (docs/package.md §6).

Shapes as a node prints them: u8/u16 as JSON numbers, u64/u128 as decimal strings, ``Option`` as
``{"vec": [...]}``, ``vector<u8>`` and addresses as ``0x`` hex. Imported as a plain module by the
tests of this folder (unique name across the test tree).
"""

from __future__ import annotations

import copy
from typing import Any

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"
OPERATOR = "0x" + "a1" * 32
HASH32 = "0x" + "ab" * 32

OVERVIEW: dict[str, Any] = {
    "total": "5",
    "draft": "0",
    "active": "1",
    "closing": "1",
    "draw_requested": "1",
    "drawn": "0",
    "payout": "0",
    "finalized": "1",
    "canceled": "1",
    "vrf_requested": "2",
    "vrf_fulfilled_pending": "0",
    "vrf_retry_blocked": "1",
    "winners_pending": "0",
    "payout_backlog": "0",
    "refund_active": "1",
    "refund_batch_pending": "7",
    "refund_sla_breach": False,
}

BOT: dict[str, Any] = {
    "operator": OPERATOR,
    "allowed_actions": ["1", "2", "6"],
    "timelock_secs": "900",
    "max_failures": "3",
    "failure_count": "1",
    "success_streak": "0",
    "reputation_score": "4",
    "has_pending": True,
    "pending_execute_after": "1700000900",
    "pending_action_hash": HASH32,
    "expires_at": "1800000000",
    "cron_spec": "0x2a2f35",
    "last_action_ts": "1699999000",
    "last_action_hash": "0x",
}

REFUND: dict[str, Any] = {
    "active": True,
    "refund_round": "1",
    "tickets_refunded": "3",
    "prize_refunded": "240",
    "operations_refunded": "60",
    "last_refund_ts": "1700000100",
    "tickets_sold": "10",
    "proceeds_accum": "1000",
}

CANCELLATION: dict[str, Any] = {
    "vec": [
        {
            "reason_code": 1,
            "canceled_ts": "1700000000",
            "previous_status": 3,
            "tickets_sold": "10",
            "proceeds_accum": "1000",
        }
    ]
}

DEPOSIT: dict[str, Any] = {
    "total_balance": "5000",
    "minimum_balance": "1000",
    "effective_balance": "4000",
    "required_minimum": "1500",
    "last_update_ts": "1700000000",
    "requests_paused": False,
    "paused_since_ts": "0",
}

STATUS: dict[str, Any] = {
    "status": 1,
    "snapshot_frozen": False,
    "primary_type": 0,
    "tags_mask": "0",
}

CONFIG: dict[str, Any] = {
    "event_slug": "0x64656d6f",
    "series_code": "0x",
    "run_id": "1",
    "config_version": "1",
    "primary_type": 0,
    "tags_mask": "0",
    "sales_window": {"sales_start": "1699990000", "sales_end": "1700000000"},
    "ticket_price": "100",
    "ticket_limits": {"max_tickets_total": "1000", "max_tickets_per_address": "10"},
    "sales_distribution": {
        "prize_bps": 7000,
        "jackpot_bps": 1000,
        "operations_bps": 1500,
        "reserve_bps": 500,
    },
    "prize_plan": [
        {"slot_id": "0", "winners_per_slot": 1, "reward_type": 0, "reward_payload": "0x"},
        {"slot_id": "1", "winners_per_slot": 3, "reward_type": 0, "reward_payload": "0x01"},
    ],
    "winners_dedup": True,
    "draw_algo": 0,
    "auto_close_policy": {"enabled": True, "grace_period_secs": "60"},
    "reward_backend": {"backend_type": 0, "config_blob": "0x"},
    "vrf_retry_policy": {"strategy": 1, "base_delay_secs": "300", "max_delay_secs": "1800"},
}

ACCOUNTING: dict[str, Any] = {
    "total_sales": "1000",
    "total_allocated": "750",
    "total_prize_paid": "0",
    "total_operations_paid": "0",
    "total_operations_allocated": "150",
    "jackpot_allowance_token": "0",
}

VRF: dict[str, Any] = {
    "status": 1,
    "attempt": 1,
    "consumed": False,
    "retry_after_ts": "1700000600",
    "retry_strategy": 1,
    "last_request_ts": "1700000300",
    "request_id": "42",
}

WINNERS: dict[str, Any] = {
    "initialized": True,
    "total_required": "4",
    "total_assigned": "1",
    "payout_round": "0",
    "next_winner_batch_no": "1",
    "last_payout_ts": "0",
}

FEED: dict[str, Any] = {
    "asset_id": "1",
    "price": "123456789",
    "decimals": 8,
    "last_updated_ts": "1700000000",
    "staleness_window": "300",
    "clamp_threshold_bps": "2000",
    "fallback_active": False,
    "fallback_reason": 0,
    "clamp_active": True,
}

CAP: dict[str, Any] = {
    "vec": [
        {
            "holder": PACKAGE,
            "max_batch_size": "50",
            "operations_budget_total": "1000",
            "operations_budget_used": "100",
            "cooldown_secs": "60",
            "last_batch_at": "1700000000",
            "last_nonce": "2",
            "nonce_stride": "0",
        }
    ]
}

VIEWS: dict[tuple[str, str], Any] = {
    ("views", "status_overview"): OVERVIEW,
    ("views", "list_automation_bots"): [BOT],
    ("views", "get_automation_bot"): {"vec": [BOT]},
    ("views", "get_refund_progress"): REFUND,
    ("views", "get_cancellation"): CANCELLATION,
    ("views", "get_vrf_deposit_status"): DEPOSIT,
    ("views", "get_lottery_status"): STATUS,
    ("views", "get_lottery"): CONFIG,
    ("views", "accounting_snapshot"): ACCOUNTING,
    ("views", "list_active"): ["3", "1"],
    ("draw", "vrf_state_view"): VRF,
    ("payouts", "winner_progress"): WINNERS,
    ("price_feed", "get_price_view"): FEED,
    ("roles", "payout_batch_cap_view"): CAP,
    ("feature_switch", "is_enabled"): True,  # every id: force_enable_devnet
}


def view(module: str, function: str) -> Any:
    """A fresh copy of the sample result of ``module::function``."""
    return copy.deepcopy(VIEWS[(module, function)])
