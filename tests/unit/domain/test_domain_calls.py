"""Calls: exact, range-checked arguments and the helpers' spelling of every entry function."""

from __future__ import annotations

import pytest

from autobot.domain import calls
from autobot.domain.calls import U8, U64, Address, Bool, Bytes, Call, OptU64, VecU64


@pytest.mark.parametrize(
    "build",
    [
        lambda: U8(256),
        lambda: U8(-1),
        lambda: U64(2**64),
        lambda: U64(True),
        lambda: U64(1.0),
        lambda: Bool(1),
        lambda: Bytes("00"),
        lambda: VecU64([1]),
        lambda: VecU64((1, -1)),
        lambda: OptU64(-5),
        lambda: Address("zz"),
    ],
)
def test_impossible_arguments_are_refused_when_built(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_address_argument_is_normalised() -> None:
    assert Address("0x1").value == "0x" + "0" * 63 + "1"


def test_helpers_spell_entry_functions_with_typed_args() -> None:
    call = calls.advance_status(1, 2)
    assert call == Call(module="lottery_registry", function="advance_status", args=(U64(1), U8(2)))
    assert call.render() == "lottery_registry::advance_status(u64:1, u8:2)"
    assert calls.cancel_lottery_admin(3, 1, 99).args == (U64(3), U8(1), U64(99))
    assert (
        calls.set_fallback(1, True, 2).render()
        == "price_feed::set_fallback(u64:1, bool:true, u8:2)"
    )
    rotate = calls.rotate_bot(b"*/5", (1, 2), 900, 3, 10**9)
    assert rotate.needs_operator and not call.needs_operator
    assert rotate.args[1] == VecU64((1, 2))
    assert calls.record_failure(2, b"\x01", 5, 0x1709).render().endswith("u64:5, u64:5897)")
    assert call.function_id("0xbc") == "0x" + "0" * 62 + "bc::lottery_registry::advance_status"


def test_every_helper_builds() -> None:
    h = b"\x00" * 32
    built = [
        calls.request_draw_admin(1, 2, 3, 6, 1),
        calls.schedule_manual_retry_admin(1, 2, 3),
        calls.compute_winners_admin(1, 50),
        calls.force_refund_batch_admin(1, 1, 10, 80, 20, 5),
        calls.archive_canceled_lottery_admin(1, 6),
        calls.resume_requests(7),
        calls.record_snapshot_admin(1, 2, 3, 4),
        calls.clear_clamp(1, 8),
        calls.update_price(1, 100, 9),
        calls.register_bot(b"", (1,), 0, 1, 1),
        calls.announce_dry_run(1, h, 1, 2),
        calls.record_success(1, h, 3),
        calls.report_call_rejected(1, h, 4),
    ]
    assert all(isinstance(c, Call) and c.render() for c in built)
