"""Builders for the status page tests: the planner tests' domain builders plus journal rows.

Imported as a plain module (unique name); reuses ``tests/unit/planning/plan_builders.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planning"))

from plan_builders import (
    CHAIN_ID,
    HEIGHT,
    NOW,
    OPERATOR,
    bot,
    canceled,
    cap,
    ctx,
    feed,
    lottery,
    requested,
    snapshot,
)

from autobot.domain.playbook import PlaybookReport
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.journal.records import ActionRecord, ActionState, Incident
from autobot.status.document import StatusFacts
from autobot.status.moments import ClockLine

__all__ = [
    "CHAIN_ID",
    "HEIGHT",
    "NOW",
    "OPERATOR",
    "SCHEMA",
    "WALL",
    "action",
    "bot",
    "canceled",
    "cap",
    "ctx",
    "facts",
    "feed",
    "incident",
    "lottery",
    "requested",
    "snapshot",
]

WALL = 1_800_000_000.0  # host wall seconds while the chain is at NOW (chain runs at rate 1)
CLOCK = ClockLine(chain=NOW, wall=WALL, rate=1.0)
SCHEMA: dict[str, Any] = json.loads(
    (
        Path(__file__).resolve().parents[3] / "daemon/autobot/status/assets/status.schema.json"
    ).read_text()
)


def action(
    key: str,
    *,
    state: ActionState = ActionState.DONE,
    operator: str | None = None,
    action_id: int | None = None,
    execute_at: int | None = None,
    action_hash: bytes | None = None,
    updated_chain: int = NOW - 60,
    error_message: str | None = None,
) -> ActionRecord:
    kind, subject, _ = key.split(":")
    return ActionRecord(
        key=key,
        kind=kind,
        subject_id=int(subject) if subject.isdigit() else 0,
        action_id=action_id,
        recipe="{}",
        reason="because",
        due_at=NOW - 100,
        state=state,
        operator=operator,
        timelock_secs=None,
        execute_at=execute_at,
        action_hash=action_hash,
        calls=None,
        progress=0,
        outcome=None,
        attempts=0,
        next_check_at=None,
        error_code=None,
        error_name=None,
        error_message=error_message,
        created_wall=WALL - 100,
        updated_wall=WALL - 50,
        created_chain=NOW - 100,
        updated_chain=updated_chain,
    )


def incident(
    kind: str, description: str, *, action_key: str | None = None, wall: float = WALL - 30
) -> Incident:
    return Incident(
        id=1,
        at_utc="2027-01-15 08:00",
        wall=wall,
        type=kind,
        description=description,
        responsible="autobot",
        links="",
        action_key=action_key,
        action_hash=None,
        tx_hash=None,
    )


def facts(
    snap: Snapshot,
    *,
    open_actions: Sequence[ActionRecord] = (),
    finished_actions: Sequence[ActionRecord] = (),
    incidents: Sequence[Incident] = (),
    finished_lotteries: Mapping[int, tuple[int, LotteryView]] | None = None,
    clock: ClockLine | None = CLOCK,
    playbook: PlaybookReport | None = None,
    **context: Any,
) -> StatusFacts:
    return StatusFacts(
        snapshot=snap,
        context=ctx(**context),
        generated_at=WALL,
        clock=clock,
        refresh_seconds=60.0,
        max_age_seconds=120,
        open_actions=tuple(open_actions),
        finished_actions=tuple(finished_actions),
        incidents=tuple(incidents),
        finished_lotteries=finished_lotteries or {},
        playbook=playbook,
    )
