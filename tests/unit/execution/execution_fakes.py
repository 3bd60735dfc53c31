"""A fake chain for the execution pipeline's unit tests (docs/conventions.md §14: fakes over mocks).

``FakeChain`` implements the ``ChainGateway`` methods the pipeline uses over a small in-memory
model of ``lottery_multi``: bots with the automation checks of docs/package.md §1.5 (announce, record),
lotteries, per-account sequence numbers with a mempool that executes transactions in sequence
order, and admin-call effects a test registers (``on``). Simulation runs the same code on a copy.

Fault injection: ``submit_faults`` (exceptions raised by the next ``submit`` calls, optionally after
the node accepted the bytes: a lost response), ``hold`` (accept but do not execute, as a slow
node), ``forget`` (a node that lost a pending transaction).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from autobot.chain.aborts import abort_name
from autobot.chain.gateway import SignedTx, SimResult, TxOutcome, TxStatus
from autobot.chain.signer import Signer
from autobot.clock import FakeClock
from autobot.domain.bots import Bot
from autobot.domain.calls import Call
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import LotteryConfig, LotteryStatus
from autobot.domain.payouts import VrfDepositStatus
from autobot.domain.snapshot import LotteryView, Snapshot
from autobot.domain.values import ChainTime
from autobot.errors import MoveAbort, RpcRejected, SequenceRace
from autobot.execution import (
    ActionSteps,
    Bookkeeper,
    ExecutionMetrics,
    Executor,
    Guards,
    Router,
    Sequencer,
)
from autobot.execution.transcripts import call_to_json
from autobot.journal.store import SqliteJournal


class Abort(Exception):
    def __init__(self, code: int, module: str = "automation") -> None:
        super().__init__(f"abort 0x{code:x}")
        self.code = code
        self.module = module


Handler = Callable[["ChainState", Call], None]


@dataclass
class ChainState:
    admin: str
    now: int
    bots: dict[str, Bot] = field(default_factory=dict)
    lotteries: dict[int, LotteryView] = field(default_factory=dict)
    feeds: dict[int, PriceFeed] = field(default_factory=dict)
    deposit: VrfDepositStatus = field(default_factory=VrfDepositStatus)

    def lottery(self, lottery_id: int) -> LotteryView:
        return self.lotteries[lottery_id]

    def set_lottery(self, lottery_id: int, **changes: object) -> None:
        self.lotteries[lottery_id] = replace(self.lotteries[lottery_id], **changes)  # type: ignore[arg-type]


def arg(call: Call, index: int) -> object:
    return call.args[index].value


def _auto_close(state: ChainState, call: Call) -> None:
    lottery_id, status = int(arg(call, 0)), int(arg(call, 1))  # type: ignore[call-overload]
    view = state.lotteries.get(lottery_id)
    if view is None:
        raise Abort(0x1202, "lottery_registry")
    if not view.status.can_become(LotteryStatus(status)):
        raise Abort(0x1204, "lottery_registry")
    state.set_lottery(lottery_id, status=LotteryStatus(status))


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


def _archive(state: ChainState, call: Call) -> None:
    state.set_lottery(int(arg(call, 0)), archived=True)  # type: ignore[call-overload]


def _clear_clamp(state: ChainState, call: Call) -> None:
    asset_id = int(arg(call, 0))  # type: ignore[call-overload]
    feed = state.feeds.get(asset_id)
    if feed is None:
        raise Abort(0x1902, "price_feed")
    if not feed.clamp_active:
        raise Abort(0x1908, "price_feed")
    state.feeds[asset_id] = replace(feed, clamp_active=False, last_updated_ts=int(arg(call, 1)))  # type: ignore[call-overload]


DEFAULT_HANDLERS: dict[tuple[str, str], Handler] = {
    ("lottery_registry", "advance_status"): _auto_close,
    ("payouts", "force_refund_batch_admin"): _refund_batch,
    ("payouts", "archive_canceled_lottery_admin"): _archive,
    ("price_feed", "clear_clamp"): _clear_clamp,
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
    """The ``ChainGateway`` subset the pipeline uses, over ``ChainState``."""

    def __init__(self, *, admin: Signer, now: int = 1_000, wall: Callable[[], float]) -> None:
        self.state = ChainState(admin=admin.address, now=now)
        self.height = 1
        self.sequences: dict[str, int] = {}
        self.handlers: dict[tuple[str, str], Handler] = dict(DEFAULT_HANDLERS)
        self.mempool: dict[str, SignedTx] = {}
        self.outcomes: dict[str, TxOutcome] = {}
        self.submitted: list[SignedTx] = []  # every submit call, accepted or not
        self.simulated: list[Call] = []
        self.submit_faults: list[tuple[Exception, bool]] = []  # (error, accepted before raising)
        self.hold = False
        self.wall = wall

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
        self.state.now += seconds
        self.height += 1

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

    # -- ChainGateway ---------------------------------------------------------------------------

    async def chain_time(self) -> ChainTime:
        return ChainTime(seconds=self.state.now, height=self.height)

    async def snapshot(
        self, *, lottery_ids: Collection[int], asset_ids: Collection[int] = ()
    ) -> Snapshot:
        return Snapshot.build(
            now=self.state.now,
            height=self.height,
            lotteries=tuple(self.state.lotteries.values()),
            bots=tuple(self.state.bots.values()),
            feeds=tuple(self.state.feeds.values()),
            deposit=self.state.deposit,
        )

    async def get_bot(self, operator: str) -> Bot | None:
        return self.state.bots.get(operator)

    async def vrf_deposit_status(self) -> VrfDepositStatus:
        return self.state.deposit

    async def list_bots(self) -> tuple[Bot, ...]:
        return tuple(self.state.bots.values())

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> dict[int, LotteryView]:
        return {i: self.state.lotteries[i] for i in lottery_ids if i in self.state.lotteries}

    async def account_sequence(self, address: str) -> int:
        return self.sequences.get(address, 0)

    def sign(
        self,
        *,
        call: Call,
        sender: Signer,
        sequence_number: int,
        expires_at: int,
        secondary: Sequence[Signer] = (),
    ) -> SignedTx:
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
        self.simulated.append(call)
        trial = copy.deepcopy(self.state)
        try:
            self._apply(trial, call, sender.address)
        except Abort as exc:
            return SimResult(success=False, vm_status=f"abort {exc.code:#x}", abort=_abort(exc))
        return SimResult(success=True, vm_status="Executed successfully")

    async def submit(self, tx: SignedTx) -> str:
        self.submitted.append(tx)
        if self.submit_faults:
            error, accepted = self.submit_faults.pop(0)
            if accepted:
                self._accept(tx)
            raise error
        self._accept(tx)
        return tx.tx_hash

    async def status(self, tx_hash: str) -> TxOutcome:
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
        return await self.status(tx_hash)

    # -- execution -----------------------------------------------------------------------------

    def _accept(self, tx: SignedTx) -> None:
        if tx.tx_hash in self.outcomes or tx.tx_hash in self.mempool:
            return  # the same bytes again: idempotent
        expected = self.sequences.get(tx.sender, 0)
        if tx.sequence_number < expected:
            raise SequenceRace(f"sequence number too old: {tx.sequence_number} < {expected}")
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
                try:
                    self._apply(self.state, tx.call, tx.sender)
                except Abort as exc:
                    self.outcomes[tx_hash] = TxOutcome(
                        tx_hash=tx_hash, state=TxStatus.FAILED, vm_status="abort", abort=_abort(exc)
                    )
                else:
                    self.outcomes[tx_hash] = TxOutcome(tx_hash=tx_hash, state=TxStatus.SUCCESS)
                progressed = True

    def _apply(self, state: ChainState, call: Call, sender: str) -> None:
        if call.module == "automation":
            _automation(state, call, sender)
            return
        if sender != state.admin:
            raise Abort(0x1202, call.module)
        handler = self.handlers.get((call.module, call.function))
        if handler is None:
            raise AssertionError(f"the fake chain has no handler for {call.render()}")
        handler(state, call)


def _abort(exc: Abort) -> MoveAbort:
    return MoveAbort(code=exc.code, name=abort_name(exc.code), module=exc.module)


def _automation(state: ChainState, call: Call, sender: str) -> None:
    """announce_dry_run / record_success / record_failure with the checks of §1.5."""
    bot = state.bots.get(sender)
    if bot is None:
        raise Abort(0x1A03)
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


# -- the pipeline, assembled over the fake chain -------------------------------------------------

ADMIN = Signer.generate()
OPERATOR_A = Signer.generate()  # timelocked (900 s) in most tests
OPERATOR_B = Signer.generate()  # timelock 0 in most tests


@dataclass
class Rig:
    """A journal, a fake chain and the pipeline over them, as the daemon would build it."""

    path: Path
    clock: FakeClock
    chain: FakeChain
    journal: SqliteJournal
    metrics: ExecutionMetrics | None = None
    live: bool = True
    window: int = 8
    ttl_seconds: int = 60
    executor: Executor = field(init=False)
    steps: ActionSteps = field(init=False)
    book: Bookkeeper = field(init=False)
    admin: Sequencer = field(init=False)
    operators: dict[str, Sequencer] = field(init=False)

    def __post_init__(self) -> None:
        self.build()

    def sequencer(self, signer: Signer) -> Sequencer:
        return Sequencer(
            signer=signer,
            gateway=self.chain,  # type: ignore[arg-type]
            journal=self.journal,
            clock=self.clock,
            window=self.window,
            ttl_seconds=self.ttl_seconds,
            metrics=self.metrics,
        )

    def build(self) -> None:
        """(Re)build the pipeline over the same journal and chain (a daemon restart)."""
        self.admin = self.sequencer(ADMIN)
        self.operators = {s.address: self.sequencer(s) for s in (OPERATOR_A, OPERATOR_B)}
        guards = Guards(metrics=self.metrics)
        self.book = Bookkeeper(journal=self.journal, metrics=self.metrics)
        self.steps = ActionSteps(
            journal=self.journal,
            gateway=self.chain,  # type: ignore[arg-type]
            admin=self.admin,
            operators=self.operators,
            router=Router(guards=guards, operators=self.operators),
            guards=guards,
            clock=self.clock,
            live=self.live,
            book=self.book,
            metrics=self.metrics,
        )
        self.executor = Executor(
            journal=self.journal,
            gateway=self.chain,  # type: ignore[arg-type]
            steps=self.steps,
            book=self.book,
            confirm_seconds=0.0,
        )

    async def reopen(self) -> None:
        """Close and reopen the journal file, then rebuild the pipeline (crash + restart)."""
        await self.journal.close()
        self.journal = await SqliteJournal.open(self.path, clock=self.clock)
        self.build()


async def make_rig(tmp_path: Path, **kw: object) -> Rig:
    clock = FakeClock(wall=1_700_000_000.0)
    chain = FakeChain(admin=ADMIN, wall=clock.wall)
    path = tmp_path / "journal.sqlite3"
    journal = await SqliteJournal.open(path, clock=clock)
    return Rig(path=path, clock=clock, chain=chain, journal=journal, **kw)  # type: ignore[arg-type]
