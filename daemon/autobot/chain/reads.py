"""How the gateway reads the package: from its storage, or through its views (``[chain] reads``).

A Supra node executes through ``POST /rpc/v3/view`` only functions marked ``#[view]``, and the
published ``lottery_multi`` marks none of the readers autobot needs (docs/package.md §0, §10.4).
So by default (``reads = "storage"``, ``StorageReads``) autobot reads the package the way an indexer
does: its resources at the package address (``GET /rpc/v3/accounts/{package}/resources/{type}``, in
BCS) and the native table items they point to (``POST /rpc/v2/tables/{handle}/item``, in JSON: the
node offers no BCS there), decoded strictly (``chain/storage.py``) and turned into what each view
would answer (``chain/records.py``). ``ViewReads`` (``reads = "views"``, ``chain/view_reads.py``)
calls the readers as views, for a package redeployed with ``#[view]`` on them.

Both answer the same typed reads with the same values and the same errors; the contract suite
(``tests/contract/``) runs one set of tests against both and against the unit tests' fake. What
each costs, in requests:

======================  ==========================  =========================================
read                    storage                     views
======================  ==========================  =========================================
a lottery, every view   5 items (+1 summary when    7 views (+1 summary when terminal)
                        terminal), in parallel
a lottery, ``scoped``   the ``Lottery`` item and    the status, then the views its status can
                        its sales state, then the   make non-default (``SCOPED``)
                        records its status can
                        make non-default
bots, cap, deposit      one resource each           one view each (the deposit's config:
                                                    its resource, no reader returns it)
the feature switch      its resource (+ an item     a probe view (+ one or two per feature
                        per feature unless forced)  unless forced)
a price feed            its item (+ the registry    one view
                        resource, once per sweep)
``lottery_ids``,        one resource (BCS)          a view per 1000 ids
``finalized_ids``
``status_overview``,    every lottery's records     one view (the node loops)
``list_active``         (O(lotteries): not per
                        sweep)
activity (both modes)   the resources' event-handle counters and registry lengths
======================  ==========================  =========================================

A native table's handle never changes while its resource exists (the package creates each
resource once and never removes one), so handles are remembered from any read of their resource.
A missing resource or table item answers 404 ``ErrResp``: for records created on first use that
is the view's default (§6a), never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from typing import Final, Protocol

from autobot.chain import records
from autobot.chain.layouts import NATIVE_TABLES, event_handles
from autobot.chain.records import Record, view_abort
from autobot.chain.responses import parse_json
from autobot.chain.rpc import Reply, RpcClient
from autobot.chain.storage import decode_bcs, decode_json
from autobot.domain.bots import Bot
from autobot.domain.draws import VrfState, WinnerProgress
from autobot.domain.features import Feature, FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.lotteries import Accounting, LotteryConfig, LotteryStatus, LotteryStatusView
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.playbook import DualWrite, PartnerCap, PremiumCap
from autobot.domain.refunds import Cancellation, RefundProgress
from autobot.domain.snapshot import ChainActivity, LotteryView, StatusOverview, compute_overview
from autobot.domain.values import normalise_address
from autobot.errors import MoveAbort, RpcProtocolError

__all__ = [
    "ACTIVITY_RESOURCES",
    "ALL_VIEWS",
    "LIST_PAGE",
    "READS",
    "SCOPED",
    "Aggregates",
    "RpcStorage",
    "StorageReads",
    "StorageSource",
    "first_error",
    "is_archived",
    "wait",
]

READS: Final = ("storage", "views")
"""The values of ``[chain] reads``."""

BCS_MEDIA = "application/x-bcs"
LIST_PAGE = 1000
"""The views' ``limit`` maximum (``E_PAGINATION_LIMIT`` above it)."""
E_PAGINATION_LIMIT = 0x1501

ALL_VIEWS = frozenset({"config", "accounting", "vrf", "winners", "refund", "cancellation"})
SCOPED: Mapping[LotteryStatus, frozenset[str]] = {
    # the package only writes draw state from the first request (CLOSING on), winner state from
    # the first compute (DRAWN on), a cancellation record with status CANCELED. Tickets sold come
    # with the refund progress, and the accounting with them (the same sales state: no request
    # more from storage), for the accounting reconciliation (``planning/accounting.py``).
    LotteryStatus.DRAFT: frozenset({"config", "refund", "accounting"}),
    LotteryStatus.ACTIVE: frozenset({"config", "refund", "accounting"}),
    LotteryStatus.CLOSING: frozenset({"config", "refund", "accounting", "vrf"}),
    LotteryStatus.DRAW_REQUESTED: frozenset({"config", "refund", "accounting", "vrf"}),
    LotteryStatus.DRAWN: frozenset({"config", "refund", "accounting", "vrf", "winners"}),
    LotteryStatus.PAYOUT: frozenset({"config", "refund", "accounting", "vrf", "winners"}),
    LotteryStatus.FINALIZED: frozenset({"config", "refund", "accounting"}),
    LotteryStatus.CANCELED: ALL_VIEWS,
}
"""The views a ``scoped`` read asks for besides the status (``lottery_views``)."""

ACTIVITY_RESOURCES = (
    "lottery_registry::Registry",
    "draw::DrawLedger",
    "payouts::PayoutLedger",
    "history::ArchiveLedger",
    "price_feed::PriceFeedRegistry",
)
"""Resources whose event-handle counters make a snapshot's ``ChainActivity``: every event that
names a lottery (``watchlist.LOTTERY_EVENTS``), lottery creation, and price updates."""

FEATURE_ENTRIES = "feature_switch::FeatureSwitchRegistry.entries"

type Aggregates = tuple[tuple[Bot, ...], VrfDepositStatus, PayoutBatchCap | None, list[PriceFeed]]


class _Absent:
    """A table whose resource does not exist (as opposed to a key the table lacks)."""


ABSENT: Final = _Absent()


# -- storage --------------------------------------------------------------------------------


class StorageSource(Protocol):
    """Where ``StorageReads`` gets stored values: a resource at the package address, a native
    table item by handle. ``RpcStorage`` asks a node; tests may read a model's storage directly."""

    async def resource(self, struct: str) -> Record | None:
        """The resource ``struct`` (``module::Struct``), decoded, or ``None`` if absent."""
        ...

    async def item(self, handle: str, value_type: str, key: int | str) -> Record | None:
        """Item ``key`` (a ``u64``, or an address) of the table ``handle`` whose values are ``value_type``
        (``module::Struct``), decoded, or ``None`` if the table has no such key."""
        ...


_MISS = frozenset({404})
"""A record's absence is confirmed with a second healthy endpoint (docs/decisions.md §14)."""


class RpcStorage:
    """``StorageSource`` over the node's RPC: resources in BCS (``GET /rpc/v3/accounts/
    {package}/resources/{type}``, ``Accept: application/x-bcs``; JSON is decoded too if that is
    what the node answers), table items in JSON (``POST /rpc/v2/tables/{handle}/item``). Every
    answer is decoded inside its RPC attempt, so one that does not have the layout counts
    against its endpoint and is asked elsewhere. A 404 ("no such record", which reads as the
    view's default) is believed only when a second healthy endpoint, if there is one, agrees:
    one lying node cannot make a cancellation, a sale or a lottery vanish."""

    def __init__(self, *, rpc: RpcClient, package: str, limit: asyncio.Semaphore) -> None:
        self._rpc = rpc
        self._package = normalise_address(package)
        self._limit = limit

    async def resource(self, struct: str) -> Record | None:
        what = f"resource {struct}"
        path = f"rpc/v3/accounts/{self._package}/resources/{self._package}::{struct}"

        def decode(reply: Reply) -> Record | None:
            if reply.status == 404:
                _check_miss(reply, what)
                return None
            kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind in (BCS_MEDIA, "application/octet-stream"):
                return decode_bcs(struct, reply.content)
            envelope = reply.json(what)
            if not isinstance(envelope, dict) or set(envelope) != {"type", "data"}:
                raise RpcProtocolError(f"{what}: expected a MoveResource {{type, data}}")
            return decode_json(struct, envelope["data"])

        async with self._rpc.limited(self._limit):
            return await self._rpc.fetch(
                "GET",
                path,
                what=what,
                decode=decode,
                accept=frozenset({200, 404}),
                second_opinion=_MISS,
                headers={"Accept": BCS_MEDIA},
            )

    async def item(self, handle: str, value_type: str, key: int | str) -> Record | None:
        what = f"table item {value_type}[{key}]"
        body = {
            "key_type": "address" if isinstance(key, str) else "u64",
            "value_type": f"{self._package}::{value_type}",
            "key": str(key),
        }

        def decode(reply: Reply) -> Record | None:
            if reply.status == 404:
                _check_miss(reply, what)
                return None
            return decode_json(value_type, reply.json(what))

        async with self._rpc.limited(self._limit):
            return await self._rpc.fetch(
                "POST",
                f"rpc/v2/tables/{handle}/item",
                what=what,
                decode=decode,
                json_body=body,
                accept=frozenset({200, 404}),
                second_opinion=_MISS,
            )


class StorageReads:
    """The package's readers computed from its resources and table items."""

    def __init__(self, *, source: StorageSource, package: str) -> None:
        self._source = source
        self._package = normalise_address(package)
        self._handles: dict[str, str] = {}  # "module::Struct.field" -> native table handle
        self._entries_read = False  # the feature switch's entries mattered at its last read

    async def resource(self, struct: str) -> Record | None:
        """The resource ``struct`` (``module::Struct``) at the package address, or ``None``."""
        found = await self._source.resource(struct)
        if found is not None:
            self._remember(struct, found)
        return found

    def _remember(self, struct: str, found: Record) -> None:
        for table in NATIVE_TABLES:
            owner, _, name = table.partition(".")
            if owner == struct:
                handle = found[name]
                assert isinstance(handle, str)
                self._handles[table] = handle

    async def item(self, table: str, key: int | str) -> Record | _Absent | None:
        """Item ``key`` of the native table ``table`` (``"draw::DrawLedger.states"``): the record,
        ``None`` if the table has no such key, ``ABSENT`` if the table's resource does not exist."""
        handle = self._handles.get(table)
        if handle is None:
            owner = table.partition(".")[0]
            if await self.resource(owner) is None:
                return ABSENT
            handle = self._handles[table]
        return await self._source.item(handle, NATIVE_TABLES[table], key)

    async def _record(self, table: str, key: int | str) -> Record | None:
        """An item, ``None`` whether the key or the whole table is missing."""
        found = await self.item(table, key)
        return None if isinstance(found, _Absent) else found

    # -- lotteries ----------------------------------------------------------------------------

    def _abort(self, code: int, module: str, *, address: str | None = None) -> MoveAbort:
        return view_abort(code, module, package=self._package, address=address)

    async def lottery(self, lottery_id: int) -> Record:
        """The ``Lottery`` record, aborting like the views for an unknown id or registry."""
        found = await self.item("lottery_registry::Registry.lotteries", lottery_id)
        if isinstance(found, _Absent):
            raise self._abort(records.E_REGISTRY_MISSING, "lottery_registry")
        if found is None:
            raise self._abort(records.TABLE_NOT_FOUND, "table", address=records.TABLE_ADDRESS)
        return found

    async def lottery_status(self, lottery_id: int) -> LotteryStatusView:
        return records.lottery_status(await self.lottery(lottery_id))

    async def lottery_config(self, lottery_id: int) -> LotteryConfig:
        return records.lottery_config(await self.lottery(lottery_id))

    async def refund_progress(self, lottery_id: int) -> RefundProgress:
        return records.refund_progress(await self._record("sales::SalesLedger.states", lottery_id))

    async def accounting(self, lottery_id: int) -> Accounting:
        found = records.accounting(await self._record("sales::SalesLedger.states", lottery_id))
        if found is None:
            raise self._abort(records.E_REGISTRY_MISSING, "sales")
        return found

    async def cancellation(self, lottery_id: int) -> Cancellation | None:
        found = await self.item("lottery_registry::Registry.cancellations", lottery_id)
        if isinstance(found, _Absent):
            raise self._abort(records.E_REGISTRY_MISSING, "lottery_registry")
        return records.cancellation(found)

    async def vrf_state(self, lottery_id: int) -> VrfState:
        return records.vrf_state(await self._record("draw::DrawLedger.states", lottery_id))

    async def winner_progress(self, lottery_id: int) -> WinnerProgress:
        return records.winner_progress(
            await self._record("payouts::PayoutLedger.states", lottery_id)
        )

    async def has_summary(self, lottery_id: int) -> bool:
        return await self._record("history::ArchiveLedger.summaries", lottery_id) is not None

    async def lottery_view(self, lottery_id: int, *, scoped: bool = False) -> LotteryView:
        """Every view of one lottery (``scoped``: only the records its status can make differ
        from their defaults, as ``SCOPED`` says). The ``Lottery`` record and the sales state
        (which every status but FINALIZED wants: one round trip less) are read at once; a scoped
        read asks for the others once the status is known."""
        wanted: frozenset[str] = ALL_VIEWS
        async with first_error() as group:
            lottery_task = group.create_task(self.lottery(lottery_id))
            sales_task = group.create_task(self._record("sales::SalesLedger.states", lottery_id))
            if scoped:
                lottery = await lottery_task
                wanted = SCOPED[records.lottery_status(lottery).status]
            reads: dict[str, Awaitable[object]] = {}
            if "vrf" in wanted:
                reads["draw"] = self._record("draw::DrawLedger.states", lottery_id)
            if "winners" in wanted:
                reads["winners"] = self._record("payouts::PayoutLedger.states", lottery_id)
            if "cancellation" in wanted:
                reads["cancellation"] = self.cancellation(lottery_id)
            tasks = {name: group.create_task(wait(read)) for name, read in reads.items()}
        lottery = lottery_task.result()
        status = records.lottery_status(lottery)
        got = {name: task.result() for name, task in tasks.items()}
        sales = sales_task.result()
        archived = await is_archived(status.status, lottery_id, self.has_summary)
        return LotteryView(
            lottery_id=lottery_id,
            status=status.status,
            snapshot_frozen=status.snapshot_frozen,
            config=records.lottery_config(lottery),
            refund=records.refund_progress(sales) if "refund" in wanted else RefundProgress(),
            accounting=(records.accounting(sales) if "accounting" in wanted else None)
            or Accounting(),
            vrf=records.vrf_state(_as_record(got.get("draw"))),
            winners=records.winner_progress(_as_record(got.get("winners"))),
            cancellation=_as_cancellation(got.get("cancellation")),
            archived=archived,
        )

    async def lottery_ids(self) -> tuple[int, ...]:
        """Every registered lottery, oldest first (``Registry.ordered_ids``)."""
        registry = await self.resource("lottery_registry::Registry")
        if registry is None:
            raise self._abort(records.E_REGISTRY_MISSING, "lottery_registry")
        return tuple(sorted(set(_ids(registry))))

    async def finalized_ids(self) -> tuple[int, ...]:
        """Lotteries with a summary (``ArchiveLedger.ordered_ids``); none without the ledger."""
        archive = await self.resource("history::ArchiveLedger")
        return () if archive is None else tuple(sorted(set(_ids(archive))))

    async def list_active(self, *, start: int = 0, limit: int = LIST_PAGE) -> tuple[int, ...]:
        """``views::list_active(from, limit)``: ACTIVE ids, newest first — every lottery's record
        is read (the view loops over them too), so this is for tools, not for a sweep."""
        if limit > LIST_PAGE:
            raise self._abort(E_PAGINATION_LIMIT, "views")
        newest_first = list(reversed(await self._ordered_ids()))
        statuses = await self._statuses(newest_first)
        active = [i for i in newest_first if statuses[i] == LotteryStatus.ACTIVE]
        return tuple(active[start : start + limit])

    async def _ordered_ids(self) -> list[int]:
        registry = await self.resource("lottery_registry::Registry")
        if registry is None:
            raise self._abort(records.E_REGISTRY_MISSING, "lottery_registry")
        return _ids(registry)

    async def _statuses(self, lottery_ids: Sequence[int]) -> dict[int, LotteryStatus]:
        async with first_error() as group:
            tasks = [group.create_task(self.lottery_status(i)) for i in lottery_ids]
        return {i: t.result().status for i, t in zip(lottery_ids, tasks, strict=True)}

    async def status_overview(self, now_ts: int) -> StatusOverview:
        """``views::status_overview(now_ts)`` computed from every registered lottery's records
        (O(lotteries) requests: the daemon's sweep computes its own from the views it keeps)."""
        ids = await self._ordered_ids()
        async with first_error() as group:
            tasks = [group.create_task(self.lottery_view(i)) for i in ids]
        return compute_overview((t.result() for t in tasks), now_ts)

    # -- aggregates ---------------------------------------------------------------------------

    async def list_bots(self) -> tuple[Bot, ...]:
        return records.bots(await self.resource("automation::AutomationRegistry"))

    async def get_bot(self, operator: str) -> Bot | None:
        wanted = normalise_address(operator)
        return next((b for b in await self.list_bots() if b.operator == wanted), None)

    async def vrf_deposit_status(self) -> VrfDepositStatus:
        return records.vrf_deposit_status(await self.resource("vrf_deposit::VrfDepositLedger"))

    async def payout_batch_cap(self) -> PayoutBatchCap | None:
        store = await self.resource("roles::RoleStore")
        if store is None:
            raise self._abort(records.E_ROLES_NOT_INITIALIZED, "roles")
        return records.payout_batch_cap(store)

    async def partner_caps(self) -> tuple[PartnerCap, ...]:
        """``roles::list_partner_caps``: the ``RoleStore``'s index, then each cap's item."""
        return tuple(
            records.partner_cap(r) for r in await self._caps("partner_index", "partner_caps")
        )

    async def premium_caps(self) -> tuple[PremiumCap, ...]:
        """``roles::list_premium_caps``."""
        return tuple(
            records.premium_cap(r) for r in await self._caps("premium_index", "premium_caps")
        )

    async def _caps(self, index: str, table: str) -> list[Record]:
        store = await self.resource("roles::RoleStore")
        if store is None:
            raise self._abort(records.E_ROLES_NOT_INITIALIZED, "roles")
        holders = records.role_index(store, index)
        async with first_error() as group:
            tasks = [
                group.create_task(self._record(f"roles::RoleStore.{table}", h)) for h in holders
            ]
        return [found for t in tasks if (found := t.result()) is not None]  # the view skips gaps

    async def dual_write(self) -> DualWrite | None:
        """``legacy_bridge``'s control: flags and expected hashes (``None`` without one)."""
        return records.dual_write(await self.resource("legacy_bridge::DualWriteControl"))

    async def summary_hash(self, lottery_id: int) -> str | None:
        """sha3-256 of the lottery's stored summary's BCS, ``None`` without a summary."""
        found = await self._record("history::ArchiveLedger.summaries", lottery_id)
        return None if found is None else records.summary_hash(found)

    async def price_feed(self, asset_id: int) -> PriceFeed:
        found = await self.item("price_feed::PriceFeedRegistry.feeds", asset_id)
        if isinstance(found, _Absent):
            raise self._abort(records.E_REGISTRY_MISSING, "price_feed")
        if found is None:
            raise self._abort(records.E_PRICE_FEED_NOT_FOUND, "price_feed")
        return records.price_feed(found)

    async def feature_switch(self) -> FeatureSwitch:
        """The package's feature switch: its ``FeatureSwitchRegistry`` (absent: never
        initialised) and, unless it is force-enabled, the entry of every ``Feature`` (an absent
        item is a feature without an entry). While the entries matter (the last read was not
        forced), the items are read with the registry, in one round trip."""
        ids = [int(f) for f in Feature]
        if self._entries_read:  # the entries mattered last time: one round trip for all
            async with first_error() as group:
                found = group.create_task(self.resource("feature_switch::FeatureSwitchRegistry"))
                items = [group.create_task(self._record(FEATURE_ENTRIES, i)) for i in ids]
            registry = found.result()
            entries = {i: t.result() for i, t in zip(ids, items, strict=True)}
            if registry is None or registry["force_enable_devnet"] is True:
                self._entries_read, entries = False, {}
            return records.feature_switch(registry, entries)
        registry = await self.resource("feature_switch::FeatureSwitchRegistry")
        if registry is None or registry["force_enable_devnet"] is True:
            return records.feature_switch(registry, {})
        self._entries_read = True
        async with first_error() as group:
            items = [group.create_task(self._record(FEATURE_ENTRIES, i)) for i in ids]
        return records.feature_switch(
            registry, {i: t.result() for i, t in zip(ids, items, strict=True)}
        )

    async def aggregates(self, asset_ids: Collection[int]) -> tuple[Aggregates, ChainActivity]:
        """Bots, deposit, cap and feeds, and the activity: each resource read once, and the
        feeds' items at the same time once their table's handle is known."""
        names = (
            "automation::AutomationRegistry",
            "vrf_deposit::VrfDepositLedger",
            "roles::RoleStore",
            *ACTIVITY_RESOURCES,
        )
        assets = sorted(set(asset_ids))
        early = "price_feed::PriceFeedRegistry.feeds" in self._handles
        async with first_error() as group:
            tasks = {n: group.create_task(self.resource(n)) for n in names}
            items = [group.create_task(self._record_feed(a)) for a in assets] if early else []
        found = {n: t.result() for n, t in tasks.items()}
        store = found["roles::RoleStore"]
        if store is None:
            raise self._abort(records.E_ROLES_NOT_INITIALIZED, "roles")
        feeds: list[PriceFeed] = []
        if found["price_feed::PriceFeedRegistry"] is not None and assets:
            if not early:
                async with first_error() as group:
                    items = [group.create_task(self._record_feed(a)) for a in assets]
            feeds = [f for t in items if (f := t.result()) is not None]
        aggregates = (
            records.bots(found["automation::AutomationRegistry"]),
            records.vrf_deposit_status(found["vrf_deposit::VrfDepositLedger"]),
            records.payout_batch_cap(store),
            feeds,
        )
        return aggregates, _activity(found)

    async def _record_feed(self, asset_id: int) -> PriceFeed | None:
        found = await self._record("price_feed::PriceFeedRegistry.feeds", asset_id)
        return None if found is None else records.price_feed(found)

    async def activity(self) -> ChainActivity:
        async with first_error() as group:
            tasks = {n: group.create_task(self.resource(n)) for n in ACTIVITY_RESOURCES}
        return _activity({n: t.result() for n, t in tasks.items()})


def _ids(resource: Record) -> list[int]:
    ids = resource["ordered_ids"]
    assert isinstance(ids, list)
    return ids


def _counter(resource: Record, path: str) -> int:
    value: object = resource
    for name in path.split("."):
        assert isinstance(value, dict)
        value = value[name]
    assert isinstance(value, int)
    return value


def _activity(found: Mapping[str, Record | None]) -> ChainActivity:
    counters: dict[str, int] = {}
    for struct, resource in found.items():
        for path, event in event_handles(struct):
            counters[event] = 0 if resource is None else _counter(resource, path)
    registry = found.get("lottery_registry::Registry")
    archive = found.get("history::ArchiveLedger")
    return ChainActivity(
        events=counters,
        registered=0 if registry is None else len(_ids(registry)),
        summarised=0 if archive is None else len(_ids(archive)),
    )


def _check_miss(reply: Reply, what: str) -> None:
    """A 404 must be the node's ``ErrResp`` (a proxy's page or a garbled body is not a miss)."""
    try:
        body = parse_json(reply.content, what)
    except RpcProtocolError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        raise RpcProtocolError(f"{what}: HTTP 404 without an ErrResp body")


def _as_record(value: object) -> Record | None:
    assert value is None or isinstance(value, dict)
    return value


def _as_cancellation(value: object) -> Cancellation | None:
    assert value is None or isinstance(value, Cancellation)
    return value


async def is_archived(
    status: LotteryStatus, lottery_id: int, has_summary: Callable[[int], Awaitable[bool]]
) -> bool:
    """Whether the lottery's summary is in ``history``: asked only of a canceled or finalized one."""
    if status not in (LotteryStatus.CANCELED, LotteryStatus.FINALIZED):
        return False
    return await has_summary(lottery_id)


async def wait[T](read: Awaitable[T]) -> T:
    """``read`` as a coroutine (what ``TaskGroup.create_task`` takes)."""
    return await read


@contextlib.asynccontextmanager
async def first_error() -> AsyncIterator[asyncio.TaskGroup]:
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
