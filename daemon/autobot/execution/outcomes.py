"""Pure decisions of the executor: what an abort means, what is already done, how long to wait.

docs/decisions.md §9, in code:

* a "not yet" abort (``E_VRF_RETRY_WINDOW``, ``E_AUTOBOT_TIMELOCK``, ``E_PAYOUT_BATCH_COOLDOWN``,
  ``E_VRF_REQUESTS_PAUSED``) means wait and try again (``Verdict.WAIT``);
* ``E_VRF_PENDING`` answering a draw request is the strict-code VRF contract: retries stop and
  the draw is escalated to a person (``Verdict.ESCALATE``), which is not a bot failure;
* the dual-write control refusing a summary write (``E_HISTORY_MISMATCH``,
  ``E_HISTORY_EXPECTED_MISSING`` answering an archive or a finalization, docs/package.md §4) is a
  block set by the legacy bridge, not by the bot: the write waits for a person
  (``Verdict.ESCALATE``, ``is_dual_write_block``), never a bot failure;
* ``E_PAYOUT_BATCH_NONCE`` answering a refund batch: the shared PayoutBatchCap's nonce moved under
  the plan (the treasury's payout batches consume it too, docs/package.md §10.9); only a cap
  re-issued by the admin lets the rounds pass again, so it is escalated, not a bot failure
  (``is_cap_nonce_taken``; the refund planner escalates the same case before planning);
* any other abort means the plan cannot run (``Verdict.FAIL``), unless the goal already holds on
  chain, which the executor checks with a fresh snapshot (moot).
"""

from __future__ import annotations

import enum

from autobot.chain.aborts import NOT_YET_CODES
from autobot.domain.actions import ActionKind, Subject
from autobot.domain.calls import Call
from autobot.domain.draws import E_VRF_PENDING, MAX_VRF_ATTEMPTS
from autobot.domain.features import E_FEATURE_DISABLED, E_FEATURE_MODE_INVALID, E_FEATURE_UNKNOWN
from autobot.journal.records import ActionState, IncidentType, Outcome
from autobot.planning.plan import Recipe
from autobot.planning.recipes import RequestDraw

__all__ = [
    "E_VRF_PENDING",
    "TERMINAL_STATE",
    "Verdict",
    "backoff_seconds",
    "classify_abort",
    "executed_incident",
    "is_cap_nonce_taken",
    "is_dual_write_block",
    "snapshot_scope",
]

FEATURE_CODES = frozenset({E_FEATURE_UNKNOWN, E_FEATURE_MODE_INVALID, E_FEATURE_DISABLED})
E_PAYOUT_BATCH_NONCE = 0x180A
E_HISTORY_MISMATCH = 0x1B02
E_HISTORY_EXPECTED_MISSING = 0x1B05
_SUMMARY_WRITES = frozenset(
    {("payouts", "archive_canceled_lottery_admin"), ("payouts", "finalize_lottery_admin")}
)

TERMINAL_STATE: dict[Outcome, ActionState] = {
    Outcome.SUCCESS: ActionState.DONE,
    Outcome.FAILURE: ActionState.FAILED,
    Outcome.MOOT: ActionState.MOOT,
    Outcome.ESCALATED: ActionState.PARKED,
}
"""The state an action ends in once its outcome is recorded (or needs no recording)."""


class Verdict(enum.Enum):
    WAIT = "wait"
    ESCALATE = "escalate"
    FAIL = "fail"


def classify_abort(code: int, call: Call) -> Verdict:
    """What an abort of ``call`` (simulated or executed) means for the plan.

    The feature switch's refusals (``E_FEATURE_*``) are preconditions pre-flight reads before
    anything is simulated (``planning/preconditions.py``); met anyway (the switch turned between the
    read and the simulation), they wait as well: a disabled feature is never a bot failure."""
    if code in NOT_YET_CODES or code in FEATURE_CODES:
        return Verdict.WAIT
    if code == E_VRF_PENDING and (call.module, call.function) == ("draw", "request_draw_admin"):
        return Verdict.ESCALATE
    if is_dual_write_block(code, call) or is_cap_nonce_taken(code, call):
        return Verdict.ESCALATE
    return Verdict.FAIL


def is_dual_write_block(code: int, call: Call) -> bool:
    """An archive or finalization refused by the dual-write control (its expected hash is
    missing or differs, under ``abort_on_missing`` / ``abort_on_mismatch``)."""
    blocked = code in (E_HISTORY_MISMATCH, E_HISTORY_EXPECTED_MISSING)
    return blocked and (call.module, call.function) in _SUMMARY_WRITES


def is_cap_nonce_taken(code: int, call: Call) -> bool:
    """A refund batch refused because the PayoutBatchCap's nonce is not the one its round needs."""
    refund = (call.module, call.function) == ("payouts", "force_refund_batch_admin")
    return refund and code == E_PAYOUT_BATCH_NONCE


def snapshot_scope(kind: ActionKind, subject_id: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(lottery_ids, asset_ids)`` a snapshot needs to judge an action of ``kind``."""
    match kind.subject:
        case Subject.LOTTERY:
            return (subject_id,), ()
        case Subject.ASSET:
            return (), (subject_id,)
    return (), ()


_INCIDENT_TYPES = {
    ("cancellation", "cancel_lottery_admin"): IncidentType.CANCELLATION,
    ("payouts", "force_refund_batch_admin"): IncidentType.CANCELLATION,  # the cancel's refund
    ("payouts", "archive_canceled_lottery_admin"): IncidentType.CANCELLATION,
    ("price_feed", "set_fallback"): IncidentType.INCIDENT,  # a fallback set or released
    ("price_feed", "clear_clamp"): IncidentType.INCIDENT,
    ("automation", "rotate_bot"): IncidentType.INCIDENT,
}
"""Executed calls the handbook's runbooks want in the incident log (docs/package.md §8). The VRF
deposit's ``resume_requests`` is not here: the sweep writes the resume's row (``VRF-пополнение``,
with this transaction as its link) when it sees requests resumed, whoever resumed them."""


def executed_incident(call: Call, recipe: Recipe) -> tuple[IncidentType, str] | None:
    """The incident-log type of an executed call the handbook wants logged, and what to add to
    the call's own rendering; ``None`` for a call that is not logged.

    A draw request at the stored attempt ``MAX_VRF_ATTEMPTS`` ran the package's exhaustion path
    instead of a request (VRF FAILED, the lottery cancelled with reason 1, docs/package.md §2.3
    step 6): a cancellation, logged as one.
    """
    if (call.module, call.function) == ("draw", "request_draw_admin"):
        if isinstance(recipe, RequestDraw) and recipe.attempt >= MAX_VRF_ATTEMPTS:
            return IncidentType.CANCELLATION, (
                f"; the package's exhaustion path ran: {recipe.attempt} VRF attempts without a "
                f"callback, lottery {recipe.lottery_id} cancelled with reason 1 (VRF failure)"
            )
        return None
    kind = _INCIDENT_TYPES.get((call.module, call.function))
    return None if kind is None else (kind, "")


def backoff_seconds(attempts: int, *, base: int, cap: int) -> int:
    """Chain seconds to wait before attempt ``attempts + 1``: ``base`` doubling up to ``cap``."""
    return int(min(cap, base * 2 ** min(max(attempts, 0), 16)))
