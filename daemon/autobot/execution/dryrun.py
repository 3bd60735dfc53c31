"""Dry-run mode (``[automation] mode = "dry-run"``): simulate and show, never sign or submit.

For a planned action the executor routes it as in live mode and hands this module every
transaction it would send: the operator's ``announce_dry_run`` (timelocked bots), each admin call
of the recipe, and the operator's ``record_success``. Each is simulated (except the record, which
aborts by design while nothing is announced) and logged as ``dry_run_transaction`` with its
function, arguments and sender. Later calls of a multi-call plan may simulate as aborting because
the earlier ones never ran: the log says so, nothing else is concluded from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from autobot.chain.gateway import ChainGateway
from autobot.chain.signer import Signer
from autobot.domain.calls import Call
from autobot.execution.sequencer import Sequencer

__all__ = ["WouldSend", "rehearse"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class WouldSend:
    """One transaction dry-run mode shows instead of sending."""

    call: Call
    sender: Sequencer
    co_signers: tuple[Signer, ...] = ()
    simulate: bool = True


async def rehearse(
    gateway: ChainGateway, transactions: Sequence[WouldSend], *, action_key: str, action_hash: bytes
) -> list[str]:
    """Simulate and log each transaction; returns each simulation's verdict (``ok``/abort name)."""
    verdicts: list[str] = []
    for tx in transactions:
        verdict = "not simulated"
        if tx.simulate:
            sim = await tx.sender.simulate(tx.call, secondary=tx.co_signers)
            if sim.success:
                verdict = "ok"
            else:
                verdict = sim.abort.name if sim.abort is not None else sim.vm_status
        log.info(
            "dry_run_transaction",
            action_key=action_key,
            function=f"{tx.call.module}::{tx.call.function}",
            arguments=[a.render() for a in tx.call.args],
            sender=tx.sender.address,
            co_signers=[s.address for s in tx.co_signers],
            simulated=verdict,
            action_hash="0x" + action_hash.hex(),
        )
        verdicts.append(verdict)
    return verdicts
