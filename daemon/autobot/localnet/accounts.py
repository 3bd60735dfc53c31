"""The localnet's well-known development accounts (like anvil's): derived, never random.

Every key is ``sha3-256(b"autobot-localnet-dev-key:" + label)`` used as an ed25519 seed, with
labels ``admin`` and ``operator-A`` … ``operator-D`` (the spare ``operator-E`` … ``operator-J``
only where a scenario registers them). The addresses follow from the keys the way the
chain derives them (``sha3-256(public key ‖ 0x00)``, the SDK's ``AccountAddress.from_key``).
The localnet dVRF's signing key (not an account) is derived the same way with label
``dvrf-oracle``, in ``autobot.localnet.model.dvrf``.

The package is published at the admin's address: ``lottery_multi`` checks ``signer ==
@lottery_multi``, so on the localnet ``@lottery_multi`` is the admin account and
``package_address == admin.address``.

These keys are public knowledge. They are printed by ``autobot localnet`` and returned by
``GET /localnet/v1/info``; never fund or trust them anywhere else.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from supra_sdk.account import Account

__all__ = [
    "OPERATOR_NAMES",
    "DevAccount",
    "DevAccounts",
    "dev_accounts",
    "normalise_address",
]

_HEX = re.compile(r"[0-9a-fA-F]{1,64}")
_LABEL_PREFIX = b"autobot-localnet-dev-key:"
OPERATOR_NAMES: tuple[str, ...] = ("A", "B", "C", "D")
"""The well-known operators, in the order scenarios index them (the demo registers A and B)."""
SPARE_OPERATOR_NAMES: tuple[str, ...] = ("E", "F", "G", "H", "I", "J")
"""More operators, derived the same way, for scenarios that register more than four bots
(benchmarks: ten timelocked operators); scenarios index them after D (``operator = 4`` is E)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DevAccount:
    """One development key pair. ``repr`` shows the address only."""

    name: str
    address: str  # 0x + 64 lowercase hex
    private_key: str  # 0x + 64 lowercase hex, the SDK's ``Account.load_key`` format

    def __repr__(self) -> str:
        return f"DevAccount(name={self.name!r}, address={self.address!r})"

    def sdk_account(self) -> Account:
        """The ``supra_sdk`` account for this key."""
        return Account.load_key(self.private_key)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "private_key": self.private_key}


@dataclass(frozen=True, slots=True, kw_only=True)
class DevAccounts:
    """The admin (also the package address) and the operators A to D (or to J, with spares)."""

    admin: DevAccount
    operators: tuple[DevAccount, ...]

    @property
    def package_address(self) -> str:
        return self.admin.address

    def operator(self, name: str) -> DevAccount:
        for op in self.operators:
            if op.name == name:
                return op
        raise KeyError(name)

    def by_address(self, address: str) -> DevAccount | None:
        wanted = normalise_address(address)
        for account in (self.admin, *self.operators):
            if account.address == wanted:
                return account
        return None


def _derive(name: str, label: str) -> DevAccount:
    seed = hashlib.sha3_256(_LABEL_PREFIX + label.encode()).hexdigest()
    account = Account.load_key(seed)
    return DevAccount(
        name=name, address=normalise_address(str(account.address())), private_key=f"0x{seed}"
    )


def dev_accounts(*, spares: bool = False) -> DevAccounts:
    """The fixed development accounts (pure; the same on every machine); ``spares`` adds E to J."""
    names = OPERATOR_NAMES + (SPARE_OPERATOR_NAMES if spares else ())
    return DevAccounts(
        admin=_derive("admin", "admin"),
        operators=tuple(_derive(name, f"operator-{name}") for name in names),
    )


def normalise_address(address: str) -> str:
    """``0x1`` / ``0X00ab…`` / 64 hex → ``0x`` + 64 lowercase hex. Raises ``ValueError``."""
    text = address.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    if _HEX.fullmatch(text) is None:
        raise ValueError(f"address must be 1 to 64 hex digits after 0x, got {address!r}")
    return "0x" + text.lower().rjust(64, "0")
