"""What autobot pays: the gas unit price and the gas amount it signs, bounded (docs/decisions.md §14).

A node's gas estimate and a simulation's ``gas_used`` are just answers: a lying node would have
autobot sign at any price. The bounds:

* **Price.** Each refresh asks every healthy endpoint for ``estimate_gas_price`` and takes the
  median of their answers (a minority cannot move it). That estimate is used only up to a
  **ceiling** of ``ceiling_factor`` times the median of the recent accepted estimates, and never
  above the hard cap ``max_unit_price`` (``[chain] max_gas_unit_price``): autobot never signs above
  it. An estimate over the ceiling is refused (logged, not remembered), so a sustained lie cannot
  ratchet the ceiling up; a real rise beyond it needs the cap or the config changed. With no
  accepted estimate yet (a start, a restart), the first is accepted only from a majority of the
  configured endpoints (one alone, when only one is configured): a liar that alone answers the
  first refresh cannot set the line the ceiling is drawn from. A configured
  fixed ``gas_unit_price`` is used as it is (the config refuses one above the cap).
* **Amount.** ``max_gas_amount`` is the simulation's ``gas_used`` times ``amount_margin``, at least
  ``MIN_GAS_AMOUNT`` and at most the configured ``[chain] max_gas_amount``; a call signed without
  its own simulation (a pipelined one) gets the cap.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

__all__ = ["DEFAULT_GAS_UNIT_PRICE", "MIN_GAS_AMOUNT", "GasPolicy", "GasPrice"]

log = structlog.get_logger(__name__)

DEFAULT_GAS_UNIT_PRICE = 100
"""Used until the nodes' estimate has been read (Supra's ``min_configured_gas_price``)."""
MIN_GAS_AMOUNT = 10_000
"""The least ``max_gas_amount`` signed (a forged, tiny ``gas_used`` must not starve a call)."""
_HISTORY = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class GasPolicy:
    max_unit_price: int = 10_000
    ceiling_factor: float = 2.0
    max_amount: int = 500_000
    amount_margin: float = 1.5

    def amount(self, gas_used: int | None) -> int:
        """``max_gas_amount`` for a call that simulated at ``gas_used`` (``None``: the cap)."""
        if gas_used is None:
            return self.max_amount
        wanted = math.ceil(max(0, gas_used) * self.amount_margin)
        return max(min(MIN_GAS_AMOUNT, self.max_amount), min(self.max_amount, wanted))


class GasPrice:
    """The gas unit price to sign with, from the nodes' estimates within the bounds."""

    def __init__(self, policy: GasPolicy, *, fixed: int | None = None) -> None:
        self.policy = policy
        self._fixed = fixed
        self._accepted: deque[int] = deque(maxlen=_HISTORY)
        self.price = min(fixed or DEFAULT_GAS_UNIT_PRICE, policy.max_unit_price)

    @property
    def fixed(self) -> bool:
        return self._fixed is not None

    def ceiling(self) -> int:
        """The highest price an estimate may set now."""
        if not self._accepted:
            return self.policy.max_unit_price
        median = statistics.median_low(self._accepted)
        return min(self.policy.max_unit_price, int(median * self.policy.ceiling_factor))

    def observe(self, estimates: Sequence[int], *, endpoints: int = 1) -> int:
        """A refresh's answers (one per endpoint that answered, of ``endpoints`` configured):
        the price signed from now on."""
        if self._fixed is not None or not estimates:
            return self.price
        estimate = statistics.median_low(estimates)
        if not self._accepted and len(estimates) * 2 <= endpoints:
            log.warning(
                "gas_estimate_unconfirmed",
                estimate=estimate,
                answers=len(estimates),
                endpoints=endpoints,
                price=self.price,
            )
            return self.price
        ceiling = self.ceiling()
        if estimate > ceiling:
            log.warning(
                "gas_estimate_refused",
                estimate=estimate,
                ceiling=ceiling,
                answers=sorted(estimates),
            )
            self.price = ceiling
            return self.price
        self._accepted.append(estimate)
        self.price = estimate
        return self.price
