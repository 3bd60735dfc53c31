"""PackageModel: call validation, atomicity, views in node JSON, persistence."""

from __future__ import annotations

import json

import pytest
from model_builders import (
    ADMIN,
    NOW,
    OP_A,
    OP_B,
    STRANGER,
    abort,
    call,
    demo_model,
    dump,
    fulfil,
    request,
)

from autobot.localnet.model import ENTRY_FUNCTIONS, VIEW_FUNCTIONS, ModelAbort, PackageModel
from autobot.localnet.model.package import ENTRY_HANDLERS
from autobot.localnet.model.views import VIEW_HANDLERS


def test_every_abi_entry_and_view_has_a_handler() -> None:
    assert set(ENTRY_FUNCTIONS) == set(ENTRY_HANDLERS)
    assert set(VIEW_FUNCTIONS) == set(VIEW_HANDLERS)


def test_register_bot_takes_two_signers_and_vrf_callback_none() -> None:
    assert ENTRY_FUNCTIONS[("automation", "register_bot")].signers == 2
    assert ENTRY_FUNCTIONS[("automation", "register_bot")].param_types == (
        "vector<u8>",
        "vector<u64>",
        "u64",
        "u64",
        "u64",
    )
    assert ENTRY_FUNCTIONS[("draw", "vrf_callback")].signers == 0
    assert (
        ENTRY_FUNCTIONS[("price_feed", "register_feed")].param_types[3]
        == "0x1::option::Option<u64>"
    )


@pytest.mark.parametrize(
    ("module", "function", "signers", "args"),
    [
        ("draw", "no_such_function", [ADMIN], []),
        ("automation", "register_bot", [ADMIN], [b"", [1], 0, 1, 1]),
        ("draw", "request_draw_admin", [ADMIN], [2, NOW]),
    ],
    ids=["unknown", "signer-count", "argument-count"],
)
def test_malformed_calls_raise_value_error(
    module: str, function: str, signers: list[str], args: list[object]
) -> None:
    model = demo_model()
    with pytest.raises(ValueError):
        model.call(module, function, signers=signers, args=args)


def test_a_wrongly_typed_argument_raises_type_error_and_changes_nothing() -> None:
    model = demo_model()
    before = dump(model)
    with pytest.raises(TypeError):
        call(model, "draw", "request_draw_admin", 2, "now", 1, 6, 1)
    assert dump(model) == before


def test_an_abort_after_writes_rolls_every_write_back() -> None:
    model = demo_model()
    call(model, "roles", "set_payout_batch_cap_admin", ADMIN, 0, 10**15, 0, 0)
    before = dump(model)
    # the cap is consumed before the sales check refuses the ticket count
    err = abort(model, "payouts", "force_refund_batch_admin", 4, 1, 10**6, 0, 0, NOW)
    assert err.code == 0x1813
    assert dump(model) == before
    assert model.state.g.payout_cap is not None
    assert model.state.g.payout_cap.last_batch_at == 0


def test_an_aborted_callback_keeps_the_nonce_mapping() -> None:
    model = demo_model()
    request(model, 2, NOW)
    nonce = model.state.draws[2].request_id
    args = model.vrf_callback_args(nonce)
    args[5] = 12345
    with pytest.raises(ModelAbort):
        model.call("draw", "vrf_callback", signers=[], args=args, system=True)
    assert model.state.nonce_to_lottery[nonce] == 2
    assert nonce in model.state.vrf_inbox


def test_vm_status_names_the_aborting_module() -> None:
    model = demo_model()
    with pytest.raises(ModelAbort) as caught:
        call(model, "automation", "init_automation", signers=(STRANGER,))
    assert caught.value.vm_status(ADMIN) == (
        f"Move abort in {ADMIN}::automation: E_AUTOBOT_REGISTRY_MISSING(0x1a01)"
    )


# --- views ----------------------------------------------------------------------------------


def test_status_overview_of_the_demo() -> None:
    model = demo_model()
    assert model.view("views", "status_overview", [NOW]) == [
        {
            "total": "5",
            "draft": "0",
            "active": "2",
            "closing": "2",
            "draw_requested": "0",
            "drawn": "0",
            "payout": "0",
            "finalized": "0",
            "canceled": "1",
            "vrf_requested": "0",
            "vrf_fulfilled_pending": "0",
            "vrf_retry_blocked": "0",
            "winners_pending": "0",
            "payout_backlog": "0",
            "refund_active": "1",
            "refund_batch_pending": "1234",
            "refund_sla_breach": False,
        }
    ]


def test_status_overview_counts_vrf_and_winner_states() -> None:
    model = demo_model()
    request(model, 3, NOW)
    request(model, 2, NOW)
    fulfil(model, 2)
    overview = model.view("views", "status_overview", [NOW + 1])[0]
    assert isinstance(overview, dict)
    assert (
        overview["vrf_requested"],
        overview["vrf_retry_blocked"],
        overview["vrf_fulfilled_pending"],
    ) == (
        "1",
        "1",
        "1",
    )
    call(model, "payouts", "compute_winners_admin", 2, 5)
    overview = model.view("views", "status_overview", [NOW + 1])[0]
    assert isinstance(overview, dict)
    assert (
        overview["winners_pending"],
        overview["payout_backlog"],
        overview["vrf_fulfilled_pending"],
    ) == (
        "1",
        "1",
        "0",
    )


def test_refund_sla_breach_after_twelve_hours_without_a_batch() -> None:
    model = demo_model()
    canceled_ts = NOW - 300
    late = model.view("views", "status_overview", [canceled_ts + 43_201])[0]
    on_time = model.view("views", "status_overview", [canceled_ts + 43_200])[0]
    assert isinstance(late, dict) and isinstance(on_time, dict)
    assert (late["refund_sla_breach"], on_time["refund_sla_breach"]) == (True, False)


def test_automation_bot_view_in_declaration_order() -> None:
    model = demo_model()
    bot = model.view("views", "get_automation_bot", [OP_A])[0]
    assert isinstance(bot, dict)
    (view,) = bot["vec"]
    assert list(view) == [
        "operator",
        "allowed_actions",
        "timelock_secs",
        "max_failures",
        "failure_count",
        "success_streak",
        "reputation_score",
        "has_pending",
        "pending_execute_after",
        "pending_action_hash",
        "expires_at",
        "cron_spec",
        "last_action_ts",
        "last_action_hash",
    ]
    assert (
        view["allowed_actions"],
        view["timelock_secs"],
        view["has_pending"],
        view["pending_action_hash"],
    ) == (
        ["1", "2", "6", "7"],
        "900",
        False,
        "0x",
    )
    assert model.view("views", "get_automation_bot", [STRANGER]) == [{"vec": []}]
    bots = model.view("views", "list_automation_bots", [])[0]
    assert isinstance(bots, list)
    assert [b["operator"] for b in bots] == [OP_A, OP_B]


def test_cancellation_view_is_an_option() -> None:
    model = demo_model()
    assert model.view("views", "get_cancellation", [4]) == [
        {
            "vec": [
                {
                    "reason_code": 3,
                    "canceled_ts": str(NOW - 300),
                    "previous_status": 2,
                    "tickets_sold": "1234",
                    "proceeds_accum": str(1234 * 1_234_567),
                }
            ]
        }
    ]
    assert model.view("views", "get_cancellation", [1]) == [{"vec": []}]


def test_vrf_state_view_of_a_lottery_never_drawn() -> None:
    model = demo_model()
    assert model.view("draw", "vrf_state_view", [1]) == [
        {
            "status": 0,
            "attempt": 0,
            "consumed": True,
            "retry_after_ts": "0",
            "retry_strategy": 0,
            "last_request_ts": "0",
            "request_id": "0",
        }
    ]
    assert model.view("draw", "has_state", [1]) == [False]


def test_lottery_views_encode_small_ints_as_numbers_and_u64_as_strings() -> None:
    model = demo_model()
    assert model.view("views", "get_lottery_status", [2]) == [
        {"status": 2, "snapshot_frozen": True, "primary_type": 0, "tags_mask": "0"}
    ]
    config = model.view("views", "get_lottery", [3])[0]
    assert isinstance(config, dict)
    assert config["vrf_retry_policy"] == {
        "strategy": 0,
        "base_delay_secs": "60",
        "max_delay_secs": "60",
    }
    assert config["prize_plan"][0] == {
        "slot_id": "1",
        "winners_per_slot": 1,
        "reward_type": 0,
        "reward_payload": "0x",
    }
    assert model.view("views", "get_lottery_badges", [3]) == [0, "0"]


def test_listings_are_newest_first_and_paginated() -> None:
    model = demo_model()
    assert model.view("views", "list_active", [0, 10]) == [["5", "1"]]
    assert model.view("views", "list_active", [1, 10]) == [["1"]]
    assert model.view("views", "list_by_primary_type", [0, 0, 2]) == [["5", "4"]]
    with pytest.raises(ModelAbort) as caught:
        model.view("views", "list_active", [0, 1001])
    assert caught.value.code == 0x1501


def test_a_view_of_an_unknown_lottery_aborts_in_the_table_module() -> None:
    model = demo_model()
    with pytest.raises(ModelAbort) as caught:
        model.view("views", "get_lottery_status", [99])
    assert (caught.value.code, caught.value.module, caught.value.address) == (
        0x6507,
        "table",
        "0x" + "0" * 63 + "1",
    )


def test_views_without_registries_fall_back_like_the_package() -> None:
    model = PackageModel(package_address=ADMIN)
    assert model.view("views", "list_automation_bots", []) == [[]]
    assert model.view("payouts", "winner_progress", [1])[0] == {
        "initialized": False,
        "total_required": "0",
        "total_assigned": "0",
        "payout_round": "0",
        "next_winner_batch_no": "0",
        "last_payout_ts": "0",
    }
    with pytest.raises(ModelAbort) as caught:
        model.view("views", "status_overview", [NOW])
    assert (caught.value.code, caught.value.module) == (0x1202, "lottery_registry")


# --- persistence ----------------------------------------------------------------------------


def test_to_json_from_json_round_trip_keeps_everything() -> None:
    model = demo_model(vrf_retry="strict")
    request(model, 2, NOW)
    fulfil(model, 2)
    call(model, "payouts", "compute_winners_admin", 2, 5)
    request(model, 3, NOW)
    document = json.loads(json.dumps(model.to_json()))
    restored = PackageModel.from_json(document)
    assert restored.to_json() == model.to_json()
    assert restored.vrf_retry == "strict"
    assert restored.view("views", "status_overview", [NOW]) == model.view(
        "views", "status_overview", [NOW]
    )
    # the restored model keeps working where the original would
    call(restored, "payouts", "compute_winners_admin", 2, 100)
    assert restored.pending_vrf_requests()[0].lottery_id == 3


def test_from_json_rejects_a_malformed_document() -> None:
    with pytest.raises(ValueError):
        PackageModel.from_json(
            {"package_address": ADMIN, "vrf_retry": "intent", "state": {"lotteries": 3}}
        )
    with pytest.raises(ValueError):
        PackageModel.from_json({"vrf_retry": "sometimes"})
