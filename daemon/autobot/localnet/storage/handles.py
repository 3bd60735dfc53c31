"""Identities inside storage: native table handles and event handle GUIDs; the render context.

**Table handles** are stable and reversible: ``table_handle(package, path, owner)`` = ``0x`` +
the first 24 bytes of ``sha3-256(b"autobot-localnet/table-handle:" ‖ package address (32 bytes)
‖ path)`` + ``owner`` as 8 bytes big-endian. ``path`` names the declaring struct and field
(``"sales::SalesState.ticket_chunks"``, ``NativeTable.path``); ``owner`` is the lottery id for
the tables inside a per-lottery value (``SalesState``, ``WinnerState``) and 0 for a resource's own
tables. A restarted localnet serves the same handles; ``table_path`` reads one back.

**Event handles**: ``counter`` is the number of events of the handle's type the chain emitted
(what ``GET /rpc/v3/events/{type}`` pages through); ``guid`` is ``{"id": {"addr": <package>,
"creation_num": N}}``, ``N`` counted from 2 (account creation takes 0 and 1) over the handles of
``DEPLOYMENT``'s resources in that order, each resource's in field order (as each ``init_*``
creates them), whether or not an init ran, so a late init never renumbers the others.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from autobot.localnet.accounts import normalise_address
from autobot.localnet.model.state import PackageState
from autobot.localnet.storage.layouts import (
    EVENT_HANDLE_FIRST_CREATION_NUM,
    NATIVE_TABLES,
    STRUCTS,
    Layouts,
    NativeTable,
)

__all__ = [
    "DEPLOYMENT",
    "Context",
    "Json",
    "Tables",
    "obj",
    "opt",
    "table_handle",
    "tables_for",
    "u64",
    "x",
]

type Json = object

DEPLOYMENT: tuple[str, ...] = (
    "lottery_registry::Registry",
    "sales::SalesLedger",
    "history::ArchiveLedger",
    "draw::DrawLedger",
    "payouts::PayoutLedger",
    "feature_switch::FeatureSwitchRegistry",
    "legacy_bridge::DualWriteControl",
    "legacy_bridge::MirrorConfig",
    "automation::AutomationRegistry",
    "roles::RoleStore",
    "price_feed::PriceFeedRegistry",
    "vrf_deposit::VrfDepositLedger",
)
"""The package resources in the order the localnet's deployment creates them."""

_HANDLE_DOMAIN = b"autobot-localnet/table-handle:"


def table_handle(package: str, path: str, owner: int = 0) -> str:
    """The handle of table ``path`` (``"<module>::<Struct>.<field>"``) of ``owner``."""
    prefix = _handle_prefix(normalise_address(package), path)
    return "0x" + (prefix + owner.to_bytes(8, "big")).hex()


@functools.cache
def _handle_prefix(package: str, path: str) -> bytes:
    digest = hashlib.sha3_256(_HANDLE_DOMAIN + bytes.fromhex(package[2:]) + path.encode())
    return digest.digest()[:24]


@dataclass(frozen=True, slots=True)
class Tables:
    """Per package address: the layouts, the handle index and the event handles."""

    layouts: Layouts
    prefixes: Mapping[bytes, NativeTable]
    events: Mapping[tuple[str, str], tuple[int, str]]  # (module::Struct, field) -> (num, type)

    def table_path(self, handle: str) -> tuple[NativeTable, int] | None:
        """The table a handle names and its owner, if it is one of ours."""
        raw = bytes.fromhex(normalise_address(handle)[2:])
        table = self.prefixes.get(raw[:24])
        return None if table is None else (table, int.from_bytes(raw[24:], "big"))


def _event_handles(layouts: Layouts) -> dict[tuple[str, str], tuple[int, str]]:
    by_name = {s.short: s for s in STRUCTS if s.address == "lottery_multi"}
    out: dict[tuple[str, str], tuple[int, str]] = {}

    def walk(name: str) -> None:
        for f in by_name[name].fields:
            tag = layouts.type(f.type)
            if tag.module == "event" and tag.name == "EventHandle":
                out[(name, f.name)] = (EVENT_HANDLE_FIRST_CREATION_NUM + len(out), str(tag.args[0]))
            elif f"{tag.module}::{tag.name}" in by_name:
                walk(f"{tag.module}::{tag.name}")  # roles::RoleEvents inside RoleStore

    for resource in DEPLOYMENT:
        walk(resource)
    return out


@functools.cache
def tables_for(package: str) -> Tables:
    layouts = Layouts(package)
    return Tables(
        layouts=layouts,
        prefixes={_handle_prefix(layouts.package, t.path): t for t in NATIVE_TABLES},
        events=_event_handles(layouts),
    )


# --- node JSON ------------------------------------------------------------------------------


def obj(**fields: Json) -> dict[str, Json]:
    """A struct in node JSON: fields sorted by name (nodes keep them in a sorted map)."""
    return dict(sorted(fields.items()))


def u64(value: int) -> str:
    """u64/u128/u256 are decimal strings."""
    return str(value)


def x(value: bytes) -> str:
    """``vector<u8>`` is ``0x`` + lowercase hex."""
    return "0x" + value.hex()


def opt(value: Json | None) -> dict[str, list[Json]]:
    """``0x1::option::Option``."""
    return {"vec": [] if value is None else [value]}


class Context:
    """What the struct renderers read besides a record: the state, handles, event counters."""

    def __init__(self, state: PackageState, *, package: str, counts: Mapping[str, int]) -> None:
        self.state = state
        self.package = normalise_address(package)
        self.counts = counts
        self.tables = tables_for(self.package)

    def table(self, path: str, owner: int = 0) -> dict[str, Json]:
        """``0x1::table::Table``: just its handle."""
        return {"handle": table_handle(self.package, path, owner)}

    def events(self, struct: str, field: str) -> dict[str, Json]:
        """``0x1::event::EventHandle`` declared as ``struct.field`` (``module::Struct``)."""
        creation_num, event_type = self.tables.events[(struct, field)]
        guid = {"id": obj(addr=self.package, creation_num=u64(creation_num))}
        return obj(counter=u64(self.counts.get(event_type, 0)), guid=guid)
