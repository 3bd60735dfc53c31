"""Reconciliation at start: finish what a crash interrupted, never doing anything twice.

``recover`` runs once, before the first sweep:

1. **Transactions.** Every journaled transaction that may still land (``signed``/``submitted``) is
   looked up by hash: executed ones are settled (committed or aborted), unknown ones are re-sent
   byte for byte while they have not expired, and only an expired one the chain does not know is
   dropped (its sequence number is free again; its step will be signed anew). Nothing is ever
   re-signed while the original bytes could still land.
2. **Pending slots.** Each bot autobot holds a key for is read: a pending hash that no action of
   ours (open, or parked) carries is reported as an incident (an announcement from a lost or older
   journal, or from someone else using the key): only ``rotate_bot`` clears it, and that is a
   person's decision (docs/decisions.md §7).
3. **Actions.** Every open action is advanced by the executor, which derives its next step from the
   journal and the chain (an announcement on chain, a refund plan's ``refund_round``, a record that
   landed) and continues it.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.errors import TransientError
from autobot.execution.bookkeeping import StepResult
from autobot.execution.executor import Executor
from autobot.journal.protocol import Journal
from autobot.journal.records import ActionState, IncidentType, NewIncident, TxPurpose
from autobot.status.moments import chain_text

__all__ = ["RecoveryReport", "recover"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryReport:
    """What reconciliation found and did."""

    settled: int  # live transactions found executed (committed or aborted) or provably absent
    still_live: int  # re-sent or pending: they may still land
    unreachable: int  # could not be asked about (transport error): retried by the next sweep
    orphan_slots: tuple[str, ...]  # operators whose pending hash no action of ours explains
    actions: tuple[StepResult, ...]  # where each open action stands after its first advance


async def recover(
    *,
    journal: Journal,
    gateway: ChainGateway,
    executor: Executor,
    responsible: str = "autobot",
) -> RecoveryReport:
    """Reconcile the journal with the chain and continue every unfinished action."""
    settled = still_live = unreachable = 0
    for tx in await journal.live_transactions():
        sequencer = executor.sequencers.get(tx.sender)
        if sequencer is None:
            log.error("recovery_unknown_sender", tx_hash=tx.tx_hash, sender=tx.sender)
            unreachable += 1
            continue
        try:
            after = await sequencer.follow(tx)
        except TransientError as exc:
            log.warning("recovery_tx_unreachable", tx_hash=tx.tx_hash, error=str(exc))
            unreachable += 1
            continue
        if after.state.live:
            still_live += 1
        else:
            settled += 1

    orphans = await _orphan_slots(journal, gateway, executor, responsible)
    results = tuple(await executor.advance_due())
    report = RecoveryReport(
        settled=settled,
        still_live=still_live,
        unreachable=unreachable,
        orphan_slots=orphans,
        actions=results,
    )
    log.debug(
        "recovery_done",
        settled=settled,
        still_live=still_live,
        unreachable=unreachable,
        orphan_slots=len(orphans),
        actions=len(results),
    )
    return report


async def _orphan_slots(
    journal: Journal, gateway: ChainGateway, executor: Executor, responsible: str
) -> tuple[str, ...]:
    open_actions = await journal.open_actions()
    ours = {
        a.action_hash
        for a in [
            *open_actions,
            *await journal.list_actions(states={ActionState.PARKED}, limit=100_000),
        ]
        if a.action_hash
    }
    for action in open_actions:  # an earlier announcement an open action adopts (steps.py)
        ours.update(
            t.action_hash
            for t in await journal.transactions(action.key)
            if t.purpose is TxPurpose.ANNOUNCE
        )
    try:
        bots = (await gateway.snapshot(lottery_ids=())).bots
    except TransientError as exc:
        log.warning("recovery_bots_unreachable", error=str(exc))
        return ()
    orphans: list[str] = []
    for bot in bots:
        if bot.operator not in executor.sequencers or not bot.pending_action_hash:
            continue
        if bot.pending_action_hash in ours:
            continue
        orphans.append(bot.operator)
        text = (
            f"the pending slot of {bot.operator} holds 0x{bot.pending_action_hash.hex()} "
            f"(executes after {chain_text(bot.pending_execute_after)}) that no action in the journal "
            "explains: an older or lost journal, or another user of this key; the bot cannot "
            "announce until a person checks and clears it (rotate_bot)"
        )
        log.error("orphan_pending_slot", operator=bot.operator, hash=bot.pending_action_hash.hex())
        await journal.add_incident(
            NewIncident(
                type=IncidentType.INCIDENT,
                description=text,
                responsible=responsible,
                action_hash=bot.pending_action_hash,
            )
        )
    return tuple(orphans)
