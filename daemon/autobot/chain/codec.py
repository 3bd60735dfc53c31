"""Move values in and out: node JSON → domain values, ``Call`` → BCS, and the action hash.

Reading is strict. A node (or anything answering on its port) can send anything, so every field
is checked for presence, type and range, and a bad one raises ``RpcProtocolError`` naming its
path (``list_automation_bots[2].failure_count: expected u64, got '-1'``). Nothing else escapes:
no ``KeyError``, no ``ValueError`` from ``int()``, no enum ``ValueError``. Integers are accepted as
JSON numbers or decimal strings (nodes print u8/u16 as numbers and u64/u128 as strings), never as
booleans, floats, signs or whitespace; ``Option<T>`` must be ``{"vec": []}`` or ``{"vec": [x]}``;
``vector<u8>`` and addresses must be ``0x`` hex. Unknown extra fields are ignored so a newer node
that adds a field still works.

Writing goes through the SDK's BCS ``Serializer`` so that the bytes autobot hashes are the bytes
the node decodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from supra_sdk.account_address import AccountAddress
from supra_sdk.bcs import Serializer
from supra_sdk.transactions import EntryFunction, ModuleId

from autobot.domain.calls import (
    U8,
    U16,
    U64,
    U128,
    Address,
    Bool,
    Bytes,
    Call,
    MoveArg,
    OptU64,
    VecU64,
)
from autobot.domain.values import MAX_U64, normalise_address
from autobot.domain.values import Address as AddressStr
from autobot.errors import RpcProtocolError

__all__ = [
    "action_hash",
    "action_preimage",
    "array",
    "boolean",
    "encode_arg",
    "entry_function",
    "enum_value",
    "fail",
    "field",
    "hex_bytes",
    "hex_string",
    "obj",
    "option",
    "uint",
    "view_arguments",
    "view_result",
]

MAX_HEX_BYTES = 1 << 20
"""Largest ``vector<u8>`` accepted from a node (1 MiB); autobot's own fields are < 1 KiB."""
MAX_ARRAY = 100_000
"""Longest JSON array accepted from a node."""
_MAX_DIGITS = 40  # a u128 has 39 decimal digits; longer strings are refused before int()
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")


# -- strict JSON readers --------------------------------------------------------------------


def fail(path: str, what: str) -> NoReturn:
    """Raise ``RpcProtocolError`` for the field at ``path``."""
    raise RpcProtocolError(f"{path}: {what}")


def _show(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def obj(raw: object, path: str) -> Mapping[str, object]:
    """A JSON object."""
    if not isinstance(raw, dict):
        fail(path, f"expected an object, got {_show(raw)}")
    return raw


def field(o: Mapping[str, object], name: str, path: str) -> object:
    """``o[name]``; missing → ``RpcProtocolError`` naming ``path.name``."""
    if name not in o:
        fail(f"{path}.{name}", "missing")
    return o[name]


def uint(raw: object, path: str, bits: int = 64) -> int:
    """An unsigned integer of ``bits`` bits, as a JSON number or a decimal string."""
    if isinstance(raw, bool):
        fail(path, f"expected u{bits}, got a boolean")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and 0 < len(raw) <= _MAX_DIGITS and _DIGITS.issuperset(raw):
        value = int(raw, 10)
    else:
        fail(path, f"expected u{bits}, got {_show(raw)}")
    if not 0 <= value < (1 << bits):
        fail(path, f"expected u{bits}, got {_show(raw)} (out of range)")
    return value


def boolean(raw: object, path: str) -> bool:
    if not isinstance(raw, bool):
        fail(path, f"expected a boolean, got {_show(raw)}")
    return raw


def hex_string(raw: object, path: str, *, max_bytes: int = MAX_HEX_BYTES) -> str:
    """``0x`` followed by an even number of hex digits (returned lower-cased)."""
    if (
        not isinstance(raw, str)
        or not raw.startswith("0x")
        or len(raw) % 2
        or len(raw) > 2 + 2 * max_bytes
        or not _HEX.issuperset(raw[2:])
    ):
        fail(path, f"expected 0x-prefixed hex bytes, got {_show(raw)}")
    return raw.lower()


def hex_bytes(raw: object, path: str) -> bytes:
    """A ``vector<u8>`` as ``0x`` hex (``"0x"`` is empty)."""
    return bytes.fromhex(hex_string(raw, path)[2:])


def address(raw: object, path: str) -> AddressStr:
    if not isinstance(raw, str):
        fail(path, f"expected an address, got {_show(raw)}")
    try:
        return normalise_address(raw)
    except ValueError:
        fail(path, f"expected an address, got {_show(raw)}")


def array(raw: object, path: str) -> list[object]:
    if not isinstance(raw, list):
        fail(path, f"expected an array, got {_show(raw)}")
    if len(raw) > MAX_ARRAY:
        fail(path, f"array of {len(raw)} items is too long")
    return raw


def option(raw: object, path: str) -> object | None:
    """``{"vec": []}`` → ``None``; ``{"vec": [x]}`` → ``x`` (undecoded)."""
    items = array(field(obj(raw, path), "vec", path), f"{path}.vec")
    if len(items) > 1:
        fail(f"{path}.vec", f"an Option holds at most one value, got {len(items)}")
    return items[0] if items else None


def enum_value[E](raw: object, path: str, cls: Callable[[int], E], bits: int = 8) -> E:
    """An unsigned integer that must be a member of the ``IntEnum`` ``cls``."""
    value = uint(raw, path, bits)
    try:
        return cls(value)
    except ValueError:
        fail(path, f"unknown value {value}")


def view_result(body: object, count: int, what: str) -> list[object]:
    """The ``result`` array of a view response, which must hold exactly ``count`` values."""
    result = array(field(obj(body, what), "result", what), f"{what}.result")
    if len(result) != count:
        fail(f"{what}.result", f"expected {count} value(s), got {len(result)}")
    return result


# -- BCS ------------------------------------------------------------------------------------


def _serialize_arg(ser: Any, arg: MoveArg) -> None:
    match arg:
        case U8(value=v):
            ser.u8(v)
        case U16(value=v):
            ser.u16(v)
        case U64(value=v):
            ser.u64(v)
        case U128(value=v):
            ser.u128(v)
        case Bool(value=v):
            ser.bool(v)
        case Address(value=v):
            AccountAddress(bytes.fromhex(v[2:])).serialize(ser)
        case Bytes(value=v):
            ser.to_bytes(v)
        case VecU64(value=v):
            ser.uleb128(len(v))
            for item in v:
                ser.u64(item)
        case OptU64(value=v):
            # BCS Option<T> is a vector of zero or one T.
            if v is None:
                ser.uleb128(0)
            else:
                ser.uleb128(1)
                ser.u64(v)
        case _:  # a Call refuses these when built; never encode nothing silently
            raise ValueError(f"not a Move argument: {arg!r}")


def encode_arg(arg: MoveArg) -> bytes:
    """The BCS bytes of one argument, exactly as an entry function carries it."""
    ser = Serializer()
    _serialize_arg(ser, arg)
    return bytes(ser.output())


def entry_function(call: Call, package: str) -> Any:
    """The SDK ``EntryFunction`` for ``call`` in ``package`` (no type arguments)."""
    module = ModuleId(AccountAddress(bytes.fromhex(normalise_address(package)[2:])), call.module)
    return EntryFunction(module, call.function, [], [encode_arg(a) for a in call.args])


def action_preimage(
    action_id: int, subject_id: int, calls: Sequence[Call], execute_at: int
) -> bytes:
    """The bytes ``action_hash`` digests: the BCS encoding of the Move-like struct

    ::

        struct ActionPreimage {
            action_id: u64,            // ActionId (1 AUTO_CLOSE ... 7 CANCEL)
            subject_id: u64,           // lottery id, or asset id for feed actions
            calls: vector<CallPreimage>,
            execute_at: u64,           // the chosen execution time (chain seconds)
        }
        struct CallPreimage {
            module: String,            // e.g. "payouts" (the package address is not included)
            function: String,          // e.g. "force_refund_batch_admin"
            args: vector<vector<u8>>,  // each argument's BCS bytes, exactly as in the transaction
        }

    i.e. ``u64 LE ‖ u64 LE ‖ uleb128(len calls) ‖ per call (uleb128 len ‖ utf-8 module ‖
    uleb128 len ‖ utf-8 function ‖ uleb128(len args) ‖ per arg (uleb128 len ‖ bytes)) ‖ u64 LE``.
    Calls keep their order; argument bytes are those of ``encode_arg``.
    """
    header = [action_id, subject_id, execute_at]
    for name, value in zip(("action_id", "subject_id", "execute_at"), header, strict=True):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_U64:
            raise ValueError(f"{name} is not a u64: {value!r}")
    ser = Serializer()
    ser.u64(int(action_id))
    ser.u64(int(subject_id))
    ser.uleb128(len(calls))
    for call in calls:
        ser.str(call.module)
        ser.str(call.function)
        ser.uleb128(len(call.args))
        for arg in call.args:
            ser.to_bytes(encode_arg(arg))
    ser.u64(int(execute_at))
    return bytes(ser.output())


def action_hash(action_id: int, subject_id: int, calls: Sequence[Call], execute_at: int) -> bytes:
    """sha3-256 of ``action_preimage(...)`` (32 bytes; docs/decisions.md §5).

    Deterministic: the same calls with the same arguments and time give the same bytes after a
    restart, so an announced action is finished with exactly the hash that was announced.
    """
    return hashlib.sha3_256(action_preimage(action_id, subject_id, calls, execute_at)).digest()


def _json_arg(arg: MoveArg) -> object:
    match arg:
        case U8(value=v) | U16(value=v):
            return v
        case U64(value=v) | U128(value=v):
            return str(v)
        case Bool(value=v):
            return v
        case Address(value=v):
            return v
        case Bytes(value=v):
            return "0x" + v.hex()
        case VecU64(value=v):
            return [str(item) for item in v]
        case OptU64(value=v):
            return {"vec": [] if v is None else [str(v)]}


def view_arguments(args: Sequence[MoveArg]) -> list[object]:
    """View-request arguments in node JSON (u8/u16 numbers, u64/u128 decimal strings)."""
    return [_json_arg(a) for a in args]
