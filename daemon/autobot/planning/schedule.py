"""When a lottery must be read again although nothing on chain told us it changed.

The sweep keeps every live lottery's last view and reads a lottery again only when it *changed*
(an event named it, its status count moved, one of our actions touched it) or when its **next
check** has come: the first chain time at which the planners could decide differently about the
same view, because time alone crossed a threshold:

==================  ===========================================================================
ACTIVE              the second after sales end + grace (auto-close becomes due)
CLOSING             the VRF retry window's end, if one is stored
DRAW_REQUESTED      retry window end; MANUAL: last request + manual retry delay; the VRF deadline
                    (last request + ``vrf_deadline_seconds``: the cancel-on-failure moment)
CANCELED            not archived, refunds owed: the first-batch SLA (cancel + 12 h) while no batch
                    is recorded, the completion SLA (cancel + 24 h) while tickets remain
DRAFT, DRAWN,       none: autobot acts on DRAWN at once, and everything else they wait for is a
PAYOUT              chain change (a callback, a payout batch, someone's transaction)
FINALIZED,          never (terminal: remembered in the journal, not read again)
archived CANCELED
==================  ===========================================================================

``pending_until`` adds the end of a pending execution (an open action's ``execute_at``), so the
view is fresh when the action runs. ``is_idle`` says which views the planners can skip until
then (most of them: the sweep's planning costs what may have work, not the lottery count). Work due *now* is not a next check: the planners act on the
view they have, and what that work changes comes back as a change. The result is always strictly
after ``now``, or ``None`` (no time-triggered read).
"""

from __future__ import annotations

from autobot.domain.draws import RetryStrategy, VrfStatus
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView
from autobot.planning.autoclose import close_after
from autobot.planning.plan import PlanContext

__all__ = ["is_idle", "is_terminal", "next_check"]


def is_terminal(view: LotteryView) -> bool:
    """Finalized, or canceled and archived: nothing on chain will ever change it again."""
    return view.status == LotteryStatus.FINALIZED or (
        view.status == LotteryStatus.CANCELED and view.archived
    )


def is_idle(view: LotteryView, now: int, ctx: PlanContext) -> bool:
    """The planners decide nothing about ``view`` until its next check or a change.

    DRAFT and PAYOUT lotteries are only watched (autobot never advances a draft, and payouts are
    the treasury's); an ACTIVE lottery waits for its sales end. Everything else may have work.
    """
    if view.status in (LotteryStatus.DRAFT, LotteryStatus.PAYOUT):
        return True
    return view.status == LotteryStatus.ACTIVE and now <= close_after(view, ctx)


def next_check(
    view: LotteryView, now: int, ctx: PlanContext, *, pending_until: int | None = None
) -> int | None:
    """The first chain second after ``now`` at which ``view`` must be read again, if any."""
    moments = [] if pending_until is None else [pending_until]
    match view.status:
        case LotteryStatus.ACTIVE:
            moments.append(close_after(view, ctx) + 1)
        case LotteryStatus.CLOSING:
            moments.append(view.vrf.retry_after_ts)
        case LotteryStatus.DRAW_REQUESTED:
            moments.extend(_draw_moments(view, ctx))
        case LotteryStatus.CANCELED if not view.archived:
            moments.extend(_refund_moments(view, ctx))
        case _:
            pass
    future = [m for m in moments if m > now]
    return min(future) if future else None


def _draw_moments(view: LotteryView, ctx: PlanContext) -> list[int]:
    vrf = view.vrf
    if vrf.status != VrfStatus.REQUESTED:
        return []
    moments = [vrf.retry_after_ts, vrf.last_request_ts + ctx.vrf_deadline_seconds]
    manual = vrf.retry_strategy == RetryStrategy.MANUAL and vrf.retry_after_ts == 0
    if manual and ctx.manual_retry_delay_seconds is not None:
        moments.append(vrf.last_request_ts + ctx.manual_retry_delay_seconds)
    return moments


def _refund_moments(view: LotteryView, ctx: PlanContext) -> list[int]:
    record, progress = view.cancellation, view.refund
    if record is None or view.tickets_sold == 0 or progress.complete:
        return []
    moments = [record.canceled_ts + ctx.refund_complete_sla_seconds]
    if progress.refund_round == 0:
        moments.append(record.canceled_ts + ctx.refund_first_batch_sla_seconds)
    return moments
