"""``ViewReads``: the package's readers called as views (``[chain] reads = "views"``).

For a package redeployed with ``#[view]`` on its readers: each typed read is one ``POST
/rpc/v3/view``, decoded by ``chain/views.py``. The published package refuses them (only
``history::is_legacy_summary`` is a view there); ``chain/reads.py`` describes the default, reading
storage, and what each way costs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence

from autobot.chain import records, views
from autobot.chain.codec import obj, option, view_arguments, view_result
from autobot.chain.endpoints import Endpoint
from autobot.chain.pages import MAX_ID_PAGES, PageGuard
from autobot.chain.reads import (
    ALL_VIEWS,
    LIST_PAGE,
    SCOPED,
    Aggregates,
    first_error,
    is_archived,
    wait,
)
from autobot.chain.records import Record
from autobot.chain.rpc import Reply, RpcClient
from autobot.chain.storage import decode_json
from autobot.domain.bots import Bot
from autobot.domain.calls import U64, Address, Bool, MoveArg
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.features import E_FEATURE_UNKNOWN, Feature, FeatureMode, FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatusView
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PremiumCap
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import LotteryView, StatusOverview
from autobot.domain.values import normalise_address
from autobot.errors import MoveAbort, RpcProtocolError

__all__ = ["ViewReads"]

_E_HISTORY_MISSING = 0x1B01
_E_REGISTRY_MISSING = 0x1202  # also what sales views abort with for a lottery without sales
_E_PRICE_FEED_NOT_FOUND = 0x1902
_NO_FEATURE = 2**64 - 1
"""A feature id no entry has: ``is_enabled`` lets it through only under ``force_enable_devnet``."""


class ViewReads:
    """The package's readers called as views (a package redeployed with ``#[view]`` on them)."""

    def __init__(self, *, rpc: RpcClient, package: str, limit: asyncio.Semaphore) -> None:
        self._rpc = rpc
        self._package = normalise_address(package)
        self._limit = limit

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

        async with self._rpc.limited(self._limit):
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

    async def list_active(self, *, start: int = 0, limit: int = LIST_PAGE) -> tuple[int, ...]:
        return await self._one(views.decode_id_list, "views", "list_active", U64(start), U64(limit))

    async def lottery_ids(self) -> tuple[int, ...]:
        """Every registered lottery id, oldest first.

        The package has no "list all" view; ``list_by_all_tags(mask, from, limit)`` keeps the
        lotteries whose tags include every bit of ``mask``, which with mask 0 is all of them
        (newest first, ``limit <= 1000``). Paged until a short page, within ``PageGuard``'s
        bounds (``chain/pages.py``: a node answering full pages for ever is cut off).
        """
        return await self._id_pages(
            "list_by_all_tags", lambda start: (U64(0), U64(start), U64(LIST_PAGE))
        )

    async def finalized_ids(self) -> tuple[int, ...]:
        """Lotteries with a ``LotterySummary`` (finalized, or canceled and archived), oldest first.

        ``views::list_finalized_ids(from, limit)`` (newest first, ``limit <= 1000``), paged
        within ``PageGuard``'s bounds; an empty tuple without a history ledger.
        """
        try:
            return await self._id_pages(
                "list_finalized_ids", lambda start: (U64(start), U64(LIST_PAGE))
            )
        except MoveAbort as exc:
            if exc.code == _E_HISTORY_MISSING:
                return ()
            raise

    async def _id_pages(
        self, function: str, args: Callable[[int], Sequence[MoveArg]]
    ) -> tuple[int, ...]:
        """An id listing read page by page; each page must bring ids not read before, and the
        pages are bounded (``PageGuard``); a breach scores the answering endpoint down."""
        what = f"views::{function}"
        guard = PageGuard(what, self._rpc.pool, max_pages=MAX_ID_PAGES)
        found: set[int] = set()
        start = 0
        while True:
            body = {
                "function": f"{self._package}::views::{function}",
                "type_arguments": [],
                "arguments": view_arguments(args(start)),
            }

            def run(reply: Reply) -> tuple[tuple[int, ...], Endpoint | None]:
                ids = views.decode_id_list(view_result(reply.json(what), 1, what)[0])
                return ids, reply.endpoint

            async with self._rpc.limited(self._limit):
                ids, endpoint = await self._rpc.fetch(
                    "POST", "rpc/v3/view", what=what, decode=run, json_body=body
                )
            guard.page(endpoint, cursor=None, items=ids, seen=found)
            found.update(ids)
            if len(ids) < LIST_PAGE:
                return tuple(sorted(found))
            start += LIST_PAGE

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

    async def _enabled(self, feature_id: int, *, premium: bool) -> bool:
        return await self._one(
            views.decode_flag, "feature_switch", "is_enabled", U64(feature_id), Bool(premium)
        )

    async def feature_switch(self) -> FeatureSwitch:
        """The feature switch through ``feature_switch::is_enabled(feature_id, has_premium)``:
        first for an id no feature has — it aborts ``E_REGISTRY_MISSING`` without a registry
        (never initialised), answers true only under ``force_enable_devnet``, and aborts
        ``E_FEATURE_UNKNOWN`` otherwise — then, unless forced, for every ``Feature`` (true:
        ENABLED_ALL; false, but true with premium: PREMIUM_ONLY; false: DISABLED;
        ``E_FEATURE_UNKNOWN``: no entry). The same value ``StorageReads`` reads from storage."""
        try:
            forced = await self._enabled(_NO_FEATURE, premium=False)
        except MoveAbort as exc:
            if exc.module == "feature_switch" and exc.code == _E_REGISTRY_MISSING:
                return FeatureSwitch()
            if exc.module != "feature_switch" or exc.code != E_FEATURE_UNKNOWN:
                raise
            forced = False
        if forced:
            return FeatureSwitch(initialized=True, force_enable_devnet=True)
        async with first_error() as group:
            tasks = {int(f): group.create_task(self._mode(int(f))) for f in Feature}
        modes = {i: m for i, t in tasks.items() if (m := t.result()) is not None}
        return FeatureSwitch(initialized=True, modes=modes)

    async def _mode(self, feature_id: int) -> int | None:
        try:
            if await self._enabled(feature_id, premium=False):
                return int(FeatureMode.ENABLED_ALL)
        except MoveAbort as exc:
            if exc.module == "feature_switch" and exc.code == E_FEATURE_UNKNOWN:
                return None
            raise
        if await self._enabled(feature_id, premium=True):
            return int(FeatureMode.PREMIUM_ONLY)
        return int(FeatureMode.DISABLED)

    async def partner_caps(self) -> tuple[PartnerCap, ...]:
        found = await self._one(
            _struct_list("roles::PartnerPayoutCap"), "roles", "list_partner_caps"
        )
        return tuple(records.partner_cap(r) for r in found)

    async def premium_caps(self) -> tuple[PremiumCap, ...]:
        found = await self._one(
            _struct_list("roles::PremiumAccessCap"), "roles", "list_premium_caps"
        )
        return tuple(records.premium_cap(r) for r in found)

    async def dual_write(self) -> DualWrite | None:
        """``pending_expected_hashes``, then each one's ``dual_write_status`` (the flags come
        with them, or from ``dual_write_flags``). The views cannot tell "no control" from a
        disabled empty one: both answer as a disabled empty control (``None``)."""
        ids = await self._one(views.decode_id_list, "legacy_bridge", "pending_expected_hashes")
        async with first_error() as group:
            flags = group.create_task(
                self._one(_dual_write_status, "legacy_bridge", "dual_write_flags")
            )
            tasks = [
                group.create_task(
                    self._one(_dual_write_status, "legacy_bridge", "dual_write_status", U64(i))
                )
                for i in ids
            ]
        enabled, on_mismatch, on_missing, _ = flags.result()
        expected = {i: h for i, t in zip(ids, tasks, strict=True) if (h := t.result()[3])}
        if not (enabled or on_mismatch or on_missing or expected):
            return None
        return DualWrite(
            enabled=enabled,
            abort_on_mismatch=on_mismatch,
            abort_on_missing=on_missing,
            expected=expected,
        )

    async def summary_hash(self, lottery_id: int) -> str | None:
        try:
            raw = await self.view("views", "get_lottery_summary", (U64(lottery_id),))
        except MoveAbort as exc:
            if exc.module == "table" or exc.code == _E_HISTORY_MISSING:
                return None
            raise
        return records.summary_hash(decode_json("history::LotterySummary", raw[0]))

    async def _accounting_or_zero(self, lottery_id: int) -> Accounting:
        """``accounting_snapshot`` aborts ``E_REGISTRY_MISSING`` in ``sales`` for a lottery that
        has no sales state (no ticket sold yet): its accounting is all zeros."""
        try:
            return await self.accounting(lottery_id)
        except MoveAbort as exc:
            if exc.module == "sales" and exc.code == _E_REGISTRY_MISSING:
                return Accounting()
            raise

    async def _feed_or_none(self, asset_id: int) -> PriceFeed | None:
        try:
            return await self.price_feed(asset_id)
        except MoveAbort as exc:
            if exc.code == _E_PRICE_FEED_NOT_FOUND:
                return None
            raise

    async def lottery_view(self, lottery_id: int, *, scoped: bool = False) -> LotteryView:
        """Every view of one lottery (``scoped``: the status first, then only the views its
        status can make non-default, ``SCOPED``)."""
        wanted: Collection[str] = ALL_VIEWS
        reads: dict[str, Callable[[int], Awaitable[object]]] = {
            "config": self.lottery_config,
            "accounting": self._accounting_or_zero,
            "vrf": self.vrf_state,
            "winners": self.winner_progress,
            "refund": self.refund_progress,
            "cancellation": self.cancellation,
        }
        async with first_error() as group:
            status_task = group.create_task(self.lottery_status(lottery_id))
            if scoped:
                wanted = SCOPED[(await status_task).status]
            tasks = {name: group.create_task(wait(reads[name](lottery_id))) for name in wanted}
        status = status_task.result()
        return LotteryView(
            lottery_id=lottery_id,
            status=status.status,
            snapshot_frozen=status.snapshot_frozen,
            archived=await is_archived(status.status, lottery_id, self.has_summary),
            **{name: task.result() for name, task in tasks.items()},  # type: ignore[arg-type]
        )

    async def aggregates(self, asset_ids: Collection[int]) -> Aggregates:
        async with first_error() as group:
            bots = group.create_task(self.list_bots())
            deposit = group.create_task(self.vrf_deposit_status())
            cap = group.create_task(self.payout_batch_cap())
            feeds = [group.create_task(self._feed_or_none(a)) for a in sorted(set(asset_ids))]
        return (
            bots.result(),
            deposit.result(),
            cap.result(),
            [f for t in feeds if (f := t.result()) is not None],
        )


def _results(results: list[object]) -> list[object]:
    return results


def _struct_list(struct: str) -> Callable[[object], list[Record]]:
    """A view answering ``vector<struct>``, decoded strictly by the struct's layout."""

    def decode(raw: object) -> list[Record]:
        if not isinstance(raw, list):
            raise RpcProtocolError(f"{struct} list: expected an array, got {type(raw).__name__}")
        return [decode_json(struct, item) for item in raw]

    return decode


def _dual_write_status(raw: object) -> tuple[bool, bool, bool, str | None]:
    """``DualWriteStatus{enabled, abort_on_mismatch, abort_on_missing, expected_hash}``."""
    path = "dual_write_status"
    body = obj(raw, path)
    if set(body) != {"enabled", "abort_on_mismatch", "abort_on_missing", "expected_hash"}:
        raise RpcProtocolError(f"{path}: unexpected fields {sorted(body)}")
    flags = [body[n] for n in ("enabled", "abort_on_mismatch", "abort_on_missing")]
    if not all(isinstance(f, bool) for f in flags):
        raise RpcProtocolError(f"{path}: flags must be booleans")
    inner = option(body["expected_hash"], f"{path}.expected_hash")
    if inner is not None and not (isinstance(inner, str) and inner.startswith("0x")):
        raise RpcProtocolError(f"{path}.expected_hash: expected 0x hex")
    return (
        bool(flags[0]),
        bool(flags[1]),
        bool(flags[2]),
        None if inner is None else str(inner).lower(),
    )
