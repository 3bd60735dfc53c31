"""The localnet's own actors: the dVRF oracle, the demo's price pusher and a scenario's script.

Both act through SYSTEM transactions (docs/decisions.md §11): the node gives each a hash, runs it in a
block and records its events like any transaction, but no account's sequence number is used, so
they never race a client. At the end of every block the node lets the oracle look at the model's
dVRF inbox (``observe``); at the start of every block it asks for the due calls (``due_calls``)
and reports each call's outcome (``settled``).

dVRF oracle: a request first seen in the inbox after a block with timestamp T is answered with
``draw::vrf_callback`` (arguments from ``PackageModel.vrf_callback_args``, signed with the dVRF's
dev key, see ``model/dvrf.py``) in the first block at or after ``T + callback_delay_seconds`` of
chain time. Per lottery a scenario can make callbacks never arrive (``never``) or withhold the
first N requests (``fail_first``). A callback is sent once: if it aborts (the lottery was canceled,
or the request was superseded by a retry) it is not sent again. The oracle only reads the inbox: a
withheld request, or one whose callback aborted, stays pending at the dVRF as on a chain, and
``vrf_callback`` takes no signer, so any account may still deliver a callback for it (one that
verifies needs the dVRF's signature).

Price pusher: every ``push_interval_seconds`` of chain time after a feed's ``last_updated_ts`` it
sends ``price_feed::update_price`` (admin signer, system transaction) for each asset of its set
whose feed is not in fallback, with a small deterministic move well under the
feed's clamp threshold (a clamped feed keeps receiving such updates, as from a real provider: the
clamp stays active until someone clears it). Feeds in fallback are left alone.

Script: a scenario's admin calls at chain times (``ScriptStep``: another admin tool's work in the
story, e.g. the ``ops`` scenario turning the DRAW feature on or changing the deposit's floor), each
sent once, in order, as a system transaction signed by the admin in the first block at or after
its time; an argument ``SCRIPT_NOW`` becomes that block's chain time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from autobot.localnet.model import ModelAbort, VrfRequest
from autobot.localnet.scenario import SCRIPT_NOW, CallbackMode, CallbackRule, ScriptStep

__all__ = [
    "DVRF_ADDRESS",
    "Oracle",
    "OracleSettings",
    "SystemCall",
]

log = structlog.get_logger()

DVRF_ADDRESS = "0x186ba2ba88f4a14ca51f6ce42702c7ebdf6bfcf738d897cc98b986ded6f1219e"
"""Supra's dVRF deposit/framework address (testnet), shown as the sender of oracle callbacks."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleSettings:
    callback_delay_seconds: int = 30
    lotteries: Mapping[int, CallbackRule] = field(default_factory=dict)
    pusher_assets: tuple[int, ...] = ()
    push_interval_seconds: int = 60
    script: tuple[ScriptStep, ...] = ()  # chain times

    def callbacks_for(self, lottery_id: int) -> CallbackRule:
        return self.lotteries.get(lottery_id, CallbackRule())

    def to_json(self) -> dict[str, object]:
        return {
            "callback_delay_seconds": self.callback_delay_seconds,
            "lotteries": {
                str(k): {"mode": v.mode.value, "fail_first": v.fail_first}
                for k, v in self.lotteries.items()
            },
            "pusher_assets": list(self.pusher_assets),
            "push_interval_seconds": self.push_interval_seconds,
            "script": [
                {"at": s.at, "module": s.module, "function": s.function, "args": list(s.args)}
                for s in self.script
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> OracleSettings:
        lotteries = data.get("lotteries", {})
        assets = data.get("pusher_assets", [])
        script = data.get("script", [])
        if not (
            isinstance(lotteries, Mapping) and isinstance(assets, list) and isinstance(script, list)
        ):
            raise ValueError("malformed oracle settings")
        return cls(
            callback_delay_seconds=int(str(data.get("callback_delay_seconds", 30))),
            lotteries={
                int(k): CallbackRule(mode=CallbackMode(v["mode"]), fail_first=int(v["fail_first"]))
                for k, v in lotteries.items()
            },
            pusher_assets=tuple(int(a) for a in assets),
            push_interval_seconds=int(str(data.get("push_interval_seconds", 60))),
            script=tuple(
                ScriptStep(
                    at=int(step["at"]),
                    module=str(step["module"]),
                    function=str(step["function"]),
                    args=tuple(int(a) for a in step["args"]),
                )
                for step in script
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemCall:
    """An entry-function call the node runs as a system transaction."""

    actor: str  # "dvrf_oracle" | "price_pusher" | "buyer" | "treasury" | "scenario_script"
    sender: str  # shown in the transaction header; no sequence number is used
    module: str
    function: str
    signers: tuple[str, ...]
    args: tuple[object, ...]


class OracleModel(Protocol):
    """What the oracle needs of ``PackageModel``."""

    def view(self, module: str, function: str, args: Sequence[object]) -> list[object]: ...

    def pending_vrf_requests(self) -> Sequence[VrfRequest]: ...

    def vrf_callback_args(self, nonce: int) -> list[object]: ...


class Oracle:
    def __init__(
        self,
        *,
        settings: OracleSettings,
        admin_address: str,
        state: Mapping[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self._admin = admin_address
        self._due: dict[int, int] = {}  # nonce -> chain second when its callback is sent
        self._seen_up_to = 0  # dVRF nonces are 1, 2, 3, ...: every nonce up to this was seen
        self._requests: dict[int, int] = {}  # lottery id -> requests seen
        self._pushes: dict[int, int] = {}  # asset id -> pushes sent
        self._script_sent = 0  # the script's steps sent so far (in order)
        if state:
            self._load(state)

    # --- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "settings": self.settings.to_json(),
            "due": {str(k): v for k, v in sorted(self._due.items())},
            "seen_up_to": self._seen_up_to,
            "requests": {str(k): v for k, v in self._requests.items()},
            "pushes": {str(k): v for k, v in self._pushes.items()},
            "script_sent": self._script_sent,
        }

    def _load(self, state: Mapping[str, object]) -> None:
        due = state.get("due", {})
        requests = state.get("requests", {})
        pushes = state.get("pushes", {})
        if not (
            isinstance(due, Mapping)
            and isinstance(requests, Mapping)
            and isinstance(pushes, Mapping)
        ):
            raise ValueError("malformed oracle state")
        self._due = {int(k): int(v) for k, v in due.items()}
        self._seen_up_to = int(str(state.get("seen_up_to", 0)))
        self._requests = {int(k): int(v) for k, v in requests.items()}
        self._pushes = {int(k): int(v) for k, v in pushes.items()}
        self._script_sent = int(str(state.get("script_sent", 0)))

    @classmethod
    def restore(cls, *, state: Mapping[str, object], admin_address: str) -> Oracle:
        settings = state.get("settings", {})
        if not isinstance(settings, Mapping):
            raise ValueError("malformed oracle state")
        return cls(
            settings=OracleSettings.from_json(settings),
            admin_address=admin_address,
            state=state,
        )

    # --- per block ---------------------------------------------------------------------------

    def scheduled_callbacks(self) -> dict[int, int]:
        """nonce → chain second at which its callback will be sent."""
        return dict(self._due)

    def observe(self, *, model: OracleModel, block_s: int) -> bool:
        """Look at the dVRF inbox after a block at ``block_s``; True if the model was changed.

        The oracle only reads the inbox, so this is always False (withheld requests stay pending).
        """
        for request in model.pending_vrf_requests():
            if request.nonce <= self._seen_up_to:
                continue
            self._seen_up_to = request.nonce
            seen = self._requests.get(request.lottery_id, 0) + 1
            self._requests[request.lottery_id] = seen
            rule = self.settings.callbacks_for(request.lottery_id)
            if rule.mode is CallbackMode.NEVER or (
                rule.mode is CallbackMode.FAIL_FIRST and seen <= rule.fail_first
            ):
                scripted = (
                    "never answers it"
                    if rule.mode is CallbackMode.NEVER
                    else f"withholds its first {rule.fail_first}"
                )
                log.info(
                    "localnet_vrf_callback_withheld",
                    story=(
                        f"localnet: withholding the VRF callback of lottery {request.lottery_id}'s "
                        f"request {seen} on purpose (the scenario {scripted}): a scripted dVRF "
                        "outage, not a fault"
                    ),
                    lottery_id=request.lottery_id,
                    nonce=request.nonce,
                    request=seen,
                    mode=rule.mode.value,
                )
                continue
            self._due[request.nonce] = block_s + self.settings.callback_delay_seconds
        return False

    def due_calls(self, *, now_s: int, model: OracleModel) -> list[SystemCall]:
        """System calls to run at the start of a block whose timestamp is ``now_s``."""
        calls: list[SystemCall] = []
        for nonce in sorted(n for n, due in self._due.items() if due <= now_s):
            del self._due[nonce]
            try:
                args = model.vrf_callback_args(nonce)
            except KeyError:
                continue
            calls.append(
                SystemCall(
                    actor="dvrf_oracle",
                    sender=DVRF_ADDRESS,
                    module="draw",
                    function="vrf_callback",
                    signers=(),
                    args=tuple(args),
                )
            )
        for asset_id in self.settings.pusher_assets:
            call = self._push(asset_id, now_s, model)
            if call is not None:
                calls.append(call)
        script = self.settings.script
        while self._script_sent < len(script) and script[self._script_sent].at <= now_s:
            step = script[self._script_sent]
            self._script_sent += 1
            calls.append(
                SystemCall(
                    actor="scenario_script",
                    sender=self._admin,
                    module=step.module,
                    function=step.function,
                    signers=(self._admin,),
                    args=tuple(now_s if a == SCRIPT_NOW else a for a in step.args),
                )
            )
        return calls

    def settled(self, call: SystemCall, *, success: bool, model: OracleModel) -> bool:
        """Record a system call's outcome; True if the model was changed.

        Nothing to record (always False): a callback left the schedule when it was sent, and one
        that aborted leaves its request pending at the dVRF, as a failed transaction would.
        """
        return False

    def _push(self, asset_id: int, now_s: int, model: OracleModel) -> SystemCall | None:
        try:
            result = model.view("price_feed", "get_price_view", [asset_id])
        except ModelAbort:
            return None
        feed = result[0] if result else None
        if not isinstance(feed, Mapping):
            return None
        if feed.get("fallback_active"):
            return None  # a feed someone put in fallback is left alone (an update would clear it)
        last = int(str(feed.get("last_updated_ts", 0)))
        if now_s < last + self.settings.push_interval_seconds:
            return None
        price = int(str(feed.get("price", 0)))
        threshold = int(str(feed.get("clamp_threshold_bps", 2_000)))
        count = self._pushes.get(asset_id, 0)
        self._pushes[asset_id] = count + 1
        return SystemCall(
            actor="price_pusher",
            sender=self._admin,
            module="price_feed",
            function="update_price",
            signers=(self._admin,),
            args=(asset_id, _next_price(price, threshold, asset_id, count), now_s),
        )


def _next_price(price: int, threshold_bps: int, asset_id: int, count: int) -> int:
    """A deterministic move of up to a quarter of the clamp threshold (and at most 1 %)."""
    if price <= 0:
        return 1
    digest = hashlib.sha3_256(f"localnet-price:{asset_id}:{count}".encode()).digest()
    max_bps = max(min(threshold_bps // 4, 100), 0)
    bps = digest[0] % (max_bps + 1)
    delta = price * bps // 10_000
    up = digest[1] % 2 == 0 or price - delta <= 0
    return price + delta if up else price - delta
