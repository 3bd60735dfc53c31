"""``price_feed``: registered prices with a clamp and a fallback flag (§3).

The clamp compares a new price with the last *accepted* one: ``|new - old| * 10_000 >
old * clamp_threshold_bps`` (skipped while the stored price is 0). A clamped update returns
normally with ``clamp_active = true`` and a ClampEvent, leaving price, timestamp and fallback
untouched; an accepted update clears the fallback but not the clamp. ``set_fallback(false)``
clears the clamp too; ``clear_clamp`` clears it and restarts freshness at ``cleared_ts``.
"""

from __future__ import annotations

from autobot.localnet.model import registry
from autobot.localnet.model.core import Args, CallContext, ModelAbort, j_u64
from autobot.localnet.model.state import PackageState, PriceFeed

__all__ = [
    "DEFAULT_CLAMP_THRESHOLD_BPS",
    "DEFAULT_STALENESS_WINDOW",
    "clear_clamp",
    "feed",
    "init_price_feed",
    "register_feed",
    "set_fallback",
    "update_price",
]

MODULE = "price_feed"
DEFAULT_STALENESS_WINDOW = 300
DEFAULT_CLAMP_THRESHOLD_BPS = 2_000
EVENT_VERSION = 1
CATEGORY_PRICE = 6
E_ALREADY_INITIALIZED = 0x1201
E_REGISTRY_MISSING = 0x1202
E_PRICE_FEED_EXISTS = 0x1901
E_PRICE_FEED_NOT_FOUND = 0x1902
E_PRICE_DECIMALS_INVALID = 0x1903
E_PRICE_CLAMP_NOT_ACTIVE = 0x1908


def _head(asset_id: int) -> list[tuple[str, object]]:
    return [
        ("event_version", EVENT_VERSION),
        ("event_category", CATEGORY_PRICE),
        ("asset_id", j_u64(asset_id)),
    ]


def _registry(c: CallContext) -> None:
    if c.state.g.price_feed_version is None:
        c.abort(E_REGISTRY_MISSING, MODULE)


def feed(state: PackageState, asset_id: int) -> PriceFeed:
    """The record, aborting as the package's readers do (no registry: 0x1202; unknown: 0x1902)."""
    if state.g.price_feed_version is None:
        raise ModelAbort(E_REGISTRY_MISSING, MODULE)
    record = state.feeds.get(asset_id)
    if record is None:
        raise ModelAbort(E_PRICE_FEED_NOT_FOUND, MODULE)
    return record


def _updated(c: CallContext, asset_id: int, price: int, decimals: int, ts: int) -> None:
    c.emit(
        MODULE,
        "PriceFeedUpdatedEvent",
        [
            *_head(asset_id),
            ("price", j_u64(price)),
            ("decimals", decimals),
            ("updated_ts", j_u64(ts)),
        ],
    )


def init_price_feed(c: CallContext, a: Args) -> None:
    version = a.u(0)
    registry.require_admin(c, MODULE)
    if c.state.g.price_feed_version is not None:
        c.abort(E_ALREADY_INITIALIZED, MODULE)
    c.write(c.state.globals_, 0).price_feed_version = version


def register_feed(c: CallContext, a: Args) -> None:
    asset_id, price, decimals = a.u(0), a.u(1), a.u(2)
    staleness, threshold, updated_ts = a.opt(3), a.opt(4), a.u(5)
    registry.require_admin(c, MODULE)
    if decimals > 18:
        c.abort(E_PRICE_DECIMALS_INVALID, MODULE)
    _registry(c)
    if asset_id in c.state.feeds:
        c.abort(E_PRICE_FEED_EXISTS, MODULE)
    c.put(
        c.state.feeds,
        asset_id,
        PriceFeed(
            asset_id=asset_id,
            price=price,
            decimals=decimals,
            last_updated_ts=updated_ts,
            staleness_window=DEFAULT_STALENESS_WINDOW if staleness is None else staleness,
            clamp_threshold_bps=DEFAULT_CLAMP_THRESHOLD_BPS if threshold is None else threshold,
        ),
    )
    _updated(c, asset_id, price, decimals, updated_ts)


def is_clamped(record: PriceFeed, new_price: int) -> bool:
    old = record.price
    if old == 0:
        return False
    return abs(new_price - old) * 10_000 > old * record.clamp_threshold_bps


def update_price(c: CallContext, a: Args) -> None:
    asset_id, price, updated_ts = a.u(0), a.u(1), a.u(2)
    registry.require_admin(c, MODULE)
    _registry(c)
    record = feed(c.state, asset_id)
    live = c.write(c.state.feeds, asset_id)
    if is_clamped(record, price):
        live.clamp_active = True
        c.emit(
            MODULE,
            "PriceFeedClampEvent",
            [
                *_head(asset_id),
                ("old_price", j_u64(record.price)),
                ("new_price", j_u64(price)),
                ("threshold_bps", j_u64(record.clamp_threshold_bps)),
            ],
        )
        return
    live.price = price
    live.last_updated_ts = updated_ts
    live.fallback_active = False
    live.fallback_reason = 0
    _updated(c, asset_id, price, live.decimals, updated_ts)


def set_fallback(c: CallContext, a: Args) -> None:
    asset_id, active, reason = a.u(0), a.flag(1), a.u(2)
    registry.require_admin(c, MODULE)
    _registry(c)
    feed(c.state, asset_id)
    live = c.write(c.state.feeds, asset_id)
    live.fallback_active = active
    live.fallback_reason = reason
    if not active:
        live.clamp_active = False
    c.emit(
        MODULE,
        "PriceFeedFallbackEvent",
        [*_head(asset_id), ("fallback_active", active), ("reason", reason)],
    )


def clear_clamp(c: CallContext, a: Args) -> None:
    asset_id, cleared_ts = a.u(0), a.u(1)
    registry.require_admin(c, MODULE)
    _registry(c)
    if not feed(c.state, asset_id).clamp_active:
        c.abort(E_PRICE_CLAMP_NOT_ACTIVE, MODULE)
    live = c.write(c.state.feeds, asset_id)
    live.clamp_active = False
    live.last_updated_ts = cleared_ts
    c.emit(
        MODULE, "PriceFeedClampClearedEvent", [*_head(asset_id), ("cleared_ts", j_u64(cleared_ts))]
    )
