"""``SupraGateway``: the ``ChainGateway`` over ``supra_sdk`` and the node's RPC v3.

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
import contextlib
import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from autobot.chain import views
from autobot.chain.codec import entry_function, fail, field, obj, uint, view_arguments, view_result
from autobot.chain.endpoints import RpcObserver
from autobot.chain.gateway import ChainGateway, EventPage, SignedTx, SimResult, TxOutcome, TxStatus
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
from autobot.domain.bots import Bot
from autobot.domain.calls import U64, Address, Call, MoveArg
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatus, LotteryStatusView
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import LotteryView, Snapshot, StatusOverview
from autobot.domain.values import ChainTime, normalise_address
from autobot.errors import AutobotError, MoveAbort, RpcTimeout, StaleAnswer, TransientError

if TYPE_CHECKING:
    from autobot.config import ChainConfig

__all__ = ["DEFAULT_GAS_UNIT_PRICE", "SupraGateway"]

log = structlog.get_logger(__name__)

DEFAULT_GAS_UNIT_PRICE = 100
"""Used until the node's estimate has been read (Supra's ``min_configured_gas_price``)."""
GAS_PRICE_REFRESH_SECONDS = 60.0
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_EVENT_TYPE = re.compile(
    r"(0x[0-9a-fA-F]{1,64}::)?[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_<>,: ]*"
)
_E_HISTORY_MISSING = 0x1B01
_ALL_VIEWS = frozenset({"config", "accounting", "vrf", "winners", "refund", "cancellation"})
SCOPED_VIEWS: dict[LotteryStatus, frozenset[str]] = {
    # the package only writes draw state from the first request (CLOSING on), winner state from
    # the first compute (DRAWN on), a cancellation record with status CANCELED; accounting is
    # what a refund plan splits by (CANCELED). Tickets sold come with the refund progress.
    LotteryStatus.DRAFT: frozenset({"config", "refund"}),
    LotteryStatus.ACTIVE: frozenset({"config", "refund"}),
    LotteryStatus.CLOSING: frozenset({"config", "refund", "vrf"}),
    LotteryStatus.DRAW_REQUESTED: frozenset({"config", "refund", "vrf"}),
    LotteryStatus.DRAWN: frozenset({"config", "refund", "vrf", "winners"}),
    LotteryStatus.PAYOUT: frozenset({"config", "refund", "vrf", "winners"}),
    LotteryStatus.FINALIZED: frozenset({"config"}),
    LotteryStatus.CANCELED: _ALL_VIEWS,
}
"""The views a ``scoped`` read asks for besides the status (``lottery_views``)."""
_E_REGISTRY_MISSING = 0x1202  # also what sales views abort with for a lottery without sales
_E_PRICE_FEED_NOT_FOUND = 0x1902  # ABORT_NAMES[0x1902]


class SupraGateway:
    """Reads views into domain values; signs, simulates, submits and tracks transactions."""

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
        max_concurrency: int = 8,
        rpc: RpcClient | None = None,
        observer: RpcObserver | None = None,
    ) -> None:
        """``observer`` receives every RPC attempt (endpoint label, outcome, seconds): metrics."""
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
        now = await self.chain_time()
        if time.monotonic() - self._gas_read_at >= GAS_PRICE_REFRESH_SECONDS:
            try:
                await self.refresh_gas_price()
            except AutobotError as exc:  # keep the last price; the snapshot does not need it
                log.warning("gas_price_refresh_failed", error=type(exc).__name__, detail=str(exc))
        async with _tasks() as group:
            overview = group.create_task(self.status_overview(now.seconds))
            bots = group.create_task(self.list_bots())
            deposit = group.create_task(self.vrf_deposit_status())
            cap = group.create_task(self.payout_batch_cap())
            feeds = [group.create_task(self._feed_or_none(a)) for a in sorted(set(asset_ids))]
            lotteries = [group.create_task(self._lottery_view(i)) for i in sorted(set(lottery_ids))]
        return Snapshot(
            time=now,
            overview=overview.result(),
            bots=bots.result(),
            feeds={f.asset_id: f for t in feeds if (f := t.result()) is not None},
            deposit=deposit.result(),
            cap=cap.result(),
            lotteries={v.lottery_id: v for v in (t.result() for t in lotteries)},
        )

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        """Every per-lottery view of ``lottery_ids`` (read concurrently), by lottery id.

        ``scoped`` reads the status first and then only the views its status can make differ
        from their defaults (``SCOPED_VIEWS``); the others are left at their defaults.
        """
        read = self._scoped_view if scoped else self._lottery_view
        async with _tasks() as group:
            tasks = [group.create_task(read(i)) for i in sorted(set(lottery_ids))]
        return {v.lottery_id: v for v in (t.result() for t in tasks)}

    async def _scoped_view(self, lottery_id: int) -> LotteryView:
        status = await self.lottery_status(lottery_id)
        wanted = SCOPED_VIEWS[status.status]
        if len(wanted) == len(_ALL_VIEWS):
            return await self._lottery_view(lottery_id)
        reads = {
            "config": self.lottery_config,
            "accounting": self._accounting_or_zero,
            "vrf": self.vrf_state,
            "winners": self.winner_progress,
            "refund": self.refund_progress,
            "cancellation": self.cancellation,
        }
        async with _tasks() as group:
            tasks = {name: group.create_task(reads[name](lottery_id)) for name in wanted}
            archived = (
                group.create_task(self.has_summary(lottery_id))
                if status.status == LotteryStatus.FINALIZED
                else None
            )
        return LotteryView(
            lottery_id=lottery_id,
            status=status.status,
            snapshot_frozen=status.snapshot_frozen,
            archived=archived.result() if archived is not None else False,
            **{name: task.result() for name, task in tasks.items()},  # type: ignore[arg-type]
        )

    async def _feed_or_none(self, asset_id: int) -> PriceFeed | None:
        try:
            return await self.price_feed(asset_id)
        except MoveAbort as exc:
            if exc.code == _E_PRICE_FEED_NOT_FOUND:
                return None
            raise

    async def _lottery_view(self, lottery_id: int) -> LotteryView:
        async with _tasks() as group:
            status = group.create_task(self.lottery_status(lottery_id))
            config = group.create_task(self.lottery_config(lottery_id))
            accounting = group.create_task(self._accounting_or_zero(lottery_id))
            vrf = group.create_task(self.vrf_state(lottery_id))
            winners = group.create_task(self.winner_progress(lottery_id))
            refund = group.create_task(self.refund_progress(lottery_id))
            cancellation = group.create_task(self.cancellation(lottery_id))
        archived = False
        if status.result().status in (LotteryStatus.CANCELED, LotteryStatus.FINALIZED):
            archived = await self.has_summary(lottery_id)
        return LotteryView(
            lottery_id=lottery_id,
            status=status.result().status,
            snapshot_frozen=status.result().snapshot_frozen,
            config=config.result(),
            accounting=accounting.result(),
            vrf=vrf.result(),
            winners=winners.result(),
            refund=refund.result(),
            cancellation=cancellation.result(),
            archived=archived,
        )

    async def _accounting_or_zero(self, lottery_id: int) -> Accounting:
        """``accounting_snapshot`` aborts ``E_REGISTRY_MISSING`` in ``sales`` for a lottery that
        has no sales state (no ticket sold yet): its accounting is all zeros."""
        try:
            return await self.accounting(lottery_id)
        except MoveAbort as exc:
            if exc.module == "sales" and exc.code == _E_REGISTRY_MISSING:
                return Accounting()
            raise

    async def has_summary(self, lottery_id: int) -> bool:
        """True once ``history`` holds the lottery's summary (archived or finalized).

        ``views::get_lottery_summary`` aborts when there is none: a table miss in the framework
        (``0x1::table``) or the history ledger missing altogether.
        """
        try:
            await self.view("views", "get_lottery_summary", (U64(lottery_id),))
        except MoveAbort as exc:
            if exc.module == "table" or exc.code == _E_HISTORY_MISSING:
                return False
            raise
        return True

    # -- views ----------------------------------------------------------------------------------

    async def view(
        self, module: str, function: str, args: Sequence[MoveArg] = (), *, count: int = 1
    ) -> list[object]:
        """Call ``<package>::module::function`` as a view; the raw node-JSON results."""
        return await self._view(module, function, args, count=count, decode=_results)

    async def _view[T](
        self,
        module: str,
        function: str,
        args: Sequence[MoveArg],
        *,
        count: int,
        decode: Callable[[list[object]], T],
    ) -> T:
        """A view decoded inside its RPC attempt: an answer that does not decode fails over."""
        what = f"{module}::{function}"
        body = {
            "function": f"{self._package}::{module}::{function}",
            "type_arguments": [],
            "arguments": view_arguments(args),
        }

        def run(reply: Reply) -> T:
            return decode(view_result(reply.json(what), count, what))

        async with self._limit:
            return await self._rpc.fetch(
                "POST", "rpc/v3/view", what=what, decode=run, json_body=body
            )

    async def _one[T](
        self, decode: Callable[[object], T], module: str, function: str, *args: MoveArg
    ) -> T:
        """A one-result view, decoded into a domain value by ``decode`` (``views.py``)."""
        return await self._view(module, function, args, count=1, decode=lambda r: decode(r[0]))

    async def status_overview(self, now_ts: int) -> StatusOverview:
        return await self._one(views.decode_overview, "views", "status_overview", U64(now_ts))

    async def list_bots(self) -> tuple[Bot, ...]:
        return await self._one(views.decode_bot_list, "views", "list_automation_bots")

    async def get_bot(self, operator: str) -> Bot | None:
        return await self._one(
            views.decode_bot_option, "views", "get_automation_bot", Address(operator)
        )

    async def refund_progress(self, lottery_id: int) -> RefundProgress:
        return await self._one(
            views.decode_refund_progress, "views", "get_refund_progress", U64(lottery_id)
        )

    async def cancellation(self, lottery_id: int) -> Cancellation | None:
        return await self._one(
            views.decode_cancellation, "views", "get_cancellation", U64(lottery_id)
        )

    async def vrf_deposit_status(self) -> VrfDepositStatus:
        return await self._one(views.decode_deposit, "views", "get_vrf_deposit_status")

    async def lottery_status(self, lottery_id: int) -> LotteryStatusView:
        return await self._one(views.decode_status, "views", "get_lottery_status", U64(lottery_id))

    async def lottery_config(self, lottery_id: int) -> LotteryConfig:
        return await self._one(views.decode_config, "views", "get_lottery", U64(lottery_id))

    async def accounting(self, lottery_id: int) -> Accounting:
        return await self._one(
            views.decode_accounting, "views", "accounting_snapshot", U64(lottery_id)
        )

    async def list_active(self, *, start: int = 0, limit: int = 1000) -> tuple[int, ...]:
        return await self._one(views.decode_id_list, "views", "list_active", U64(start), U64(limit))

    async def lottery_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        """Every registered lottery id, oldest first.

        The package has no "list all" view; ``list_by_all_tags(mask, from, limit)`` keeps the
        lotteries whose tags include every bit of ``mask``, which with mask 0 is all of them
        (newest first, ``limit <= 1000``). Paged until a short page.
        """
        found: list[int] = []
        start = 0
        while True:
            ids = await self._one(
                views.decode_id_list, "views", "list_by_all_tags", U64(0), U64(start), U64(page)
            )
            found.extend(ids)
            if len(ids) < page:
                break
            start += page
        return tuple(sorted(set(found)))

    async def finalized_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        """Lotteries with a ``LotterySummary`` (finalized, or canceled and archived), oldest first.

        ``views::list_finalized_ids(from, limit)`` (newest first, ``limit <= 1000``), paged; an
        empty tuple without a history ledger.
        """
        found: list[int] = []
        start = 0
        while True:
            try:
                ids = await self._one(
                    views.decode_id_list, "views", "list_finalized_ids", U64(start), U64(page)
                )
            except MoveAbort as exc:
                if exc.code == _E_HISTORY_MISSING:
                    return ()
                raise
            found.extend(ids)
            if len(ids) < page:
                break
            start += page
        return tuple(sorted(set(found)))

    async def vrf_state(self, lottery_id: int) -> VrfState:
        return await self._one(views.decode_vrf_state, "draw", "vrf_state_view", U64(lottery_id))

    async def winner_progress(self, lottery_id: int) -> WinnerProgress:
        return await self._one(
            views.decode_winner_progress, "payouts", "winner_progress", U64(lottery_id)
        )

    async def price_feed(self, asset_id: int) -> PriceFeed:
        return await self._one(
            views.decode_price_feed, "price_feed", "get_price_view", U64(asset_id)
        )

    async def payout_batch_cap(self) -> PayoutBatchCap | None:
        return await self._one(views.decode_cap, "roles", "payout_batch_cap_view")

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


def _results(results: list[object]) -> list[object]:
    return results


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


@contextlib.asynccontextmanager
async def _tasks() -> AsyncIterator[asyncio.TaskGroup]:
    """A ``TaskGroup`` whose failure surfaces as the first error itself, not a group.

    Callers of the gateway expect the typed ``autobot.errors`` exception; when one read fails the
    others are cancelled (TaskGroup semantics) and the first failure is raised.
    """
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as eg:
        first: BaseException = eg
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


if TYPE_CHECKING:  # mypy proves SupraGateway implements the protocol

    def _conforms(gateway: SupraGateway) -> ChainGateway:
        return gateway
