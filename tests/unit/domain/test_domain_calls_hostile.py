"""Arbitrary values for Move arguments, calls and the action hash: refused when built, or exact.

The contract (``domain/calls.py``, ``chain/codec.py``): an impossible argument or call raises
``ValueError`` at construction; a valid one encodes to the same bytes every time, decodes back to
its value, and the action hash over it is deterministic. Nothing else may escape: no ``TypeError``,
``OverflowError``, ``UnicodeEncodeError`` at signing time, and never zero bytes for a bad argument.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autobot.chain.codec import action_hash, action_preimage, encode_arg
from autobot.domain import calls as c
from autobot.execution.transcripts import call_from_json, call_to_json
from autobot.localnet.arguments import decode_bcs_argument

MAX_U64 = 2**64 - 1
_BOUNDS = {c.U8: 2**8 - 1, c.U16: 2**16 - 1, c.U64: MAX_U64, c.U128: 2**128 - 1}

_anything: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**130), max_value=2**130)
    | st.floats()
    | st.text(max_size=70)
    | st.binary(max_size=40)
    | st.binary(min_size=1, max_size=32).map(lambda b: "0x" + b.hex()),
    lambda children: st.lists(children, max_size=4) | st.lists(children, max_size=4).map(tuple),
    max_leaves=8,
)
_arg_types = st.sampled_from(
    [c.U8, c.U16, c.U64, c.U128, c.Bool, c.Address, c.Bytes, c.VecU64, c.OptU64]
)


def _valid_args() -> st.SearchStrategy[c.MoveArg]:
    return st.one_of(
        st.integers(0, 255).map(c.U8),
        st.integers(0, 2**16 - 1).map(c.U16),
        st.integers(0, MAX_U64).map(c.U64),
        st.integers(0, 2**128 - 1).map(c.U128),
        st.booleans().map(c.Bool),
        st.binary(min_size=1, max_size=32).map(lambda b: c.Address("0x" + b.hex())),
        st.binary(max_size=100).map(c.Bytes),
        st.lists(st.integers(0, MAX_U64), max_size=5).map(lambda v: c.VecU64(tuple(v))),
        st.one_of(st.none(), st.integers(0, MAX_U64)).map(c.OptU64),
    )


@settings(max_examples=600)
@given(kind=_arg_types, value=_anything)
def test_an_argument_from_any_value_is_refused_when_built_or_is_in_range(
    kind: type[Any], value: Any
) -> None:
    # when
    try:
        arg = kind(value)
    except ValueError:
        return  # refused where it was built, as documented
    # then: what was accepted is exactly representable, and encodes to what decodes back
    if kind in _BOUNDS:
        assert type(arg.value) is int and 0 <= arg.value <= _BOUNDS[kind]
    elif kind is c.VecU64:
        assert all(type(v) is int and 0 <= v <= MAX_U64 for v in arg.value)
    elif kind is c.OptU64:
        assert arg.value is None or (type(arg.value) is int and 0 <= arg.value <= MAX_U64)
    elif kind is c.Address:
        assert len(arg.value) == 66 and arg.value == arg.value.lower()
    encoded = encode_arg(arg)
    assert encoded == encode_arg(kind(value))
    back = decode_bcs_argument(arg.move_type, encoded)
    assert back == (list(arg.value) if kind is c.VecU64 else arg.value)


_names = st.one_of(
    st.sampled_from(["draw", "request_draw_admin", "_x", "x_1", "A"]),
    st.text(max_size=12),  # "", "1abc", "a-b", "\ud800", "é", "_"
    st.integers(),
    st.none(),
)


@settings(max_examples=500)
@given(
    module=_names,
    function=_names,
    args=st.lists(st.one_of(_valid_args(), _anything), max_size=4),
    header=st.tuples(*[st.integers(-5, MAX_U64 + 5)] * 3),
)
def test_a_call_from_any_parts_is_refused_when_built_or_hashes_deterministically(
    module: Any, function: Any, args: list[Any], header: tuple[int, int, int]
) -> None:
    # when
    try:
        call = c.Call(module=module, function=function, args=tuple(args))
    except ValueError:
        return
    # then: a built call always encodes; its names are ASCII Move identifiers
    assert call.module.isascii() and call.function.isascii()
    action_id, subject_id, execute_at = header
    try:
        digest = action_hash(action_id, subject_id, [call], execute_at)
    except ValueError:
        assert not all(0 <= v <= MAX_U64 for v in header)
        return
    assert all(0 <= v <= MAX_U64 for v in header)
    preimage = action_preimage(action_id, subject_id, [call], execute_at)
    assert digest == hashlib.sha3_256(preimage).digest() and len(digest) == 32
    assert digest == action_hash(action_id, subject_id, [c.Call(**_parts(call))], execute_at)


def _parts(call: c.Call) -> dict[str, Any]:
    return {"module": call.module, "function": call.function, "args": call.args}


def test_a_value_that_is_not_a_move_argument_is_refused_not_encoded_as_nothing() -> None:
    for junk in (object(), 5, "0x1", b"\x01", None):
        with contextlib.suppress(ValueError):
            c.Call(module="m", function="f", args=(junk,))
            raise AssertionError(f"{junk!r} was accepted as an argument")
        with contextlib.suppress(ValueError):
            encode_arg(junk)
            raise AssertionError(f"{junk!r} was encoded")


def test_names_that_are_not_move_identifiers_are_refused_when_built() -> None:
    for name in ("", "1draw", "dr-aw", "draw::x", "_", "\ud800", "dráw", "draw\n"):
        with contextlib.suppress(ValueError):
            c.Call(module=name, function="f")
            raise AssertionError(f"{name!r} was accepted as a module name")


@settings(max_examples=300)
@given(
    st.sampled_from(["draw", "payouts", "automation"]),
    st.sampled_from(["f", "request_draw_admin"]),
    st.lists(_valid_args(), max_size=5),
)
def test_a_journaled_call_reads_back_equal(module: str, function: str, args: list[Any]) -> None:
    call = c.Call(module=module, function=function, args=tuple(args))
    assert call_from_json(call_to_json(call)) == call


@settings(max_examples=400)
@given(
    st.one_of(
        _anything,
        st.fixed_dictionaries(
            {"module": _names, "function": _names, "args": st.lists(_anything, max_size=3)}
        ),
        st.fixed_dictionaries(
            {
                "module": st.just("m"),
                "function": st.just("f"),
                "args": st.lists(
                    st.tuples(
                        st.sampled_from(
                            ["u8", "u64", "u128", "bool", "address", "vector<u8>", "vector<u64>",
                             "0x1::option::Option<u64>", "u256"]
                        ),
                        _anything,
                    ).map(list),
                    max_size=3,
                ),
            }
        ),
    )
)  # fmt: skip
def test_any_journal_json_is_a_call_or_a_value_error(data: Any) -> None:
    with contextlib.suppress(ValueError):
        call = call_from_json(data)
        assert call_from_json(call_to_json(call)) == call
