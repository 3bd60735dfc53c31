"""Two clocks in text: chain time always labelled, the expected wall time only ahead of now."""

from __future__ import annotations

import pytest

from autobot.status.moments import ClockLine, Clocks, chain_text, countdown_text, wall_text

NOW = 1_796_546_267  # 2026-12-06 08:37:47 UTC, chain and wall alike at the start
LINE = ClockLine(chain=NOW, wall=NOW, rate=60.0)


def test_a_moment_ahead_counts_down_to_its_expected_wall_time_and_names_its_chain_time() -> None:
    clocks = Clocks(chain_now=NOW, wall_now=NOW, line=LINE)
    text = clocks.moment(NOW + 900)  # a 900 s timelock at 60 chain s per wall s: 15 s
    assert text == (
        "in 15 s (expected 2026-12-06 08:38:02 UTC; chain time 2026-12-06 08:52:47 UTC)"
    )


def test_a_moment_in_the_past_is_only_labelled_chain_time() -> None:
    clocks = Clocks(chain_now=NOW, wall_now=NOW + 5, line=LINE)
    assert clocks.moment(NOW - 3 * 86_400) == (
        "chain time 2026-12-03 08:37:47 UTC (3 d earlier in chain time)"
    )
    assert clocks.moment(NOW) == "chain time 2026-12-06 08:37:47 UTC (the chain's latest block)"


def test_without_a_known_pace_a_moment_ahead_is_not_converted() -> None:
    clocks = Clocks(chain_now=NOW, wall_now=NOW)
    assert (
        clocks.moment(NOW + 900)
        == "chain time 2026-12-06 08:52:47 UTC (15 min ahead in chain time)"
    )
    assert clocks.expected_wall(NOW + 900) is None


def test_wall_times_say_how_long_ago() -> None:
    clocks = Clocks(chain_now=NOW, wall_now=NOW)
    assert clocks.wall(NOW - 12) == "2026-12-06 08:37:35 UTC (12 s ago)"
    assert clocks.wall(NOW) == "2026-12-06 08:37:47 UTC (just now)"
    assert wall_text(NOW) == "2026-12-06 08:37:47 UTC"
    assert chain_text(NOW) == "chain time 2026-12-06 08:37:47 UTC"


@pytest.mark.parametrize(("seconds", "text"), [(0, "due now"), (-5, "due now"), (45, "in 45 s")])
def test_countdowns(seconds: float, text: str) -> None:
    assert countdown_text(seconds) == text
