"""Small values every other domain module uses: account addresses, u64 bounds, chain time.

Addresses are normalised once, where they enter autobot (config, codec): ``0x`` followed by 64
lowercase hex digits. Everything downstream compares plain strings, so ``0x1`` and
``0x000…01`` can never be two different keys of one dictionary.

Chain time is the only clock the domain knows (docs/decisions.md §2): the latest block's
timestamp, in whole seconds for the package's ``now_ts`` arguments, with the height it was read
at and the host wall time at which it was observed (so callers can extrapolate between reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

__all__ = [
    "MAX_U8",
    "MAX_U16",
    "MAX_U64",
    "MAX_U128",
    "Address",
    "ChainTime",
    "is_address",
    "normalise_address",
]

MAX_U8 = 2**8 - 1
MAX_U16 = 2**16 - 1
MAX_U64 = 2**64 - 1
MAX_U128 = 2**128 - 1

Address = NewType("Address", str)
"""An account address in its one canonical spelling: ``0x`` + 64 lowercase hex digits."""

_HEX = frozenset("0123456789abcdef")


def normalise_address(text: str) -> Address:
    """Return ``text`` as ``0x`` + 64 lowercase hex digits.

    Accepts the short forms nodes and humans write (``0x1``, upper-case hex). Raises
    ``ValueError`` for anything that is not an address: no ``0x`` prefix, no digits, more than 64
    digits or a non-hex character. The codec turns that into ``RpcProtocolError`` for responses
    and the config loader into a ``ConfigError`` problem.
    """
    if not isinstance(text, str) or not text[:2].lower() == "0x":
        raise ValueError(f"not an account address: {text!r}")
    body = text[2:].lower()
    if not body or len(body) > 64 or not _HEX.issuperset(body):
        raise ValueError(f"not an account address: {text!r}")
    return Address("0x" + body.rjust(64, "0"))


def is_address(text: object) -> bool:
    """True if ``text`` is already in canonical form (no normalisation needed)."""
    return (
        isinstance(text, str)
        and len(text) == 66
        and text.startswith("0x")
        and _HEX.issuperset(text[2:])
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainTime:
    """The chain's clock as read from the latest block.

    ``seconds`` is what autobot passes as ``now_ts``; ``micros`` keeps the block timestamp's full
    precision; ``height`` is the block height it was read at (``request_draw_admin`` needs a
    closing block height); ``observed_at`` is the host's ``time.time()`` when the block was read.
    """

    seconds: int
    height: int
    micros: int = -1
    observed_at: float = 0.0

    def __post_init__(self) -> None:
        if self.seconds < 0 or self.height < 0:
            raise ValueError("chain time and height are non-negative")
        if self.micros < 0:
            object.__setattr__(self, "micros", self.seconds * 1_000_000)

    @classmethod
    def from_micros(cls, micros: int, *, height: int, observed_at: float = 0.0) -> ChainTime:
        """Build from a block header's microsecond timestamp."""
        return cls(
            seconds=micros // 1_000_000, micros=micros, height=height, observed_at=observed_at
        )
