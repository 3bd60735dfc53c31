"""The one fake ``ChainGateway`` of the test suite (docs/conventions.md §14: fakes over mocks).

``FakeChain`` implements the whole ``ChainGateway`` protocol over a small in-memory model of
``lottery_multi``: lotteries as ``LotteryView``s, bots with the automation checks of
docs/package.md §1.5 (announce, record), feeds, the deposit and the cap, per-account sequence
numbers with a mempool that executes transactions in sequence order (one block each), admin-call
effects a test registers (``on`` via ``handlers``), and the package's events with their handle
counters (``Snapshot.activity``). Simulation runs the same code on a copy.

``tests/contract/`` runs one behavioural suite against this fake, the real gateway reading the
localnet's storage, and the real gateway calling a patched package's views: where this fake and
the real gateway disagree, the suite fails. Differences it keeps on purpose: signing is JSON, not
BCS (the hash is still sha3-256 of the signed bytes), and time only moves when a test moves it.

Test controls: ``add_bot``, ``advance`` (chain time and a block), ``emit`` (an event by someone
else), ``hold``/``release`` (a slow node), ``forget`` (a node that lost a pending transaction),
``submit_faults`` (exceptions raised by the next ``submit`` calls, optionally after the node
accepted the bytes: a lost response). ``calls`` counts every protocol call by method, ``reads``
every lottery whose views were read.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace

from autobot.chain.aborts import abort_name_in, format_vm_status
from autobot.chain.gateway import ChainEvent, EventPage, SignedTx, SimResult, TxOutcome, TxStatus
from autobot.chain.reads import SCOPED
from autobot.chain.signer import Signer
from autobot.domain.bots import Bot
from autobot.domain.calls import Call
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.features import FeatureMode, FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import (
    Accounting,
    LotteryConfig,
    LotteryStatus,
    LotteryStatusView,
)
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
from autobot.errors import MoveAbort, RpcRejected, RpcTimeout, SequenceRace
from autobot.execution.transcripts import call_to_json

__all__ = [
    "DEFAULT_HANDLERS",
    "Abort",
    "ChainState",
    "FakeChain",
    "Handler",
    "arg",
    "lottery",
]

TABLE = ("table", 0x6507, "0x1")  # a framework table miss: an unknown lottery id
MAX_SEQUENCE_GAP = 64  # a node holds at most 63 transactions ahead of an account's number


class Abort(Exception):
    """A Move abort inside the fake package (``module`` raised ``code``)."""

    def __init__(self, code: int, module: str = "automation", *, address: str | None = None):
        super().__init__(f"abort 0x{code:x}")
        self.code = code
        self.module = module
        self.address = address


Handler = Callable[["ChainState", Call], None]


@dataclass
class ChainState:
    admin: str
    now: int
    bots: dict[str, Bot] = field(default_factory=dict)
    lotteries: dict[int, LotteryView] = field(default_factory=dict)
    feeds: dict[int, PriceFeed] = field(default_factory=dict)
    deposit: VrfDepositStatus = field(default_factory=VrfDepositStatus)
    cap: PayoutBatchCap | None = None
    features: FeatureSwitch = field(default_factory=FeatureSwitch)  # as stored, entries kept
    partner_caps: list[PartnerCap] = field(default_factory=list)
    premium_caps: list[PremiumCap] = field(default_factory=list)
    dual_write: DualWrite | None = field(default_factory=lambda: DualWrite(enabled=True))
    summary_hashes: dict[int, str] = field(default_factory=dict)  # default: a hash of the id
    emitted: list[tuple[str, dict[str, object]]] = field(default_factory=list)  # by this call

    def lottery(self, lottery_id: int) -> LotteryView:
        return self.lotteries[lottery_id]

    def set_lottery(self, lottery_id: int, **changes: object) -> None:
        self.lotteries[lottery_id] = replace(self.lotteries[lottery_id], **changes)  # type: ignore[arg-type]

    def emit(self, event: str, **data: object) -> None:
        """An event of the package (``module::Struct``), emitted by the call being executed."""
        self.emitted.append((event, data))


def arg(call: Call, index: int) -> object:
    return call.args[index].value


def _auto_close(state: ChainState, call: Call) -> None:
    lottery_id, status = int(arg(call, 0)), int(arg(call, 1))  # type: ignore[call-overload]
    view = state.lotteries.get(lottery_id)
    if view is None:
        raise Abort(TABLE[1], TABLE[0], address=TABLE[2])
    if not view.status.can_become(LotteryStatus(status)):
        raise Abort(0x1204, "lottery_registry")
    if status == LotteryStatus.CLOSING and view.snapshot_frozen:
        raise Abort(0x1207, "lottery_registry")
    frozen = view.snapshot_frozen or status == LotteryStatus.CLOSING
    state.set_lottery(lottery_id, status=LotteryStatus(status), snapshot_frozen=frozen)


def _refund_batch(state: ChainState, call: Call) -> None:
    lottery_id, round_, tickets = (int(arg(call, i)) for i in range(3))  # type: ignore[call-overload]
    view = state.lotteries[lottery_id]
    if view.status != LotteryStatus.CANCELED:
        raise Abort(0x1815, "payouts")
    if round_ != view.refund.refund_round + 1:
        raise Abort(0x1812, "payouts")
    refund = replace(
        view.refund,
        refund_round=round_,
        tickets_refunded=view.refund.tickets_refunded + tickets,
        last_refund_ts=int(arg(call, 5)),  # type: ignore[call-overload]
    )
    state.set_lottery(lottery_id, refund=refund)
    state.emit("history::RefundBatchEvent", lottery_id=str(lottery_id), refund_round=str(round_))


def _archive(state: ChainState, call: Call) -> None:
    lottery_id = int(arg(call, 0))  # type: ignore[call-overload]
    state.set_lottery(lottery_id, archived=True)
    state.emit("history::LotteryFinalizedEvent", id=str(lottery_id))


def _clear_clamp(state: ChainState, call: Call) -> None:
    asset_id = int(arg(call, 0))  # type: ignore[call-overload]
    feed = state.feeds.get(asset_id)
    if feed is None:
        raise Abort(0x1902, "price_feed")
    if not feed.clamp_active:
        raise Abort(0x1908, "price_feed")
    state.feeds[asset_id] = replace(feed, clamp_active=False, last_updated_ts=int(arg(call, 1)))  # type: ignore[call-overload]
    state.emit("price_feed::PriceFeedClampClearedEvent", asset_id=str(asset_id))


def _set_mode(state: ChainState, call: Call) -> None:
    """``feature_switch::set_mode``: a supported mode, a registry, then the entry is written
    (under ``force_enable_devnet`` too: it only matters once force is off)."""
    feature_id, mode = int(arg(call, 0)), int(arg(call, 1))  # type: ignore[call-overload]
    if mode not in set(FeatureMode):
        raise Abort(0x1402, "feature_switch")
    if not state.features.initialized:
        raise Abort(0x1202, "feature_switch")
    state.features = replace(state.features, modes={**state.features.modes, feature_id: mode})


DEFAULT_HANDLERS: dict[tuple[str, str], Handler] = {
    ("lottery_registry", "advance_status"): _auto_close,
    ("payouts", "force_refund_batch_admin"): _refund_batch,
    ("payouts", "archive_canceled_lottery_admin"): _archive,
    ("price_feed", "clear_clamp"): _clear_clamp,
    ("feature_switch", "set_mode"): _set_mode,
}


def lottery(
    lottery_id: int, status: LotteryStatus = LotteryStatus.ACTIVE, **kw: object
) -> LotteryView:
    return LotteryView(
        lottery_id=lottery_id,
        status=status,
        config=LotteryConfig(sales_start=0, sales_end=500),
        **kw,  # type: ignore[arg-type]
    )


class FakeChain:
    """The whole ``ChainGateway`` over ``ChainState``."""

    def __init__(
        self,
        *,
        admin: Signer | str,
        now: int = 1_000,
        wall: Callable[[], float],
        chain_id: int = 77,
        height: int = 1,
    ) -> None:
        address = admin if isinstance(admin, str) else admin.address
        self.state = ChainState(admin=normalise_address(address), now=now)
        self.height = height
        self._chain_id = chain_id
        self.sequences: dict[str, int] = {}
        self.handlers: dict[tuple[str, str], Handler] = dict(DEFAULT_HANDLERS)
        self.mempool: dict[str, SignedTx] = {}
        self.outcomes: dict[str, TxOutcome] = {}
        self.submitted: list[SignedTx] = []  # every submit call, accepted or not
        self.simulated: list[Call] = []
        self.submit_faults: list[tuple[Exception, bool]] = []  # (error, accepted before raising)
        self.hold = False
        self.wall = wall
        self.event_log: list[ChainEvent] = []
        self.calls: Counter[str] = Counter()  # protocol calls by method name
        self.reads: Counter[int] = Counter()  # lotteries whose views were read
        self.closed = False

    # -- test controls ------------------------------------------------------------------------

    def add_bot(self, operator: str, **kw: object) -> Bot:
        defaults: dict[str, object] = {
            "allowed_actions": (1, 2),
            "timelock_secs": 0,
            "max_failures": 3,
            "expires_at": 10**9,
        }
        bot = Bot(operator=operator, **(defaults | kw))  # type: ignore[arg-type]
        self.state.bots[operator] = bot
        return bot

    def advance(self, seconds: int) -> None:
        """Chain time moves on by ``seconds``, in a new block."""
        self.state.now += seconds
        self.height += 1

    def emit(self, event: str, **data: object) -> None:
        """An event of the package (``module::Struct``) by someone else's transaction, in a new
        block (a block already read never gets more events)."""
        self.height += 1
        self._record([(event, data)], tx_hash="0x" + "00" * 32)

    def release(self) -> None:
        """Execute everything held in the mempool that is next in line."""
        self.hold = False
        self._drain()

    def forget(self, tx_hash: str) -> None:
        """The node lost a pending transaction (it was never executed)."""
        self.mempool.pop(tx_hash, None)

    def executed(self, function: str) -> list[SignedTx]:
        """Executed transactions calling ``function`` (``module::function``), in order."""
        return [
            tx
            for tx in self.submitted_unique()
            if f"{tx.call.module}::{tx.call.function}" == function
            and tx.tx_hash in self.outcomes
            and self.outcomes[tx.tx_hash].state is TxStatus.SUCCESS
        ]

    def submitted_unique(self) -> list[SignedTx]:
        seen: dict[str, SignedTx] = {}
        for tx in self.submitted:
            seen.setdefault(tx.tx_hash, tx)
        return list(seen.values())

    # -- ChainGateway: identity and time ------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def package(self) -> str:
        return self.state.admin

    async def aclose(self) -> None:
        self.closed = True

    async def chain_time(self) -> ChainTime:
        self.calls["chain_time"] += 1
        return ChainTime(seconds=self.state.now, height=self.height)

    # -- ChainGateway: reads ------------------------------------------------------------------

    def _abort(self, code: int, module: str, *, address: str | None = None) -> MoveAbort:
        vm_status = format_vm_status(address or self.package, module, code)
        return MoveAbort(
            code=code, name=abort_name_in(module, code), module=module, vm_status=vm_status
        )

    def _lottery(self, lottery_id: int) -> LotteryView:
        view = self.state.lotteries.get(lottery_id)
        if view is None:
            raise self._abort(TABLE[1], TABLE[0], address=TABLE[2])
        return view

    def activity(self) -> ChainActivity:
        counters = Counter(e.type.split("::", 1)[1] for e in self.event_log)
        summarised = sum(
            v.status == LotteryStatus.FINALIZED or v.archived for v in self.state.lotteries.values()
        )
        return ChainActivity(
            events=dict(counters),
            registered=len(self.state.lotteries),
            summarised=summarised,
        )

    async def snapshot(
        self, *, lottery_ids: Collection[int], asset_ids: Collection[int] = ()
    ) -> Snapshot:
        self.calls["snapshot"] += 1
        views = await self._views(lottery_ids, scoped=False)
        return Snapshot(
            time=ChainTime(seconds=self.state.now, height=self.height),
            overview=compute_overview(views.values(), self.state.now),
            bots=tuple(self.state.bots.values()),
            feeds={a: f for a, f in sorted(self.state.feeds.items()) if a in set(asset_ids)},
            deposit=self.state.deposit,
            cap=self.state.cap,
            lotteries=views,
            features=self._features(),
            activity=self.activity(),
        )

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        self.calls["lottery_views"] += 1
        return await self._views(lottery_ids, scoped=scoped)

    async def _views(self, lottery_ids: Collection[int], *, scoped: bool) -> dict[int, LotteryView]:
        out: dict[int, LotteryView] = {}
        for i in sorted(set(lottery_ids)):
            view = self._lottery(i)
            self.reads[i] += 1
            if scoped:  # the views the status cannot make non-default are left at their defaults
                wanted = SCOPED[view.status]
                view = LotteryView(
                    lottery_id=i,
                    status=view.status,
                    config=view.config,
                    snapshot_frozen=view.snapshot_frozen,
                    archived=view.archived,
                    **{
                        name: getattr(view, name)
                        for name in ("accounting", "vrf", "winners", "refund", "cancellation")
                        if name in wanted
                    },  # type: ignore[arg-type]
                )
            out[i] = view
        return out

    async def status_overview(self, now_ts: int) -> StatusOverview:
        self.calls["status_overview"] += 1
        return compute_overview(self.state.lotteries.values(), now_ts)

    async def list_bots(self) -> tuple[Bot, ...]:
        self.calls["list_bots"] += 1
        return tuple(self.state.bots.values())

    async def get_bot(self, operator: str) -> Bot | None:
        self.calls["get_bot"] += 1
        return self.state.bots.get(normalise_address(operator))

    async def refund_progress(self, lottery_id: int) -> RefundProgress:
        self.calls["refund_progress"] += 1
        view = self.state.lotteries.get(lottery_id)
        return RefundProgress() if view is None else view.refund

    async def cancellation(self, lottery_id: int) -> Cancellation | None:
        self.calls["cancellation"] += 1
        view = self.state.lotteries.get(lottery_id)
        return None if view is None else view.cancellation

    async def vrf_deposit_status(self) -> VrfDepositStatus:
        self.calls["vrf_deposit_status"] += 1
        return self.state.deposit

    async def feature_switch(self) -> FeatureSwitch:
        self.calls["feature_switch"] += 1
        return self._features()

    def _features(self) -> FeatureSwitch:
        """The switch as the gateway reads it: under force, no entries (they do not matter)."""
        switch = self.state.features
        if switch.force_enable_devnet:
            return FeatureSwitch(initialized=switch.initialized, force_enable_devnet=True)
        return switch

    async def lottery_status(self, lottery_id: int) -> LotteryStatusView:
        self.calls["lottery_status"] += 1
        view = self._lottery(lottery_id)
        return LotteryStatusView(
            status=view.status,
            snapshot_frozen=view.snapshot_frozen,
            primary_type=view.config.primary_type,
            tags_mask=view.config.tags_mask,
        )

    async def lottery_config(self, lottery_id: int) -> LotteryConfig:
        self.calls["lottery_config"] += 1
        return self._lottery(lottery_id).config

    async def accounting(self, lottery_id: int) -> Accounting:
        """Aborts like ``accounting_snapshot`` for a lottery without sales state (no ticket)."""
        self.calls["accounting"] += 1
        view = self.state.lotteries.get(lottery_id)
        if view is None or not (view.refund.tickets_sold or view.refund.active):
            raise self._abort(0x1202, "sales")
        return view.accounting

    async def list_active(self, *, start: int = 0, limit: int = 1000) -> tuple[int, ...]:
        self.calls["list_active"] += 1
        if limit > 1000:
            raise self._abort(0x1501, "views")
        active = sorted(
            (i for i, v in self.state.lotteries.items() if v.status == LotteryStatus.ACTIVE),
            reverse=True,  # newest first
        )
        return tuple(active[start : start + limit])

    async def lottery_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        self.calls["lottery_ids"] += 1
        return tuple(sorted(self.state.lotteries))

    async def finalized_ids(self, *, page: int = 1000) -> tuple[int, ...]:
        self.calls["finalized_ids"] += 1
        done = (
            i
            for i, v in self.state.lotteries.items()
            if v.status == LotteryStatus.FINALIZED or v.archived
        )
        return tuple(sorted(done))

    async def has_summary(self, lottery_id: int) -> bool:
        self.calls["has_summary"] += 1
        view = self.state.lotteries.get(lottery_id)
        return view is not None and (view.status == LotteryStatus.FINALIZED or view.archived)

    async def vrf_state(self, lottery_id: int) -> VrfState:
        self.calls["vrf_state"] += 1
        view = self.state.lotteries.get(lottery_id)
        return VrfState() if view is None else view.vrf

    async def winner_progress(self, lottery_id: int) -> WinnerProgress:
        self.calls["winner_progress"] += 1
        view = self.state.lotteries.get(lottery_id)
        return WinnerProgress() if view is None else view.winners

    async def price_feed(self, asset_id: int) -> PriceFeed:
        self.calls["price_feed"] += 1
        feed = self.state.feeds.get(asset_id)
        if feed is None:
            raise self._abort(0x1902, "price_feed")
        return feed

    async def payout_batch_cap(self) -> PayoutBatchCap | None:
        self.calls["payout_batch_cap"] += 1
        return self.state.cap

    async def partner_caps(self) -> tuple[PartnerCap, ...]:
        self.calls["partner_caps"] += 1
        return tuple(self.state.partner_caps)

    async def premium_caps(self) -> tuple[PremiumCap, ...]:
        self.calls["premium_caps"] += 1
        return tuple(self.state.premium_caps)

    async def dual_write(self) -> DualWrite | None:
        self.calls["dual_write"] += 1
        return self.state.dual_write

    async def summary_hash(self, lottery_id: int) -> str | None:
        self.calls["summary_hash"] += 1
        if not await self.has_summary(lottery_id):
            return None
        return self.state.summary_hashes.get(lottery_id, "0x" + f"{lottery_id:064x}")

    # -- ChainGateway: events -----------------------------------------------------------------

    async def events(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage:
        """Oldest first, ``limit`` per page; ``cursor`` is the index of the next event."""
        self.calls["events"] += 1
        if not re.fullmatch(
            r"(0x[0-9a-fA-F]{1,64}::)?[A-Za-z_]\w*::[A-Za-z_][\w<>,: ]*", event_type
        ):
            raise ValueError(f"not an event type: {event_type!r}")
        if not 1 <= limit <= 100:
            raise ValueError("limit must be 1..100")
        wanted = event_type if event_type.startswith("0x") else f"{self.package}::{event_type}"
        low, high = start_height or 0, end_height if end_height is not None else 2**63
        matching = [
            (n, e)
            for n, e in enumerate(self.event_log)
            if e.type == wanted and low <= e.block_height < high
        ]
        first = int(cursor) if cursor else 0
        page = [(n, e) for n, e in matching if n >= first][:limit]
        more = [n for n, _ in matching if n > page[-1][0]] if page else []
        return EventPage(events=tuple(e for _, e in page), cursor=str(more[0]) if more else None)

    def _record(self, emitted: Sequence[tuple[str, dict[str, object]]], *, tx_hash: str) -> None:
        for event, data in emitted:
            full = f"{self.package}::{event}"
            number = sum(e.type == full for e in self.event_log)
            self.event_log.append(
                ChainEvent(
                    type=full,
                    data=dict(data),
                    block_height=self.height,
                    tx_hash=tx_hash,
                    sequence_number=number,
                )
            )

    # -- ChainGateway: transactions -----------------------------------------------------------

    async def account_sequence(self, address: str, *, highest: bool = False) -> int:
        self.calls["account_sequence"] += 1
        return self.sequences.get(normalise_address(address), 0)

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
        if call.needs_operator and not secondary:
            raise ValueError(f"{call.function} needs the operator as a secondary signer")
        body = {
            "call": call_to_json(call),
            "sender": sender.address,
            "seq": sequence_number,
            "exp": expires_at,
            "secondary": [s.address for s in secondary],
        }
        payload = json.dumps(body, sort_keys=True).encode()
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
        self, *, call: Call, sender: Signer, sequence_number: int, secondary: Sequence[Signer] = ()
    ) -> SimResult:
        self.calls["simulate"] += 1
        self._check_sequence(sender.address, sequence_number)
        self.simulated.append(call)
        trial = copy.deepcopy(self.state)
        trial.emitted = []
        try:
            self._apply(trial, call, sender.address, tuple(s.address for s in secondary))
        except Abort as exc:
            abort = self._abort(exc.code, exc.module, address=exc.address)
            return SimResult(success=False, vm_status=abort.vm_status, abort=abort)
        return SimResult(success=True, vm_status="Executed successfully")

    async def submit(self, tx: SignedTx) -> str:
        self.calls["submit"] += 1
        self.submitted.append(tx)
        if self.submit_faults:
            error, accepted = self.submit_faults.pop(0)
            if accepted:
                self._accept(tx)
            raise error
        self._accept(tx)
        return tx.tx_hash

    async def status(self, tx_hash: str) -> TxOutcome:
        self.calls["status"] += 1
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", tx_hash):
            raise ValueError(f"not a transaction hash: {tx_hash!r}")
        tx_hash = tx_hash.lower()
        if tx_hash in self.outcomes:
            return self.outcomes[tx_hash]
        if tx_hash in self.mempool:
            return TxOutcome(tx_hash=tx_hash, state=TxStatus.PENDING)
        return TxOutcome(tx_hash=tx_hash, state=TxStatus.NOT_FOUND)

    async def wait_for(
        self,
        tx_hash: str,
        *,
        timeout: float,  # noqa: ASYNC109 - the ChainGateway protocol's signature
        poll_interval: float = 0.25,
    ) -> TxOutcome:
        """The final outcome; ``RpcTimeout`` if there is none (time does not pass by itself
        here, so waiting cannot help)."""
        outcome = await self.status(tx_hash)
        if not outcome.final:
            await asyncio.sleep(0)
            raise RpcTimeout(f"transaction {tx_hash} not final after {timeout}s ({outcome.state})")
        return outcome

    # -- execution -----------------------------------------------------------------------------

    def _check_sequence(self, sender: str, number: int) -> None:
        """A node's sequence-number admission: behind the account, or too far ahead, is a race."""
        current = self.sequences.get(sender, 0)
        if number < current:
            raise SequenceRace(f"SEQUENCE_NUMBER_TOO_OLD: at {current}, got {number}")
        if number >= current + MAX_SEQUENCE_GAP:
            raise SequenceRace(f"SEQUENCE_NUMBER_TOO_NEW: at {current}, got {number}")

    def _accept(self, tx: SignedTx) -> None:
        if tx.tx_hash in self.mempool:
            return  # the same bytes while they wait: the same answer
        self._check_sequence(tx.sender, tx.sequence_number)  # executed bytes again: too old
        if any(
            p.sender == tx.sender and p.sequence_number == tx.sequence_number
            for p in self.mempool.values()
        ):
            raise SequenceRace(f"SEQUENCE_NUMBER_ALREADY_PENDING: {tx.sequence_number}")
        if tx.expires_at < self.wall():
            raise RpcRejected("transaction expired", status=400)
        self.mempool[tx.tx_hash] = tx
        self._drain()

    def _drain(self) -> None:
        progressed = True
        while progressed and not self.hold:
            progressed = False
            for tx_hash, tx in list(self.mempool.items()):
                if tx.expires_at < self.wall():
                    del self.mempool[tx_hash]  # expired in the mempool: never executes
                    continue
                if tx.sequence_number != self.sequences.get(tx.sender, 0):
                    continue
                del self.mempool[tx_hash]
                self.sequences[tx.sender] = tx.sequence_number + 1
                self.height += 1
                self.state.emitted = []
                before = copy.deepcopy(self.state)
                try:
                    self._apply(self.state, tx.call, tx.sender, tx.secondary)
                except Abort as exc:
                    self.state = before  # all or nothing
                    abort = self._abort(exc.code, exc.module, address=exc.address)
                    self.outcomes[tx_hash] = TxOutcome(
                        tx_hash=tx_hash,
                        state=TxStatus.FAILED,
                        vm_status=abort.vm_status,
                        abort=abort,
                        block_height=self.height,
                    )
                else:
                    self._record(self.state.emitted, tx_hash=tx_hash)
                    self.outcomes[tx_hash] = TxOutcome(
                        tx_hash=tx_hash,
                        state=TxStatus.SUCCESS,
                        vm_status="Executed successfully",
                        block_height=self.height,
                    )
                progressed = True

    def _apply(
        self, state: ChainState, call: Call, sender: str, secondary: Sequence[str] = ()
    ) -> None:
        if (call.module, call.function) == ("automation", "rotate_bot"):
            _rotate_bot(state, call, sender, secondary)
            return
        if call.module == "automation":
            _automation(state, call, sender)
            return
        if sender != state.admin:
            raise Abort(0x1202, call.module)
        handler = self.handlers.get((call.module, call.function))
        if handler is None:
            raise AssertionError(f"the fake chain has no handler for {call.render()}")
        handler(state, call)


def _rotate_bot(state: ChainState, call: Call, sender: str, secondary: Sequence[str]) -> None:
    """``rotate_bot`` (admin, with the operator co-signing): a new policy, the slot emptied."""
    if sender != state.admin:
        raise Abort(0x1A01)
    operator = secondary[0]
    bot = state.bots.get(operator)
    if bot is None:
        raise Abort(0x1A03)
    cron, allowed, timelock, max_failures, expires_at = (arg(call, i) for i in range(5))
    state.bots[operator] = replace(
        bot,
        cron_spec=bytes(cron),  # type: ignore[arg-type]
        allowed_actions=tuple(allowed),  # type: ignore[arg-type]
        timelock_secs=int(timelock),  # type: ignore[call-overload]
        max_failures=int(max_failures),  # type: ignore[call-overload]
        expires_at=int(expires_at),  # type: ignore[call-overload]
        pending_action_hash=b"",
        pending_execute_after=0,
        last_action_hash=b"",
        has_pending=False,
    )
    state.emit("history::AutomationKeyRotatedEvent", operator=operator)


def _automation(state: ChainState, call: Call, sender: str) -> None:
    """announce_dry_run / record_success / record_failure with the checks of §1.5;
    report_call_rejected: the bot's cap, then only its event (no other check, no state change)."""
    bot = state.bots.get(sender)
    if bot is None:
        raise Abort(0x1A03)
    if call.function == "report_call_rejected":
        action_id, digest, reason = int(arg(call, 0)), bytes(arg(call, 1)), int(arg(call, 2))  # type: ignore[call-overload, arg-type]
        state.emit(
            "history::AutomationCallRejectedEvent",
            operator=sender,
            action_id=str(action_id),
            action_hash="0x" + digest.hex(),
            reason_code=str(reason),
        )
        return
    action_id, digest, now = int(arg(call, 0)), bytes(arg(call, 1)), int(arg(call, 2))  # type: ignore[call-overload, arg-type]
    if not digest:
        raise Abort(0x1A0B)
    if now > bot.expires_at:
        raise Abort(0x1A04)
    if bot.failure_count >= bot.max_failures:
        raise Abort(0x1A06)
    if action_id not in bot.allowed_actions:
        raise Abort(0x1A05)
    if call.function == "announce_dry_run":
        execute_after = int(arg(call, 3))  # type: ignore[call-overload]
        if bot.timelock_secs == 0:
            raise Abort(0x1A07)
        if bot.pending_action_hash:
            raise Abort(0x1A08)
        if execute_after < now + bot.timelock_secs:
            raise Abort(0x1A07)
        state.bots[sender] = replace(
            bot, pending_action_hash=digest, pending_execute_after=execute_after, has_pending=True
        )
        state.emit("history::AutomationDryRunPlannedEvent", operator=sender)
        return
    if bot.timelock_secs > 0:
        if not bot.pending_action_hash:
            raise Abort(0x1A0A)
        if digest != bot.pending_action_hash:
            raise Abort(0x1A09)
        if now < bot.pending_execute_after:
            raise Abort(0x1A07)
    cleared = replace(
        bot,
        pending_action_hash=b"",
        pending_execute_after=0,
        has_pending=False,
        last_action_ts=now,
        last_action_hash=digest,
    )
    if call.function == "record_success":
        state.bots[sender] = replace(
            cleared, failure_count=0, success_streak=bot.success_streak + 1,
            reputation_score=bot.reputation_score + 1,
        )  # fmt: skip
    elif call.function == "record_failure":
        state.bots[sender] = replace(
            cleared, failure_count=bot.failure_count + 1, success_streak=0,
            reputation_score=max(0, bot.reputation_score - 1),
        )  # fmt: skip
    else:
        raise AssertionError(f"unexpected automation call {call.function}")
    state.emit("history::AutomationTickEvent", operator=sender)
