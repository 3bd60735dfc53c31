"""RPC envelopes: arbitrary bytes or JSON never escape as anything but ``RpcProtocolError``."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobot.chain import responses
from autobot.errors import RpcProtocolError

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "header",
                    "timestamp",
                    "height",
                    "status",
                    "output",
                    "Move",
                    "data",
                    "event",
                    "vm_status",
                    "events",
                    "gas_used",
                    "block_height",
                    "transaction_hash",
                    "type",
                    "sequence_number",
                    "block_header",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)

DECODERS = [
    responses.decode_block,
    responses.decode_account_sequence,
    responses.decode_submit,
    lambda body: responses.decode_transaction(body, "0x" + "00" * 32),
    responses.decode_simulation,
    responses.decode_events,
]


@settings(max_examples=400)
@given(body=_json, index=st.integers(0, len(DECODERS) - 1))
def test_arbitrary_json_only_raises_protocol_errors(body: object, index: int) -> None:
    with contextlib.suppress(RpcProtocolError):
        DECODERS[index](body)


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_protocol_errors(raw: bytes) -> None:
    with contextlib.suppress(RpcProtocolError):
        responses.parse_json(raw, "x")


def test_oversized_and_too_deep_bodies_are_refused() -> None:
    with pytest.raises(RpcProtocolError, match="too large"):
        responses.parse_json(b" " * (responses.MAX_BODY_BYTES + 1), "x")
    with pytest.raises(RpcProtocolError, match="not JSON"):
        responses.parse_json(b"[" * 200_000, "x")
    with pytest.raises(RpcProtocolError, match="not JSON"):
        responses.parse_json(b"9" * 10_000, "x")


def test_block_and_account_envelopes() -> None:
    block = {"header": {"height": 12, "timestamp": {"timestamp": 1_700_000_000_123_456}}}
    assert responses.decode_block(block) == (1_700_000_000_123_456, 12)
    with pytest.raises(RpcProtocolError, match=r"block.header.height"):
        responses.decode_block({"header": {"height": -1, "timestamp": {"timestamp": 1}}})
    assert responses.decode_account_sequence({"sequence_number": "7"}) == 7


def test_events_data_may_be_a_list_or_one_object() -> None:
    item = {
        "event": {"guid": {}, "sequence_number": "1", "type": "0x1::m::E", "data": {}},
        "block_height": 3,
        "transaction_hash": "0x" + "aa" * 32,
    }
    assert len(responses.decode_events({"data": [item, item]})) == 2
    assert len(responses.decode_events({"data": item})) == 1


def test_error_messages_are_short_and_single_line() -> None:
    assert responses.error_message(json.dumps({"message": "a\nb"}).encode()) == "a b"
    assert len(responses.error_message(b"x" * 10_000)) == 300
    assert responses.error_message(b"\xff\xfe plain").endswith("plain")


def test_vm_status_without_an_abort_gives_none() -> None:
    assert responses.abort_from_vm_status("Executed successfully") is None
    abort = responses.abort_from_vm_status(
        "Move abort in 0x1::coin: EINSUFFICIENT_BALANCE(0x10006): x"
    )
    assert abort is not None and (abort.code, abort.module, abort.name) == (
        0x10006,
        "coin",
        "EINSUFFICIENT_BALANCE",
    )
