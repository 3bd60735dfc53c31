"""What the chain's events say that its state does not: a clamped feed's refused price, and a
bot's automation history (whose failures were they?).

* ``clamp_refusals``: a clamp keeps the old price and sets ``clamp_active``; the refused price
  and the threshold live only in the ``price_feed::PriceFeedClampEvent`` of the update that was
  refused (docs/package.md §3). ``autobot status`` and ``feed clear-clamp`` show the latest one
  per asset, so step 1 of the PriceFeedClamp runbook ("is the move real?") starts from the CLI.
* ``bot_history``: every ``history::AutomationDryRunPlannedEvent``, ``AutomationTickEvent``
  (success or failure), ``AutomationErrorEvent`` and ``AutomationKeyRotatedEvent`` of one
  operator, each with its block, transaction and action hash, and whether the action hash is one
  autobot journaled. A failure autobot never journaled was signed by someone else holding the
  operator's key (the AutomationFailureLimit runbook).

Both search the most recent ``blocks`` blocks (``EVENT_BLOCKS`` by default), a page of 100 at a
time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from autobot.chain.gateway import ChainEvent, ChainGateway
from autobot.config import Config
from autobot.control.survey import chain_deadline
from autobot.domain.values import normalise_address
from autobot.errors import AutobotError

__all__ = [
    "AUTOMATION_EVENTS",
    "EVENT_BLOCKS",
    "BotEvent",
    "ClampRefusal",
    "bot_history",
    "clamp_refusals",
]

EVENT_BLOCKS = 100_000
MAX_PAGES = 50
AUTOMATION_EVENTS = (
    "history::AutomationDryRunPlannedEvent",
    "history::AutomationTickEvent",
    "history::AutomationErrorEvent",
    "history::AutomationKeyRotatedEvent",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClampRefusal:
    """The latest refused update of one asset's feed."""

    asset_id: int
    old_price: int
    new_price: int
    threshold_bps: int
    block_height: int
    tx_hash: str

    @property
    def move_bps(self) -> int:
        """How far the refused price was from the kept one, in basis points."""
        if self.old_price == 0:
            return 0
        return abs(self.new_price - self.old_price) * 10_000 // self.old_price


@dataclass(frozen=True, slots=True, kw_only=True)
class BotEvent:
    """One automation event of an operator, oldest first in ``bot_history``."""

    kind: str  # announced | success | failure | error | rotated
    block_height: int
    tx_hash: str
    action_id: int | None
    action_hash: str | None
    at: int | None  # chain seconds the event names (executes_after, executed, timestamp)
    failure_count: int | None = None
    error_code: int | None = None
    autobots: bool | None = None  # the action hash is in autobot's journal (None: no hash)


def _int(data: object, name: str) -> int | None:
    if not isinstance(data, dict):
        return None
    value = data.get(name)
    try:
        return None if value is None else int(str(value))
    except ValueError:
        return None


async def _events(
    gateway: ChainGateway, event_type: str, *, start_height: int, config: Config
) -> list[ChainEvent]:
    out: list[ChainEvent] = []
    cursor: str | None = None
    async with asyncio.timeout(chain_deadline(config) * 2):
        for _ in range(MAX_PAGES):
            page = await gateway.events(
                event_type, start_height=start_height, limit=100, cursor=cursor
            )
            out.extend(page.events)
            if page.cursor is None or not page.events:
                break
            cursor = page.cursor
    return out


async def _start_height(gateway: ChainGateway, blocks: int) -> int:
    tip = await gateway.chain_time()
    return max(0, tip.height - blocks)


async def clamp_refusals(
    gateway: ChainGateway,
    config: Config,
    *,
    asset_ids: Collection[int],
    blocks: int = EVENT_BLOCKS,
) -> dict[int, ClampRefusal]:
    """The latest ``PriceFeedClampEvent`` of each asset in ``asset_ids`` (empty on a read error:
    the caller says the refused price is unknown)."""
    try:
        start = await _start_height(gateway, blocks)
        found = await _events(
            gateway, "price_feed::PriceFeedClampEvent", start_height=start, config=config
        )
    except (AutobotError, TimeoutError):
        return {}
    out: dict[int, ClampRefusal] = {}
    for event in found:
        asset = _int(event.data, "asset_id")
        if asset is None or asset not in asset_ids:
            continue
        out[asset] = ClampRefusal(
            asset_id=asset,
            old_price=_int(event.data, "old_price") or 0,
            new_price=_int(event.data, "new_price") or 0,
            threshold_bps=_int(event.data, "threshold_bps") or 0,
            block_height=event.block_height,
            tx_hash=event.tx_hash,
        )
    return out


_KINDS = {
    "AutomationDryRunPlannedEvent": "announced",
    "AutomationErrorEvent": "error",
    "AutomationKeyRotatedEvent": "rotated",
}


def _bot_event(event: ChainEvent, known: Collection[str]) -> BotEvent:
    data = event.data
    struct = event.type.rsplit("::", 1)[-1]
    kind = _KINDS.get(struct, "")
    at = _int(data, "executes_after_ts")
    error_code = None
    if struct == "AutomationTickEvent":
        kind = "success" if data.get("success") in (True, "true") else "failure"
        at = _int(data, "executed_ts")
    elif struct == "AutomationErrorEvent":
        # the package swaps the two fields (docs/package.md §10.17): error_code holds the time
        at, error_code = _int(data, "error_code"), _int(data, "timestamp")
    elif struct == "AutomationKeyRotatedEvent":
        at = _int(data, "expires_at")
    raw_hash = data.get("action_hash")
    action_hash = (
        str(raw_hash) if isinstance(raw_hash, str) and raw_hash not in ("", "0x") else None
    )
    return BotEvent(
        kind=kind,
        block_height=event.block_height,
        tx_hash=event.tx_hash,
        action_id=_int(data, "action_id"),
        action_hash=action_hash,
        at=at,
        failure_count=_int(data, "failure_count"),
        error_code=error_code,
        autobots=None if action_hash is None else action_hash.lower() in known,
    )


async def bot_history(
    gateway: ChainGateway,
    config: Config,
    *,
    operator: str,
    known_hashes: Collection[str],
    blocks: int = EVENT_BLOCKS,
) -> list[BotEvent]:
    """Every automation event of ``operator`` in the last ``blocks`` blocks, oldest first;
    ``known_hashes`` are the action hashes (``0x`` hex, lower case) autobot journaled."""
    address = normalise_address(operator)
    start = await _start_height(gateway, blocks)
    events: list[ChainEvent] = []
    for event_type in AUTOMATION_EVENTS:
        events += await _events(gateway, event_type, start_height=start, config=config)
    mine = [
        e
        for e in events
        if isinstance(e.data.get("operator"), str)
        and normalise_address(str(e.data["operator"])) == address
    ]
    mine.sort(key=lambda e: (e.block_height, e.sequence_number or 0))
    return [_bot_event(e, known_hashes) for e in mine]
