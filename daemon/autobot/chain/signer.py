"""Signing keys and signed-transaction assembly over ``supra_sdk``.

``Signer`` wraps an SDK ``Account``. It never renders key material: ``repr``/``str`` show the
address only, and there is no accessor for the private key. Key files are read (with permission
checks) elsewhere; this module only wraps the ``Account`` they produce.

``signed_transaction_bytes`` builds the ``RawTransaction`` itself, because the SDK's
``create_raw_transaction`` treats sequence number 0 as "fetch it" (a bug for a fresh account) and
fetches gas price and chain id per call; autobot owns its sequence numbers and passes everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supra_sdk.account import Account
from supra_sdk.authenticator import Authenticator, MultiAgentAuthenticator
from supra_sdk.transactions import (
    EntryFunction,
    MultiAgentRawTransaction,
    RawTransaction,
    SignedTransaction,
    SupraTransaction,
    TransactionPayload,
)

from autobot.domain.values import Address, normalise_address

__all__ = ["Signer", "signed_transaction_bytes"]


class Signer:
    """One account's signing key. Shows its address, never its key."""

    __slots__ = ("_account", "address")

    def __init__(self, account: Any) -> None:
        if not isinstance(account, Account):
            raise TypeError("Signer wraps a supra_sdk.account.Account")
        self._account = account
        self.address: Address = normalise_address(str(account.address()))

    @classmethod
    def generate(cls) -> Signer:
        """A fresh random key (tests, localnet accounts)."""
        return cls(Account.generate())

    @classmethod
    def from_private_key_hex(cls, key_hex: str) -> Signer:
        """From a hex ed25519 private key (``0x`` optional). The text is not kept."""
        try:
            account = Account.load_key(key_hex)
        except Exception as exc:  # nacl raises its own types for a bad length or encoding
            raise ValueError("not a hex ed25519 private key") from exc
        return cls(account)

    @property
    def account(self) -> Any:
        """The wrapped SDK ``Account`` (for SDK calls only; never log it)."""
        return self._account

    def public_key_hex(self) -> str:
        return str(self._account.public_key())

    def sign(self, raw: Any) -> Any:
        """An ``AccountAuthenticator`` over ``raw`` (a ``RawTransaction`` or multi-agent one)."""
        return self._account.sign_transaction(raw)

    def sign_simulated(self, raw: Any) -> Any:
        """An authenticator with a zeroed signature: what the simulate endpoint requires."""
        return self._account.sign_simulated_transaction(raw)

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pickling would copy the key out of the process
        raise TypeError("Signer cannot be pickled")


def signed_transaction_bytes(
    *,
    entry_function: Any,
    sender: Signer,
    sequence_number: int,
    max_gas_amount: int,
    gas_unit_price: int,
    expires_at: int,
    chain_id: int,
    secondary: Sequence[Signer] = (),
    simulate: bool = False,
) -> bytes:
    """BCS ``SupraTransaction`` bytes of ``entry_function`` signed by ``sender`` (+ secondary).

    With ``secondary`` the transaction is multi-agent (``MultiAgentRawTransaction`` signed by
    every party, ``MultiAgentAuthenticator``). With ``simulate`` every signature is zeroed.
    """
    if not isinstance(entry_function, EntryFunction):
        raise TypeError("entry_function must be a supra_sdk EntryFunction")
    raw = RawTransaction(
        _sdk_address(sender),
        sequence_number,
        TransactionPayload(entry_function),
        max_gas_amount,
        gas_unit_price,
        expires_at,
        chain_id,
    )

    def auth(signer: Signer, message: Any) -> Any:
        return signer.sign_simulated(message) if simulate else signer.sign(message)

    if secondary:
        multi = MultiAgentRawTransaction(raw, [_sdk_address(s) for s in secondary])
        authenticator: Any = Authenticator(
            MultiAgentAuthenticator(
                auth(sender, multi), [(_sdk_address(s), auth(s, multi)) for s in secondary]
            )
        )
    else:
        authenticator = auth(sender, raw)
    signed = SignedTransaction(raw, authenticator)
    return bytes(SupraTransaction(signed).to_bytes())


def _sdk_address(signer: Signer) -> Any:
    return signer.account.address()
