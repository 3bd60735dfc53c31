"""Reading the package's storage in tests: in-process or over HTTP, and a walk of all of it.

* ``StorageReader`` — what the storage views (``storage_views``) and the walk need: the package
  address's resources, an operator's ``AutomationCap``, a native table item by handle with its
  key and value types, and a resource's BCS;
* ``ModelReader`` — straight from a ``PackageStorage`` (in-process tests);
* ``HttpReader`` — through the localnet's RPC routes with ``httpx`` (blocking: run it in a thread
  when the localnet shares the test's event loop);
* ``walk(reader)`` — every resource and every table item reachable from them (keys found in
  storage itself, as a client would find them), each checked field by field against the vendored
  layouts (``storage_layouts``), resources also in BCS; returns what it checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from autobot.localnet.storage import PackageStorage
from autobot.localnet.storage.typetags import TypeTag, key_from_json, parse_type
from storage_layouts import SeenTable, VendoredLayouts

type Json = Any


class StorageReader(Protocol):
    package: str

    def resources(self) -> dict[str, Json]:
        """Every resource at the package address: ``module::Struct`` -> node JSON ``data``."""

    def resource(self, struct: str) -> Json | None:
        """``module::Struct`` at the package address (node JSON ``data``), or None."""

    def resource_bcs(self, address: str, struct: str) -> bytes | None:
        """A resource in BCS, or None."""

    def operator_cap(self, operator: str) -> Json | None:
        """``automation::AutomationCap`` at ``operator``, or None."""

    def item(self, handle: str, key_type: str, value_type: str, key: Json) -> Json | None:
        """A native table item (node JSON), or None when the key is absent."""


def _short(type_tag: str) -> str:
    _, module, name = type_tag.split("::")
    return f"{module}::{name}"


class ModelReader:
    """``StorageReader`` over a ``PackageStorage`` (no HTTP)."""

    def __init__(self, storage: PackageStorage) -> None:
        self.storage = storage
        self.package = storage.package

    def _tag(self, struct: str) -> TypeTag:
        module, name = struct.split("::")
        return TypeTag(name, address=self.package, module=module)

    def resources(self) -> dict[str, Json]:
        return {
            _short(str(t)): self.storage.resource(self.package, t)
            for t in self.storage.resource_types(self.package)
        }

    def resource(self, struct: str) -> Json | None:
        return self.storage.resource(self.package, self._tag(struct))

    def resource_bcs(self, address: str, struct: str) -> bytes | None:
        return self.storage.resource_bcs(address, self._tag(struct))

    def operator_cap(self, operator: str) -> Json | None:
        return self.storage.resource(operator, self._tag("automation::AutomationCap"))

    def item(self, handle: str, key_type: str, value_type: str, key: Json) -> Json | None:
        table = self.storage.table(handle)
        if table is None:
            return None
        assert (str(table.key_type), str(table.value_type)) == (key_type, value_type)
        return self.storage.table_item(table, key_from_json(parse_type(key_type), key))


class HttpReader:
    """``StorageReader`` through the node's RPC routes (blocking ``httpx``)."""

    def __init__(self, base_url: str, package: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.package = package
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, **kwargs: Any) -> httpx.Response:
        self.requests += 1
        response = self.http.get(path, **kwargs)
        assert response.status_code in (200, 404), response.text
        return response

    def resources(self) -> dict[str, Json]:
        out: dict[str, Json] = {}
        params: dict[str, str] = {"count": "5"}  # several pages: the cursor is followed
        while True:
            response = self._get(f"rpc/v3/accounts/{self.package}/resources", params=params)
            out.update({_short(r["type"]): r["data"] for r in response.json()})
            cursor = response.headers.get("x-supra-cursor")
            if cursor is None:
                return out
            params["start"] = cursor

    def resource(self, struct: str) -> Json | None:
        return self._resource(self.package, struct)

    def _resource(self, address: str, struct: str) -> Json | None:
        response = self._get(f"rpc/v3/accounts/{address}/resources/{self.package}::{struct}")
        if response.status_code == 404:
            return None
        body = response.json()
        assert body["type"] == f"{self.package}::{struct}"
        return body["data"]

    def resource_bcs(self, address: str, struct: str) -> bytes | None:
        response = self._get(
            f"rpc/v3/accounts/{address}/resources/{self.package}::{struct}",
            headers={"Accept": "application/x-bcs"},
        )
        if response.status_code == 404:
            return None
        assert response.headers["content-type"].startswith("application/x-bcs")
        return response.content

    def operator_cap(self, operator: str) -> Json | None:
        return self._resource(operator, "automation::AutomationCap")

    def item(self, handle: str, key_type: str, value_type: str, key: Json) -> Json | None:
        self.requests += 1
        response = self.http.post(
            f"rpc/v2/tables/{handle}/item",
            json={"key_type": key_type, "value_type": value_type, "key": key},
        )
        assert response.status_code in (200, 404), response.text
        return None if response.status_code == 404 else response.json()


# --- the walk -------------------------------------------------------------------------------


@dataclass
class Walk:
    """What a walk checked: struct types (vendored names), items per table path, resources."""

    layouts: VendoredLayouts
    resources: set[str] = field(default_factory=set)
    items: dict[str, int] = field(default_factory=dict)


def _keys(path: str, parent: Json, storage: dict[str, Json]) -> Iterable[Json]:
    """The keys a client finds for table ``path`` (the declaring struct and field)."""
    registry = storage.get("lottery_registry::Registry") or {"ordered_ids": []}
    lottery_ids = [*registry["ordered_ids"], "999999"]  # and one that is not there
    archive = storage.get("history::ArchiveLedger") or {"ordered_ids": []}
    if path.endswith(".nonce_to_lottery"):
        return [s["vrf_state"]["request_id"] for s in parent["draw_states"]] + ["123456789"]
    if path in ("sales::SalesState.ticket_chunks", "payouts::WinnerState.winner_chunks"):
        return [str(n) for n in range(int(parent["value"]["next_chunk_seq"]) + 2)]
    if path in ("sales::SalesState.tickets_per_address", "sales::SalesState.rate_track"):
        return [
            *sorted({b for chunk in parent["chunks"] for b in chunk["buyers"]}),
            "0x" + "0" * 64,
        ]
    if path == "payouts::WinnerState.assigned_indices":
        return [r["ticket_index"] for chunk in parent["chunks"] for r in chunk["records"]] + ["0"]
    if path == "price_feed::PriceFeedRegistry.feeds":
        return [str(n) for n in range(6)]
    if path.startswith("roles::RoleStore."):
        store = storage["roles::RoleStore"]
        index = store["partner_index" if "partner" in path else "premium_index"]
        return [*index, "0x" + "0" * 64]
    if path.startswith("history::ArchiveLedger."):
        return [*archive["ordered_ids"], *lottery_ids]
    if path == "feature_switch::FeatureSwitchRegistry.entries":
        return [str(n) for n in range(6)]
    return lottery_ids


def walk(reader: StorageReader, *, operators: Iterable[str] = ()) -> Walk:
    """Check every resource and every reachable table item against the vendored layouts."""
    layouts = VendoredLayouts(reader.package)
    report = Walk(layouts=layouts)
    storage = reader.resources()
    pending: list[tuple[SeenTable, Json]] = []
    for struct, data in storage.items():
        vendored_type = f"lottery_multi::{struct}"
        pending += [(t, {}) for t in layouts.check(vendored_type, data, struct)]
        bcs = reader.resource_bcs(reader.package, struct)
        assert bcs is not None
        assert layouts.decode(vendored_type, bcs) == data, f"BCS of {struct} != its JSON"
        report.resources.add(struct)
    for operator in operators:
        cap = reader.operator_cap(operator)
        if cap is not None:
            layouts.check("lottery_multi::automation::AutomationCap", cap, "AutomationCap")
            bcs = reader.resource_bcs(operator, "automation::AutomationCap")
            assert bcs is not None
            decoded = layouts.decode("lottery_multi::automation::AutomationCap", bcs)
            assert decoded == cap
            report.resources.add("automation::AutomationCap")
    draw_states: list[Json] = []  # DrawLedger.states comes before nonce_to_lottery (FIFO)
    while pending:
        table, parent = pending.pop(0)
        if table.path == "draw::DrawLedger.nonce_to_lottery":
            parent = {"draw_states": draw_states}
        for key in _keys(table.path, parent, storage):
            value = reader.item(table.handle, table.key_type, table.value_type, key)
            if value is None:
                continue
            report.items[table.path] = report.items.get(table.path, 0) + 1
            if table.value_type.startswith("0x"):  # a package struct
                root = _short(table.value_type)
                nested = layouts.check(f"lottery_multi::{root}", value, root)
            else:
                nested = layouts.check(table.value_type, value, table.path)
            if table.path == "draw::DrawLedger.states":
                draw_states.append(value)
            if nested:
                chunks = _chunks(reader, nested)
                pending += [(t, {"value": value, "chunks": chunks}) for t in nested]
    return report


def _chunks(reader: StorageReader, tables: list[SeenTable]) -> list[Json]:
    """A per-lottery value's chunks (its ticket buyers or winner records), for key discovery."""
    out: list[Json] = []
    for t in tables:
        if t.path.endswith((".ticket_chunks", ".winner_chunks")):
            n = 0
            while (chunk := reader.item(t.handle, t.key_type, t.value_type, str(n))) is not None:
                out.append(chunk)
                n += 1
    return out
