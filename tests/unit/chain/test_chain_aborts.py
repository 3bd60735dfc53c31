"""The abort-code table and the node's vm_status text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot.chain.aborts import (
    ABORT_NAMES,
    NOT_YET_CODES,
    ParsedAbort,
    abort_name,
    abort_name_in,
    format_vm_status,
    parse_vm_status,
)

PACKAGE = "0xbc959517601034979f21fa2f2f41862219ea38554be27c2fdb4fd9a392caafe0"


def test_every_code_the_domain_reference_names_is_in_the_table() -> None:
    expected = {
        0x1103: "E_ROLES_NOT_INITIALIZED",
        0x1202: "E_REGISTRY_MISSING",
        0x1210: "E_DRAW_STATUS_INVALID",
        0x1401: "E_FEATURE_UNKNOWN",
        0x1501: "E_PAGINATION_LIMIT",
        0x1701: "E_VRF_PENDING",
        0x1710: "E_VRF_MANUAL_DEADLINE",
        0x1809: "E_PAYOUT_BATCH_COOLDOWN",
        0x1819: "E_REFUND_PROGRESS_FUNDS",
        0x1908: "E_PRICE_CLAMP_NOT_ACTIVE",
        0x1A06: "E_AUTOBOT_FAILURE_LIMIT",
        0x1A0C: "E_AUTOBOT_CALLER_MISMATCH",
        0x1B05: "E_HISTORY_EXPECTED_MISSING",
    }
    for code, name in expected.items():
        assert ABORT_NAMES[code] == name


def test_an_unknown_code_is_named_with_lowercase_hex() -> None:
    assert abort_name(0xBEEF) == "unknown(0xbeef)"


def test_not_yet_codes_are_the_four_wait_and_retry_aborts() -> None:
    assert {abort_name(c) for c in NOT_YET_CODES} == {
        "E_VRF_RETRY_WINDOW",
        "E_AUTOBOT_TIMELOCK",
        "E_PAYOUT_BATCH_COOLDOWN",
        "E_VRF_REQUESTS_PAUSED",
    }


def test_the_shared_code_0x1a01_is_named_per_module() -> None:
    assert abort_name_in("automation", 0x1A01) == "E_AUTOBOT_REGISTRY_MISSING"
    assert abort_name_in("history", 0x1A01) == "E_BCS_DECODE"


def test_vm_status_has_the_full_address_module_name_and_hex_code() -> None:
    text = format_vm_status(PACKAGE, "draw", 0x1709)
    assert text == f"Move abort in {PACKAGE}::draw: E_VRF_RETRY_WINDOW(0x1709)"


def test_vm_status_pads_a_short_address_to_64_hex() -> None:
    text = format_vm_status("0x1", "table", 0x6507)
    assert text.startswith("Move abort in 0x" + "0" * 63 + "1::table: UNKNOWN(0x6507)")


def test_parse_reads_back_what_format_writes() -> None:
    parsed = parse_vm_status(format_vm_status(PACKAGE, "automation", 0x1A01))
    assert parsed == ParsedAbort(
        address=PACKAGE, module="automation", name="E_AUTOBOT_REGISTRY_MISSING", code=0x1A01
    )


def test_parse_tolerates_short_addresses_descriptions_and_unknown_names() -> None:
    parsed = parse_vm_status("Move abort in 0x1::coin: EINSUFFICIENT_BALANCE(0x10006): too low")
    assert parsed is not None
    assert (parsed.module, parsed.name, parsed.code) == ("coin", "EINSUFFICIENT_BALANCE", 0x10006)
    assert parsed.address == "0x" + "0" * 63 + "1"


def test_parse_names_a_bare_code_from_the_table() -> None:
    parsed = parse_vm_status(f"Move abort in {PACKAGE}::draw: 0x1701")
    assert parsed is not None
    assert parsed.name == "E_VRF_PENDING"


@pytest.mark.parametrize("text", ["Executed successfully", "OUT_OF_GAS", ""])
def test_parse_returns_none_for_other_statuses(text: str) -> None:
    assert parse_vm_status(text) is None


@given(
    code=st.integers(min_value=0, max_value=2**64 - 1),
    module=st.sampled_from(["draw", "automation", "roles"]),
)
def test_format_then_parse_keeps_module_and_code(code: int, module: str) -> None:
    parsed = parse_vm_status(format_vm_status(PACKAGE, module, code))
    assert parsed is not None
    assert (parsed.module, parsed.code) == (module, code)
    assert parsed.name == abort_name_in(module, code)
