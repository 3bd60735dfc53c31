"""The package's feature switch (docs/package.md §2.1, §6a): which features it lets through.

Feature ids: PURCHASE 1, CLOSE 2, DRAW 3, PAYOUT 4; only PURCHASE (sales) and DRAW
(``request_draw_admin``, ``schedule_manual_retry_admin``) are ever checked. The switch applies
only once its ``FeatureSwitchRegistry`` exists; then ``force_enable_devnet`` lets everything
through, an id without an entry aborts ``E_FEATURE_UNKNOWN`` and a mode other than ENABLED_ALL
(PREMIUM_ONLY, for callers without premium access, as the admin's draw calls are) aborts
``E_FEATURE_DISABLED``. The switch is one for the whole package: turned off, it stops every
lottery's draw.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "E_FEATURE_DISABLED",
    "E_FEATURE_MODE_INVALID",
    "E_FEATURE_UNKNOWN",
    "Feature",
    "FeatureMode",
    "FeatureSwitch",
]

E_FEATURE_UNKNOWN = 0x1401
E_FEATURE_MODE_INVALID = 0x1402
E_FEATURE_DISABLED = 0x1403


class Feature(enum.IntEnum):
    PURCHASE = 1
    CLOSE = 2
    DRAW = 3
    PAYOUT = 4


class FeatureMode(enum.IntEnum):
    DISABLED = 0
    ENABLED_ALL = 1
    PREMIUM_ONLY = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSwitch:
    """``feature_switch::FeatureSwitchRegistry`` as read (the default: no registry, so no check).

    ``modes`` holds the entries read (feature id → mode); a feature missing from it has no entry.
    """

    initialized: bool = False
    force_enable_devnet: bool = False
    modes: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", MappingProxyType(dict(self.modes)))

    def __deepcopy__(self, memo: dict[int, object]) -> FeatureSwitch:
        return self  # immutable (a copied chain state shares it)

    def refusal(self, feature: Feature, *, premium: bool = False) -> int | None:
        """The abort code a call checking ``feature`` would meet (``E_FEATURE_UNKNOWN``,
        ``E_FEATURE_DISABLED``, or ``E_FEATURE_MODE_INVALID`` for a mode it does not know),
        ``None`` when the switch lets it through."""
        if not self.initialized or self.force_enable_devnet:
            return None
        mode = self.modes.get(int(feature))
        if mode is None:
            return E_FEATURE_UNKNOWN
        if mode == FeatureMode.ENABLED_ALL or (mode == FeatureMode.PREMIUM_ONLY and premium):
            return None
        if mode in (FeatureMode.DISABLED, FeatureMode.PREMIUM_ONLY):
            return E_FEATURE_DISABLED
        return E_FEATURE_MODE_INVALID

    def mode_of(self, feature: Feature) -> int | None:
        """The entry's mode (``None``: no entry), for metrics and the status."""
        return self.modes.get(int(feature))
