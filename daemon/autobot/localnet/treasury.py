"""The localnet's treasury: pays winners after PAYOUT, finalizes, as system transactions.

autobot never records payouts or finalizes (docs/decisions.md §10): on a real chain the treasury
does, after moving the money. The localnet's treasury plays that part so that every payout
monitor has real traffic. Like the dVRF oracle (``oracle.py``, docs/decisions.md §11) it acts
through system transactions signed by the admin (``@lottery_multi``, the only authority the
package knows, docs/package.md §0), so it never takes one of the admin account's sequence numbers
from the daemon. (A real treasury does sign with the admin key, whose sequence numbers the daemon
owns: docs/decisions.md §3 and §11.)

**What it does** (``TreasurySpec``; per-lottery ``overrides``). It looks for lotteries at PAYOUT
(every ``SCAN_SECONDS``; all of them, or those listed). ``payout_delay`` seconds after it first saw
one it records payout rounds 1, 2, … with ``payouts::record_payout_batch_admin``, each paying the
next ``batch_winners`` winners, ``batch_interval`` seconds apart (and never inside the
PayoutBatchCap's cooldown). The amounts split what is left of the lottery's allocations evenly
over the winners left (the prize part over ``total_allocated``; with ``pay_operations`` also the
operations part, minus a pending partner payout), so the last round ends exactly at the
allocations. A lottery with a partner payout gets ``payouts::record_partner_payout_admin`` (round
= the partner cap's ``next_nonce``) in the block of its first batch, before it. ``finalize_delay``
seconds after the last batch it finalizes (``payouts::finalize_lottery_admin``); when an override
asks for it, it first sets the lottery's dual-write expected hash (``set_expected_hash``, in the
same block): ``match`` is the hash of the summary the finalization will write (computed as the
package computes it, ``payouts.finalize_summary``: what a legacy system that agrees would
announce), ``mismatch`` a hash no summary has (``scenario.mismatch_hash``).

**The shared PayoutBatchCap** (docs/package.md §5.2, §10.9). The treasury's batches consume the
one global cap the daemon's refunds also consume: its cooldown and operations budget, and its
``last_nonce`` (set to the treasury's payout round). With the demo's cap (stride 0, no cooldown)
the two never refuse each other. With a stride the cap refuses every round that is not
``last_nonce + stride``: after a refund of another lottery, a payout round fails
``E_PAYOUT_BATCH_NONCE`` (and the other way round). With ``reissue_cap`` the treasury re-issues
the cap (same holder and limits: ``set_payout_batch_cap_admin``, which resets ``last_nonce``,
``last_batch_at`` and the budget used, with Revoked and Granted events) before a lottery's first
round when the cap would refuse it, as §5.2 suggests; later rounds it only retries.

**Failures**: a call that aborts is retried ``RETRY_SECONDS`` later (the partner payout is sent
once); every failure is logged (``localnet_treasury_call_failed``) and stays on chain as a failed
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import structlog

from autobot.localnet.model import LotteryStatus, ModelAbort
from autobot.localnet.model.core import sha3
from autobot.localnet.model.payouts import finalize_summary
from autobot.localnet.model.registry import summary_bcs
from autobot.localnet.model.state import PackageState, WinnerState
from autobot.localnet.oracle import SystemCall
from autobot.localnet.scenario import (
    ExpectedHashMode,
    TreasuryLotterySpec,
    TreasurySpec,
    mismatch_hash,
)

__all__ = ["Treasury"]

log = structlog.get_logger()

SCAN_SECONDS = 10
RETRY_SECONDS = 60


class TreasuryModel(Protocol):
    """What the treasury needs of ``PackageModel``: its state, read only."""

    @property
    def state(self) -> PackageState: ...


@dataclass(slots=True, kw_only=True)
class _Handled:
    """A lottery the treasury is paying: when it saw PAYOUT, its partner payout, a retry time."""

    seen: int
    partner_done: bool = False
    retry_at: int = 0


class Treasury:
    def __init__(
        self,
        *,
        settings: TreasurySpec,
        admin_address: str,
        state: Mapping[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self._admin = admin_address
        self._overrides = {o.id: o for o in settings.overrides}
        self._scope = None if settings.lotteries is None else frozenset(settings.lotteries)
        self._handled: dict[int, _Handled] = {}
        self._next_scan = 0
        self._now = 0
        if state:
            handled = state.get("lotteries", {})
            if not isinstance(handled, Mapping):
                raise ValueError("malformed treasury state")
            self._handled = {
                int(k): _Handled(
                    seen=int(v["seen"]),
                    partner_done=bool(v["partner_done"]),
                    retry_at=int(v["retry_at"]),
                )
                for k, v in handled.items()
            }

    # --- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        s = self.settings
        return {
            "settings": {
                "lotteries": None if s.lotteries is None else list(s.lotteries),
                "payout_delay": s.payout_delay,
                "batch_winners": s.batch_winners,
                "batch_interval": s.batch_interval,
                "finalize_delay": s.finalize_delay,
                "pay_operations": s.pay_operations,
                "reissue_cap": s.reissue_cap,
                "overrides": [
                    {
                        "id": o.id,
                        "finalize_delay": o.finalize_delay,
                        "partner": o.partner,
                        "partner_amount": o.partner_amount,
                        "expected_hash": o.expected_hash.value,
                    }
                    for o in s.overrides
                ],
            },
            "lotteries": {
                str(k): {"seen": h.seen, "partner_done": h.partner_done, "retry_at": h.retry_at}
                for k, h in sorted(self._handled.items())
            },
        }

    @classmethod
    def restore(cls, *, state: Mapping[str, object], admin_address: str) -> Treasury:
        raw = state.get("settings")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("overrides", []), list):
            raise ValueError("malformed treasury state")
        lotteries = raw.get("lotteries")
        overrides = raw.get("overrides", [])
        assert isinstance(overrides, list)
        settings = TreasurySpec(
            lotteries=None if not isinstance(lotteries, list) else tuple(int(i) for i in lotteries),
            payout_delay=int(str(raw["payout_delay"])),
            batch_winners=int(str(raw["batch_winners"])),
            batch_interval=int(str(raw["batch_interval"])),
            finalize_delay=int(str(raw["finalize_delay"])),
            pay_operations=bool(raw["pay_operations"]),
            reissue_cap=bool(raw["reissue_cap"]),
            overrides=tuple(
                TreasuryLotterySpec(
                    id=int(o["id"]),
                    finalize_delay=None
                    if o["finalize_delay"] is None
                    else int(o["finalize_delay"]),
                    partner=o["partner"],
                    partner_amount=int(o["partner_amount"]),
                    expected_hash=ExpectedHashMode(o["expected_hash"]),
                )
                for o in overrides
            ),
        )
        return cls(settings=settings, admin_address=admin_address, state=state)

    # --- per block ---------------------------------------------------------------------------

    def due_calls(self, *, now_s: int, model: TreasuryModel) -> list[SystemCall]:
        """The treasury's calls for the block at chain second ``now_s``."""
        self._now = now_s
        state = model.state
        if now_s >= self._next_scan:
            self._scan(state, now_s)
            self._next_scan = now_s + SCAN_SECONDS
        calls: list[SystemCall] = []
        for lottery_id in sorted(self._handled):
            handled = self._handled[lottery_id]
            lottery = state.lotteries.get(lottery_id)
            if lottery is None or lottery.status != LotteryStatus.PAYOUT:
                del self._handled[lottery_id]  # finalized (or canceled): done with it
                continue
            if now_s < handled.retry_at:
                continue
            calls += self._lottery_calls(model, lottery_id, handled, now_s)
        return calls

    def settled(self, call: SystemCall, *, success: bool) -> None:
        """A failed call is retried later (a partner payout is not)."""
        if success or call.actor != "treasury":
            return
        lottery_id = int(str(call.args[0])) if call.module == "payouts" else None
        log.warning(
            "localnet_treasury_call_failed",
            function=f"{call.module}::{call.function}",
            lottery_id=lottery_id,
        )
        if lottery_id is not None and lottery_id in self._handled:
            self._handled[lottery_id].retry_at = self._now + RETRY_SECONDS

    def _scan(self, state: PackageState, now_s: int) -> None:
        for lottery_id, lottery in state.lotteries.items():
            if lottery.status != LotteryStatus.PAYOUT or lottery_id in self._handled:
                continue
            if self._scope is None or lottery_id in self._scope:
                self._handled[lottery_id] = _Handled(seen=now_s)
                log.info("localnet_treasury_lottery_at_payout", lottery_id=lottery_id)

    def _lottery_calls(
        self, model: TreasuryModel, lottery_id: int, handled: _Handled, now_s: int
    ) -> list[SystemCall]:
        state = model.state
        w = state.winners.get(lottery_id)
        if w is None or w.total_required == 0 or w.total_assigned != w.total_required:
            return []  # PAYOUT without every winner (advance_status by hand): nothing to pay
        override = self._overrides.get(lottery_id)
        rounds = -(-w.total_required // self.settings.batch_winners)
        if w.payout_round < rounds:
            return self._batch_calls(state, lottery_id, handled, w, override, now_s)
        finalize_delay = self.settings.finalize_delay
        if override is not None and override.finalize_delay is not None:
            finalize_delay = override.finalize_delay
        if now_s < w.last_payout_ts + finalize_delay:
            return []
        return self._finalize_calls(model, lottery_id, override, now_s)

    def _batch_calls(
        self,
        state: PackageState,
        lottery_id: int,
        handled: _Handled,
        w: WinnerState,
        override: TreasuryLotterySpec | None,
        now_s: int,
    ) -> list[SystemCall]:
        r = w.payout_round
        if r == 0 and now_s < handled.seen + self.settings.payout_delay:
            return []
        if r > 0 and now_s < w.last_payout_ts + self.settings.batch_interval:
            return []
        cap = state.g.payout_cap
        if (
            cap is not None
            and cap.cooldown_secs
            and cap.last_batch_at
            and now_s < cap.last_batch_at + cap.cooldown_secs
        ):
            return []
        calls: list[SystemCall] = []
        partner_pending = (
            override is not None and override.partner is not None and not handled.partner_done
        )
        if partner_pending and r > 0:  # only before the first round (its round check)
            handled.partner_done, partner_pending = True, False
        if partner_pending:
            assert override is not None and override.partner is not None
            partner_cap = state.partner_caps.get(override.partner)
            handled.partner_done = True  # sent once, whatever happens
            calls.append(
                self._call(
                    "payouts",
                    "record_partner_payout_admin",
                    lottery_id,
                    override.partner,
                    override.partner_amount,
                    0 if partner_cap is None else partner_cap.next_nonce,
                    now_s,
                )
            )
        if (
            self.settings.reissue_cap
            and r == 0
            and cap is not None
            and cap.nonce_stride > 0
            and cap.last_nonce + cap.nonce_stride != 1
        ):
            calls.append(
                self._call(
                    "roles",
                    "set_payout_batch_cap_admin",
                    cap.holder,
                    cap.max_batch_size,
                    cap.operations_budget_total,
                    cap.cooldown_secs,
                    cap.nonce_stride,
                )
            )
        reserve = override.partner_amount if partner_pending and override is not None else 0
        winners, prize, operations = self._amounts(state, lottery_id, w, reserve)
        calls.append(
            self._call(
                "payouts",
                "record_payout_batch_admin",
                lottery_id,
                r + 1,
                winners,
                prize,
                operations,
                now_s,
            )
        )
        return calls

    def _amounts(
        self, state: PackageState, lottery_id: int, w: WinnerState, reserve: int
    ) -> tuple[int, int, int]:
        """(winners, prize, operations) of the next round: what is left, split over who is left."""
        total, batch = w.total_required, self.settings.batch_winners
        paid = min(w.payout_round * batch, total)
        winners = min(batch, total - paid)
        acc = state.sales[lottery_id].accounting if lottery_id in state.sales else None
        if acc is None:
            return winners, 0, 0
        prize_left = max(0, acc.total_allocated - acc.total_prize_paid)
        ops_left = max(0, acc.total_operations_allocated - acc.total_operations_paid - reserve)
        if not self.settings.pay_operations:
            ops_left = 0
        left = total - paid
        return winners, prize_left * winners // left, ops_left * winners // left

    def _finalize_calls(
        self,
        model: TreasuryModel,
        lottery_id: int,
        override: TreasuryLotterySpec | None,
        now_s: int,
    ) -> list[SystemCall]:
        calls: list[SystemCall] = []
        mode = ExpectedHashMode.NONE if override is None else override.expected_hash
        if mode is ExpectedHashMode.MATCH:
            summary_hash = self._summary_hash(model.state, lottery_id, now_s)
            if summary_hash is not None:
                calls.append(
                    self._call("legacy_bridge", "set_expected_hash", lottery_id, summary_hash)
                )
        elif mode is ExpectedHashMode.MISMATCH:
            calls.append(
                self._call(
                    "legacy_bridge", "set_expected_hash", lottery_id, mismatch_hash(lottery_id)
                )
            )
        calls.append(self._call("payouts", "finalize_lottery_admin", lottery_id, now_s))
        return calls

    def _summary_hash(self, state: PackageState, lottery_id: int, now_s: int) -> bytes | None:
        """The archive hash ``finalize_lottery_admin(lottery_id, now_s)`` will write."""
        try:
            return sha3(summary_bcs(finalize_summary(state, lottery_id, now_s)))
        except ModelAbort:
            return None  # the finalization itself will fail (and be retried)

    def _call(self, module: str, function: str, *args: object) -> SystemCall:
        return SystemCall(
            actor="treasury",
            sender=self._admin,
            module=module,
            function=function,
            signers=(self._admin,),
            args=args,
        )
