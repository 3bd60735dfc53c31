"""The node's RPC v3 envelopes decoded strictly: blocks, accounts, transactions, events.

Shapes follow the node's OpenAPI spec (``ExecutedBlockInfo``, ``AccountData``,
``TransactionInfoV2``/``TransactionV3``, ``EventsV3``), with the spec's known defect patched:
``EventsV3.data`` is a list on real nodes (a single object is also accepted). Only the fields
autobot uses are required; everything else is ignored.
"""

from __future__ import annotations

import json

from autobot.chain.aborts import parse_vm_status
from autobot.chain.codec import array, fail, field, hex_string, obj, uint
from autobot.chain.gateway import ChainEvent, SimResult, TxOutcome, TxStatus
from autobot.errors import MoveAbort, RpcProtocolError

__all__ = [
    "MAX_BODY_BYTES",
    "abort_from_vm_status",
    "decode_account_sequence",
    "decode_block",
    "decode_events",
    "decode_simulation",
    "decode_submit",
    "decode_transaction",
    "error_message",
    "parse_json",
]

MAX_BODY_BYTES = 16 << 20
"""Largest response body parsed (16 MiB); a bigger one is a protocol error, not a memory spike."""

_STATES = {
    "Pending": TxStatus.PENDING,
    "PendingAfterExecution": TxStatus.PENDING,
    "Success": TxStatus.SUCCESS,
    "Fail": TxStatus.FAILED,
    "Invalid": TxStatus.INVALID,
}


def parse_json(content: bytes, what: str) -> object:
    """Parse a response body; garbage, oversized or absurdly nested JSON → ``RpcProtocolError``."""
    if len(content) > MAX_BODY_BYTES:
        raise RpcProtocolError(f"{what}: response body of {len(content)} bytes is too large")
    try:
        return json.loads(content)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        # ValueError covers JSONDecodeError and integers over Python's digit limit.
        raise RpcProtocolError(f"{what}: response is not JSON ({type(exc).__name__})") from exc


def error_message(content: bytes) -> str:
    """The ``ErrResp.message`` of an error body, else its text; at most 300 characters."""
    text = content[:4096].decode("utf-8", "replace")
    try:
        body = json.loads(content) if len(content) <= 65536 else None
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def abort_from_vm_status(vm_status: str) -> MoveAbort | None:
    """A ``MoveAbort`` (named by ``chain/aborts.py``) if ``vm_status`` reports one."""
    parsed = parse_vm_status(vm_status)
    if parsed is None:
        return None
    return MoveAbort(
        code=parsed.code, name=parsed.name, module=parsed.module, vm_status=vm_status[:500]
    )


def decode_block(body: object) -> tuple[int, int]:
    """``GET rpc/v3/block`` → (timestamp in µs, height)."""
    header = obj(field(obj(body, "block"), "header", "block"), "block.header")
    stamp = obj(field(header, "timestamp", "block.header"), "block.header.timestamp")
    micros = uint(field(stamp, "timestamp", "block.header.timestamp"), "block.header.timestamp")
    height = uint(field(header, "height", "block.header"), "block.header.height")
    return micros, height


def decode_account_sequence(body: object) -> int:
    """``GET rpc/v3/accounts/{address}`` → ``sequence_number``."""
    return uint(
        field(obj(body, "account"), "sequence_number", "account"), "account.sequence_number"
    )


def decode_submit(body: object) -> str:
    """``POST rpc/v3/transactions/submit`` → the transaction hash (``0x`` + 64 hex)."""
    text = hex_string(body, "submit", max_bytes=32)
    if len(text) != 66:
        fail("submit", f"expected a 32-byte hash, got {text!r}")
    return text


def _event(raw: object, path: str, *, block_height: int, tx_hash: str) -> ChainEvent:
    o = obj(raw, path)
    type_ = field(o, "type", path)
    if not isinstance(type_, str) or not 0 < len(type_) <= 512:
        fail(f"{path}.type", "expected an event type string")
    data = field(o, "data", path)
    if not isinstance(data, dict):
        fail(f"{path}.data", "expected an object")
    seq_raw = o.get("sequence_number")
    return ChainEvent(
        type=type_,
        data=data,
        block_height=block_height,
        tx_hash=tx_hash,
        sequence_number=None if seq_raw is None else uint(seq_raw, f"{path}.sequence_number"),
    )


def _move_output(raw: object, path: str) -> tuple[str, int, list[object]]:
    """(vm_status, gas_used, raw events) of a ``TransactionOutputV1``; other VMs → empty."""
    if raw is None or isinstance(raw, str):  # absent while pending, or "Empty"
        return "", 0, []
    output = obj(raw, path)
    if "Move" not in output:
        return "", 0, []
    move = obj(output["Move"], f"{path}.Move")
    vm_status = field(move, "vm_status", f"{path}.Move")
    if not isinstance(vm_status, str):
        fail(f"{path}.Move.vm_status", "expected a string")
    gas_used = uint(field(move, "gas_used", f"{path}.Move"), f"{path}.Move.gas_used")
    events = array(field(move, "events", f"{path}.Move"), f"{path}.Move.events")
    return vm_status, gas_used, events


def _state(body: object, path: str) -> TxStatus:
    status = field(obj(body, path), "status", path)
    if not isinstance(status, str) or status not in _STATES:
        fail(f"{path}.status", f"unknown transaction status {str(status)[:40]!r}")
    return _STATES[status]


def decode_transaction(body: object, tx_hash: str) -> TxOutcome:
    """``GET rpc/v3/transactions/{hash}`` (``TransactionV3``) → ``TxOutcome``."""
    path = "transaction"
    o = obj(body, path)
    state = _state(o, path)
    vm_status, gas_used, raw_events = _move_output(o.get("output"), f"{path}.output")
    height: int | None = None
    header = o.get("block_header")
    if header is not None:
        height = uint(field(obj(header, f"{path}.block_header"), "height", path), f"{path}.height")
    events = tuple(
        _event(e, f"{path}.output.Move.events[{i}]", block_height=height or 0, tx_hash=tx_hash)
        for i, e in enumerate(raw_events)
    )
    abort = abort_from_vm_status(vm_status) if state == TxStatus.FAILED else None
    return TxOutcome(
        tx_hash=tx_hash,
        state=state,
        vm_status=vm_status,
        abort=abort,
        block_height=height,
        gas_used=gas_used,
        events=events,
    )


def decode_simulation(body: object) -> SimResult:
    """``POST rpc/v3/transactions/simulate`` (``TransactionInfoV2``) → ``SimResult``."""
    path = "simulation"
    o = obj(body, path)
    state = _state(o, path)
    vm_status, gas_used, raw_events = _move_output(o.get("output"), f"{path}.output")
    events = tuple(
        _event(e, f"{path}.output.Move.events[{i}]", block_height=0, tx_hash="")
        for i, e in enumerate(raw_events)
    )
    success = state == TxStatus.SUCCESS
    return SimResult(
        success=success,
        vm_status=vm_status,
        gas_used=gas_used,
        abort=None if success else abort_from_vm_status(vm_status),
        events=events,
    )


def decode_events(body: object) -> tuple[ChainEvent, ...]:
    """``GET rpc/v3/events/{type}`` (``EventsV3``; ``data`` a list, or one object)."""
    data = field(obj(body, "events"), "data", "events")
    items = [data] if isinstance(data, dict) else array(data, "events.data")
    out: list[ChainEvent] = []
    for i, raw in enumerate(items):
        path = f"events.data[{i}]"
        item = obj(raw, path)
        height = uint(field(item, "block_height", path), f"{path}.block_height")
        tx_hash = hex_string(field(item, "transaction_hash", path), f"{path}.transaction_hash")
        out.append(
            _event(
                field(item, "event", path), f"{path}.event", block_height=height, tx_hash=tx_hash
            )
        )
    return tuple(out)
