"""The localnet's own actors, together: the dVRF oracle and price pusher, the buyers, the treasury.

Each acts through system transactions (docs/decisions.md §11; ``oracle.SystemCall``). The node
asks ``Actors`` once per block for the due calls (``due_calls``: the oracle's callbacks and price
pushes first, then the buyers' purchases, then the treasury's payouts and finalizations), reports
each call's outcome (``settled``) and lets the oracle look at the block's result (``observe``).
The buyers and the treasury exist only when the scenario configures them (``ScenarioInfo.buyers``,
``.treasury``). Persistence: the oracle's state under the store's ``oracle`` key (as before), the
others under ``actors`` (``to_json``/``restore``).
"""

from __future__ import annotations

from collections.abc import Mapping

from autobot.localnet.buyers import Buyers
from autobot.localnet.model import PackageModel
from autobot.localnet.oracle import Oracle, SystemCall
from autobot.localnet.treasury import Treasury

__all__ = ["Actors"]


class Actors:
    def __init__(
        self, *, oracle: Oracle, buyers: Buyers | None = None, treasury: Treasury | None = None
    ) -> None:
        self.oracle = oracle
        self.buyers = buyers
        self.treasury = treasury

    def due_calls(self, *, now_s: int, height: int, model: PackageModel) -> list[SystemCall]:
        """Every actor's calls for the block at chain second ``now_s`` and height ``height``."""
        calls = self.oracle.due_calls(now_s=now_s, model=model)
        if self.buyers is not None:
            calls += self.buyers.due_calls(now_s=now_s, height=height, model=model)
        if self.treasury is not None:
            calls += self.treasury.due_calls(now_s=now_s, model=model)
        return calls

    def settled(self, call: SystemCall, *, success: bool, model: PackageModel) -> bool:
        """Record a call's outcome; True if the model was changed (never, today)."""
        if call.actor == "treasury" and self.treasury is not None:
            self.treasury.settled(call, success=success)
            return False
        return self.oracle.settled(call, success=success, model=model)

    def observe(self, *, model: PackageModel, block_s: int) -> bool:
        return self.oracle.observe(model=model, block_s=block_s)

    def to_json(self) -> dict[str, object]:
        """The buyers' and the treasury's state (the oracle's is kept on its own)."""
        out: dict[str, object] = {}
        if self.buyers is not None:
            out["buyers"] = self.buyers.to_json()
        if self.treasury is not None:
            out["treasury"] = self.treasury.to_json()
        return out

    @classmethod
    def restore(
        cls,
        *,
        oracle: Mapping[str, object],
        actors: Mapping[str, object],
        admin_address: str,
    ) -> Actors:
        buyers, treasury = actors.get("buyers"), actors.get("treasury")
        if (buyers is not None and not isinstance(buyers, Mapping)) or (
            treasury is not None and not isinstance(treasury, Mapping)
        ):
            raise ValueError("malformed actors state")
        return cls(
            oracle=Oracle.restore(state=oracle, admin_address=admin_address),
            buyers=None if buyers is None else Buyers.restore(buyers),
            treasury=None
            if treasury is None
            else Treasury.restore(state=treasury, admin_address=admin_address),
        )
