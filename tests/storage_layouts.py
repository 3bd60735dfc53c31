"""The vendored Move layouts (``tests/data/lottery_multi_layouts.json``) as a checker and decoder.

``VendoredLayouts(package)`` reads the vendored file (not the localnet's code) and:

* ``check(type_string, value, path)`` walks a value served in node JSON against the layout of its
  type, field by field: names exactly as declared, struct fields in sorted order (as nodes print
  them), every primitive in its JSON encoding (u8/u16/u32 numbers in range, u64/u128/u256 decimal
  strings in range, 0x + 64-hex addresses, 0x-hex ``vector<u8>``, ``{"vec": [...]}`` options,
  ``{"handle"}`` tables, event handles); it returns the native tables it met (handle, key type,
  value type) so a walker can read their items, and records every struct type it checked;
* ``decode(type_string, data)`` decodes Move BCS (declaration order) back to node JSON with the
  SDK's ``Deserializer`` (trailing bytes refused).

Type strings use the vendored named addresses (``lottery_multi``, ``vrf_hub``); both resolve to
``package``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supra_sdk.bcs import Deserializer

from autobot.localnet.storage.typetags import TypeTag, parse_type

LAYOUTS_PATH = Path(__file__).parent / "data" / "lottery_multi_layouts.json"
_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u128": 128, "u256": 256}
_ADDRESS = re.compile(r"0x[0-9a-f]{64}")
_HEX = re.compile(r"0x([0-9a-f]{2})*")


def vendored() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LAYOUTS_PATH.read_text())
    return data


@dataclass(frozen=True, slots=True)
class SeenTable:
    handle: str
    key_type: str  # canonical type strings, as a request names them
    value_type: str
    path: str  # where it was met, e.g. "Registry.lotteries"


@dataclass
class VendoredLayouts:
    package: str
    data: dict[str, Any] = field(default_factory=vendored)
    checked: set[str] = field(default_factory=set)  # struct types (vendored names) checked

    def __post_init__(self) -> None:
        self.named = {"lottery_multi": self.package, "vrf_hub": self.package}
        self.by_id: dict[tuple[str, str, str], dict[str, Any]] = {}
        for s in self.data["structs"] + self.data["framework_structs"]:
            named, module, name = s["type"].split("::")
            address = self.named.get(named, "0x" + "0" * 63 + "1")
            self.by_id[(address, module, name)] = s

    def tag(self, text: str) -> TypeTag:
        return parse_type(text, named=self.named)

    def layout(self, tag: TypeTag) -> dict[str, Any]:
        found = self.by_id.get((tag.address, tag.module, tag.name))
        assert found is not None, f"no vendored layout for {tag}"
        return found

    def fields(self, tag: TypeTag) -> list[tuple[str, TypeTag]]:
        layout = self.layout(tag)
        params = dict(zip(layout["type_params"], tag.args, strict=True))
        return [
            (f["name"], parse_type(f["type"], named=self.named, params=params))
            for f in layout["fields"]
        ]

    # --- node JSON ---------------------------------------------------------------------------

    def check(self, type_string: str, value: object, path: str) -> list[SeenTable]:
        tables: list[SeenTable] = []
        self._check(self.tag(type_string), value, path, tables)
        return tables

    def _check(self, tag: TypeTag, value: object, path: str, tables: list[SeenTable]) -> None:
        where = f"{path} ({tag})"
        if not tag.is_struct and tag.name in _BITS:
            bits = _BITS[tag.name]
            if bits <= 32:
                assert isinstance(value, int) and not isinstance(value, bool), where
                assert 0 <= value < 2**bits, where
            else:
                assert isinstance(value, str) and value.isdigit(), where
                assert int(value) < 2**bits and str(int(value)) == value, where
        elif tag.name == "bool" and not tag.is_struct:
            assert isinstance(value, bool), where
        elif tag.name == "address" and not tag.is_struct:
            assert isinstance(value, str) and _ADDRESS.fullmatch(value), where
        elif tag.name == "vector" and tag.args[0] == TypeTag("u8"):
            assert isinstance(value, str) and _HEX.fullmatch(value), where
        elif tag.name == "vector":
            assert isinstance(value, list), where
            for i, item in enumerate(value):
                self._check(tag.args[0], item, f"{path}[{i}]", tables)
        elif tag.address == "0x" + "0" * 63 + "1" and tag.module == "table":
            assert isinstance(value, dict) and list(value) == ["handle"], where
            assert isinstance(value["handle"], str) and _ADDRESS.fullmatch(value["handle"]), where
            tables.append(SeenTable(value["handle"], str(tag.args[0]), str(tag.args[1]), path))
        elif tag.address == "0x" + "0" * 63 + "1" and tag.module == "option":
            assert isinstance(value, dict) and list(value) == ["vec"], where
            assert isinstance(value["vec"], list) and len(value["vec"]) <= 1, where
            for item in value["vec"]:
                self._check(tag.args[0], item, f"{path}.vec[0]", tables)
        else:
            assert tag.is_struct, where
            fields = self.fields(tag)
            assert isinstance(value, dict), where
            names = [name for name, _ in fields]
            assert sorted(value) == sorted(names), f"{where}: fields {list(value)} != {names}"
            assert list(value) == sorted(names), f"{where}: fields not sorted by name"
            self.checked.add(self.layout(tag)["type"])
            for name, field_tag in fields:
                self._check(field_tag, value[name], f"{path}.{name}", tables)

    # --- BCS ---------------------------------------------------------------------------------

    def decode(self, type_string: str, data: bytes) -> object:
        reader = Deserializer(data)
        value = self._decode(self.tag(type_string), reader)
        assert reader.remaining() == 0, f"{reader.remaining()} trailing bytes after {type_string}"
        return value

    def _decode(self, tag: TypeTag, reader: Deserializer) -> object:
        if not tag.is_struct and tag.name in _BITS:
            number = int(getattr(reader, tag.name)())
            return number if _BITS[tag.name] <= 32 else str(number)
        if tag.name == "bool" and not tag.is_struct:
            return reader.bool()
        if tag.name == "address" and not tag.is_struct:
            return "0x" + bytes(reader.fixed_bytes(32)).hex()
        if tag.name == "vector" and tag.args[0] == TypeTag("u8"):
            return "0x" + bytes(reader.to_bytes()).hex()
        if tag.name == "vector":
            return [self._decode(tag.args[0], reader) for _ in range(reader.uleb128())]
        return {name: self._decode(t, reader) for name, t in self.fields(tag)}
