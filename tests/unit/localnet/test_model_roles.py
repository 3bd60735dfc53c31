"""roles: partner payout and premium access caps, their cleanup, partner payouts (§5.1, §5.2)."""

from __future__ import annotations

import pytest
from model_builders import (
    ADMIN,
    NOW,
    STRANGER,
    abort,
    call,
    demo_model,
    empty_model,
    fulfil,
    names,
    request,
)

from autobot.localnet.model import PackageModel

P1, P2, P3 = ("0x" + f"{n:02x}" * 32 for n in (0xA1, 0xA2, 0xA3))


def partner(
    model: PackageModel,
    who: str = P1,
    *,
    total: int = 1_000,
    cooldown: int = 0,
    stride: int = 1,
    expires_at: int = 0,
) -> list[object]:
    return list(
        call(
            model,
            "roles",
            "upsert_partner_payout_cap_admin",
            who,
            total,
            cooldown,
            stride,
            expires_at,
        )
    )


def premium(model: PackageModel, who: str, expires_at: int, referrer: str | None = None) -> None:
    call(model, "roles", "grant_premium_access_admin", who, expires_at, False, referrer)


def partner_list(model: PackageModel) -> list[str]:
    (caps,) = model.view("roles", "list_partner_caps", [])
    assert isinstance(caps, list)
    return [c["partner"] for c in caps]


def premium_list(model: PackageModel) -> list[str]:
    (caps,) = model.view("roles", "list_premium_caps", [])
    assert isinstance(caps, list)
    return [c["holder"] for c in caps]


# --- partner payout caps --------------------------------------------------------------------


def test_a_granted_partner_cap_starts_with_its_budget_and_the_stride_as_nonce() -> None:
    model = empty_model()
    events = partner(model, total=500, cooldown=60, stride=3, expires_at=NOW + 10)
    assert names(events) == ["roles::PartnerPayoutCapGrantedEvent"]  # type: ignore[arg-type]
    assert events[0].data == {  # type: ignore[attr-defined]
        "partner": P1,
        "max_total_payout": "500",
        "payout_cooldown_secs": "60",
        "nonce_stride": "3",
        "expires_at": str(NOW + 10),
    }
    assert model.view("roles", "partner_payout_cap_view", [P1]) == [
        {
            "vec": [
                {
                    "partner": P1,
                    "max_total_payout": "500",
                    "remaining_payout": "500",
                    "payout_cooldown_secs": "60",
                    "last_payout_at": "0",
                    "next_nonce": "3",
                    "nonce_stride": "3",
                    "expires_at": str(NOW + 10),
                }
            ]
        }
    ]
    assert model.view("roles", "has_partner_payout_cap", [P1]) == [True]
    assert model.view("roles", "has_partner_payout_cap", [P2]) == [False]


def test_upserting_a_partner_again_revokes_the_old_cap_and_keeps_its_index_place() -> None:
    model = empty_model()
    partner(model, P1)
    partner(model, P2)
    events = partner(model, P1, total=7)
    assert names(events) == [  # type: ignore[arg-type]
        "roles::PartnerPayoutCapRevokedEvent",
        "roles::PartnerPayoutCapGrantedEvent",
    ]
    assert partner_list(model) == [P1, P2]
    assert model.state.partner_caps[P1].remaining_payout == 7


def test_revoking_swaps_the_last_partner_into_the_gap() -> None:
    model = empty_model()
    for who in (P1, P2, P3):
        partner(model, who)
    events = call(model, "roles", "revoke_partner_payout_cap_admin", P1)
    assert names(events) == ["roles::PartnerPayoutCapRevokedEvent"]
    assert partner_list(model) == [P3, P2]
    err = abort(model, "roles", "revoke_partner_payout_cap_admin", P1)
    assert (err.code, err.module) == (0x1105, "roles")


# --- premium caps ---------------------------------------------------------------------------


def test_premium_caps_list_with_their_referrer() -> None:
    model = empty_model()
    premium(model, P1, NOW + 60, referrer=P3)
    premium(model, P2, 0)
    (caps,) = model.view("roles", "list_premium_caps", [])
    assert caps == [
        {"holder": P1, "expires_at": str(NOW + 60), "auto_renew": False, "referrer": {"vec": [P3]}},
        {"holder": P2, "expires_at": "0", "auto_renew": False, "referrer": {"vec": []}},
    ]
    assert model.view("roles", "premium_cap_view", [P3]) == [{"vec": []}]
    assert model.view("roles", "has_premium_cap", [P2]) == [True]
    err = abort(model, "roles", "revoke_premium_access_admin", P3)
    assert (err.code, err.module) == (0x1106, "roles")


# --- cleanup --------------------------------------------------------------------------------


def test_cleanup_removes_expired_and_spent_caps_with_swap_remove() -> None:
    model = empty_model()
    partner(model, P1, expires_at=NOW)  # expires at NOW: still valid at NOW
    partner(model, P2, total=0)  # nothing left to pay
    partner(model, P3, expires_at=NOW - 1)
    premium(model, P1, NOW - 1)
    premium(model, P2, 0)
    premium(model, P3, NOW)
    events = call(model, "roles", "cleanup_expired_admin", NOW)
    assert names(events) == [
        "roles::PartnerPayoutCapRevokedEvent",
        "roles::PartnerPayoutCapRevokedEvent",
        "roles::PremiumAccessRevokedEvent",
    ]
    assert [e.data for e in events] == [{"partner": P2}, {"partner": P3}, {"holder": P1}]
    assert partner_list(model) == [P1]
    assert premium_list(model) == [P3, P2]  # P3 swapped into P1's place
    call(model, "roles", "cleanup_expired_admin", NOW + 1)
    assert (partner_list(model), premium_list(model)) == ([], [P2])


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("upsert_partner_payout_cap_admin", (P1, 1, 0, 1, 0)),
        ("revoke_partner_payout_cap_admin", (P1,)),
        ("grant_premium_access_admin", (P1, 0, False, None)),
        ("revoke_premium_access_admin", (P1,)),
        ("cleanup_expired_admin", (NOW,)),
    ],
)
def test_role_entries_are_admin_only(function: str, args: tuple[object, ...]) -> None:
    model = empty_model()
    err = abort(model, "roles", function, *args, signers=(STRANGER,))
    assert (err.code, err.module) == (0x1202, "roles")


def test_without_a_role_store_the_readers_abort_roles_not_initialized() -> None:
    model = PackageModel(package_address=ADMIN)
    for function, args in (("list_partner_caps", []), ("has_premium_cap", [P1])):
        with pytest.raises(Exception) as caught:
            model.view("roles", function, args)
        assert getattr(caught.value, "code", None) == 0x1103


# --- partner payouts ------------------------------------------------------------------------


def at_payout(model: PackageModel) -> None:
    request(model, 2, NOW)
    fulfil(model, 2)
    call(model, "payouts", "compute_winners_admin", 2, 100)


def pay_partner(
    model: PackageModel, amount: int, round_: int, ts: int, who: str = P1
) -> list[object]:
    return list(call(model, "payouts", "record_partner_payout_admin", 2, who, amount, round_, ts))


def test_a_partner_payout_spends_the_cap_and_counts_as_operations_paid() -> None:
    model = demo_model()
    at_payout(model)
    partner(model, total=1_000, stride=2)
    events = pay_partner(model, 400, 2, NOW)
    assert names(events) == ["history::PartnerPayoutEvent"]  # type: ignore[arg-type]
    assert events[0].data == {  # type: ignore[attr-defined]
        "event_version": 1,
        "event_category": 5,
        "lottery_id": "2",
        "partner": P1,
        "amount": "400",
        "payout_round": "2",
        "timestamp": str(NOW),
    }
    cap = model.state.partner_caps[P1]
    assert (cap.remaining_payout, cap.last_payout_at, cap.next_nonce) == (600, NOW, 4)
    assert model.state.sales[2].accounting.total_operations_paid == 400
    assert model.state.winners[2].payout_round == 0  # the lottery's payout round is untouched


@pytest.mark.parametrize(
    ("cap", "first", "second", "code", "module"),
    [
        ({}, None, (1_001, 1, NOW), 0x180C, "roles"),
        ({"expires_at": NOW}, None, (1, 1, NOW + 1), 0x1810, "roles"),
        ({"cooldown": 60}, (1, 1, NOW), (1, 2, NOW + 59), 0x180D, "roles"),
        ({}, None, (1, 2, NOW), 0x180E, "roles"),
        ({"stride": 0}, None, (1, 1, NOW), 0x180E, "roles"),
        ({}, None, (10**12, 1, NOW), 0x180C, "roles"),
    ],
    ids=["budget", "expired", "cooldown", "nonce", "stride-zero-nonce", "budget-before-allocation"],
)
def test_partner_payout_cap_refusals(
    cap: dict[str, int],
    first: tuple[int, int, int] | None,
    second: tuple[int, int, int],
    code: int,
    module: str,
) -> None:
    model = demo_model()
    at_payout(model)
    partner(model, **cap)  # type: ignore[arg-type]
    if first is not None:
        pay_partner(model, *first)
    err = abort(model, "payouts", "record_partner_payout_admin", 2, P1, *second)
    assert (err.code, err.module) == (code, module)


def test_partner_payout_checks_after_the_cap() -> None:
    model = demo_model()
    partner(model, total=10**12)
    # not at PAYOUT yet: the status comes before the cap
    assert abort(model, "payouts", "record_partner_payout_admin", 2, P2, 1, 1, NOW).code == 0x1210
    at_payout(model)
    assert abort(model, "payouts", "record_partner_payout_admin", 2, P2, 1, 1, NOW).code == 0x1105
    call(model, "payouts", "record_payout_batch_admin", 2, 1, 14, 0, 0, NOW)
    call(model, "payouts", "record_payout_batch_admin", 2, 2, 0, 0, 0, NOW)
    err = abort(model, "payouts", "record_partner_payout_admin", 2, P1, 1, 1, NOW)
    assert (err.code, err.module) == (0x1806, "payouts")  # round 1 < the lottery's round 2
    ops = model.state.sales[2].accounting.total_operations_allocated
    err = abort(model, "payouts", "record_partner_payout_admin", 2, P1, ops + 1, 1, NOW)
    assert (err.code, err.module) == (0x1806, "payouts")
    partner(model, P1, total=10**12, stride=2)
    err = abort(model, "payouts", "record_partner_payout_admin", 2, P1, ops + 1, 2, NOW)
    assert (err.code, err.module) == (0x1305, "economics")
    assert (
        abort(
            model, "payouts", "record_partner_payout_admin", 2, P1, 1, 2, NOW, signers=(STRANGER,)
        ).code
        == 0x1202
    )
