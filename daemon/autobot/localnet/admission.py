"""Admission checks for a submitted (or simulated) transaction, done like a node's mempool.

The BCS body is decoded with the SDK's own deserializers (``SupraTransaction.deserialize``) and
checked in this order; the first failure refuses the request with a ``Rejected`` whose message
starts with a stable code (Aptos/Supra VM status names), e.g.
``"SEQUENCE_NUMBER_TOO_OLD: account 0x… is at 5, got 3"``:

1. ``DESERIALIZATION_ERROR`` — truncated or malformed BCS, trailing bytes, a non-canonical encoding
   (the body must re-serialise to the same bytes), a payload other than an entry function, an
   authenticator other than Ed25519 or multi-agent Ed25519;
2. ``BAD_CHAIN_ID``;
3. ``INVALID_SIGNATURE`` — on submit the ed25519 signatures must verify; on simulate they must NOT
   (a simulation carries zeroed signatures, like the node requires);
4. ``INVALID_AUTH_KEY`` — sender (and each secondary signer) must be the address derived from the
   public key that signed for it;
5. ``TRANSACTION_EXPIRED`` — expiration compared with the host's wall clock (also at time scale > 1);
6. ``GAS_UNIT_PRICE_BELOW_MIN_BOUND`` / ``MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS``;
7. ``FUNCTION_RESOLUTION_FAILURE`` — not a function of the package's ``ENTRY_FUNCTIONS``;
8. ``NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH``, ``NUMBER_OF_TYPE_ARGUMENTS_MISMATCH``,
   ``NUMBER_OF_ARGUMENTS_MISMATCH``, ``FAILED_TO_DESERIALIZE_ARGUMENT`` (per argument, trailing bytes
   included).

Signers, as the Move VM does it: a function that declares signer parameters needs exactly that many
transaction signers (sender first, then the secondary signers of a multi-agent transaction); a
function that declares none (``draw::vrf_callback``) accepts any sender, and the VM passes it no
signer (``DecodedTransaction.signer_arguments``). Either way every signature is checked and the
sender's sequence number is used.

Sequence-number checks need account state and live in the node (``SEQUENCE_NUMBER_TOO_OLD``,
``SEQUENCE_NUMBER_TOO_NEW``, ``SEQUENCE_NUMBER_ALREADY_PENDING``).

Transaction hash = ``0x`` + sha3-256 of the submitted BCS ``SupraTransaction`` bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from supra_sdk.account_address import AccountAddress
from supra_sdk.authenticator import AccountAuthenticator, Authenticator
from supra_sdk.bcs import Deserializer
from supra_sdk.transactions import SupraTransaction, TransactionPayload

from autobot.localnet.accounts import normalise_address
from autobot.localnet.arguments import ArgumentError, decode_bcs_argument, to_json_argument
from autobot.localnet.model import ENTRY_FUNCTIONS, Param

__all__ = [
    "MIN_GAS_UNIT_PRICE",
    "MIN_MAX_GAS_AMOUNT",
    "DecodedTransaction",
    "RejectCode",
    "Rejected",
    "decode_arguments",
    "decode_transaction",
    "transaction_hash",
]

MIN_GAS_UNIT_PRICE = 100
"""``min_configured_gas_price`` the localnet reports and enforces."""
MIN_MAX_GAS_AMOUNT = 1_000


class RejectCode(StrEnum):
    DESERIALIZATION_ERROR = "DESERIALIZATION_ERROR"
    BAD_CHAIN_ID = "BAD_CHAIN_ID"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    INVALID_AUTH_KEY = "INVALID_AUTH_KEY"
    TRANSACTION_EXPIRED = "TRANSACTION_EXPIRED"
    GAS_UNIT_PRICE_BELOW_MIN_BOUND = "GAS_UNIT_PRICE_BELOW_MIN_BOUND"
    MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS = "MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS"
    FUNCTION_RESOLUTION_FAILURE = "FUNCTION_RESOLUTION_FAILURE"
    INVALID_MAIN_FUNCTION_SIGNATURE = "INVALID_MAIN_FUNCTION_SIGNATURE"  # a view without #[view]
    NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH = "NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH"
    NUMBER_OF_TYPE_ARGUMENTS_MISMATCH = "NUMBER_OF_TYPE_ARGUMENTS_MISMATCH"
    NUMBER_OF_ARGUMENTS_MISMATCH = "NUMBER_OF_ARGUMENTS_MISMATCH"
    FAILED_TO_DESERIALIZE_ARGUMENT = "FAILED_TO_DESERIALIZE_ARGUMENT"
    SEQUENCE_NUMBER_TOO_OLD = "SEQUENCE_NUMBER_TOO_OLD"
    SEQUENCE_NUMBER_TOO_NEW = "SEQUENCE_NUMBER_TOO_NEW"
    SEQUENCE_NUMBER_ALREADY_PENDING = "SEQUENCE_NUMBER_ALREADY_PENDING"
    UNSUPPORTED_CONTENT_TYPE = "UNSUPPORTED_CONTENT_TYPE"


class Rejected(Exception):
    """The node refuses a request: HTTP 400 with ``{"message": "<CODE>: <detail>"}``."""

    def __init__(self, code: RejectCode, detail: str) -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedTransaction:
    """A transaction that passed the stateless checks."""

    hash: str
    body: bytes
    sender: str
    secondary_signers: tuple[str, ...]
    takes_signers: bool  # the entry function declares signer parameters
    sequence_number: int
    module: str
    function: str
    args: tuple[object, ...]
    max_gas_amount: int
    gas_unit_price: int
    expiration_secs: int
    chain_id: int
    authenticator_json: dict[str, object]
    payload_json: dict[str, object]

    @property
    def signers(self) -> tuple[str, ...]:
        """The accounts that signed: the sender, then the secondary signers."""
        return (self.sender, *self.secondary_signers)

    @property
    def signer_arguments(self) -> tuple[str, ...]:
        """The signers the entry function receives: none if it declares no signer parameter."""
        return self.signers if self.takes_signers else ()

    def header_json(self) -> dict[str, object]:
        return {
            "chain_id": self.chain_id,
            "expiration_timestamp": {"timestamp": self.expiration_secs * 1_000_000},
            "sender": self.sender,
            "sequence_number": self.sequence_number,
            "gas_unit_price": self.gas_unit_price,
            "max_gas_amount": self.max_gas_amount,
        }


def transaction_hash(body: bytes) -> str:
    return "0x" + hashlib.sha3_256(body).hexdigest()


def _address(value: Any) -> str:
    return normalise_address(bytes(value.address).hex())


def _ed25519_parts(account_auth: Any) -> tuple[Any, dict[str, object]]:
    """(public key, JSON) of an Ed25519 ``AccountAuthenticator``; refuses other schemes."""
    if account_auth.variant != AccountAuthenticator.ED25519:
        raise Rejected(
            RejectCode.DESERIALIZATION_ERROR, "only Ed25519 account authenticators are supported"
        )
    inner = account_auth.authenticator
    return inner.public_key, {
        "Ed25519": {"public_key": str(inner.public_key), "signature": str(inner.signature)}
    }


def _signers(authenticator: Any) -> tuple[list[tuple[str | None, Any]], dict[str, object]]:
    """[(claimed address or None for the sender, public key)] and the authenticator's JSON."""
    if authenticator.variant == Authenticator.ED25519:
        inner = authenticator.authenticator
        return [(None, inner.public_key)], {
            "Ed25519": {"public_key": str(inner.public_key), "signature": str(inner.signature)}
        }
    if authenticator.variant == Authenticator.MULTI_AGENT:
        multi = authenticator.authenticator
        sender_key, sender_json = _ed25519_parts(multi.sender)
        out: list[tuple[str | None, Any]] = [(None, sender_key)]
        secondaries_json: list[dict[str, object]] = []
        for address, account_auth in multi.secondary_signers:
            key, key_json = _ed25519_parts(account_auth)
            out.append((_address(address), key))
            secondaries_json.append(key_json)
        return out, {
            "MultiAgent": {
                "sender": sender_json,
                "secondary_signer_addresses": [a for a, _ in out[1:]],
                "secondary_signers": secondaries_json,
            }
        }
    raise Rejected(
        RejectCode.DESERIALIZATION_ERROR,
        "only Ed25519 and multi-agent Ed25519 transaction authenticators are supported",
    )


def _deserialize(body: bytes) -> Any:
    deserializer = Deserializer(body)
    try:
        supra_tx = SupraTransaction.deserialize(deserializer)
    except Exception as exc:  # the SDK raises bare Exception (and NotImplementedError) on bad input
        raise Rejected(
            RejectCode.DESERIALIZATION_ERROR, f"cannot decode SupraTransaction: {exc}"
        ) from None
    if deserializer.remaining() != 0:
        raise Rejected(
            RejectCode.DESERIALIZATION_ERROR,
            f"{deserializer.remaining()} trailing byte(s) after the SupraTransaction",
        )
    try:
        canonical = bytes(supra_tx.to_bytes()) == body
    except Exception:
        canonical = False
    if not canonical:
        raise Rejected(RejectCode.DESERIALIZATION_ERROR, "non-canonical BCS encoding")
    return supra_tx.value


def decode_arguments[T](
    module: str,
    function: str,
    params: Sequence[Param],
    raw: Sequence[T],
    decode: Callable[[str, T], object],
) -> list[object]:
    """``raw`` decoded against the function's parameters, as the node checks a call's arguments.

    A wrong count is ``NUMBER_OF_ARGUMENTS_MISMATCH``; an argument ``decode`` (BCS for a
    transaction, JSON for a view) refuses is ``FAILED_TO_DESERIALIZE_ARGUMENT`` naming it.
    """
    if len(raw) != len(params):
        raise Rejected(
            RejectCode.NUMBER_OF_ARGUMENTS_MISMATCH,
            f"{module}::{function} takes {len(params)} argument(s), got {len(raw)}",
        )
    args: list[object] = []
    for index, (param, value) in enumerate(zip(params, raw, strict=True)):
        try:
            args.append(decode(param.type, value))
        except ArgumentError as exc:
            raise Rejected(
                RejectCode.FAILED_TO_DESERIALIZE_ARGUMENT,
                f"argument {index} ({param.name}: {param.type}) of {module}::{function}: {exc}",
            ) from None
    return args


def decode_transaction(
    body: bytes,
    *,
    chain_id: int,
    package_address: str,
    now_wall: float,
    simulate: bool = False,
) -> DecodedTransaction:
    """Decode and check ``body`` (BCS ``SupraTransaction``); raises ``Rejected``."""
    signed = _deserialize(body)
    raw = signed.transaction
    if raw.payload.variant != TransactionPayload.ENTRY_FUNCTION:
        raise Rejected(
            RejectCode.DESERIALIZATION_ERROR, "only entry-function payloads are supported"
        )
    if int(raw.chain_id) != chain_id:
        raise Rejected(
            RejectCode.BAD_CHAIN_ID, f"this node serves chain id {chain_id}, got {raw.chain_id}"
        )
    signer_keys, authenticator_json = _signers(signed.authenticator)
    try:
        valid = bool(signed.verify())
    except Exception:
        valid = False
    if simulate and valid:
        raise Rejected(
            RejectCode.INVALID_SIGNATURE, "a simulated transaction must not carry a valid signature"
        )
    if not simulate and not valid:
        raise Rejected(RejectCode.INVALID_SIGNATURE, "the ed25519 signature does not verify")
    sender = _address(raw.sender)
    for claimed, key in signer_keys:
        derived = _address(AccountAddress.from_key(key))
        address = sender if claimed is None else claimed
        if derived != address:
            raise Rejected(
                RejectCode.INVALID_AUTH_KEY,
                f"account {address} is not controlled by public key {key}",
            )
    if int(raw.expiration_timestamps_secs) <= int(now_wall):
        raise Rejected(
            RejectCode.TRANSACTION_EXPIRED,
            f"expired at {raw.expiration_timestamps_secs}, node wall clock is {int(now_wall)}",
        )
    if int(raw.gas_unit_price) < MIN_GAS_UNIT_PRICE:
        raise Rejected(
            RejectCode.GAS_UNIT_PRICE_BELOW_MIN_BOUND,
            f"gas unit price {raw.gas_unit_price} is below {MIN_GAS_UNIT_PRICE}",
        )
    if int(raw.max_gas_amount) < MIN_MAX_GAS_AMOUNT:
        raise Rejected(
            RejectCode.MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS,
            f"max gas amount {raw.max_gas_amount} is below {MIN_MAX_GAS_AMOUNT}",
        )
    entry = raw.payload.value
    module_address = _address(entry.module.address)
    module, function = str(entry.module.name), str(entry.function)
    signature = ENTRY_FUNCTIONS.get((module, function))
    if module_address != package_address or signature is None:
        raise Rejected(
            RejectCode.FUNCTION_RESOLUTION_FAILURE,
            f"no entry function {module_address}::{module}::{function}",
        )
    if signature.signers and len(signer_keys) != signature.signers:
        raise Rejected(
            RejectCode.NUMBER_OF_SIGNER_ARGUMENTS_MISMATCH,
            f"{module}::{function} takes {signature.signers} signer(s), the transaction has {len(signer_keys)}",
        )
    if entry.ty_args:
        raise Rejected(
            RejectCode.NUMBER_OF_TYPE_ARGUMENTS_MISMATCH,
            f"{module}::{function} takes no type arguments, got {len(entry.ty_args)}",
        )
    blobs = [bytes(b) for b in entry.args]
    args = decode_arguments(module, function, signature.params, blobs, decode_bcs_argument)
    payload_json: dict[str, object] = {
        "Move": {
            "type": "entry_function_payload",
            "function": f"{package_address}::{module}::{function}",
            "type_arguments": [],
            "arguments": [
                to_json_argument(p.type, v) for p, v in zip(signature.params, args, strict=True)
            ],
        }
    }
    return DecodedTransaction(
        hash=transaction_hash(body),
        body=body,
        sender=sender,
        secondary_signers=tuple(c for c, _ in signer_keys[1:] if c is not None),
        takes_signers=signature.signers > 0,
        sequence_number=int(raw.sequence_number),
        module=module,
        function=function,
        args=tuple(args),
        max_gas_amount=int(raw.max_gas_amount),
        gas_unit_price=int(raw.gas_unit_price),
        expiration_secs=int(raw.expiration_timestamps_secs),
        chain_id=int(raw.chain_id),
        authenticator_json=authenticator_json,
        payload_json=payload_json,
    )
