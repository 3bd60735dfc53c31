"""``PackageModel``: the ``lottery_multi`` package as a pure, synchronous, deterministic object.

The node owns time, blocks and persistence; the model owns the package's storage and rules.
``call`` runs one entry function all-or-nothing (see ``core.UndoLog``), ``simulate`` runs one and
undoes it whatever happens (no copy of the state: a simulation costs what the call touches),
``view`` answers a view in node JSON, ``to_json``/``from_json`` persist every table. The model
remembers which table slots changed since ``changed_rows`` was last asked, so the node persists
only those (``state.RowEncoder``). Nothing here reads a clock: timestamps are the callers'
arguments.

Scenario seeding writes lotteries and their opening sales directly (``seed_*``: no checks, no
events), because draft creation is not in the localnet's ABI and a seeded history of purchases
would need thousands of transactions; everything else is seeded by running real entry functions
(see ``autobot.localnet.scenario``). After genesis, tickets are sold only by purchase
transactions (``sales::purchase_tickets_*``: the buyers actor, ``localnet/buyers.py``, or anyone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from autobot.localnet.model import (
    automation,
    draw,
    feature_switch,
    legacy_bridge,
    payouts,
    price_feed,
    purchases,
    registry,
    roles,
    sales,
    views,
    vrf_deposit,
)
from autobot.localnet.model.abi import ENTRY_FUNCTIONS
from autobot.localnet.model.core import (
    Args,
    CallContext,
    LotteryStatus,
    ModelEvent,
    normalise_address,
)
from autobot.localnet.model.state import (
    BuyerState,
    Lottery,
    LotteryConfig,
    PackageState,
    Purchase,
    Row,
    RowEncoder,
    VrfRequest,
    buyer_key,
    state_from_json,
    state_from_rows,
    state_to_json,
)

__all__ = ["ENTRY_HANDLERS", "PackageModel", "VrfRetryMode"]

type VrfRetryMode = Literal["intent", "strict"]
type EntryHandler = Callable[[CallContext, Args], None]

ENTRY_HANDLERS: Mapping[tuple[str, str], EntryHandler] = {
    ("automation", "init_automation"): automation.init_automation,
    ("automation", "register_bot"): automation.register_bot,
    ("automation", "rotate_bot"): automation.rotate_bot,
    ("automation", "announce_dry_run"): automation.announce_dry_run,
    ("automation", "record_success"): automation.record_success,
    ("automation", "record_failure"): automation.record_failure,
    ("automation", "report_call_rejected"): automation.report_call_rejected,
    ("lottery_registry", "advance_status"): registry.advance_status,
    ("sales", "purchase_tickets_public"): purchases.purchase_tickets_public,
    ("sales", "purchase_tickets_premium"): purchases.purchase_tickets_premium,
    ("draw", "init_draw"): draw.init_draw,
    ("draw", "request_draw_admin"): draw.request_draw_admin,
    ("draw", "schedule_manual_retry_admin"): draw.schedule_manual_retry_admin,
    ("draw", "vrf_callback"): draw.vrf_callback,
    ("payouts", "init_payouts"): payouts.init_payouts,
    ("payouts", "compute_winners_admin"): payouts.compute_winners_admin,
    ("payouts", "force_refund_batch_admin"): payouts.force_refund_batch_admin,
    ("payouts", "archive_canceled_lottery_admin"): payouts.archive_canceled_lottery_admin,
    ("payouts", "record_payout_batch_admin"): payouts.record_payout_batch_admin,
    ("payouts", "record_partner_payout_admin"): payouts.record_partner_payout_admin,
    ("payouts", "finalize_lottery_admin"): payouts.finalize_lottery_admin,
    ("cancellation", "cancel_lottery_admin"): registry.cancel_lottery_admin,
    ("price_feed", "init_price_feed"): price_feed.init_price_feed,
    ("price_feed", "register_feed"): price_feed.register_feed,
    ("price_feed", "update_price"): price_feed.update_price,
    ("price_feed", "set_fallback"): price_feed.set_fallback,
    ("price_feed", "clear_clamp"): price_feed.clear_clamp,
    ("roles", "init_roles"): roles.init_roles,
    ("roles", "set_payout_batch_cap_admin"): roles.set_payout_batch_cap_admin,
    ("roles", "revoke_payout_batch_cap_admin"): roles.revoke_payout_batch_cap_admin,
    ("roles", "upsert_partner_payout_cap_admin"): roles.upsert_partner_payout_cap_admin,
    ("roles", "revoke_partner_payout_cap_admin"): roles.revoke_partner_payout_cap_admin,
    ("roles", "grant_premium_access_admin"): roles.grant_premium_access_admin,
    ("roles", "revoke_premium_access_admin"): roles.revoke_premium_access_admin,
    ("roles", "cleanup_expired_admin"): roles.cleanup_expired_admin,
    ("history", "mirror_summary_admin"): registry.mirror_summary_admin,
    ("legacy_bridge", "init_dual_write"): legacy_bridge.init_dual_write,
    ("legacy_bridge", "enable_legacy_mirror"): legacy_bridge.enable_legacy_mirror,
    ("legacy_bridge", "disable_legacy_mirror"): legacy_bridge.disable_legacy_mirror,
    ("legacy_bridge", "update_flags"): legacy_bridge.update_flags,
    ("legacy_bridge", "set_expected_hash"): legacy_bridge.set_expected_hash,
    ("legacy_bridge", "clear_expected_hash"): legacy_bridge.clear_expected_hash,
    ("vrf_deposit", "init_vrf_deposit"): vrf_deposit.init_vrf_deposit,
    ("vrf_deposit", "update_config"): vrf_deposit.update_config,
    ("vrf_deposit", "record_snapshot_admin"): vrf_deposit.record_snapshot_admin,
    ("vrf_deposit", "resume_requests"): vrf_deposit.resume_requests,
    ("feature_switch", "set_mode"): feature_switch.set_mode,
}


class PackageModel:
    """The package at ``package_address`` (which is also its admin, ``@lottery_multi``)."""

    def __init__(self, *, package_address: str, vrf_retry: VrfRetryMode = "intent") -> None:
        if vrf_retry not in ("intent", "strict"):
            raise ValueError(f"vrf_retry must be 'intent' or 'strict', got {vrf_retry!r}")
        self._package = normalise_address(package_address)
        self.vrf_retry: VrfRetryMode = vrf_retry
        self._state = PackageState()
        self._dirty: set[tuple[str, object]] = set()  # (table, key) written since changed_rows
        self._everything_dirty = False
        self._table_names: dict[int, str] = {}
        self._index_tables()

    def _index_tables(self) -> None:
        self._table_names = {
            id(getattr(self._state, f.name)): f.name for f in dataclasses.fields(self._state)
        }

    @property
    def package_address(self) -> str:
        return self._package

    @property
    def state(self) -> PackageState:
        """The live tables, for tests and the scenario; mutate only through ``call``/``seed_*``."""
        return self._state

    # --- transactions -----------------------------------------------------------------------

    def call(
        self,
        module: str,
        function: str,
        *,
        signers: Sequence[str],
        args: Sequence[object],
        system: bool = False,
    ) -> list[ModelEvent]:
        """Execute an entry function; returns its events or raises ``ModelAbort`` unchanged.

        ``signers`` (admin first) must match the function's signer count: none for
        ``vrf_callback``, whoever submitted it. ``system`` marks the localnet's own actors (the
        dVRF oracle's ``vrf_callback``, the price pusher's ``update_price`` signed by the admin);
        the package cannot tell them apart, so it changes nothing in execution. Wrong argument counts or Python types raise ``ValueError`` /
        ``TypeError`` (the node validates them before calling) and change nothing either.
        """
        context = self._run(module, function, signers=signers, args=args, keep=True)
        touched, appended = context.undo.written
        for table_id, key in touched:
            self._mark(self._table_names.get(table_id), key)
        for list_id in appended:
            self._mark(self._table_names.get(list_id), None)
        return list(context.events)

    def simulate(
        self, module: str, function: str, *, signers: Sequence[str], args: Sequence[object]
    ) -> list[ModelEvent]:
        """Run an entry function and undo it: its events, or ``ModelAbort``; state untouched."""
        return list(self._run(module, function, signers=signers, args=args, keep=False).events)

    def _run(
        self,
        module: str,
        function: str,
        *,
        signers: Sequence[str],
        args: Sequence[object],
        keep: bool,
    ) -> CallContext:
        signature = ENTRY_FUNCTIONS.get((module, function))
        handler = ENTRY_HANDLERS.get((module, function))
        if signature is None or handler is None:
            raise ValueError(f"no entry function {module}::{function}")
        if len(signers) != signature.signers:
            raise ValueError(
                f"{module}::{function} takes {signature.signers} signer(s), got {len(signers)}"
            )
        if len(args) != len(signature.params):
            raise ValueError(
                f"{module}::{function} takes {len(signature.params)} argument(s), got {len(args)}"
            )
        context = CallContext(
            package=self._package,
            state=self._state,
            signers=tuple(normalise_address(s) for s in signers),
            vrf_retry=self.vrf_retry,
        )
        try:
            handler(context, Args(args))
        except BaseException:
            context.undo.rollback()
            raise
        if not keep:
            context.undo.rollback()
        return context

    def _mark(self, table: str | None, key: object) -> None:
        if table is None:  # a write outside the known tables: persist everything to be safe
            self._everything_dirty = True
        else:
            self._dirty.add((table, key))

    def mark_all_dirty(self) -> None:
        """Make the next ``changed_rows`` return every row (genesis; after a failed write)."""
        self._everything_dirty = True

    def changed_rows(self, encoder: RowEncoder) -> list[Row]:
        """The rows of every table slot written since the last call (then forgets them)."""
        if self._everything_dirty:
            rows = encoder.all_rows(self._state)
        else:
            rows = []
            for table, key in self._dirty:
                rows.extend(encoder.rows(self._state, table, key))
        self._dirty.clear()
        self._everything_dirty = False
        return rows

    def view(self, module: str, function: str, args: Sequence[object]) -> list[object]:
        """A view's ``result`` list in node JSON; ``KeyError`` for an unknown view."""
        return views.run_view(self._state, module, function, args)

    # --- the localnet dVRF ------------------------------------------------------------------

    def pending_vrf_requests(self) -> list[VrfRequest]:
        """dVRF requests not yet answered by a verified callback (nor dismissed), by nonce.

        Withheld requests (the oracle's ``never``/``fail_first`` rules), superseded ones and those
        whose callback aborted are still pending: the dVRF's inbox is on-chain state that only a
        verified callback changes.
        """
        return [self._state.vrf_inbox[n] for n in sorted(self._state.vrf_inbox)]

    def vrf_callback_args(self, nonce: int) -> list[object]:
        """The ``vrf_callback`` arguments (nonce, message, signature, caller, rng_count, seed).

        What the localnet dVRF sends for a pending request, signed with its dev key
        (``model/dvrf.py``); ``KeyError`` if ``nonce`` is not pending.
        """
        return draw.callback_args(self._state, nonce)

    def vrf_request_message(self, lottery_id: int) -> bytes | None:
        """The message of the lottery's current request (sha3-256 = its ``payload_hash``)."""
        d = self._state.draws.get(lottery_id)
        if d is None or d.request_id == 0 or d.request_id not in self._state.vrf_inbox:
            return None
        return self._state.vrf_inbox[d.request_id].message

    def dismiss_vrf_request(self, nonce: int) -> None:
        """Drop a pending request from the dVRF's inbox (a tool's shortcut: no transaction does
        this, and the oracle does not; its callback then aborts in ``supra_vrf`` with code 1)."""
        self._state.vrf_inbox.pop(nonce, None)
        self._mark("vrf_inbox", nonce)

    # --- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "package_address": self._package,
            "vrf_retry": self.vrf_retry,
            "state": state_to_json(self._state),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PackageModel:
        address, mode, state = data.get("package_address"), data.get("vrf_retry"), data.get("state")
        if not isinstance(address, str) or mode not in ("intent", "strict"):
            raise ValueError("malformed package model document")
        if not isinstance(state, dict):
            raise ValueError("malformed package model document: no state")
        model = cls(package_address=address, vrf_retry="strict" if mode == "strict" else "intent")
        model._state = state_from_json(state)
        model._index_tables()
        return model

    @classmethod
    def from_rows(
        cls, *, package_address: str, vrf_retry: str, rows: Iterable[tuple[str, str, str]]
    ) -> PackageModel:
        """A model from the rows ``changed_rows`` produced (``ValueError`` if malformed)."""
        if vrf_retry not in ("intent", "strict"):
            raise ValueError("malformed package model rows: unknown VRF retry variant")
        model = cls(
            package_address=package_address,
            vrf_retry="strict" if vrf_retry == "strict" else "intent",
        )
        model._state = state_from_rows(rows)
        model._index_tables()
        return model

    # --- scenario seeding (no checks, no events) --------------------------------------------

    def seed_ledgers(self) -> None:
        """Create the ledgers that have no entry function in the localnet's ABI.

        Registry, sales and history are created by ``init_*`` entries the localnet does not
        expose; draw and payouts are marked too, so a fresh model is ready for lotteries. The
        deployment also runs ``feature_switch::init_feature_switch(force_enable_devnet = true)``
        (every feature on), ``legacy_bridge::init_dual_write(abort_on_mismatch = false,
        abort_on_missing = false)`` and ``enable_legacy_mirror`` (no ``lottery_support`` history
        bridge is deployed, so mirroring does nothing): every resource of the package exists, as
        ``localnet.storage`` serves it. A scenario may change the dual-write flags afterwards
        (``legacy_bridge::update_flags``).
        """
        g = self._state.g
        g.registry = g.sales = g.history = g.draw = g.payouts = True
        if g.feature_draw is None:
            g.feature_draw = True
        g.dual_write = g.legacy_mirror = True
        g.dual_write_enabled = True
        g.abort_on_mismatch = g.abort_on_missing = False
        self._mark("globals_", 0)

    def seed_lottery(
        self,
        lottery_id: int,
        config: LotteryConfig,
        *,
        status: LotteryStatus,
        snapshot_frozen: bool | None = None,
    ) -> None:
        """Register a lottery as ``create_draft_admin`` + ``advance_status`` would leave it."""
        if lottery_id in self._state.lotteries:
            raise ValueError(f"lottery {lottery_id} already exists")
        frozen = status >= LotteryStatus.CLOSING if snapshot_frozen is None else snapshot_frozen
        self._state.lotteries[lottery_id] = Lottery(
            id=lottery_id,
            config=config,
            status=int(status),
            snapshot_frozen=frozen,
            slots_checksum=registry.slots_checksum(config.prize_plan),
        )
        self._state.ordered_ids.append(lottery_id)
        self._mark("lotteries", lottery_id)
        self._mark("ordered_ids", None)

    def seed_sales(
        self, lottery_id: int, purchases: Sequence[Purchase], *, last_purchase_ts: int
    ) -> None:
        """Sales state after ``purchases`` at the lottery's price and distribution.

        Each buyer's ticket count is recorded (``tickets_per_address``); no ``RateTrack`` is: the
        rate limits start counting with the first purchase transaction.
        """
        config = self._state.lotteries[lottery_id].config
        runs = [Purchase(buyer=normalise_address(p.buyer), quantity=p.quantity) for p in purchases]
        self._state.sales[lottery_id] = sales.new_sales_state(
            ticket_price=config.ticket_price,
            distribution=config.distribution,
            purchases=runs,
            last_purchase_ts=last_purchase_ts,
        )
        self._mark("sales", lottery_id)
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.buyer] = counts.get(run.buyer, 0) + run.quantity
        for buyer, tickets in counts.items():
            key = buyer_key(lottery_id, buyer)
            self._state.buyers[key] = BuyerState(tickets=tickets)
            self._mark("buyers", key)

    def seed_feature_draw(self, enabled: bool | None) -> None:
        """The DRAW feature switch: ``None`` = switch not initialised (allowed); ``True`` = the
        deployment's ``force_enable_devnet``; ``False`` = entries for every feature, DRAW off
        (``feature_switch::set_mode`` turns it on again)."""
        self._state.g.feature_draw = enabled
        self._state.g.feature_forced = enabled is not False
        self._mark("globals_", 0)
