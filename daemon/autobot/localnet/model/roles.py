"""``roles``: the one global PayoutBatchCap (§5.2).

The cap is shared by every lottery and by both payout and refund batches; its ``nonce`` is the
caller's per-lottery round, so with ``nonce_stride > 0`` only one lottery's sequence passes. The
package's role events carry no ``event_version``/``event_category`` fields, and neither do ours.
"""

from __future__ import annotations

from dataclasses import replace

from autobot.localnet.model import registry
from autobot.localnet.model.core import Args, CallContext, j_u64
from autobot.localnet.model.state import PayoutBatchCap

__all__ = [
    "consume_payout_batch",
    "init_roles",
    "revoke_payout_batch_cap_admin",
    "set_payout_batch_cap_admin",
]

MODULE = "roles"
E_ROLES_NOT_INITIALIZED = 0x1103
E_PAYOUT_BATCH_CAP_MISSING = 0x1104
E_ALREADY_INITIALIZED = 0x1201
E_PAYOUT_BATCH_TOO_LARGE = 0x1808
E_PAYOUT_BATCH_COOLDOWN = 0x1809
E_PAYOUT_BATCH_NONCE = 0x180A
E_PAYOUT_OPERATIONS_BUDGET = 0x180B


def _store(c: CallContext) -> None:
    if not c.state.g.roles:
        c.abort(E_ROLES_NOT_INITIALIZED, MODULE)


def _revoked(c: CallContext, holder: str) -> None:
    c.emit("roles", "PayoutBatchCapRevokedEvent", [("holder", holder)])


def init_roles(c: CallContext, a: Args) -> None:
    registry.require_admin(c, MODULE)
    if c.state.g.roles:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    c.write(c.state.globals_, 0).roles = True


def set_payout_batch_cap_admin(c: CallContext, a: Args) -> None:
    holder, max_batch, budget, cooldown, stride = a.addr(0), a.u(1), a.u(2), a.u(3), a.u(4)
    registry.require_admin(c, MODULE)
    _store(c)
    g = c.write(c.state.globals_, 0)
    if g.payout_cap is not None:
        _revoked(c, g.payout_cap.holder)
    g.payout_cap = PayoutBatchCap(
        holder=holder,
        max_batch_size=max_batch,
        operations_budget_total=budget,
        cooldown_secs=cooldown,
        nonce_stride=stride,
    )
    c.emit(
        "roles",
        "PayoutBatchCapGrantedEvent",
        [
            ("holder", holder),
            ("max_batch_size", j_u64(max_batch)),
            ("operations_budget_total", j_u64(budget)),
            ("cooldown_secs", j_u64(cooldown)),
            ("nonce_stride", j_u64(stride)),
        ],
    )


def revoke_payout_batch_cap_admin(c: CallContext, a: Args) -> None:
    registry.require_admin(c, MODULE)
    _store(c)
    cap = c.state.g.payout_cap
    if cap is None:
        c.abort(E_PAYOUT_BATCH_CAP_MISSING, MODULE)
    c.write(c.state.globals_, 0).payout_cap = None
    _revoked(c, cap.holder)


def consume_payout_batch(
    c: CallContext, *, winners_paid: int, operations_paid: int, timestamp: int, nonce: int
) -> None:
    """``consume_payout_batch_from_store``: size, cooldown, nonce stride, operations budget."""
    _store(c)
    cap = c.state.g.payout_cap
    if cap is None:
        c.abort(E_PAYOUT_BATCH_CAP_MISSING, MODULE)
    if cap.max_batch_size > 0 and winners_paid > cap.max_batch_size:
        c.abort(E_PAYOUT_BATCH_TOO_LARGE, MODULE)
    if (
        cap.cooldown_secs > 0
        and cap.last_batch_at > 0
        and timestamp < cap.last_batch_at + cap.cooldown_secs
    ):
        c.abort(E_PAYOUT_BATCH_COOLDOWN, MODULE)
    if cap.nonce_stride > 0 and nonce != cap.last_nonce + cap.nonce_stride:
        c.abort(E_PAYOUT_BATCH_NONCE, MODULE)
    used = cap.operations_budget_used + operations_paid
    if used > cap.operations_budget_total:
        c.abort(E_PAYOUT_OPERATIONS_BUDGET, MODULE)
    c.write(c.state.globals_, 0).payout_cap = replace(
        cap, last_nonce=nonce, operations_budget_used=used, last_batch_at=timestamp
    )
