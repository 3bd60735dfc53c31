"""``payouts``: winners, payout rounds, refunds and the archive of canceled lotteries (§2.5, §4, §5).

Winner assignment is the package's algorithm, translated: ordinal ``k`` (0-based over the prize
plan, slot by slot) takes the verified number of its slot, hashes it with the snapshot hash,
payload hash, lottery id, ordinal, index within the slot, schema version and attempt
(``sha3-256`` over the concatenated BCS), and reduces the first 8 bytes (little endian) modulo
``total_tickets``. With ``winners_dedup`` a taken ticket rehashes the digest, up to 16 tries
(``E_WINNER_DEDUP_EXHAUSTED``). The running checksum and batch hash chain sha3 over each
assignment, seeded with ``sha3("lottery_multi::winner_seed")`` and
``sha3("lottery_multi::winner_batch_seed")``.
"""

from __future__ import annotations

from dataclasses import dataclass

from autobot.localnet.model import draw, registry, roles, sales
from autobot.localnet.model.core import (
    TABLE_ADDRESS,
    TABLE_NOT_FOUND,
    Args,
    CallContext,
    LotteryStatus,
    ModelAbort,
    VrfStatus,
    bcs_u64,
    bcs_u256,
    j_bytes,
    j_u64,
    sha3,
)
from autobot.localnet.model.state import (
    LotterySummary,
    PackageState,
    PrizeSlot,
    WinnerRecord,
    WinnerState,
)

__all__ = [
    "archive_canceled_lottery_admin",
    "compute_winners_admin",
    "finalize_lottery_admin",
    "finalize_summary",
    "force_refund_batch_admin",
    "init_payouts",
    "record_partner_payout_admin",
    "record_payout_batch_admin",
]

MODULE = "payouts"
E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_DRAW_STATUS_INVALID = 0x1210
E_CANCELLATION_RECORD_MISSING = 0x1212
E_PAGINATION_LIMIT = 0x1501
E_WINNER_ALL_ASSIGNED = 0x1802
E_WINNER_INDEX_OUT_OF_RANGE = 0x1803
E_WINNER_DEDUP_EXHAUSTED = 0x1804
E_PAYOUT_STATE_MISSING = 0x1805
E_PAYOUT_ROUND_NON_MONOTONIC = 0x1806
E_PAYOUT_COOLDOWN = 0x1807
E_REFUND_STATUS_INVALID = 0x1815
E_REFUND_TIMESTAMP = 0x1817
E_REFUND_PROGRESS_INCOMPLETE = 0x1818
E_REFUND_PROGRESS_FUNDS = 0x1819
E_FINALIZATION_INCOMPLETE = 0x1B03
MAX_REHASH_ATTEMPTS = 16
EVENT_VERSION = 1
CATEGORY_PAYOUT = 5
CATEGORY_REFUND = 8
WINNER_SEED_CHECKSUM = sha3(b"lottery_multi::winner_seed")
WINNER_BATCH_SEED = sha3(b"lottery_multi::winner_batch_seed")


def _ledger(c: CallContext) -> None:
    if not c.state.g.payouts:
        c.abort(E_REGISTRY_MISSING, MODULE)


def init_payouts(c: CallContext, a: Args) -> None:
    registry.require_admin(c, MODULE)
    if c.state.g.payouts:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    c.write(c.state.globals_, 0).payouts = True


def total_winners(plan: tuple[PrizeSlot, ...]) -> int:
    return sum(slot.winners_per_slot for slot in plan)


def _slot_context(
    c: CallContext, plan: tuple[PrizeSlot, ...], ordinal: int
) -> tuple[int, int, int]:
    """(slot_id, slot position, index within the slot) of winner ``ordinal``."""
    accumulated = 0
    for position, slot in enumerate(plan):
        if ordinal < accumulated + slot.winners_per_slot:
            return slot.slot_id, position, ordinal - accumulated
        accumulated += slot.winners_per_slot
    raise ModelAbort(E_WINNER_INDEX_OUT_OF_RANGE, MODULE)


def compute_winners_admin(c: CallContext, a: Args) -> None:
    lottery_id, batch_limit = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    if batch_limit == 0:
        c.abort(E_PAGINATION_LIMIT, MODULE)
    lottery = registry.get_lottery(c.state, lottery_id)
    status = lottery.status
    if status not in (LotteryStatus.DRAWN, LotteryStatus.PAYOUT):
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    plan = lottery.config.prize_plan
    dedup = lottery.config.winners_dedup
    required = total_winners(plan)
    _ledger(c)
    if lottery_id not in c.state.winners:
        c.put(
            c.state.winners,
            lottery_id,
            WinnerState(winners_batch_hash=WINNER_BATCH_SEED, cursor_checksum=WINNER_SEED_CHECKSUM),
        )
    w = c.write(c.state.winners, lottery_id)
    if not w.initialized:
        d = draw.prepare_for_winners(c, lottery_id)
        w.initialized = True
        w.total_tickets = d.total_tickets
        w.snapshot_hash = d.snapshot_hash
        w.payload_hash = d.payload_hash
        w.random_numbers = d.verified_numbers
        w.schema_version = d.schema_version
        w.attempt = d.attempt
        w.cursor_checksum = WINNER_SEED_CHECKSUM
        w.winners_batch_hash = WINNER_BATCH_SEED
    if w.total_required == 0:
        w.total_required = required
    if w.total_required != required:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    if w.total_assigned >= w.total_required:
        c.abort(E_WINNER_ALL_ASSIGNED, MODULE)
    to_assign = min(batch_limit, w.total_required - w.total_assigned)
    batch_no = w.next_winner_batch_no
    batch_hash, checksum = w.winners_batch_hash, w.cursor_checksum
    assigned = set(w.assigned_indices)
    records: list[WinnerRecord] = []
    ordinal = w.total_assigned
    for _ in range(to_assign):
        slot_id, position, local = _slot_context(c, plan, ordinal)
        digest = sha3(
            bcs_u256(w.random_numbers[position])
            + w.snapshot_hash
            + w.payload_hash
            + bcs_u64(lottery_id)
            + bcs_u64(ordinal)
            + bcs_u64(local)
            + bcs_u64(w.schema_version)
            + bcs_u64(w.attempt)
        )
        ticket, digest = _select_ticket(c, dedup, w.total_tickets, assigned, digest)
        if dedup:
            assigned.add(ticket)
        owner = sales.ticket_owner(c.state, lottery_id, ticket)
        records.append(
            WinnerRecord(slot_id=slot_id, ticket_index=ticket, winner=owner, winner_hash=digest)
        )
        ordinal += 1
        checksum = sha3(checksum + bcs_u64(ticket) + digest)
        batch_hash = sha3(batch_hash + bcs_u64(slot_id) + bcs_u64(ticket) + digest)
    w.records = w.records + tuple(records)
    w.assigned_indices = frozenset(assigned)
    w.total_assigned += to_assign
    w.cursor_last_index = w.total_assigned
    w.cursor_checksum = checksum
    w.winners_batch_hash = batch_hash
    d_live = c.write(c.state.draws, lottery_id)
    d_live.winners_batch_hash = batch_hash
    d_live.checksum_after_batch = checksum
    c.emit(
        "history",
        "WinnersComputedEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_PAYOUT),
            ("lottery_id", j_u64(lottery_id)),
            ("batch_no", j_u64(batch_no)),
            ("assigned_in_batch", j_u64(to_assign)),
            ("total_assigned", j_u64(w.total_assigned)),
            ("winners_batch_hash", j_bytes(batch_hash)),
            ("checksum_after_batch", j_bytes(checksum)),
        ],
    )
    w.next_winner_batch_no += 1
    if w.total_assigned == w.total_required and status == LotteryStatus.DRAWN:
        registry.mark_status(
            c, lottery_id, expect=frozenset({LotteryStatus.DRAWN}), to=LotteryStatus.PAYOUT
        )


def _select_ticket(
    c: CallContext, dedup: bool, total_tickets: int, assigned: set[int], digest: bytes
) -> tuple[int, bytes]:
    attempts = 0
    while True:
        candidate = int.from_bytes(digest[:8], "little") % total_tickets
        if not dedup or candidate not in assigned:
            return candidate, digest
        attempts += 1
        if attempts >= MAX_REHASH_ATTEMPTS:
            c.abort(E_WINNER_DEDUP_EXHAUSTED, MODULE)
        digest = sha3(digest)


def record_payout_batch_admin(c: CallContext, a: Args) -> None:
    lottery_id, payout_round, winners_paid = a.u(0), a.u(1), a.u(2)
    prize_paid, operations_paid, timestamp = a.u(3), a.u(4), a.u(5)
    registry.require_admin(c, MODULE)
    if registry.get_lottery(c.state, lottery_id).status != LotteryStatus.PAYOUT:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    roles.consume_payout_batch(
        c,
        winners_paid=winners_paid,
        operations_paid=operations_paid,
        timestamp=timestamp,
        nonce=payout_round,
    )
    _ledger(c)
    w = c.state.winners.get(lottery_id)
    if w is None:
        c.abort(E_PAYOUT_STATE_MISSING, MODULE)
    if payout_round != w.payout_round + 1:
        c.abort(E_PAYOUT_ROUND_NON_MONOTONIC, MODULE)
    if w.last_payout_ts > 0 and timestamp < w.last_payout_ts:
        c.abort(E_PAYOUT_COOLDOWN, MODULE)
    live = c.write(c.state.winners, lottery_id)
    live.payout_round = payout_round
    live.last_payout_ts = timestamp
    sales.record_payouts(c, lottery_id, prize_paid, operations_paid)
    c.emit(
        "history",
        "PayoutBatchEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_PAYOUT),
            ("lottery_id", j_u64(lottery_id)),
            ("payout_round", j_u64(payout_round)),
            ("winners_paid", j_u64(winners_paid)),
            ("prize_paid", j_u64(prize_paid)),
            ("operations_paid", j_u64(operations_paid)),
            ("timestamp", j_u64(timestamp)),
        ],
    )


def record_partner_payout_admin(c: CallContext, a: Args) -> None:
    """A partner's payout: the partner's cap, then the lottery's round, as operations paid."""
    lottery_id, partner, amount = a.u(0), a.addr(1), a.u(2)
    payout_round, timestamp = a.u(3), a.u(4)
    registry.require_admin(c, MODULE)
    if registry.get_lottery(c.state, lottery_id).status != LotteryStatus.PAYOUT:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    roles.consume_partner_payout(
        c, partner=partner, amount=amount, timestamp=timestamp, nonce=payout_round
    )
    _ledger(c)
    w = c.state.winners.get(lottery_id)
    if w is None:
        c.abort(E_PAYOUT_STATE_MISSING, MODULE)
    if payout_round < w.payout_round:
        c.abort(E_PAYOUT_ROUND_NON_MONOTONIC, MODULE)
    sales.record_payouts(c, lottery_id, 0, amount)
    c.emit(
        "history",
        "PartnerPayoutEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_PAYOUT),
            ("lottery_id", j_u64(lottery_id)),
            ("partner", partner),
            ("amount", j_u64(amount)),
            ("payout_round", j_u64(payout_round)),
            ("timestamp", j_u64(timestamp)),
        ],
    )


def force_refund_batch_admin(c: CallContext, a: Args) -> None:
    lottery_id, refund_round, tickets = a.u(0), a.u(1), a.u(2)
    prize, ops, timestamp = a.u(3), a.u(4), a.u(5)
    registry.require_admin(c, MODULE)
    if registry.get_lottery(c.state, lottery_id).status != LotteryStatus.CANCELED:
        c.abort(E_REFUND_STATUS_INVALID, MODULE)
    roles.consume_payout_batch(
        c, winners_paid=tickets, operations_paid=ops, timestamp=timestamp, nonce=refund_round
    )
    total_tickets, total_prize, total_ops = sales.record_refund_batch(
        c, lottery_id, refund_round, tickets, prize, ops, timestamp
    )
    _ledger(c)
    c.emit(
        "history",
        "RefundBatchEvent",
        [
            ("event_version", EVENT_VERSION),
            ("event_category", CATEGORY_REFUND),
            ("lottery_id", j_u64(lottery_id)),
            ("refund_round", j_u64(refund_round)),
            ("tickets_refunded", j_u64(tickets)),
            ("prize_refunded", j_u64(prize)),
            ("operations_refunded", j_u64(ops)),
            ("total_tickets_refunded", j_u64(total_tickets)),
            ("total_amount_refunded", j_u64(total_prize + total_ops)),
            ("timestamp", j_u64(timestamp)),
        ],
    )


def archive_canceled_lottery_admin(c: CallContext, a: Args) -> None:
    lottery_id, finalized_at = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    lottery = registry.get_lottery(c.state, lottery_id)
    if lottery.status != LotteryStatus.CANCELED:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    record = c.state.cancellations.get(lottery_id)
    if record is None:
        c.abort(E_CANCELLATION_RECORD_MISSING, MODULE)
    if finalized_at < record.canceled_ts:
        c.abort(E_REFUND_TIMESTAMP, MODULE)
    s = c.state.sales.get(lottery_id) if sales.has_state(c.state, lottery_id) else None
    tickets_sold = s.tickets_sold if s else 0
    proceeds = s.proceeds_accum if s else 0
    last_purchase_ts = s.last_purchase_ts if s else 0
    if s is not None and tickets_sold > 0:
        if (
            s.refund_tickets_processed != tickets_sold
            or s.refund_round == 0
            or s.last_refund_ts == 0
        ):
            c.abort(E_REFUND_PROGRESS_INCOMPLETE, MODULE)
        if s.refund_prize_total + s.refund_operations_total < proceeds:
            c.abort(E_REFUND_PROGRESS_FUNDS, MODULE)
    snap = _draw_snapshot(c.state, lottery_id, canceled_ts=record.canceled_ts)
    acc = s.accounting if s else None
    registry.record_summary(
        c,
        _summary(
            c.state,
            lottery_id,
            status=int(LotteryStatus.CANCELED),
            tickets_sold=tickets_sold,
            proceeds=proceeds,
            total_allocated=acc.total_allocated if acc else 0,
            prize_paid=acc.total_prize_paid if acc else 0,
            ops_paid=acc.total_operations_paid if acc else 0,
            snap=snap,
            payout_round=s.refund_round if s else 0,
            closed_at=last_purchase_ts or record.canceled_ts,
            finalized_at=finalized_at,
        ),
    )


def finalize_lottery_admin(c: CallContext, a: Args) -> None:
    lottery_id, finalized_at = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    if registry.get_lottery(c.state, lottery_id).status != LotteryStatus.PAYOUT:
        c.abort(E_DRAW_STATUS_INVALID, MODULE)
    _ledger(c)
    w = c.state.winners.get(lottery_id)
    if w is None:
        c.abort(E_PAYOUT_STATE_MISSING, MODULE)
    if w.total_required == 0 or w.total_assigned != w.total_required:
        c.abort(E_FINALIZATION_INCOMPLETE, MODULE)
    registry.record_summary(c, finalize_summary(c.state, lottery_id, finalized_at))
    registry.mark_status(
        c, lottery_id, expect=frozenset({LotteryStatus.PAYOUT}), to=LotteryStatus.FINALIZED
    )


def finalize_summary(state: PackageState, lottery_id: int, finalized_at: int) -> LotterySummary:
    """The ``LotterySummary`` ``finalize_lottery_admin`` writes once its checks passed.

    Aborts like the finalization past its winner checks: no sales state (0x1202 in ``sales``),
    no draw state (``0x1::table``). Its sha3-256 over ``registry.summary_bcs`` is the archive
    hash (what a dual-write expected hash must be).
    """
    tickets_sold, proceeds, last_purchase_ts = sales.state_totals(state, lottery_id)
    snap = _draw_snapshot(state, lottery_id, canceled_ts=None)
    acc = sales.accounting(state, lottery_id)
    return _summary(
        state,
        lottery_id,
        status=int(LotteryStatus.FINALIZED),
        tickets_sold=tickets_sold,
        proceeds=proceeds,
        total_allocated=acc.total_allocated,
        prize_paid=acc.total_prize_paid,
        ops_paid=acc.total_operations_paid,
        snap=snap,
        payout_round=state.winners[lottery_id].payout_round,
        closed_at=last_purchase_ts or snap.request_ts,
        finalized_at=finalized_at,
    )


@dataclass(frozen=True, slots=True)
class _Snap:
    """The parts of ``draw::FinalizationSnapshot`` a summary uses."""

    snapshot_hash: bytes
    batch_hash: bytes
    checksum: bytes
    request_ts: int
    vrf_status: int


def _draw_snapshot(state: PackageState, lottery_id: int, *, canceled_ts: int | None) -> _Snap:
    d = state.draws.get(lottery_id) if state.g.draw else None
    if d is not None:
        return _Snap(
            d.snapshot_hash,
            d.winners_batch_hash,
            d.checksum_after_batch,
            d.last_request_ts,
            d.status,
        )
    if canceled_ts is None:
        # finalize reads draw::finalization_snapshot, which borrows the row
        if not state.g.draw:
            raise ModelAbort(E_REGISTRY_MISSING, "draw")
        raise ModelAbort(TABLE_NOT_FOUND, "table", address=TABLE_ADDRESS)
    snapshot_hash, _, _ = sales.snapshot_for_draw(state, lottery_id)
    return _Snap(snapshot_hash, b"", b"", canceled_ts, int(VrfStatus.IDLE))


def _summary(
    state: PackageState,
    lottery_id: int,
    *,
    status: int,
    tickets_sold: int,
    proceeds: int,
    total_allocated: int,
    prize_paid: int,
    ops_paid: int,
    snap: _Snap,
    payout_round: int,
    closed_at: int,
    finalized_at: int,
) -> LotterySummary:
    lottery = state.lotteries[lottery_id]
    config = lottery.config
    return LotterySummary(
        id=lottery_id,
        status=status,
        event_slug=config.event_slug,
        series_code=config.series_code,
        run_id=config.run_id,
        tickets_sold=tickets_sold,
        proceeds_accum=proceeds,
        total_allocated=total_allocated,
        total_prize_paid=prize_paid,
        total_operations_paid=ops_paid,
        vrf_status=snap.vrf_status,
        primary_type=config.primary_type,
        tags_mask=config.tags_mask,
        snapshot_hash=snap.snapshot_hash,
        slots_checksum=lottery.slots_checksum,
        winners_batch_hash=snap.batch_hash,
        checksum_after_batch=snap.checksum,
        payout_round=payout_round,
        created_at=config.sales_start,
        closed_at=closed_at,
        finalized_at=finalized_at,
    )
