"""Move type strings as a node reads and prints them, and table keys in node JSON."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot.localnet.storage.typetags import TypeTag, key_from_json, parse_type, standard_address

PKG = "0x0a" + "bc" * 31


def test_types_print_in_the_standard_form_whatever_their_spelling() -> None:
    text = f"0x1::table::Table<u64, {PKG.upper().replace('0X', '0x')}::lottery_registry::Lottery>"
    tag = parse_type(text)
    assert str(tag) == f"0x1::table::Table<u64, {PKG}::lottery_registry::Lottery>"
    assert parse_type(
        "0x0000000000000000000000000000000000000000000000000000000000000001::a::B"
    ) == (parse_type("0x01::a::B"))
    assert str(parse_type("vector< vector<u8> >")) == "vector<vector<u8>>"
    assert standard_address("0xf") == "0xf" and standard_address("0x10") == "0x" + "0" * 62 + "10"


def test_named_addresses_and_type_parameters_resolve_only_when_given() -> None:
    tag = parse_type(
        "lottery_multi::m::S<K>", named={"lottery_multi": PKG}, params={"K": TypeTag("u8")}
    )
    assert str(tag) == f"{PKG}::m::S<u8>"
    with pytest.raises(ValueError, match="unknown address or type 'lottery_multi'"):
        parse_type("lottery_multi::m::S")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "u64 u8",
        "0x1::m",
        "0x1::m::",
        "vector",
        "vector<u8",
        "0x1::m::S<>",
        "0xzz::m::S",
        "1::m::S",
    ],
)
def test_malformed_types_are_refused_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="invalid Move type"):
        parse_type(text)


def test_keys_are_read_in_node_json() -> None:
    assert key_from_json(TypeTag("u64"), "18446744073709551615") == 2**64 - 1
    assert key_from_json(TypeTag("u8"), 7) == 7
    assert key_from_json(TypeTag("address"), "0xAB") == "0x" + "0" * 62 + "ab"
    for tag, raw in (
        (TypeTag("u64"), 5),
        (TypeTag("u64"), str(2**64)),
        (TypeTag("u64"), "0x5"),
        (TypeTag("u8"), "5"),
        (TypeTag("u8"), True),
        (TypeTag("address"), 5),
        (TypeTag("vector", args=(TypeTag("u8"),)), "0x"),
    ):
        with pytest.raises(ValueError):
            key_from_json(tag, raw)


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
_LEAF = st.sampled_from(["u8", "u16", "u64", "u128", "u256", "bool", "address"]).map(TypeTag)


def _struct(args: st.SearchStrategy[tuple[TypeTag, ...]]) -> st.SearchStrategy[TypeTag]:
    return st.builds(
        lambda a, m, n, xs: TypeTag(
            n.capitalize(), address="0x" + a.hex().rjust(64, "0"), module=m, args=xs
        ),
        st.binary(min_size=1, max_size=32),
        _NAMES,
        _NAMES,
        args,
    )


_TYPES = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        inner.map(lambda t: TypeTag("vector", args=(t,))),
        _struct(st.lists(inner, max_size=3).map(tuple)),
    ),
    max_leaves=8,
)


@given(_TYPES)
def test_printing_then_parsing_is_the_identity(tag: TypeTag) -> None:
    assert parse_type(str(tag)) == tag
