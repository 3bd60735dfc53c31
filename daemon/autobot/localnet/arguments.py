"""Move argument values: BCS blobs of entry functions and JSON of views, by Move type string.

Entry-function arguments arrive as one BCS blob per parameter (the SDK's ``EntryFunction.args``);
the node decodes each with the model's parameter table (``model.abi``) and refuses a blob that is
truncated, malformed or has trailing bytes. View arguments arrive as node JSON.

Python values handed to the model: unsigned integers as ``int``, ``bool``, addresses as ``0x`` +
64 lowercase hex ``str``, ``vector<u8>`` as ``bytes``, ``vector<u64>`` as ``list[int]``,
``Option<u64>`` as ``int | None``, ``Option<address>`` as ``str | None``.

Node JSON (what the node prints): u8/u16 as numbers, u64/u128 as decimal strings, addresses and
bytes as ``0x`` hex, ``Option`` as ``{"vec": []}`` / ``{"vec": [x]}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from supra_sdk.bcs import Deserializer

from autobot.localnet.accounts import normalise_address

__all__ = ["ArgumentError", "decode_bcs_argument", "from_json_argument", "to_json_argument"]

_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u128": 128, "u256": 256}
_OPTION_U64 = "0x1::option::Option<u64>"
_OPTION_ADDRESS = "0x1::option::Option<address>"
_HEX_BYTES = re.compile(r"0x([0-9a-fA-F]{2})*")
_DECIMAL = re.compile(r"[0-9]{1,80}")


class ArgumentError(ValueError):
    """An argument does not decode as its declared Move type."""


def _read_fixed(deserializer: Deserializer, move_type: str) -> object:
    readers: dict[str, Callable[[], object]] = {
        "u8": deserializer.u8,
        "u16": deserializer.u16,
        "u32": deserializer.u32,
        "u64": deserializer.u64,
        "u128": deserializer.u128,
        "u256": deserializer.u256,
        "bool": deserializer.bool,
        "vector<u8>": deserializer.to_bytes,
    }
    if move_type in readers:
        return readers[move_type]()
    if move_type == "address":
        return "0x" + bytes(deserializer.fixed_bytes(32)).hex()
    if move_type == "vector<u64>":
        return [int(v) for v in deserializer.sequence(Deserializer.u64)]
    if move_type in (_OPTION_U64, _OPTION_ADDRESS):
        length = deserializer.uleb128()
        if length == 0:
            return None
        if length == 1:
            if move_type == _OPTION_U64:
                return int(deserializer.u64())
            return "0x" + bytes(deserializer.fixed_bytes(32)).hex()
        raise ArgumentError(f"{move_type.removeprefix('0x1::option::')} with {length} elements")
    raise ArgumentError(f"unsupported Move type {move_type}")


def decode_bcs_argument(move_type: str, blob: bytes) -> object:
    """Decode one entry-function argument; the blob must be consumed exactly."""
    deserializer = Deserializer(blob)
    try:
        value = _read_fixed(deserializer, move_type)
    except ArgumentError:
        raise
    except Exception as exc:  # the SDK raises bare Exception on truncated or malformed input
        raise ArgumentError(f"malformed {move_type}: {exc}") from exc
    if deserializer.remaining() != 0:
        raise ArgumentError(f"{deserializer.remaining()} trailing byte(s) after {move_type}")
    return value


def to_json_argument(move_type: str, value: object) -> object:
    """A decoded value in node JSON."""
    if move_type in ("u8", "u16", "u32"):
        return value
    if move_type in _BITS:
        return str(value)
    if move_type == "vector<u8>":
        assert isinstance(value, bytes | bytearray)
        return "0x" + bytes(value).hex()
    if move_type == "vector<u64>":
        assert isinstance(value, list)
        return [str(v) for v in value]
    if move_type == _OPTION_U64:
        return {"vec": [] if value is None else [str(value)]}
    if move_type == _OPTION_ADDRESS:
        return {"vec": [] if value is None else [value]}
    return value  # bool, address


def _int(move_type: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ArgumentError(f"expected {move_type}, got a boolean")
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, str) and _DECIMAL.fullmatch(raw):
        number = int(raw, 10)
    else:
        raise ArgumentError(f"expected {move_type} as a decimal string or number, got {raw!r}")
    if not 0 <= number < 2 ** _BITS[move_type]:
        raise ArgumentError(f"{number} is out of range for {move_type}")
    return number


def from_json_argument(move_type: str, raw: object) -> object:
    """A view argument given in node JSON (or the string forms the CLI uses) → Python value."""
    if move_type in _BITS:
        return _int(move_type, raw)
    if move_type == "bool":
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "false"):
            return raw == "true"
        raise ArgumentError(f"expected bool, got {raw!r}")
    if move_type == "address":
        return _address(raw)
    if move_type == "vector<u8>":
        if not isinstance(raw, str) or _HEX_BYTES.fullmatch(raw) is None:
            raise ArgumentError(f"expected vector<u8> as 0x-prefixed hex, got {raw!r}")
        return bytes.fromhex(raw[2:])
    if move_type == "vector<u64>":
        if not isinstance(raw, list):
            raise ArgumentError(f"expected vector<u64> as a list, got {raw!r}")
        return [_int("u64", item) for item in raw]
    if move_type == _OPTION_U64:
        if isinstance(raw, dict) and set(raw) == {"vec"} and isinstance(raw["vec"], list):
            items = raw["vec"]
            if len(items) > 1:
                raise ArgumentError("Option<u64> with more than one element")
            return _int("u64", items[0]) if items else None
        raise ArgumentError(f'expected Option<u64> as {{"vec": [...]}}, got {raw!r}')
    if move_type == _OPTION_ADDRESS:
        if isinstance(raw, dict) and set(raw) == {"vec"} and isinstance(raw["vec"], list):
            items = raw["vec"]
            if len(items) > 1:
                raise ArgumentError("Option<address> with more than one element")
            return _address(items[0]) if items else None
        raise ArgumentError(f'expected Option<address> as {{"vec": [...]}}, got {raw!r}')
    raise ArgumentError(f"unsupported Move type {move_type}")


def _address(raw: object) -> str:
    if not isinstance(raw, str):
        raise ArgumentError(f"expected an address string, got {raw!r}")
    try:
        return normalise_address(raw)
    except ValueError as exc:
        raise ArgumentError(str(exc)) from None
