"""Node JSON of every view decodes into the domain value it describes; bad shapes name the field."""

from __future__ import annotations

import contextlib
from typing import Any

import chain_samples as s
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobot.chain import views
from autobot.chain.codec import uint, view_result
from autobot.domain.draws import RetryStrategy, VrfStatus
from autobot.domain.lotteries import LotteryStatus
from autobot.errors import RpcProtocolError


def test_overview_decodes_all_seventeen_fields() -> None:
    overview = views.decode_overview(s.view("views", "status_overview"))
    assert overview.total == 5 and overview.refund_batch_pending == 7
    assert overview.vrf_retry_blocked == 1 and overview.refund_sla_breach is False


def test_bot_decodes_bytes_addresses_and_counters() -> None:
    (bot,) = views.decode_bot_list(s.view("views", "list_automation_bots"))
    assert bot.operator == s.OPERATOR
    assert bot.allowed_actions == (1, 2, 6)
    assert bot.pending_action_hash == bytes.fromhex("ab" * 32)
    assert bot.cron_spec == b"*/5" and bot.last_action_hash == b""
    assert (bot.timelock_secs, bot.failure_count, bot.reputation_score) == (900, 1, 4)
    assert bot.has_pending
    assert views.decode_bot_option({"vec": []}) is None
    assert views.decode_bot_option(s.view("views", "get_automation_bot")) == bot


def test_refund_cancellation_deposit_status_config_accounting() -> None:
    refund = views.decode_refund_progress(s.view("views", "get_refund_progress"))
    assert refund.remaining_tickets == 7 and refund.amount_refunded == 300
    cancel = views.decode_cancellation(s.view("views", "get_cancellation"))
    assert cancel is not None and cancel.previous_status is LotteryStatus.DRAW_REQUESTED
    assert views.decode_cancellation({"vec": []}) is None
    assert views.decode_deposit(s.view("views", "get_vrf_deposit_status")).required_minimum == 1500
    assert views.decode_status(s.view("views", "get_lottery_status")).status is LotteryStatus.ACTIVE
    config = views.decode_config(s.view("views", "get_lottery"))
    assert (config.sales_end, config.rng_count, config.winners_total) == (1_700_000_000, 2, 4)
    assert config.distribution.operations_bps == 1500
    assert config.retry_policy.strategy is RetryStrategy.EXPONENTIAL
    assert config.close_after == 1_700_000_060 and config.event_slug == b"demo"
    assert config.prize_plan[1].reward_payload == b"\x01"
    assert views.decode_accounting(s.view("views", "accounting_snapshot")).total_sales == 1000
    assert views.decode_id_list(s.view("views", "list_active")) == (3, 1)


def test_draw_winners_feed_and_cap() -> None:
    vrf = views.decode_vrf_state(s.view("draw", "vrf_state_view"))
    assert vrf.status is VrfStatus.REQUESTED and vrf.request_id == 42 and not vrf.consumed
    assert views.decode_winner_progress(s.view("payouts", "winner_progress")).winners_pending
    feed = views.decode_price_feed(s.view("price_feed", "get_price_view"))
    assert feed.price == 123_456_789 and feed.clamp_active and feed.decimals == 8
    cap = views.decode_cap(s.view("roles", "payout_batch_cap_view"))
    assert cap is not None and cap.holder == s.PACKAGE and cap.operations_budget_remaining == 900
    assert views.decode_cap({"vec": []}) is None


def test_numbers_accept_json_numbers_and_decimal_strings() -> None:
    assert uint(5, "x") == uint("5", "x") == 5
    assert uint(255, "x", 8) == 255
    assert uint(str(2**64 - 1), "x") == 2**64 - 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.pop("failure_count"), r"list_automation_bots\[0\]\.failure_count: missing"),
        (lambda b: b.update(failure_count="-1"), r"failure_count: expected u64"),
        (
            lambda b: b.update(failure_count=str(2**64)),
            r"failure_count: expected u64.*out of range",
        ),
        (lambda b: b.update(failure_count=1.5), r"failure_count: expected u64"),
        (lambda b: b.update(failure_count=True), r"failure_count: expected u64, got a boolean"),
        (lambda b: b.update(failure_count=" 1"), r"failure_count: expected u64"),
        (lambda b: b.update(failure_count="1" * 5000), r"failure_count: expected u64"),
        (lambda b: b.update(has_pending="true"), r"has_pending: expected a boolean"),
        (lambda b: b.update(cron_spec="2a"), r"cron_spec: expected 0x-prefixed hex"),
        (lambda b: b.update(cron_spec="0x2"), r"cron_spec: expected 0x-prefixed hex"),
        (lambda b: b.update(operator="0x" + "1" * 65), r"operator: expected an address"),
        (lambda b: b.update(allowed_actions="1,2"), r"allowed_actions: expected an array"),
        (lambda b: b.update(allowed_actions=[None]), r"allowed_actions\[0\]: expected u64"),
    ],
)
def test_bad_fields_are_protocol_errors_naming_the_path(mutate: Any, message: str) -> None:
    bot = s.view("views", "list_automation_bots")
    mutate(bot[0])
    with pytest.raises(RpcProtocolError, match=message):
        views.decode_bot_list(bot)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"vec": [1, 2]}, "at most one value"),
        ({"vec": "x"}, r"vec: expected an array"),
        (None, "expected an object"),
        ({}, r"vec: missing"),
    ],
)
def test_bad_options_are_protocol_errors(raw: object, message: str) -> None:
    with pytest.raises(RpcProtocolError, match=message):
        views.decode_cancellation(raw)


def test_unknown_enum_values_are_protocol_errors() -> None:
    status = s.view("views", "get_lottery_status")
    status["status"] = 8
    with pytest.raises(RpcProtocolError, match=r"get_lottery_status\.status: unknown value 8"):
        views.decode_status(status)
    vrf = s.view("draw", "vrf_state_view")
    vrf["attempt"] = 256
    with pytest.raises(RpcProtocolError, match="attempt: expected u8"):
        views.decode_vrf_state(vrf)


def test_view_envelope_must_hold_the_expected_count() -> None:
    assert view_result({"result": [1]}, 1, "v") == [1]
    for body in ({"result": []}, {"result": [1, 2]}, {"res": [1]}, [1], {"result": {"a": 1}}):
        with pytest.raises(RpcProtocolError):
            view_result(body, 1, "v")


def test_extra_fields_from_a_newer_node_are_ignored() -> None:
    body = s.view("views", "status_overview")
    body["new_counter"] = "9"
    assert views.decode_overview(body).total == 5


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

DECODERS: dict[tuple[str, str], Any] = {
    ("views", "status_overview"): views.decode_overview,
    ("views", "list_automation_bots"): views.decode_bot_list,
    ("views", "get_automation_bot"): views.decode_bot_option,
    ("views", "get_refund_progress"): views.decode_refund_progress,
    ("views", "get_cancellation"): views.decode_cancellation,
    ("views", "get_vrf_deposit_status"): views.decode_deposit,
    ("views", "get_lottery_status"): views.decode_status,
    ("views", "get_lottery"): views.decode_config,
    ("views", "accounting_snapshot"): views.decode_accounting,
    ("views", "list_active"): views.decode_id_list,
    ("draw", "vrf_state_view"): views.decode_vrf_state,
    ("payouts", "winner_progress"): views.decode_winner_progress,
    ("price_feed", "get_price_view"): views.decode_price_feed,
    ("roles", "payout_batch_cap_view"): views.decode_cap,
    ("feature_switch", "is_enabled"): views.decode_flag,
}


@settings(max_examples=300)
@given(raw=_json, which=st.sampled_from(list(DECODERS.values())))
def test_arbitrary_json_only_ever_raises_protocol_errors(raw: object, which: Any) -> None:
    with contextlib.suppress(RpcProtocolError):
        which(raw)


def _mutations(sample: Any) -> st.SearchStrategy[Any]:
    """The sample with one field replaced by arbitrary JSON (deep-ish, keeps most shape valid)."""
    if isinstance(sample, dict) and sample:
        return st.sampled_from(sorted(sample)).flatmap(
            lambda key: st.one_of(_json, _mutations(sample[key])).map(lambda v: {**sample, key: v})
        )
    if isinstance(sample, list) and sample:
        return st.one_of(_json, _mutations(sample[0])).map(lambda v: [v, *sample[1:]])
    return _json


@settings(max_examples=300)
@given(data=st.data(), key=st.sampled_from(sorted(s.VIEWS)))
def test_near_valid_samples_decode_or_raise_protocol_errors(
    data: st.DataObject, key: tuple[str, str]
) -> None:
    decoder = DECODERS[key]
    raw = data.draw(_mutations(s.view(*key)))
    with contextlib.suppress(RpcProtocolError):
        decoder(raw)
