"""What one ``Executor.advance`` knows about the chain and an action's transactions.

A ``StepView`` starts from the sweep's snapshot (if given) and reads a fresh one, scoped to the
action's subject, once the action's own transactions have changed the chain or a decision needs
the latest state (the end of a timelock, an abort that may be moot). ``tracked`` finds the latest
transaction of a step of the current attempt and follows it through its account's sequencer:
settled from the chain's answer, or its exact bytes re-sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from autobot.chain.gateway import ChainGateway
from autobot.chain.pacing import unpaced
from autobot.domain.actions import ActionKind
from autobot.domain.bots import Bot
from autobot.domain.features import FeatureSwitch
from autobot.domain.payouts import VrfDepositStatus
from autobot.domain.snapshot import Snapshot
from autobot.domain.values import ChainTime
from autobot.errors import UnusableAction
from autobot.execution.outcomes import snapshot_scope
from autobot.execution.sequencer import Sequencer
from autobot.journal.protocol import Journal
from autobot.journal.records import ActionRecord, TxPurpose, TxRecord
from autobot.planning.plan import Recipe
from autobot.planning.recipes import recipe_from_json

__all__ = [
    "DEPOSIT_KINDS",
    "FEATURE_KINDS",
    "NOW_REUSE_SECONDS",
    "UNRESOLVED_PARK_SECONDS",
    "SharedChainTime",
    "StepView",
    "recipe_of",
]

NOW_REUSE_SECONDS = 0.05
UNRESOLVED_PARK_SECONDS = 600.0
"""How long a transaction may stay unresolved past its expiry (its sequence number used on
chain, its hash unknown to every node asked) before its action is parked for a person: it most
likely executed, but nothing is signed for its step until that is known."""
DEPOSIT_KINDS = frozenset({ActionKind.DRAW, ActionKind.UNPAUSE})
"""Kinds a step judges by the VRF deposit too: a draw request's pre-flight (paused requests),
resuming requests (its goal)."""
FEATURE_KINDS = frozenset({ActionKind.DRAW, ActionKind.SCHEDULE})
"""Kinds whose calls check the package's DRAW feature (``request_draw_admin``,
``schedule_manual_retry_admin``): a step reads the feature switch before it simulates them."""


def recipe_of(record: ActionRecord) -> Recipe:
    """The journaled recipe; ``UnusableAction`` if this code cannot read it."""
    try:
        return recipe_from_json(json.loads(record.recipe))
    except ValueError as exc:
        raise UnusableAction(f"journaled recipe of {record.key} is unreadable: {exc}") from exc


class SharedChainTime:
    """The chain time every step of one executor reads: steps that ask while a block is being
    read wait for that read instead of sending their own (a burst of closes at one sales end
    asked for the same block eight times). Its answer was asked for at most one round trip
    before theirs, and chain time only moves on."""

    def __init__(self, gateway: ChainGateway) -> None:
        self._gateway = gateway
        self._flight: asyncio.Future[ChainTime] | None = None

    async def latest(self) -> ChainTime:
        """The latest block's time: the read in flight, or a new one."""
        flight = self._flight
        if flight is None:
            with unpaced():  # steps of any urgency may come to wait for it
                flight = self._flight = asyncio.ensure_future(self._read())
            flight.add_done_callback(_retrieved)
        return await asyncio.shield(flight)  # one waiter cancelled does not cancel the others

    async def _read(self) -> ChainTime:
        try:
            return await self._gateway.chain_time()
        finally:
            self._flight = None


def _retrieved(flight: asyncio.Future[ChainTime]) -> None:
    """Its error was raised in every waiter; none left (all cancelled) is no error to report."""
    if not flight.cancelled():
        flight.exception()


class StepView:
    """The chain and the journal as seen by one ``advance`` of one action."""

    def __init__(
        self,
        *,
        gateway: ChainGateway,
        journal: Journal,
        sequencer: Callable[[str], Sequencer],
        confirm_seconds: float,
        snapshot: Snapshot | None,
        chain_time: SharedChainTime | None = None,
    ) -> None:
        self._gateway = gateway
        self._chain_time = chain_time if chain_time is not None else SharedChainTime(gateway)
        self._now: tuple[int, float] | None = None  # (chain seconds, monotonic when read)
        self._journal = journal
        self._sequencer = sequencer
        self._confirm = confirm_seconds
        self._snapshot = snapshot
        self._stale = snapshot is None

    async def snapshot(self, record: ActionRecord, *, fresh: bool = False) -> Snapshot:
        """The chain at one time, for ``record``'s subject (fresh if asked or if we changed it).

        A fresh read asks only what a step judges by: chain time, the bots, and the subject (the
        lottery's views its status can make non-default; a feed through the full snapshot), plus
        what the kind's pre-flight or goal reads (the deposit, the feature switch).
        """
        if self._snapshot is None or self._stale or fresh:
            lotteries, assets = snapshot_scope(record.kind, record.subject_id)
            if assets:
                self._snapshot = await self._gateway.snapshot(
                    lottery_ids=lotteries, asset_ids=assets
                )
            else:
                now, bots, views, deposit, features = await asyncio.gather(
                    self._chain_time.latest(),
                    self._gateway.list_bots(),
                    self._gateway.lottery_views(lotteries, scoped=True),
                    self._deposit(record),
                    self._features(record),
                )
                self._snapshot = Snapshot(
                    time=now, bots=bots, lotteries=views, deposit=deposit, features=features
                )
            self._stale = False
        return self._snapshot

    async def _deposit(self, record: ActionRecord) -> VrfDepositStatus:
        """The VRF deposit, for the kinds whose preconditions or goal read it (a draw request's
        pre-flight, resuming requests); the default (not paused) for the rest."""
        if record.kind in DEPOSIT_KINDS:
            return await self._gateway.vrf_deposit_status()
        return VrfDepositStatus()

    async def _features(self, record: ActionRecord) -> FeatureSwitch:
        """The feature switch, for the kinds whose calls check it (pre-flight); the default (no
        switch, no check) for the rest."""
        if record.kind in FEATURE_KINDS:
            return await self._gateway.feature_switch()
        return FeatureSwitch()

    async def follow_live(self, record: ActionRecord) -> None:
        """Follow every live transaction of the action, of any attempt (no waiting): a refusal
        reported before the action had a hash of its own is followed here."""
        live = [t for t in await self._journal.transactions(record.key) if t.state.live]
        for tx in live:
            followed = await self._sequencer(tx.sender).follow(tx)
            if followed.state.consumed:
                self._stale = True

    async def bot(self, record: ActionRecord, operator: str) -> Bot | None:
        """The operator's bot: from the current snapshot, else read alone (guards only)."""
        if self._snapshot is not None and not self._stale:
            return self._snapshot.bot(operator)
        return await self._gateway.get_bot(operator)

    async def now(self) -> int:
        """Chain seconds: the snapshot's while it is current, else the latest block's (a read
        less than ``NOW_REUSE_SECONDS`` old is used again: steps ask often, time moves little)."""
        if self._snapshot is not None and not self._stale:
            return self._snapshot.now
        clock = time.monotonic()
        if self._now is not None and clock - self._now[1] < NOW_REUSE_SECONDS:
            return self._now[0]
        seconds = (await self._chain_time.latest()).seconds
        self._now = (seconds, clock)
        return seconds

    def last_now(self, record: ActionRecord) -> int:
        """The latest chain time known without asking the chain (for error paths)."""
        seen = self._snapshot.now if self._snapshot is not None else 0
        return max(seen, record.updated_chain)

    async def follow_all(self, record: ActionRecord, purpose: TxPurpose) -> None:
        """Follow every live transaction of this step of this attempt at once (one status read
        each, no waiting): the calls pipelined behind the first land together."""
        live = [
            t
            for t in await self._journal.transactions(record.key)
            if t.purpose is purpose and t.action_hash == record.action_hash and t.state.live
        ]
        if not live:
            return
        senders: dict[str, list[TxRecord]] = {}
        for t in live:
            senders.setdefault(t.sender, []).append(t)
        per_sender = await asyncio.gather(
            *(self._sequencer(sender).follow_many(txs) for sender, txs in senders.items())
        )
        followed = [t for txs in per_sender for t in txs]
        if any(t.state.consumed for t in followed):
            self._stale = True

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
            sequencer = self._sequencer(tx.sender)
            tx = await sequencer.follow(tx, wait_seconds=self._confirm)
            if tx.state.consumed:
                self._stale = True
            elif tx.state.live and sequencer.overdue(tx) > UNRESOLVED_PARK_SECONDS:
                raise UnusableAction(
                    f"transaction {tx.tx_hash} (sequence number {tx.sequence_number}) expired "
                    "unknown to the nodes asked while the chain used its number: it may have "
                    "executed; check it on an explorer before retrying the action"
                )
        return tx
