"""Domain values: address normalisation, chain time, action ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot.domain.actions import (
    LOTTERY_KINDS,
    MIN_SENSITIVE_TIMELOCK_SECS,
    SENSITIVE_ACTIONS,
    ActionId,
    ActionKey,
    ActionKind,
    Subject,
    is_sensitive,
)
from autobot.domain.values import ChainTime, is_address, normalise_address


def test_short_and_upper_case_addresses_normalise_to_one_spelling() -> None:
    assert normalise_address("0x1") == "0x" + "0" * 63 + "1"
    assert normalise_address("0XABC") == "0x" + "0" * 61 + "abc"
    full = "0x" + "ab" * 32
    assert normalise_address(full.upper().replace("0X", "0x")) == full
    assert is_address(normalise_address("0x1"))


@pytest.mark.parametrize(
    "text", ["", "0x", "1", "0xg1", "0x" + "1" * 65, " 0x1", "0x1 ", "x01", "0x-1"]
)
def test_non_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an account address"):
        normalise_address(text)


@given(st.binary(min_size=1, max_size=32))
def test_normalisation_is_idempotent_and_keeps_the_value(raw: bytes) -> None:
    once = normalise_address("0x" + raw.hex())
    assert normalise_address(once) == once
    assert int(once, 16) == int.from_bytes(raw, "big")


def test_chain_time_from_block_micros_keeps_precision_and_height() -> None:
    t = ChainTime.from_micros(1_700_000_000_999_999, height=12, observed_at=5.0)
    assert (t.seconds, t.micros, t.height, t.observed_at) == (
        1_700_000_000,
        1_700_000_000_999_999,
        12,
        5.0,
    )
    assert ChainTime(seconds=10, height=1).micros == 10_000_000
    with pytest.raises(ValueError):
        ChainTime(seconds=-1, height=0)


def test_sensitive_ids_are_5_6_7_and_need_900_seconds() -> None:
    assert {5, 6, 7} == SENSITIVE_ACTIONS
    assert MIN_SENSITIVE_TIMELOCK_SECS == 900
    assert [a for a in ActionId if is_sensitive(a)] == [
        ActionId.UNPAUSE,
        ActionId.PAYOUT_BATCH,
        ActionId.CANCEL,
    ]


def test_action_kinds_route_to_the_decided_ids() -> None:
    assert ActionKind.CLOSE.action_id == ActionId.AUTO_CLOSE
    assert ActionKind.DRAW.action_id == ActionId.RETRY_VRF
    assert ActionKind.SCHEDULE.action_id == ActionId.RETRY_VRF
    assert ActionKind.WINNERS.action_id == ActionId.RETRY_VRF
    assert ActionKind.REFUND.action_id == ActionId.PAYOUT_BATCH
    assert ActionKind.CANCEL.sensitive and ActionKind.REFUND.sensitive
    assert is_sensitive(ActionId.UNPAUSE)  # no kind of autobot's unpauses (yet)
    for kind in (ActionKind.FALLBACK, ActionKind.CLAMP, ActionKind.ROTATE):
        assert kind.action_id is None and not kind.sensitive


def test_each_kind_names_its_subject_and_the_lottery_kinds_are_those_naming_a_lottery() -> None:
    assert {k for k in ActionKind if k.subject is Subject.ASSET} == {
        ActionKind.FALLBACK, ActionKind.CLAMP
    }  # fmt: skip
    assert [k for k in ActionKind if k.subject is Subject.OPERATOR] == [ActionKind.ROTATE]
    assert {
        ActionKind.CLOSE, ActionKind.DRAW, ActionKind.SCHEDULE, ActionKind.WINNERS,
        ActionKind.REFUND, ActionKind.CANCEL,
    } == LOTTERY_KINDS  # fmt: skip


def test_an_action_key_of_an_operator_kind_names_an_address_and_the_others_an_id() -> None:
    assert ActionKey.parse("rotate:0xab:3").subject_id == 0
    assert ActionKey.parse("refund:4:1").subject_id == 4
    with pytest.raises(ValueError, match="address"):
        ActionKey(ActionKind.ROTATE, 4, 1)
    with pytest.raises(ValueError, match="names an id"):
        ActionKey(ActionKind.CLOSE, "0xab", 0)
    with pytest.raises(ValueError, match="no kind 'launch'"):
        ActionKey.parse("launch:1:0")
