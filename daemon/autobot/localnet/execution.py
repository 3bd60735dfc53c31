"""Running one transaction against the package model and recording it as the node reports it.

``execute`` calls the model: ``Success`` with its events, or ``Fail`` with the abort's
``vm_status`` (the model guarantees an abort changed nothing). ``EventLedger`` numbers events
(a global id for paging, a per-type sequence number). The ``*_row`` functions build the stored
``TransactionRow`` with its ``TransactionV3`` JSON.

System transactions (oracle, price pusher, buyers, treasury) are hashed as
``sha3-256(b"LOCALNET::SystemTransaction" || u64 system counter || actor:module::function)``:
unique per chain, since the counter is persisted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import structlog

from autobot.localnet.admission import DecodedTransaction
from autobot.localnet.arguments import to_json_argument
from autobot.localnet.mempool import PendingTransaction
from autobot.localnet.model import ENTRY_FUNCTIONS, ModelAbort, ModelEvent, PackageModel
from autobot.localnet.oracle import SystemCall
from autobot.localnet.render import SUCCESS_VM_STATUS, event_json, transaction_json
from autobot.localnet.store import BlockHeader, EventRow, TransactionRow

__all__ = [
    "GAS_USED",
    "EventLedger",
    "Outcome",
    "execute",
    "invalid_row",
    "system_hash",
    "system_row",
    "user_json",
    "user_row",
]

log = structlog.get_logger()

GAS_USED = 100
"""The localnet does not meter gas; every executed call reports this much."""
_MICROS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status: str  # "Success" | "Fail"
    vm_status: str
    events: list[ModelEvent]

    @property
    def success(self) -> bool:
        return self.status == "Success"


def execute(
    model: PackageModel,
    *,
    module: str,
    function: str,
    signers: Sequence[str],
    args: Sequence[object],
    simulate: bool = False,
    system: bool = False,
) -> Outcome:
    """Run one entry function with its signer arguments (none for ``vrf_callback``).

    ``system`` marks the localnet's own actors (``oracle.SystemCall``); a user transaction's
    ``signers`` are ``DecodedTransaction.signer_arguments``. ``simulate`` undoes the call
    afterwards (``PackageModel.simulate``): the outcome only.
    """
    try:
        if simulate:
            events = model.simulate(module, function, signers=signers, args=args)
        else:
            events = model.call(module, function, signers=signers, args=args, system=system)
    except ModelAbort as abort:
        return Outcome(status="Fail", vm_status=abort.vm_status(model.package_address), events=[])
    except Exception as exc:  # a model bug: report it as the VM reports an invariant violation
        log.exception("localnet_model_crashed", module=module, function=function)
        return Outcome(
            status="Fail", vm_status=f"UNKNOWN_INVARIANT_VIOLATION_ERROR: {exc!r}", events=[]
        )
    return Outcome(status="Success", vm_status=SUCCESS_VM_STATUS, events=list(events))


class EventLedger:
    """Numbers events: a global id (oldest first, the events cursor) and a per-type sequence."""

    def __init__(self, *, counts: Mapping[str, int], next_id: int) -> None:
        self._counts = dict(counts)
        self._next_id = next_id

    @property
    def counts(self) -> Mapping[str, int]:
        """Events recorded so far, by type tag (a live read-only view)."""
        return MappingProxyType(self._counts)

    def record(self, events: Sequence[ModelEvent], *, tx_hash: str, height: int) -> list[EventRow]:
        rows: list[EventRow] = []
        for event in events:
            seq = self._counts.get(event.type_tag, 0)
            self._counts[event.type_tag] = seq + 1
            rows.append(
                EventRow(
                    id=self._next_id,
                    type=event.type_tag,
                    sequence_number=seq,
                    block_height=height,
                    tx_hash=tx_hash,
                    data=dict(event.data),
                )
            )
            self._next_id += 1
        return rows

    def preview(self, events: Sequence[ModelEvent]) -> list[dict[str, object]]:
        """The JSON ``events`` would get if recorded now (simulation), without recording them."""
        counts: dict[str, int] = {}
        out: list[dict[str, object]] = []
        for event in events:
            seq = self._counts.get(event.type_tag, 0) + counts.get(event.type_tag, 0)
            counts[event.type_tag] = counts.get(event.type_tag, 0) + 1
            out.append(event_json(event.type_tag, seq, event.data))
        return out


def _events_json(rows: Sequence[EventRow]) -> list[dict[str, object]]:
    return [event_json(r.type, r.sequence_number, r.data) for r in rows]


def user_json(
    tx: DecodedTransaction,
    *,
    status: str,
    txn_type: str = "user",
    block_header: Mapping[str, object] | None = None,
    events: Sequence[Mapping[str, object]] = (),
    vm_status: str | None = None,
) -> dict[str, object]:
    return transaction_json(
        txn_type=txn_type,
        tx_hash=tx.hash,
        authenticator=tx.authenticator_json,
        header=tx.header_json(),
        payload=tx.payload_json,
        status=status,
        block_header=block_header,
        events=events,
        vm_status=vm_status,
        gas_used=GAS_USED if vm_status is not None else 0,
    )


def invalid_row(pending: PendingTransaction) -> TransactionRow:
    """A pending transaction dropped because it expired before its turn."""
    tx = pending.tx
    return TransactionRow(
        hash=tx.hash,
        kind="user",
        sender=tx.sender,
        sequence_number=tx.sequence_number,
        body=tx.body,
        status="Invalid",
        json=user_json(tx, status="Invalid"),
        block_height=None,
        position=None,
        accepted_wall=pending.accepted_wall,
        executed_wall=None,
    )


def user_row(
    pending: PendingTransaction,
    outcome: Outcome,
    events: Sequence[EventRow],
    *,
    block: BlockHeader,
    block_header: Mapping[str, object],
    position: int,
    executed_wall: float,
) -> TransactionRow:
    tx = pending.tx
    return TransactionRow(
        hash=tx.hash,
        kind="user",
        sender=tx.sender,
        sequence_number=tx.sequence_number,
        body=tx.body,
        status=outcome.status,
        json=user_json(
            tx,
            status=outcome.status,
            block_header=block_header,
            events=_events_json(events),
            vm_status=outcome.vm_status,
        ),
        block_height=block.height,
        position=position,
        accepted_wall=pending.accepted_wall,
        executed_wall=executed_wall,
    )


def system_hash(counter: int, call: SystemCall) -> str:
    digest = hashlib.sha3_256(b"LOCALNET::SystemTransaction")
    digest.update(counter.to_bytes(8, "little"))
    digest.update(f"{call.actor}:{call.module}::{call.function}".encode())
    return "0x" + digest.hexdigest()


def system_row(
    call: SystemCall,
    outcome: Outcome,
    events: Sequence[EventRow],
    *,
    tx_hash: str,
    package_address: str,
    chain_id: int,
    block: BlockHeader,
    block_header: Mapping[str, object],
    position: int,
    accepted_wall: float,
    executed_wall: float,
) -> TransactionRow:
    signature = ENTRY_FUNCTIONS[(call.module, call.function)]
    payload = {
        "Move": {
            "type": "entry_function_payload",
            "function": f"{package_address}::{call.module}::{call.function}",
            "type_arguments": [],
            "arguments": [
                to_json_argument(p.type, v)
                for p, v in zip(signature.params, call.args, strict=True)
            ],
        }
    }
    header = {
        "chain_id": chain_id,
        "expiration_timestamp": {"timestamp": block.timestamp_us + 600 * _MICROS},
        "sender": call.sender,
        "sequence_number": 0,
        "gas_unit_price": 0,
        "max_gas_amount": GAS_USED,
    }
    body = transaction_json(
        txn_type="automated",
        tx_hash=tx_hash,
        authenticator={"LocalnetSystem": {"actor": call.actor}},
        header=header,
        payload=payload,
        status=outcome.status,
        block_header=block_header,
        events=_events_json(events),
        vm_status=outcome.vm_status,
        gas_used=GAS_USED,
    )
    return TransactionRow(
        hash=tx_hash,
        kind="system",
        sender=call.sender,
        sequence_number=None,
        body=None,
        status=outcome.status,
        json=body,
        block_height=block.height,
        position=position,
        accepted_wall=accepted_wall,
        executed_wall=executed_wall,
    )
