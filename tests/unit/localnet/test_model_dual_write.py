"""legacy_bridge and history: the dual-write control over archive summaries (§4, §6a)."""

from __future__ import annotations

import pytest
from model_builders import (
    ADMIN,
    NOW,
    STRANGER,
    abort,
    add_lottery,
    call,
    demo_model,
    fulfil,
    names,
    request,
)

from autobot.localnet.model import PackageModel
from autobot.localnet.model.core import sha3
from autobot.localnet.model.registry import summary_bcs

WRONG = b"\x99" * 32


def at_payout(model: PackageModel) -> None:
    request(model, 2, NOW)
    fulfil(model, 2)
    call(model, "payouts", "compute_winners_admin", 2, 100)


def finalize_hash(model: PackageModel, at: int) -> bytes:
    """The summary hash ``finalize_lottery_admin(2, at)`` would write (a dry run)."""
    events = model.simulate("payouts", "finalize_lottery_admin", signers=[ADMIN], args=[2, at])
    return bytes.fromhex(str(events[-1].data["archive_slot_hash"])[2:])


def pending(model: PackageModel) -> list[object]:
    return model.view("legacy_bridge", "pending_expected_hashes", [])[0]  # type: ignore[return-value]


def flags(model: PackageModel, enabled: bool, mismatch: bool, missing: bool) -> None:
    call(model, "legacy_bridge", "update_flags", enabled, mismatch, missing)


def test_the_deployment_enables_dual_write_without_aborts() -> None:
    model = demo_model()
    assert model.view("legacy_bridge", "dual_write_flags", []) == [
        {
            "enabled": True,
            "abort_on_mismatch": False,
            "abort_on_missing": False,
            "expected_hash": {"vec": []},
        }
    ]
    assert model.view("legacy_bridge", "is_enabled", []) == [True]
    assert model.view("legacy_bridge", "is_mirror_enabled", []) == [True]
    assert pending(model) == []


def test_a_matching_summary_completes_the_expected_hash() -> None:
    model = demo_model()
    at_payout(model)
    expected = finalize_hash(model, NOW + 9)
    started = call(model, "legacy_bridge", "set_expected_hash", 2, expected)
    assert names(started) == ["legacy_bridge::ArchiveDualWriteStartedEvent"]
    assert started[0].data["expected_hash"] == "0x" + expected.hex()
    assert model.view("legacy_bridge", "dual_write_status", [2])[0]["expected_hash"] == {  # type: ignore[index]
        "vec": ["0x" + expected.hex()]
    }
    flags(model, True, True, True)
    events = call(model, "payouts", "finalize_lottery_admin", 2, NOW + 9)
    assert names(events) == [
        "legacy_bridge::ArchiveDualWriteCompletedEvent",
        "history::LotteryFinalizedEvent",
    ]
    assert events[0].data == {
        "event_version": 1,
        "event_category": 8,
        "lottery_id": "2",
        "archive_hash": "0x" + expected.hex(),
        "finalized_at": str(NOW + 9),
    }
    assert expected == sha3(summary_bcs(model.state.summaries[2]))
    assert pending(model) == []


def test_a_mismatch_without_abort_is_stored_and_stays_pending() -> None:
    model = demo_model()
    at_payout(model)
    call(model, "legacy_bridge", "set_expected_hash", 2, WRONG)
    events = call(model, "payouts", "finalize_lottery_admin", 2, NOW)
    assert names(events) == ["history::LotteryFinalizedEvent"]
    assert pending(model) == ["2"]
    assert model.view("legacy_bridge", "has_expected_hash", [2]) == [True]


@pytest.mark.parametrize(
    ("expected", "mismatch", "missing", "code"),
    [(WRONG, True, False, 0x1B02), (None, False, True, 0x1B05)],
    ids=["mismatch", "missing"],
)
def test_the_control_blocks_finalize_and_archive(
    expected: bytes | None, mismatch: bool, missing: bool, code: int
) -> None:
    model = demo_model()
    at_payout(model)
    add_lottery(model, 8, tickets=0)  # canceled without sales: archived at once
    call(model, "cancellation", "cancel_lottery_admin", 8, 3, NOW)
    if expected is not None:
        for lottery_id in (2, 8):
            call(model, "legacy_bridge", "set_expected_hash", lottery_id, expected)
    flags(model, True, mismatch, missing)
    for function, lottery_id in (
        ("finalize_lottery_admin", 2),
        ("archive_canceled_lottery_admin", 8),
    ):
        err = abort(model, "payouts", function, lottery_id, NOW)
        assert (err.code, err.module) == (code, "legacy_bridge")
    flags(model, False, mismatch, missing)  # a disabled control lets everything through
    call(model, "payouts", "finalize_lottery_admin", 2, NOW)
    call(model, "payouts", "archive_canceled_lottery_admin", 8, NOW)


def test_set_replaces_swap_removes_and_clear_forgets() -> None:
    model = demo_model()
    for lottery_id in (1, 2, 3):
        call(model, "legacy_bridge", "set_expected_hash", lottery_id, bytes([lottery_id]) * 32)
    call(model, "legacy_bridge", "set_expected_hash", 1, WRONG)  # removed, then appended
    assert pending(model) == ["3", "2", "1"]
    assert call(model, "legacy_bridge", "clear_expected_hash", 3) == []
    assert pending(model) == ["1", "2"]
    call(model, "legacy_bridge", "clear_expected_hash", 9)  # absent: nothing happens
    assert pending(model) == ["1", "2"]


def test_mirror_summary_admin_completes_a_hash_set_after_the_write() -> None:
    model = demo_model()
    at_payout(model)
    call(model, "payouts", "finalize_lottery_admin", 2, NOW)
    stored = sha3(summary_bcs(model.state.summaries[2]))
    call(model, "legacy_bridge", "set_expected_hash", 2, stored)
    call(model, "legacy_bridge", "disable_legacy_mirror")
    assert call(model, "history", "mirror_summary_admin", 2) == []  # mirror off: nothing
    assert pending(model) == ["2"]
    call(model, "legacy_bridge", "enable_legacy_mirror")
    events = call(model, "history", "mirror_summary_admin", 2)
    assert names(events) == ["legacy_bridge::ArchiveDualWriteCompletedEvent"]
    assert pending(model) == []
    err = abort(model, "history", "mirror_summary_admin", 3)
    assert (err.code, err.module) == (0x6507, "table")


@pytest.mark.parametrize(
    ("module", "function", "args"),
    [
        ("legacy_bridge", "init_dual_write", (False, False)),
        ("legacy_bridge", "update_flags", (True, False, False)),
        ("legacy_bridge", "set_expected_hash", (1, WRONG)),
        ("legacy_bridge", "clear_expected_hash", (1,)),
        ("legacy_bridge", "enable_legacy_mirror", ()),
        ("legacy_bridge", "disable_legacy_mirror", ()),
        ("history", "mirror_summary_admin", (1,)),
    ],
)
def test_dual_write_entries_are_admin_only(
    module: str, function: str, args: tuple[object, ...]
) -> None:
    err = abort(demo_model(), module, function, *args, signers=(STRANGER,))
    assert (err.code, err.module) == (0x1B04, module)


def test_init_twice_and_no_control() -> None:
    model = demo_model()
    assert abort(model, "legacy_bridge", "init_dual_write", True, True).code == 0x1201
    bare = PackageModel(package_address=ADMIN)
    err = abort(bare, "legacy_bridge", "set_expected_hash", 1, WRONG)
    assert (err.code, err.module) == (0x1B06, "legacy_bridge")
    assert bare.view("legacy_bridge", "dual_write_status", [1])[0]["enabled"] is False  # type: ignore[index]
    call(bare, "legacy_bridge", "init_dual_write", True, False)
    assert bare.view("legacy_bridge", "dual_write_flags", [])[0]["abort_on_mismatch"] is True  # type: ignore[index]
