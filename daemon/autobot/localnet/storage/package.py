"""``PackageStorage``: the package's resources and table items at one moment of the model.

``resource_types(address)`` / ``resource(address, tag)`` / ``resource_bcs(address, tag)`` serve the
``key`` structs an account holds (``storage.resources``); ``table(handle)`` resolves a native
table handle (``storage.handles``) to the table's declaration, owner and types, and
``table_item(ref, key)`` / ``table_item_bcs`` serve one value (``storage.values``). Everything is
rendered on demand from the live model state: a ``PackageStorage`` is cheap, make one per read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from autobot.localnet.accounts import normalise_address
from autobot.localnet.model.state import PackageState, buyer_key
from autobot.localnet.storage import values
from autobot.localnet.storage.handles import Context, Json
from autobot.localnet.storage.layouts import Layouts, NativeTable
from autobot.localnet.storage.resources import RESOURCES
from autobot.localnet.storage.typetags import TypeTag

__all__ = ["PackageStorage", "TableRef"]

type _Item = Callable[[Context, int, object], Json | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class TableRef:
    """A native table that exists now: its declaration, owner (lottery id or 0), types."""

    table: NativeTable
    owner: int
    key_type: TypeTag
    value_type: TypeTag


def _keyed[V](table: Mapping[int, V], key: object, render: Callable[[V], Json]) -> Json | None:
    value = table.get(key) if isinstance(key, int) else None
    return None if value is None else render(value)


def _keyed_by_address[V](
    table: Mapping[str, V], key: object, render: Callable[[V], Json]
) -> Json | None:
    value = table.get(key) if isinstance(key, str) else None
    return None if value is None else render(value)


def _sales_state(c: Context, _owner: int, key: object) -> Json | None:
    s = c.state.sales.get(key) if isinstance(key, int) else None
    return None if s is None or not isinstance(key, int) else values.sales_state(c, key, s)


def _winner_state(c: Context, _owner: int, key: object) -> Json | None:
    w = c.state.winners.get(key) if isinstance(key, int) else None
    return None if w is None or not isinstance(key, int) else values.winner_state(c, key, w)


def _ticket_chunk(c: Context, owner: int, key: object) -> Json | None:
    if not isinstance(key, int):
        return None
    return values.ticket_chunk(owner, c.state.sales[owner], key)


def _tickets_per_address(c: Context, owner: int, key: object) -> Json | None:
    return values.tickets_of(c.state, owner, key) if isinstance(key, str) else None


def _rate_track(c: Context, owner: int, key: object) -> Json | None:
    return (
        values.rate_track(c.state.buyers.get(buyer_key(owner, key)))
        if isinstance(key, str)
        else None
    )


def _winner_chunk(c: Context, owner: int, key: object) -> Json | None:
    if not isinstance(key, int):
        return None
    return values.winner_chunk(owner, c.state.winners[owner], key)


def _feature_record(c: Context, _owner: int, key: object) -> Json | None:
    return values.feature_record(c.state, key) if isinstance(key, int) else None


_ITEMS: Mapping[str, _Item] = {
    "lottery_registry::Registry.lotteries": lambda c, _, k: _keyed(
        c.state.lotteries, k, values.lottery
    ),
    "lottery_registry::Registry.cancellations": lambda c, _, k: _keyed(
        c.state.cancellations, k, values.cancellation_record
    ),
    "draw::DrawLedger.states": lambda c, _, k: _keyed(c.state.draws, k, values.draw_state),
    "draw::DrawLedger.nonce_to_lottery": lambda c, _, k: _keyed(c.state.nonce_to_lottery, k, str),
    "sales::SalesLedger.states": _sales_state,
    "sales::SalesState.tickets_per_address": _tickets_per_address,
    "sales::SalesState.ticket_chunks": _ticket_chunk,
    "sales::SalesState.rate_track": _rate_track,
    "payouts::PayoutLedger.states": _winner_state,
    "payouts::WinnerState.winner_chunks": _winner_chunk,
    "payouts::WinnerState.assigned_indices": lambda c, owner, k: (
        True if k in c.state.winners[owner].assigned_indices else None
    ),
    "price_feed::PriceFeedRegistry.feeds": lambda c, _, k: _keyed(
        c.state.feeds, k, values.price_feed_record
    ),
    "roles::RoleStore.partner_caps": lambda c, _, k: _keyed_by_address(
        c.state.partner_caps, k, values.partner_payout_cap
    ),
    "roles::RoleStore.premium_caps": lambda c, _, k: _keyed_by_address(
        c.state.premium_caps, k, values.premium_access_cap
    ),
    "history::ArchiveLedger.summaries": lambda c, _, k: _keyed(
        c.state.summaries, k, values.lottery_summary
    ),
    "history::ArchiveLedger.imported_flags": lambda c, _, k: _keyed(
        c.state.summaries,
        k,
        lambda _summary: False,  # no legacy imports in the model
    ),
    "feature_switch::FeatureSwitchRegistry.entries": _feature_record,
}
"""One item of each native table: ``(context, owner, key) -> node JSON | None``."""

_PER_LOTTERY: Mapping[str, Callable[[PackageState, int], bool]] = {
    "sales::SalesState": lambda s, i: s.g.sales and i in s.sales,
    "payouts::WinnerState": lambda s, i: s.g.payouts and i in s.winners,
}
"""Tables inside a per-lottery value exist while that value does (the owner is its lottery)."""


class PackageStorage:
    """The package's resources and table items at one moment of ``state`` (read-only)."""

    def __init__(
        self, state: PackageState, *, package: str, event_counts: Mapping[str, int]
    ) -> None:
        self._state = state
        self._ctx = Context(state, package=package, counts=event_counts)
        self.package = self._ctx.package

    @property
    def layouts(self) -> Layouts:
        return self._ctx.tables.layouts

    def _tag(self, name: str) -> TypeTag:
        module, struct = name.split("::")
        return TypeTag(struct, address=self.package, module=module)

    def _held(self, address: str, tag: TypeTag) -> str | None:
        """``module::Struct`` if ``address`` holds the resource ``tag`` now."""
        if tag.address != self.package or tag.args:
            return None
        name = f"{tag.module}::{tag.name}"
        resource = RESOURCES.get(name)
        if resource is None or not resource.held(self._state, address, self.package):
            return None
        return name

    def resource_types(self, address: str) -> list[TypeTag]:
        """Every resource ``address`` holds, ordered by type string."""
        address = normalise_address(address)
        tags = (self._tag(name) for name in RESOURCES)
        return sorted((t for t in tags if self._held(address, t)), key=str)

    def resource(self, address: str, tag: TypeTag) -> Json | None:
        """The resource ``tag`` at ``address`` in node JSON, or None if it holds none."""
        address = normalise_address(address)
        name = self._held(address, tag)
        return None if name is None else RESOURCES[name].render(self._ctx, address)

    def resource_bcs(self, address: str, tag: TypeTag) -> bytes | None:
        """The resource in Move BCS (declaration order), or None if ``address`` holds none."""
        value = self.resource(address, tag)
        return None if value is None else self.layouts.to_bcs(tag, value)

    def table(self, handle: str) -> TableRef | None:
        """The native table with this handle (``0x`` + up to 64 hex), if it exists now."""
        found = self._ctx.tables.table_path(handle)
        if found is None:
            return None
        table, owner = found
        declared_in = table.path.split(".")[0]
        per_lottery = _PER_LOTTERY.get(declared_in)
        if per_lottery is not None:
            exists = per_lottery(self._state, owner)
        else:
            resource = RESOURCES[declared_in]
            exists = owner == 0 and resource.held(self._state, self.package, self.package)
        if not exists:
            return None
        return TableRef(
            table=table,
            owner=owner,
            key_type=self.layouts.type(table.key_type),
            value_type=self.layouts.type(table.value_type),
        )

    def table_item(self, ref: TableRef, key: object) -> Json | None:
        """The value at ``key`` (decoded: ``int``, ``bool`` or a normalised address) or None."""
        return _ITEMS[ref.table.path](self._ctx, ref.owner, key)

    def table_item_bcs(self, ref: TableRef, key: object) -> bytes | None:
        value = self.table_item(ref, key)
        return None if value is None else self.layouts.to_bcs(ref.value_type, value)
