"""The package's resources (its ``key`` structs), one function per struct, and where they live.

``RESOURCES`` maps ``module::Struct`` to whether an account holds it now and its value there.
Every resource the package's init functions ``move_to`` the admin is at the package address once
its init ran (``Globals`` says which ran); ``AutomationCap`` is at each registered operator's
account. The localnet's deployment runs every init (``PackageModel.seed_ledgers`` and the
scenario), so a demo chain holds all of them.

The feature switch is ``force_enable_devnet`` unless the model's switch holds entries (then
features 1 to 4 are listed, all on, DRAW as the model holds it: ``model.feature_switch``).
``DualWriteControl`` holds the model's flags and expected hashes (a ``vrf_hub::table``, in table
order); ``MirrorConfig`` exists while the legacy mirror is enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from autobot.localnet.model.state import PackageState
from autobot.localnet.storage.handles import Context, Json, obj, opt, u64, x
from autobot.localnet.storage.values import automation_state, payout_batch_cap

__all__ = ["RESOURCES", "Resource"]


def _registry(c: Context) -> Json:
    name = "lottery_registry::Registry"
    return obj(
        lotteries=c.table(f"{name}.lotteries"),
        ordered_ids=[u64(i) for i in c.state.ordered_ids],
        created_events=c.events(name, "created_events"),
        canceled_events=c.events(name, "canceled_events"),
        cancellations=c.table(f"{name}.cancellations"),
    )


def _automation_registry(c: Context) -> Json:
    name = "automation::AutomationRegistry"
    operators = list(c.state.bots)  # registration order (vrf_hub::table appends)
    return obj(
        bots=obj(keys=operators, values=[automation_state(c.state.bots[op]) for op in operators]),
        dry_run_events=c.events(name, "dry_run_events"),
        call_rejected_events=c.events(name, "call_rejected_events"),
        key_rotated_events=c.events(name, "key_rotated_events"),
        tick_events=c.events(name, "tick_events"),
        error_events=c.events(name, "error_events"),
    )


def _automation_cap(c: Context, operator: str) -> Json:
    return obj(operator=operator, cron_spec=x(c.state.caps[operator]))


def _draw_ledger(c: Context) -> Json:
    name = "draw::DrawLedger"
    return obj(
        states=c.table(f"{name}.states"),
        nonce_to_lottery=c.table(f"{name}.nonce_to_lottery"),
        requested_events=c.events(name, "requested_events"),
        fulfilled_events=c.events(name, "fulfilled_events"),
    )


def _sales_ledger(c: Context) -> Json:
    name = "sales::SalesLedger"
    return obj(
        states=c.table(f"{name}.states"),
        purchase_events=c.events(name, "purchase_events"),
        rate_limit_events=c.events(name, "rate_limit_events"),
    )


def _payout_ledger(c: Context) -> Json:
    name = "payouts::PayoutLedger"
    return obj(
        states=c.table(f"{name}.states"),
        winner_events=c.events(name, "winner_events"),
        payout_events=c.events(name, "payout_events"),
        partner_events=c.events(name, "partner_events"),
        refund_events=c.events(name, "refund_events"),
    )


def _price_feed_registry(c: Context) -> Json:
    name = "price_feed::PriceFeedRegistry"
    version = c.state.g.price_feed_version
    return obj(
        version=version,
        feeds=c.table(f"{name}.feeds"),
        updates=c.events(name, "updates"),
        fallbacks=c.events(name, "fallbacks"),
        clamps=c.events(name, "clamps"),
        clamp_clears=c.events(name, "clamp_clears"),
    )


def _role_store(c: Context) -> Json:
    name = "roles::RoleStore"
    cap = c.state.g.payout_cap
    return obj(
        payout_batch=opt(None if cap is None else payout_batch_cap(cap)),
        partner_caps=c.table(f"{name}.partner_caps"),
        partner_index=list(c.state.g.partner_index),
        premium_caps=c.table(f"{name}.premium_caps"),
        premium_index=list(c.state.g.premium_index),
        events=_role_events(c),
    )


def _role_events(c: Context) -> Json:
    name = "roles::RoleEvents"
    fields = (
        "payout_granted",
        "payout_revoked",
        "partner_granted",
        "partner_revoked",
        "premium_granted",
        "premium_revoked",
    )
    return obj(**{f: c.events(name, f) for f in fields})


def _vrf_deposit_ledger(c: Context) -> Json:
    name = "vrf_deposit::VrfDepositLedger"
    d = c.state.g.vrf_deposit
    assert d is not None
    return obj(
        config=obj(
            min_balance_multiplier_bps=u64(d.min_balance_multiplier_bps),
            effective_floor=u64(d.effective_floor),
        ),
        status=obj(
            total_balance=u64(d.total_balance),
            minimum_balance=u64(d.minimum_balance),
            effective_balance=u64(d.effective_balance),
            required_minimum=u64(d.required_minimum),
            last_update_ts=u64(d.last_update_ts),
            requests_paused=d.requests_paused,
            paused_since_ts=u64(d.paused_since_ts),
        ),
        snapshots=c.events(name, "snapshots"),
        alerts=c.events(name, "alerts"),
        paused_events=c.events(name, "paused_events"),
        resumed_events=c.events(name, "resumed_events"),
    )


def _archive_ledger(c: Context) -> Json:
    name = "history::ArchiveLedger"
    return obj(
        summaries=c.table(f"{name}.summaries"),
        imported_flags=c.table(f"{name}.imported_flags"),
        ordered_ids=[u64(i) for i in c.state.finalized_ids],
        finalized_events=c.events(name, "finalized_events"),
        import_events=c.events(name, "import_events"),
        rollback_events=c.events(name, "rollback_events"),
        classification_events=c.events(name, "classification_events"),
    )


def _feature_switch_admin_cap(c: Context) -> Json:
    return obj(dummy_field=False)


def _feature_switch_registry(c: Context) -> Json:
    return obj(
        force_enable_devnet=c.state.g.feature_draw is True and c.state.g.feature_forced,
        entries=c.table("feature_switch::FeatureSwitchRegistry.entries"),
    )


def _dual_write_control(c: Context) -> Json:
    name = "legacy_bridge::DualWriteControl"
    g = c.state.g
    entries = g.expected_hashes  # vrf_hub::table: two parallel vectors, in table order
    return obj(
        enabled=g.dual_write_enabled,
        abort_on_mismatch=g.abort_on_mismatch,
        abort_on_missing=g.abort_on_missing,
        expected_hashes=obj(
            keys=[u64(e.lottery_id) for e in entries], values=[x(e.hash) for e in entries]
        ),
        started_events=c.events(name, "started_events"),
        completed_events=c.events(name, "completed_events"),
    )


def _mirror_config(c: Context) -> Json:
    return obj(dummy_field=False)


@dataclass(frozen=True, slots=True)
class Resource:
    """A ``key`` struct: whether an account holds it now, and its value there."""

    held: Callable[[PackageState, str, str], bool]  # (state, address, package address)
    render: Callable[[Context, str], Json]  # (context, address)


def _at_package(
    flag: Callable[[PackageState], bool], render: Callable[[Context], Json]
) -> Resource:
    return Resource(
        held=lambda state, address, package: address == package and flag(state),
        render=lambda c, _address: render(c),
    )


RESOURCES: Mapping[str, Resource] = {
    "lottery_registry::Registry": _at_package(lambda s: s.g.registry, _registry),
    "sales::SalesLedger": _at_package(lambda s: s.g.sales, _sales_ledger),
    "history::ArchiveLedger": _at_package(lambda s: s.g.history, _archive_ledger),
    "draw::DrawLedger": _at_package(lambda s: s.g.draw, _draw_ledger),
    "payouts::PayoutLedger": _at_package(lambda s: s.g.payouts, _payout_ledger),
    "feature_switch::FeatureSwitchAdminCap": _at_package(
        lambda s: s.g.feature_draw is not None, _feature_switch_admin_cap
    ),
    "feature_switch::FeatureSwitchRegistry": _at_package(
        lambda s: s.g.feature_draw is not None, _feature_switch_registry
    ),
    "legacy_bridge::DualWriteControl": _at_package(lambda s: s.g.dual_write, _dual_write_control),
    "legacy_bridge::MirrorConfig": _at_package(lambda s: s.g.legacy_mirror, _mirror_config),
    "automation::AutomationRegistry": _at_package(lambda s: s.g.automation, _automation_registry),
    "automation::AutomationCap": Resource(
        held=lambda state, address, _package: address in state.caps, render=_automation_cap
    ),
    "roles::RoleStore": _at_package(lambda s: s.g.roles, _role_store),
    "price_feed::PriceFeedRegistry": _at_package(
        lambda s: s.g.price_feed_version is not None, _price_feed_registry
    ),
    "vrf_deposit::VrfDepositLedger": _at_package(
        lambda s: s.g.vrf_deposit is not None, _vrf_deposit_ledger
    ),
}
"""Every ``key`` struct of the package, by ``module::Struct``."""
