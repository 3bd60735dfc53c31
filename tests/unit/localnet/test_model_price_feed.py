"""price_feed: registration, the clamp, the fallback and clear_clamp (§3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from model_builders import NOW, STRANGER, abort, call, demo_model, empty_model, names

from autobot.localnet.model import PackageModel


def view(model: PackageModel, asset_id: int) -> dict[str, object]:
    result = model.view("price_feed", "get_price_view", [asset_id])[0]
    assert isinstance(result, dict)
    return result


def registered(price: int = 1_000, threshold: int | None = None) -> PackageModel:
    model = empty_model()
    call(model, "price_feed", "register_feed", 9, price, 8, None, threshold, NOW)
    return model


def test_register_feed_uses_the_package_defaults_and_emits_updated() -> None:
    model = empty_model()
    events = call(model, "price_feed", "register_feed", 9, 1_000, 8, None, None, NOW)
    assert names(events) == ["price_feed::PriceFeedUpdatedEvent"]
    assert events[0].data == {
        "event_version": 1,
        "event_category": 6,
        "asset_id": "9",
        "price": "1000",
        "decimals": 8,
        "updated_ts": str(NOW),
    }
    assert view(model, 9) == {
        "asset_id": "9",
        "price": "1000",
        "decimals": 8,
        "last_updated_ts": str(NOW),
        "staleness_window": "300",
        "clamp_threshold_bps": "2000",
        "fallback_active": False,
        "fallback_reason": 0,
        "clamp_active": False,
    }


@pytest.mark.parametrize(
    ("asset", "decimals", "signer", "code"),
    [(9, 19, None, 0x1903), (1, 8, None, 0x1901), (9, 8, STRANGER, 0x1202)],
    ids=["decimals", "duplicate", "not-admin"],
)
def test_register_feed_refusals(asset: int, decimals: int, signer: str | None, code: int) -> None:
    model = demo_model()
    signers = (signer,) if signer else None
    kwargs = {"signers": signers} if signers else {}
    err = abort(model, "price_feed", "register_feed", asset, 1, decimals, None, None, NOW, **kwargs)  # type: ignore[arg-type]
    assert (err.code, err.module) == (code, "price_feed")


def test_an_update_within_the_threshold_is_accepted() -> None:
    model = registered()
    events = call(model, "price_feed", "update_price", 9, 1_200, NOW + 1)
    assert names(events) == ["price_feed::PriceFeedUpdatedEvent"]
    assert (view(model, 9)["price"], view(model, 9)["last_updated_ts"]) == ("1200", str(NOW + 1))


def test_an_update_beyond_the_threshold_is_clamped_but_succeeds() -> None:
    model = registered()
    events = call(model, "price_feed", "update_price", 9, 1_201, NOW + 1)
    assert names(events) == ["price_feed::PriceFeedClampEvent"]
    assert events[0].data["old_price"] == "1000"
    assert events[0].data["threshold_bps"] == "2000"
    v = view(model, 9)
    assert (v["price"], v["last_updated_ts"], v["clamp_active"]) == ("1000", str(NOW), True)


def test_an_accepted_update_does_not_clear_the_clamp() -> None:
    model = registered()
    call(model, "price_feed", "update_price", 9, 5_000, NOW + 1)
    call(model, "price_feed", "update_price", 9, 1_100, NOW + 2)
    assert view(model, 9)["clamp_active"] is True


def test_a_zero_price_never_clamps() -> None:
    model = registered(price=0)
    assert names(call(model, "price_feed", "update_price", 9, 10**9, NOW)) == [
        "price_feed::PriceFeedUpdatedEvent"
    ]


@given(
    old=st.integers(min_value=1, max_value=10**12),
    new=st.integers(min_value=0, max_value=10**12),
    bps=st.integers(min_value=0, max_value=10_000),
)
def test_clamp_rule_matches_the_formula(old: int, new: int, bps: int) -> None:
    model = registered(price=old, threshold=bps)
    call(model, "price_feed", "update_price", 9, new, NOW)
    assert view(model, 9)["clamp_active"] is (abs(new - old) * 10_000 > old * bps)


def test_clear_clamp_clears_it_and_restarts_freshness() -> None:
    model = demo_model()
    events = call(model, "price_feed", "clear_clamp", 2, NOW + 30)
    assert names(events) == ["price_feed::PriceFeedClampClearedEvent"]
    v = view(model, 2)
    assert (v["clamp_active"], v["last_updated_ts"], v["price"]) == (
        False,
        str(NOW + 30),
        "100000000",
    )


def test_clear_clamp_without_a_clamp_aborts() -> None:
    model = demo_model()
    assert abort(model, "price_feed", "clear_clamp", 1, NOW).code == 0x1908


def test_fallback_off_also_clears_the_clamp() -> None:
    model = demo_model()
    call(model, "price_feed", "set_fallback", 2, True, 4)
    assert (view(model, 2)["fallback_active"], view(model, 2)["fallback_reason"]) == (True, 4)
    events = call(model, "price_feed", "set_fallback", 2, False, 0)
    assert events[0].data == {
        "event_version": 1,
        "event_category": 6,
        "asset_id": "2",
        "fallback_active": False,
        "reason": 0,
    }
    assert (view(model, 2)["fallback_active"], view(model, 2)["clamp_active"]) == (False, False)


def test_an_accepted_update_clears_the_fallback() -> None:
    model = demo_model()
    call(model, "price_feed", "set_fallback", 1, True, 2)
    call(model, "price_feed", "update_price", 1, 420_001, NOW + 1)
    assert view(model, 1)["fallback_active"] is False


def test_unknown_asset_aborts_not_found() -> None:
    model = demo_model()
    assert abort(model, "price_feed", "update_price", 77, 1, NOW).code == 0x1902
