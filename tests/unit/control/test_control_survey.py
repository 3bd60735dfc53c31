"""The CLI routes and reads the journal the way the daemon does (``autobot.control.survey``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from autobot.clock import FakeClock
from autobot.config import parse_config
from autobot.control.survey import OperatorNames, build_plan_context, route
from autobot.domain.bots import Bot
from autobot.execution.guards import Guards
from autobot.execution.routing import Router
from autobot.journal.records import ActionState, NewAction, Outcome, RequestKind
from autobot.journal.store import SqliteJournal
from autobot.planning.plan import ActionKey
from autobot.planning.requests import CancelRequest, RotateRequest

FAST, SLOW, SAFE = ("0x" + c * 64 for c in "123")
NAMES = OperatorNames(by_name={"F": FAST, "S": SLOW, "X": SAFE})
NOW = 500


def bot(operator: str, timelock: int, allowed: tuple[int, ...] = (1, 2), **kw: object) -> Bot:
    fields: dict[str, object] = {"max_failures": 3, "expires_at": 10_000} | kw
    return Bot(operator=operator, allowed_actions=allowed, timelock_secs=timelock, **fields)  # type: ignore[arg-type]


def routed(action_id: int, bots: list[Bot], busy: set[str] | None = None) -> str | None:
    return route(
        action_id, bots, holders={FAST, SLOW, SAFE}, busy=busy or set(), now=NOW, names=NAMES
    ).operator


@pytest.mark.parametrize(
    ("action_id", "bots", "busy"),
    [
        (1, [bot(SLOW, 300), bot(FAST, 0)], set()),
        (6, [bot(FAST, 0, (6,)), bot(SLOW, 600, (6,)), bot(SAFE, 900, (6,))], set()),
        (1, [bot(FAST, 60), bot(SLOW, 300)], {FAST}),
        (1, [bot(FAST, 0, expires_at=NOW - 1), bot(SLOW, 300)], set()),
        (1, [bot(FAST, 0, failure_count=3), bot(SLOW, 300)], set()),
        (7, [bot(FAST, 0), bot(SLOW, 900)], set()),
    ],
)
def test_routing_agrees_with_the_executors_router(
    action_id: int, bots: list[Bot], busy: set[str]
) -> None:
    expected = Router(guards=Guards(), operators={FAST, SLOW, SAFE}).route(
        action_id, bots, now=NOW, busy=busy
    )
    assert routed(action_id, bots, busy) == (
        None if expected.bot is None else expected.bot.operator
    )


def test_routing_logs_nothing_and_says_why_no_bot_takes_it() -> None:
    with capture_logs() as logs:
        result = route(
            6, [bot(FAST, 900, (6,), expires_at=NOW - 1)], holders={FAST}, busy=set(), now=NOW,
            names=NAMES,
        )  # fmt: skip
    assert logs == []
    assert result.operator is None and result.note.startswith("F: bot expired")


def test_only_busy_bots_left_means_the_action_waits_for_the_first() -> None:
    result = route(6, [bot(SAFE, 900, (6,))], holders={SAFE}, busy={SAFE}, now=NOW, names=NAMES)
    assert result.operator == SAFE and "busy" in result.note


def test_operator_names_label_configured_and_foreign_addresses() -> None:
    assert NAMES.label(SLOW) == "S"
    assert NAMES.label("0x" + "9" * 64) == "0x9999…9999"
    assert NAMES.label(None) == "-"


async def test_the_plan_context_carries_config_and_journal_knowledge(tmp_path: Path) -> None:
    config = parse_config(
        {
            "chain": {
                "rpc_urls": ["http://127.0.0.1:1/"],
                "chain_id": 77,
                "package_address": "0x1",
            },
            "keys": {"admin_key_file": "admin.key", "operator_key_files": {"A": "a.key"}},
            "refunds": {"auto_refund": False, "batch_size": 50},
            "draws": {"cancel_on_vrf_failure": True},
        },
        source=tmp_path / "autobot.toml",
        environ={},
    )
    async with await SqliteJournal.open(tmp_path / "j.sqlite3", clock=FakeClock()) as journal:
        for key, recipe in (
            ("close:1:0", {"type": "close", "lottery_id": 1}),
            ("draw:2:1", {"type": "draw", "lottery_id": 2}),
            ("fallback:3:100", {"type": "fallback", "asset_id": 3, "active": True}),
        ):
            kind, subject, _ = key.split(":")
            await journal.add_action(
                NewAction(key=key, kind=kind, subject_id=int(subject), action_id=None,
                          recipe=json.dumps(recipe), reason="r", due_at=1),
                chain_now=1,
            )  # fmt: skip
        await journal.update_action(
            "draw:2:1", expect={ActionState.PLANNED}, chain_now=2, state=ActionState.PARKED,
            outcome=Outcome.ESCALATED, error_code=0x1701, error_name="E_VRF_PENDING",
        )  # fmt: skip
        await journal.update_action(
            "fallback:3:100", expect={ActionState.PLANNED}, chain_now=2, state=ActionState.DONE
        )
        await journal.mark_terminal(9, status=7, chain_now=3)
        await journal.add_request(RequestKind.CANCEL, "4", requested_by="t", params={"reason": 2})
        await journal.add_request(RequestKind.RETRY, "draw:2:1", requested_by="t")
        await journal.add_request(RequestKind.CANCEL, "5", requested_by="t")  # no reason: skipped
        extra = RotateRequest(request_id=0, operator=SLOW, max_failures=5)
        await journal.add_request(
            RequestKind.ROTATE, "S", requested_by="t", params={"max_failures": 4}
        )
        ctx = await build_plan_context(config, journal, names=NAMES, extra=(extra,))
    assert (ctx.chain_id, ctx.auto_refund, ctx.refund_batch_size, ctx.cancel_on_vrf_failure) == (
        77, False, 50, True,
    )  # fmt: skip
    assert ctx.open_actions == {ActionKey("close", 1, 0)}
    assert ctx.escalated_draws == {2}
    assert ctx.fallbacks_set_by_autobot == {3}
    assert ctx.requests == (
        CancelRequest(request_id=1, lottery_id=4, reason=2),
        RotateRequest(request_id=4, operator=SLOW, max_failures=4),  # a name becomes its address
        extra,
    )
