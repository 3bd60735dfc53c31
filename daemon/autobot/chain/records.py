"""The package's readers, computed from its storage: stored records into ``domain`` values.

Each function takes what ``chain/storage.py`` decoded (a struct as a ``dict``, or ``None`` for a
record that does not exist yet) and computes what the package's reader of docs/package.md §6
would return, with the reader's own formulas and defaults, so a client of the published package
(where none of them is a ``#[view]``) gets the same values as one calling the views of a patched
package. Pure: no I/O (``chain/reads.py`` does the reading).

Records created on first use (§6a) — a draw state from the first request, a winner state from the
first computation, a sales state from the first purchase, a cancellation record from the cancel,
a summary from the archive or finalization — are ``None`` for a fresh lottery, and each reader
answers the view's default for them, never an error. Where the view itself aborts (an unknown
lottery, accounting without sales, an unknown price feed, no ``RoleStore``), ``view_abort`` gives
the same ``MoveAbort`` the node would have answered, so both ways of reading raise alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from autobot.chain.aborts import format_vm_status
from autobot.chain.flat import build_flat
from autobot.chain.layouts import fields
from autobot.chain.responses import abort_from_vm_status
from autobot.domain.bots import Bot
from autobot.domain.draws import RetryPolicy, RetryStrategy, VrfState, VrfStatus, WinnerProgress
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import (
    Accounting,
    AutoClosePolicy,
    LotteryConfig,
    LotteryStatus,
    LotteryStatusView,
    PrizeSlot,
    SalesDistribution,
)
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PremiumCap
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.values import Address
from autobot.errors import MoveAbort, StorageLayoutError

__all__ = [
    "E_HISTORY_MISSING",
    "E_PRICE_FEED_NOT_FOUND",
    "E_REGISTRY_MISSING",
    "E_ROLES_NOT_INITIALIZED",
    "TABLE_ADDRESS",
    "TABLE_NOT_FOUND",
    "Record",
    "accounting",
    "bots",
    "cancellation",
    "dual_write",
    "feature_switch",
    "lottery_config",
    "lottery_status",
    "partner_cap",
    "payout_batch_cap",
    "premium_cap",
    "price_feed",
    "refund_progress",
    "role_index",
    "summary_hash",
    "view_abort",
    "vrf_deposit_status",
    "vrf_state",
    "winner_progress",
]

type Record = Mapping[str, object]

TABLE_ADDRESS = "0x1"
TABLE_NOT_FOUND = 0x6507  # 0x1::table: borrowing an absent key
E_ROLES_NOT_INITIALIZED = 0x1103
E_REGISTRY_MISSING = 0x1202
E_PRICE_FEED_NOT_FOUND = 0x1902
E_HISTORY_MISSING = 0x1B01


def view_abort(code: int, module: str, *, package: str, address: str | None = None) -> MoveAbort:
    """The ``MoveAbort`` a view aborting with ``code`` in ``module`` answers (``address``: a
    framework module's, e.g. ``0x1`` for ``table``; the package's by default)."""
    vm_status = format_vm_status(address or package, module, code)
    abort = abort_from_vm_status(vm_status)
    assert abort is not None  # format_vm_status writes what parse_vm_status reads
    return abort


def _int(record: Record, name: str) -> int:
    value = record[name]
    assert isinstance(value, int) and not isinstance(value, bool)
    return value


def _bool(record: Record, name: str) -> bool:
    value = record[name]
    assert isinstance(value, bool)
    return value


def _bytes(record: Record, name: str) -> bytes:
    value = record[name]
    assert isinstance(value, bytes)
    return value


def _sub(record: Record, name: str) -> Record:
    value = record[name]
    assert isinstance(value, dict)
    return value


def _flat[T](
    cls: type[T], record: Record, *, renamed: Mapping[str, str] | None = None, **given: object
) -> T:
    """``cls`` from the stored ``record``: every field not ``given`` by its type, read under its
    own name or the one ``renamed`` maps it to."""
    names = renamed or {}

    def read(name: str, kind: type) -> object:
        stored = names.get(name, name)
        if kind is bool:
            return _bool(record, stored)
        if kind is bytes:
            return _bytes(record, stored)
        return _int(record, stored)

    return build_flat(cls, read, given)


def _enum[E](record: Record, name: str, struct: str, cls: Callable[[int], E]) -> E:
    """A u8 that must be a member of ``cls``; an unknown one is a layout error (a value the
    package never writes)."""
    value = _int(record, name)
    try:
        return cls(value)
    except ValueError:
        raise StorageLayoutError(
            f"{struct}.{name}: unknown value {value}", struct=struct, field=name, path=name
        ) from None


# -- lottery_registry -----------------------------------------------------------------------


def lottery_status(lottery: Record) -> LotteryStatusView:
    """``views::get_lottery_status``: from a ``lottery_registry::Lottery``."""
    config = _sub(lottery, "config")
    return LotteryStatusView(
        status=_enum(lottery, "status", "lottery_registry::Lottery", LotteryStatus),
        snapshot_frozen=_bool(lottery, "snapshot_frozen"),
        primary_type=_int(config, "primary_type"),
        tags_mask=_int(config, "tags_mask"),
    )


def lottery_config(lottery: Record) -> LotteryConfig:
    """``views::get_lottery``: the ``Config`` of a ``lottery_registry::Lottery``."""
    c = _sub(lottery, "config")
    window, limits = _sub(c, "sales_window"), _sub(c, "ticket_limits")
    split, close = _sub(c, "sales_distribution"), _sub(c, "auto_close_policy")
    backend, retry = _sub(c, "reward_backend"), _sub(c, "vrf_retry_policy")
    plan = c["prize_plan"]
    assert isinstance(plan, list)
    return LotteryConfig(
        sales_start=_int(window, "sales_start"),
        sales_end=_int(window, "sales_end"),
        ticket_price=_int(c, "ticket_price"),
        max_tickets_total=_int(limits, "max_tickets_total"),
        max_tickets_per_address=_int(limits, "max_tickets_per_address"),
        prize_plan=tuple(_flat(PrizeSlot, slot) for slot in plan),
        distribution=_flat(SalesDistribution, split),
        auto_close=_flat(AutoClosePolicy, close),
        retry_policy=_flat(
            RetryPolicy,
            retry,
            strategy=_enum(retry, "strategy", "types::RetryPolicy", RetryStrategy),
        ),
        winners_dedup=_bool(c, "winners_dedup"),
        draw_algo=_int(c, "draw_algo"),
        primary_type=_int(c, "primary_type"),
        tags_mask=_int(c, "tags_mask"),
        config_version=_int(c, "config_version"),
        run_id=_int(c, "run_id"),
        event_slug=_bytes(c, "event_slug"),
        series_code=_bytes(c, "series_code"),
        reward_backend_type=_int(backend, "backend_type"),
        reward_backend_blob=_bytes(backend, "config_blob"),
    )


def cancellation(record: Record | None) -> Cancellation | None:
    """``views::get_cancellation``: the ``CancellationRecord``, if the lottery was canceled."""
    if record is None:
        return None
    struct = "lottery_registry::CancellationRecord"
    previous = _enum(record, "previous_status", struct, LotteryStatus)
    return _flat(Cancellation, record, previous_status=previous)


# -- sales ----------------------------------------------------------------------------------


_REFUND_NAMES: Mapping[str, str] = {
    "active": "refund_active",
    "tickets_refunded": "refund_tickets_processed",
    "prize_refunded": "refund_prize_total",
    "operations_refunded": "refund_operations_total",
}
"""``RefundProgress`` fields the ``SalesState`` stores under other names (§6a)."""


def refund_progress(sales: Record | None) -> RefundProgress:
    """``views::get_refund_progress``: from a ``sales::SalesState`` (zeros without one). The
    stored names differ from the view's: ``refund_tickets_processed`` is ``tickets_refunded``,
    ``refund_prize_total`` is ``prize_refunded``, ``refund_operations_total`` is
    ``operations_refunded`` (§6a)."""
    if sales is None:
        return RefundProgress()
    return _flat(RefundProgress, sales, renamed=_REFUND_NAMES)


def accounting(sales: Record | None) -> Accounting | None:
    """``views::accounting_snapshot``: the sales state's ``Accounting``; ``None`` where the view
    aborts ``E_REGISTRY_MISSING`` in ``sales`` (no ticket sold yet)."""
    if sales is None:
        return None
    return _flat(Accounting, _sub(sales, "accounting"))


# -- draw and payouts -----------------------------------------------------------------------


def vrf_state(draw: Record | None) -> VrfState:
    """``draw::vrf_state_view``: from a ``draw::DrawState`` (its ``VrfState`` plus the state's
    ``last_request_ts``); without one, the view's default (IDLE, consumed)."""
    if draw is None:
        return VrfState()
    v = _sub(draw, "vrf_state")
    return _flat(
        VrfState,
        v,
        status=_enum(v, "status", "types::VrfState", VrfStatus),
        retry_strategy=_enum(v, "retry_strategy", "types::VrfState", RetryStrategy),
        last_request_ts=_int(draw, "last_request_ts"),
    )


def winner_progress(winners: Record | None) -> WinnerProgress:
    """``payouts::winner_progress``: from a ``payouts::WinnerState`` (zeros without one)."""
    if winners is None:
        return WinnerProgress()
    return _flat(WinnerProgress, winners)


# -- automation, roles, deposit, price feed -------------------------------------------------


def bots(registry: Record | None) -> tuple[Bot, ...]:
    """``views::list_automation_bots``: every bot of the ``AutomationRegistry``'s
    ``vrf_hub::table::Table`` in its order (registration order: bots are never removed); empty
    without a registry. ``has_pending``: the pending hash is not empty."""
    if registry is None:
        return ()
    entries = registry["bots"]
    assert isinstance(entries, list)
    out: list[Bot] = []
    for operator, state in entries:
        assert isinstance(operator, str) and isinstance(state, dict)
        actions = state["allowed_actions"]
        assert isinstance(actions, list)
        out.append(
            _flat(
                Bot,
                state,
                operator=Address(operator),
                allowed_actions=tuple(actions),
                has_pending=bool(_bytes(state, "pending_action_hash")),
            )
        )
    return tuple(out)


def payout_batch_cap(role_store: Record) -> PayoutBatchCap | None:
    """``roles::payout_batch_cap_view``: the ``Option<PayoutBatchCap>`` inside ``RoleStore``."""
    cap = role_store["payout_batch"]
    if cap is None:
        return None
    assert isinstance(cap, dict)
    holder = cap["holder"]
    assert isinstance(holder, str)
    return _flat(PayoutBatchCap, cap, holder=Address(holder))


def vrf_deposit_status(ledger: Record | None) -> VrfDepositStatus:
    """``views::get_vrf_deposit_status``: the ledger's stored ``status`` (zeros without one),
    plus its ``config``'s ``effective_floor`` and ``min_balance_multiplier_bps``, which no reader
    of the package returns (docs/package.md §2.7, §6a)."""
    if ledger is None:
        return VrfDepositStatus()
    # one record of the config's and the status's fields (their names do not overlap)
    return _flat(VrfDepositStatus, {**_sub(ledger, "config"), **_sub(ledger, "status")})


def price_feed(record: Record) -> PriceFeed:
    """``price_feed::get_price_view``: the ``PriceFeedRecord`` as stored."""
    return _flat(PriceFeed, record)


# -- feature switch -------------------------------------------------------------------------


def feature_switch(registry: Record | None, entries: Mapping[int, Record | None]) -> FeatureSwitch:
    """``feature_switch``'s ``is_initialized``/``is_enabled`` as one value: from the
    ``FeatureSwitchRegistry`` (``None``: never initialised, so no call checks it) and the
    ``FeatureRecord`` items read of its ``entries`` table, by feature id (``None``: no entry).
    Under ``force_enable_devnet`` the entries do not matter (every feature is let through) and
    none are kept."""
    if registry is None:
        return FeatureSwitch()
    if _bool(registry, "force_enable_devnet"):
        return FeatureSwitch(initialized=True, force_enable_devnet=True)
    modes = {i: _int(r, "mode") for i, r in sorted(entries.items()) if r is not None}
    return FeatureSwitch(initialized=True, modes=modes)


# -- roles, dual write, summaries (the playbook's monitors) ----------------------------------


def partner_cap(record: Record) -> PartnerCap:
    """A ``PartnerPayoutCap`` (``roles::list_partner_caps`` answers them in index order)."""
    partner = record["partner"]
    assert isinstance(partner, str)
    return PartnerCap(
        partner=Address(partner),
        max_total_payout=_int(record, "max_total_payout"),
        remaining_payout=_int(record, "remaining_payout"),
        payout_cooldown_secs=_int(record, "payout_cooldown_secs"),
        last_payout_at=_int(record, "last_payout_at"),
        next_nonce=_int(record, "next_nonce"),
        nonce_stride=_int(record, "nonce_stride"),
        expires_at=_int(record, "expires_at"),
    )


def premium_cap(record: Record) -> PremiumCap:
    """A ``PremiumAccessCap`` (``roles::list_premium_caps``)."""
    holder, referrer = record["holder"], record["referrer"]
    assert isinstance(holder, str) and (referrer is None or isinstance(referrer, str))
    return PremiumCap(
        holder=Address(holder),
        expires_at=_int(record, "expires_at"),
        auto_renew=_bool(record, "auto_renew"),
        referrer=None if referrer is None else Address(referrer),
    )


def role_index(role_store: Record, name: str) -> list[str]:
    """``RoleStore.partner_index`` or ``.premium_index``: the caps' holders, in order."""
    found = role_store[name]
    assert isinstance(found, list) and all(isinstance(a, str) for a in found)
    return [str(a) for a in found]


def dual_write(control: Record | None) -> DualWrite | None:
    """``DualWriteControl``: its flags and expected hashes (``pending_expected_hashes`` with each
    one's ``dual_write_status``); ``None`` without a control (the views answer all false)."""
    if control is None:
        return None
    entries = control["expected_hashes"]
    assert isinstance(entries, list)
    expected: dict[int, str] = {}
    for key, value in entries:
        assert isinstance(key, int) and isinstance(value, bytes)
        expected[key] = "0x" + value.hex()
    return DualWrite(
        enabled=_bool(control, "enabled"),
        abort_on_mismatch=_bool(control, "abort_on_mismatch"),
        abort_on_missing=_bool(control, "abort_on_missing"),
        expected=expected,
    )


def summary_hash(summary: Record) -> str:
    """sha3-256 of a stored ``LotterySummary``'s BCS (declaration order): the hash the
    dual-write control compares with a lottery's expected hash, and ``LotteryFinalizedEvent``'s
    ``archive_slot_hash`` (docs/package.md §4)."""
    out = bytearray()
    for name, type_ in fields("history::LotterySummary"):
        value = summary[name]
        if type_.kind == "bool":
            assert isinstance(value, bool)
            out.append(int(value))
        elif type_.kind in _WIDTHS:
            assert isinstance(value, int) and not isinstance(value, bool)
            out += value.to_bytes(_WIDTHS[type_.kind], "little")
        elif type_.is_bytes:
            assert isinstance(value, bytes)
            out += _uleb128(len(value)) + value
        else:  # pragma: no cover - the layout holds only these (test_chain_records)
            raise StorageLayoutError(
                f"cannot encode {type_}", struct="history::LotterySummary", field=name, path=name
            )
    return "0x" + hashlib.sha3_256(bytes(out)).hexdigest()


_WIDTHS = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32}


def _uleb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
