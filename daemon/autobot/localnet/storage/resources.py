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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from autobot.localnet.model.state import PackageState
from autobot.localnet.model.views import VRF_DEPOSIT_CONFIG
from autobot.localnet.storage.handles import Context, Json, obj, opt, u64, x
from autobot.localnet.storage.values import automation_state, payout_batch_cap, record

__all__ = ["RESOURCES", "Resource"]


def _handles(
    c: Context,
    name: str,
    *,
    table_fields: Sequence[str] = (),
    event_fields: Sequence[str] = (),
    **fields: Json,
) -> Json:
    """The resource ``name``: its table handles and event handles (each field named as in the
    struct) plus the other ``fields``."""
    return obj(
        **{t: c.table(f"{name}.{t}") for t in table_fields},
        **{e: c.events(name, e) for e in event_fields},
        **fields,
    )


def _registry(c: Context) -> Json:
    return _handles(
        c,
        "lottery_registry::Registry",
        table_fields=("lotteries", "cancellations"),
        event_fields=("created_events", "canceled_events"),
        ordered_ids=[u64(i) for i in c.state.ordered_ids],
    )


def _automation_registry(c: Context) -> Json:
    operators = list(c.state.bots)  # registration order (vrf_hub::table appends)
    events = ("dry_run", "call_rejected", "key_rotated", "tick", "error")
    return _handles(
        c,
        "automation::AutomationRegistry",
        event_fields=[f"{e}_events" for e in events],
        bots=obj(keys=operators, values=[automation_state(c.state.bots[op]) for op in operators]),
    )


def _automation_cap(c: Context, operator: str) -> Json:
    return obj(operator=operator, cron_spec=x(c.state.caps[operator]))


def _draw_ledger(c: Context) -> Json:
    events = ("requested_events", "fulfilled_events")
    tables = ("states", "nonce_to_lottery")
    return _handles(c, "draw::DrawLedger", table_fields=tables, event_fields=events)


def _sales_ledger(c: Context) -> Json:
    events = ("purchase_events", "rate_limit_events")
    return _handles(c, "sales::SalesLedger", table_fields=("states",), event_fields=events)


def _payout_ledger(c: Context) -> Json:
    events = [f"{e}_events" for e in ("winner", "payout", "partner", "refund")]
    return _handles(c, "payouts::PayoutLedger", table_fields=("states",), event_fields=events)


def _price_feed_registry(c: Context) -> Json:
    return _handles(
        c,
        "price_feed::PriceFeedRegistry",
        table_fields=("feeds",),
        event_fields=("updates", "fallbacks", "clamps", "clamp_clears"),
        version=c.state.g.price_feed_version,
    )


def _role_store(c: Context) -> Json:
    cap = c.state.g.payout_cap
    return _handles(
        c,
        "roles::RoleStore",
        table_fields=("partner_caps", "premium_caps"),
        payout_batch=opt(None if cap is None else payout_batch_cap(cap)),
        partner_index=list(c.state.g.partner_index),
        premium_index=list(c.state.g.premium_index),
        events=_role_events(c),
    )


def _role_events(c: Context) -> Json:
    roles = ("payout", "partner", "premium")
    events = [f"{role}_{change}" for role in roles for change in ("granted", "revoked")]
    return _handles(c, "roles::RoleEvents", event_fields=events)


def _vrf_deposit_ledger(c: Context) -> Json:
    d = c.state.g.vrf_deposit
    assert d is not None
    return _handles(
        c,
        "vrf_deposit::VrfDepositLedger",
        event_fields=("snapshots", "alerts", "paused_events", "resumed_events"),
        config=record(d, only=VRF_DEPOSIT_CONFIG),
        status=record(d, exclude=VRF_DEPOSIT_CONFIG),
    )


def _archive_ledger(c: Context) -> Json:
    events = ("finalized", "import", "rollback", "classification")
    return _handles(
        c,
        "history::ArchiveLedger",
        table_fields=("summaries", "imported_flags"),
        event_fields=[f"{e}_events" for e in events],
        ordered_ids=[u64(i) for i in c.state.finalized_ids],
    )


def _feature_switch_admin_cap(c: Context) -> Json:
    return obj(dummy_field=False)


def _feature_switch_registry(c: Context) -> Json:
    return obj(
        force_enable_devnet=c.state.g.feature_draw is True and c.state.g.feature_forced,
        entries=c.table("feature_switch::FeatureSwitchRegistry.entries"),
    )


def _dual_write_control(c: Context) -> Json:
    g = c.state.g
    entries = g.expected_hashes  # vrf_hub::table: two parallel vectors, in table order
    return _handles(
        c,
        "legacy_bridge::DualWriteControl",
        event_fields=("started_events", "completed_events"),
        enabled=g.dual_write_enabled,
        abort_on_mismatch=g.abort_on_mismatch,
        abort_on_missing=g.abort_on_missing,
        expected_hashes=obj(
            keys=[u64(e.lottery_id) for e in entries], values=[x(e.hash) for e in entries]
        ),
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
