"""The localnet dVRF's key: it signs callback messages; ``supra_vrf`` verifies and derives numbers.

Supra's dVRF answers a request with a signature of the request's message; ``supra_vrf::
verify_callback`` checks that signature against the dVRF's public key and derives the random
numbers from it, so whoever submits ``draw::vrf_callback`` (it takes no signer), only the dVRF
can make one verify. The localnet's dVRF signs with ed25519 (a real dVRF uses threshold BLS) under
a development key derived like the dev accounts of ``autobot.localnet.accounts``:

    seed      = sha3-256(b"autobot-localnet-dev-key:" + b"dvrf-oracle")   (the ed25519 seed)
    signature = ed25519 signature of the message under seed    (RFC 8032: deterministic, 64 bytes)
    number[i] = little-endian u256 of sha3-256(b"autobot-localnet/dvrf-number" || signature || BCS u64 i)

The key is public knowledge like the dev accounts' (anyone who computes it can answer a request;
never trust it anywhere else), but a signature made without it does not verify. Verification is
libsodium's (PyNaCl), which also refuses a non-canonical encoding of a valid signature, so the
numbers of a request cannot be changed by re-encoding its signature. (Unlike a VRF proof an ed25519
signature is not unique: the key's holder could sign with another nonce; the localnet's dVRF never
does, so a request's numbers follow from its message alone.)
"""

from __future__ import annotations

from functools import cache

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey

from autobot.localnet.model.core import bcs_u64, sha3

__all__ = ["DVRF_KEY_LABEL", "numbers", "public_key", "sign", "verify"]

DVRF_KEY_LABEL = "dvrf-oracle"
"""The dev-key label of the localnet dVRF's signing key."""
_DEV_KEY_PREFIX = b"autobot-localnet-dev-key:"  # the scheme of autobot.localnet.accounts
_NUMBER_DOMAIN = b"autobot-localnet/dvrf-number"


@cache
def _signing_key() -> SigningKey:
    return SigningKey(sha3(_DEV_KEY_PREFIX + DVRF_KEY_LABEL.encode()))


def public_key() -> bytes:
    """The dVRF's 32-byte ed25519 public key, which ``verify_callback`` checks signatures against."""
    return bytes(_signing_key().verify_key)


def sign(message: bytes) -> bytes:
    """The localnet dVRF's 64-byte signature of a request message."""
    return bytes(_signing_key().sign(message).signature)


def verify(message: bytes, signature: bytes) -> bool:
    """True if ``signature`` is a valid ed25519 signature of ``message`` by the dVRF's key."""
    try:
        _signing_key().verify_key.verify(message, signature)
    except CryptoError:  # BadSignatureError, or a signature that is not 64 bytes long
        return False
    return True


def numbers(signature: bytes, rng_count: int) -> tuple[int, ...]:
    """The ``rng_count`` random u256 numbers a verified ``signature`` gives."""
    return tuple(
        int.from_bytes(sha3(_NUMBER_DOMAIN + signature + bcs_u64(i)), "little")
        for i in range(rng_count)
    )
