"""vrf_deposit: snapshots, the automatic pause and resume (§2.7)."""

from __future__ import annotations

from model_builders import NOW, abort, call, demo_model, empty_model, names


def test_a_low_snapshot_alerts_and_pauses_once() -> None:
    model = demo_model()
    events = call(model, "vrf_deposit", "record_snapshot_admin", 5, 100, 50, NOW)
    assert names(events) == [
        "history::VrfDepositSnapshotEvent",
        "history::VrfDepositAlertEvent",
        "history::VrfRequestsPausedEvent",
    ]
    assert events[0].data["required_minimum"] == "120"
    events = call(model, "vrf_deposit", "record_snapshot_admin", 5, 100, 50, NOW + 1)
    assert names(events) == ["history::VrfDepositSnapshotEvent", "history::VrfDepositAlertEvent"]
    status = model.view("views", "get_vrf_deposit_status", [])[0]
    assert isinstance(status, dict)
    assert (status["requests_paused"], status["paused_since_ts"]) == (True, str(NOW))


def test_a_healthy_snapshot_resumes_requests() -> None:
    model = demo_model()
    call(model, "vrf_deposit", "record_snapshot_admin", 5, 100, 50, NOW)
    events = call(model, "vrf_deposit", "record_snapshot_admin", 10**12, 100, 10**10, NOW + 1)
    assert names(events) == ["history::VrfDepositSnapshotEvent", "history::VrfRequestsResumedEvent"]
    assert events[1].data == {"event_version": 1, "event_category": 7, "resumed_ts": str(NOW + 1)}


def test_resume_requests_forces_a_resume_and_is_a_no_op_when_running() -> None:
    model = demo_model()
    assert call(model, "vrf_deposit", "resume_requests", NOW) == []
    call(model, "vrf_deposit", "record_snapshot_admin", 5, 100, 50, NOW)
    assert names(call(model, "vrf_deposit", "resume_requests", NOW + 1)) == [
        "history::VrfRequestsResumedEvent"
    ]


def test_without_a_ledger_snapshots_abort_not_initialized() -> None:
    model = empty_model()
    assert abort(model, "vrf_deposit", "record_snapshot_admin", 1, 1, 1, NOW).code == 0x170B
    assert abort(model, "vrf_deposit", "resume_requests", NOW).code == 0x170B


def test_a_multiplier_below_100_percent_aborts_config() -> None:
    model = empty_model()
    assert abort(model, "vrf_deposit", "init_vrf_deposit", 9_999, 0).code == 0x170C
    model = demo_model()
    assert abort(model, "vrf_deposit", "update_config", 9_999, 0).code == 0x170C
