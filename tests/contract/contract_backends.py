"""``Backend``: one back end of the gateway contract suite (built by ``conftest.backend``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from autobot.chain.gateway import ChainGateway
from autobot.chain.signer import Signer

__all__ = ["Backend"]


@dataclass
class Backend:
    """A gateway, the demo's admin and operator A, a way to move chain time on, and one to
    deploy the feature switch otherwise (``deploy_switch(draw)``: ``None`` never initialised,
    ``True`` force-enabled, ``False`` entries for every feature with DRAW disabled — a choice
    made at deployment: no entry function lifts ``force_enable_devnet``)."""

    name: str
    gateway: ChainGateway
    admin: Signer
    operator: Signer
    advance: Callable[[int], Awaitable[None]]
    deploy_switch: Callable[[bool | None], None]
