"""The node's recent past: the last blocks and the sequence numbers each one changed.

Fault injection (``faults.py``, kind ``stale_view``) serves a lagging node's view from here: the
block ``behind`` blocks before the tip, and an account's sequence number as of that block. Kept
in memory only (a restarted node starts with its tip alone); ``behind`` beyond what is kept is
clamped to the oldest block kept.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping

from autobot.localnet.store import BlockHeader

__all__ = ["RecentHistory"]


class RecentHistory:
    def __init__(self, tip: BlockHeader, *, depth: int = 1024) -> None:
        if depth < 1:
            raise ValueError("history depth must be at least 1")
        # Each entry: a block and the sequence numbers its transactions changed, before the change.
        self._blocks: deque[tuple[BlockHeader, Mapping[str, int]]] = deque(
            [(tip, {})], maxlen=depth
        )

    def record(self, block: BlockHeader, previous_sequences: Mapping[str, int]) -> None:
        self._blocks.append((block, dict(previous_sequences)))

    def block(self, behind: int) -> BlockHeader:
        """The block ``behind`` blocks before the tip (0: the tip)."""
        index = max(0, len(self._blocks) - 1 - max(0, behind))
        return self._blocks[index][0]

    def sequence(self, address: str, *, current: int, behind: int) -> int:
        """``address``'s sequence number as of ``block(behind)``, given its ``current`` one."""
        value = current
        newer = itertools.islice(reversed(self._blocks), min(max(0, behind), len(self._blocks) - 1))
        for _, previous in newer:  # newest first: the oldest change undone wins
            value = previous.get(address, value)
        return value
