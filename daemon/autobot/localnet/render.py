"""The node's JSON shapes (Supra RPC OpenAPI, tag supra_rpc_v11.5.2): blocks, events, transactions.

* Block: ``ExecutedBlockInfo`` — ``header`` is ``BlockHeaderInfo`` with ``timestamp`` an
  ``SmrTimestamp`` (µs since the epoch) and ``view.round`` = height (one round per block).
* Event: ``EventV1`` — ``guid`` is ``{"creation_number": "0", "account_address": "0x0"}`` like the
  node's module events; ``sequence_number`` counts the events of that type from 0 (a localnet
  choice: clients may use it to de-duplicate), ``data`` is the model's node JSON.
* Transaction: ``TransactionV3`` — user transactions are ``txn_type: "user"``; the localnet's
  system transactions (oracle, price pusher, buyers, treasury) are ``txn_type: "automated"``
  (executed by the chain on an account's behalf, no sequence number), with authenticator
  ``{"LocalnetSystem": {"actor"}}``.
  ``output.Move.vm_status`` is ``"Executed successfully"`` or the abort text of
  ``autobot.chain.aborts.format_vm_status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from autobot.localnet.store import BlockHeader, EventRow

__all__ = [
    "SUCCESS_VM_STATUS",
    "block_header_json",
    "block_json",
    "event_json",
    "event_with_context_json",
    "transaction_json",
]

SUCCESS_VM_STATUS = "Executed successfully"
_AUTHOR = "0x" + "00" * 31 + "01"


def block_header_json(block: BlockHeader, *, chain_id: int) -> dict[str, object]:
    return {
        "author": _AUTHOR,
        "hash": block.hash,
        "height": block.height,
        "parent": block.parent,
        "timestamp": {"timestamp": block.timestamp_us},
        "view": {"epoch_id": {"chain_id": chain_id, "epoch": 1}, "round": block.height},
    }


def block_json(
    block: BlockHeader, *, chain_id: int, user_txns: int, system_txns: int
) -> dict[str, object]:
    return {
        "header": block_header_json(block, chain_id=chain_id),
        "execution_statistics": {
            "automated_txn_count": system_txns,
            "automated_txn_gas_unit_price": None,
            "block_gas_unit_price_min": None,
            "block_gas_unit_price_max": None,
            "block_total_user_gas_used": None,
            "block_total_automated_gas_used": None,
            "user_txn_count": user_txns,
            "automation_record_count": 0,
        },
    }


def event_json(
    type_tag: str, sequence_number: int, data: Mapping[str, object]
) -> dict[str, object]:
    return {
        "guid": {"creation_number": "0", "account_address": "0x0"},
        "sequence_number": str(sequence_number),
        "type": type_tag,
        "data": dict(data),
    }


def event_with_context_json(row: EventRow) -> dict[str, object]:
    return {
        "event": event_json(row.type, row.sequence_number, row.data),
        "block_height": row.block_height,
        "transaction_hash": row.tx_hash,
    }


def transaction_json(
    *,
    txn_type: str,
    tx_hash: str,
    authenticator: Mapping[str, object],
    header: Mapping[str, object],
    payload: Mapping[str, object],
    status: str,
    block_header: Mapping[str, object] | None = None,
    events: Sequence[Mapping[str, object]] | None = None,
    vm_status: str | None = None,
    gas_used: int = 0,
) -> dict[str, object]:
    """``TransactionV3`` (or, without ``txn_type``, ``TransactionInfoV2``) JSON."""
    out: dict[str, object] = {
        "authenticator": dict(authenticator),
        "block_header": None if block_header is None else dict(block_header),
        "hash": tx_hash,
        "header": dict(header),
        "payload": dict(payload),
        "output": None
        if vm_status is None
        else {"Move": {"gas_used": gas_used, "events": list(events or []), "vm_status": vm_status}},
        "status": status,
    }
    if txn_type:
        out["txn_type"] = txn_type
    return out
