"""Hostile input at the chain boundary: whatever a node (or anything on its port) answers, autobot
gets a typed value or ``RpcProtocolError``, and an abort code is always named.

Complements the shape fuzzing in ``test_chain_responses.py`` and ``test_chain_views_codec.py``
(arbitrary JSON for every decoder) with what those rarely reach: the abort text inside an otherwise
valid envelope (``vm_status``), near-valid transaction/simulation/event envelopes, and the
abort-code table over the whole u64 range.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from typing import Any

import chain_samples as samples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autobot.chain import responses
from autobot.chain.aborts import (
    ABORT_NAMES,
    abort_name,
    abort_name_in,
    format_vm_status,
    parse_vm_status,
)
from autobot.chain.gateway import SimResult, TxOutcome, TxStatus
from autobot.errors import MoveAbort, RpcProtocolError

MAX_U64 = 2**64 - 1
TX_HASH = "0x" + "11" * 32
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ADDRESS = re.compile(r"0x[0-9a-f]{64}")

# -- vm_status text ------------------------------------------------------------------------------

_code_text = st.one_of(
    st.integers(min_value=0, max_value=2**80).map(str),
    st.integers(min_value=0, max_value=2**80).map(hex),
    st.integers(min_value=0, max_value=2**80).map(lambda n: hex(n).upper().replace("0X", "0x")),
    st.text("0123456789", min_size=1, max_size=6000),  # past int()'s 4300-digit limit
    st.text("0123456789abcdefABCDEFx", min_size=1, max_size=40),
    st.text(min_size=0, max_size=8),  # anything, incl. Unicode digits ("١٢")
)
_module_text = st.one_of(
    st.sampled_from(["draw", "automation", "roles", "coin", "table", "_x"]),
    st.text(max_size=12),
)
_address_text = st.one_of(
    st.just(samples.PACKAGE),
    st.just("0x1"),
    st.binary(min_size=0, max_size=40).map(lambda b: "0x" + b.hex()),
    st.text(max_size=10),
)
_name_text = st.one_of(
    st.sampled_from(["E_VRF_PENDING", "UNKNOWN", "EINSUFFICIENT_BALANCE", ""]), st.text(max_size=12)
)
_separator = st.sampled_from([": ", ":", " : ", ":\u2003", ":\n", "::", " "])
_near_vm_status = st.builds(
    lambda address, module, sep, name, code, named, tail: (
        f"Move abort in {address}::{module}{sep}" + (f"{name}({code})" if named else code) + tail
    ),
    _address_text,
    _module_text,
    _separator,
    _name_text,
    _code_text,
    st.booleans(),
    st.sampled_from(["", ": description", ")", "xyz", " 0x1", "\x00"]),
)
_vm_status = st.one_of(_near_vm_status, st.text(max_size=200))


def _check_parsed(text: str) -> None:
    parsed = parse_vm_status(text)
    if parsed is None:
        return
    assert 0 <= parsed.code <= MAX_U64
    assert _ADDRESS.fullmatch(parsed.address)
    assert _IDENTIFIER.fullmatch(parsed.module)
    assert parsed.name


@settings(max_examples=600)
@given(_vm_status)
@example("Move abort in 0x1::m: E(" + "9" * 5000 + ")")  # int()'s digit limit: a ValueError once
@example("Move abort in 0x1::m: " + "7" * 4301)
def test_any_vm_status_text_parses_to_a_u64_abort_or_none(text: str) -> None:
    _check_parsed(text)


@settings(max_examples=300)
@given(_vm_status)
def test_any_vm_status_gives_a_move_abort_with_a_u64_code_or_none(text: str) -> None:
    abort = responses.abort_from_vm_status(text)
    assert abort is None or (isinstance(abort, MoveAbort) and 0 <= abort.code <= MAX_U64)
    if abort is not None:
        assert len(abort.vm_status) <= 500


def test_a_code_beyond_u64_or_beyond_the_digit_limit_is_not_an_abort() -> None:
    # given: codes no Move VM can raise
    texts = [
        "Move abort in 0x1::m: E(" + "9" * 5000 + ")",
        "Move abort in 0x1::m: " + "9" * 5000,
        "Move abort in 0x1::m: E(0x10000000000000000)",
        "Move abort in 0x1::m: E(18446744073709551616)",
        "Move abort in 0x1::m: E(\u0661\u0662)",  # Arabic-Indic digits
    ]
    # when / then
    assert [parse_vm_status(t) for t in texts] == [None] * len(texts)


def test_the_largest_u64_code_is_read_with_or_without_leading_zeros() -> None:
    for text in ("E(0xffffffffffffffff)", "E(0x0000ffffffffffffffff)", "E(18446744073709551615)"):
        parsed = parse_vm_status(f"Move abort in 0x1::m: {text}")
        assert parsed is not None and parsed.code == MAX_U64


# -- abort names ---------------------------------------------------------------------------------


@settings(max_examples=500)
@given(
    code=st.one_of(st.sampled_from(sorted(ABORT_NAMES)), st.integers(0, MAX_U64)),
    module=_module_text,
)
def test_every_u64_code_has_a_name_and_unknown_ones_say_unknown_hex(code: int, module: str) -> None:
    name = abort_name(code)
    if code in ABORT_NAMES:
        assert name == ABORT_NAMES[code] and name.startswith("E_")
    else:
        assert name == f"unknown(0x{code:x})"
    in_module = abort_name_in(module, code)
    assert in_module == name or (code == 0x1A01 and in_module == "E_BCS_DECODE")


@settings(max_examples=300)
@given(code=st.integers(0, MAX_U64), module=st.from_regex(_IDENTIFIER, fullmatch=True))
def test_an_unknown_code_in_a_node_status_is_named_unknown_hex(code: int, module: str) -> None:
    # given: the localnet's rendering of the abort (unknown codes are printed as UNKNOWN)
    text = format_vm_status(samples.PACKAGE, module, code)
    # when
    abort = responses.abort_from_vm_status(text)
    # then
    assert abort is not None and abort.code == code
    if code not in ABORT_NAMES:
        assert abort.name == f"unknown(0x{code:x})"


# -- transaction, simulation, events, block and account envelopes --------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | _vm_status,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)

_EVENT = {"guid": {}, "sequence_number": "0", "type": "0x1::m::E", "data": {"a": "1"}}
_TRANSACTION: dict[str, Any] = {
    "hash": TX_HASH,
    "status": "Fail",
    "block_header": {"height": 7, "hash": "0x" + "22" * 32, "timestamp": {"timestamp": "1"}},
    "output": {
        "Move": {
            "gas_used": 12,
            "events": [_EVENT],
            "vm_status": f"Move abort in {samples.PACKAGE}::draw: E_VRF_RETRY_WINDOW(0x1709)",
        }
    },
}
_EVENTS = {"data": [{"event": _EVENT, "block_height": "3", "transaction_hash": "0x" + "aa" * 32}]}
_BLOCK = {"header": {"height": 12, "timestamp": {"timestamp": 1_700_000_000_123_456}}}
_ACCOUNT = {"sequence_number": "7", "authentication_key": "0x" + "00" * 32}


def _mutations(sample: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """``sample`` with one field (at any depth) replaced, removed, or given a hostile text."""
    leaf = st.one_of(_json, _vm_status)
    if depth > 6:
        return leaf
    if isinstance(sample, dict) and sample:

        def change(key: str) -> st.SearchStrategy[Any]:
            replaced = st.one_of(leaf, _mutations(sample[key], depth + 1)).map(
                lambda v: {**sample, key: v}
            )
            removed = st.just({k: v for k, v in sample.items() if k != key})
            return st.one_of(replaced, removed)

        return st.sampled_from(sorted(sample)).flatmap(change)
    if isinstance(sample, list) and sample:
        return st.one_of(
            st.one_of(leaf, _mutations(sample[0], depth + 1)).map(lambda v: [v, *sample[1:]]),
            st.just([]),
            st.just(sample * 3),
        )
    return leaf


def _typed_outcome(outcome: TxOutcome) -> None:
    assert isinstance(outcome.state, TxStatus)
    assert outcome.abort is None or 0 <= outcome.abort.code <= MAX_U64
    assert outcome.block_height is None or 0 <= outcome.block_height <= MAX_U64
    assert 0 <= outcome.gas_used <= MAX_U64


@settings(max_examples=500)
@given(_mutations(_TRANSACTION))
def test_near_valid_transaction_status_is_typed_or_a_protocol_error(body: Any) -> None:
    with contextlib.suppress(RpcProtocolError):
        _typed_outcome(responses.decode_transaction(body, TX_HASH))


@settings(max_examples=300)
@given(
    st.sampled_from(["Pending", "PendingAfterExecution", "Success", "Fail", "Invalid"]), _vm_status
)
def test_a_transaction_with_any_vm_status_decodes(status: str, vm_status: str) -> None:
    # given: a well-formed envelope whose status text is anything at all
    body = copy.deepcopy(_TRANSACTION)
    body["status"] = status
    body["output"]["Move"]["vm_status"] = vm_status
    # when
    outcome = responses.decode_transaction(body, TX_HASH)
    simulated = responses.decode_simulation(body)
    # then
    _typed_outcome(outcome)
    assert isinstance(simulated, SimResult)
    assert (outcome.abort is not None) <= (status == "Fail")


@settings(max_examples=400)
@given(_mutations(_TRANSACTION))
def test_near_valid_simulation_is_typed_or_a_protocol_error(body: Any) -> None:
    with contextlib.suppress(RpcProtocolError):
        result = responses.decode_simulation(body)
        assert result.abort is None or 0 <= result.abort.code <= MAX_U64


@settings(max_examples=300)
@given(_mutations(_EVENTS))
def test_near_valid_event_pages_are_typed_or_a_protocol_error(body: Any) -> None:
    with contextlib.suppress(RpcProtocolError):
        for event in responses.decode_events(body):
            assert isinstance(event.data, dict) and 0 <= event.block_height <= MAX_U64


@settings(max_examples=200)
@given(_mutations(_BLOCK), _mutations(_ACCOUNT), st.one_of(_json, st.just(TX_HASH)))
def test_near_valid_blocks_accounts_and_submit_answers_are_typed_or_protocol_errors(
    block: Any, account: Any, submitted: Any
) -> None:
    with contextlib.suppress(RpcProtocolError):
        micros, height = responses.decode_block(block)
        assert 0 <= micros <= MAX_U64 and 0 <= height <= MAX_U64
    with contextlib.suppress(RpcProtocolError):
        assert 0 <= responses.decode_account_sequence(account) <= MAX_U64
    with contextlib.suppress(RpcProtocolError):
        assert re.fullmatch(r"0x[0-9a-f]{64}", responses.decode_submit(submitted))


@settings(max_examples=300)
@given(
    st.one_of(
        st.binary(max_size=300),
        _json.map(lambda v: json.dumps(v).encode()),
        _vm_status.map(lambda t: json.dumps({"message": t}).encode()),
    )
)
def test_an_error_body_becomes_one_short_line(body: bytes) -> None:
    text = responses.error_message(body)
    assert len(text) <= 300 and "\n" not in text and "\r" not in text


@settings(max_examples=200)
@given(_json.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=100))
def test_any_body_is_json_or_a_protocol_error(raw: bytes) -> None:
    with contextlib.suppress(RpcProtocolError):
        responses.parse_json(raw, "x")
