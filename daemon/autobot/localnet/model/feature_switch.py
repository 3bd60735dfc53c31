"""``feature_switch``: which features the package lets through (§2.1), as the model keeps it.

The model holds the switch in one value, ``Globals.feature_draw``: ``None`` — the switch was
never initialised (every check is skipped); ``True`` — initialised with ``force_enable_devnet``
(every feature on, no entries); ``False`` — the entries PURCHASE, CLOSE and PAYOUT in mode
ENABLED_ALL and DRAW in mode DISABLED. ``entries`` is that table, ``is_enabled`` the package's
``is_enabled(feature_id, has_premium)`` (an id without an entry aborts ``E_FEATURE_UNKNOWN`` in
``feature_switch``); the callers assert the result with ``E_FEATURE_DISABLED`` in their own
module.
"""

from __future__ import annotations

from collections.abc import Mapping

from autobot.localnet.model.core import ModelAbort
from autobot.localnet.model.state import PackageState

__all__ = [
    "FEATURE_CLOSE",
    "FEATURE_DRAW",
    "FEATURE_PAYOUT",
    "FEATURE_PURCHASE",
    "MODE_DISABLED",
    "MODE_ENABLED_ALL",
    "MODE_PREMIUM_ONLY",
    "entries",
    "is_enabled",
    "is_initialized",
]

MODULE = "feature_switch"
FEATURE_PURCHASE = 1
FEATURE_CLOSE = 2
FEATURE_DRAW = 3
FEATURE_PAYOUT = 4
MODE_DISABLED = 0
MODE_ENABLED_ALL = 1
MODE_PREMIUM_ONLY = 2
E_FEATURE_UNKNOWN = 0x1401

_DRAW_OFF: Mapping[int, int] = {
    FEATURE_PURCHASE: MODE_ENABLED_ALL,
    FEATURE_CLOSE: MODE_ENABLED_ALL,
    FEATURE_DRAW: MODE_DISABLED,
    FEATURE_PAYOUT: MODE_ENABLED_ALL,
}


def is_initialized(state: PackageState) -> bool:
    """``FeatureSwitchRegistry`` exists."""
    return state.g.feature_draw is not None


def entries(state: PackageState) -> Mapping[int, int]:
    """The registry's ``entries`` table: feature id → mode (empty under force-enable)."""
    return _DRAW_OFF if state.g.feature_draw is False else {}


def is_enabled(state: PackageState, feature_id: int, *, premium: bool) -> bool:
    """``feature_switch::is_enabled``; the caller checks ``is_initialized`` first."""
    if state.g.feature_draw is True:
        return True
    mode = entries(state).get(feature_id)
    if mode is None:
        raise ModelAbort(E_FEATURE_UNKNOWN, MODULE)
    return mode == MODE_ENABLED_ALL or (mode == MODE_PREMIUM_ONLY and premium)
