"""What happened, for the public: the 24-hour timeline and the incident list (pure).

Both are phrased from a fixed vocabulary and structured facts only (an action's kind and
subject, a cancellation record's time), never from the journal's free text: an incident's
description names transactions, action hashes, abort names and operator addresses, which are for
operators (``autobot incidents``), not for the public page.

Timeline events (chain time, oldest first): ``closed`` (autobot's auto-close), ``draw_requested``
(each VRF request autobot made), ``winners_computed``, ``refunded`` (a refund plan finished: every
ticket refunded and the lottery archived) from the journal's finished actions; ``cancelled`` from
the lotteries' on-chain cancellation records (also cancellations autobot did not make, such as
the package's own after the last VRF attempt); ``finalized`` for lotteries this daemon saw
finalized.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import LotteryView
from autobot.journal.records import ActionRecord, Incident
from autobot.planning.plan import ActionKey
from autobot.status.moments import iso

__all__ = [
    "INCIDENT_TYPES",
    "KIND_ACTIONS",
    "TIMELINE_KINDS",
    "public_incidents",
    "timeline_events",
]

KIND_ACTIONS: Mapping[str, str] = {
    "close": "close",
    "draw": "draw",
    "schedule": "draw_retry",
    "winners": "winners",
    "refund": "refund",
    "cancel": "cancel",
}
"""Action-key kinds whose subject is a lottery → the public name of the work."""

_FINISHED_EVENTS: Mapping[str, str] = {
    "close": "closed",
    "draw": "draw_requested",
    "winners": "winners_computed",
    "refund": "refunded",
}
"""A finished (done) action of these kinds is a timeline event."""

TIMELINE_KINDS = (
    "closed",
    "draw_requested",
    "winners_computed",
    "refunded",
    "cancelled",
    "finalized",
)
INCIDENT_TYPES = ("announcement", "cancellation", "refund", "attention", "other")
INCIDENTS_SHOWN = 10

_PHRASES: Mapping[str, str] = {
    "close": "closing the sales of lottery {n}",
    "draw": "requesting the draw of lottery {n}",
    "schedule": "scheduling a draw retry of lottery {n}",
    "winners": "computing the winners of lottery {n}",
    "refund": "refunding lottery {n}",
    "cancel": "cancelling lottery {n}",
    "fallback": "the fallback switch of price feed {n}",
    "clamp": "clearing the clamp of price feed {n}",
}


def timeline_events(
    finished_actions: Iterable[ActionRecord],
    *,
    finished_lotteries: Mapping[int, tuple[int, LotteryView]],
    cancellations: Iterable[LotteryView] = (),
    since: int,
) -> list[tuple[str, int, int]]:
    """``(kind, lottery id, chain second)`` of everything at or after ``since``, oldest first."""
    events: set[tuple[str, int, int]] = set()
    for record in finished_actions:
        kind = _FINISHED_EVENTS.get(record.kind)
        if kind is not None and record.updated_chain >= since:
            events.add((kind, record.subject_id, record.updated_chain))
    views = [*cancellations, *(view for _, view in finished_lotteries.values())]
    for view in views:
        cancellation = view.cancellation
        if cancellation is not None and cancellation.canceled_ts >= since:
            events.add(("cancelled", view.lottery_id, cancellation.canceled_ts))
    for seen, view in finished_lotteries.values():
        if view.status == LotteryStatus.FINALIZED and seen >= since:
            events.add(("finalized", view.lottery_id, seen))
    return sorted(events, key=lambda e: (e[2], e[1], TIMELINE_KINDS.index(e[0])))


def public_incidents(incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    """The newest ``INCIDENTS_SHOWN`` incidents as ``{type, time, description}``."""
    out: list[dict[str, Any]] = []
    for incident in incidents[:INCIDENTS_SHOWN]:
        kind, description = _public(incident)
        out.append({"type": kind, "time": iso(incident.wall), "description": description})
    return out


def _subject(text: str | None) -> tuple[str, str] | None:
    """``(kind, subject)`` of an action key, if it is one (subject a number)."""
    if not text:
        return None
    try:
        key = ActionKey.parse(text)
    except ValueError:
        return None
    if isinstance(key.subject, int):
        return key.kind, str(key.subject)
    return key.kind, ""


def _work(kind: str, subject: str) -> str:
    phrase = _PHRASES.get(kind)
    if phrase is None or not subject:
        return "an automated step"
    return phrase.format(n=subject)


def _public(incident: Incident) -> tuple[str, str]:
    parsed = _subject(incident.action_key)
    kind, subject = parsed if parsed is not None else ("", "")
    match incident.type:
        case "Dry-run":
            return (
                "announcement",
                f"Automation announced {_work(kind, subject)} on chain; "
                "it runs once the bot's timelock has passed.",
            )
        case "Cancellation" | "Refund":  # refunds belong to the cancellation ("Refund": older)
            what = f"lottery {subject}" if kind and subject else "a lottery"
            if "archive_canceled_lottery_admin" in incident.description:
                return "refund", f"Every ticket of {what} is refunded; the lottery is archived."
            if "force_refund_batch_admin" in incident.description:
                return "refund", f"A refund batch of {what} was paid."
            return (
                "cancellation",
                f"{what.capitalize()} was cancelled; its tickets will be refunded.",
            )
        case "VRF-пополнение":
            return "other", "VRF requests were resumed: draws can be requested again."
        case "Инцидент" | "Incident":
            if parsed is None:
                return "attention", _escalation(incident.description)
            return (
                "attention",
                f"{_work(kind, subject).capitalize()} needs an operator's attention.",
            )
    return "other", "An operational event was logged."


def _escalation(description: str) -> str:
    """An escalation's public line from its leading ``kind subject:`` (the rest is internal)."""
    head = description.split(":", 1)[0].split()
    kind = head[0] if head else ""
    subject = head[1] if len(head) > 1 and head[1].isdigit() else ""
    if kind.startswith("refund") and subject:
        return f"The refund of lottery {subject} needs an operator's attention."
    if kind.startswith(("vrf", "draw")) and subject:
        return f"The draw of lottery {subject} needs an operator's attention."
    if kind.startswith("bot"):
        return "Planned work is waiting for an available automation bot."
    return "Automation needs an operator's attention."
