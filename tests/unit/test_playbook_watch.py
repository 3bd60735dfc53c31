"""PlaybookWatch: the handbook's metrics for the systems autobot watches and does not operate."""

from __future__ import annotations

from dataclasses import replace

from autobot.domain.draws import WinnerProgress
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PremiumCap
from autobot.domain.refunds import RefundProgress
from autobot.domain.snapshot import Snapshot
from autobot.playbook_watch import PURCHASE_EVENT, RATE_LIMIT_EVENT, FindingKind, PlaybookWatch
from fake_chain import FakeChain, lottery

NOW = 1_700_000_000
PKG = "0x" + "ab" * 32
WINDOW = 300


def chain() -> FakeChain:
    fake = FakeChain(admin=PKG, now=NOW, wall=lambda: float(NOW))
    config = LotteryConfig(sales_start=NOW - 3_600, sales_end=NOW + 86_400, max_tickets_total=1_000)
    for lottery_id in (1, 2):
        fake.state.lotteries[lottery_id] = replace(lottery(lottery_id), config=config)
    return fake


async def observe(watch: PlaybookWatch, fake: FakeChain) -> Snapshot:
    snapshot = await fake.snapshot(lottery_ids=sorted(fake.state.lotteries))
    await watch.observe(snapshot)
    return snapshot


def buy(fake: FakeChain, lottery_id: int, quantity: int, sold: int) -> None:
    fake.emit(
        PURCHASE_EVENT, lottery_id=str(lottery_id), quantity=str(quantity), tickets_sold=str(sold)
    )


async def test_sales_rate_is_tickets_a_minute_over_the_window_from_purchase_events() -> None:
    fake = chain()
    watch = PlaybookWatch(gateway=fake, sales_window_seconds=WINDOW)  # type: ignore[arg-type]
    await observe(watch, fake)  # counting starts here
    assert watch.report.sales_rate == {}  # not watched for a whole window yet
    for n in range(10):  # 10 purchases of 3 tickets on lottery 1 over 100 s, 1 of 5 on lottery 2
        buy(fake, 1, 3, 3 * (n + 1))
        fake.advance(10)
    buy(fake, 2, 5, 5)
    fake.advance(WINDOW - 100)
    await observe(watch, fake)
    assert dict(watch.report.sales_rate) == {1: 30 * 60 / WINDOW, 2: 5 * 60 / WINDOW}
    assert watch.report.purchases_seen == 11
    events_read = fake.calls["events"]
    fake.advance(10)
    await observe(watch, fake)  # the counter did not move: no events request
    assert fake.calls["events"] == events_read
    # a window later, with no purchase: the rate falls to 0 (what SalesDrop looks at)
    fake.advance(WINDOW)
    await observe(watch, fake)
    assert dict(watch.report.sales_rate) == {1: 0.0, 2: 0.0}


async def test_no_rate_outside_the_sales_window_or_once_sold_out() -> None:
    fake = chain()
    watch = PlaybookWatch(gateway=fake, sales_window_seconds=WINDOW)  # type: ignore[arg-type]
    await observe(watch, fake)
    buy(fake, 2, 10, 1_000)  # lottery 2 sold out
    fake.state.set_lottery(1, status=LotteryStatus.CLOSING)  # lottery 1 closed: a planned pause
    fake.advance(WINDOW)
    await observe(watch, fake)
    assert watch.report.sales_rate == {}


async def test_payout_pending_rounds_and_a_regression_reported_once() -> None:
    fake = chain()
    winners = WinnerProgress(initialized=True, total_required=2, total_assigned=2, payout_round=2)
    fake.state.set_lottery(1, status=LotteryStatus.PAYOUT, winners=winners)
    watch = PlaybookWatch(gateway=fake)  # type: ignore[arg-type]
    await observe(watch, fake)
    fake.advance(600)
    await observe(watch, fake)
    assert watch.report.payout_finalize_pending == {1: 600}
    assert watch.report.payout_rounds == {1: 2}
    fake.state.set_lottery(1, winners=replace(winners, payout_round=1))
    findings = await watch.observe(await fake.snapshot(lottery_ids=[1, 2]))
    assert [f.kind for f in findings] == [FindingKind.PAYOUT_ROUND_REGRESSED]
    assert "from 2 to 1" in findings[0].description
    assert watch.report.payout_round_regressions == 1
    assert await watch.observe(await fake.snapshot(lottery_ids=[1, 2])) == ()  # once
    fake.state.set_lottery(1, status=LotteryStatus.FINALIZED)
    await observe(watch, fake)
    assert watch.report.payout_finalize_pending == {}


async def test_an_accounting_mismatch_names_the_lottery_and_both_values() -> None:
    fake = chain()
    refund = RefundProgress(tickets_sold=10, proceeds_accum=1_000)
    good = Accounting(total_sales=1_000, total_allocated=700, total_operations_allocated=100)
    fake.state.set_lottery(1, accounting=good, refund=refund)
    fake.state.set_lottery(2, accounting=replace(good, total_prize_paid=701), refund=refund)
    watch = PlaybookWatch(gateway=fake)  # type: ignore[arg-type]
    findings = await watch.observe(await fake.snapshot(lottery_ids=[1, 2]))
    assert watch.report.accounting_mismatch == {2: 1}  # no series for books that add up
    (finding,) = findings
    assert finding.lottery_id == 2 and "total_prize_paid 701 <= total_allocated 700" in (
        finding.description
    )


async def test_a_lottery_has_an_accounting_series_only_while_a_check_fails() -> None:
    """5,000 live lotteries whose books add up made 5,000 zero series (half of /metrics)."""
    fake = chain()
    refund = RefundProgress(tickets_sold=10, proceeds_accum=1_000)
    good = Accounting(total_sales=1_000, total_allocated=700, total_operations_allocated=100)
    fake.state.set_lottery(1, accounting=replace(good, total_prize_paid=701), refund=refund)
    watch = PlaybookWatch(gateway=fake)  # type: ignore[arg-type]
    await watch.observe(await fake.snapshot(lottery_ids=[1]))
    assert watch.report.accounting_mismatch == {1: 1}
    fake.state.set_lottery(1, accounting=good, refund=refund)  # the books add up again
    await watch.observe(await fake.snapshot(lottery_ids=[1]))
    assert watch.report.accounting_mismatch == {}


async def test_caps_expiring_and_read_again_only_when_their_events_move() -> None:
    fake = chain()
    day = 86_400
    fake.state.partner_caps = [
        PartnerCap(partner="0x" + "01" * 32, max_total_payout=10, remaining_payout=10),
        PartnerCap(
            partner="0x" + "02" * 32, max_total_payout=10, remaining_payout=10, expires_at=NOW + day
        ),
        PartnerCap(partner="0x" + "03" * 32, max_total_payout=10, remaining_payout=0),
    ]
    fake.state.premium_caps = [
        PremiumCap(holder="0x" + "04" * 32, expires_at=NOW - 1),
        PremiumCap(holder="0x" + "05" * 32, expires_at=NOW + 2 * day),
    ]
    watch = PlaybookWatch(gateway=fake, caps_refresh_seconds=600)  # type: ignore[arg-type]
    await observe(watch, fake)
    assert (watch.report.partner_cap_expiring, watch.report.premium_cap_expiring) == (2, 1)
    reads = fake.calls["partner_caps"]
    fake.advance(60)  # no cap event, no refresh due: the caps are not read again ...
    fake.state.premium_caps.append(PremiumCap(holder="0x" + "06" * 32))
    await observe(watch, fake)
    assert fake.calls["partner_caps"] == reads and watch.report.premium_caps == 2
    fake.advance(day)  # ... but judged at each sweep's chain time, and read every 600 s
    await observe(watch, fake)
    assert fake.calls["partner_caps"] == reads + 1
    assert (watch.report.partner_cap_expiring, watch.report.premium_cap_expiring) == (2, 2)
    fake.state.premium_caps.pop()
    fake.emit("roles::PremiumAccessGrantedEvent", holder="0x" + "06" * 32)
    await observe(watch, fake)
    assert fake.calls["partner_caps"] == reads + 2 and watch.report.premium_caps == 2


async def test_dual_write_pending_and_a_mismatch_against_the_stored_summary() -> None:
    fake = chain()
    stored = "0x" + "aa" * 32
    fake.state.summary_hashes[1] = stored
    fake.state.dual_write = DualWrite(enabled=True, expected={2: "0x" + "bb" * 32})
    watch = PlaybookWatch(gateway=fake, dual_write_pending_seconds=7_200)  # type: ignore[arg-type]
    await observe(watch, fake)
    report = watch.report
    assert (report.dual_write_expected, report.dual_write_pending, report.dual_write_mismatch) == (
        1,
        0,
        0,
    )
    fake.advance(7_200)
    await observe(watch, fake)
    assert watch.report.dual_write_pending == 1
    # lottery 1 is archived with a summary whose hash is not the one the bridge expects
    fake.state.dual_write = DualWrite(
        enabled=True, expected={2: "0x" + "bb" * 32, 1: "0x" + "cc" * 32}
    )
    fake.state.set_lottery(1, status=LotteryStatus.FINALIZED)
    fake.emit("history::LotteryFinalizedEvent", id="1")
    findings = await watch.observe(await fake.snapshot(lottery_ids=[1, 2]))
    assert (
        watch.report.dual_write_mismatch == 1 and watch.report.dual_write_mismatch_free_seconds == 0
    )
    (finding,) = findings
    assert finding.kind is FindingKind.DUAL_WRITE_MISMATCH and finding.lottery_id == 1
    assert "0x" + "cc" * 32 in finding.description and stored in finding.description
    asked, controls = fake.calls["summary_hash"], fake.calls["dual_write"]
    fake.advance(10)
    await observe(watch, fake)  # no summary written, not a minute yet: the control is not read
    assert fake.calls["dual_write"] == controls
    fake.advance(50)
    assert await watch.observe(await fake.snapshot(lottery_ids=[1, 2])) == ()
    assert fake.calls["summary_hash"] == asked  # a stored summary is read once
    # the hash is cleared: no mismatch, and the days since the last one count from here
    fake.state.dual_write = DualWrite(enabled=True, expected={})
    fake.advance(86_400)
    await observe(watch, fake)
    assert watch.report.dual_write_mismatch == 0
    assert watch.report.dual_write_mismatch_free_seconds == 86_400


async def test_rate_limit_hits_are_the_events_the_chain_kept_read_once_a_minute() -> None:
    fake = chain()
    watch = PlaybookWatch(gateway=fake)  # type: ignore[arg-type]
    await observe(watch, fake)
    # the package drops these with the abort (docs/package.md §10.16); a chain that kept one
    # (another package version) is counted, once
    fake.emit(RATE_LIMIT_EVENT, lottery_id="1", reason_code="1")
    fake.advance(30)
    await observe(watch, fake)
    assert watch.report.purchase_rate_limit_hits == 0  # not a minute yet
    fake.advance(30)
    await observe(watch, fake)
    fake.advance(60)
    await observe(watch, fake)
    assert watch.report.purchase_rate_limit_hits == 1
