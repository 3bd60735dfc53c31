"""Scenario files: a small TOML format, validated with every problem named by its dotted key.

**TOML format** (every key optional unless marked; unknown keys are errors; offsets are seconds
relative to ``now_ts``)::

    name = "my-scenario"
    [oracle]
    callback_delay_seconds = 5
    push_interval_seconds = 60
    [vrf_deposit]                       # omitted: no deposit ledger
    min_balance_multiplier_bps = 12000  # required
    effective_floor = 1000000000        # required
    total_balance = 0
    minimum_balance = 0
    effective_balance = 0
    [payout_cap]                        # omitted: no cap (the role store exists)
    max_batch_size = 500                # required
    operations_budget_total = 1000000   # required
    cooldown_seconds = 0
    nonce_stride = 0
    [[bots]]
    operator = 0                        # required: index into the localnet's operators
    timelock_seconds = 900              # required
    allowed_actions = [1, 2, 6, 7]      # required
    max_failures = 3
    expires_in_seconds = 315360000
    cron_spec = "*/1 * * * *"
    [[feeds]]
    asset_id = 1                        # required
    price = 420000                      # required
    decimals = 8
    staleness_window_seconds = 300
    clamp_threshold_bps = 2000
    age_seconds = 0                     # last update at now - age
    pushed = false                      # the price pusher keeps it fresh
    clamp_to = 630000                   # one update_price to this price (a clamp if too far)
    fallback_reason = 2                 # set_fallback(active = true, reason)
    [[lotteries]]
    id = 1                              # required
    status = "active"                   # required: draft | active | closing | canceled
    tickets_sold = 120
    ticket_price = 1234567
    max_tickets_total = 10000           # default: 10000, or tickets_sold if more (at least 1)
    max_tickets_per_address = 0         # 0: no limit; else at most max_tickets_total
    sales_start_offset_seconds = -259200
    sales_end_offset_seconds = -600
    prize_plan = [1, 2, 5]              # winners per slot (1..255 slots)
    winners_dedup = true
    distribution = [6000, 0, 2500, 1500]  # prize, jackpot, operations, reserve bps (sum 10000)
    retry = { strategy = "fixed", base_delay_seconds = 600, max_delay_seconds = 600 }
    callbacks = "normal"                # "normal" | "never" | N (the first N requests unanswered)
    auto_close_grace_seconds = 0        # the lottery's AutoClosePolicy grace
    cancel_reason = 3                   # status = "canceled" only
    canceled_offset_seconds = -300      # status = "canceled" only
    archived = false                    # status = "canceled", tickets_sold = 0 only: archived too
    [[partner_caps]]                    # roles::upsert_partner_payout_cap_admin at genesis
    partner = 1                         # required: an index (partner_address(n)) or "0x…"
    max_total_payout = 100000000        # required
    payout_cooldown_seconds = 0
    nonce_stride = 1
    expires_offset_seconds = 72000      # omitted: never expires (negative: already expired)
    [[premium_caps]]                    # roles::grant_premium_access_admin at genesis
    holder = 0                          # required: a buyers-pool index or "0x…"
    expires_offset_seconds = 43200      # omitted: never expires
    auto_renew = false
    referrer = "0x…"                    # omitted: none
    [dual_write]                        # legacy_bridge::update_flags and set_expected_hash
    enabled = true
    abort_on_mismatch = false
    abort_on_missing = false
    [[dual_write.expected]]
    lottery = 4                         # required
    hash = "mismatch"                   # required: "mismatch" (a hash no summary has) or "0x…"
    [buyers]                            # the buyers actor (localnet/buyers.py); omitted: none
    purchases_per_minute = 1.0          # per selling lottery, chain time (> 0)
    pool = 50                           # buyers in the pool (pool_buyer_address(0 .. pool-1))
    quantities = [1, 2, 3, 5, 10, 4]    # tickets per purchase, in turn (1..128)
    lotteries = [5, 6]                  # omitted: every lottery
    max_catch_up_seconds = 60
    [[buyers.bursts]]                   # purchases in one block, by new buyers
    lottery = 5                         # required
    at_offset_seconds = 300             # required: chain seconds after genesis
    purchases = 70                      # required
    buyers = 70                         # distinct buyers, in turn (default: purchases)
    [treasury]                          # the treasury actor (localnet/treasury.py); omitted: none
    lotteries = [1, 2]                  # omitted: every lottery that reaches PAYOUT
    payout_delay_seconds = 300
    batch_winners = 2                   # at least 1
    batch_interval_seconds = 60
    finalize_delay_seconds = 600
    pay_operations = true               # also pay the operations allocation
    reissue_cap = false                 # re-issue a PayoutBatchCap whose nonce refuses round 1
    [[treasury.overrides]]
    id = 1                              # required
    finalize_delay_seconds = 1800
    partner = 1                         # one partner payout before the first batch
    partner_amount = 250000
    expected_hash = "match"             # "none" | "match" | "mismatch", set before finalizing
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from autobot.localnet.model import LotteryStatus, RetryPolicy, RetryStrategy
from autobot.localnet.model.core import normalise_address
from autobot.localnet.scenario.spec import (
    DAY,
    QUANTITIES,
    BotSpec,
    BurstSpec,
    BuyersSpec,
    CallbackMode,
    CallbackRule,
    DualWriteSpec,
    ExpectedHashMode,
    ExpectedHashSpec,
    FeedSpec,
    LotterySpec,
    PartnerCapSpec,
    PremiumCapSpec,
    ScenarioError,
    ScenarioSpec,
    TreasuryLotterySpec,
    TreasurySpec,
    mismatch_hash,
    partner_address,
    pool_buyer_address,
)

__all__ = ["load_scenario_file"]


_STATUSES = {
    "draft": LotteryStatus.DRAFT,
    "active": LotteryStatus.ACTIVE,
    "closing": LotteryStatus.CLOSING,
    "canceled": LotteryStatus.CANCELED,
}
_STRATEGIES = {
    "fixed": RetryStrategy.FIXED,
    "exponential": RetryStrategy.EXPONENTIAL,
    "manual": RetryStrategy.MANUAL,
}


class _Reader:
    """Reads one TOML table, recording every problem under its dotted path."""

    def __init__(self, data: object, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.data: dict[str, object] = {}
        if isinstance(data, dict):
            self.data = data
        else:
            problems.append(f"{path}: expected a table")
        self.seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> object:
        self.seen.add(key)
        return self.data.get(key)

    def int_(
        self, key: str, default: int | None = None, *, low: int = 0, high: int = 2**64 - 1
    ) -> int:
        value = self.raw(key)
        if value is None:
            if default is None:
                self.problems.append(f"{self._key(key)}: required")
                return low
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.problems.append(
                f"{self._key(key)}: expected an integer in [{low}, {high}], got {value!r}"
            )
            return default if default is not None else low
        return value

    def opt_int(self, key: str, *, high: int = 2**64 - 1) -> int | None:
        return self.int_(key, low=0, high=high) if self.has(key) else None

    def bool_(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problems.append(f"{self._key(key)}: expected true or false, got {value!r}")
            return default
        return value

    def str_(self, key: str, default: str) -> str:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problems.append(f"{self._key(key)}: expected a string, got {value!r}")
            return default
        return value

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool) or not low < value <= high:
            self.problems.append(
                f"{self._key(key)}: expected a number in ({low}, {high}], got {value!r}"
            )
            return default
        return float(value)

    def address(self, key: str, derive: Callable[[int], str]) -> str:
        """Required: an index (``derive(n)``) or a ``0x`` address."""
        value = self.raw(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
            return derive(value)
        if isinstance(value, str):
            try:
                return normalise_address(value)
            except ValueError:
                pass
        self.problems.append(
            f"{self._key(key)}: expected an index or a 0x address, got {value!r}"
            if value is not None
            else f"{self._key(key)}: required"
        )
        return derive(0)

    def opt_ints(self, key: str) -> tuple[int, ...] | None:
        return self.ints(key, None) if self.has(key) else None

    def ints(
        self, key: str, default: tuple[int, ...] | None, *, high: int = 2**64 - 1
    ) -> tuple[int, ...]:
        value = self.raw(key)
        if value is None:
            if default is None:
                self.problems.append(f"{self._key(key)}: required")
                return ()
            return default
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= high for v in value
        ):
            self.problems.append(f"{self._key(key)}: expected a list of integers in [0, {high}]")
            return default or ()
        return tuple(value)

    def tables(self, key: str) -> list[_Reader]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(f"{self._key(key)}: expected an array of tables")
            return []
        return [
            _Reader(item, f"{self._key(key)}[{i}]", self.problems) for i, item in enumerate(value)
        ]

    def table(self, key: str) -> _Reader | None:
        return _Reader(self.raw(key), self._key(key), self.problems) if self.has(key) else None

    def done(self) -> None:
        for key in sorted(set(self.data) - self.seen):
            self.problems.append(f"{self._key(key)}: unknown key")


def load_scenario_file(path: Path) -> ScenarioSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read ({exc.strerror})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: not TOML ({exc})"]) from exc
    problems: list[str] = []
    top = _Reader(data, "", problems)
    name = top.str_("name", path.stem)
    delay, interval = 5, 60
    if (oracle := top.table("oracle")) is not None:
        delay = oracle.int_("callback_delay_seconds", 5)
        interval = oracle.int_("push_interval_seconds", 60, low=1)
        oracle.done()
    deposit = None
    if (d := top.table("vrf_deposit")) is not None:
        deposit = (
            d.int_("min_balance_multiplier_bps", None, low=10_000),
            d.int_("effective_floor", None),
            d.int_("total_balance", 0),
            d.int_("minimum_balance", 0),
            d.int_("effective_balance", 0),
        )
        d.done()
    cap = None
    if (t := top.table("payout_cap")) is not None:
        cap = (
            t.int_("max_batch_size", None),
            t.int_("operations_budget_total", None),
            t.int_("cooldown_seconds", 0),
            t.int_("nonce_stride", 0),
        )
        t.done()
    bots = []
    for b in top.tables("bots"):
        bots.append(
            BotSpec(
                operator=b.int_("operator", None, high=63),
                timelock=b.int_("timelock_seconds", None),
                allowed=b.ints("allowed_actions", None),
                max_failures=b.int_("max_failures", 3, low=1),
                expires_in=b.int_("expires_in_seconds", 10 * 365 * DAY, low=1),
                cron_spec=b.str_("cron_spec", "*/1 * * * *"),
            )
        )
        if not bots[-1].allowed and b.has("allowed_actions"):
            problems.append(f"{b.path}.allowed_actions: must not be empty")
        b.done()
    feeds = [_feed(f) for f in top.tables("feeds")]
    lotteries = [_lottery(lot) for lot in top.tables("lotteries")]
    partner_caps = [_partner_cap(c) for c in top.tables("partner_caps")]
    premium_caps = [_premium_cap(c) for c in top.tables("premium_caps")]
    dual_write = _dual_write(t) if (t := top.table("dual_write")) is not None else None
    buyers = _buyers(t) if (t := top.table("buyers")) is not None else None
    treasury = _treasury(t) if (t := top.table("treasury")) is not None else None
    top.done()
    if problems:
        raise ScenarioError(problems)
    return ScenarioSpec(
        name=name,
        callback_delay=delay,
        push_interval=interval,
        deposit=deposit,
        cap=cap,
        bots=tuple(bots),
        feeds=tuple(feeds),
        lotteries=tuple(lotteries),
        partner_caps=tuple(partner_caps),
        premium_caps=tuple(premium_caps),
        dual_write=dual_write,
        buyers=buyers,
        treasury=treasury,
    )


_OFFSET = {"low": -(2**40), "high": 2**40}


def _partner_cap(t: _Reader) -> PartnerCapSpec:
    cap = PartnerCapSpec(
        partner=t.address("partner", partner_address),
        max_total_payout=t.int_("max_total_payout", None),
        cooldown=t.int_("payout_cooldown_seconds", 0),
        stride=t.int_("nonce_stride", 1),
        expires_in=t.int_("expires_offset_seconds", **_OFFSET)
        if t.has("expires_offset_seconds")
        else None,
    )
    t.done()
    return cap


def _premium_cap(t: _Reader) -> PremiumCapSpec:
    cap = PremiumCapSpec(
        holder=t.address("holder", pool_buyer_address),
        expires_in=t.int_("expires_offset_seconds", **_OFFSET)
        if t.has("expires_offset_seconds")
        else None,
        auto_renew=t.bool_("auto_renew", False),
        referrer=t.address("referrer", pool_buyer_address) if t.has("referrer") else None,
    )
    t.done()
    return cap


def _dual_write(t: _Reader) -> DualWriteSpec:
    expected: list[ExpectedHashSpec] = []
    for e in t.tables("expected"):
        lottery = e.int_("lottery", None)
        value = e.str_("hash", "")
        if value == "mismatch":
            expected.append(ExpectedHashSpec(lottery=lottery, hash=mismatch_hash(lottery)))
        elif value.startswith("0x") and len(value) > 2 and _is_hex(value[2:]):
            expected.append(ExpectedHashSpec(lottery=lottery, hash=bytes.fromhex(value[2:])))
        else:
            e.problems.append(f'{e.path}.hash: expected "mismatch" or 0x-hex bytes, got {value!r}')
        e.done()
    spec = DualWriteSpec(
        enabled=t.bool_("enabled", True),
        abort_on_mismatch=t.bool_("abort_on_mismatch", False),
        abort_on_missing=t.bool_("abort_on_missing", False),
        expected=tuple(expected),
    )
    t.done()
    return spec


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def _buyers(t: _Reader) -> BuyersSpec:
    bursts: list[BurstSpec] = []
    for b in t.tables("bursts"):
        purchases = b.int_("purchases", None, low=1, high=10_000)
        bursts.append(
            BurstSpec(
                lottery=b.int_("lottery", None),
                at=b.int_("at_offset_seconds", None, high=2**40),
                purchases=purchases,
                buyers=b.int_("buyers", purchases, low=1, high=10_000),
            )
        )
        b.done()
    quantities = t.ints("quantities", QUANTITIES, high=128)
    if not quantities or 0 in quantities:
        t.problems.append(f"{t.path}.quantities: one or more quantities from 1 to 128")
        quantities = QUANTITIES
    spec = BuyersSpec(
        purchases_per_minute=t.number("purchases_per_minute", 1.0, low=0, high=6_000),
        pool=t.int_("pool", 50, low=1, high=1_000_000),
        quantities=quantities,
        lotteries=t.opt_ints("lotteries"),
        max_catch_up=t.int_("max_catch_up_seconds", 60, low=1, high=86_400),
        bursts=tuple(bursts),
    )
    t.done()
    return spec


def _treasury(t: _Reader) -> TreasurySpec:
    overrides: list[TreasuryLotterySpec] = []
    for o in t.tables("overrides"):
        mode = o.str_("expected_hash", "none")
        if mode not in {m.value for m in ExpectedHashMode}:
            o.problems.append(
                f'{o.path}.expected_hash: "none", "match" or "mismatch", got {mode!r}'
            )
            mode = "none"
        overrides.append(
            TreasuryLotterySpec(
                id=o.int_("id", None),
                finalize_delay=o.int_("finalize_delay_seconds", 0, high=2**40)
                if o.has("finalize_delay_seconds")
                else None,
                partner=o.address("partner", partner_address) if o.has("partner") else None,
                partner_amount=o.int_("partner_amount", 0),
                expected_hash=ExpectedHashMode(mode),
            )
        )
        if overrides[-1].partner is None and overrides[-1].partner_amount:
            o.problems.append(f"{o.path}.partner_amount: needs a partner")
        o.done()
    spec = TreasurySpec(
        lotteries=t.opt_ints("lotteries"),
        payout_delay=t.int_("payout_delay_seconds", 300, high=2**40),
        batch_winners=t.int_("batch_winners", 2, low=1, high=2**32),
        batch_interval=t.int_("batch_interval_seconds", 60, high=2**40),
        finalize_delay=t.int_("finalize_delay_seconds", 600, high=2**40),
        pay_operations=t.bool_("pay_operations", True),
        reissue_cap=t.bool_("reissue_cap", False),
        overrides=tuple(overrides),
    )
    t.done()
    return spec


def _feed(f: _Reader) -> FeedSpec:
    feed = FeedSpec(
        asset_id=f.int_("asset_id", None),
        price=f.int_("price", None),
        decimals=f.int_("decimals", 8, high=18),
        staleness=f.opt_int("staleness_window_seconds"),
        threshold=f.opt_int("clamp_threshold_bps"),
        age=f.int_("age_seconds", 0),
        pushed=f.bool_("pushed", False),
        clamp_to=f.opt_int("clamp_to"),
        fallback_reason=f.opt_int("fallback_reason", high=255),
    )
    f.done()
    return feed


def _lottery(t: _Reader) -> LotterySpec:
    lottery_id = t.int_("id", None)
    status_name = t.str_("status", "")
    status = _STATUSES.get(status_name)
    if status is None:
        t.problems.append(
            f"{t.path}.status: expected one of {', '.join(_STATUSES)}, got {status_name!r}"
        )
        status = LotteryStatus.ACTIVE
    tickets = t.int_("tickets_sold", 0)
    start = t.int_("sales_start_offset_seconds", -3 * DAY, low=-(2**40), high=2**40)
    end = t.int_("sales_end_offset_seconds", -600, low=-(2**40), high=2**40)
    if start >= end:
        t.problems.append(f"{t.path}.sales_end_offset_seconds: must be after the sales start")
    plan = t.ints("prize_plan", (1,), high=65_535)
    if not 1 <= len(plan) <= 255 or 0 in plan:
        t.problems.append(f"{t.path}.prize_plan: 1 to 255 slots, each with at least one winner")
    distribution = t.ints("distribution", (6_000, 0, 2_500, 1_500), high=10_000)
    if len(distribution) != 4 or sum(distribution) != 10_000:
        t.problems.append(f"{t.path}.distribution: four basis points adding up to 10000")
        distribution = (6_000, 0, 2_500, 1_500)
    retry = RetryPolicy(strategy=RetryStrategy.FIXED, base_delay_secs=600, max_delay_secs=600)
    if (r := t.table("retry")) is not None:
        strategy = _STRATEGIES.get(r.str_("strategy", "fixed"))
        if strategy is None:
            t.problems.append(f"{r.path}.strategy: expected fixed, exponential or manual")
            strategy = RetryStrategy.FIXED
        base = r.int_("base_delay_seconds", 600)
        top = r.int_("max_delay_seconds", max(base, 600))
        if strategy != RetryStrategy.MANUAL and (base == 0 or top < base):
            t.problems.append(f"{r.path}: base_delay_seconds > 0 and max_delay_seconds >= base")
        retry = RetryPolicy(strategy=strategy, base_delay_secs=base, max_delay_secs=top)
        r.done()
    callbacks = _callbacks(t)
    canceled = status == LotteryStatus.CANCELED
    for key in ("cancel_reason", "canceled_offset_seconds", "archived"):
        if t.has(key) and not canceled:
            t.problems.append(f'{t.path}.{key}: only for status = "canceled"')
    lottery = LotterySpec(
        id=lottery_id,
        status=status,
        tickets=tickets,
        price=t.int_("ticket_price", 1_234_567, low=1),
        start=start,
        end=end,
        plan=plan,
        dedup=t.bool_("winners_dedup", True),
        distribution=(distribution[0], distribution[1], distribution[2], distribution[3]),
        retry=retry,
        callbacks=callbacks,
        cancel_reason=t.int_("cancel_reason", 3, low=1, high=255),
        canceled_at=t.int_("canceled_offset_seconds", -300, low=-(2**40), high=2**40),
        archived=t.bool_("archived", False),
        auto_close_grace=t.int_("auto_close_grace_seconds", 0, high=2**40),
        max_total=t.int_("max_tickets_total", low=1) if t.has("max_tickets_total") else None,
        per_address=t.int_("max_tickets_per_address", 0),
    )
    if lottery.archived and tickets:
        t.problems.append(f"{t.path}.archived: only for a lottery with tickets_sold = 0")
    total = max(10_000, tickets) if lottery.max_total is None else lottery.max_total
    if total < tickets:
        t.problems.append(f"{t.path}.max_tickets_total: below tickets_sold ({tickets})")
    if lottery.per_address > total:
        t.problems.append(f"{t.path}.max_tickets_per_address: above max_tickets_total ({total})")
    t.done()
    return lottery


def _callbacks(t: _Reader) -> CallbackRule:
    value = t.raw("callbacks")
    if value is None or value == "normal":
        return CallbackRule()
    if value == "never":
        return CallbackRule(mode=CallbackMode.NEVER)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return (
            CallbackRule(mode=CallbackMode.FAIL_FIRST, fail_first=value)
            if value
            else CallbackRule()
        )
    t.problems.append(f'{t.path}.callbacks: expected "normal", "never" or a count, got {value!r}')
    return CallbackRule()
