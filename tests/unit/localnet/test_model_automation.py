"""automation: registration, the dry-run → execute → record protocol, lockout
(docs/package.md §1)."""

from __future__ import annotations

import hashlib

import pytest
from model_builders import (
    ADMIN,
    HASH,
    NOW,
    OP_A,
    OP_B,
    OP_C,
    OTHER_HASH,
    STRANGER,
    abort,
    call,
    demo_model,
    empty_model,
    names,
)

from autobot.localnet.model import PackageModel

FAR = NOW + 10**8


def register(
    model: PackageModel,
    operator: str,
    *,
    allowed: list[int] | None = None,
    timelock: int = 900,
    max_failures: int = 3,
    expires_at: int = FAR,
) -> None:
    call(
        model,
        "automation",
        "register_bot",
        b"* * * * *",
        allowed if allowed is not None else [1, 2, 6, 7],
        timelock,
        max_failures,
        expires_at,
        signers=(ADMIN, operator),
    )


def register_args(
    allowed: list[int], timelock: int, max_failures: int, expires_at: int
) -> tuple[object, ...]:
    return (b"cron", allowed, timelock, max_failures, expires_at)


@pytest.mark.parametrize(
    ("signers", "args", "code"),
    [
        ((STRANGER, OP_C), register_args([1], 0, 3, FAR), 0x1A01),
        ((ADMIN, OP_C), register_args([], 0, 3, FAR), 0x1A05),
        ((ADMIN, OP_C), register_args([1], 0, 0, FAR), 0x1A06),
        ((ADMIN, OP_C), register_args([1], 0, 3, 0), 0x1A04),
        ((ADMIN, OP_C), register_args([1, 7], 899, 3, FAR), 0x1A07),
        ((ADMIN, OP_A), register_args([1], 0, 3, FAR), 0x1A02),
    ],
    ids=["not-admin", "no-actions", "zero-failures", "zero-expiry", "sensitive-timelock", "twice"],
)
def test_register_bot_checks_in_order(
    signers: tuple[str, str], args: tuple[object, ...], code: int
) -> None:
    model = demo_model()
    err = abort(model, "automation", "register_bot", *args, signers=signers)
    assert (err.code, err.module) == (code, "automation")


def test_register_bot_without_registry_aborts_registry_missing() -> None:
    model = PackageModel(package_address=ADMIN)
    err = abort(
        model, "automation", "register_bot", *register_args([1], 0, 3, FAR), signers=(ADMIN, OP_C)
    )
    assert err.code == 0x1A01


def test_register_bot_emits_key_rotated_with_the_cron_hash() -> None:
    model = empty_model()
    events = call(
        model, "automation", "register_bot", b"cron", [1], 0, 3, FAR, signers=(ADMIN, OP_C)
    )
    assert names(events) == ["history::AutomationKeyRotatedEvent"]
    assert events[0].type_tag == f"{ADMIN}::history::AutomationKeyRotatedEvent"
    assert events[0].data == {
        "event_version": 1,
        "event_category": 6,
        "operator": OP_C,
        "schedule_hash": "0x" + hashlib.sha3_256(b"cron").hexdigest(),
        "expires_at": str(FAR),
    }


def test_announce_sets_the_pending_slot_and_emits_dry_run_planned() -> None:
    model = demo_model()
    events = call(model, "automation", "announce_dry_run", 6, HASH, NOW, NOW + 900, signers=(OP_A,))
    assert names(events) == ["history::AutomationDryRunPlannedEvent"]
    assert events[0].data["executes_after_ts"] == str(NOW + 900)
    assert events[0].data["action_hash"] == "0x" + HASH.hex()
    bot = model.state.bots[OP_A]
    assert (bot.pending_action_hash, bot.pending_execute_after) == (HASH, NOW + 900)


@pytest.mark.parametrize(
    ("operator", "action", "hash_", "after", "code"),
    [
        (OP_C, 1, HASH, NOW + 900, 0x1A03),
        (OP_A, 1, b"", NOW + 900, 0x1A0B),
        (OP_A, 3, HASH, NOW + 900, 0x1A05),
        (OP_B, 1, HASH, NOW + 900, 0x1A07),
        (OP_A, 1, HASH, NOW + 899, 0x1A07),
    ],
    ids=["no-cap", "empty-hash", "not-allowed", "zero-timelock-bot", "too-early"],
)
def test_announce_refusals(operator: str, action: int, hash_: bytes, after: int, code: int) -> None:
    model = demo_model()
    err = abort(
        model, "automation", "announce_dry_run", action, hash_, NOW, after, signers=(operator,)
    )
    assert err.code == code


def test_a_second_announce_aborts_pending_exists() -> None:
    model = demo_model()
    call(model, "automation", "announce_dry_run", 6, HASH, NOW, NOW + 900, signers=(OP_A,))
    err = abort(
        model, "automation", "announce_dry_run", 6, OTHER_HASH, NOW, NOW + 900, signers=(OP_A,)
    )
    assert err.code == 0x1A08


def test_announce_after_expiry_aborts_expired() -> None:
    model = empty_model()
    register(model, OP_C, expires_at=NOW)
    err = abort(
        model, "automation", "announce_dry_run", 1, HASH, NOW + 1, NOW + 901, signers=(OP_C,)
    )
    assert err.code == 0x1A04


@pytest.mark.parametrize(
    ("announced", "recorded", "at", "code"),
    [
        (None, HASH, NOW + 900, 0x1A0A),
        (HASH, OTHER_HASH, NOW + 900, 0x1A09),
        (HASH, HASH, NOW + 899, 0x1A07),
    ],
    ids=["no-dry-run", "other-hash", "before-timelock"],
)
def test_record_success_needs_the_announced_hash_after_the_timelock(
    announced: bytes | None, recorded: bytes, at: int, code: int
) -> None:
    model = demo_model()
    if announced is not None:
        call(model, "automation", "announce_dry_run", 6, announced, NOW, NOW + 900, signers=(OP_A,))
    err = abort(model, "automation", "record_success", 6, recorded, at, signers=(OP_A,))
    assert err.code == code


def test_record_success_clears_pending_and_counts_the_success() -> None:
    model = demo_model()
    call(model, "automation", "announce_dry_run", 6, HASH, NOW, NOW + 900, signers=(OP_A,))
    events = call(model, "automation", "record_success", 6, HASH, NOW + 900, signers=(OP_A,))
    assert names(events) == ["history::AutomationTickEvent"]
    assert events[0].data == {
        "event_version": 1,
        "event_category": 6,
        "operator": OP_A,
        "action_id": "6",
        "action_hash": "0x" + HASH.hex(),
        "executed_ts": str(NOW + 900),
        "success": True,
        "reputation_score": "1",
        "success_streak": "1",
        "failure_count": "0",
    }
    bot = model.state.bots[OP_A]
    assert (bot.pending_action_hash, bot.last_action_hash, bot.last_action_ts) == (
        b"",
        HASH,
        NOW + 900,
    )


def test_a_zero_timelock_bot_records_without_announcing() -> None:
    model = demo_model()
    events = call(model, "automation", "record_success", 2, HASH, NOW, signers=(OP_B,))
    assert names(events) == ["history::AutomationTickEvent"]


def test_record_failure_emits_tick_then_error_with_the_packages_swapped_fields() -> None:
    model = demo_model()
    events = call(model, "automation", "record_failure", 2, HASH, NOW, 0x1709, signers=(OP_B,))
    assert names(events) == ["history::AutomationTickEvent", "history::AutomationErrorEvent"]
    assert events[0].data["success"] is False
    assert events[0].data["failure_count"] == "1"
    # the package passes (now_ts, error_code) into (error_code, timestamp)
    assert (events[1].data["error_code"], events[1].data["timestamp"]) == (str(NOW), str(0x1709))


def test_at_the_failure_limit_even_record_success_aborts() -> None:
    model = demo_model()
    for i in range(3):
        call(model, "automation", "record_failure", 2, HASH, NOW + i, 1, signers=(OP_B,))
    err = abort(model, "automation", "record_success", 2, HASH, NOW + 5, signers=(OP_B,))
    assert err.code == 0x1A06


def test_rotate_keeps_counters_and_clears_pending_and_last_hash() -> None:
    model = demo_model()
    call(model, "automation", "record_failure", 2, HASH, NOW, 1, signers=(OP_B,))
    call(model, "automation", "rotate_bot", b"new", [1, 2], 0, 5, FAR, signers=(ADMIN, OP_B))
    bot = model.state.bots[OP_B]
    assert (bot.failure_count, bot.max_failures, bot.last_action_hash, bot.last_action_ts) == (
        1,
        5,
        b"",
        NOW,
    )
    assert model.state.caps[OP_B] == b"new"


def test_rotate_of_an_unknown_bot_aborts_not_registered() -> None:
    model = demo_model()
    err = abort(model, "automation", "rotate_bot", b"c", [1], 0, 3, FAR, signers=(ADMIN, OP_C))
    assert err.code == 0x1A03


def test_report_call_rejected_only_needs_a_cap() -> None:
    model = demo_model()
    events = call(model, "automation", "report_call_rejected", 9, b"", 42, signers=(OP_A,))
    assert names(events) == ["history::AutomationCallRejectedEvent"]
    assert events[0].data["reason_code"] == "42"
    assert (
        abort(model, "automation", "report_call_rejected", 9, b"", 42, signers=(OP_C,)).code
        == 0x1A03
    )


def test_init_automation_twice_aborts_already_initialized() -> None:
    model = demo_model()
    assert abort(model, "automation", "init_automation").code == 0x1201
