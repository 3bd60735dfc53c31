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
No single endpoint is trusted with time, sequence numbers, simulations or gas prices
(docs/decisions.md §14):

* chain time never runs backwards through this gateway, and a block time ahead of the pace line
  is quarantined, not adopted (``chain/timeguard.py``: the line is drawn at the first read only
  from a majority of the endpoints' answers, a majority of the endpoints moves the line,
  a majority below the reading wins, with others configured but silent the last time is kept,
  alone the reading is capped at the line); a block more than the pool's ``lag_tolerance_blocks`` behind
  the best seen marks its endpoint lagging and is read again elsewhere (if every endpoint lags,
  the last trusted reading is returned again);
* ``account_sequence`` asks every healthy endpoint: the lowest answer to resync (a number a liar
  pushed ahead costs one refusal, then the next read), the highest (``highest=True``) where a
  number's being still unused is the proof asked for (a dropped transaction); nothing is
  remembered across reads, so the number goes down as well as up;
* a simulation that aborts is asked of a second healthy endpoint: if that one says the call runs,
  it is sent (the chain decides, and an on-chain abort is decided from its own answer);
* gas: the median of the healthy endpoints' estimates, under a ceiling and a hard cap, and
  ``max_gas_amount`` from the simulation (``chain/gas.py``);
* a 404 for a transaction hash, or for a resource or table item (``chain/reads.py``), is
  confirmed by a second healthy endpoint before it is believed;
* paginated reads (events pages here, the view id listings in ``chain/view_reads.py``) are
  bounded in pages and must move on (``chain/pages.py``);
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
from autobot.chain.endpoints import Endpoint, RpcObserver
from autobot.chain.gas import DEFAULT_GAS_UNIT_PRICE, GasPolicy, GasPrice
from autobot.chain.gateway import ChainGateway, EventPage, SignedTx, SimResult, TxOutcome, TxStatus
from autobot.chain.pacing import Pace
from autobot.chain.pages import MAX_EVENT_PAGES, PageGuard
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
from autobot.chain.timeguard import ClockPolicy, TimeGuard
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
from autobot.errors import (
    AutobotError,
    ClockAhead,
    RpcTimeout,
    RpcUnavailable,
    StaleAnswer,
    TransientError,
)

if TYPE_CHECKING:
    from autobot.config import ChainConfig

type Reads = Literal["storage", "views"]
"""``[chain] reads``: how the package is read (``chain/reads.py``)."""

__all__ = ["DEFAULT_GAS_UNIT_PRICE", "SCOPED_VIEWS", "Reads", "SupraGateway"]

log = structlog.get_logger(__name__)

GAS_PRICE_REFRESH_SECONDS = 60.0
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_EVENT_TYPE = re.compile(
    r"(0x[0-9a-fA-F]{1,64}::)?[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_<>,: ]*"
)
_EVENT_READS_KEPT = 64
"""Events reads in progress (one per type and range) whose page bounds are kept."""
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
        clock: ClockPolicy | None = None,
        gas: GasPolicy | None = None,
        reads: Reads = "storage",
        pace: Pace | None = None,
    ) -> None:
        """``observer`` receives every RPC attempt (endpoint label, outcome, seconds): metrics;
        ``clock`` is how fast chain time may run (``chain/timeguard.py``; ``None``: block times
        are not judged — tools and tests that move a localnet's clock at will; ``from_config``
        always passes the configured policy); ``gas`` bounds what is paid (``chain/gas.py``;
        ``max_gas_amount`` is its cap when it is not given); ``reads``: the package's storage
        (any node) or its views (a patched package); ``pace``: awaited before requests that may give
        way to more urgent ones (``chain/pacing.py``)."""
        if reads not in READS:
            raise ValueError(f"reads must be one of {READS}, not {reads!r}")
        self._chain_id = chain_id
        self._package = normalise_address(package)
        self._rpc = rpc or RpcClient(
            urls=rpc_urls, chain_id=chain_id, timeout=request_timeout, observer=observer
        )
        if pace is not None:
            self._rpc.pace = pace
        self._ttl = tx_ttl_seconds
        self._gas_policy = gas or GasPolicy(max_amount=max_gas_amount)
        self._gas = GasPrice(self._gas_policy, fixed=gas_unit_price)
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
        self._guard = TimeGuard(clock) if clock is not None else None
        self._ahead_seen = False  # an endpoint was found ahead during this chain_time
        self._event_reads: dict[tuple[str, int | None, int | None], PageGuard] = {}

    @classmethod
    def from_config(
        cls,
        chain: ChainConfig,
        *,
        observer: RpcObserver | None = None,
        pace: Pace | None = None,
    ) -> SupraGateway:
        return cls(
            observer=observer,
            pace=pace,
            rpc_urls=chain.rpc_urls,
            chain_id=chain.chain_id,
            package=chain.package_address,
            request_timeout=chain.request_timeout_seconds,
            tx_ttl_seconds=chain.tx_ttl_seconds,
            max_gas_amount=chain.max_gas_amount,
            gas_unit_price=chain.gas_unit_price,
            clock=ClockPolicy(
                time_scale=chain.time_scale, tolerance_seconds=chain.clock_tolerance_seconds
            ),
            gas=GasPolicy(
                max_unit_price=chain.max_gas_unit_price,
                ceiling_factor=chain.gas_price_ceiling_factor,
                max_amount=chain.max_gas_amount,
                amount_margin=chain.gas_amount_margin,
            ),
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
        guard = self._guard
        if guard is not None and not guard.anchored and len(self._rpc.pool.usable()) > 1:
            await self._first_time(guard)  # raises unless a majority of the endpoints answered
        self._ahead_seen = False
        try:
            reading = await self._rpc.fetch(
                "GET", "rpc/v3/block", what="latest block", decode=self._current_block
            )
            if self._ahead_seen and guard is not None:  # some were ahead: are they a majority?
                reading = await self._clock_moved(guard, reading)
        except ClockAhead as exc:  # every endpoint asked runs ahead of the pace line
            assert isinstance(exc.reading, ChainTime) and guard is not None
            reading = await self._clock_moved(guard, exc.reading)
        except StaleAnswer as exc:  # every endpoint asked lags: keep the last trusted reading
            if self._last_time is not None:
                return self._last_time
            assert isinstance(exc.reading, ChainTime)
            reading = exc.reading
        if guard is not None and not guard.anchored:  # one endpoint: its first reading anchors
            guard.anchor(reading, at=time.monotonic())
        last = self._last_time
        if last is not None and (reading.height < last.height or reading.micros < last.micros):
            return last
        self._last_time = reading
        return reading

    def _current_block(self, reply: Reply) -> ChainTime:
        reading = _block(reply)
        endpoint = reply.endpoint
        guard = self._guard
        if guard is not None and not guard.plausible(reading, at=time.monotonic()):
            label = endpoint.label if endpoint is not None else "?"
            self._ahead_seen = True
            raise ClockAhead(
                f"latest block: {label} says chain time {reading.seconds}, further ahead than "
                f"the pace allows (+{guard.policy.tolerance_seconds:g} s)",
                reading=reading,
            )
        if endpoint is not None and self._rpc.pool.observe_block(endpoint, height=reading.height):
            raise StaleAnswer(
                f"latest block: {endpoint.label} is {endpoint.lag_blocks} blocks behind",
                reading=reading,
            )
        return reading

    async def _first_time(self, guard: TimeGuard) -> None:
        """Anchor the pace line at the first read, asking every endpoint — and only when a
        majority of them answers (the gas estimate's rule, ``chain/gas.py``): a liar that alone
        answers the first read (a start or a restart inside its burst, the others slow or down)
        would otherwise draw the line at its own time, and chain time never runs back. The
        anchor is the earliest time among the blocks that are current (within the lag tolerance
        of the highest one; a lagging node's old block must not hold the clock back), and never
        later than the quorum time (the latest a majority reports at or above: a liar's height
        cannot make it the only "current" one). Without a majority the read fails
        (``RpcUnavailable``; the caller retries) and nothing is anchored."""
        configured = len(self._rpc.pool.usable())
        try:
            answers = await self._rpc.each_endpoint(
                "GET", "rpc/v3/block", what="latest block", decode=_block
            )
        except AutobotError:
            answers = []
        readings = [r for _, r in answers]
        quorum = guard.quorum(readings, configured=configured)
        if quorum is None:
            log.warning(
                "chain_time_unconfirmed",
                said=[r.seconds for r in readings],
                answers=len(readings),
                endpoints=configured,
            )
            raise RpcUnavailable(
                f"latest block: the first chain time needs answers from a majority of the "
                f"{configured} endpoints; {len(readings)} answered"
            )
        best = max(r.height for r in readings)
        current = [
            r for r in readings if r.height >= best - self._rpc.pool.policy.lag_tolerance_blocks
        ]
        earliest = min(current, key=lambda r: r.micros)
        guard.anchor(min(earliest, quorum, key=lambda r: r.micros), at=time.monotonic())

    async def _clock_moved(self, guard: TimeGuard, reading: ChainTime) -> ChainTime:
        """Some endpoint was ahead of the pace line (``reading`` is the best one had, ahead or
        plausible): did the chain move (a majority agrees), or does a minority lie? The quorum
        time (a new line when it is ahead of the old one); without a quorum, with several
        endpoints configured, the last trusted time (a pause, not a jump); alone, ``reading``
        capped at the line."""
        at = time.monotonic()
        pool = self._rpc.pool
        try:
            answers = await self._rpc.each_endpoint(
                "GET", "rpc/v3/block", what="latest block", decode=_block
            )
        except AutobotError:
            answers = []
        quorum = guard.quorum([r for _, r in answers], configured=len(pool.usable()))
        if quorum is not None and quorum.micros >= reading.micros:
            if not guard.plausible(quorum, at=at):
                log.warning(
                    "chain_time_jumped",
                    to=quorum.seconds,
                    endpoints=sum(r.micros >= quorum.micros for _, r in answers),
                )
                guard.anchor(quorum, at=at)
            for endpoint, answered in answers:  # those the (new) line finds plausible again
                if guard.plausible(answered, at=at):
                    pool.trusted_again(endpoint)
            return quorum
        if quorum is not None:  # a majority says less than ``reading``: a minority ran ahead
            return quorum
        if (
            len(pool.usable()) > 1
            and self._last_time is not None
            and not guard.plausible(reading, at=at)
        ):
            # several endpoints, but none to confirm: a reading ahead of the line is not
            # adopted at all (capping it would still gain the liar the tolerance)
            log.warning("chain_time_unconfirmed", said=reading.seconds, answers=len(answers))
            return self._last_time
        capped = guard.cap(reading, at=at)
        if capped.micros < reading.micros:
            log.warning(
                "chain_time_capped",
                said=reading.seconds,
                adopted=capped.seconds,
                answers=len(answers),
            )
        return capped

    async def refresh_gas_price(self) -> int:
        """Re-read the healthy endpoints' ``min_configured_gas_price`` (unless one is
        configured): the median, within the ceiling and the cap (``chain/gas.py``)."""
        if self._gas.fixed:
            return self._gas.price
        estimates = await self._rpc.each_healthy(
            "GET", "rpc/v3/transactions/estimate_gas_price", what="gas price", decode=_gas_price
        )
        price = self._gas.observe(estimates, endpoints=len(self._rpc.pool.usable()))
        self._gas_read_at = time.monotonic()
        return price

    @property
    def gas_unit_price(self) -> int:
        """The price transactions are signed with now."""
        return self._gas.price

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

    async def account_sequence(self, address: str, *, highest: bool = False) -> int:
        """The account's next sequence number as the healthy endpoints answer it: the lowest
        answer (to resync: a number pushed ahead costs one refusal), or the highest
        (``highest``: a number still unused by all of them). Nothing is remembered."""
        account = normalise_address(address)
        answers = await self._rpc.each_healthy(
            "GET",
            f"rpc/v3/accounts/{account}",
            what="account",
            decode=_account_sequence,
            accept=frozenset({200, 404}),
        )
        if max(answers) != min(answers):
            log.info("account_sequences_differ", account=account, answers=sorted(answers))
        return max(answers) if highest else min(answers)

    def _bytes(
        self,
        *,
        call: Call,
        sender: Signer,
        sequence_number: int,
        expires_at: int,
        secondary: Sequence[Signer],
        simulate: bool,
        gas_used: int | None = None,
    ) -> bytes:
        if call.needs_operator and not secondary:
            raise ValueError(f"{call.function} needs the operator as a secondary signer")
        return signed_transaction_bytes(
            entry_function=entry_function(call, self._package),
            sender=sender,
            sequence_number=sequence_number,
            max_gas_amount=self._gas_policy.amount(gas_used),
            gas_unit_price=self._gas.price,
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
        gas_used: int | None = None,
    ) -> SignedTx:
        payload = self._bytes(
            call=call,
            sender=sender,
            sequence_number=sequence_number,
            expires_at=expires_at,
            secondary=secondary,
            simulate=False,
            gas_used=gas_used,
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

        def decode(reply: Reply) -> tuple[SimResult, Endpoint | None]:
            return decode_simulation(reply.json(what)), reply.endpoint

        result, endpoint = await self._rpc.fetch(
            "POST", "rpc/v3/transactions/simulate", what=what, decode=decode, bcs=payload
        )
        if result.success:
            return result
        # one endpoint's "it would abort" is not enough to give up a plan (and record a failure)
        others = [e for e in self._rpc.pool.healthy() if e is not endpoint]
        if not others:
            return result
        try:
            second, _ = await self._rpc.fetch(
                "POST",
                "rpc/v3/transactions/simulate",
                what=what,
                decode=decode,
                bcs=payload,
                only=others[0],
            )
        except AutobotError:
            return result
        if second.success:
            log.warning(
                "simulations_disagree",
                call=f"{call.module}::{call.function}",
                aborts_at=endpoint.label if endpoint is not None else "?",
                abort=result.abort.name if result.abort is not None else result.vm_status,
            )
            return second
        return result

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
        key = (event_type, start_height, end_height)
        guard = self._event_reads.pop(key, None) if cursor else None
        if guard is None:
            guard = PageGuard(f"events {event_type}", self._rpc.pool, max_pages=MAX_EVENT_PAGES)
            if cursor:  # a read resumed from a cursor kept elsewhere (a restart)
                guard.page(None, cursor=cursor)
        page, endpoint = await self._rpc.fetch(
            "GET", f"rpc/v3/events/{event_type}", what="events", decode=_event_page, params=params
        )
        guard.page(endpoint, cursor=page.cursor)
        if page.cursor is not None:
            self._event_reads[key] = guard
            while len(self._event_reads) > _EVENT_READS_KEPT:  # abandoned reads
                self._event_reads.pop(next(iter(self._event_reads)))
        return page


def _block(reply: Reply) -> ChainTime:
    micros, height = decode_block(reply.json("latest block"))
    return ChainTime.from_micros(micros, height=height, observed_at=time.time())


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


def _event_page(reply: Reply) -> tuple[EventPage, Endpoint | None]:
    next_cursor = reply.headers.get("x-supra-cursor") or None
    if next_cursor is not None and len(next_cursor) > 1024:
        fail("events.x-supra-cursor", "cursor too long")
    page = EventPage(events=decode_events(reply.json("events")), cursor=next_cursor)
    return page, reply.endpoint


if TYPE_CHECKING:  # mypy proves SupraGateway implements the protocol

    def _conforms(gateway: SupraGateway) -> ChainGateway:
        return gateway
