"""How the operator CLI writes values and the incident log (no chain, no journal)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from autobot.control.actions import _states
from autobot.control.console import CommandError, plain, relative, span
from autobot.control.incidents import render_incidents
from autobot.control.requests import _rotate_params
from autobot.domain.bots import Bot
from autobot.journal.incident_log import HEADER_LINE
from autobot.journal.records import ActionState, Incident

BOT = Bot(
    operator="0x" + "1" * 64,
    allowed_actions=(1, 2, 6, 7),
    timelock_secs=900,
    max_failures=3,
    expires_at=2_000_000_000,
    cron_spec=b"*/1 * * * *",
    pending_action_hash=b"\xab\xcd",
)


def incident(n: int, description: str, **kw: Any) -> Incident:
    row: dict[str, Any] = {
        "id": n, "at_utc": f"2025-01-0{n} 12:00", "wall": float(n), "type": "Dry-run",
        "description": description, "responsible": "autobot", "links": "",
        "action_key": None, "action_hash": None, "tx_hash": None,
    }  # fmt: skip
    return Incident(**(row | kw))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (119, "119 s"), (900, "15 min"), (7_500, "2 h 5 min"), (7_200, "2 h"),
     (3 * 86_400 + 4 * 3_600, "3 d 4 h"), (30 * 86_400, "30 d")],
)  # fmt: skip
def test_durations_read_like_people_say_them(seconds: int, text: str) -> None:
    assert span(seconds) == text


def test_relative_times_read_on_one_clock() -> None:
    assert relative(1_900, 1_000) == "in 15 min"
    assert relative(1_000, 1_012) == "12 s ago" and relative(5, 5) == "now"


def test_domain_values_become_json_with_hex_bytes() -> None:
    value = plain(BOT)
    assert value["pending_action_hash"] == "0xabcd" and value["last_action_hash"] is None
    assert value["cron_spec"] == "0x" + b"*/1 * * * *".hex()
    assert value["allowed_actions"] == [1, 2, 6, 7]
    assert plain(ActionState.PARKED) == "parked"
    json.dumps(value)


def test_markdown_is_the_handbooks_table_with_escaped_pipes_and_the_tx_as_link() -> None:
    rows = [
        incident(2, "lottery 3 | reason 1", type="Cancellation", links="a|b"),
        incident(
            1, "announced\nrefund", action_hash="0xab", tx_hash="0xcd", action_key="refund:4:1"
        ),
    ]
    lines = render_incidents(rows, fmt="markdown").splitlines()
    assert lines[0] == HEADER_LINE
    assert lines[2] == (
        "| 2025-01-02 12:00 | Cancellation | lottery 3 \\| reason 1 | autobot | a\\|b |"
    )
    assert lines[3] == (
        "| 2025-01-01 12:00 | Dry-run | announced refund (action refund:4:1, hash 0xab) "
        "| autobot | 0xcd |"
    )


def test_older_journals_types_are_shown_as_the_handbook_names_them() -> None:
    rows = [incident(2, "refund batch", type="Refund"), incident(1, "parked", type="Incident")]
    lines = render_incidents(rows, fmt="markdown").splitlines()
    assert "| Cancellation | refund batch |" in lines[2]
    assert "| Инцидент | parked |" in lines[3]


def test_text_and_json_formats() -> None:
    row = incident(1, "announced with tx 0xcd", tx_hash="0xcd")
    assert render_incidents([row], fmt="text").endswith("— autobot  0xcd")
    assert render_incidents([], fmt="text") == "no incidents"
    assert json.loads(render_incidents([row], fmt="json"))[0]["tx_hash"] == "0xcd"


def test_state_filters_take_names_and_open() -> None:
    assert _states("parked,failed") == {ActionState.PARKED, ActionState.FAILED}
    assert ActionState.WAITING in _states("open") and ActionState.DONE not in _states("open")
    assert _states(None) == set()
    with pytest.raises(CommandError) as caught:
        _states("parkd")
    assert caught.value.exit_code == 2 and "parked" in str(caught.value)


def rotate_args(**given: object) -> argparse.Namespace:
    base: dict[str, object] = dict.fromkeys(
        ("max_failures", "timelock", "expires_in", "allowed_actions", "cron")
    )
    return argparse.Namespace(**(base | given))


def test_rotation_params_state_every_setting_explicitly() -> None:
    assert _rotate_params(rotate_args(max_failures=5), BOT) == {
        "max_failures": 5,
        "timelock_secs": 900,
        "allowed_actions": [1, 2, 6, 7],
        "cron_spec": "*/1 * * * *",
        "expires_at": 2_000_000_000,
    }
    given = _rotate_params(rotate_args(expires_in=3_600, allowed_actions=(1,), timelock=0), BOT)
    assert given["expires_in"] == 3_600 and "expires_at" not in given
    assert (given["allowed_actions"], given["timelock_secs"]) == ([1], 0)


def test_a_cron_spec_that_is_not_text_is_left_to_the_daemon() -> None:
    odd = Bot(operator=BOT.operator, allowed_actions=(1,), timelock_secs=0, max_failures=1,
              expires_at=1, cron_spec=b"\xff\xfe")  # fmt: skip
    assert "cron_spec" not in _rotate_params(rotate_args(), odd)
