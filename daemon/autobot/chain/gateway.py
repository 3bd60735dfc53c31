"""The chain gateway contract: typed reads, signed transactions, outcomes.

``ChainGateway`` is what the rest of the daemon knows about the chain. ``SupraGateway``
(``chain/supra.py``) implements it over ``supra_sdk`` and the node's RPC v3; tests may use it
against the in-process localnet or write fakes of this protocol.

Errors (``autobot.errors``): every method raises only ``TransientError`` subclasses (timeouts,
unavailable or rate-limited endpoints, sequence races) and ``PermanentError`` subclasses
(``RpcRejected``, ``RpcProtocolError``, ``ChainMismatch``, ``MoveAbort`` for a view that aborts).
Transaction *outcomes* are values, not exceptions: a simulated or executed call that aborts comes
back as a ``SimResult``/``TxOutcome`` carrying the ``MoveAbort``; ``raise_for_abort()`` turns it
into ``NotYet`` (docs/decisions.md §9 "not yet" codes) or ``MoveAbort`` where the caller wants that.

Sequence numbers are the caller's (docs/decisions.md §3: one writer per account). The gateway never
fetches one behind the caller's back; ``account_sequence`` is there to resync after a
``SequenceRace``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from autobot.chain.aborts import NOT_YET_CODES
from autobot.chain.signer import Signer
from autobot.domain.bots import Bot
from autobot.domain.calls import Call
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatusView
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PremiumCap
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import LotteryView, Snapshot, StatusOverview
from autobot.domain.values import ChainTime
from autobot.errors import MoveAbort, NotYet

__all__ = [
    "ChainEvent",
    "ChainGateway",
    "EventPage",
    "SignedTx",
    "SimResult",
    "TxOutcome",
    "TxStatus",
    "raise_for_abort",
]


def raise_for_abort(abort: MoveAbort) -> None:
    """Raise ``NotYet(abort)`` for a "not yet" code (retry later), else ``abort`` itself."""
    if abort.code in NOT_YET_CODES:
        raise NotYet(abort)
    raise abort


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainEvent:
    """One event as the node reports it; ``data`` is node JSON (u64 as strings, bytes as hex)."""

    type: str
    data: Mapping[str, object]
    block_height: int
    tx_hash: str
    sequence_number: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage:
    """A page of events; ``cursor`` (the node's ``x-supra-cursor``) asks for the next page."""

    events: tuple[ChainEvent, ...]
    cursor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedTx:
    """A signed transaction ready to submit: the exact BCS bytes and the hash they give.

    ``tx_hash`` is ``0x`` + sha3-256 of ``payload`` (the localnet's definition); the node's own
    answer to ``submit`` is authoritative where it differs.
    """

    payload: bytes = field(repr=False)
    tx_hash: str
    sender: str
    sequence_number: int
    expires_at: int
    call: Call
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    """The node's simulation of a call: success, or the abort that would happen."""

    success: bool
    vm_status: str
    gas_used: int = 0
    abort: MoveAbort | None = None
    events: tuple[ChainEvent, ...] = ()

    def raise_for_abort(self) -> None:
        """Raise ``NotYet``/``MoveAbort`` if the simulation aborted; nothing on success.

        A failure that is not a Move abort (out of gas, an invariant violation) raises a
        ``MoveAbort`` with code 0 and name ``unknown(0x0)`` so it is still never submitted.
        """
        if self.success:
            return
        if self.abort is not None:
            raise_for_abort(self.abort)
        raise MoveAbort(code=0, name="unknown(0x0)", module=None, vm_status=self.vm_status)


class TxStatus(enum.StrEnum):
    """Where a submitted transaction is, as far as the node knows (the journal's ``TxState`` is
    what autobot concluded from it: signed, submitted, committed, aborted, dropped)."""

    NOT_FOUND = "not_found"  # the node has not seen the hash (yet)
    PENDING = "pending"  # Pending or PendingAfterExecution
    SUCCESS = "success"
    FAILED = "failed"  # executed and aborted (or failed otherwise): sequence number consumed
    INVALID = "invalid"  # discarded before execution: sequence number not consumed


@dataclass(frozen=True, slots=True, kw_only=True)
class TxOutcome:
    """The state of one transaction hash."""

    tx_hash: str
    state: TxStatus
    vm_status: str = ""
    abort: MoveAbort | None = None
    block_height: int | None = None
    gas_used: int = 0
    events: tuple[ChainEvent, ...] = ()

    @property
    def final(self) -> bool:
        """Success, failure or invalid: polling again will not change the answer."""
        return self.state in (TxStatus.SUCCESS, TxStatus.FAILED, TxStatus.INVALID)


class ChainGateway(Protocol):
    """Everything autobot does with the chain."""

    @property
    def chain_id(self) -> int: ...

    @property
    def package(self) -> str:
        """The package (and admin) address, normalised."""
        ...

    # -- time and snapshot ------------------------------------------------------------------

    async def chain_time(self) -> ChainTime:
        """The latest block's time and height (never older than a value returned before)."""
        ...

    async def snapshot(
        self, *, lottery_ids: Collection[int], asset_ids: Collection[int] = ()
    ) -> Snapshot:
        """Chain time first, then every view, for the given lotteries and price feeds."""
        ...

    async def lottery_views(
        self, lottery_ids: Collection[int], *, scoped: bool = False
    ) -> Mapping[int, LotteryView]:
        """Every per-lottery view of ``lottery_ids`` (no chain time, no aggregate views);
        ``scoped``: the status first, then only the views that status can make non-default."""
        ...

    # -- typed views ------------------------------------------------------------------------

    async def status_overview(self, now_ts: int) -> StatusOverview: ...
    async def list_bots(self) -> tuple[Bot, ...]: ...
    async def get_bot(self, operator: str) -> Bot | None: ...
    async def refund_progress(self, lottery_id: int) -> RefundProgress: ...
    async def cancellation(self, lottery_id: int) -> Cancellation | None: ...
    async def vrf_deposit_status(self) -> VrfDepositStatus: ...
    async def lottery_status(self, lottery_id: int) -> LotteryStatusView: ...
    async def lottery_config(self, lottery_id: int) -> LotteryConfig: ...
    async def accounting(self, lottery_id: int) -> Accounting: ...
    async def list_active(self, *, start: int = 0, limit: int = 1000) -> tuple[int, ...]: ...
    async def lottery_ids(self, *, page: int = 1000) -> tuple[int, ...]: ...
    async def finalized_ids(self, *, page: int = 1000) -> tuple[int, ...]: ...
    async def has_summary(self, lottery_id: int) -> bool: ...
    async def vrf_state(self, lottery_id: int) -> VrfState: ...
    async def winner_progress(self, lottery_id: int) -> WinnerProgress: ...
    async def price_feed(self, asset_id: int) -> PriceFeed: ...
    async def payout_batch_cap(self) -> PayoutBatchCap | None: ...
    async def feature_switch(self) -> FeatureSwitch:
        """The package's feature switch (``Snapshot.features``; no registry: no check)."""
        ...

    async def partner_caps(self) -> tuple[PartnerCap, ...]: ...
    async def premium_caps(self) -> tuple[PremiumCap, ...]: ...
    async def dual_write(self) -> DualWrite | None: ...
    async def summary_hash(self, lottery_id: int) -> str | None: ...

    # -- transactions -----------------------------------------------------------------------

    async def account_sequence(self, address: str, *, highest: bool = False) -> int:
        """The account's next sequence number (0 for an unknown account) as the trusted
        endpoints answer it: the lowest answer (to resync), or with ``highest`` the highest (a
        number none of them has seen used is the proof a dropped transaction needs)."""
        ...

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
        """Build and sign; pure (no I/O). ``secondary`` co-signs a multi-agent call;
        ``gas_used`` (the call's simulation) sets ``max_gas_amount`` (``None``: the cap)."""
        ...

    async def simulate(
        self,
        *,
        call: Call,
        sender: Signer,
        sequence_number: int,
        secondary: Sequence[Signer] = (),
    ) -> SimResult: ...

    async def submit(self, tx: SignedTx) -> str:
        """Submit; returns the node's transaction hash. ``SequenceRace`` → resync and re-sign."""
        ...

    async def status(self, tx_hash: str) -> TxOutcome: ...

    async def wait_for(
        self,
        tx_hash: str,
        *,
        timeout: float,  # noqa: ASYNC109 - the whole wait's deadline, polled in a loop
        poll_interval: float = 0.25,
    ) -> TxOutcome:
        """Poll ``status`` until final; ``RpcTimeout`` if still not final after ``timeout``."""
        ...

    # -- events -----------------------------------------------------------------------------

    async def events(
        self,
        event_type: str,
        *,
        start_height: int | None = None,
        end_height: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventPage: ...

    async def aclose(self) -> None: ...
