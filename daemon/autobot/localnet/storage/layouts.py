"""Layouts of the package's storage: parsed declarations, roles, Move BCS of node JSON.

``STRUCTS`` (the package's, plus the workspace's ``vrf_hub::table::Table``) and
``FRAMEWORK_STRUCTS`` come from ``storage.declarations``: fields in declaration order with fully
qualified Move types, abilities in Move's canonical order (copy, drop, store, key), and roles
derived from where a struct appears: *resource* (it has ``key``), *table_value* (the value of a
native ``0x1::table::Table``), *nested* (a field, vector element, ``Option`` or ``vrf_hub`` table
value of another struct). A struct declared without fields gets the compiler's ``dummy_field:
bool`` (``compiler_added``), which is what nodes serve.

Named addresses: ``lottery_multi`` and ``vrf_hub`` are both the package's address (the workspace
deploys ``vrf_hub`` there, so ``vrf_hub::table::Table`` prints as ``0x<package>::table::Table``).

``layouts_json()`` is the vendored contract ``tests/data/lottery_multi_layouts.json`` (a test keeps
them equal). ``Layouts(package)`` resolves the named addresses and encodes a value given in node
JSON as Move BCS (fields in declaration order) with the SDK's ``Serializer``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from supra_sdk.bcs import Serializer

from autobot.localnet.accounts import normalise_address
from autobot.localnet.storage.declarations import (
    DECLARATIONS,
    EVENT_HANDLE_FIRST_CREATION_NUM,
    PACKAGE_COMMIT,
    PACKAGE_REPOSITORY,
    PACKAGE_SOURCES,
    RESOURCE_PLACES,
    VRF_HUB_TABLE_SOURCE,
)
from autobot.localnet.storage.typetags import TypeTag, parse_type

__all__ = [
    "EVENT_HANDLE_FIRST_CREATION_NUM",
    "FRAMEWORK_STRUCTS",
    "NATIVE_TABLES",
    "PACKAGE_COMMIT",
    "STRUCTS",
    "FieldLayout",
    "Layouts",
    "NativeTable",
    "StructLayout",
    "layouts_json",
]

_ABILITY_ORDER = ("copy", "drop", "store", "key")
_HEADER = re.compile(r"struct (\w+)(?:<([\w, ]+)>)? has ([\w, ]+) \{(\})?")
_FIELD = re.compile(r"(\w+): (.+),")


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldLayout:
    name: str
    type: str  # with named addresses, e.g. "lottery_multi::types::SalesWindow"
    compiler_added: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StructLayout:
    """One struct; ``address`` is a named address (``lottery_multi``, ``vrf_hub``) or ``0x1``."""

    address: str
    module: str
    name: str
    abilities: tuple[str, ...]  # Move's canonical order: copy, drop, store, key
    type_params: tuple[str, ...]
    fields: tuple[FieldLayout, ...]
    roles: tuple[str, ...] = ()  # resource, table_value, nested (package structs only)
    stored_at: str = ""  # resources: where the package's code move_to's it
    created_by: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.address}::{self.module}::{self.name}"

    @property
    def short(self) -> str:
        return f"{self.module}::{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeTable:
    """A ``0x1::table::Table`` field: who declares it, its key and value types."""

    owner: str  # "lottery_multi::sales::SalesState"
    field: str
    key_type: str
    value_type: str

    @property
    def path(self) -> str:
        """``<module>::<Struct>.<field>``: what the localnet derives the table's handle from."""
        _, module, name = self.owner.split("::")
        return f"{module}::{name}.{self.field}"


def _parse_declarations(text: str) -> list[StructLayout]:
    out: list[StructLayout] = []
    address = module = ""
    header: re.Match[str] | None = None
    fields: list[FieldLayout] = []

    def close(found: re.Match[str]) -> None:
        abilities = {a.strip() for a in found[3].split(",")}
        out.append(
            StructLayout(
                address=address,
                module=module,
                name=found[1],
                abilities=tuple(a for a in _ABILITY_ORDER if a in abilities),
                type_params=tuple(p.strip() for p in (found[2] or "").split(",") if p.strip()),
                fields=tuple(fields)
                or (FieldLayout(name="dummy_field", type="bool", compiler_added=True),),
            )
        )

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("module "):
            address, module = line.removeprefix("module ").split("::")
        elif (found := _HEADER.fullmatch(line)) is not None:
            fields = []
            if found[4]:
                close(found)
            else:
                header = found
        elif line == "}" and header is not None:
            close(header)
            header = None
        elif (field := _FIELD.fullmatch(line)) is not None and header is not None:
            fields.append(FieldLayout(name=field[1], type=field[2]))
        else:
            raise AssertionError(f"layouts: cannot read {line!r}")
    return out


def _with_roles(structs: list[StructLayout]) -> list[StructLayout]:
    """Roles and storage places of the package's structs (framework structs get none)."""
    table_values: set[str] = set()
    nested: set[str] = set()
    for s in structs:
        for f in s.fields:
            if f.type.startswith("0x1::table::Table<"):
                table_values.add(f.type.split(", ", 1)[1][:-1])
            else:
                nested.update(re.findall(r"(?:lottery_multi|vrf_hub)::\w+::\w+", f.type))
    out: list[StructLayout] = []
    for s in structs:
        if s.address == "0x1":
            out.append(s)
            continue
        roles = [r for r, member in (("resource", "key" in s.abilities),) if member]
        roles += ["table_value"] if s.qualified in table_values else []
        roles += ["nested"] if s.qualified in nested else []
        stored_at, created_by = RESOURCE_PLACES.get(s.short, ("", ""))
        out.append(
            StructLayout(
                address=s.address,
                module=s.module,
                name=s.name,
                abilities=s.abilities,
                type_params=s.type_params,
                fields=s.fields,
                roles=tuple(roles),
                stored_at=stored_at,
                created_by=created_by,
            )
        )
    return out


_ALL = _with_roles(_parse_declarations(DECLARATIONS))
STRUCTS: tuple[StructLayout, ...] = tuple(s for s in _ALL if s.address != "0x1")
"""Every struct the package's storage holds, in source order per module."""
FRAMEWORK_STRUCTS: tuple[StructLayout, ...] = tuple(s for s in _ALL if s.address == "0x1")
"""The framework structs storage uses (phantom type parameters included)."""
NATIVE_TABLES: tuple[NativeTable, ...] = tuple(
    NativeTable(
        owner=s.qualified,
        field=f.name,
        key_type=f.type[len("0x1::table::Table<") : -1].split(", ", 1)[0],
        value_type=f.type[len("0x1::table::Table<") : -1].split(", ", 1)[1],
    )
    for s in STRUCTS
    for f in s.fields
    if f.type.startswith("0x1::table::Table<")
)
"""Every native table field of the package's storage, with its key and value types."""


class Layouts:
    """The layouts with the named addresses resolved to ``package``; Move BCS of node JSON."""

    def __init__(self, package: str) -> None:
        self.package = normalise_address(package)
        self._named = {"lottery_multi": self.package, "vrf_hub": self.package}
        self._by_id = {
            (normalise_address(self._named.get(s.address, s.address)), s.module, s.name): s
            for s in _ALL
        }
        self._fields: dict[str, tuple[tuple[str, TypeTag], ...]] = {}

    def type(self, text: str) -> TypeTag:
        """A layout type string (named addresses allowed) as a resolved ``TypeTag``."""
        return parse_type(text, named=self._named)

    def layout(self, tag: TypeTag) -> StructLayout | None:
        return self._by_id.get((tag.address, tag.module, tag.name)) if tag.is_struct else None

    def fields(self, tag: TypeTag) -> tuple[tuple[str, TypeTag], ...]:
        """A struct's fields in declaration order, type parameters substituted."""
        key = str(tag)
        cached = self._fields.get(key)
        if cached is not None:
            return cached
        layout = self.layout(tag)
        if layout is None or len(layout.type_params) != len(tag.args):
            raise ValueError(f"no layout for {tag}")
        params = dict(zip(layout.type_params, tag.args, strict=True))
        fields = tuple(
            (f.name, parse_type(f.type, named=self._named, params=params)) for f in layout.fields
        )
        self._fields[key] = fields
        return fields

    def to_bcs(self, tag: TypeTag, value: object) -> bytes:
        """Move BCS of ``value`` (node JSON of type ``tag``); ``ValueError`` if it does not fit."""
        out = Serializer()
        self._encode(tag, value, out)
        return bytes(out.output())

    def _encode(self, tag: TypeTag, value: object, out: Serializer) -> None:
        if tag.is_struct:
            fields = self.fields(tag)
            if not isinstance(value, dict) or set(value) != {name for name, _ in fields}:
                raise ValueError(f"{tag}: expected the fields {[n for n, _ in fields]}")
            for name, field_tag in fields:
                self._encode(field_tag, value[name], out)
        elif tag.name == "vector" and tag.args[0] == TypeTag("u8"):
            if not isinstance(value, str) or not value.startswith("0x"):
                raise ValueError(f"{tag}: expected 0x-prefixed hex, got {value!r}")
            out.to_bytes(bytes.fromhex(value[2:]))
        elif tag.name == "vector":
            if not isinstance(value, list):
                raise ValueError(f"{tag}: expected a list, got {value!r}")
            out.uleb128(len(value))
            for item in value:
                self._encode(tag.args[0], item, out)
        elif tag.name in _WRITERS:
            _WRITERS[tag.name](out, value)
        else:
            raise ValueError(f"{tag} cannot be stored")


def _number(bits: int) -> Callable[[Serializer, object], None]:
    """u8/u16/u32 are JSON numbers, u64/u128/u256 decimal strings."""
    write = {
        8: Serializer.u8,
        16: Serializer.u16,
        32: Serializer.u32,
        64: Serializer.u64,
        128: Serializer.u128,
        256: Serializer.u256,
    }[bits]

    def encode(out: Serializer, value: object) -> None:
        if bits <= 32 and isinstance(value, int) and not isinstance(value, bool):
            write(out, value)
        elif bits > 32 and isinstance(value, str) and value.isdigit():
            write(out, int(value))
        else:
            raise ValueError(f"u{bits}: unexpected JSON value {value!r}")

    return encode


def _bool(out: Serializer, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"bool: expected true or false, got {value!r}")
    out.bool(value)


def _address(out: Serializer, value: object) -> None:
    if not isinstance(value, str):
        raise ValueError(f"address: expected a string, got {value!r}")
    out.fixed_bytes(bytes.fromhex(normalise_address(value)[2:]))


_WRITERS: Mapping[str, Callable[[Serializer, object], None]] = {
    **{f"u{bits}": _number(bits) for bits in (8, 16, 32, 64, 128, 256)},
    "bool": _bool,
    "address": _address,
}

_JSON_ENCODING = {
    "u8 u16 u32": "JSON number",
    "u64 u128 u256": "decimal string",
    "bool": "true / false",
    "address": "0x + 64 lowercase hex",
    "vector<u8>": '0x + lowercase hex ("0x" when empty)',
    "vector<T>": "JSON list",
    "0x1::option::Option<T>": '{"vec": []} or {"vec": [x]}',
    "0x1::table::Table<K, V>": '{"handle": "0x..."}; items: POST /rpc/v2/tables/{handle}/item',
    "0x1::event::EventHandle<T>": (
        '{"counter": "N", "guid": {"id": {"addr": "0x...", "creation_num": "N"}}}'
    ),
    "vrf_hub::table::Table<K, V>": '{"keys": [...], "values": [...]} inside its owner',
    "struct": "JSON object, fields sorted by name (nodes keep struct fields in a sorted map)",
    "BCS": "fields in declaration order (Accept: application/x-bcs)",
}


def _struct_json(s: StructLayout) -> dict[str, object]:
    out: dict[str, object] = {
        "type": s.qualified,
        "module": s.module,
        "name": s.name,
        "abilities": list(s.abilities),
        "type_params": list(s.type_params),
    }
    if s.address != "0x1":
        out["roles"] = list(s.roles)
    if s.stored_at:
        out["stored_at"] = s.stored_at
        out["created_by"] = s.created_by
    out["fields"] = [
        {"name": f.name, "type": f.type, **({"compiler_added": True} if f.compiler_added else {})}
        for f in s.fields
    ]
    return out


def layouts_json() -> dict[str, object]:
    """The vendored contract (``tests/data/lottery_multi_layouts.json``)."""
    return {
        "package": "lottery_multi",
        "source": {
            "repository": PACKAGE_REPOSITORY,
            "commit": PACKAGE_COMMIT,
            "sources": PACKAGE_SOURCES,
            "vrf_hub_table": VRF_HUB_TABLE_SOURCE,
        },
        "named_addresses": {
            "lottery_multi": "the package's address (@lottery_multi, also the admin)",
            "vrf_hub": "the package's address (the workspace deploys vrf_hub there)",
            "0x1": "the framework (std, supra_framework)",
        },
        "json_encoding": dict(_JSON_ENCODING),
        "structs": [_struct_json(s) for s in STRUCTS],
        "framework_structs": [_struct_json(s) for s in FRAMEWORK_STRUCTS],
        "native_tables": [
            {"owner": t.owner, "field": t.field, "key_type": t.key_type, "value_type": t.value_type}
            for t in NATIVE_TABLES
        ],
    }
