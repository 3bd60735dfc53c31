"""One sequencer per account: the only writer of that account's sequence numbers (docs/decisions.md §3).

A sequencer signs, journals and submits, in that order. Numbering, signing and journaling happen
under one lock; the submission itself does not hold it (a node holds a later number until the
earlier arrive, so the account's next transactions need not wait for this one's answer), and what
the answer means for the account's numbers (a refusal, a drop) is settled under the lock again:

1. the next sequence number comes from memory; the first use of the account (and every resync)
   reads the chain's and takes the smallest number at or above both the chain's and the journal's
   highest *executed* one that no live transaction of ours holds;
2. at most ``window`` transactions may be live (signed, not yet executed or dropped) at once:
   beyond that ``send_many`` raises ``SubmitWindowFull`` (transient: try again later);
3. the signed bytes are journaled (with the action change they imply) **before** they are
   submitted, so after a crash the same bytes are re-sent or found on chain.

``permit`` (the daemon's, under ``[ha]``) is asked right before every signature and every
submission, re-sends included, and raises (``FencedOut``) when this instance may no longer act: a
leader whose lease deadline passed signs and sends nothing more, even before its next journal
write would be refused.

``follow`` settles a live transaction from the chain's answer. A transaction the node does not
know is re-sent byte for byte until its expiry (host wall clock, docs/decisions.md §12); after
that (and a grace) it is *dropped* — its sequence number free again — **only on proof from the
chain**, never because status lookups answer 404 (an indexer lags, a node lies):

* the account's sequence number on chain is still at or below the transaction's, so the number
  was never used and the expired bytes can never execute; or
* another transaction of ours journaled with the same number executed (the chain's status of
  it): the number went to that one, and the journal is corrected if it had that one dropped.

Otherwise (the number used on chain, by nothing else we know of) ours most likely executed and
the status will show: it stays live and is followed, and nothing is signed for its call meanwhile.

A node's sequence refusal (``SequenceRace``): ``SEQUENCE_NUMBER_TOO_NEW`` at the only submission
of bytes signed in this process drops them (the chain is behind them; they never got in);
``TOO_OLD`` or ``ALREADY_PENDING`` mean ours may have executed or be waiting (a submit that timed
out may have been taken): never dropped for it, looked up instead. After any refusal and any drop
the next number is read from the chain again — down as well as up (a number a lying node made
us skip to costs a pause, not a stall).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Unpack

import structlog

from autobot.chain.gateway import ChainGateway, SignedTx, SimResult, TxOutcome, TxStatus
from autobot.chain.pacing import unpaced
from autobot.chain.signer import Signer
from autobot.clock import Clock
from autobot.domain.calls import Call
from autobot.errors import RpcRejected, RpcTimeout, SequenceRace, SubmitWindowFull, TransientError
from autobot.execution.lane import UnpacedLock, relax
from autobot.execution.telemetry import ExecutionMetrics, NullExecutionMetrics
from autobot.execution.transcripts import call_from_json, call_to_json
from autobot.journal.protocol import ActionChanges, Journal
from autobot.journal.records import (
    ActionState,
    NewTransaction,
    TxPurpose,
    TxRecord,
    TxSettlement,
    TxState,
)

__all__ = ["Sequencer"]

log = structlog.get_logger(__name__)


class Sequencer:
    """Signs, journals, submits and follows the transactions of one account."""

    def __init__(
        self,
        *,
        signer: Signer,
        gateway: ChainGateway,
        journal: Journal,
        clock: Clock,
        window: int,
        ttl_seconds: int,
        expiry_grace_seconds: float = 30.0,
        metrics: ExecutionMetrics | None = None,
        confirm_poll_seconds: float = 0.1,
        confirm_first_seconds: float = 0.15,
        permit: Callable[[], None] | None = None,
    ) -> None:
        """``confirm_poll_seconds``: how often ``follow`` asks while it waits for a final answer;
        ``confirm_first_seconds``: how long after its submission it first asks (about a block);
        ``permit``: raises when this instance may not sign or send now (see the module doc)."""
        if window < 1 or ttl_seconds < 1:
            raise ValueError("submit window and transaction TTL must be at least 1")
        self._signer = signer
        self._gateway = gateway
        self._journal = journal
        self._clock = clock
        self._window = window
        self._ttl = ttl_seconds
        self._grace = expiry_grace_seconds
        self._poll = confirm_poll_seconds
        self._first_poll = confirm_first_seconds
        self._metrics = metrics if metrics is not None else NullExecutionMetrics()
        self._permit = permit if permit is not None else _always
        self._lock = UnpacedLock()  # what the holder asks the node is never held back
        self._next: int | None = None
        self._forgotten = 0  # how often the local number was forgotten (see ``_forget``)
        self._unaccepted: set[str] = set()  # signed here, refused or not yet taken by any node

    @property
    def address(self) -> str:
        return self._signer.address

    @property
    def signer(self) -> Signer:
        return self._signer

    def overdue(self, tx: TxRecord) -> float:
        """Wall seconds a live transaction is past its expiry and the grace (0 before): how
        long it has stayed unresolved (used on chain, unknown to the node)."""
        return max(0.0, self._clock.wall() - tx.expires_at - self._grace)

    async def next_sequence(self) -> int:
        """The number the next transaction will carry (for simulations); does not reserve it.
        Once known, the local number (a simulation only needs one the chain would accept)."""
        if self._next is not None:
            return self._next
        async with self._lock:
            return await self._peek()

    async def simulate(self, call: Call, *, secondary: Sequence[Signer] = ()) -> SimResult:
        """Simulate ``call`` from this account at its next number. A sequence refusal of the
        simulation (the number came from a node that lied, or the chain moved on without us)
        forgets the local number, so the next try reads the chain's again — down as well as up."""
        try:
            return await self._gateway.simulate(
                call=call,
                sender=self._signer,
                sequence_number=await self.next_sequence(),
                secondary=secondary,
            )
        except SequenceRace as exc:
            log.warning("sequence_refused", sender=self.address, error=str(exc), simulated=True)
            self._forget()
            raise

    async def resync(self) -> int:
        """Forget the local number and re-read the chain's on next use; returns the new next one."""
        async with self._lock:
            self._forget()
            return await self._peek()

    def _forget(self, *, resync: bool = True) -> None:
        """Forget the local number: the next use reads the chain's (``resync``: counted as a
        resync in the metrics). Counted here too, so that a section under the lock that was
        waiting (on the journal, the node) while a refusal outside it forgot the number does
        not store the number it had worked out from the old one."""
        self._next = None
        self._forgotten += 1
        if resync:
            self._metrics.sequence_resynced()

    def _locked(self, held: bool) -> contextlib.AbstractAsyncContextManager[object]:
        """The account's lock, unless the caller already holds it."""
        return contextlib.nullcontext() if held else self._lock

    async def _peek(self, live_numbers: Collection[int] | None = None) -> int:
        if live_numbers is None:
            live_numbers = await self._journal.live_sequences(self.address)
        live = set(live_numbers)
        seq = self._next
        if seq is None:
            forgotten = self._forgotten
            chain = await self._gateway.account_sequence(self.address)
            executed = await self._journal.highest_sequence(self.address, include_live=False)
            seq = max(chain, -1 if executed is None else executed + 1)
            if self._forgotten == forgotten:  # else a refusal meanwhile: read again next time
                self._next = seq
            log.debug("sequence_synced", sender=self.address, chain=chain, next=seq)
        while seq in live:
            seq += 1
        return seq

    async def send_many(
        self,
        calls: Sequence[tuple[int, Call]],
        /,
        *,
        action_key: str,
        action_digest: bytes,
        purpose: TxPurpose,
        expect: Collection[ActionState],
        chain_now: int,
        secondary: Sequence[Signer] = (),
        gas_used: Mapping[int, int] | None = None,
        **changes: Unpack[ActionChanges],
    ) -> list[TxRecord]:
        """Sign ``(call_index, call)`` pairs of one action, as far as the window allows, journal
        them with ``changes`` to their action in one commit, then submit them all at once (a node
        holds the later numbers until the earlier arrive). One call is a list of one.

        ``action_digest`` is the action's hash these transactions belong to (an action started
        over gets a new one, so its old transactions are never mistaken for the new attempt's);
        ``secondary`` co-sign each of them (a multi-agent call, ``rotate_bot``, goes alone);
        ``gas_used`` (call index → its simulation's gas) sets each one's ``max_gas_amount``
        (``chain/gas.py``; a call without one is signed with the cap).

        Returns the records of those sent, in order: ``submitted`` when a node took one,
        ``signed`` when the outcome is unknown (``follow`` re-sends it), ``dropped`` after a
        sequence refusal. Raises ``SubmitWindowFull`` if none fit; ``RpcRejected`` after
        journaling the refusal as dropped.

        The lock is held while numbering, signing and journaling, not while submitting: another
        action of this account signs and submits while this one's submissions are answered.
        """
        async with self._lock:
            forgotten = self._forgotten
            live = await self._journal.live_sequences(self.address)
            room = self._window - len(live)
            if room <= 0:
                raise SubmitWindowFull(
                    f"{self.address} has {len(live)} transactions in flight (window {self._window})"
                )
            taken = set(live)
            seq = await self._peek(live)
            expires_at = int(self._clock.wall()) + self._ttl
            numbered: list[tuple[int, int, Call]] = []
            for call_index, call in calls[:room]:
                while seq in taken:
                    seq += 1
                numbered.append((call_index, seq, call))
                seq += 1
            used = gas_used or {}
            signatures = await self._sign_new_many(
                [(call, number, used.get(index)) for index, number, call in numbered],
                expires_at=expires_at,
                secondary=secondary,
            )
            batch: list[tuple[NewTransaction, SignedTx]] = []
            for (call_index, number, call), signed in zip(numbered, signatures, strict=True):
                new = NewTransaction(
                    tx_hash=signed.tx_hash,
                    action_key=action_key,
                    action_hash=action_digest,
                    purpose=purpose,
                    call_index=call_index,
                    call=json.dumps(call_to_json(call), sort_keys=True),
                    sender=self.address,
                    sequence_number=number,
                    expires_at=signed.expires_at,
                    raw=signed.payload,
                    secondary=tuple(s.address for s in secondary),
                )
                batch.append((new, signed))
            records = await self._journal.add_transactions(
                [n for n, _ in batch], expect=expect, chain_now=chain_now, **changes
            )
            if self._forgotten == forgotten:  # else forgotten meanwhile: it stays forgotten
                self._next = seq
            for record, (_, signed) in zip(records, batch, strict=True):
                self._unaccepted.add(record.tx_hash)
                log.debug(
                    "transaction_signed",
                    tx_hash=record.tx_hash,
                    sender=self.address,
                    sequence_number=record.sequence_number,
                    function=f"{signed.call.module}::{signed.call.function}",
                    action_key=action_key,
                )
        results = await asyncio.gather(
            *(self._submit(r, sgn) for r, (_, sgn) in zip(records, batch, strict=True)),
            return_exceptions=True,
        )
        relax()  # an urgent step's transaction has left: it gives way like the others now
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if isinstance(r, TxRecord)]

    async def _sign_new_many(
        self,
        calls: Sequence[tuple[Call, int, int | None]],
        *,
        expires_at: int,
        secondary: Sequence[Signer] = (),
    ) -> list[SignedTx]:
        """``_sign_new`` for several ``(call, sequence number, gas used)``: one journal lookup
        for all."""
        self._permit()
        signed = [
            self._gateway.sign(
                call=call,
                sender=self._signer,
                sequence_number=seq,
                expires_at=expires_at,
                secondary=secondary,
                gas_used=gas,
            )
            for call, seq, gas in calls
        ]
        known = await self._journal.known_hashes([s.tx_hash for s in signed])
        for index, (call, seq, gas) in enumerate(calls):
            if signed[index].tx_hash in known:  # rare: a dropped transaction's very bytes
                signed[index] = await self._sign_new(
                    call, seq, secondary=secondary, expires_at=expires_at + 1, gas_used=gas
                )
        return signed

    async def _sign_new(
        self,
        call: Call,
        seq: int,
        *,
        secondary: Sequence[Signer] = (),
        expires_at: int | None = None,
        gas_used: int | None = None,
    ) -> SignedTx:
        """Sign bytes the journal has never held: a number freed by a drop, signed again for the
        same call within the same second, would give the dropped transaction's very bytes (and
        hash); the expiry moves a second on instead."""
        expiry = expires_at if expires_at is not None else int(self._clock.wall()) + self._ttl
        while True:
            self._permit()
            signed = self._gateway.sign(
                call=call,
                sender=self._signer,
                sequence_number=seq,
                expires_at=expiry,
                secondary=secondary,
                gas_used=gas_used,
            )
            if await self._journal.get_transaction(signed.tx_hash) is None:
                return signed
            expiry += 1

    async def _submit(
        self, record: TxRecord, signed: SignedTx, *, resend: bool = False, held: bool = False
    ) -> TxRecord:
        """Send journaled bytes; ``held``: the caller holds the account's lock (a refusal is
        settled under it; otherwise it is taken for that). Never held back for urgent work
        (``execution/lane.py``): the account's later numbers wait for this one at the node."""
        self._permit()
        try:
            with unpaced():
                node_hash = await self._gateway.submit(signed)
        except SequenceRace as exc:
            log.warning(
                "sequence_refused", tx_hash=record.tx_hash, sender=self.address, error=str(exc)
            )
            async with self._locked(held):
                self._forget()
                if not exc.too_new:  # ours may have executed (or be waiting): look it up, keep it
                    log.info("transaction_may_have_executed", tx_hash=record.tx_hash)
                    return record
                return await self._drop_if_never_accepted(record, f"sequence refused: {exc}")
        except RpcRejected as exc:
            log.error(
                "transaction_rejected", tx_hash=record.tx_hash, status=exc.status, error=str(exc)
            )
            if resend:  # these bytes may have been taken before: only their expiry tells
                return record
            async with self._locked(held):
                await self._drop_if_never_accepted(record, f"rejected by the node: {exc}")
            raise
        except TransientError as exc:
            log.warning("submit_uncertain", tx_hash=record.tx_hash, error=str(exc))
            return record
        self._unaccepted.discard(record.tx_hash)
        if node_hash != record.tx_hash:
            log.error("transaction_hash_differs", ours=record.tx_hash, node=node_hash)
        return await self._journal.mark_submitted(record.tx_hash)

    async def _drop_if_never_accepted(self, record: TxRecord, why: str) -> TxRecord:
        if record.tx_hash not in self._unaccepted:
            return record  # a node took these bytes before: only expiry proves them absent
        outcome = await self._gateway.status(record.tx_hash)
        if outcome.state not in (TxStatus.NOT_FOUND, TxStatus.INVALID):
            return record
        self._unaccepted.discard(record.tx_hash)
        return await self._settle(record, TxState.DROPPED, message=why)

    async def follow(self, tx: TxRecord, *, wait_seconds: float = 0.0) -> TxRecord:
        """Settle ``tx`` from the chain's answer, or re-send its exact bytes; returns the record.

        ``wait_seconds`` > 0 waits that long for a final answer first (sub-second finality).
        Transport errors propagate (the transaction stays live).
        """
        if not tx.state.live:
            return tx
        # Ask outside the lock (waiting must not hold up this account's other transactions).
        if wait_seconds > 0:
            relax()  # waiting for a block is nothing urgent (``lane.py``)
            # a transaction just submitted is not in a block yet: the first question waits a bit
            age = self._clock.wall() - (tx.submitted_wall or tx.created_wall)
            if 0 <= age < self._first_poll:
                await asyncio.sleep(self._first_poll - age)
            try:
                outcome = await self._gateway.wait_for(
                    tx.tx_hash, timeout=wait_seconds, poll_interval=self._poll
                )
            except RpcTimeout:
                outcome = await self._gateway.status(tx.tx_hash)
        else:
            outcome = await self._gateway.status(tx.tx_hash)
        return await self._conclude(tx, outcome)

    async def follow_many(self, txs: Sequence[TxRecord]) -> list[TxRecord]:
        """``follow`` (no waiting) for several transactions of this account: their statuses
        read at once, every final answer settled in one journal commit. Returns the records in
        the order given. Transport errors propagate (the transactions stay live)."""
        live = [t for t in txs if t.state.live]
        outcomes = await asyncio.gather(*(self._gateway.status(t.tx_hash) for t in live))
        final: list[tuple[TxRecord, TxSettlement]] = []
        rest: list[tuple[TxRecord, TxOutcome]] = []
        for tx, outcome in zip(live, outcomes, strict=True):
            settlement = _settlement(tx.tx_hash, outcome)
            if settlement is None:
                rest.append((tx, outcome))
            else:
                final.append((tx, settlement))
        found: dict[str, TxRecord] = {}
        if final:
            async with self._lock:
                # only rows still live change (a concurrent follow may have settled one)
                for record in await self._journal.settle_transactions([s for _, s in final]):
                    found[record.tx_hash] = record
                for tx, settlement in final:
                    if tx.tx_hash in found:
                        self._settled(tx, settlement)
                    else:  # settled meanwhile: as the journal has it
                        found[tx.tx_hash] = await self._journal.get_transaction(tx.tx_hash) or tx
        for tx, outcome in rest:
            found[tx.tx_hash] = await self._conclude(tx, outcome)
        return [found.get(t.tx_hash, t) for t in txs]

    async def _conclude(self, tx: TxRecord, outcome: TxOutcome) -> TxRecord:
        """What the chain's answer about ``tx`` means: settle it, wait, or re-send its bytes."""
        async with self._lock:
            fresh = await self._journal.get_transaction(tx.tx_hash)
            if fresh is None or not fresh.state.live:
                return fresh or tx  # settled meanwhile (a concurrent follow)
            settlement = _settlement(fresh.tx_hash, outcome)
            if settlement is not None:
                return await self._settle_as(fresh, settlement)
            if outcome.state is TxStatus.PENDING:
                return fresh
            # NOT_FOUND: until it expires, the same bytes again; after that (and a grace for
            # slow indexing), absent for good only on proof from the chain (module doc)
            wall = self._clock.wall()
            if wall <= fresh.expires_at:
                log.info(
                    "transaction_resent",
                    tx_hash=fresh.tx_hash,
                    sequence_number=fresh.sequence_number,
                )
                return await self._submit(fresh, _signed_from(fresh), resend=True, held=True)
            if wall <= fresh.expires_at + self._grace:
                return fresh  # a node would refuse expired bytes; wait out the grace
        proof, executed = await self._absent_for_good(fresh)
        async with self._lock:
            current = await self._journal.get_transaction(fresh.tx_hash)
            if current is None or not current.state.live:
                return current or fresh
            if proof is None:
                log.warning(
                    "transaction_unresolved",
                    tx_hash=fresh.tx_hash,
                    sequence_number=fresh.sequence_number,
                    why="expired and unknown to the node, but its sequence number is used",
                )
                return current
            dropped = await self._settle(current, TxState.DROPPED, message=proof)
            if executed is not None:  # the journal had that one dropped: it executed
                log.warning("dropped_transaction_executed", tx_hash=executed.tx_hash)
                await self._journal.correct_transaction(executed)
            return dropped

    async def _absent_for_good(self, tx: TxRecord) -> tuple[str | None, TxSettlement | None]:
        """Why the chain proves that ``tx`` (expired, unknown to the node) never executed and
        never will (``None``: no proof); and the execution of another transaction of ours with
        its number that the journal has as dropped (to correct), if that is the proof."""
        chain = await self._gateway.account_sequence(self.address, highest=True)
        if chain <= tx.sequence_number:
            why = f"expired, never seen on chain; the account's sequence number is still {chain}"
            return why, None
        for other in await self._journal.same_sequence(self.address, tx.sequence_number):
            if other.tx_hash == tx.tx_hash or other.state.live:
                continue
            settlement = _settlement(other.tx_hash, await self._gateway.status(other.tx_hash))
            if settlement is None or settlement.state is TxState.DROPPED:
                continue
            why = f"expired; its sequence number went to {other.tx_hash}"
            return why, settlement if other.state is TxState.DROPPED else None
        return None, None

    async def _settle(
        self,
        tx: TxRecord,
        state: TxState,
        *,
        code: int | None = None,
        name: str | None = None,
        message: str | None = None,
    ) -> TxRecord:
        return await self._settle_as(
            tx,
            TxSettlement(
                tx_hash=tx.tx_hash, state=state, error_code=code, error_name=name,
                error_message=message,
            ),
        )  # fmt: skip

    async def _settle_as(self, tx: TxRecord, settlement: TxSettlement) -> TxRecord:
        settled = await self._journal.settle_transaction(settlement)
        self._settled(tx, settlement)
        return settled

    def _settled(self, tx: TxRecord, s: TxSettlement) -> None:
        if s.state is TxState.DROPPED:
            # the number is free again, and whatever made us sign it may have been a lie about
            # the chain's number: read it again (down as well as up)
            self._forget(resync=False)
        elif self._next is not None and self._next <= tx.sequence_number:
            # executed: never again. (A dropped number signed anew below a live one sets the
            # next number just above it, under the live one, which then executes.)
            self._next = tx.sequence_number + 1
        log.debug(
            "transaction_settled",
            tx_hash=tx.tx_hash,
            state=s.state.value,
            sequence_number=tx.sequence_number,
            abort=s.error_name,
        )


def _always() -> None:
    """A single instance may always act."""


def _settlement(tx_hash: str, outcome: TxOutcome) -> TxSettlement | None:
    """The settlement a final answer gives (``None``: pending or not found)."""
    match outcome.state:
        case TxStatus.SUCCESS:
            return TxSettlement(tx_hash=tx_hash, state=TxState.COMMITTED)
        case TxStatus.FAILED:
            abort = outcome.abort
            return TxSettlement(
                tx_hash=tx_hash,
                state=TxState.ABORTED,
                error_code=abort.code if abort else None,
                error_name=abort.name if abort else None,
                error_message=outcome.vm_status,
            )
        case TxStatus.INVALID:
            return TxSettlement(
                tx_hash=tx_hash,
                state=TxState.DROPPED,
                error_message=f"discarded by the node: {outcome.vm_status}",
            )
    return None


def _signed_from(tx: TxRecord) -> SignedTx:
    """The journaled bytes as a ``SignedTx`` again (for re-sending them unchanged)."""
    return SignedTx(
        payload=tx.raw,
        tx_hash=tx.tx_hash,
        sender=tx.sender,
        sequence_number=tx.sequence_number,
        expires_at=tx.expires_at,
        call=call_from_json(json.loads(tx.call)),
        secondary=tx.secondary,
    )
