"""Pre-flight: the preconditions of a call that autobot can read before it simulates anything.

A simulation tells what the chain would say, but an abort autobot could have foreseen from what it
reads anyway is a bad way to learn it: for a bot action every abort that is not a "not yet" becomes a
``record_failure`` (docs/decisions.md §9), which spends the bot's failure budget on a precondition
of the package, not on a fault of the bot. So the readable preconditions are checked first, and a
call that would be refused waits: the planners escalate it (a person must turn the feature on or
get the deposit resumed) and plan it once the precondition holds; an action already journaled
waits too, and the refusal is reported with ``report_call_rejected`` so the bot's trail shows it
(docs/package.md §1.3, §11).

``request_draw_admin`` (docs/package.md §2.3) checks, before anything about the lottery: the DRAW
feature (steps 1: ``E_FEATURE_UNKNOWN``/``E_FEATURE_DISABLED``) and the deposit's pause (step 2:
``E_VRF_REQUESTS_PAUSED``). ``schedule_manual_retry_admin`` checks the DRAW feature. Every other
call autobot makes has no precondition outside its own lottery or feed that it does not already
plan by.
"""

from __future__ import annotations

from dataclasses import dataclass

from autobot.domain.features import E_FEATURE_DISABLED, E_FEATURE_UNKNOWN, Feature
from autobot.domain.snapshot import Snapshot

__all__ = [
    "DRAW_FEATURE_DISABLED",
    "E_VRF_REQUESTS_PAUSED",
    "PREFLIGHT_CODES",
    "VRF_REQUESTS_PAUSED",
    "Refusal",
    "draw_request_refusals",
    "manual_schedule_refusals",
]

E_VRF_REQUESTS_PAUSED = 0x170D

DRAW_FEATURE_DISABLED = "draw_feature_disabled"
VRF_REQUESTS_PAUSED = "vrf_requests_paused"

_NAMES = {
    E_FEATURE_UNKNOWN: "E_FEATURE_UNKNOWN",
    E_FEATURE_DISABLED: "E_FEATURE_DISABLED",
    0x1402: "E_FEATURE_MODE_INVALID",
    E_VRF_REQUESTS_PAUSED: "E_VRF_REQUESTS_PAUSED",
}
PREFLIGHT_CODES: frozenset[int] = frozenset(_NAMES)
"""The abort codes pre-flight foresees (an action refused with one waits, never fails)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """A readable precondition that does not hold: the abort the call would meet, the escalation
    kind a planner raises for it, and why (for people)."""

    code: int
    kind: str
    reason: str

    @property
    def name(self) -> str:
        return _NAMES.get(self.code, f"unknown(0x{self.code:x})")


def _draw_feature(snapshot: Snapshot) -> Refusal | None:
    code = snapshot.features.refusal(Feature.DRAW)
    if code is None:
        return None
    mode = snapshot.features.mode_of(Feature.DRAW)
    state = "has no entry" if mode is None else f"is in mode {mode}"
    return Refusal(
        code=code,
        kind=DRAW_FEATURE_DISABLED,
        reason=f"the package's DRAW feature (feature_switch, id 3) {state}: draws wait until an "
        f"admin turns it on (set_mode(3, 1)); the call would abort {_NAMES[code]}",
    )


def draw_request_refusals(snapshot: Snapshot) -> tuple[Refusal, ...]:
    """What stops ``request_draw_admin`` for any lottery now (in the package's check order)."""
    out: list[Refusal] = []
    feature = _draw_feature(snapshot)
    if feature is not None:
        out.append(feature)
    deposit = snapshot.deposit
    if deposit.requests_paused:
        out.append(
            Refusal(
                code=E_VRF_REQUESTS_PAUSED,
                kind=VRF_REQUESTS_PAUSED,
                reason=f"VRF requests paused by the deposit guard since {deposit.paused_since_ts}:"
                " draws wait for resume_requests (autobot vrf resume) or a healthy snapshot",
            )
        )
    return tuple(out)


def manual_schedule_refusals(snapshot: Snapshot) -> tuple[Refusal, ...]:
    """What stops ``schedule_manual_retry_admin`` for any lottery now."""
    feature = _draw_feature(snapshot)
    return () if feature is None else (feature,)
