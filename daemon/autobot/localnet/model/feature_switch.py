"""``feature_switch``: which features the package lets through (§2.1), as the model keeps it.

The model holds the switch in two values of ``Globals``: ``feature_draw`` — ``None``, the switch
was never initialised (every check is skipped); ``True``, DRAW on; ``False``, DRAW off — and
``feature_forced``, the registry's ``force_enable_devnet`` (the deployment's: every feature on, no
entries). Without force the entries are PURCHASE, CLOSE and PAYOUT in mode ENABLED_ALL and DRAW as
``feature_draw`` says. ``entries`` is that table, ``is_enabled`` the package's
``is_enabled(feature_id, has_premium)`` (an id without an entry aborts ``E_FEATURE_UNKNOWN`` in
``feature_switch``); the callers assert the result with ``E_FEATURE_DISABLED`` in their own
module. ``set_mode`` is the admin's entry function: it writes one entry, of which the model keeps
DRAW's (the one the localnet's draw calls check; they have no premium access, so PREMIUM_ONLY
refuses them too), and under force it changes nothing that is let through.
"""

from __future__ import annotations

from collections.abc import Mapping

from autobot.localnet.model import registry
from autobot.localnet.model.core import Args, CallContext, ModelAbort
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
    "set_mode",
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
E_FEATURE_MODE_INVALID = 0x1402
E_REGISTRY_MISSING = 0x1202

_DRAW_OFF: Mapping[int, int] = {
    FEATURE_PURCHASE: MODE_ENABLED_ALL,
    FEATURE_CLOSE: MODE_ENABLED_ALL,
    FEATURE_DRAW: MODE_DISABLED,
    FEATURE_PAYOUT: MODE_ENABLED_ALL,
}


def is_initialized(state: PackageState) -> bool:
    """``FeatureSwitchRegistry`` exists."""
    return state.g.feature_draw is not None


_ALL_ON: Mapping[int, int] = {**_DRAW_OFF, FEATURE_DRAW: MODE_ENABLED_ALL}


def _forced(state: PackageState) -> bool:
    return state.g.feature_draw is True and state.g.feature_forced


def entries(state: PackageState) -> Mapping[int, int]:
    """The registry's ``entries`` table: feature id → mode (empty without a switch or under
    force-enable)."""
    if state.g.feature_draw is None or _forced(state):
        return {}
    return _ALL_ON if state.g.feature_draw else _DRAW_OFF


def is_enabled(state: PackageState, feature_id: int, *, premium: bool) -> bool:
    """``feature_switch::is_enabled``; the caller checks ``is_initialized`` first."""
    if _forced(state):
        return True
    mode = entries(state).get(feature_id)
    if mode is None:
        raise ModelAbort(E_FEATURE_UNKNOWN, MODULE)
    return mode == MODE_ENABLED_ALL or (mode == MODE_PREMIUM_ONLY and premium)


def set_mode(c: CallContext, a: Args) -> None:
    """``feature_switch::set_mode(admin, feature_id, mode)`` (§2.1): admin (0x1202) → a supported
    mode (0 DISABLED, 1 ENABLED_ALL, 2 PREMIUM_ONLY; else ``E_FEATURE_MODE_INVALID``) → the
    registry (0x1202) → the entry is written (see the module doc for what the model keeps)."""
    feature_id, mode = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    if mode not in (MODE_DISABLED, MODE_ENABLED_ALL, MODE_PREMIUM_ONLY):
        c.abort(E_FEATURE_MODE_INVALID, MODULE)
    g = c.state.g
    if g.feature_draw is None:
        c.abort(E_REGISTRY_MISSING, MODULE)
    if _forced(c.state) or feature_id != FEATURE_DRAW:
        return
    c.write(c.state.globals_, 0).feature_draw = mode == MODE_ENABLED_ALL
