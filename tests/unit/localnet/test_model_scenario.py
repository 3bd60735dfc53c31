"""Scenario seeding: the demo's state, the empty scenario, TOML files and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from model_builders import ADMIN, NOW, OP_A, OP_B, demo_model

from autobot.localnet.model import LotteryStatus, PackageModel, RetryStrategy
from autobot.localnet.scenario import (
    BurstSpec,
    BuyersSpec,
    CallbackMode,
    CallbackRule,
    ExpectedHashMode,
    ScenarioError,
    TreasuryLotterySpec,
    mismatch_hash,
    partner_address,
    pool_buyer_address,
    seed,
)


def fresh() -> PackageModel:
    return PackageModel(package_address=ADMIN)


def test_demo_lotteries_have_the_documented_statuses_and_sales() -> None:
    model = demo_model()
    statuses = {i: lot.status for i, lot in model.state.lotteries.items()}
    assert statuses == {
        1: LotteryStatus.ACTIVE,
        2: LotteryStatus.CLOSING,
        3: LotteryStatus.CLOSING,
        4: LotteryStatus.CANCELED,
        5: LotteryStatus.ACTIVE,
    }
    assert {i: s.tickets_sold for i, s in model.state.sales.items()} == {
        1: 120,
        2: 80,
        3: 50,
        4: 1234,
        5: 40,
    }
    assert model.state.lotteries[1].config.sales_end < NOW
    assert model.state.lotteries[5].config.sales_end == NOW + 7 * 86_400


def test_demo_prize_plans_have_fewer_winners_than_tickets() -> None:
    model = demo_model()
    for lottery_id, lottery in model.state.lotteries.items():
        plan = lottery.config.prize_plan
        assert 1 <= len(plan) <= 255
        assert sum(s.winners_per_slot for s in plan) < model.state.sales[lottery_id].tickets_sold


def test_demo_accounting_adds_up_to_the_proceeds() -> None:
    model = demo_model()
    for s in model.state.sales.values():
        acc = s.accounting
        assert s.proceeds_accum == s.tickets_sold * 1_234_567 == acc.total_sales
        assert acc.total_allocated + acc.total_operations_allocated == s.proceeds_accum


def test_demo_lottery_3_retries_every_minute_and_gets_no_callbacks() -> None:
    model = PackageModel(package_address=ADMIN)
    info = seed(model, scenario="demo", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    policy = model.state.lotteries[3].config.retry_policy
    assert (policy.strategy, policy.base_delay_secs, policy.max_delay_secs) == (
        RetryStrategy.FIXED,
        60,
        60,
    )
    assert info.callbacks[3] == CallbackRule(mode=CallbackMode.NEVER)
    assert info.callbacks[2] == CallbackRule()
    assert info.pusher_assets == (1, 2)  # 2 stays clamped: small moves pass the clamp
    assert info.callback_delay_seconds == 5


def test_demo_lottery_4_is_canceled_with_refunds_open_and_none_made() -> None:
    model = demo_model()
    record = model.state.cancellations[4]
    assert (record.reason_code, record.canceled_ts, record.tickets_sold) == (3, NOW - 300, 1234)
    sales = model.state.sales[4]
    assert (sales.refund_active, sales.refund_round, sales.refund_tickets_processed) == (True, 0, 0)


def test_demo_bots_cap_and_deposit() -> None:
    model = demo_model()
    a, b = model.state.bots[OP_A], model.state.bots[OP_B]
    assert (a.timelock_secs, a.allowed_actions, a.max_failures) == (900, (1, 2, 6, 7), 3)
    assert (b.timelock_secs, b.allowed_actions, b.max_failures) == (0, (1, 2, 3, 4), 3)
    assert a.expires_at > NOW + 365 * 86_400
    cap = model.state.g.payout_cap
    assert cap is not None
    assert (cap.max_batch_size, cap.cooldown_secs, cap.nonce_stride, cap.holder) == (
        500,
        0,
        0,
        ADMIN,
    )
    deposit = model.state.g.vrf_deposit
    assert deposit is not None
    assert not deposit.requests_paused
    assert deposit.effective_balance >= max(deposit.required_minimum, deposit.effective_floor)


def test_demo_feeds_are_healthy_clamped_and_stale() -> None:
    model = demo_model()
    healthy, clamped, stale = (model.state.feeds[i] for i in (1, 2, 3))
    assert (healthy.clamp_active, healthy.fallback_active, healthy.last_updated_ts) == (
        False,
        False,
        NOW,
    )
    assert clamped.clamp_active
    assert NOW - stale.last_updated_ts > stale.staleness_window


def test_the_empty_scenario_has_ledgers_but_no_lotteries_or_bots() -> None:
    model = fresh()
    info = seed(model, scenario="empty", admin=ADMIN, operators=[], now_ts=NOW)
    assert model.view("views", "status_overview", [NOW])[0]["total"] == "0"  # type: ignore[index]
    assert (info.lottery_ids, info.bots, info.pusher_assets) == ((), (), ())


def test_the_admin_must_be_the_package_address() -> None:
    with pytest.raises(ScenarioError) as caught:
        seed(fresh(), scenario="demo", admin=OP_A, operators=[OP_A, OP_B], now_ts=NOW)
    assert caught.value.problems[0].startswith("admin:")


def test_the_demo_needs_two_operators() -> None:
    with pytest.raises(ScenarioError) as caught:
        seed(fresh(), scenario="demo", admin=ADMIN, operators=[OP_A], now_ts=NOW)
    assert "bots[1].operator" in caught.value.problems[0]


GOOD = """
name = "small"
[oracle]
callback_delay_seconds = 2
[payout_cap]
max_batch_size = 100
operations_budget_total = 5000
[[bots]]
operator = 1
timelock_seconds = 0
allowed_actions = [1, 2]
[[feeds]]
asset_id = 7
price = 1000
pushed = true
[[lotteries]]
id = 11
status = "closing"
tickets_sold = 30
prize_plan = [2, 3]
retry = { strategy = "exponential", base_delay_seconds = 100, max_delay_seconds = 400 }
callbacks = 2
[[lotteries]]
id = 12
status = "canceled"
tickets_sold = 5
cancel_reason = 2
"""


def test_a_toml_scenario_seeds_what_it_declares(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(GOOD)
    model = fresh()
    info = seed(model, scenario=path, admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    assert info.name == "small"
    assert info.callbacks[11] == CallbackRule(mode=CallbackMode.FAIL_FIRST, fail_first=2)
    assert (info.callback_delay_seconds, info.pusher_assets, info.bots) == (2, (7,), (OP_B,))
    assert model.state.lotteries[11].status == LotteryStatus.CLOSING
    assert model.state.lotteries[12].status == LotteryStatus.CANCELED
    assert model.state.cancellations[12].reason_code == 2
    assert model.state.g.vrf_deposit is None
    assert model.state.g.payout_cap is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[lotteries]]\nid = 1\nstatus = "drawn"\n', "lotteries[0].status: expected one of"),
        ('[[lotteries]]\nstatus = "active"\n', "lotteries[0].id: required"),
        (
            '[[lotteries]]\nid = 1\nstatus = "active"\ncolour = 3\n',
            "lotteries[0].colour: unknown key",
        ),
        ('[[lotteries]]\nid = 1\nstatus = "active"\nprize_plan = []\n', "lotteries[0].prize_plan"),
        (
            '[[lotteries]]\nid = 1\nstatus = "active"\ncallbacks = "sometimes"\n',
            "lotteries[0].callbacks",
        ),
        (
            '[[lotteries]]\nid = 1\nstatus = "active"\ncancel_reason = 2\n',
            "lotteries[0].cancel_reason",
        ),
        (
            "[payout_cap]\nmax_batch_size = -1\noperations_budget_total = 1\n",
            "payout_cap.max_batch_size",
        ),
        (
            "[vrf_deposit]\nmin_balance_multiplier_bps = 5000\neffective_floor = 0\n",
            "vrf_deposit.min_balance_multiplier_bps",
        ),
        ("[[feeds]]\nasset_id = 1\nprice = 1\ndecimals = 19\n", "feeds[0].decimals"),
        (
            "[[bots]]\noperator = 0\ntimelock_seconds = 0\nallowed_actions = []\n",
            "bots[0].allowed_actions",
        ),
        ("surprise = true\n", "surprise: unknown key"),
        ("not toml [", "not TOML"),
    ],
)
def test_toml_errors_name_the_key(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        seed(fresh(), scenario=path, admin=ADMIN, operators=[OP_A], now_ts=NOW)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError):
        seed(fresh(), scenario=tmp_path / "nope.toml", admin=ADMIN, operators=[], now_ts=NOW)


def test_a_toml_lottery_can_be_archived_and_given_an_auto_close_grace(tmp_path: Path) -> None:
    path = tmp_path / "scale.toml"
    path.write_text(
        '[[lotteries]]\nid = 1\nstatus = "canceled"\narchived = true\n'
        '[[lotteries]]\nid = 2\nstatus = "active"\nauto_close_grace_seconds = 600\n'
    )
    model = fresh()
    seed(model, scenario=path, admin=ADMIN, operators=[], now_ts=NOW)
    assert model.state.lotteries[1].status == LotteryStatus.CANCELED
    assert 1 in model.state.summaries and model.state.finalized_ids == [1]
    assert model.state.lotteries[2].config.grace_period_secs == 600


def test_only_a_canceled_lottery_without_tickets_can_be_archived(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[lotteries]]\nid = 1\nstatus = "canceled"\ntickets_sold = 5\narchived = true\n'
    )
    with pytest.raises(ScenarioError) as caught:
        seed(fresh(), scenario=path, admin=ADMIN, operators=[], now_ts=NOW)
    assert any("lotteries[0].archived" in p for p in caught.value.problems)


PLAYBOOK_TOML = """
name = "playbook-file"
[payout_cap]
max_batch_size = 500
operations_budget_total = 1000000000
nonce_stride = 1
[[lotteries]]
id = 1
status = "active"
tickets_sold = 4
sales_end_offset_seconds = 3600
max_tickets_total = 50
max_tickets_per_address = 5
[[partner_caps]]
partner = 3
max_total_payout = 1000
expires_offset_seconds = 600
[[partner_caps]]
partner = "0x00000000000000000000000000000000000000000000000000000000000000aa"
max_total_payout = 5
nonce_stride = 2
[[premium_caps]]
holder = 0
expires_offset_seconds = -60
referrer = 1
[dual_write]
abort_on_mismatch = true
[[dual_write.expected]]
lottery = 1
hash = "mismatch"
[[dual_write.expected]]
lottery = 9
hash = "0x0102"
[buyers]
purchases_per_minute = 0.5
pool = 7
quantities = [1, 128]
lotteries = [1]
[[buyers.bursts]]
lottery = 1
at_offset_seconds = 30
purchases = 3
[treasury]
batch_winners = 3
reissue_cap = true
[[treasury.overrides]]
id = 1
partner = 3
partner_amount = 10
expected_hash = "match"
finalize_delay_seconds = 0
"""


def test_a_toml_scenario_seeds_caps_dual_write_and_configures_the_actors(tmp_path: Path) -> None:
    path = tmp_path / "playbook.toml"
    path.write_text(PLAYBOOK_TOML)
    model = fresh()
    info = seed(model, scenario=path, admin=ADMIN, operators=[], now_ts=NOW)
    config = model.state.lotteries[1].config
    assert (config.max_tickets_total, config.max_tickets_per_address) == (50, 5)
    partner = partner_address(3)
    assert model.state.g.partner_index == (partner, "0x" + "0" * 62 + "aa")
    assert model.state.partner_caps[partner].expires_at == NOW + 600
    assert model.state.partner_caps["0x" + "0" * 62 + "aa"].expires_at == 0  # never expires
    holder = model.state.premium_caps[pool_buyer_address(0)]
    assert (holder.expires_at, holder.referrer) == (NOW - 60, pool_buyer_address(1))
    assert model.view("legacy_bridge", "dual_write_flags", [])[0]["abort_on_mismatch"] is True  # type: ignore[index]
    assert model.view("legacy_bridge", "pending_expected_hashes", []) == [["1", "9"]]
    assert model.view("legacy_bridge", "dual_write_status", [1])[0]["expected_hash"] == {  # type: ignore[index]
        "vec": ["0x" + mismatch_hash(1).hex()]
    }
    assert info.buyers == BuyersSpec(
        purchases_per_minute=0.5,
        pool=7,
        quantities=(1, 128),
        lotteries=(1,),
        bursts=(BurstSpec(lottery=1, at=30, purchases=3, buyers=3),),
    )
    assert info.treasury is not None
    assert (info.treasury.batch_winners, info.treasury.reissue_cap) == (3, True)
    assert info.treasury.overrides == (
        TreasuryLotterySpec(
            id=1,
            partner=partner,
            partner_amount=10,
            expected_hash=ExpectedHashMode.MATCH,
            finalize_delay=0,
        ),
    )
    assert info.genesis_ts == NOW


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[buyers]\npurchases_per_minute = 0\n", "buyers.purchases_per_minute"),
        ("[buyers]\nquantities = [0]\n", "buyers.quantities"),
        ("[buyers]\nquantities = [129]\n", "buyers.quantities"),
        ("[buyers]\ncolour = 1\n", "buyers.colour: unknown key"),
        ("[buyers]\n[[buyers.bursts]]\nlottery = 1\npurchases = 2\n", "buyers.bursts[0].at_offset"),
        (
            "[buyers]\n[[buyers.bursts]]\nlottery = 7\nat_offset_seconds = 1\npurchases = 2\n",
            "buyers.bursts[0].lottery: no lottery 7",
        ),
        ("[buyers]\nlotteries = [8]\n", "buyers.lotteries: no lottery 8"),
        ("[treasury]\nbatch_winners = 0\n", "treasury.batch_winners"),
        ("[treasury]\nlotteries = [8]\n", "treasury.lotteries: no lottery 8"),
        (
            '[treasury]\n[[treasury.overrides]]\nid = 1\nexpected_hash = "maybe"\n',
            "treasury.overrides[0].expected_hash",
        ),
        (
            "[treasury]\n[[treasury.overrides]]\nid = 1\npartner = 4\n",
            "treasury.overrides[0].partner: no partner cap",
        ),
        (
            "[treasury]\n[[treasury.overrides]]\nid = 1\npartner_amount = 4\n",
            "treasury.overrides[0].partner_amount: needs a partner",
        ),
        ("[[partner_caps]]\nmax_total_payout = 1\n", "partner_caps[0].partner: required"),
        (
            '[[partner_caps]]\npartner = "nope"\nmax_total_payout = 1\n',
            "partner_caps[0].partner: expected an index or a 0x address",
        ),
        ("[[premium_caps]]\nholder = true\n", "premium_caps[0].holder"),
        (
            '[dual_write]\n[[dual_write.expected]]\nlottery = 1\nhash = "0xz"\n',
            "dual_write.expected[0].hash",
        ),
        (
            '[[lotteries]]\nid = 1\nstatus = "active"\nmax_tickets_total = 0\n',
            "lotteries[0].max_tickets_total",
        ),
        (
            '[[lotteries]]\nid = 1\nstatus = "active"\nmax_tickets_total = 5\n'
            "max_tickets_per_address = 6\n",
            "lotteries[0].max_tickets_per_address: above max_tickets_total",
        ),
        (
            '[[lotteries]]\nid = 1\nstatus = "active"\ntickets_sold = 9\nmax_tickets_total = 5\n',
            "lotteries[0].max_tickets_total: below tickets_sold",
        ),
    ],
)
def test_toml_errors_in_the_new_sections_name_the_key(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[lotteries]]\nid = 1\nstatus = "active"\n' + text if "[[lotteries]]" not in text else text
    )
    with pytest.raises(ScenarioError) as caught:
        seed(fresh(), scenario=path, admin=ADMIN, operators=[OP_A], now_ts=NOW)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_the_playbook_is_the_demo_with_its_traffic() -> None:
    model = fresh()
    info = seed(model, scenario="playbook", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    demo = demo_model()
    for lottery_id in (1, 2, 3, 4, 5):
        assert model.state.lotteries[lottery_id] == demo.state.lotteries[lottery_id]
    six = model.state.lotteries[6]
    assert (six.status, six.config.sales_end) == (LotteryStatus.ACTIVE, NOW + 1_800)
    assert info.buyers is not None and len(info.buyers.bursts) == 3
    assert info.treasury is not None
    assert {o.id for o in info.treasury.overrides} == {1, 2}
    caps = model.view("roles", "list_partner_caps", [])[0]
    assert [int(c["expires_at"]) - NOW for c in caps] == [20 * 3_600, -3_600]  # type: ignore[index]
    assert model.view("legacy_bridge", "pending_expected_hashes", []) == [["4"]]
