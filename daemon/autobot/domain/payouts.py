"""Payout-side limits autobot must respect or watch (docs/package.md §2.7, §5.2).

``PayoutBatchCap`` is the one global cap shared by every lottery's payout *and* refund batches:
its cooldown, nonce stride and operations budget are checked before each refund batch.
``VrfDepositStatus`` is monitored (alerts), never topped up (docs/decisions.md §10).
"""

from __future__ import annotations

from dataclasses import dataclass

from autobot.domain.values import Address

__all__ = ["PayoutBatchCap", "VrfDepositStatus"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchCap:
    """``roles::payout_batch_cap_view()`` when some."""

    holder: Address
    max_batch_size: int
    operations_budget_total: int
    operations_budget_used: int = 0
    cooldown_secs: int = 0
    last_batch_at: int = 0
    last_nonce: int = 0
    nonce_stride: int = 0

    @property
    def operations_budget_remaining(self) -> int:
        """``total - used`` (metric ``operations_budget_remaining``)."""
        return max(0, self.operations_budget_total - self.operations_budget_used)

    @property
    def next_batch_at(self) -> int:
        """Earliest ``timestamp`` a batch may carry (0 when no cooldown applies)."""
        if self.cooldown_secs > 0 and self.last_batch_at > 0:
            return self.last_batch_at + self.cooldown_secs
        return 0

    def cooling_down(self, now: int) -> bool:
        """A batch at ``now`` would abort ``E_PAYOUT_BATCH_COOLDOWN`` (a "not yet")."""
        return now < self.next_batch_at

    def batch_fits(self, tickets: int) -> bool:
        """``tickets`` within ``max_batch_size`` (0 means unlimited)."""
        return self.max_batch_size == 0 or tickets <= self.max_batch_size

    def nonce_ok(self, nonce: int) -> bool:
        """The nonce check: stride 0 accepts any, otherwise exactly ``last + stride``."""
        return self.nonce_stride == 0 or nonce == self.last_nonce + self.nonce_stride

    def budget_allows(self, operations_paid: int) -> bool:
        """``used + operations_paid <= total``."""
        return self.operations_budget_used + operations_paid <= self.operations_budget_total


@dataclass(frozen=True, slots=True, kw_only=True)
class VrfDepositStatus:
    """``views::get_vrf_deposit_status()`` (zeros without a ledger), plus the ledger's config
    (``effective_floor``, ``min_balance_multiplier_bps``: storage only, docs/package.md §6a; 0 when
    not read)."""

    total_balance: int = 0
    minimum_balance: int = 0
    effective_balance: int = 0
    required_minimum: int = 0
    last_update_ts: int = 0
    requests_paused: bool = False
    paused_since_ts: int = 0
    effective_floor: int = 0
    min_balance_multiplier_bps: int = 0

    @property
    def is_low(self) -> bool:
        """Alert ``VrfDepositLow``: effective balance below the required minimum."""
        return self.effective_balance < self.required_minimum

    @property
    def shortfall(self) -> str | None:
        """Why the last snapshot would pause requests (what the package checks, §2.7): the
        effective balance below the floor or below the required minimum; ``None`` when healthy."""
        short = []
        if self.effective_balance < self.effective_floor:
            short.append(f"below the effective floor {self.effective_floor}")
        if self.effective_balance < self.required_minimum:
            short.append(f"below the required minimum {self.required_minimum}")
        if not short:
            return None
        return f"the effective balance {self.effective_balance} is " + " and ".join(short)

    @property
    def suggested_top_up(self) -> int:
        """Top up to at least ``required_minimum x 1.2`` (runbook), in integer arithmetic."""
        target = (self.required_minimum * 12 + 9) // 10
        return max(0, target - self.effective_balance)
