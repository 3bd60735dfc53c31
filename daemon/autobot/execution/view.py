"""What one ``Executor.advance`` knows about the chain and an action's transactions.

A ``StepView`` starts from the sweep's snapshot (if given) and reads a fresh one, scoped to the
action's subject, once the action's own transactions have changed the chain or a decision needs
the latest state (the end of a timelock, an abort that may be moot). ``tracked`` finds the latest
transaction of a step of the current attempt and follows it through its account's sequencer:
settled from the chain's answer, or its exact bytes re-sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from autobot.chain.gateway import ChainGateway
from autobot.domain.snapshot import Snapshot
from autobot.errors import PermanentError
from autobot.execution.outcomes import snapshot_scope
from autobot.execution.sequencer import Sequencer
from autobot.journal.records import ActionRecord, TxPurpose, TxRecord
from autobot.journal.store import SqliteJournal
from autobot.planning.plan import Recipe
from autobot.planning.recipes import recipe_from_json

__all__ = ["StepView", "UnusableAction", "recipe_of"]


class UnusableAction(PermanentError):
    """An action this code cannot carry on (unreadable recipe, missing co-signer key, ...)."""


def recipe_of(record: ActionRecord) -> Recipe:
    """The journaled recipe; ``UnusableAction`` if this code cannot read it."""
    try:
        return recipe_from_json(json.loads(record.recipe))
    except ValueError as exc:
        raise UnusableAction(f"journaled recipe of {record.key} is unreadable: {exc}") from exc


class StepView:
    """The chain and the journal as seen by one ``advance`` of one action."""

    def __init__(
        self,
        *,
        gateway: ChainGateway,
        journal: SqliteJournal,
        sequencer: Callable[[str], Sequencer],
        confirm_seconds: float,
        snapshot: Snapshot | None,
    ) -> None:
        self._gateway = gateway
        self._journal = journal
        self._sequencer = sequencer
        self._confirm = confirm_seconds
        self._snapshot = snapshot
        self._stale = snapshot is None

    async def snapshot(self, record: ActionRecord, *, fresh: bool = False) -> Snapshot:
        """The chain at one time, for ``record``'s subject (fresh if asked or if we changed it)."""
        if self._snapshot is None or self._stale or fresh:
            lotteries, assets = snapshot_scope(recipe_of(record).KIND, record.subject_id)
            self._snapshot = await self._gateway.snapshot(lottery_ids=lotteries, asset_ids=assets)
            self._stale = False
        return self._snapshot

    async def now(self) -> int:
        """Chain seconds: the snapshot's while it is current, else the latest block's."""
        if self._snapshot is not None and not self._stale:
            return self._snapshot.now
        return (await self._gateway.chain_time()).seconds

    def last_now(self, record: ActionRecord) -> int:
        """The latest chain time known without asking the chain (for error paths)."""
        seen = self._snapshot.now if self._snapshot is not None else 0
        return max(seen, record.updated_chain)

    async def tracked(
        self, record: ActionRecord, purpose: TxPurpose, index: int = 0
    ) -> TxRecord | None:
        """The latest transaction of this step of this attempt, followed (settled or re-sent).

        Transactions are matched by the action's current hash, so an attempt that started over
        never mistakes an earlier attempt's transactions for its own.
        """
        mine = [
            t
            for t in await self._journal.transactions(record.key)
            if t.purpose is purpose
            and t.call_index == index
            and t.action_hash == record.action_hash
        ]
        if not mine:
            return None
        tx = mine[-1]
        if tx.state.live:
            tx = await self._sequencer(tx.sender).follow(tx, wait_seconds=self._confirm)
            if tx.state.consumed:
                self._stale = True
        return tx
