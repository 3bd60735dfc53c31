"""The localnet's buyers: ticket purchases on every selling lottery, as system transactions.

Like the dVRF oracle and the price pusher (``oracle.py``, docs/decisions.md §11), the buyers act
through system transactions: each purchase is ``sales::purchase_tickets_public`` (or
``purchase_tickets_premium`` for a buyer holding an active premium cap) signed by the buyer's
address, with ``now_ts`` the block's chain second and ``current_block`` the height of the block
it runs in; it gets a hash, runs in the block and records its events (or its abort) like any
transaction, but uses no account's sequence number. A refused purchase is a failed transaction
and nothing else: the package's ``PurchaseRateLimitHitEvent`` dies with the abort
(docs/package.md §10.16).

**Schedule** (``BuyersSpec``): every lottery in scope that is ACTIVE and inside its sales window
gets ``purchases_per_minute`` purchases a minute of chain time, on a fixed grid: purchase ``k`` of
lottery ``L`` is due at ``(k + phase(L)) * 60 / rate`` seconds (unix time), ``phase`` a
deterministic fraction per lottery so lotteries do not all buy in the same block. A block at chain
second ``t`` sends the purchases due since the previous block, but never those older than
``max_catch_up`` seconds (after a pause or ``/localnet/v1/advance``, buyers do not rush in at
once). Purchase ``k`` is made by pool buyer ``sha3(L, k) mod pool`` (``pool_buyer_address``: the
same people buy in every lottery, so the per-buyer window and the grace window apply naturally)
for ``quantities[sha3(L, k) mod len]`` tickets — no more than are left for sale, nor than the
buyer may still hold (a buyer at its per-address limit skips its turn) — so the buyers' own
refusals are the rate limits' and the grace window's. A DRAFT lottery is looked at again every 10
minutes (it may be activated); a lottery past its sales end, sold out or no longer ACTIVE is
dropped.

**Bursts**: burst ``i`` sends, in the first block at or after ``genesis + at``, ``purchases``
one-ticket purchases by ``buyers`` fresh buyers (``burst_buyer_address(i, j)``, in turn), each
with ``now_ts = genesis + at`` (the burst's own clock) and the block's height: more than 64 in a
block trips ``E_PURCHASE_RATE_LIMIT_BLOCK``, more than 10 by one buyer in a minute
``E_PURCHASE_RATE_LIMIT_WINDOW``, new buyers in the last 15 seconds ``E_PURCHASE_GRACE_RESTRICTED``.

**Cost**: the due purchases sit in a heap keyed by due time (rebuilt from the model after a
restart: the grid needs no state but the last block's second), so a block costs what it buys,
also with thousands of selling lotteries; every purchase of one block is executed and persisted
with that block (one SQLite transaction).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

import structlog

from autobot.localnet.model import LotteryStatus
from autobot.localnet.model.core import bcs_u64, sha3
from autobot.localnet.model.roles import is_premium_active
from autobot.localnet.model.sales import buyer_tickets
from autobot.localnet.model.state import PackageState
from autobot.localnet.oracle import SystemCall
from autobot.localnet.scenario import BurstSpec, BuyersSpec, pool_buyer_address

__all__ = ["Buyers", "burst_buyer_address"]

log = structlog.get_logger()

DRAFT_RECHECK_SECONDS = 600


class BuyersModel(Protocol):
    """What the buyers need of ``PackageModel``: its state, read only."""

    @property
    def state(self) -> PackageState: ...


def burst_buyer_address(burst: int, n: int) -> str:
    """Buyer ``n`` of burst ``burst``: a new buyer, holding no tickets yet."""
    return "0x" + sha3(b"autobot-localnet/burst-buyer" + bcs_u64(burst) + bcs_u64(n)).hex()


def _phase(lottery_id: int) -> float:
    return int.from_bytes(sha3(b"autobot-localnet/buyer-phase" + bcs_u64(lottery_id))[:4]) / 2**32


class Buyers:
    def __init__(
        self,
        *,
        settings: BuyersSpec,
        genesis_ts: int,
        state: Mapping[str, object] | None = None,
    ) -> None:
        if settings.purchases_per_minute <= 0 or settings.pool <= 0 or not settings.quantities:
            raise ValueError("buyers: a positive rate, a pool and quantities are required")
        self.settings = settings
        self.genesis_ts = genesis_ts
        self._interval = 60 / settings.purchases_per_minute
        self._last_s = genesis_ts  # the chain second of the last block looked at
        self._bursts_done: set[int] = set()
        self._heap: list[tuple[float, int, int]] | None = None  # (due, lottery, k); a cache
        self._scope = None if settings.lotteries is None else frozenset(settings.lotteries)
        if state:
            self._last_s = int(str(state.get("last_s", genesis_ts)))
            done = state.get("bursts_done", [])
            if not isinstance(done, list):
                raise ValueError("malformed buyers state")
            self._bursts_done = {int(i) for i in done}

    # --- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        s = self.settings
        return {
            "settings": {
                "purchases_per_minute": s.purchases_per_minute,
                "pool": s.pool,
                "quantities": list(s.quantities),
                "lotteries": None if s.lotteries is None else list(s.lotteries),
                "max_catch_up": s.max_catch_up,
                "bursts": [
                    {"lottery": b.lottery, "at": b.at, "purchases": b.purchases, "buyers": b.buyers}
                    for b in s.bursts
                ],
            },
            "genesis_ts": self.genesis_ts,
            "last_s": self._last_s,
            "bursts_done": sorted(self._bursts_done),
        }

    @classmethod
    def restore(cls, state: Mapping[str, object]) -> Buyers:
        raw = state.get("settings")
        if not isinstance(raw, Mapping):
            raise ValueError("malformed buyers state")
        lotteries = raw.get("lotteries")
        bursts = raw.get("bursts", [])
        quantities = raw.get("quantities", [])
        if not isinstance(bursts, list) or not isinstance(quantities, list):
            raise ValueError("malformed buyers state")
        settings = BuyersSpec(
            purchases_per_minute=float(str(raw.get("purchases_per_minute"))),
            pool=int(str(raw.get("pool"))),
            quantities=tuple(int(q) for q in quantities),
            lotteries=None if not isinstance(lotteries, list) else tuple(int(i) for i in lotteries),
            max_catch_up=int(str(raw.get("max_catch_up", 60))),
            bursts=tuple(
                BurstSpec(
                    lottery=int(b["lottery"]),
                    at=int(b["at"]),
                    purchases=int(b["purchases"]),
                    buyers=int(b["buyers"]),
                )
                for b in bursts
            ),
        )
        return cls(settings=settings, genesis_ts=int(str(state.get("genesis_ts"))), state=state)

    # --- per block ---------------------------------------------------------------------------

    def due_calls(self, *, now_s: int, height: int, model: BuyersModel) -> list[SystemCall]:
        """The purchases of the block at chain second ``now_s`` and height ``height``."""
        state = model.state
        start = max(self._last_s, now_s - self.settings.max_catch_up)
        if self._heap is None:
            self._heap = self._build(state, start)
        calls = self._scheduled(state, start, now_s, height)
        calls += self._bursts(now_s, height, state)
        self._last_s = max(self._last_s, now_s)
        return calls

    def _build(self, state: PackageState, start: int) -> list[tuple[float, int, int]]:
        heap: list[tuple[float, int, int]] = []
        for lottery_id in state.ordered_ids:
            if self._scope is not None and lottery_id not in self._scope:
                continue
            lottery = state.lotteries.get(lottery_id)
            if lottery is None or lottery.status not in (LotteryStatus.DRAFT, LotteryStatus.ACTIVE):
                continue
            self._push_after(heap, lottery_id, start)
        heapq.heapify(heap)
        return heap

    def _push_after(
        self, heap: list[tuple[float, int, int]], lottery_id: int, after: float
    ) -> None:
        """Schedule the lottery's first purchase due after ``after``."""
        phase = _phase(lottery_id)
        k = math.floor(after / self._interval - phase) + 1
        heapq.heappush(heap, ((k + phase) * self._interval, lottery_id, k))

    def _scheduled(
        self, state: PackageState, start: int, now_s: int, height: int
    ) -> list[SystemCall]:
        heap = self._heap
        assert heap is not None
        calls: list[SystemCall] = []
        planned: Counter[str] = Counter()  # tickets this block already buys, by lottery and buyer
        while heap and heap[0][0] <= now_s:
            due, lottery_id, k = heapq.heappop(heap)
            if due <= start:  # older than the catch-up window: skip to the first one after it
                self._push_after(heap, lottery_id, start)
                continue
            lottery = state.lotteries.get(lottery_id)
            if lottery is None:
                continue
            config = lottery.config
            if lottery.status == LotteryStatus.DRAFT:
                self._push_after(heap, lottery_id, now_s + DRAFT_RECHECK_SECONDS)
                continue
            if lottery.status != LotteryStatus.ACTIVE or now_s > config.sales_end:
                continue  # sales are over: the lottery leaves the schedule
            if now_s < config.sales_start:
                self._push_after(heap, lottery_id, config.sales_start - 1)
                continue
            if _tickets_left(state, lottery_id) == 0:
                continue  # sold out: the lottery leaves the schedule
            heapq.heappush(heap, ((k + 1 + _phase(lottery_id)) * self._interval, lottery_id, k + 1))
            call = self._purchase_k(state, lottery_id, k, planned, now_s, height)
            if call is not None:
                calls.append(call)
        return calls

    def _purchase_k(
        self,
        state: PackageState,
        lottery_id: int,
        k: int,
        planned: Counter[str],
        now_s: int,
        height: int,
    ) -> SystemCall | None:
        """Purchase ``k`` of the lottery: its buyer and quantity, within what the limits leave
        (``planned``: the tickets this block already buys, by lottery and by buyer)."""
        digest = sha3(b"autobot-localnet/buyer-purchase" + bcs_u64(lottery_id) + bcs_u64(k))
        buyer = pool_buyer_address(int.from_bytes(digest[:8]) % self.settings.pool)
        quantities = self.settings.quantities
        left = _tickets_left(state, lottery_id) - planned[str(lottery_id)]
        quantity = min(quantities[digest[8] % len(quantities)], max(left, 0))
        allowed = state.lotteries[lottery_id].config.max_tickets_per_address
        if allowed:
            held = buyer_tickets(state, lottery_id, buyer) + planned[f"{lottery_id}:{buyer}"]
            quantity = min(quantity, allowed - held)
        if quantity <= 0:  # nothing left, or the buyer is at its limit: it does not try
            return None
        planned[str(lottery_id)] += quantity
        planned[f"{lottery_id}:{buyer}"] += quantity
        return _purchase(state, buyer, lottery_id, quantity, now_s, height)

    def _bursts(self, now_s: int, height: int, state: PackageState) -> list[SystemCall]:
        calls: list[SystemCall] = []
        for i, burst in enumerate(self.settings.bursts):
            at = self.genesis_ts + burst.at
            if i in self._bursts_done or now_s < at:
                continue
            self._bursts_done.add(i)
            log.info(
                "localnet_buyers_burst",
                lottery_id=burst.lottery,
                purchases=burst.purchases,
                buyers=burst.buyers,
                height=height,
            )
            for n in range(burst.purchases):
                buyer = burst_buyer_address(i, n % burst.buyers)
                calls.append(_purchase(state, buyer, burst.lottery, 1, at, height))
        return calls


def _tickets_left(state: PackageState, lottery_id: int) -> int:
    """Tickets still for sale (the total limit minus those sold; the limit is at least 1)."""
    sales = state.sales.get(lottery_id)
    sold = 0 if sales is None else sales.tickets_sold
    return max(0, state.lotteries[lottery_id].config.max_tickets_total - sold)


def _purchase(
    state: PackageState, buyer: str, lottery_id: int, quantity: int, now_s: int, height: int
) -> SystemCall:
    cap = state.premium_caps.get(buyer)
    premium = cap is not None and is_premium_active(cap, now_s)
    function = "purchase_tickets_premium" if premium else "purchase_tickets_public"
    return SystemCall(
        actor="buyer",
        sender=buyer,
        module="sales",
        function=function,
        signers=(buyer,),
        args=(lottery_id, quantity, now_s, height),
    )
