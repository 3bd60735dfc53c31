"""``roles``: the global PayoutBatchCap, partner payout caps and premium access caps (§5.2).

**PayoutBatchCap.** One cap, shared by every lottery and by both payout and refund batches; its
``nonce`` is the caller's per-lottery round, so with ``nonce_stride > 0`` only one lottery's
sequence passes (§10.9).

**Partner payout caps** (``PartnerPayoutCap``, one per partner in the ``partner_caps`` table,
listed through ``Globals.partner_index``). ``upsert_partner_payout_cap_admin`` replaces a
partner's cap (emitting Revoked for the old one; the partner keeps its place in the index) or
appends the partner; a fresh cap has ``remaining_payout = max_total_payout`` and ``next_nonce =
nonce_stride``. ``consume_partner_payout`` (inside ``payouts::record_partner_payout_admin``)
checks budget (0x180C), expiry (``expires_at > 0`` and ``timestamp > expires_at``: 0x1810),
cooldown (0x180D) and ``nonce == next_nonce`` (0x180E), then spends the amount and advances the
nonce by the stride. **Premium access caps** (``PremiumAccessCap``, ``premium_caps`` and
``Globals.premium_index``) are active while ``expires_at == 0 or expires_at >= now``.

**Cleanup** (``cleanup_expired_admin(now_sec)``) walks each index with the package's
``swap_remove``: a partner cap goes when ``expires_at > 0 and now_sec > expires_at`` or
``remaining_payout == 0``, a premium cap when ``expires_at > 0 and now_sec > expires_at``, each
with its Revoked event. Removals (cleanup and ``revoke_*``) move the index's last entry into the
gap, so the index is in grant order only until something is removed.

The package's role events carry no ``event_version``/``event_category`` fields, and neither do
ours.
"""

from __future__ import annotations

from dataclasses import replace

from autobot.localnet.model import registry
from autobot.localnet.model.core import Args, CallContext, ModelAbort, j_u64
from autobot.localnet.model.state import (
    PackageState,
    PartnerPayoutCap,
    PayoutBatchCap,
    PremiumAccessCap,
)

__all__ = [
    "assert_premium_active",
    "cleanup_expired_admin",
    "consume_partner_payout",
    "consume_payout_batch",
    "grant_premium_access_admin",
    "has_premium_cap",
    "init_roles",
    "is_premium_active",
    "partner_cap_expired",
    "premium_cap_expired",
    "revoke_partner_payout_cap_admin",
    "revoke_payout_batch_cap_admin",
    "revoke_premium_access_admin",
    "set_payout_batch_cap_admin",
    "upsert_partner_payout_cap_admin",
]

MODULE = "roles"
E_ROLES_NOT_INITIALIZED = 0x1103
E_PAYOUT_BATCH_CAP_MISSING = 0x1104
E_PARTNER_PAYOUT_CAP_MISSING = 0x1105
E_PREMIUM_CAP_MISSING = 0x1106
E_PREMIUM_CAP_EXPIRED = 0x1107
E_ALREADY_INITIALIZED = 0x1201
E_PAYOUT_BATCH_TOO_LARGE = 0x1808
E_PAYOUT_BATCH_COOLDOWN = 0x1809
E_PAYOUT_BATCH_NONCE = 0x180A
E_PAYOUT_OPERATIONS_BUDGET = 0x180B
E_PARTNER_PAYOUT_BUDGET_EXCEEDED = 0x180C
E_PARTNER_PAYOUT_COOLDOWN = 0x180D
E_PARTNER_PAYOUT_NONCE = 0x180E
E_PARTNER_PAYOUT_EXPIRED = 0x1810


def _store(c: CallContext) -> None:
    if not c.state.g.roles:
        c.abort(E_ROLES_NOT_INITIALIZED, MODULE)


def require_store(state: PackageState) -> None:
    """``store_addr_or_abort`` for readers."""
    if not state.g.roles:
        raise ModelAbort(E_ROLES_NOT_INITIALIZED, MODULE)


def _swap_remove(index: tuple[str, ...], position: int) -> tuple[str, ...]:
    """``vector::swap_remove``: the last entry takes the removed one's place."""
    items = list(index)
    items[position] = items[-1]
    items.pop()
    return tuple(items)


def _without(index: tuple[str, ...], target: str) -> tuple[str, ...]:
    """``remove_from_index``: swap-remove the first occurrence, if any."""
    return _swap_remove(index, index.index(target)) if target in index else index


# --- PayoutBatchCap -------------------------------------------------------------------------


def _revoked(c: CallContext, holder: str) -> None:
    c.emit(MODULE, "PayoutBatchCapRevokedEvent", [("holder", holder)])


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
        MODULE,
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


# --- partner payout caps --------------------------------------------------------------------


def _partner_revoked(c: CallContext, partner: str) -> None:
    c.emit(MODULE, "PartnerPayoutCapRevokedEvent", [("partner", partner)])


def upsert_partner_payout_cap_admin(c: CallContext, a: Args) -> None:
    partner, max_total, cooldown, stride, expires_at = a.addr(0), a.u(1), a.u(2), a.u(3), a.u(4)
    registry.require_admin(c, MODULE)
    _store(c)
    if partner in c.state.partner_caps:
        _partner_revoked(c, partner)
    else:
        g = c.write(c.state.globals_, 0)
        g.partner_index = (*g.partner_index, partner)
    c.put(
        c.state.partner_caps,
        partner,
        PartnerPayoutCap(
            partner=partner,
            max_total_payout=max_total,
            remaining_payout=max_total,
            payout_cooldown_secs=cooldown,
            next_nonce=stride,
            nonce_stride=stride,
            expires_at=expires_at,
        ),
    )
    c.emit(
        MODULE,
        "PartnerPayoutCapGrantedEvent",
        [
            ("partner", partner),
            ("max_total_payout", j_u64(max_total)),
            ("payout_cooldown_secs", j_u64(cooldown)),
            ("nonce_stride", j_u64(stride)),
            ("expires_at", j_u64(expires_at)),
        ],
    )


def revoke_partner_payout_cap_admin(c: CallContext, a: Args) -> None:
    partner = a.addr(0)
    registry.require_admin(c, MODULE)
    _store(c)
    if partner not in c.state.partner_caps:
        c.abort(E_PARTNER_PAYOUT_CAP_MISSING, MODULE)
    c.delete(c.state.partner_caps, partner)
    g = c.write(c.state.globals_, 0)
    g.partner_index = _without(g.partner_index, partner)
    _partner_revoked(c, partner)


def consume_partner_payout(
    c: CallContext, *, partner: str, amount: int, timestamp: int, nonce: int
) -> None:
    """``consume_partner_payout_from_store``: budget, expiry, cooldown, nonce; then spend."""
    _store(c)
    cap = c.state.partner_caps.get(partner)
    if cap is None:
        c.abort(E_PARTNER_PAYOUT_CAP_MISSING, MODULE)
    if amount > cap.remaining_payout:
        c.abort(E_PARTNER_PAYOUT_BUDGET_EXCEEDED, MODULE)
    if cap.expires_at > 0 and timestamp > cap.expires_at:
        c.abort(E_PARTNER_PAYOUT_EXPIRED, MODULE)
    if (
        cap.payout_cooldown_secs > 0
        and cap.last_payout_at > 0
        and timestamp < cap.last_payout_at + cap.payout_cooldown_secs
    ):
        c.abort(E_PARTNER_PAYOUT_COOLDOWN, MODULE)
    if nonce != cap.next_nonce:
        c.abort(E_PARTNER_PAYOUT_NONCE, MODULE)
    c.put(
        c.state.partner_caps,
        partner,
        replace(
            cap,
            remaining_payout=cap.remaining_payout - amount,
            last_payout_at=timestamp,
            next_nonce=cap.next_nonce + cap.nonce_stride,
        ),
    )


def partner_cap_expired(cap: PartnerPayoutCap, now_sec: int) -> bool:
    """What ``cleanup_expired_admin`` removes: expired, or nothing left to pay."""
    return (cap.expires_at > 0 and now_sec > cap.expires_at) or cap.remaining_payout == 0


# --- premium access caps --------------------------------------------------------------------


def _premium_revoked(c: CallContext, holder: str) -> None:
    c.emit(MODULE, "PremiumAccessRevokedEvent", [("holder", holder)])


def grant_premium_access_admin(c: CallContext, a: Args) -> None:
    holder, expires_at, auto_renew, referrer = a.addr(0), a.u(1), a.flag(2), a.opt_addr(3)
    registry.require_admin(c, MODULE)
    _store(c)
    if holder in c.state.premium_caps:
        _premium_revoked(c, holder)
    else:
        g = c.write(c.state.globals_, 0)
        g.premium_index = (*g.premium_index, holder)
    c.put(
        c.state.premium_caps,
        holder,
        PremiumAccessCap(
            holder=holder, expires_at=expires_at, auto_renew=auto_renew, referrer=referrer
        ),
    )
    c.emit(
        MODULE,
        "PremiumAccessGrantedEvent",
        [("holder", holder), ("expires_at", j_u64(expires_at)), ("auto_renew", auto_renew)],
    )


def revoke_premium_access_admin(c: CallContext, a: Args) -> None:
    holder = a.addr(0)
    registry.require_admin(c, MODULE)
    _store(c)
    if holder not in c.state.premium_caps:
        c.abort(E_PREMIUM_CAP_MISSING, MODULE)
    c.delete(c.state.premium_caps, holder)
    g = c.write(c.state.globals_, 0)
    g.premium_index = _without(g.premium_index, holder)
    _premium_revoked(c, holder)


def has_premium_cap(state: PackageState, holder: str) -> bool:
    """``has_premium_cap``: aborts ``E_ROLES_NOT_INITIALIZED`` without a role store."""
    require_store(state)
    return holder in state.premium_caps


def is_premium_active(cap: PremiumAccessCap, now_sec: int) -> bool:
    return cap.expires_at == 0 or cap.expires_at >= now_sec


def premium_cap_expired(cap: PremiumAccessCap, now_sec: int) -> bool:
    """What ``cleanup_expired_admin`` removes."""
    return cap.expires_at > 0 and now_sec > cap.expires_at


def assert_premium_active(state: PackageState, holder: str, now_sec: int) -> None:
    """``assert_premium_active``: a cap (0x1106) that has not expired (0x1107)."""
    require_store(state)
    cap = state.premium_caps.get(holder)
    if cap is None:
        raise ModelAbort(E_PREMIUM_CAP_MISSING, MODULE)
    if not is_premium_active(cap, now_sec):
        raise ModelAbort(E_PREMIUM_CAP_EXPIRED, MODULE)


# --- cleanup --------------------------------------------------------------------------------


def cleanup_expired_admin(c: CallContext, a: Args) -> None:
    now_sec = a.u(0)
    registry.require_admin(c, MODULE)
    _store(c)
    _cleanup_partner_caps(c, now_sec)
    _cleanup_premium_caps(c, now_sec)


def _cleanup_partner_caps(c: CallContext, now_sec: int) -> None:
    index, i = c.state.g.partner_index, 0
    while i < len(index):
        partner = index[i]
        cap = c.state.partner_caps.get(partner)
        if cap is not None and not partner_cap_expired(cap, now_sec):
            i += 1
            continue
        index = _swap_remove(index, i)
        if cap is not None:
            c.delete(c.state.partner_caps, partner)
            _partner_revoked(c, partner)
    if index != c.state.g.partner_index:
        c.write(c.state.globals_, 0).partner_index = index


def _cleanup_premium_caps(c: CallContext, now_sec: int) -> None:
    index, i = c.state.g.premium_index, 0
    while i < len(index):
        holder = index[i]
        cap = c.state.premium_caps.get(holder)
        if cap is not None and not premium_cap_expired(cap, now_sec):
            i += 1
            continue
        index = _swap_remove(index, i)
        if cap is not None:
            c.delete(c.state.premium_caps, holder)
            _premium_revoked(c, holder)
    if index != c.state.g.premium_index:
        c.write(c.state.globals_, 0).premium_index = index
