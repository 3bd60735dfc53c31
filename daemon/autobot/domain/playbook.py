"""What the rest of the playbook stores that autobot watches (docs/package.md §2.1, §4, §5, §7).

autobot never performs these systems' transactions (partner payouts, payout rounds, finalization,
dual-write hashes stay with the treasury and the legacy bridge; docs/decisions.md §10): it reads
them to export the handbook's metrics and to recognise their state before it acts.

* ``PartnerCap`` — ``roles::list_partner_caps`` (a ``PartnerPayoutCap``): the partner's payout
  budget, cooldown, nonce and expiry;
* ``PremiumCap`` — ``roles::list_premium_caps`` (a ``PremiumAccessCap``);
* ``DualWrite`` — ``legacy_bridge::DualWriteControl``: its flags and the expected summary hashes
  by lottery (``pending_expected_hashes`` with ``dual_write_status``), ``None`` without a control.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autobot.domain.values import Address

__all__ = [
    "CAP_EXPIRY_WARNING_SECONDS",
    "DualWrite",
    "PartnerCap",
    "PlaybookReport",
    "PremiumCap",
]

CAP_EXPIRY_WARNING_SECONDS = 86_400
"""The handbook's "expiring": an expiry within 24 h (docs/package.md §7)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerCap:
    """One ``PartnerPayoutCap`` (``expires_at == 0``: never expires)."""

    partner: Address
    max_total_payout: int
    remaining_payout: int
    payout_cooldown_secs: int = 0
    last_payout_at: int = 0
    next_nonce: int = 0
    nonce_stride: int = 0
    expires_at: int = 0

    def expiring(self, now: int) -> bool:
        """``partner_cap_expiring``: the budget is spent, or the expiry is within 24 h (or past)."""
        if self.remaining_payout == 0:
            return True
        return self.expires_at != 0 and self.expires_at <= now + CAP_EXPIRY_WARNING_SECONDS


@dataclass(frozen=True, slots=True, kw_only=True)
class PremiumCap:
    """One ``PremiumAccessCap`` (``expires_at == 0``: never expires)."""

    holder: Address
    expires_at: int = 0
    auto_renew: bool = False
    referrer: Address | None = None

    def expiring(self, now: int) -> bool:
        """``premium_cap_expiring``: the expiry is within 24 h (or past)."""
        return self.expires_at != 0 and self.expires_at <= now + CAP_EXPIRY_WARNING_SECONDS


@dataclass(frozen=True, slots=True, kw_only=True)
class DualWrite:
    """``DualWriteControl``: flags and the expected hashes (``0x`` hex) by lottery id, in the
    table's order."""

    enabled: bool = False
    abort_on_mismatch: bool = False
    abort_on_missing: bool = False
    expected: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expected", dict(self.expected))  # a copy (deep-copyable)

    def blocks(self, lottery_id: int, summary_hash: str | None = None) -> bool:
        """Whether writing a summary of ``lottery_id`` (whose hash is ``summary_hash``, when
        known) aborts in the dual-write control (docs/package.md §4): a missing expected hash
        under ``abort_on_missing``, a different one under ``abort_on_mismatch``."""
        if not self.enabled:
            return False
        expected = self.expected.get(lottery_id)
        if expected is None:
            return self.abort_on_missing
        if summary_hash is None:  # the hash a write would produce is unknown: any may differ
            return self.abort_on_mismatch
        return self.abort_on_mismatch and expected != summary_hash


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookReport:
    """What ``playbook_watch.PlaybookWatch`` found in one sweep: the handbook's metrics for the
    systems autobot watches but does not operate (docs/package.md §7). Per-lottery values are
    by lottery id, live lotteries only (the watch's own copies: never changed after the report).

    ``sales_rate``: tickets a minute over the last window, for lotteries selling now (and
    watched for a whole window); ``purchase_rate_limit_hits``: ``PurchaseRateLimitHitEvent``s
    the chain kept since the start (docs/package.md §10.16: none); ``payout_finalize_pending``: seconds
    a PAYOUT lottery has waited for its finalization; ``payout_rounds`` and the count of
    ``payout_round`` regressions seen since the start; ``accounting_mismatch``: failed checks of
    ``planning.accounting.reconcile``, lotteries with a failing check only; caps expiring; ``dual_write_pending``: expected hashes
    waiting longer than two hours, ``dual_write_expected``: all of them;
    ``dual_write_mismatch``: expected hashes of lotteries whose stored summary hashes otherwise;
    ``dual_write_mismatch_free_seconds``: chain seconds since a mismatch was last seen (or since
    the watch started, when it has seen none); ``dual_write_enabled``: the control's flag
    (``None`` until the control was read), ``dual_write_pending_after_seconds``: the two hours.
    """

    sales_rate: Mapping[int, float] = field(default_factory=dict)
    purchases_seen: int = 0
    purchase_rate_limit_hits: int = 0
    payout_finalize_pending: Mapping[int, int] = field(default_factory=dict)
    payout_rounds: Mapping[int, int] = field(default_factory=dict)
    payout_round_regressions: int = 0
    accounting_mismatch: Mapping[int, int] = field(default_factory=dict)
    partner_caps: int = 0
    partner_cap_expiring: int = 0
    premium_caps: int = 0
    premium_cap_expiring: int = 0
    dual_write_expected: int = 0
    dual_write_pending: int = 0
    dual_write_mismatch: int = 0
    dual_write_mismatch_free_seconds: int = 0
    dual_write_enabled: bool | None = None
    dual_write_pending_after_seconds: int = 7_200
