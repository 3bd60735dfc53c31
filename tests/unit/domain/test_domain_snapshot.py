"""The snapshot: the overview recomputed by the §6 formulas; easy construction for planners."""

from __future__ import annotations

import random

import pytest

from autobot.domain.bots import Bot
from autobot.domain.draws import VrfState, VrfStatus, WinnerProgress
from autobot.domain.lotteries import LotteryConfig, LotteryStatus
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import (
    LotteryView,
    OverviewTally,
    Snapshot,
    compute_overview,
    live_overview,
)
from autobot.domain.values import normalise_address

CONFIG = LotteryConfig(sales_start=0, sales_end=100)


def _view(lottery_id: int, status: LotteryStatus, **kw: object) -> LotteryView:
    return LotteryView(lottery_id=lottery_id, status=status, config=CONFIG, **kw)  # type: ignore[arg-type]


def test_overview_counts_every_section_6_counter() -> None:
    now = 1_000_000
    lotteries = [
        _view(1, LotteryStatus.ACTIVE),
        _view(
            2,
            LotteryStatus.DRAW_REQUESTED,
            vrf=VrfState(status=VrfStatus.REQUESTED, consumed=False, retry_after_ts=now + 5),
        ),
        _view(
            3,
            LotteryStatus.CANCELED,
            vrf=VrfState(status=VrfStatus.REQUESTED, consumed=False, retry_after_ts=now - 5),
            refund=RefundProgress(active=True, tickets_sold=10, tickets_refunded=4, refund_round=1),
            cancellation=Cancellation(
                reason_code=1,
                canceled_ts=now - 90_000,
                previous_status=LotteryStatus.DRAW_REQUESTED,
            ),
        ),
        _view(4, LotteryStatus.DRAWN, vrf=VrfState(status=VrfStatus.FULFILLED, consumed=False)),
        _view(
            5,
            LotteryStatus.PAYOUT,
            winners=WinnerProgress(
                initialized=True, total_required=5, total_assigned=2, next_winner_batch_no=1
            ),
        ),
    ]
    overview = compute_overview(lotteries, now)
    assert (overview.total, overview.active, overview.draw_requested, overview.canceled) == (
        5,
        1,
        1,
        1,
    )
    assert (overview.drawn, overview.payout, overview.draft) == (1, 1, 0)
    assert (overview.vrf_requested, overview.vrf_retry_blocked, overview.vrf_fulfilled_pending) == (
        2,
        1,
        1,
    )
    assert (overview.winners_pending, overview.payout_backlog) == (1, 1)
    assert (overview.refund_active, overview.refund_batch_pending, overview.refund_sla_breach) == (
        1,
        6,
        True,
    )
    assert overview.count(LotteryStatus.CANCELED) == 1


def test_snapshot_build_keys_views_and_is_frozen() -> None:
    bot = Bot(
        operator=normalise_address("0xa"),
        allowed_actions=(1,),
        timelock_secs=60,
        max_failures=3,
        expires_at=9,
    )
    snap = Snapshot.build(now=500, height=7, lotteries=[_view(1, LotteryStatus.ACTIVE)], bots=[bot])
    assert snap.now == 500 and snap.height == 7
    assert snap.lotteries[1].tickets_sold == 0 and snap.overview.active == 1
    assert snap.bot("0x" + "0" * 63 + "a") is bot and snap.bot("0xb") is None
    with pytest.raises(TypeError):
        snap.lotteries[2] = snap.lotteries[1]  # type: ignore[index]
    with pytest.raises(AttributeError):
        snap.bots = ()  # type: ignore[misc]


def test_the_live_overview_counts_terminal_lotteries_by_status_alone() -> None:
    # given: a live refund, an archived refund and a finalized lottery with a payout backlog
    owed = RefundProgress(active=True, refund_round=1, tickets_refunded=3, tickets_sold=10)
    done = RefundProgress(active=True, refund_round=2, tickets_refunded=10, tickets_sold=10)
    backlog = WinnerProgress(initialized=True, next_winner_batch_no=2, payout_round=1)
    views = [
        _view(1, LotteryStatus.CANCELED, refund=owed),
        _view(2, LotteryStatus.CANCELED, refund=done, archived=True),
        _view(3, LotteryStatus.FINALIZED, winners=backlog),
    ]
    full = compute_overview(views, 0)
    filtered = compute_overview(views, 0, exclude_terminal=True)
    live = live_overview(views, 0, terminal={LotteryStatus.FINALIZED: 4})
    # then: the package's own counts them all (its counters never age out, §10.10) ...
    assert (full.total, full.refund_active, full.payout_backlog) == (3, 2, 1)
    # ... the filtered variant leaves the terminal ones out altogether ...
    assert (filtered.total, filtered.canceled, filtered.finalized, filtered.refund_active) == (
        1,
        1,
        0,
        1,
    )
    # ... and the live overview counts them (and four more from the journal) by status only
    assert (live.total, live.canceled, live.finalized) == (7, 2, 5)
    assert (live.refund_active, live.refund_batch_pending, live.payout_backlog) == (1, 7, 0)


def test_the_tally_keeps_the_live_overview_as_views_come_change_and_go() -> None:
    rng = random.Random(11)
    tally = OverviewTally()
    kept: dict[int, LotteryView] = {}
    for step in range(2_000):
        lottery_id = rng.randrange(60)
        if rng.random() < 0.15:
            tally.discard(lottery_id)
            kept.pop(lottery_id, None)
        else:
            sold = rng.randrange(0, 20)
            view = _view(
                lottery_id,
                rng.choice(list(LotteryStatus)),
                archived=rng.random() < 0.2,
                vrf=VrfState(
                    status=rng.choice(list(VrfStatus)),
                    consumed=rng.random() < 0.5,
                    retry_after_ts=rng.randrange(0, 200),
                ),
                winners=WinnerProgress(
                    initialized=rng.random() < 0.5,
                    total_required=rng.randrange(3),
                    total_assigned=rng.randrange(3),
                    next_winner_batch_no=rng.randrange(3),
                    payout_round=rng.randrange(3),
                ),
                refund=RefundProgress(
                    active=rng.random() < 0.5,
                    refund_round=rng.randrange(2),
                    tickets_sold=sold,
                    tickets_refunded=rng.randrange(0, sold + 1),
                ),
                cancellation=Cancellation(
                    reason_code=1,
                    canceled_ts=rng.randrange(0, 100_000),
                    previous_status=LotteryStatus.ACTIVE,
                )
                if rng.random() < 0.5
                else None,
            )
            tally.set(view)
            if view.is_terminal:
                kept.pop(lottery_id, None)
            else:
                kept[lottery_id] = view
        if step % 50 == 0:
            now = rng.randrange(0, 200_000)
            terminal = {LotteryStatus.FINALIZED: rng.randrange(5)}
            assert tally.overview(now, terminal=terminal) == live_overview(
                kept.values(), now, terminal=terminal
            )
    assert len(tally) == len(kept)
