"""The soak's scenario: many lotteries of every kind, four bots, feeds that go stale or clamp.

``generate(n, seed=..., spread_seconds=...)`` returns a ``SoakScenario``: the TOML text (the
format of ``autobot.localnet.scenario.file``) and what the harness expects at the end of the run,
per lottery and per feed. Offsets are chain seconds after the localnet's genesis.

Lottery kinds (shares of ``n``, the rest goes to ``close``):

=========  =====================================================  ==============================
kind       seeded as                                              expected at the end
=========  =====================================================  ==============================
close      ACTIVE, sales ending between now-10min and now+spread  PAYOUT (closed, drawn, winners)
draw       CLOSING                                                PAYOUT (drawn, winners)
vrf_never  CLOSING, the oracle never answers (FIXED 60/60)        CANCELED (VRF attempts used up),
                                                                  refunded exactly, archived
refund     CANCELED, 600 - 1,500 tickets (2 - 3 refund batches)   refunded exactly, archived
future     ACTIVE, sales ending in a week                         ACTIVE (untouched)
=========  =====================================================  ==============================

Bots: operators A and C with a 900 s timelock, actions [1, 2, 6, 7] (refund plans and cancels
are sensitive: only they can take them); B and D with timelock 0, actions [1, 2, 3, 4] (closes,
draws and winners go to them: the smallest timelock wins). Feeds: asset 1 kept fresh by the
pusher; asset 2 clamped at genesis (stays clamped: clearing a clamp needs an operator's request);
asset 3 stale from the start and asset 4 going stale a few wall seconds in (both end in
fallback, ``fallback_on_stale``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["KINDS", "SoakScenario", "generate"]

KINDS = ("close", "draw", "vrf_never", "refund", "future")
SHARES = {"draw": 0.2, "vrf_never": 0.15, "refund": 0.2, "future": 0.15}

HEAD = """\
name = "soak"
[oracle]
callback_delay_seconds = 5
push_interval_seconds = 60

[vrf_deposit]
min_balance_multiplier_bps = 12000
effective_floor = 1000000000
total_balance = 600000000000
minimum_balance = 10000000000
effective_balance = 500000000000

[payout_cap]
max_batch_size = 500
operations_budget_total = 1000000000000000000
cooldown_seconds = 0
nonce_stride = 0

[[bots]]
operator = 0
timelock_seconds = 900
allowed_actions = [1, 2, 6, 7]

[[bots]]
operator = 1
timelock_seconds = 0
allowed_actions = [1, 2, 3, 4]

[[bots]]
operator = 2
timelock_seconds = 900
allowed_actions = [1, 2, 6, 7]

[[bots]]
operator = 3
timelock_seconds = 0
allowed_actions = [1, 2, 3, 4]

[[feeds]]
asset_id = 1
price = 420000
staleness_window_seconds = 300
clamp_threshold_bps = 2000
pushed = true

[[feeds]]
asset_id = 2
price = 100000000
staleness_window_seconds = 300
clamp_to = 150000000
pushed = true

[[feeds]]
asset_id = 3
price = 6500000000000
staleness_window_seconds = 120
age_seconds = 3600

[[feeds]]
asset_id = 4
price = 250000000
staleness_window_seconds = 600
age_seconds = 0
"""


@dataclass(frozen=True, slots=True)
class FeedExpectation:
    asset_id: int
    fallback_active: bool
    clamp_active: bool


FEEDS = (
    FeedExpectation(1, fallback_active=False, clamp_active=False),
    FeedExpectation(2, fallback_active=False, clamp_active=True),
    FeedExpectation(3, fallback_active=True, clamp_active=False),
    FeedExpectation(4, fallback_active=True, clamp_active=False),
)


@dataclass(frozen=True, slots=True)
class SoakScenario:
    toml: str
    kinds: dict[int, str]  # lottery id → kind
    tickets: dict[int, int]
    feeds: tuple[FeedExpectation, ...] = FEEDS
    expected: dict[int, str] = field(default_factory=dict)  # lottery id → "PAYOUT" | ...

    @property
    def lottery_ids(self) -> list[int]:
        return sorted(self.kinds)

    @property
    def asset_ids(self) -> list[int]:
        return [f.asset_id for f in self.feeds]


EXPECTED = {
    "close": "PAYOUT",
    "draw": "PAYOUT",
    "vrf_never": "CANCELED+refunded+archived",
    "refund": "CANCELED+refunded+archived",
    "future": "ACTIVE",
}


def _mix(n: int, rng: random.Random) -> list[str]:
    kinds: list[str] = []
    for kind, share in SHARES.items():
        kinds += [kind] * max(1, round(n * share))
    kinds = kinds[:n]
    kinds += ["close"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def generate(n: int, *, seed: int, spread_seconds: int) -> SoakScenario:
    """``n`` lotteries (ids 1..n); ``close`` ones end their sales spread over ``spread_seconds``
    chain seconds from genesis, so closes keep arriving while the daemon is being killed."""
    if n < len(KINDS):
        raise ValueError(f"at least {len(KINDS)} lotteries (one of each kind)")
    rng = random.Random(seed)
    kinds = _mix(n, rng)
    lines = [HEAD]
    tickets: dict[int, int] = {}
    for i, kind in enumerate(kinds, start=1):
        lot = ["[[lotteries]]", f"id = {i}"]
        if kind == "close":
            end = rng.randint(-600, max(-600, spread_seconds))
            sold = rng.randint(20, 150)  # at least the 8 distinct winners of [1, 2, 5]
            lot += ['status = "active"', f"sales_start_offset_seconds = {end - 3 * 86_400}"]
            lot += [f"sales_end_offset_seconds = {end}", "prize_plan = [1, 2, 5]"]
        elif kind == "draw":
            sold = rng.randint(10, 150)
            lot += ['status = "closing"', "sales_end_offset_seconds = -3600", "prize_plan = [1, 3]"]
        elif kind == "vrf_never":
            sold = rng.randint(20, 400)
            lot += ['status = "closing"', "sales_end_offset_seconds = -3600", "prize_plan = [1, 4]"]
            lot += [
                'retry = { strategy = "fixed", base_delay_seconds = 60, max_delay_seconds = 60 }'
            ]
            lot += ['callbacks = "never"']
        elif kind == "refund":
            sold = rng.randint(600, 1_500)
            lot += ['status = "canceled"', "sales_start_offset_seconds = -345600"]
            lot += ["sales_end_offset_seconds = -86400", "prize_plan = [1, 2, 3]"]
            lot += [f"cancel_reason = 3\ncanceled_offset_seconds = {-rng.randint(60, 900)}"]
        else:  # future
            sold = rng.randint(0, 80)
            lot += ['status = "active"', "sales_start_offset_seconds = -86400"]
            lot += ["sales_end_offset_seconds = 604800", "prize_plan = [1, 2]"]
        lot.append(f"tickets_sold = {sold}")
        tickets[i] = sold
        lines.append("\n".join(lot) + "\n")
    by_id = dict(enumerate(kinds, start=1))
    return SoakScenario(
        toml="\n".join(lines),
        kinds=by_id,
        tickets=tickets,
        expected={i: EXPECTED[k] for i, k in by_id.items()},
    )
