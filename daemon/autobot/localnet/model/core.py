"""Building blocks of the package model: aborts, events, BCS bytes, node JSON, and the undo log.

Atomicity without copying the world: a call runs against the live state, and every write goes
through an ``UndoLog`` that remembers the *first* value of each table slot it touches (a shallow
copy; state records hold only immutable members, see ``state.py``). An abort replays the log
backwards, so a failed call costs what it touched, not the size of the state, and events are only
handed out when the call returns normally (an abort drops them, as in Move).

BCS here is the small subset the package hashes (integers, bool, bytes, addresses, vectors); the
byte layouts follow the Move BCS rules (little-endian integers, ULEB128 lengths, 32-byte addresses).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NoReturn

from autobot.chain.aborts import format_vm_status
from autobot.localnet.model.state import PackageState

__all__ = [
    "TABLE_ADDRESS",
    "TABLE_NOT_FOUND",
    "U64_MAX",
    "Args",
    "ArithmeticAbort",
    "CallContext",
    "LotteryStatus",
    "ModelAbort",
    "ModelEvent",
    "RetryStrategy",
    "UndoLog",
    "VrfStatus",
    "add_u64",
    "bcs_address",
    "bcs_bool",
    "bcs_bytes",
    "bcs_u8",
    "bcs_u16",
    "bcs_u64",
    "bcs_u256",
    "bcs_vector",
    "j_bytes",
    "j_u64",
    "normalise_address",
    "sha3",
]

TABLE_ADDRESS = "0x" + "0" * 63 + "1"
"""Missing table rows abort in the framework's ``0x1::table`` module, not in the package."""
TABLE_NOT_FOUND = 0x6507
"""The framework's table ``NOT_FOUND`` abort (a borrow of a missing key, e.g. an unknown lottery id)."""
U64_MAX = 2**64 - 1


class LotteryStatus(IntEnum):
    """Lottery statuses (``types.move``); the u8 values are what the chain stores."""

    DRAFT = 0
    ACTIVE = 1
    CLOSING = 2
    DRAW_REQUESTED = 3
    DRAWN = 4
    PAYOUT = 5
    FINALIZED = 6
    CANCELED = 7


class VrfStatus(IntEnum):
    """Per-lottery VRF state status (``types.move``)."""

    IDLE = 0
    REQUESTED = 1
    FULFILLED = 2
    FAILED = 3


class RetryStrategy(IntEnum):
    """VRF retry policy strategies (``types.move``)."""

    FIXED = 0
    EXPONENTIAL = 1
    MANUAL = 2


class ModelAbort(Exception):
    """A Move abort raised by the model; the call changed nothing and emitted nothing.

    ``module`` is the module whose code aborted (``cancellation`` for the cancel inside a VRF
    exhaustion, ``roles`` for a PayoutBatchCap check inside a payout call). ``address`` is the
    module's account: ``None`` means the package itself; framework aborts (a missing table row,
    ``0x1::table``) and the dVRF module (``supra_vrf``) carry their own address.
    """

    def __init__(self, code: int, module: str, *, address: str | None = None) -> None:
        super().__init__(f"abort {code:#x} in {module}")
        self.code = code
        self.module = module
        self.address = address

    def vm_status(self, package: str) -> str:
        """The node's ``vm_status`` text for this abort (see ``autobot.chain.aborts``)."""
        return format_vm_status(self.address or package, self.module, self.code)


class ArithmeticAbort(ModelAbort):
    """A u64 overflow: the Move VM stops the transaction with ``ARITHMETIC_ERROR``, no abort code.

    Raised where the package adds amounts a caller can push past u64 (ticket sales); like any
    abort, the call changed nothing.
    """

    def __init__(self, module: str) -> None:
        super().__init__(0, module)

    def vm_status(self, package: str) -> str:
        return "ARITHMETIC_ERROR"


def add_u64(module: str, *values: int) -> int:
    """The sum of ``values``, or ``ArithmeticAbort`` if it does not fit in a u64."""
    total = sum(values)
    if total > U64_MAX:
        raise ArithmeticAbort(module)
    return total


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEvent:
    """One emitted event: ``0x<package>::<module>::<Struct>`` and its fields in node JSON."""

    type_tag: str
    data: Mapping[str, object]


def normalise_address(address: str) -> str:
    """``0x`` + 64 lowercase hex; accepts short forms (``0x1``) and upper case."""
    body = address.lower().removeprefix("0x")
    if not body or len(body) > 64 or any(c not in "0123456789abcdef" for c in body):
        raise ValueError(f"not an account address: {address!r}")
    return "0x" + body.rjust(64, "0")


def sha3(data: bytes) -> bytes:
    """sha3-256, the package's only hash."""
    return hashlib.sha3_256(data).digest()


# --- BCS ------------------------------------------------------------------------------------


def _uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def bcs_u8(value: int) -> bytes:
    return value.to_bytes(1, "little")


def bcs_u16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def bcs_u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def bcs_u256(value: int) -> bytes:
    return value.to_bytes(32, "little")


def bcs_bool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def bcs_bytes(value: bytes) -> bytes:
    return _uleb128(len(value)) + value


def bcs_address(address: str) -> bytes:
    return bytes.fromhex(normalise_address(address)[2:])


def bcs_vector[T](items: Sequence[T], encode: Callable[[T], bytes]) -> bytes:
    return _uleb128(len(items)) + b"".join(encode(item) for item in items)


# --- node JSON ------------------------------------------------------------------------------


def j_u64(value: int) -> str:
    """u64/u128/u256 are decimal strings in node JSON (u8/u16 stay numbers)."""
    return str(value)


def j_bytes(value: bytes) -> str:
    """``vector<u8>`` is ``0x`` + lowercase hex (``"0x"`` when empty)."""
    return "0x" + value.hex()


# --- transactions ---------------------------------------------------------------------------


def _discard[K, V](table: MutableMapping[K, V], key: K) -> None:
    if key in table:
        del table[key]


class UndoLog:
    """Remembers the first value of every table slot a call writes, to restore it on abort.

    It also tells what a call wrote (``written``: ``(id(table), key)`` per slot, ``id(list)`` per
    appended list), which the node uses to persist only the rows that changed.
    """

    __slots__ = ("_appended", "_steps", "_touched")

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []
        self._touched: set[tuple[int, object]] = set()
        self._appended: set[int] = set()

    @property
    def written(self) -> tuple[frozenset[tuple[int, object]], frozenset[int]]:
        """The table slots and the lists this call wrote (by ``id`` of the table or list)."""
        return frozenset(self._touched), frozenset(self._appended)

    def touch[K, V](self, table: MutableMapping[K, V], key: K) -> None:
        """Snapshot ``table[key]`` (or its absence) once per call, before the first write."""
        marker = (id(table), key)
        if marker in self._touched:
            return
        self._touched.add(marker)
        if key not in table:
            self._steps.append(lambda: _discard(table, key))
        else:
            saved = copy.copy(table[key])
            self._steps.append(lambda: table.__setitem__(key, saved))

    def append[T](self, items: list[T], item: T) -> None:
        """Append to a list, remembering its length."""
        length = len(items)
        self._steps.append(lambda: items.__delitem__(slice(length, None)))
        self._appended.add(id(items))
        items.append(item)

    def rollback(self) -> None:
        for step in reversed(self._steps):
            step()
        self._steps.clear()
        self._touched.clear()
        self._appended.clear()


class Args:
    """An entry function's non-signer arguments, read by position with a type check.

    The node hands over decoded values (``int``, ``bool``, ``str`` addresses, ``bytes``,
    ``list[int]``, ``int | None``); a wrong Python type is a caller bug, so it raises
    ``TypeError`` rather than a Move abort.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[object]) -> None:
        self._values = values

    def _get(self, index: int) -> object:
        return self._values[index]

    def u(self, index: int) -> int:
        value = self._get(index)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError(f"argument {index}: expected an unsigned integer, got {value!r}")
        return value

    def flag(self, index: int) -> bool:
        value = self._get(index)
        if not isinstance(value, bool):
            raise TypeError(f"argument {index}: expected bool, got {value!r}")
        return value

    def raw(self, index: int) -> bytes:
        value = self._get(index)
        if not isinstance(value, bytes | bytearray):
            raise TypeError(f"argument {index}: expected bytes, got {value!r}")
        return bytes(value)

    def addr(self, index: int) -> str:
        value = self._get(index)
        if not isinstance(value, str):
            raise TypeError(f"argument {index}: expected an address, got {value!r}")
        return normalise_address(value)

    def u64s(self, index: int) -> tuple[int, ...]:
        value = self._get(index)
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
        ):
            raise TypeError(f"argument {index}: expected a list of integers, got {value!r}")
        return tuple(value)

    def opt(self, index: int) -> int | None:
        value = self._get(index)
        return None if value is None else self.u(index)

    def opt_addr(self, index: int) -> str | None:
        value = self._get(index)
        return None if value is None else self.addr(index)


@dataclass(slots=True, kw_only=True)
class CallContext:
    """What a running entry function sees: state, signers, the undo log and the events so far."""

    package: str
    state: PackageState
    signers: tuple[str, ...]
    vrf_retry: str = "intent"
    undo: UndoLog = field(default_factory=UndoLog)
    events: list[ModelEvent] = field(default_factory=list)

    def abort(self, code: int, module: str, *, address: str | None = None) -> NoReturn:
        raise ModelAbort(code, module, address=address)

    def emit(self, module: str, struct: str, fields: Iterable[tuple[str, object]]) -> None:
        """Record an event of ``0x<package>::<module>::<struct>`` with fields in node JSON."""
        self.events.append(
            ModelEvent(type_tag=f"{self.package}::{module}::{struct}", data=dict(fields))
        )

    def write[K, V](self, table: MutableMapping[K, V], key: K) -> V:
        """The live record at ``table[key]``, snapshotted for rollback; mutate it in place."""
        self.undo.touch(table, key)
        return table[key]

    def put[K, V](self, table: MutableMapping[K, V], key: K, value: V) -> None:
        self.undo.touch(table, key)
        table[key] = value

    def delete[K, V](self, table: MutableMapping[K, V], key: K) -> None:
        self.undo.touch(table, key)
        del table[key]

    def is_admin(self) -> bool:
        return bool(self.signers) and self.signers[0] == self.package
