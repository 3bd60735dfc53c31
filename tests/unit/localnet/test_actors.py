"""The localnet's buyers and treasury: their system calls, run against the package model."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import pytest
from model_builders import ADMIN, NOW, OP_A, OP_B, call, demo_model, fulfil, request

from autobot.localnet.buyers import Buyers, burst_buyer_address
from autobot.localnet.model import LotteryStatus, ModelAbort, PackageModel
from autobot.localnet.model.core import sha3
from autobot.localnet.model.registry import summary_bcs
from autobot.localnet.oracle import SystemCall
from autobot.localnet.scenario import (
    BurstSpec,
    BuyersSpec,
    ExpectedHashMode,
    TreasuryLotterySpec,
    TreasurySpec,
    mismatch_hash,
    partner_address,
    pool_buyer_address,
    seed,
)
from autobot.localnet.treasury import RETRY_SECONDS, Treasury

BLOCK = 12  # chain seconds between blocks (200 ms at time scale 60)


@dataclass
class Outcome:
    call: SystemCall
    code: int | None  # None: success


@dataclass
class Run:
    """Blocks of one actor against a model: every call executed as the node would."""

    model: PackageModel
    now: int = NOW
    height: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def block(self, calls: list[SystemCall], treasury: Treasury | None = None) -> list[Outcome]:
        done = []
        for c in calls:
            try:
                self.model.call(c.module, c.function, signers=c.signers, args=c.args, system=True)
                outcome = Outcome(c, None)
            except ModelAbort as abort:
                outcome = Outcome(c, abort.code)
            if treasury is not None:
                treasury.settled(c, success=outcome.code is None)
            done.append(outcome)
        self.outcomes += done
        return done

    def buyers(self, buyers: Buyers, seconds: int) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += BLOCK
            self.height += 1
            self.block(buyers.due_calls(now_s=self.now, height=self.height, model=self.model))

    def treasury(self, treasury: Treasury, seconds: int) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += BLOCK
            self.block(treasury.due_calls(now_s=self.now, model=self.model), treasury)

    def codes(self, function: str = "") -> Counter[int | None]:
        return Counter(o.code for o in self.outcomes if o.call.function.endswith(function))


# --- buyers ---------------------------------------------------------------------------------


def test_buyers_buy_on_selling_lotteries_at_their_rate() -> None:
    model = demo_model()  # lottery 5 sells until NOW + 7 days; lottery 1's sales are over
    run = Run(model)
    before = model.state.sales[5].tickets_sold
    run.buyers(Buyers(settings=BuyersSpec(purchases_per_minute=2.0), genesis_ts=NOW), 600)
    calls = [o.call for o in run.outcomes]
    assert {c.args[0] for c in calls} == {5}
    assert 19 <= len(calls) <= 21  # two a minute for ten minutes
    assert run.codes() == Counter({None: len(calls)})
    assert all(c.actor == "buyer" and c.signers == (c.sender,) for c in calls)
    assert all(c.args[2] <= run.now and c.args[3] <= run.height for c in calls)
    bought = sum(int(str(c.args[1])) for c in calls)
    assert model.state.sales[5].tickets_sold == before + bought


def test_after_a_jump_in_time_buyers_catch_up_at_most_a_minute() -> None:
    model = demo_model()
    buyers = Buyers(settings=BuyersSpec(purchases_per_minute=6.0), genesis_ts=NOW)
    calls = buyers.due_calls(now_s=NOW + 3_600, height=1, model=model)
    assert 5 <= len(calls) <= 7  # six a minute, one minute's worth


def test_bursts_trip_the_block_and_window_limits_once() -> None:
    model = demo_model()
    spec = BuyersSpec(
        purchases_per_minute=0.001,
        bursts=(
            BurstSpec(lottery=5, at=100, purchases=70, buyers=70),
            BurstSpec(lottery=5, at=200, purchases=12, buyers=1),
        ),
    )
    buyers = Buyers(settings=spec, genesis_ts=NOW)
    run = Run(model)
    run.buyers(buyers, 400)
    assert run.codes() == Counter({None: 64 + 10, 0x1608: 6, 0x1609: 2})
    window = [o.call for o in run.outcomes if o.code == 0x1609]
    assert {c.sender for c in window} == {burst_buyer_address(1, 0)}
    assert all(c.args[2] == NOW + 200 for c in window)  # the burst's own clock


def test_new_buyers_in_the_last_15_seconds_are_refused() -> None:
    model = demo_model()
    end = model.state.lotteries[5].config.sales_end
    spec = BuyersSpec(
        purchases_per_minute=0.001,
        bursts=(BurstSpec(lottery=5, at=end - NOW - 10, purchases=3, buyers=3),),
    )
    run = Run(model, now=end - 20)
    run.buyers(Buyers(settings=spec, genesis_ts=NOW), 24)
    assert run.codes() == Counter({0x160A: 3})


def test_a_buyer_holding_an_active_premium_cap_buys_through_the_premium_entry() -> None:
    model = demo_model()
    for n in range(3):
        call(model, "roles", "grant_premium_access_admin", pool_buyer_address(n), 0, False, None)
    run = Run(model)
    run.buyers(Buyers(settings=BuyersSpec(purchases_per_minute=6.0, pool=3), genesis_ts=NOW), 120)
    functions = {o.call.function for o in run.outcomes}
    assert functions == {"purchase_tickets_premium"}
    assert run.codes() == Counter({None: len(run.outcomes)})


def test_buyers_leave_a_lottery_once_its_sales_are_over() -> None:
    model = demo_model()
    buyers = Buyers(settings=BuyersSpec(purchases_per_minute=6.0), genesis_ts=NOW)
    run = Run(model)
    run.buyers(buyers, 120)
    call(model, "lottery_registry", "advance_status", 5, 2)  # closed early
    sold = model.state.sales[5].tickets_sold
    run.buyers(buyers, 600)
    assert model.state.sales[5].tickets_sold == sold
    assert not buyers.due_calls(now_s=run.now + BLOCK, height=99, model=model)


def test_a_restored_buyer_schedule_sends_the_same_purchases() -> None:
    spec = BuyersSpec(
        purchases_per_minute=3.0, bursts=(BurstSpec(lottery=5, at=50, purchases=2, buyers=1),)
    )
    straight, resumed = demo_model(), demo_model()
    one = Run(straight)
    one.buyers(Buyers(settings=spec, genesis_ts=NOW), 600)
    two = Run(resumed)
    first = Buyers(settings=spec, genesis_ts=NOW)
    two.buyers(first, 300)
    two.buyers(Buyers.restore(first.to_json()), 300)
    assert [o.call for o in one.outcomes] == [o.call for o in two.outcomes]


def test_buyers_only_buy_on_the_lotteries_in_scope() -> None:
    model = PackageModel(package_address=ADMIN)
    seed(model, scenario="playbook", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    run = Run(model)
    spec = BuyersSpec(purchases_per_minute=6.0, lotteries=(6,))
    run.buyers(Buyers(settings=spec, genesis_ts=NOW), 300)
    assert {o.call.args[0] for o in run.outcomes} == {6}


# --- treasury -------------------------------------------------------------------------------


def at_payout(model: PackageModel, lottery_id: int = 2) -> None:
    if model.state.lotteries[lottery_id].status == LotteryStatus.ACTIVE:
        call(model, "lottery_registry", "advance_status", lottery_id, 2)
    request(model, lottery_id, NOW)
    fulfil(model, lottery_id)
    call(model, "payouts", "compute_winners_admin", lottery_id, 1_000)


def playbook() -> PackageModel:
    model = PackageModel(package_address=ADMIN)
    seed(model, scenario="playbook", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    return model


def treasury(**kwargs: object) -> Treasury:
    options: dict[str, object] = {
        "payout_delay": 60,
        "batch_winners": 4,
        "batch_interval": 24,
        "finalize_delay": 120,
        **kwargs,
    }
    return Treasury(settings=TreasurySpec(**options), admin_address=ADMIN)  # type: ignore[arg-type]


def test_the_treasury_pays_every_winner_in_rounds_then_finalizes() -> None:
    model = demo_model()
    at_payout(model)  # 14 winners
    run = Run(model)
    t = treasury()
    run.treasury(t, 60)
    assert run.outcomes == []  # the payout delay has not passed
    run.treasury(t, 600)
    batches = [o.call for o in run.outcomes if o.call.function == "record_payout_batch_admin"]
    assert [c.args[1:3] for c in batches] == [(1, 4), (2, 4), (3, 4), (4, 2)]
    times = [int(str(c.args[5])) for c in batches]
    assert all(b - a >= 24 for a, b in itertools.pairwise(times))
    acc = model.state.sales[2].accounting
    assert (acc.total_prize_paid, acc.total_operations_paid) == (
        acc.total_allocated,
        acc.total_operations_allocated,
    )
    finalize = run.outcomes[-1].call
    assert finalize.function == "finalize_lottery_admin"
    assert times[-1] + 120 <= int(str(finalize.args[1])) < times[-1] + 120 + BLOCK
    assert model.state.lotteries[2].status == LotteryStatus.FINALIZED
    assert model.state.summaries[2].payout_round == 4
    assert run.codes() == Counter({None: 5})
    assert all(o.call.actor == "treasury" and o.call.signers == (ADMIN,) for o in run.outcomes)


def test_a_partner_payout_first_and_a_matching_expected_hash_before_finalizing() -> None:
    model = playbook()
    at_payout(model, 1)  # 8 winners
    spec = TreasuryLotterySpec(
        id=1,
        partner=partner_address(1),
        partner_amount=250_000,
        expected_hash=ExpectedHashMode.MATCH,
    )
    run = Run(model)
    run.treasury(treasury(overrides=(spec,), lotteries=(1,)), 900)
    functions = [o.call.function for o in run.outcomes]
    assert functions == [
        "record_partner_payout_admin",
        "record_payout_batch_admin",
        "record_payout_batch_admin",
        "set_expected_hash",
        "finalize_lottery_admin",
    ]
    assert run.codes() == Counter({None: 5})
    assert run.outcomes[0].call.args[3] == 1  # the partner cap's next_nonce
    acc = model.state.sales[1].accounting
    assert acc.total_operations_paid == acc.total_operations_allocated  # partner included
    assert model.state.partner_caps[partner_address(1)].remaining_payout == 10**8 - 250_000
    expected = run.outcomes[3].call.args[1]
    assert expected == sha3(summary_bcs(model.state.summaries[1]))
    assert model.view("legacy_bridge", "pending_expected_hashes", []) == [["4"]]  # 1 completed


def test_a_mismatching_expected_hash_stays_pending_after_finalization() -> None:
    model = demo_model()
    at_payout(model)
    spec = TreasuryLotterySpec(id=2, expected_hash=ExpectedHashMode.MISMATCH)
    run = Run(model)
    run.treasury(treasury(overrides=(spec,)), 900)
    assert model.state.lotteries[2].status == LotteryStatus.FINALIZED
    assert model.view("legacy_bridge", "dual_write_status", [2])[0]["expected_hash"] == {  # type: ignore[index]
        "vec": ["0x" + mismatch_hash(2).hex()]
    }


def test_a_late_finalization_waits_for_its_own_delay() -> None:
    model = demo_model()
    at_payout(model)
    spec = TreasuryLotterySpec(id=2, finalize_delay=3_600)
    run = Run(model)
    t = treasury(overrides=(spec,))
    run.treasury(t, 1_800)
    assert model.state.lotteries[2].status == LotteryStatus.PAYOUT
    assert model.state.winners[2].payout_round == 4
    run.treasury(t, 3_600)
    assert model.state.lotteries[2].status == LotteryStatus.FINALIZED


def test_a_refused_batch_is_retried_a_minute_later() -> None:
    model = demo_model()
    at_payout(model)
    call(model, "roles", "revoke_payout_batch_cap_admin")
    run = Run(model)
    t = treasury()
    run.treasury(t, 72)
    assert run.codes() == Counter({0x1104: 1})
    run.treasury(t, RETRY_SECONDS - BLOCK)
    assert len(run.outcomes) == 1  # not before the retry time
    call(model, "roles", "set_payout_batch_cap_admin", ADMIN, 500, 10**15, 0, 0)
    run.treasury(t, 2 * BLOCK)
    assert run.codes("record_payout_batch_admin") == Counter({0x1104: 1, None: 1})


def test_the_treasury_respects_the_caps_cooldown() -> None:
    model = demo_model()
    at_payout(model)
    call(model, "roles", "set_payout_batch_cap_admin", ADMIN, 500, 10**15, 300, 0)
    run = Run(model)
    run.treasury(treasury(), 1_000)
    batches = [o.call for o in run.outcomes if o.call.function == "record_payout_batch_admin"]
    times = [int(str(c.args[5])) for c in batches]
    assert len(times) == 4
    assert all(b - a >= 300 for a, b in itertools.pairwise(times))
    assert run.codes() == Counter({None: len(run.outcomes)})


def test_a_nonce_stride_cap_is_reissued_before_the_first_round() -> None:
    model = demo_model()
    at_payout(model)
    call(model, "roles", "set_payout_batch_cap_admin", ADMIN, 500, 10**15, 0, 1)
    call(model, "payouts", "force_refund_batch_admin", 4, 1, 1, 1, 0, NOW)  # nonce 1 used
    run = Run(model)
    run.treasury(treasury(reissue_cap=True), 600)
    functions = [o.call.function for o in run.outcomes]
    assert functions[:2] == ["set_payout_batch_cap_admin", "record_payout_batch_admin"]
    assert run.codes() == Counter({None: len(run.outcomes)})
    assert model.state.lotteries[2].status == LotteryStatus.FINALIZED


def test_without_reissue_the_stride_blocks_the_treasury() -> None:
    model = demo_model()
    at_payout(model)
    call(model, "roles", "set_payout_batch_cap_admin", ADMIN, 500, 10**15, 0, 1)
    call(model, "payouts", "force_refund_batch_admin", 4, 1, 1, 1, 0, NOW)
    run = Run(model)
    run.treasury(treasury(), 200)
    assert run.codes() == Counter({0x180A: 3})  # retried every minute


def test_a_restored_treasury_carries_on() -> None:
    model = demo_model()
    at_payout(model)
    run = Run(model)
    first = treasury()
    run.treasury(first, 110)
    assert model.state.winners[2].payout_round >= 1
    restored = Treasury.restore(state=first.to_json(), admin_address=ADMIN)
    run.treasury(restored, 600)
    assert model.state.lotteries[2].status == LotteryStatus.FINALIZED
    assert run.codes() == Counter({None: 5})


@pytest.mark.parametrize("lotteries", [(1,), None])
def test_the_treasury_handles_only_lotteries_in_scope(lotteries: tuple[int, ...] | None) -> None:
    model = demo_model()
    at_payout(model)
    run = Run(model)
    run.treasury(treasury(lotteries=lotteries), 900)
    assert (model.state.lotteries[2].status == LotteryStatus.FINALIZED) is (lotteries is None)


def test_buyers_buy_what_is_left_and_stop_when_sold_out() -> None:
    model = demo_model()
    limit = model.state.sales[5].tickets_sold + 7
    config = model.state.lotteries[5].config
    from dataclasses import replace

    model.state.lotteries[5].config = replace(
        config, max_tickets_total=limit, max_tickets_per_address=3
    )
    run = Run(model)
    run.buyers(
        Buyers(settings=BuyersSpec(purchases_per_minute=6.0, quantities=(10,)), genesis_ts=NOW), 600
    )
    assert model.state.sales[5].tickets_sold == limit
    assert run.codes() == Counter({None: len(run.outcomes)})  # never over a limit
    assert all(int(str(o.call.args[1])) <= 3 for o in run.outcomes)
