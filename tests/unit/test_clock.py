"""The injected host clock."""

from __future__ import annotations

import pytest

from autobot.clock import Clock, FakeClock, SystemClock


def test_a_fake_clock_moves_only_when_advanced() -> None:
    clock = FakeClock(wall=100.0, monotonic=5.0)
    clock.advance(2.5)
    assert (clock.wall(), clock.monotonic()) == (102.5, 7.5)


def test_a_fake_clock_refuses_to_go_backwards() -> None:
    with pytest.raises(ValueError, match="negative"):
        FakeClock().advance(-1)


def test_setting_the_wall_clock_leaves_the_monotonic_one() -> None:
    clock = FakeClock(wall=100.0, monotonic=5.0)
    clock.set_wall(50.0)
    assert (clock.wall(), clock.monotonic()) == (50.0, 5.0)


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock) and isinstance(FakeClock(), Clock)
    assert SystemClock().wall() > 1_600_000_000
