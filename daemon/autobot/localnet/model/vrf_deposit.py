"""``vrf_deposit``: operator-reported dVRF deposit balances and the request pause (§2.7).

A snapshot sets ``required_minimum = minimum * bps / 10_000`` (0 for a zero minimum). If
``effective < effective_floor`` or ``effective < required_minimum`` it emits an alert and pauses
requests (once); a healthy snapshot while paused resumes them. ``request_draw_admin`` refuses
while paused (``E_VRF_REQUESTS_PAUSED``, raised in this module).
"""

from __future__ import annotations

from dataclasses import replace

from autobot.localnet.model import registry
from autobot.localnet.model.core import Args, CallContext, j_u64
from autobot.localnet.model.state import VrfDeposit

__all__ = ["init_vrf_deposit", "record_snapshot_admin", "resume_requests", "update_config"]

MODULE = "vrf_deposit"
EVENT_VERSION = 1
CATEGORY_INFRA = 7
E_ALREADY_INITIALIZED = 0x1201
E_VRF_DEPOSIT_NOT_INITIALIZED = 0x170B
E_VRF_DEPOSIT_CONFIG = 0x170C
E_AMOUNT_OVERFLOW = 0x1605
_U64_MAX = 2**64 - 1


def _head() -> list[tuple[str, object]]:
    return [("event_version", EVENT_VERSION), ("event_category", CATEGORY_INFRA)]


def _ledger(c: CallContext) -> VrfDeposit:
    deposit = c.state.g.vrf_deposit
    if deposit is None:
        c.abort(E_VRF_DEPOSIT_NOT_INITIALIZED, MODULE)
    return deposit


def init_vrf_deposit(c: CallContext, a: Args) -> None:
    bps, floor = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    if c.state.g.vrf_deposit is not None:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    if bps < 10_000:
        c.abort(E_VRF_DEPOSIT_CONFIG, MODULE)
    c.write(c.state.globals_, 0).vrf_deposit = VrfDeposit(
        min_balance_multiplier_bps=bps, effective_floor=floor
    )


def update_config(c: CallContext, a: Args) -> None:
    bps, floor = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    if bps < 10_000:
        c.abort(E_VRF_DEPOSIT_CONFIG, MODULE)
    deposit = _ledger(c)
    c.write(c.state.globals_, 0).vrf_deposit = replace(
        deposit, min_balance_multiplier_bps=bps, effective_floor=floor
    )


def _paused(c: CallContext, ts: int) -> None:
    c.emit("history", "VrfRequestsPausedEvent", [*_head(), ("paused_since_ts", j_u64(ts))])


def _resumed(c: CallContext, ts: int) -> None:
    c.emit("history", "VrfRequestsResumedEvent", [*_head(), ("resumed_ts", j_u64(ts))])


def record_snapshot_admin(c: CallContext, a: Args) -> None:
    total, minimum, effective, ts = a.u(0), a.u(1), a.u(2), a.u(3)
    registry.require_admin(c, MODULE)
    deposit = _ledger(c)
    required = 0 if minimum == 0 else minimum * deposit.min_balance_multiplier_bps // 10_000
    if required > _U64_MAX:
        c.abort(E_AMOUNT_OVERFLOW, MODULE)
    unhealthy = effective < deposit.effective_floor or effective < required
    fields = [
        *_head(),
        ("total_balance", j_u64(total)),
        ("minimum_balance", j_u64(minimum)),
        ("effective_balance", j_u64(effective)),
        ("required_minimum", j_u64(required)),
        ("effective_floor", j_u64(deposit.effective_floor)),
        ("timestamp", j_u64(ts)),
    ]
    updated = replace(
        deposit,
        total_balance=total,
        minimum_balance=minimum,
        effective_balance=effective,
        required_minimum=required,
        last_update_ts=ts,
    )
    c.emit("history", "VrfDepositSnapshotEvent", fields)
    if unhealthy:
        c.emit("history", "VrfDepositAlertEvent", fields)
        if not updated.requests_paused:
            updated = replace(updated, requests_paused=True, paused_since_ts=ts)
            _paused(c, ts)
    elif updated.requests_paused:
        updated = replace(updated, requests_paused=False, paused_since_ts=0)
        _resumed(c, ts)
    c.write(c.state.globals_, 0).vrf_deposit = updated


def resume_requests(c: CallContext, a: Args) -> None:
    ts = a.u(0)
    registry.require_admin(c, MODULE)
    deposit = _ledger(c)
    if not deposit.requests_paused:
        return
    c.write(c.state.globals_, 0).vrf_deposit = replace(
        deposit, requests_paused=False, paused_since_ts=0
    )
    _resumed(c, ts)
