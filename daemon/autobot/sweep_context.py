"""Where the planners' context comes from: the config's settings and one read of the journal.

The daemon's sweep (``engine.py``) and the operator CLI (``control/survey.py``) both plan, and must
plan alike: both copy the config with ``plan_settings`` and read the journal with ``read_journal``,
then put the two together with the pure ``planning.context.plan_context``.

``read_journal`` reads the open actions, the pending operator requests (turned into the planners'
requests; an operator's name becomes its configured address), the draws escalated under the strict
VRF contract (parked with outcome ``escalated`` after ``E_VRF_PENDING``; one parked ``escalated`` by
pre-flight is not: it starts again once its preconditions hold) and the assets whose latest successful
``set_fallback`` by autobot turned fallback on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autobot.config import Config
from autobot.domain.draws import E_VRF_PENDING
from autobot.journal.protocol import Journal
from autobot.journal.records import ActionRecord, Outcome, RequestKind, RequestRecord
from autobot.planning.context import JournalKnowledge
from autobot.planning.plan import PlanContext
from autobot.planning.requests import OperatorRequest, request_from_journal

__all__ = ["JournalRead", "plan_settings", "read_journal"]


def plan_settings(config: Config) -> PlanContext:
    """The planners' context from the config alone (the watchlist's ``next_check`` needs no more)."""
    c = config
    return PlanContext(
        chain_id=c.chain.chain_id,
        auto_close_grace_seconds=c.automation.grace_period_seconds,
        num_confirmations=c.draws.num_confirmations,
        winners_batch_limit=c.draws.winners_batch_limit,
        manual_retry_delay_seconds=c.draws.manual_retry_delay_seconds,
        vrf_deadline_seconds=c.draws.vrf_deadline_seconds,
        cancel_on_vrf_failure=c.draws.cancel_on_vrf_failure,
        auto_refund=c.refunds.auto_refund,
        refund_batch_size=c.refunds.batch_size,
        refund_first_batch_sla_seconds=c.refunds.first_batch_sla_seconds,
        refund_complete_sla_seconds=c.refunds.complete_sla_seconds,
        fallback_on_stale=c.feeds.fallback_on_stale,
        fallback_reason=c.feeds.fallback_reason,
        bot_expiry_warning_seconds=c.automation.bot_expiry_warning_seconds,
        bot_pending_grace_seconds=c.automation.bot_pending_grace_seconds,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalRead:
    """One read of the journal for planning: the records, and what the planners take from them."""

    open_actions: tuple[ActionRecord, ...]  # oldest first
    pending_requests: tuple[RequestRecord, ...]  # in the order they were written
    knowledge: JournalKnowledge
    malformed: Mapping[int, str] = field(default_factory=dict)
    """Pending requests the planners cannot read (id → why): the daemon rejects them."""


async def read_journal(
    journal: Journal,
    *,
    operators: Mapping[str, str],
    open_actions: Sequence[ActionRecord] | None = None,
) -> JournalRead:
    """What the journal knows for the planners. ``operators`` maps the configured operator
    names to their addresses (a rotate request may name one); ``open_actions`` spares reading
    them again when the caller just did."""
    if open_actions is None:
        open_actions = await journal.open_actions()
    pending = await journal.pending_requests()
    parked_draws = await journal.parked_draws()
    fallbacks = await journal.done_fallbacks()
    requests: list[OperatorRequest] = []
    malformed: dict[int, str] = {}
    for record in pending:
        try:
            converted = _planner_request(record, operators)
        except (ValueError, TypeError, AttributeError) as exc:  # params not a JSON object, ...
            malformed[record.id] = str(exc)
            continue
        if converted is not None:
            requests.append(converted)
    knowledge = JournalKnowledge(
        open_actions=frozenset(a.action_key for a in open_actions),
        escalated_draws=frozenset(
            a.subject_id
            for a in parked_draws
            if a.outcome is Outcome.ESCALATED and a.error_code == E_VRF_PENDING
        ),
        fallbacks_set_by_autobot=_fallbacks_held(fallbacks),
        requests=tuple(requests),
    )
    return JournalRead(
        open_actions=tuple(open_actions),
        pending_requests=tuple(pending),
        knowledge=knowledge,
        malformed=malformed,
    )


def _planner_request(record: RequestRecord, operators: Mapping[str, str]) -> OperatorRequest | None:
    """A pending request as the planners see it (``None``: retry or park, the executor's).
    Raises ``ValueError``, ``TypeError`` or ``AttributeError`` for one they cannot read."""
    kind = record.kind.action_kind
    if kind is None:
        return None
    subject = record.subject
    if record.kind is RequestKind.ROTATE:
        subject = operators.get(subject, subject)
    return request_from_journal(record.id, kind, subject, json.loads(record.params or "{}"))


def _fallbacks_held(done: Sequence[ActionRecord]) -> frozenset[int]:
    """Assets whose latest successful ``set_fallback`` by autobot (by chain time, then by the
    feed update its key names) turned fallback on."""
    latest: dict[int, tuple[tuple[int, int], bool]] = {}
    for record in done:
        try:
            active = bool(json.loads(record.recipe or "{}").get("active", False))
        except (ValueError, AttributeError):
            continue
        when = (record.updated_chain, record.action_key.round)
        if record.subject_id not in latest or when > latest[record.subject_id][0]:
            latest[record.subject_id] = (when, active)
    return frozenset(asset for asset, (_, active) in latest.items() if active)
