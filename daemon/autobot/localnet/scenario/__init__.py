"""Scenario seeding: the package state a fresh localnet starts with.

``seed(model, scenario=..., admin=..., operators=..., now_ts=...)`` takes ``"demo"``,
``"playbook"``, ``"ops"`` (``scenario.ops``), ``"empty"`` or the path of a TOML file and returns a
``ScenarioInfo`` with the settings of the localnet's actors (the dVRF oracle and price pusher, a
scenario's script of admin calls, and — when the scenario has them — the buyers and the treasury).
Everything the package has an entry function for (bots, the PayoutBatchCap, price feeds, the VRF
deposit, cancellations, partner and premium caps, the dual-write flags and expected hashes) is
seeded by *running* that entry function as the admin at ``now_ts`` (their events are returned as
``ScenarioInfo.genesis_events``); lotteries and their opening ticket sales are written directly
(``PackageModel.seed_lottery``/``seed_sales``). The model's package address must be the admin's
address.

**Sales and accounting.** Tickets are bought by deterministic buyers
(``sha3-256("autobot-localnet/buyer" || BCS u64 lottery id || BCS u64 n)``) in purchases of
1, 2, 3, 5, 10, 4, 1, 2, … tickets until ``tickets_sold`` is reached; each purchase is priced and
split as the package does (floor shares by the distribution's basis points, the rounding
remainder to the prize share). ``total_allocated`` (prize + reserve) is the *prize* side of the
proceeds and ``total_operations_allocated`` the *operations* side; with ``jackpot_bps = 0`` (the
demo's and the TOML default) they add up to ``proceeds_accum`` exactly, so a refund planner can
split every refund as ``prize : operations = total_allocated : total_operations_allocated``.

The demo, the playbook and the file format are documented in ``scenario.spec`` and
``scenario.file``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from autobot.localnet.model import (
    LotteryConfig,
    LotteryStatus,
    ModelEvent,
    PackageModel,
    PrizeSlot,
    Purchase,
    SalesDistribution,
)
from autobot.localnet.model.core import bcs_u64, normalise_address, sha3
from autobot.localnet.scenario.file import load_scenario_file
from autobot.localnet.scenario.ops import (
    OPS_DEFAULTS,
    ScenarioDefaults,
    ops_spec,
    scenario_defaults,
)
from autobot.localnet.scenario.spec import (
    QUANTITIES,
    SCRIPT_NOW,
    BurstSpec,
    BuyersSpec,
    CallbackMode,
    CallbackRule,
    ExpectedHashMode,
    LotterySpec,
    OracleSettings,
    ScenarioError,
    ScenarioInfo,
    ScenarioSpec,
    ScriptStep,
    TreasuryLotterySpec,
    TreasurySpec,
    demo_spec,
    mismatch_hash,
    partner_address,
    playbook_spec,
    pool_buyer_address,
)

__all__ = [
    "BUILT_IN",
    "OPS_DEFAULTS",
    "SCRIPT_NOW",
    "BurstSpec",
    "BuyersSpec",
    "CallbackMode",
    "CallbackRule",
    "ExpectedHashMode",
    "OracleSettings",
    "ScenarioDefaults",
    "ScenarioError",
    "ScenarioInfo",
    "ScriptStep",
    "TreasuryLotterySpec",
    "TreasurySpec",
    "buyer_address",
    "mismatch_hash",
    "partner_address",
    "pool_buyer_address",
    "scenario_defaults",
    "seed",
]

BUILT_IN = ("demo", "playbook", "ops", "empty")
"""The scenarios that are names, not files."""


def seed(
    model: PackageModel,
    *,
    scenario: str | Path,
    admin: str,
    operators: Sequence[str],
    now_ts: int,
) -> ScenarioInfo:
    """Seed ``model`` with ``scenario`` (``BUILT_IN`` or a TOML path) at chain time ``now_ts``."""
    if isinstance(scenario, str) and scenario == "demo":
        spec = demo_spec()
    elif isinstance(scenario, str) and scenario == "playbook":
        spec = playbook_spec()
    elif isinstance(scenario, str) and scenario == "ops":
        spec = ops_spec()
    elif isinstance(scenario, str) and scenario == "empty":
        spec = ScenarioSpec(name="empty")
    else:
        spec = load_scenario_file(Path(scenario))
    admin = normalise_address(admin)
    ops = tuple(normalise_address(o) for o in operators)
    problems = _check(spec, model=model, admin=admin, operators=ops, now_ts=now_ts)
    if problems:
        raise ScenarioError(problems)
    return _apply(spec, model=model, admin=admin, operators=ops, now_ts=now_ts)


def _check(
    spec: ScenarioSpec, *, model: PackageModel, admin: str, operators: tuple[str, ...], now_ts: int
) -> list[str]:
    problems: list[str] = []
    if model.package_address != admin:
        problems.append(f"admin: {admin} is not the package address {model.package_address}")
    for i, bot in enumerate(spec.bots):
        if not 0 <= bot.operator < len(operators):
            problems.append(
                f"bots[{i}].operator: no operator #{bot.operator} ({len(operators)} given)"
            )
    expiries = [c.expires_in for c in spec.partner_caps] + [c.expires_in for c in spec.premium_caps]
    earliest = min(
        [now_ts + lot.start for lot in spec.lotteries]
        + [now_ts + lot.canceled_at for lot in spec.lotteries]
        + [now_ts - feed.age for feed in spec.feeds]
        + [now_ts + e for e in expiries if e is not None]
        + [now_ts]
    )
    if earliest <= 0:
        problems.append(f"now_ts: {now_ts} is too early for the scenario's offsets")
    ids = [lot.id for lot in spec.lotteries]
    if len(set(ids)) != len(ids):
        problems.append("lotteries: duplicate id")
    for lot in spec.lotteries:
        if lot.archived and (lot.status != LotteryStatus.CANCELED or lot.tickets):
            problems.append(f"lotteries: {lot.id} archived needs status canceled, no tickets sold")
    assets = [f.asset_id for f in spec.feeds]
    if len(set(assets)) != len(assets):
        problems.append("feeds: duplicate asset_id")
    problems += _check_actors(spec, set(ids))
    return problems


def _check_actors(spec: ScenarioSpec, ids: set[int]) -> list[str]:
    """The buyers' and the treasury's lotteries and partners must exist."""
    problems: list[str] = []
    buyers, treasury = spec.buyers, spec.treasury
    if buyers is not None:
        for i, burst in enumerate(buyers.bursts):
            if burst.lottery not in ids:
                problems.append(f"buyers.bursts[{i}].lottery: no lottery {burst.lottery}")
        unknown = sorted(set(buyers.lotteries or ()) - ids)
        if unknown:
            problems.append(f"buyers.lotteries: no lottery {unknown[0]}")
    if treasury is not None:
        unknown = sorted(set(treasury.lotteries or ()) - ids)
        if unknown:
            problems.append(f"treasury.lotteries: no lottery {unknown[0]}")
        partners = {c.partner for c in spec.partner_caps}
        for i, o in enumerate(treasury.overrides):
            if o.id not in ids:
                problems.append(f"treasury.overrides[{i}].id: no lottery {o.id}")
            if o.partner is not None and o.partner not in partners:
                problems.append(f"treasury.overrides[{i}].partner: no partner cap for {o.partner}")
    return problems


def _apply(
    spec: ScenarioSpec, *, model: PackageModel, admin: str, operators: tuple[str, ...], now_ts: int
) -> ScenarioInfo:
    events: list[ModelEvent] = []

    def run(module: str, function: str, *args: object, signers: Sequence[str] = (admin,)) -> None:
        events.extend(model.call(module, function, signers=signers, args=list(args)))

    model.seed_ledgers()
    if spec.draw_feature is False:
        model.seed_feature_draw(False)
    run("automation", "init_automation")
    run("roles", "init_roles")
    run("price_feed", "init_price_feed", 1)
    bots: list[str] = []
    for bot in spec.bots:
        operator = operators[bot.operator]
        run(
            "automation",
            "register_bot",
            bot.cron_spec.encode(),
            list(bot.allowed),
            bot.timelock,
            bot.max_failures,
            now_ts + bot.expires_in,
            signers=(admin, operator),
        )
        bots.append(operator)
    if spec.cap is not None:
        run("roles", "set_payout_batch_cap_admin", admin, *spec.cap)
    if spec.deposit is not None:
        bps, floor, total, minimum, effective = spec.deposit
        run("vrf_deposit", "init_vrf_deposit", bps, floor)
        run("vrf_deposit", "record_snapshot_admin", total, minimum, effective, now_ts)
    for f in spec.feeds:
        updated = now_ts - f.age
        run(
            "price_feed",
            "register_feed",
            f.asset_id,
            f.price,
            f.decimals,
            f.staleness,
            f.threshold,
            updated,
        )
        if f.clamp_to is not None:
            run("price_feed", "update_price", f.asset_id, f.clamp_to, updated)
        if f.fallback_reason is not None:
            run("price_feed", "set_fallback", f.asset_id, True, f.fallback_reason)
    for p in spec.partner_caps:
        expires_at = 0 if p.expires_in is None else now_ts + p.expires_in
        run(
            "roles",
            "upsert_partner_payout_cap_admin",
            p.partner,
            p.max_total_payout,
            p.cooldown,
            p.stride,
            expires_at,
        )
    for h in spec.premium_caps:
        expires_at = 0 if h.expires_in is None else now_ts + h.expires_in
        run("roles", "grant_premium_access_admin", h.holder, expires_at, h.auto_renew, h.referrer)
    if (dw := spec.dual_write) is not None:
        run("legacy_bridge", "update_flags", dw.enabled, dw.abort_on_mismatch, dw.abort_on_missing)
        for e in dw.expected:
            run("legacy_bridge", "set_expected_hash", e.lottery, e.hash)
    for lot in spec.lotteries:
        _seed_lottery(model, lot, now_ts=now_ts)
        if lot.status == LotteryStatus.CANCELED:
            run(
                "cancellation",
                "cancel_lottery_admin",
                lot.id,
                lot.cancel_reason,
                now_ts + lot.canceled_at,
            )
            if lot.archived:
                run("payouts", "archive_canceled_lottery_admin", lot.id, now_ts + lot.canceled_at)
    return ScenarioInfo(
        name=spec.name,
        oracle=OracleSettings(
            callback_delay_seconds=spec.callback_delay,
            push_interval_seconds=spec.push_interval,
            callbacks={lot.id: lot.callbacks for lot in spec.lotteries},
            pusher_assets=tuple(f.asset_id for f in spec.feeds if f.pushed),
            script=tuple(replace(step, at=now_ts + step.at) for step in spec.script),
        ),
        lottery_ids=tuple(lot.id for lot in spec.lotteries),
        bots=tuple(bots),
        genesis_events=tuple(events),
        buyers=spec.buyers,
        treasury=spec.treasury,
        genesis_ts=now_ts,
    )


def buyer_address(lottery_id: int, n: int) -> str:
    """The deterministic buyer of a seeded lottery's ``n``-th purchase."""
    return "0x" + sha3(b"autobot-localnet/buyer" + bcs_u64(lottery_id) + bcs_u64(n)).hex()


def _purchases(lottery_id: int, tickets: int) -> list[Purchase]:
    out: list[Purchase] = []
    left = tickets
    while left > 0:
        quantity = min(left, QUANTITIES[len(out) % len(QUANTITIES)])
        out.append(Purchase(buyer=buyer_address(lottery_id, len(out)), quantity=quantity))
        left -= quantity
    return out


def _seed_lottery(model: PackageModel, lot: LotterySpec, *, now_ts: int) -> None:
    start, end = now_ts + lot.start, now_ts + lot.end
    prize, jackpot, operations, reserve = lot.distribution
    config = LotteryConfig(
        event_slug=b"localnet",
        series_code=f"LN-{lot.id}".encode(),
        run_id=lot.id,
        config_version=1,
        primary_type=0,
        tags_mask=0,
        sales_start=start,
        sales_end=end,
        ticket_price=lot.price,
        max_tickets_total=max(10_000, lot.tickets) if lot.max_total is None else lot.max_total,
        max_tickets_per_address=lot.per_address,
        distribution=SalesDistribution(
            prize_bps=prize, jackpot_bps=jackpot, operations_bps=operations, reserve_bps=reserve
        ),
        prize_plan=tuple(
            PrizeSlot(slot_id=i + 1, winners_per_slot=w) for i, w in enumerate(lot.plan)
        ),
        winners_dedup=lot.dedup,
        draw_algo=0,
        auto_close_enabled=lot.auto_close,
        grace_period_secs=lot.auto_close_grace,
        reward_backend_type=0,
        reward_backend_blob=b"",
        retry_policy=lot.retry,
    )
    status = lot.status
    if status == LotteryStatus.CANCELED:
        # cancel_lottery_admin runs next, from the status the sales window implies
        canceled = now_ts + lot.canceled_at
        status = LotteryStatus.CLOSING if end < canceled else LotteryStatus.ACTIVE
    model.seed_lottery(lot.id, config, status=status)
    if lot.tickets:
        last = max(start, min(end, now_ts) - 60)
        model.seed_sales(lot.id, _purchases(lot.id, lot.tickets), last_purchase_ts=last)
