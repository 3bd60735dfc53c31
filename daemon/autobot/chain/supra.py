"""``SupraGateway``: the ``ChainGateway`` over ``supra_sdk`` and the node's RPC v3.

Reads go through ``chain/reads.py``: by default the package's storage (``StorageReads``), or its
views for a package redeployed with ``#[view]`` on its readers (``ViewReads``, ``reads="views"``);
``snapshot`` also reads the storage's ``ChainActivity`` either way.

The SDK builds, signs and serialises transactions (``chain/signer.py``, ``chain/codec.py``) and
carries the HTTP (``chain/rpc.py``); this class decides what to ask and turns the answers into
domain values. What it deliberately does not use from the SDK, and why:

* ``create_raw_transaction`` / ``create_signed_transaction``: they fetch the sequence number per
  transaction (treating 0 as "fetch"), plus gas price and chain id. autobot owns its sequence
  numbers (docs/decisions.md §3), so ``sign`` is pure and takes them from the caller.
* ``submit_transaction``'s wait loop: it stops at the first status other than ``Pending``
  (``PendingAfterExecution`` is not final) and raises on the 404 a node gives for a hash it has
  not seen yet. ``wait_for`` polls ``status`` and treats both as "keep waiting".
* The SDK's one fixed 60 s timeout: replaced by ``request_timeout`` (``chain/rpc.py``).

Several endpoints (``rpc_urls``): ``chain/rpc.py`` fails over and ``chain/endpoints.py`` scores
them; every answer is decoded inside its attempt, so a malformed one counts against its endpoint.
A lagging endpoint is never trusted for time or sequence numbers:

* chain time never runs backwards through this gateway; a block more than the pool's
  ``lag_tolerance_blocks`` behind the best seen marks its endpoint lagging and is read again
  elsewhere (if every endpoint lags, the last trusted reading is returned again);
* ``account_sequence`` asks every healthy endpoint and takes the highest answer, and never
  returns less than it returned before for that account (sequence numbers only grow);
* a 404 for a transaction hash is confirmed by a second healthy endpoint before it is believed;
* a submit goes to one endpoint; the same bytes go to another only after a transport failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Literal

import structlog

from autobot.chain.codec import entry_function, fail, field, obj, uint
from autobot.chain.endpoints import RpcObserver
from autobot.chain.gateway import ChainGateway, EventPage, SignedTx, SimResult, TxOutcome, TxStatus
from autobot.chain.reads import READS, SCOPED, RpcStorage, StorageReads, first_error
from autobot.chain.responses import (
    decode_account_sequence,
    decode_block,
    decode_events,
    decode_simulation,
    decode_submit,
    decode_transaction,
)
from autobot.chain.rpc import Reply, RpcClient
from autobot.chain.signer import Signer, signed_transaction_bytes
from autobot.chain.view_reads import ViewReads
from autobot.domain.bots import Bot
from autobot.domain.calls import Call, MoveArg
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatusView
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PremiumCap
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import (
    ChainActivity,
    LotteryView,
    Snapshot,
    StatusOverview,
    compute_overview,
)
from autobot.domain.values import ChainTime, normalise_address
from autobot.errors import AutobotError, RpcTimeout, StaleAnswer, TransientError

if TYPE_CHECKING:
    from autobot.config import ChainConfig

type Reads = Literal["storage", "views"]
"""``[chain] reads``: how the package is read (``chain/reads.py``)."""

__all__ = ["DEFAULT_GAS_UNIT_PRICE", "SCOPED_VIEWS", "Reads", "SupraGateway"]

log = structlog.get_logger(__name__)

DEFAULT_GAS_UNIT_PRICE = 100
"""Used until the node's estimate has been read (Supra's ``min_configured_gas_price``)."""
GAS_PRICE_REFRESH_SECONDS = 60.0
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_EVENT_TYPE = re.compile(
    r"(0x[0-9a-fA-F]{1,64}::)?[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_<>,: ]*"
)
SCOPED_VIEWS = SCOPED
"""The views a ``scoped`` read asks for besides the status (``lottery_views``)."""


class SupraGateway:
    """Reads the package into domain values; signs, simulates, submits and tracks transactions."""

    def __init__(
        self,
        *,
        rpc_urls: Sequence[str],
        chain_id: int,
        package: str,
        request_timeout: float = 10.0,
        tx_ttl_seconds: int = 60,
        max_gas_amount: int = 500_000,
        gas_unit_price: int | None = None,
        max_concurrency: int = 16,
        rpc: RpcClient | None = None,
        observer: RpcObserver | None = None,
        reads: Reads = "storage",
    ) -> None:
        """``observer`` receives every RPC attempt (endpoint label, outcome, seconds): metrics;
        ``reads``: the package's storage (any node) or its views (a patched package)."""
        if reads not in READS:
            raise ValueError(f"reads must be one of {READS}, not {reads!r}")
        self._chain_id = chain_id
        self._package = normalise_address(package)
        self._rpc = rpc or RpcClient(
            urls=rpc_urls, chain_id=chain_id, timeout=request_timeout, observer=observer
        )
        self._ttl = tx_ttl_seconds
        self._max_gas = max_gas_amount
        self._fixed_gas_price = gas_unit_price
        self._gas_price = gas_unit_price or DEFAULT_GAS_UNIT_PRICE
        self._gas_read_at = -GAS_PRICE_REFRESH_SECONDS
        self._limit = asyncio.Semaphore(max_concurrency)
        self._reads_mode: Reads = reads
        self._storage = StorageReads(
            source=RpcStorage(rpc=self._rpc, package=self._package, limit=self._limit),
            package=self._package,
        )
        self._reads: StorageReads | ViewReads = (
            self._storage
            if reads == "storage"
            else ViewReads(rpc=self._rpc, package=self._package, limit=self._limit)
        )
        self._last_time: ChainTime | None = None
        self._sequences: dict[str, int] = {}  # highest sequence number returned, per account

    @classmethod
    def from_config(
        cls, chain: ChainConfig, *, observer: RpcObserver | None = None
    ) -> SupraGateway:
        return cls(
            observer=observer,
            rpc_urls=chain.rpc_urls,
            chain_id=chain.chain_id,
            package=chain.package_address,
            request_timeout=chain.request_timeout_seconds,
            tx_ttl_seconds=chain.tx_ttl_seconds,
            max_gas_amount=chain.max_gas_amount,
            gas_unit_price=chain.gas_unit_price,
            reads=chain.reads,
        )

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def package(self) -> str:
        return self._package

    @property
    def rpc(self) -> RpcClient:
        return self._rpc

    @property
    def reads(self) -> Reads:
        """How the package is read: ``"storage"`` or ``"views"``."""
        return self._reads_mode

    @property
    def storage(self) -> StorageReads:
        """The package's storage (resources and table items), whatever ``reads`` says."""
        return self._storage

    async def aclose(self) -> None:
        await self._rpc.aclose()

    async def __aenter__(self) -> SupraGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- time, gas, snapshot ------------------------------------------------------------------

    async def chain_time(self) -> ChainTime:
        try:
            reading = await self._rpc.fetch(
                "GET", "rpc/v3/block", what="latest block", decode=self._current_block
            )
        except StaleAnswer as exc:  # every endpoint asked lags: keep the last trusted reading
            if self._last_time is not None:
                return self._last_time
            assert isinstance(exc.reading, ChainTime)
            reading = exc.reading
        last = self._last_time
        if last is not None and (reading.height < last.height or reading.micros < last.micros):
            return last
        self._last_time = reading
        return reading

    def _current_block(self, reply: Reply) -> ChainTime:
        micros, height = decode_block(reply.json("latest block"))
        reading = ChainTime.from_micros(micros, height=height, observed_at=time.time())
        endpoint = reply.endpoint
        if endpoint is not None and self._rpc.pool.observe_block(endpoint, height=height):
            raise StaleAnswer(
                f"latest block: {endpoint.label} is {endpoint.lag_blocks} blocks behind",
                reading=reading,
            )
        return reading

    async def refresh_gas_price(self) -> int:
        """Re-read the node's ``min_configured_gas_price`` (unless one is configured)."""
        if self._fixed_gas_price is not None:
            return self._fixed_gas_price
        price = await self._rpc.fetch(
            "GET", "rpc/v3/transactions/estimate_gas_price", what="gas price", decode=_gas_price
        )
        self._gas_price = price
        self._gas_read_at = time.monotonic()
        return price

    async def snapshot(
        self, *, lottery_ids: Collection[int], asset_ids: Collection[int] = ()
    ) -> Snapshot:
        """Chain time, then the aggregates (bots, deposit, cap, feeds), the storage's activity and
        every view of ``lottery_ids``, read concurrently. ``overview`` is the §6 formulas over
        the lotteries read (``status_overview`` reads the chain's own)."""
        now = await self.chain_time()
        if time.monotonic() - self._gas_read_at >= GAS_PRICE_REFRESH_SECONDS:
            try:
                await self.refresh_gas_price()
            except AutobotError as exc:  # keep the last price; the snapshot does not need it
                log.warning("gas_price_refresh_failed", error=type(exc).__name__, detail=str(exc))
        async with first_error() as group:
            if isinstance(self._reads, StorageReads):
                both = group.create_task(self._reads.aggregates(asset_ids))
            else:
                aggregates = group.create_task(self._reads.aggregates(asset_ids))
                activity = group.create_task(self._storage.activity())
                stored = group.create_task(self._storage.vrf_deposit_status())
            features = group.create_task(self._reads.feature_switch())
            lotteries = [
                group.create_task(self._reads.lottery_view(i)) for i in sorted(set(lottery_ids))
            ]
        if isinstance(self._reads, StorageReads):
            (bots, deposit, cap, feeds), chain_activity = both.result()
        else:
            (bots, deposit, cap, feeds), chain_activity = aggregates.result(), activity.result()
            deposit = _with_config(deposit, stored.result())
        views = [t.result() for t in lotteries]
        return Snapshot(
            time=now,
            overview=compute_overview(views, now.seconds),
            bots=bots,
            feeds={f.asset_id: f for f in feeds},
            deposit=deposit,
            cap=cap,
            lotteries={v.lottery_id: v for v in views},
            features=features.result(),
            activity=chain_activity,
        )

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        """Every per-lottery view of ``lottery_ids`` (read concurrently), by lottery id.

        ``scoped`` reads the status first and then only the views its status can make differ
        from their defaults (``SCOPED_VIEWS``); the others are left at their defaults.
        """
        async with first_error() as group:
            tasks = [
                group.create_task(self._reads.lottery_view(i, scoped=scoped))
                for i in sorted(set(lottery_ids))
            ]
        return {v.lottery_id: v for v in (t.result() for t in tasks)}

    async def activity(self) -> ChainActivity:
        """The storage's event-handle counters and registry lengths (``Snapshot.activity``)."""
        return await self._storage.activity()

    async def has_summary(self, lottery_id: int) -> bool:
        """True once ``history`` holds the lottery's summary (archived or finalized)."""
        return await self._reads.has_summary(lottery_id)

    # -- typed reads (``chain/reads.py``) -------------------------------------------------------

    async def view(
        self, module: str, function: str, args: Sequence[MoveArg] = (), *, count: int = 1
    ) -> list[object]:
        """Call ``<package>::module::function`` as a view (``POST /rpc/v3/view``): the raw
        node-JSON results. A published package answers only for its ``#[view]`` functions."""
        views = (
            self._reads
            if isinstance(self._reads, ViewReads)
            else ViewReads(rpc=self._rpc, package=self._package, limit=self._limit)
        )
        return await views.view(module, function, args, count=count)

    async def status_overview(self, now_ts: int) -> StatusOverview:
        return await self._reads.status_overview(now_ts)

    async def list_bots(self) -> tuple[Bot, ...]:
        return await self._reads.list_bots()

    async def get_bot(self, operator: str) -> Bot | None:
        return await self._reads.get_bot(operator)

    async def refund_progress(self, lottery_id: int) -> RefundProgress:
        return await self._reads.refund_progress(lottery_id)

    async def cancellation(self, lottery_id: int) -> Cancellation | None:
        return await self._reads.cancellation(lottery_id)

    async def vrf_deposit_status(self) -> VrfDepositStatus:
        """The deposit's status and its config; no reader returns the config
        (``effective_floor``, ``min_balance_multiplier_bps``), so it always comes from storage."""
        if isinstance(self._reads, StorageReads):
            return await self._reads.vrf_deposit_status()
        async with first_error() as group:
            viewed = group.create_task(self._reads.vrf_deposit_status())
            stored = group.create_task(self._storage.vrf_deposit_status())
        return _with_config(viewed.result(), stored.result())

    async def feature_switch(self) -> FeatureSwitch:
        """The package's feature switch (``Snapshot.features``): pre-flight's DRAW check."""
        return await self._reads.feature_switch()

    async def lottery_status(self, lottery_id: int) -> LotteryStatusView:
        return await self._reads.lottery_status(lottery_id)

    async def lottery_config(self, lottery_id: int) -> LotteryConfig:
        return await self._reads.lottery_config(lottery_id)

    async def accounting(self, lottery_id: int) -> Accounting:
        return await self._reads.accounting(lottery_id)

    async def list_active(self, *, start: int = 0, limit: int = 1000) -> tuple[int, ...]:
        return await self._reads.list_active(start=start, limit=limit)

    async def lottery_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        """Every registered lottery id, oldest first (``page``: kept for callers; the storage
        read is one resource, the views page by 1000)."""
        return await self._reads.lottery_ids()

    async def finalized_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        """Lotteries with a ``LotterySummary`` (finalized, or canceled and archived), oldest
        first; empty without a history ledger."""
        return await self._reads.finalized_ids()

    async def vrf_state(self, lottery_id: int) -> VrfState:
        return await self._reads.vrf_state(lottery_id)

    async def winner_progress(self, lottery_id: int) -> WinnerProgress:
        return await self._reads.winner_progress(lottery_id)

    async def price_feed(self, asset_id: int) -> PriceFeed:
        return await self._reads.price_feed(asset_id)

    async def payout_batch_cap(self) -> PayoutBatchCap | None:
        return await self._reads.payout_batch_cap()

    async def partner_caps(self) -> tuple[PartnerCap, ...]:
        return await self._reads.partner_caps()

    async def premium_caps(self) -> tuple[PremiumCap, ...]:
        return await self._reads.premium_caps()

    async def dual_write(self) -> DualWrite | None:
        return await self._reads.dual_write()

    async def summary_hash(self, lottery_id: int) -> str | None:
        return await self._reads.summary_hash(lottery_id)

    # -- transactions ---------------------------------------------------------------------------

    async def account_sequence(self, address: str) -> int:
        """The highest of the healthy endpoints' answers, never lower than one returned before."""
        account = normalise_address(address)
        answers = await self._rpc.each_healthy(
            "GET",
            f"rpc/v3/accounts/{account}",
            what="account",
            decode=_account_sequence,
            accept=frozenset({200, 404}),
        )
        sequence = max([*answers, self._sequences.get(account, 0)])
        if sequence > max(answers):
            log.info(
                "account_sequence_behind", account=account, answered=max(answers), known=sequence
            )
        self._sequences[account] = sequence
        return sequence

    def _bytes(
        self,
        *,
        call: Call,
        sender: Signer,
        sequence_number: int,
        expires_at: int,
        secondary: Sequence[Signer],
        simulate: bool,
    ) -> bytes:
        if call.needs_operator and not secondary:
            raise ValueError(f"{call.function} needs the operator as a secondary signer")
        return signed_transaction_bytes(
            entry_function=entry_function(call, self._package),
            sender=sender,
            sequence_number=sequence_number,
            max_gas_amount=self._max_gas,
            gas_unit_price=self._gas_price,
            expires_at=expires_at,
            chain_id=self._chain_id,
            secondary=secondary,
            simulate=simulate,
        )

    def sign(
        self,
        *,
        call: Call,
        sender: Signer,
        sequence_number: int,
        expires_at: int,
        secondary: Sequence[Signer] = (),
    ) -> SignedTx:
        payload = self._bytes(
            call=call,
            sender=sender,
            sequence_number=sequence_number,
            expires_at=expires_at,
            secondary=secondary,
            simulate=False,
        )
        return SignedTx(
            payload=payload,
            tx_hash="0x" + hashlib.sha3_256(payload).hexdigest(),
            sender=sender.address,
            sequence_number=sequence_number,
            expires_at=expires_at,
            call=call,
            secondary=tuple(s.address for s in secondary),
        )

    async def simulate(
        self,
        *,
        call: Call,
        sender: Signer,
        sequence_number: int,
        secondary: Sequence[Signer] = (),
    ) -> SimResult:
        payload = self._bytes(
            call=call,
            sender=sender,
            sequence_number=sequence_number,
            expires_at=int(time.time()) + self._ttl,
            secondary=secondary,
            simulate=True,
        )
        what = f"simulate {call.module}::{call.function}"
        return await self._rpc.fetch(
            "POST",
            "rpc/v3/transactions/simulate",
            what=what,
            decode=lambda reply: decode_simulation(reply.json(what)),
            bcs=payload,
        )

    async def submit(self, tx: SignedTx) -> str:
        what = f"submit {tx.call.module}::{tx.call.function}"
        node_hash = await self._rpc.fetch(
            "POST",
            "rpc/v3/transactions/submit",
            what=what,
            decode=lambda reply: decode_submit(reply.json(what)),
            bcs=tx.payload,
        )
        if node_hash != tx.tx_hash:
            log.warning("tx_hash_differs", computed=tx.tx_hash, node=node_hash)
        return node_hash

    async def status(self, tx_hash: str) -> TxOutcome:
        if not _TX_HASH.fullmatch(tx_hash):
            raise ValueError(f"not a transaction hash: {tx_hash!r}")
        tx_hash = tx_hash.lower()

        def decode(reply: Reply) -> TxOutcome:
            if reply.status == 404:
                return TxOutcome(tx_hash=tx_hash, state=TxStatus.NOT_FOUND)
            return decode_transaction(reply.json("transaction"), tx_hash)

        return await self._rpc.fetch(
            "GET",
            f"rpc/v3/transactions/{tx_hash}",
            what="transaction",
            decode=decode,
            accept=frozenset({200, 404}),
            second_opinion=frozenset({404}),  # one node not knowing a hash proves little
        )

    async def wait_for(
        self,
        tx_hash: str,
        *,
        timeout: float,  # noqa: ASYNC109 - the whole wait's deadline, polled in a loop
        poll_interval: float = 0.25,
    ) -> TxOutcome:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: TxOutcome | None = None
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    try:
                        last = await self.status(tx_hash)
                    except TransientError as exc:
                        log.debug("tx_status_retry", tx_hash=tx_hash, error=type(exc).__name__)
                    else:
                        if last.final:
                            return last
                    await asyncio.sleep(poll_interval)
        except TimeoutError:
            state = last.state if last is not None else "unknown"
            raise RpcTimeout(
                f"transaction {tx_hash} not final after {timeout}s ({state})"
            ) from None

    # -- events ---------------------------------------------------------------------------------

    async def events(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage:
        """One page of ``event_type`` events (``module::Struct`` is taken in the package)."""
        if not _EVENT_TYPE.fullmatch(event_type) or len(event_type) > 300:
            raise ValueError(f"not an event type: {event_type!r}")
        if not event_type.startswith("0x"):
            event_type = f"{self._package}::{event_type}"
        if not 1 <= limit <= 100:
            raise ValueError("limit must be 1..100")
        params: dict[str, Any] = {"limit": limit}
        if start_height is not None:
            params["start_height"] = start_height
        if end_height is not None:
            params["end_height"] = end_height
        if cursor:
            params["start"] = cursor
        return await self._rpc.fetch(
            "GET", f"rpc/v3/events/{event_type}", what="events", decode=_event_page, params=params
        )


def _with_config(viewed: VrfDepositStatus, stored: VrfDepositStatus) -> VrfDepositStatus:
    """The view's deposit status with the stored config (which no view returns)."""
    return dataclasses.replace(
        viewed,
        effective_floor=stored.effective_floor,
        min_balance_multiplier_bps=stored.min_balance_multiplier_bps,
    )


def _gas_price(reply: Reply) -> int:
    body = obj(reply.json("gas price"), "gas price")
    price = uint(field(body, "min_configured_gas_price", "gas price"), "gas price.min")
    if price == 0:
        fail("gas price.min_configured_gas_price", "zero")
    return price


def _account_sequence(reply: Reply) -> int:
    if reply.status == 404:
        return 0
    return decode_account_sequence(reply.json("account"))


def _event_page(reply: Reply) -> EventPage:
    next_cursor = reply.headers.get("x-supra-cursor") or None
    if next_cursor is not None and len(next_cursor) > 1024:
        fail("events.x-supra-cursor", "cursor too long")
    return EventPage(events=decode_events(reply.json("events")), cursor=next_cursor)


if TYPE_CHECKING:  # mypy proves SupraGateway implements the protocol

    def _conforms(gateway: SupraGateway) -> ChainGateway:
        return gateway
