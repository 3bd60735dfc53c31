"""``lottery_registry``, ``cancellation`` and the archive side of ``history``.

Reads of a lottery follow the package: a missing ``Registry`` aborts ``E_REGISTRY_MISSING`` in
``lottery_registry``; a missing lottery id is a framework table miss (``0x1::table`` NOT_FOUND),
because the package borrows the row without checking.

Archive summaries are written as ``history::record_summary`` does: the archive hash is sha3-256
of the summary's BCS bytes; the dual-write control is told first (``legacy_bridge``, which may
abort), then the summary is stored: rewriting an identical summary is idempotent, a different one
aborts ``E_HISTORY_MISMATCH`` (in ``history``). ``history::mirror_summary_admin`` tells the
dual-write control about a stored summary again (when the legacy mirror is enabled). Legacy
imports are not modelled: every stored summary is the archive's own.
"""

from __future__ import annotations

from autobot.localnet.model import legacy_bridge, sales
from autobot.localnet.model.core import (
    TABLE_ADDRESS,
    TABLE_NOT_FOUND,
    Args,
    CallContext,
    LotteryStatus,
    ModelAbort,
    bcs_bytes,
    bcs_u8,
    bcs_u16,
    bcs_u64,
    bcs_vector,
    j_bytes,
    j_u64,
    sha3,
)
from autobot.localnet.model.state import (
    CancellationRecord,
    Lottery,
    LotterySummary,
    PackageState,
    PrizeSlot,
)

__all__ = [
    "CANCEL_REASON_OPERATIONS",
    "CANCEL_REASON_VRF_FAILURE",
    "E_REGISTRY_MISSING",
    "advance_status",
    "cancel_lottery",
    "cancel_lottery_admin",
    "get_lottery",
    "is_transition_allowed",
    "mirror_summary_admin",
    "record_summary",
    "require_admin",
    "slots_checksum",
    "summary_bcs",
]

E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_STATUS_TRANSITION_NOT_ALLOWED = 0x1204
E_SNAPSHOT_FROZEN = 0x1207
E_DRAW_STATUS_INVALID = 0x1210
E_CANCEL_REASON_INVALID = 0x1211
E_HISTORY_MISSING = 0x1B01
E_HISTORY_MISMATCH = 0x1B02
E_HISTORY_NOT_AUTHORIZED = 0x1B04

CANCEL_REASON_VRF_FAILURE = 1
CANCEL_REASON_COMPLIANCE = 2
CANCEL_REASON_OPERATIONS = 3

EVENT_VERSION = 1
CATEGORY_REGISTRY = 1
CATEGORY_ARCHIVE = 2

_TRANSITIONS: dict[int, frozenset[int]] = {
    LotteryStatus.DRAFT: frozenset({LotteryStatus.ACTIVE, LotteryStatus.CANCELED}),
    LotteryStatus.ACTIVE: frozenset({LotteryStatus.CLOSING, LotteryStatus.CANCELED}),
    LotteryStatus.CLOSING: frozenset(
        {LotteryStatus.DRAW_REQUESTED, LotteryStatus.FINALIZED, LotteryStatus.CANCELED}
    ),
    LotteryStatus.DRAW_REQUESTED: frozenset({LotteryStatus.DRAWN, LotteryStatus.CANCELED}),
    LotteryStatus.DRAWN: frozenset({LotteryStatus.PAYOUT, LotteryStatus.CANCELED}),
    LotteryStatus.PAYOUT: frozenset({LotteryStatus.FINALIZED, LotteryStatus.CANCELED}),
}


def is_transition_allowed(current: int, nxt: int) -> bool:
    return nxt in _TRANSITIONS.get(current, frozenset())


def require_admin(c: CallContext, module: str, code: int = E_REGISTRY_MISSING) -> None:
    """The package's admin check: the first signer must be ``@lottery_multi``."""
    if not c.is_admin():
        c.abort(code, module)


def get_lottery(state: PackageState, lottery_id: int) -> Lottery:
    """A registry row, aborting like ``lottery_registry::get_status`` and friends."""
    if not state.g.registry:
        raise ModelAbort(E_REGISTRY_MISSING, "lottery_registry")
    lottery = state.lotteries.get(lottery_id)
    if lottery is None:
        raise ModelAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    return lottery


def mark_status(c: CallContext, lottery_id: int, *, expect: frozenset[int], to: int) -> None:
    """``lottery_registry::mark_*``: status must be in ``expect`` else ``E_DRAW_STATUS_INVALID``."""
    lottery = get_lottery(c.state, lottery_id)
    if lottery.status not in expect:
        c.abort(E_DRAW_STATUS_INVALID, "lottery_registry")
    c.write(c.state.lotteries, lottery_id).status = int(to)


def slots_checksum(prize_plan: tuple[PrizeSlot, ...]) -> bytes:
    """sha3-256 of the BCS ``vector<PrizeSlot>`` (``types::prize_plan_checksum``)."""
    return sha3(
        bcs_vector(
            prize_plan,
            lambda s: (
                bcs_u64(s.slot_id)
                + bcs_u16(s.winners_per_slot)
                + bcs_u8(s.reward_type)
                + bcs_bytes(s.reward_payload)
            ),
        )
    )


# --- entry functions ------------------------------------------------------------------------


def advance_status(c: CallContext, a: Args) -> None:
    """``lottery_registry::advance_status(admin, id, next_status)``."""
    lottery_id, next_status = a.u(0), a.u(1)
    require_admin(c, "lottery_registry")
    lottery = get_lottery(c.state, lottery_id)
    if not is_transition_allowed(lottery.status, next_status):
        c.abort(E_STATUS_TRANSITION_NOT_ALLOWED, "lottery_registry")
    live = c.write(c.state.lotteries, lottery_id)
    if next_status == LotteryStatus.CLOSING:
        if live.snapshot_frozen:
            c.abort(E_SNAPSHOT_FROZEN, "lottery_registry")
        live.snapshot_frozen = True
    live.status = int(next_status)


def cancel_lottery_admin(c: CallContext, a: Args) -> None:
    """``cancellation::cancel_lottery_admin(admin, id, reason_code, now_ts)``."""
    cancel_lottery(c, a.u(0), a.u(1), a.u(2))


def cancel_lottery(c: CallContext, lottery_id: int, reason_code: int, now_ts: int) -> None:
    """The cancel sequence (also run by the VRF exhaustion path inside ``request_draw_admin``).

    The package reads the sales totals and opens the refund *before* its admin check; an abort
    rolls both back, so only the order of abort codes is observable.
    """
    tickets_sold = proceeds = 0
    if sales.has_state(c.state, lottery_id):
        tickets_sold, proceeds, _ = sales.totals(c, lottery_id)
        sales.begin_refund(c, lottery_id)
    require_admin(c, "lottery_registry")
    if reason_code == 0:
        c.abort(E_CANCEL_REASON_INVALID, "lottery_registry")
    lottery = get_lottery(c.state, lottery_id)
    previous = lottery.status
    if not is_transition_allowed(previous, LotteryStatus.CANCELED):
        c.abort(E_STATUS_TRANSITION_NOT_ALLOWED, "lottery_registry")
    live = c.write(c.state.lotteries, lottery_id)
    live.status = int(LotteryStatus.CANCELED)
    live.snapshot_frozen = True
    c.put(
        c.state.cancellations,
        lottery_id,
        CancellationRecord(
            reason_code=reason_code,
            canceled_ts=now_ts,
            previous_status=previous,
            tickets_sold=tickets_sold,
            proceeds_accum=proceeds,
        ),
    )
    c.emit(
        "history",
        "LotteryCanceledEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_REGISTRY),
            ("lottery_id", j_u64(lottery_id)),
            ("previous_status", previous),
            ("reason_code", reason_code),
            ("tickets_sold", j_u64(tickets_sold)),
            ("proceeds_accum", j_u64(proceeds)),
            ("timestamp", j_u64(now_ts)),
        ],
    )


# --- history archive ------------------------------------------------------------------------


def summary_bcs(s: LotterySummary) -> bytes:
    return b"".join(
        (
            bcs_u64(s.id),
            bcs_u8(s.status),
            bcs_bytes(s.event_slug),
            bcs_bytes(s.series_code),
            bcs_u64(s.run_id),
            bcs_u64(s.tickets_sold),
            bcs_u64(s.proceeds_accum),
            bcs_u64(s.total_allocated),
            bcs_u64(s.total_prize_paid),
            bcs_u64(s.total_operations_paid),
            bcs_u8(s.vrf_status),
            bcs_u8(s.primary_type),
            bcs_u64(s.tags_mask),
            bcs_bytes(s.snapshot_hash),
            bcs_bytes(s.slots_checksum),
            bcs_bytes(s.winners_batch_hash),
            bcs_bytes(s.checksum_after_batch),
            bcs_u64(s.payout_round),
            bcs_u64(s.created_at),
            bcs_u64(s.closed_at),
            bcs_u64(s.finalized_at),
        )
    )


def record_summary(c: CallContext, summary: LotterySummary) -> None:
    """``history::record_summary``: tell the dual-write control, then store and emit."""
    archive_hash = sha3(summary_bcs(summary))
    legacy_bridge.notify_summary_written(c, summary.id, archive_hash, summary.finalized_at)
    if not c.state.g.history:
        c.abort(E_HISTORY_MISSING, "history")
    existing = c.state.summaries.get(summary.id)
    if existing is not None:
        if sha3(summary_bcs(existing)) != archive_hash:
            c.abort(E_HISTORY_MISMATCH, "history")
        c.put(c.state.summaries, summary.id, summary)
    else:
        c.put(c.state.summaries, summary.id, summary)
        c.undo.append(c.state.finalized_ids, summary.id)
    c.emit(
        "history",
        "LotteryFinalizedEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_ARCHIVE),
            ("id", j_u64(summary.id)),
            ("archive_slot_hash", j_bytes(archive_hash)),
            ("primary_type", summary.primary_type),
            ("tags_mask", j_u64(summary.tags_mask)),
        ],
    )


def mirror_summary_admin(c: CallContext, a: Args) -> None:
    """``history::mirror_summary_admin(admin, lottery_id)``: notify the dual-write control again.

    Nothing happens while the legacy mirror is disabled; otherwise the stored summary (a missing
    ledger aborts ``E_HISTORY_MISSING``, a missing summary in ``0x1::table``) is hashed and
    passed to ``notify_summary_written`` — the way to complete an expected hash set after the
    summary was written.
    """
    lottery_id = a.u(0)
    require_admin(c, "history", E_HISTORY_NOT_AUTHORIZED)
    if not c.state.g.legacy_mirror:
        return
    if not c.state.g.history:
        c.abort(E_HISTORY_MISSING, "history")
    summary = c.state.summaries.get(lottery_id)
    if summary is None:
        c.abort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    archive_hash = sha3(summary_bcs(summary))
    legacy_bridge.notify_summary_written(c, lottery_id, archive_hash, summary.finalized_at)
