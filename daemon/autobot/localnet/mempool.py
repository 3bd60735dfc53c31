"""Per-account sequence queues: transactions wait here until their sequence number's turn.

A transaction whose sequence number equals the account's is executable in the next block; one
ahead of it (up to ``max_gap`` ahead) is held until the gap fills, so clients can pipeline;
one behind it is refused. Pending transactions live in memory only (like a node's mempool, they
do not survive a restart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from autobot.localnet.admission import DecodedTransaction, RejectCode, Rejected

__all__ = ["DEFAULT_MAX_GAP", "Mempool", "PendingTransaction"]

DEFAULT_MAX_GAP = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingTransaction:
    tx: DecodedTransaction
    accepted_wall: float
    order: int  # arrival order across the node, for fair block packing


class Mempool:
    def __init__(self, *, max_gap: int = DEFAULT_MAX_GAP) -> None:
        self._max_gap = max_gap
        self._by_sender: dict[str, dict[int, PendingTransaction]] = {}
        self._by_hash: dict[str, PendingTransaction] = {}
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: str) -> PendingTransaction | None:
        return self._by_hash.get(tx_hash)

    def add(self, tx: DecodedTransaction, *, account_sequence: int, wall: float) -> bool:
        """Queue ``tx``. False if this exact transaction is already queued; raises ``Rejected``."""
        if tx.hash in self._by_hash:
            return False
        if tx.sequence_number < account_sequence:
            raise Rejected(
                RejectCode.SEQUENCE_NUMBER_TOO_OLD,
                f"account {tx.sender} is at sequence number {account_sequence}, got {tx.sequence_number}",
            )
        if tx.sequence_number >= account_sequence + self._max_gap:
            raise Rejected(
                RejectCode.SEQUENCE_NUMBER_TOO_NEW,
                f"account {tx.sender} is at sequence number {account_sequence}; at most "
                f"{self._max_gap - 1} ahead are held, got {tx.sequence_number}",
            )
        queue = self._by_sender.setdefault(tx.sender, {})
        if tx.sequence_number in queue:
            raise Rejected(
                RejectCode.SEQUENCE_NUMBER_ALREADY_PENDING,
                f"another transaction of {tx.sender} with sequence number {tx.sequence_number} is pending",
            )
        self._arrivals += 1
        entry = PendingTransaction(tx=tx, accepted_wall=wall, order=self._arrivals)
        queue[tx.sequence_number] = entry
        self._by_hash[tx.hash] = entry
        return True

    def _remove(self, entry: PendingTransaction) -> None:
        queue = self._by_sender[entry.tx.sender]
        del queue[entry.tx.sequence_number]
        if not queue:
            del self._by_sender[entry.tx.sender]
        del self._by_hash[entry.tx.hash]

    def drop_expired(self, now_wall: float) -> list[PendingTransaction]:
        """Remove and return transactions whose expiration passed by the host's wall clock."""
        expired = [e for e in self._by_hash.values() if e.tx.expiration_secs <= int(now_wall)]
        for entry in expired:
            self._remove(entry)
        return expired

    def take_ready(self, sequence_of: Callable[[str], int]) -> list[PendingTransaction]:
        """Remove and return every executable transaction, oldest sender first.

        For each sender: the run of consecutive sequence numbers starting at the account's
        current one. Entries below it (superseded) are dropped.
        """
        heads = sorted(
            self._by_sender.items(), key=lambda item: min(e.order for e in item[1].values())
        )
        ready: list[PendingTransaction] = []
        for sender, queue in heads:
            next_seq = sequence_of(sender)
            for stale in [e for s, e in queue.items() if s < next_seq]:
                self._remove(stale)
            while next_seq in queue:
                entry = queue[next_seq]
                ready.append(entry)
                self._remove(entry)
                next_seq += 1
        return ready
