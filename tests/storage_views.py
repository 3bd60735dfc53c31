"""The package's readers (docs/package.md §6) computed from its storage, as a pure function.

This is what a client of a node running the published package must do (only
``history::is_legacy_summary`` is a ``#[view]``): read the resources at the package address and
the native table items they point to, and apply each reader's code. Each function below follows
the reader in the Move sources at the pinned commit, aborts included (``StorageAbort`` with the
package's code and module), and returns the reader's ``result`` list in node JSON, so it can be
compared with what ``POST /rpc/v3/view`` answers on a patched package.

It reads through ``storage_readers.StorageReader`` (a resource by ``module::Struct``, a table item
by handle with the key and value types of ``tests/data/lottery_multi_layouts.json``), so the same
code runs in-process (``ModelReader``) or over HTTP (``HttpReader``). The daemon's own storage reader is built against the
same contract (issue 11, section 2); this one keeps the localnet honest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from storage_layouts import VendoredLayouts
from storage_readers import StorageReader

TABLE_ADDRESS = "0x" + "0" * 63 + "1"
TABLE_NOT_FOUND = 0x6507
E_ROLES_NOT_INITIALIZED = 0x1103
E_REGISTRY_MISSING = 0x1202
E_PAGINATION_LIMIT = 0x1501
E_PRICE_FEED_NOT_FOUND = 0x1902
E_FEATURE_UNKNOWN = 0x1401
E_FEATURE_MODE_INVALID = 0x1402
E_HISTORY_MISSING = 0x1B01
REFUND_FIRST_BATCH_SLA_SECS = 43_200
REFUND_FULL_SLA_SECS = 86_400
VRF_REQUESTED, VRF_FULFILLED = 1, 2
STATUS_ACTIVE = 1

type Json = Any


class StorageAbort(Exception):
    def __init__(self, code: int, module: str, *, address: str | None = None) -> None:
        super().__init__(f"abort {code:#x} in {module}")
        self.code, self.module, self.address = code, module, address


class _Tables:
    """Native tables by their vendored owner and field: key and value types, resolved."""

    def __init__(self, package: str) -> None:
        layouts = VendoredLayouts(package)
        self.types: dict[str, tuple[str, str]] = {}
        for t in layouts.data["native_tables"]:
            _, module, name = t["owner"].split("::")
            key = str(layouts.tag(t["key_type"]))
            self.types[f"{module}::{name}.{t['field']}"] = (key, str(layouts.tag(t["value_type"])))


_TABLES: dict[str, _Tables] = {}


def _item(r: StorageReader, path: str, table: Json, key: Json) -> Json | None:
    tables = _TABLES.setdefault(r.package, _Tables(r.package))
    key_type, value_type = tables.types[path]
    return r.item(table["handle"], key_type, value_type, key)


def _u(args: Sequence[object], i: int) -> int:
    value = args[i]
    assert isinstance(value, int) and not isinstance(value, bool)
    return value


def _opt(value: Json | None) -> dict[str, list[Json]]:
    return {"vec": [] if value is None else [value]}


# --- lottery_registry ------------------------------------------------------------------------


def _registry(r: StorageReader) -> Json:
    registry = r.resource("lottery_registry::Registry")
    if registry is None:
        raise StorageAbort(E_REGISTRY_MISSING, "lottery_registry")
    return registry


def _lottery(r: StorageReader, lottery_id: int) -> Json:
    """``table::borrow(&registry.lotteries, id)``."""
    lottery = _item(
        r, "lottery_registry::Registry.lotteries", _registry(r)["lotteries"], str(lottery_id)
    )
    if lottery is None:
        raise StorageAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    return lottery


def _cancellation_record(r: StorageReader, lottery_id: int) -> Json | None:
    registry = _registry(r)
    return _item(
        r, "lottery_registry::Registry.cancellations", registry["cancellations"], str(lottery_id)
    )


# --- per-lottery readers ---------------------------------------------------------------------


def _vrf_state_view(r: StorageReader, lottery_id: int) -> Json:
    ledger = r.resource("draw::DrawLedger")
    state = (
        None
        if ledger is None
        else _item(r, "draw::DrawLedger.states", ledger["states"], str(lottery_id))
    )
    if state is None:
        return {
            "status": 0,
            "attempt": 0,
            "consumed": True,
            "retry_after_ts": "0",
            "retry_strategy": 0,
            "last_request_ts": "0",
            "request_id": "0",
        }
    vrf = state["vrf_state"]
    return {
        "status": vrf["status"],
        "attempt": vrf["attempt"],
        "consumed": vrf["consumed"],
        "retry_after_ts": vrf["retry_after_ts"],
        "retry_strategy": vrf["retry_strategy"],
        "last_request_ts": state["last_request_ts"],
        "request_id": vrf["request_id"],
    }


def _winner_state(r: StorageReader, lottery_id: int) -> Json | None:
    ledger = r.resource("payouts::PayoutLedger")
    if ledger is None:
        return None
    return _item(r, "payouts::PayoutLedger.states", ledger["states"], str(lottery_id))


def _winner_progress(r: StorageReader, lottery_id: int) -> Json:
    w = _winner_state(r, lottery_id)
    names = ("total_required", "total_assigned", "payout_round", "next_winner_batch_no")
    if w is None:
        return {"initialized": False, **dict.fromkeys(names, "0"), "last_payout_ts": "0"}
    return {
        "initialized": w["initialized"],
        **{n: w[n] for n in names},
        "last_payout_ts": w["last_payout_ts"],
    }


def _sales_state(r: StorageReader, lottery_id: int) -> Json | None:
    ledger = r.resource("sales::SalesLedger")
    if ledger is None:
        return None
    return _item(r, "sales::SalesLedger.states", ledger["states"], str(lottery_id))


def _refund_progress(r: StorageReader, lottery_id: int) -> Json:
    s = _sales_state(r, lottery_id)
    if s is None:
        zeros = ("refund_round", "tickets_refunded", "prize_refunded", "operations_refunded")
        return {
            "active": False,
            **dict.fromkeys(zeros, "0"),
            "last_refund_ts": "0",
            "tickets_sold": "0",
            "proceeds_accum": "0",
        }
    return {
        "active": s["refund_active"],
        "refund_round": s["refund_round"],
        "tickets_refunded": s["refund_tickets_processed"],
        "prize_refunded": s["refund_prize_total"],
        "operations_refunded": s["refund_operations_total"],
        "last_refund_ts": s["last_refund_ts"],
        "tickets_sold": s["tickets_sold"],
        "proceeds_accum": s["proceeds_accum"],
    }


# --- views:: ---------------------------------------------------------------------------------


def status_overview(r: StorageReader, args: Sequence[object]) -> list[Json]:
    now_ts = _u(args, 0)
    statuses = ("draft", "active", "closing", "draw_requested", "drawn", "payout", "finalized")
    counts = dict.fromkeys((*statuses, "canceled"), 0)
    c = dict.fromkeys(
        (
            "vrf_requested",
            "vrf_fulfilled_pending",
            "vrf_retry_blocked",
            "winners_pending",
            "payout_backlog",
            "refund_active",
            "refund_batch_pending",
        ),
        0,
    )
    breach = False
    ids = [int(i) for i in _registry(r)["ordered_ids"]]
    for lottery_id in ids:
        status = _lottery(r, lottery_id)["status"]
        counts[(*statuses, "canceled")[status]] += 1
        vrf = _vrf_state_view(r, lottery_id)
        if vrf["status"] == VRF_REQUESTED:
            c["vrf_requested"] += 1
            retry_after = int(vrf["retry_after_ts"])
            if not vrf["consumed"] and retry_after > 0 and retry_after > now_ts:
                c["vrf_retry_blocked"] += 1
        elif vrf["status"] == VRF_FULFILLED and not vrf["consumed"]:
            c["vrf_fulfilled_pending"] += 1
        progress = _winner_progress(r, lottery_id)
        if progress["initialized"]:
            required, assigned = int(progress["total_required"]), int(progress["total_assigned"])
            c["winners_pending"] += required > assigned
            batch, paid = int(progress["next_winner_batch_no"]), int(progress["payout_round"])
            c["payout_backlog"] += batch > paid
        refund = _refund_progress(r, lottery_id)
        if not refund["active"]:
            continue
        c["refund_active"] += 1
        refunded, sold = int(refund["tickets_refunded"]), int(refund["tickets_sold"])
        if refunded < sold:
            c["refund_batch_pending"] += sold - refunded
        if breach:
            continue
        record = _cancellation_record(r, lottery_id)
        if record is None:
            continue
        canceled = int(record["canceled_ts"])
        if int(refund["refund_round"]) == 0:
            breach = now_ts > canceled + REFUND_FIRST_BATCH_SLA_SECS
        elif refunded < sold:
            breach = now_ts > canceled + REFUND_FULL_SLA_SECS
    out: dict[str, Json] = {"total": str(len(ids))}
    out.update({name: str(n) for name, n in counts.items()})
    out.update({name: str(n) for name, n in c.items()})
    out["refund_sla_breach"] = breach
    return [out]


def _operators(r: StorageReader) -> list[str]:
    registry = r.resource("automation::AutomationRegistry")
    return [] if registry is None else list(registry["bots"]["keys"])


def _bot_state(r: StorageReader, operator: str) -> Json | None:
    registry = r.resource("automation::AutomationRegistry")
    if registry is None or operator not in registry["bots"]["keys"]:
        return None
    return registry["bots"]["values"][registry["bots"]["keys"].index(operator)]


_BOT_STATUS = (
    "allowed_actions",
    "timelock_secs",
    "max_failures",
    "failure_count",
    "success_streak",
    "reputation_score",
    "pending_action_hash",
    "pending_execute_after",
    "expires_at",
    "cron_spec",
    "last_action_ts",
    "last_action_hash",
)


def _bot_status(operator: str, state: Json) -> Json:
    return {"operator": operator, **{n: state[n] for n in _BOT_STATUS}}


def _bot_view(operator: str, state: Json) -> Json:
    return {**_bot_status(operator, state), "has_pending": state["pending_action_hash"] != "0x"}


def list_automation_bots(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [[_bot_view(op, _bot_state(r, op)) for op in _operators(r)]]


def get_automation_bot(r: StorageReader, args: Sequence[object]) -> list[Json]:
    operator = str(args[0])
    state = _bot_state(r, operator)
    return [_opt(None if state is None else _bot_view(operator, state))]


def get_refund_progress(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_refund_progress(r, _u(args, 0))]


def get_cancellation(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_opt(_cancellation_record(r, _u(args, 0)))]


def get_vrf_deposit_status(r: StorageReader, args: Sequence[object]) -> list[Json]:
    ledger = r.resource("vrf_deposit::VrfDepositLedger")
    if ledger is None:
        zeros = ("total_balance", "minimum_balance", "effective_balance", "required_minimum")
        return [
            {
                **dict.fromkeys(zeros, "0"),
                "last_update_ts": "0",
                "requests_paused": False,
                "paused_since_ts": "0",
            }
        ]
    return [dict(ledger["status"])]


def get_lottery_status(r: StorageReader, args: Sequence[object]) -> list[Json]:
    lottery = _lottery(r, _u(args, 0))
    return [
        {
            "status": lottery["status"],
            "snapshot_frozen": lottery["snapshot_frozen"],
            "primary_type": lottery["config"]["primary_type"],
            "tags_mask": lottery["config"]["tags_mask"],
        }
    ]


def get_lottery(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_lottery(r, _u(args, 0))["config"]]


def get_lottery_badges(r: StorageReader, args: Sequence[object]) -> list[Json]:
    config = _lottery(r, _u(args, 0))["config"]
    return [config["primary_type"], config["tags_mask"]]


def accounting_snapshot(r: StorageReader, args: Sequence[object]) -> list[Json]:
    s = _sales_state(r, _u(args, 0))
    if s is None:
        raise StorageAbort(E_REGISTRY_MISSING, "sales")
    return [s["accounting"]]


def _archive(r: StorageReader) -> Json:
    ledger = r.resource("history::ArchiveLedger")
    if ledger is None:
        raise StorageAbort(E_HISTORY_MISSING, "history")
    return ledger


def get_lottery_summary(r: StorageReader, args: Sequence[object]) -> list[Json]:
    lottery_id = _u(args, 0)
    summary = _item(
        r, "history::ArchiveLedger.summaries", _archive(r)["summaries"], str(lottery_id)
    )
    if summary is None:
        raise StorageAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    return [summary]


def _listing(
    r: StorageReader, args: Sequence[object], offset: int, keep: Callable[[Json], bool]
) -> list[Json]:
    start, limit = _u(args, offset), _u(args, offset + 1)
    if limit > 1000:
        raise StorageAbort(E_PAGINATION_LIMIT, "views")
    out: list[str] = []
    skipped = 0
    for raw in reversed(_registry(r)["ordered_ids"]):
        if not keep(_lottery(r, int(raw))):
            continue
        if skipped < start:
            skipped += 1
            continue
        if len(out) >= limit:
            break
        out.append(raw)
    return [out]


def list_active(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return _listing(r, args, 0, lambda lot: lot["status"] == STATUS_ACTIVE)


def list_by_primary_type(r: StorageReader, args: Sequence[object]) -> list[Json]:
    wanted = _u(args, 0)
    return _listing(r, args, 1, lambda lot: lot["config"]["primary_type"] == wanted)


def list_by_tag_mask(r: StorageReader, args: Sequence[object]) -> list[Json]:
    mask = _u(args, 0)
    return _listing(r, args, 1, lambda lot: int(lot["config"]["tags_mask"]) & mask != 0)


def list_by_all_tags(r: StorageReader, args: Sequence[object]) -> list[Json]:
    mask = _u(args, 0)
    return _listing(r, args, 1, lambda lot: int(lot["config"]["tags_mask"]) & mask == mask)


def list_finalized_ids(r: StorageReader, args: Sequence[object]) -> list[Json]:
    start, limit = _u(args, 0), _u(args, 1)
    if limit > 1000:
        raise StorageAbort(E_PAGINATION_LIMIT, "history")
    ids = list(reversed(_archive(r)["ordered_ids"]))
    return [ids[start : start + limit]]


def is_legacy_summary(r: StorageReader, args: Sequence[object]) -> list[Json]:
    lottery_id = _u(args, 0)
    ledger = _archive(r)
    flag = _item(
        r, "history::ArchiveLedger.imported_flags", ledger["imported_flags"], str(lottery_id)
    )
    return [bool(flag)]


# --- draw, payouts, price feed, roles, automation --------------------------------------------


def vrf_state_view(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_vrf_state_view(r, _u(args, 0))]


def has_state(r: StorageReader, args: Sequence[object]) -> list[Json]:
    ledger = r.resource("draw::DrawLedger")
    if ledger is None:
        return [False]
    return [_item(r, "draw::DrawLedger.states", ledger["states"], str(_u(args, 0))) is not None]


def finalization_snapshot(r: StorageReader, args: Sequence[object]) -> list[Json]:
    ledger = r.resource("draw::DrawLedger")
    if ledger is None:
        raise StorageAbort(E_REGISTRY_MISSING, "draw")
    state = _item(r, "draw::DrawLedger.states", ledger["states"], str(_u(args, 0)))
    if state is None:
        raise StorageAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    vrf = state["vrf_state"]
    return [
        {
            "snapshot_hash": state["snapshot_hash"],
            "payload_hash": vrf["payload_hash"],
            "winners_batch_hash": state["winners_batch_hash"],
            "checksum_after_batch": state["checksum_after_batch"],
            "schema_version": vrf["schema_version"],
            "attempt": vrf["attempt"],
            "closing_block_height": vrf["closing_block_height"],
            "chain_id": vrf["chain_id"],
            "request_ts": state["last_request_ts"],
            "vrf_status": vrf["status"],
        }
    ]


def winner_progress(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_winner_progress(r, _u(args, 0))]


def get_price_view(r: StorageReader, args: Sequence[object]) -> list[Json]:
    asset_id = _u(args, 0)
    registry = r.resource("price_feed::PriceFeedRegistry")
    if registry is None:  # the package fails to borrow the resource; the model says 0x1202
        raise StorageAbort(E_REGISTRY_MISSING, "price_feed")
    record = _item(r, "price_feed::PriceFeedRegistry.feeds", registry["feeds"], str(asset_id))
    if record is None:
        raise StorageAbort(E_PRICE_FEED_NOT_FOUND, "price_feed")
    return [dict(record)]


def _role_store(r: StorageReader) -> Json:
    store = r.resource("roles::RoleStore")
    if store is None:
        raise StorageAbort(E_ROLES_NOT_INITIALIZED, "roles")
    return store


def payout_batch_cap_view(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_role_store(r)["payout_batch"]]


def has_payout_batch_cap(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [bool(_role_store(r)["payout_batch"]["vec"])]


def _partner_cap(r: StorageReader, store: Json, partner: str) -> Json | None:
    return _item(r, "roles::RoleStore.partner_caps", store["partner_caps"], partner)


def _premium_cap(r: StorageReader, store: Json, holder: str) -> Json | None:
    return _item(r, "roles::RoleStore.premium_caps", store["premium_caps"], holder)


def list_partner_caps(r: StorageReader, args: Sequence[object]) -> list[Json]:
    """``PartnerCapInfo`` has the cap's fields: the items in index order, misses skipped."""
    store = _role_store(r)
    caps = (_partner_cap(r, store, p) for p in store["partner_index"])
    return [[cap for cap in caps if cap is not None]]


def list_premium_caps(r: StorageReader, args: Sequence[object]) -> list[Json]:
    store = _role_store(r)
    caps = (_premium_cap(r, store, h) for h in store["premium_index"])
    return [[cap for cap in caps if cap is not None]]


def partner_payout_cap_view(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_opt(_partner_cap(r, _role_store(r), str(args[0])))]


def premium_cap_view(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_opt(_premium_cap(r, _role_store(r), str(args[0])))]


def has_partner_payout_cap(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_partner_cap(r, _role_store(r), str(args[0])) is not None]


def has_premium_cap(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_premium_cap(r, _role_store(r), str(args[0])) is not None]


# --- legacy_bridge: DualWriteControl (a vrf_hub::table of expected hashes inside it) ----------


def _dual_write_status(control: Json | None, expected: str | None) -> Json:
    if control is None:
        flags = dict.fromkeys(("enabled", "abort_on_mismatch", "abort_on_missing"), False)
        return {**flags, "expected_hash": _opt(None)}
    return {
        "enabled": control["enabled"],
        "abort_on_mismatch": control["abort_on_mismatch"],
        "abort_on_missing": control["abort_on_missing"],
        "expected_hash": _opt(expected),
    }


def _expected(control: Json | None, lottery_id: int) -> str | None:
    if control is None:
        return None
    table = control["expected_hashes"]
    key = str(lottery_id)
    return table["values"][table["keys"].index(key)] if key in table["keys"] else None


def pending_expected_hashes(r: StorageReader, args: Sequence[object]) -> list[Json]:
    control = r.resource("legacy_bridge::DualWriteControl")
    return [[] if control is None else list(control["expected_hashes"]["keys"])]


def dual_write_status(r: StorageReader, args: Sequence[object]) -> list[Json]:
    control = r.resource("legacy_bridge::DualWriteControl")
    return [_dual_write_status(control, _expected(control, _u(args, 0)))]


def dual_write_flags(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_dual_write_status(r.resource("legacy_bridge::DualWriteControl"), None)]


def has_expected_hash(r: StorageReader, args: Sequence[object]) -> list[Json]:
    control = r.resource("legacy_bridge::DualWriteControl")
    return [_expected(control, _u(args, 0)) is not None]


def dual_write_is_enabled(r: StorageReader, args: Sequence[object]) -> list[Json]:
    control = r.resource("legacy_bridge::DualWriteControl")
    return [control is not None and control["enabled"]]


def is_mirror_enabled(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [r.resource("legacy_bridge::MirrorConfig") is not None]


def automation_status_option(r: StorageReader, args: Sequence[object]) -> list[Json]:
    operator = str(args[0])
    state = _bot_state(r, operator)
    return [_opt(None if state is None else _bot_status(operator, state))]


def automation_operators(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [_operators(r)]


def feature_is_initialized(r: StorageReader, args: Sequence[object]) -> list[Json]:
    return [r.resource("feature_switch::FeatureSwitchRegistry") is not None]


def feature_is_enabled(r: StorageReader, args: Sequence[object]) -> list[Json]:
    """``feature_switch::is_enabled``: registry (0x1202) → force → the entry (0x1401 without
    one) → its mode: DISABLED false, ENABLED_ALL true, PREMIUM_ONLY the caller's premium."""
    feature_id, premium = _u(args, 0), args[1]
    registry = r.resource("feature_switch::FeatureSwitchRegistry")
    if registry is None:
        raise StorageAbort(E_REGISTRY_MISSING, "feature_switch")
    if registry["force_enable_devnet"]:
        return [True]
    entry = _item(
        r, "feature_switch::FeatureSwitchRegistry.entries", registry["entries"], str(feature_id)
    )
    if entry is None:
        raise StorageAbort(E_FEATURE_UNKNOWN, "feature_switch")
    mode = entry["mode"]
    if mode in (0, 1):
        return [mode == 1]
    if mode == 2:
        return [premium is True]
    raise StorageAbort(E_FEATURE_MODE_INVALID, "feature_switch")


READERS: Mapping[tuple[str, str], Callable[[StorageReader, Sequence[object]], list[Json]]] = {
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
    ("draw", "vrf_state_view"): vrf_state_view,
    ("draw", "finalization_snapshot"): finalization_snapshot,
    ("draw", "has_state"): has_state,
    ("payouts", "winner_progress"): winner_progress,
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
"""Every reader the localnet's model answers, computed from storage."""
