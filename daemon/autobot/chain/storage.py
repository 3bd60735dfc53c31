"""Stored Move values, decoded strictly from node JSON or from BCS (docs/package.md §6a).

``decode_json(struct, raw)`` and ``decode_bcs(struct, data)`` turn a resource's or table item's
value into plain Python, by the layout of ``chain/layouts.py``:

=======================  ==================================================================
Move type                Python value
=======================  ==================================================================
``u8`` … ``u256``        ``int`` (JSON: a number or a decimal string)
``bool``                 ``bool``
``address``              ``str``, ``0x`` + 64 lower-case hex digits
``vector<u8>``           ``bytes`` (JSON: ``0x`` hex)
``vector<T>``            ``list``
``Option<T>``            the value, or ``None`` (JSON: ``{"vec": []}`` / ``{"vec": [x]}``)
``Table<K, V>``          the handle, ``str`` (JSON: ``{"handle": "0x…"}``)
``EventHandle<E>``       its ``counter``, ``int`` (the GUID is checked and dropped)
``HubTable<K, V>``       ``list[tuple[K, V]]`` (JSON: ``{"keys": [...], "values": [...]}``)
a struct                 ``dict`` by field name
=======================  ==================================================================

Strict means: a struct must have exactly its declared fields — one missing, one unexpected, or
one of the wrong type raises ``StorageLayoutError`` naming the struct and the field (a node that
serves another layout is not guessed at: the package changed, or the node is wrong); BCS must end
exactly after the last field. Nothing else escapes (no ``KeyError``, no ``struct.error``). Where
a view's JSON tolerates extra fields (``chain/codec.py``), storage does not: a field the package
does not declare means autobot would be decoding a layout it was not written for.
"""

from __future__ import annotations

import functools
import struct as pystruct
from collections.abc import Callable, Mapping

from autobot.chain.layouts import MoveType, fields, parse_type
from autobot.domain.values import normalise_address
from autobot.errors import StorageLayoutError

__all__ = ["MAX_VECTOR", "decode_bcs", "decode_json"]

MAX_VECTOR = 1_000_000
"""Longest vector accepted (a registry of a million lotteries is far beyond any deployment)."""
_MAX_DIGITS = 78  # a u256 has 78 decimal digits
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdef")


class _Bad(Exception):
    """A leaf value that is not its type; the enclosing struct names where it was."""


def _show(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _layout_error(struct: str, field: str, path: str, what: str) -> StorageLayoutError:
    where = f"{struct}.{field}" if field else struct
    at = f" (at {path})" if path and path != where else ""
    return StorageLayoutError(f"{where}: {what}{at}", struct=struct, field=field, path=path)


# -- JSON -----------------------------------------------------------------------------------

type JsonDecoder = Callable[[object, str], object]


def decode_json(struct: str, raw: object) -> dict[str, object]:
    """``raw`` (node JSON) as the struct ``struct`` (``module::Struct``)."""
    value = _json(parse_type(struct))(raw, struct)
    assert isinstance(value, dict)
    return value


def _uint_json(bits: int) -> JsonDecoder:
    def decode(raw: object, path: str) -> int:
        if isinstance(raw, bool):
            raise _Bad(f"expected u{bits}, got a boolean")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and 0 < len(raw) <= _MAX_DIGITS and _DIGITS.issuperset(raw):
            value = int(raw)
        else:
            raise _Bad(f"expected u{bits}, got {_show(raw)}")
        if value >> bits:
            raise _Bad(f"expected u{bits}, got {_show(raw)} (out of range)")
        return value

    return decode


def _bool_json(raw: object, path: str) -> bool:
    if not isinstance(raw, bool):
        raise _Bad(f"expected a boolean, got {_show(raw)}")
    return raw


def _address_json(raw: object, path: str) -> str:
    if not isinstance(raw, str):
        raise _Bad(f"expected an address, got {_show(raw)}")
    try:
        return normalise_address(raw)
    except ValueError:
        raise _Bad(f"expected an address, got {_show(raw)}") from None


def _bytes_json(raw: object, path: str) -> bytes:
    if (
        not isinstance(raw, str)
        or not raw.startswith("0x")
        or len(raw) % 2
        or not _HEX.issuperset(raw[2:].lower())
    ):
        raise _Bad(f"expected 0x-prefixed hex bytes, got {_show(raw)}")
    return bytes.fromhex(raw[2:])


def _list(raw: object) -> list[object]:
    if not isinstance(raw, list):
        raise _Bad(f"expected a list, got {_show(raw)}")
    if len(raw) > MAX_VECTOR:
        raise _Bad(f"a list of {len(raw)} items is too long")
    return raw


def _exact(raw: object, names: tuple[str, ...], what: str) -> Mapping[str, object]:
    if not isinstance(raw, dict) or set(raw) != set(names):
        raise _Bad(f"expected {what} {{{', '.join(names)}}}, got {_show(raw)}")
    return raw


@functools.cache
def _json(t: MoveType) -> JsonDecoder:
    match t.kind:
        case "u8" | "u16" | "u32" | "u64" | "u128" | "u256":
            return _uint_json(int(t.kind[1:]))
        case "bool":
            return _bool_json
        case "address":
            return _address_json
        case "vector" if t.is_bytes:
            return _bytes_json
        case "vector":
            return _vector_json(_json(t.args[0]))
        case "Option":
            return _option_json(_json(t.args[0]))
        case "Table":
            return _table_json
        case "EventHandle":
            return _event_handle_json
        case "HubTable":
            return _hub_table_json(_json(t.args[0]), _json(t.args[1]))
        case "struct":
            return _struct_json(t.name)
    raise ValueError(f"no JSON decoder for {t}")


def _vector_json(item: JsonDecoder) -> JsonDecoder:
    def decode(raw: object, path: str) -> list[object]:
        out = []
        for i, element in enumerate(_list(raw)):
            try:
                out.append(item(element, f"{path}[{i}]"))
            except _Bad as exc:
                raise _Bad(f"[{i}]: {exc}") from None
        return out

    return decode


def _option_json(item: JsonDecoder) -> JsonDecoder:
    def decode(raw: object, path: str) -> object:
        values = _list(_exact(raw, ("vec",), "an Option")["vec"])
        if len(values) > 1:
            raise _Bad(f"an Option holds at most one value, got {len(values)}")
        if not values:
            return None
        try:
            return item(values[0], f"{path}.vec[0]")
        except _Bad as exc:
            raise _Bad(f"vec[0]: {exc}") from None

    return decode


def _table_json(raw: object, path: str) -> str:
    handle = _exact(raw, ("handle",), "a table")["handle"]
    try:
        return _address_json(handle, path)
    except _Bad:
        raise _Bad(f"expected a table handle, got {_show(handle)}") from None


_U64 = _uint_json(64)


def _event_handle_json(raw: object, path: str) -> int:
    handle = _exact(raw, ("counter", "guid"), "an event handle")
    guid = _exact(handle["guid"], ("id",), "a GUID")
    ident = _exact(guid["id"], ("addr", "creation_num"), "a GUID id")
    _address_json(ident["addr"], path)
    _U64(ident["creation_num"], path)
    counter: int = _U64(handle["counter"], path)  # type: ignore[assignment]
    return counter


def _hub_table_json(key: JsonDecoder, value: JsonDecoder) -> JsonDecoder:
    def decode(raw: object, path: str) -> list[tuple[object, object]]:
        table = _exact(raw, ("keys", "values"), "a vrf_hub table")
        keys, values = _list(table["keys"]), _list(table["values"])
        if len(keys) != len(values):
            raise _Bad(f"{len(keys)} keys but {len(values)} values")
        out = []
        for i, (k, v) in enumerate(zip(keys, values, strict=True)):
            try:
                out.append((key(k, f"{path}.keys[{i}]"), value(v, f"{path}.values[{i}]")))
            except _Bad as exc:
                raise _Bad(f"entry {i}: {exc}") from None
        return out

    return decode


def _struct_json(name: str) -> JsonDecoder:
    # resolved on first use: a struct's fields may name structs declared after it
    layout: list[tuple[str, JsonDecoder]] = []
    names: set[str] = set()

    def decode(raw: object, path: str) -> dict[str, object]:
        if not layout:
            layout.extend((f, _json(t)) for f, t in fields(name))
            names.update(f for f, _ in layout)
        if not isinstance(raw, dict):
            raise _layout_error(name, "", path, f"expected an object, got {_show(raw)}")
        if len(raw) != len(layout) or not names.issuperset(raw):
            missing = [f for f, _ in layout if f not in raw]
            extra = sorted(str(k) for k in raw if k not in names)
            if missing:
                raise _layout_error(name, missing[0], f"{path}.{missing[0]}", "missing")
            raise _layout_error(name, extra[0], f"{path}.{extra[0]}", "unexpected field")
        out: dict[str, object] = {}
        for field_name, decoder in layout:
            at = f"{path}.{field_name}"
            try:
                out[field_name] = decoder(raw[field_name], at)
            except _Bad as exc:
                raise _layout_error(name, field_name, at, str(exc)) from None
        return out

    return decode


# -- BCS ------------------------------------------------------------------------------------


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise _Bad(f"the bytes end early (needed {n} at offset {self.pos})")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def length(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 28:
                raise _Bad("a length longer than 32 bits")
        if value > MAX_VECTOR or value > len(self.data) - self.pos:
            raise _Bad(f"a length of {value} beyond the bytes left")
        return value


type BcsDecoder = Callable[[_Reader, str], object]


def decode_bcs(struct: str, data: bytes) -> dict[str, object]:
    """``data`` (Move BCS, fields in declaration order) as the struct ``struct``."""
    reader = _Reader(bytes(data))
    value = _bcs(parse_type(struct))(reader, struct)
    if reader.pos != len(reader.data):
        extra = len(reader.data) - reader.pos
        raise _layout_error(struct, "", struct, f"{extra} byte(s) after the last field")
    assert isinstance(value, dict)
    return value


def _uint_bcs(bits: int) -> BcsDecoder:
    size = bits // 8

    def decode(r: _Reader, path: str) -> int:
        return int.from_bytes(r.take(size), "little")

    return decode


def _bool_bcs(r: _Reader, path: str) -> bool:
    byte = r.take(1)[0]
    if byte > 1:
        raise _Bad(f"a boolean byte of {byte}")
    return byte == 1


def _address_bcs(r: _Reader, path: str) -> str:
    return "0x" + r.take(32).hex()


def _bytes_bcs(r: _Reader, path: str) -> bytes:
    return r.take(r.length())


def _u64s_bcs(r: _Reader, path: str) -> list[int]:
    n = r.length()
    return list(pystruct.unpack(f"<{n}Q", r.take(8 * n)))


@functools.cache
def _bcs(t: MoveType) -> BcsDecoder:
    match t.kind:
        case "u8" | "u16" | "u32" | "u64" | "u128" | "u256":
            return _uint_bcs(int(t.kind[1:]))
        case "bool":
            return _bool_bcs
        case "address" | "Table":
            return _address_bcs
        case "vector" if t.is_bytes:
            return _bytes_bcs
        case "vector" if t.args[0].kind == "u64":
            return _u64s_bcs
        case "vector":
            return _vector_bcs(_bcs(t.args[0]))
        case "Option":
            return _option_bcs(_bcs(t.args[0]))
        case "EventHandle":
            return _event_handle_bcs
        case "HubTable":
            return _hub_table_bcs(_bcs(t.args[0]), _bcs(t.args[1]))
        case "struct":
            return _struct_bcs(t.name)
    raise ValueError(f"no BCS decoder for {t}")


def _vector_bcs(item: BcsDecoder) -> BcsDecoder:
    def decode(r: _Reader, path: str) -> list[object]:
        return [item(r, f"{path}[{i}]") for i in range(r.length())]

    return decode


def _option_bcs(item: BcsDecoder) -> BcsDecoder:
    def decode(r: _Reader, path: str) -> object:
        n = r.length()
        if n > 1:
            raise _Bad(f"an Option holds at most one value, got {n}")
        return item(r, f"{path}.vec[0]") if n else None

    return decode


def _event_handle_bcs(r: _Reader, path: str) -> int:
    counter = int.from_bytes(r.take(8), "little")
    r.take(8 + 32)  # guid.id: creation_num, addr
    return counter


def _hub_table_bcs(key: BcsDecoder, value: BcsDecoder) -> BcsDecoder:
    def decode(r: _Reader, path: str) -> list[tuple[object, object]]:
        keys = [key(r, f"{path}.keys[{i}]") for i in range(r.length())]
        values = [value(r, f"{path}.values[{i}]") for i in range(r.length())]
        if len(keys) != len(values):
            raise _Bad(f"{len(keys)} keys but {len(values)} values")
        return list(zip(keys, values, strict=True))

    return decode


def _struct_bcs(name: str) -> BcsDecoder:
    layout: list[tuple[str, BcsDecoder]] = []

    def decode(r: _Reader, path: str) -> dict[str, object]:
        if not layout:
            layout.extend((f, _bcs(t)) for f, t in fields(name))
        out: dict[str, object] = {}
        for field_name, decoder in layout:
            at = f"{path}.{field_name}"
            try:
                out[field_name] = decoder(r, at)
            except _Bad as exc:
                raise _layout_error(name, field_name, at, str(exc)) from None
        return out

    return decode
