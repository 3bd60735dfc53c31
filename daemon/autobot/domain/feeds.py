"""Price feeds (docs/package.md §3): ``price_feed::get_price_view(asset_id)``.

A clamp does not fail the update transaction: it only sets ``clamp_active``, so the daemon learns
of clamps by reading this view (or the ClampEvent), never from an abort.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ASSET_SUPRA_USD",
    "ASSET_USDT_USD",
    "DEFAULT_CLAMP_THRESHOLD_BPS",
    "DEFAULT_STALENESS_WINDOW",
    "PriceFeed",
]

ASSET_SUPRA_USD = 1
ASSET_USDT_USD = 2
DEFAULT_STALENESS_WINDOW = 300
DEFAULT_CLAMP_THRESHOLD_BPS = 2_000


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceFeed:
    """The nine fields of one asset's feed record."""

    asset_id: int
    price: int
    decimals: int
    last_updated_ts: int
    staleness_window: int = DEFAULT_STALENESS_WINDOW
    clamp_threshold_bps: int = DEFAULT_CLAMP_THRESHOLD_BPS
    fallback_active: bool = False
    fallback_reason: int = 0
    clamp_active: bool = False

    def age(self, now: int) -> int:
        """Seconds since the last accepted price (0 if ``now`` is before it)."""
        return max(0, now - self.last_updated_ts)

    def is_stale(self, now: int) -> bool:
        """``latest_price`` would abort ``E_PRICE_STALE``: ``now - last_updated > window``.

        A ``now`` before ``last_updated_ts`` (an arithmetic underflow on-chain) is not stale here;
        autobot never passes such a time (docs/decisions.md §2).
        """
        return now > self.last_updated_ts and now - self.last_updated_ts > self.staleness_window

    def is_usable(self, now: int) -> bool:
        """``latest_price`` would return a price: no fallback, no clamp, fresh."""
        return not self.fallback_active and not self.clamp_active and not self.is_stale(now)

    def would_clamp(self, new_price: int) -> bool:
        """``update_price`` with ``new_price`` would clamp instead of update (§3, strict ``>``)."""
        if self.price == 0:
            return False
        return abs(new_price - self.price) * 10_000 > self.price * self.clamp_threshold_bps
