"""``Backend``: one back end of the gateway contract suite (built by ``conftest.backend``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from autobot.chain.gateway import ChainGateway
from autobot.chain.signer import Signer

__all__ = ["Backend"]


@dataclass
class Backend:
    """A gateway, the demo's admin and operator A, and a way to move chain time on."""

    name: str
    gateway: ChainGateway
    admin: Signer
    operator: Signer
    advance: Callable[[int], Awaitable[None]]
