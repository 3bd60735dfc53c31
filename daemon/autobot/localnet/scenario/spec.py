"""What a scenario declares: bots, feeds, deposit, cap, lotteries, oracle settings; and the demo.

**The demo** (``now`` = ``now_ts``; prices in 8-decimal units; the ticket price 1,234,567 is odd
on purpose so the per-purchase rounding shows; distribution prize 6000 / jackpot 0 /
operations 2500 / reserve 1500 bps):

=====  ==========  =======  =======================  ==============  ======================
id     status      tickets  sales window             prize plan      VRF retry / callbacks
=====  ==========  =======  =======================  ==============  ======================
1      ACTIVE      120      now-3d .. now-10min      1, 2, 5         EXPONENTIAL 300/1800
2      CLOSING     80       now-3d .. now-1h         1, 3, 10        EXPONENTIAL 300/1800
3      CLOSING     50       now-3d .. now-1h         1, 4            FIXED 60/60, never
4      CANCELED    1,234    now-4d .. now-1d         1, 2, 3         reason 3 at now-5min
5      ACTIVE      40       now-1d .. now+7d         1, 2            FIXED 600/600
=====  ==========  =======  =======================  ==============  ======================

Bots: operator A (``operators[0]``) timelock 900 s, actions [1, 2, 6, 7]; operator B
(``operators[1]``) timelock 0, actions [1, 2, 3, 4]; both ``max_failures`` 3, expiry now + 10
years, cron ``*/1 * * * *``. PayoutBatchCap held by the admin: max batch 500, operations budget
10^15, cooldown 0, nonce stride 0. VRF deposit: multiplier 12,000 bps, floor 10^9, snapshot total
6·10^10, minimum 10^10 (required 1.2·10^10), effective 5·10^10 (healthy). Price feeds: asset 1
(SUPRA/USD 420,000, staleness 300 s) fresh and kept fresh by the pusher; asset 2 (USDT/USD
10^8) with an update to 1.5·10^8 refused by the 20 % clamp (``clamp_active``), then kept
fresh by the pusher with small moves (the clamp stays active until cleared); asset 3
(6.5·10^12, staleness 120 s) last updated an hour ago (stale). Oracle: callbacks 5 chain seconds
after a request, pusher every 60 s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from autobot.localnet.model import LotteryStatus, ModelEvent, RetryPolicy, RetryStrategy

__all__ = [
    "DAY",
    "DEFAULT_RETRY",
    "BotSpec",
    "CallbackMode",
    "CallbackRule",
    "FeedSpec",
    "LotterySpec",
    "OracleSettings",
    "ScenarioError",
    "ScenarioInfo",
    "ScenarioSpec",
    "demo_spec",
]

DAY = 86_400
QUANTITIES = (1, 2, 3, 5, 10, 4)


class ScenarioError(ValueError):
    """A scenario that cannot be seeded; ``problems`` names each bad key by dotted path."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid scenario: " + "; ".join(problems))
        self.problems = tuple(problems)


class CallbackMode(StrEnum):
    NORMAL = "normal"
    NEVER = "never"
    FAIL_FIRST = "fail_first"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRule:
    """How the oracle answers one lottery's VRF requests (``fail_first``: first N unanswered)."""

    mode: CallbackMode = CallbackMode.NORMAL
    fail_first: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleSettings:
    callback_delay_seconds: int
    push_interval_seconds: int
    callbacks: Mapping[int, CallbackRule]
    pusher_assets: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioInfo:
    """What the node needs after seeding: oracle settings and the genesis events."""

    name: str
    oracle: OracleSettings
    lottery_ids: tuple[int, ...]
    bots: tuple[str, ...]
    genesis_events: tuple[ModelEvent, ...] = ()

    @property
    def callbacks(self) -> Mapping[int, CallbackRule]:
        return self.oracle.callbacks

    @property
    def callback_delay_seconds(self) -> int:
        return self.oracle.callback_delay_seconds

    @property
    def pusher_assets(self) -> tuple[int, ...]:
        return self.oracle.pusher_assets


@dataclass(frozen=True, slots=True, kw_only=True)
class BotSpec:
    operator: int
    timelock: int
    allowed: tuple[int, ...]
    max_failures: int = 3
    expires_in: int = 10 * 365 * DAY
    cron_spec: str = "*/1 * * * *"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSpec:
    asset_id: int
    price: int
    decimals: int = 8
    staleness: int | None = None
    threshold: int | None = None
    age: int = 0
    pushed: bool = False
    clamp_to: int | None = None
    fallback_reason: int | None = None


DEFAULT_RETRY = RetryPolicy(strategy=RetryStrategy.FIXED, base_delay_secs=600, max_delay_secs=600)


@dataclass(frozen=True, slots=True, kw_only=True)
class LotterySpec:
    id: int
    status: LotteryStatus
    tickets: int
    price: int = 1_234_567
    start: int = -3 * DAY
    end: int = -600
    plan: tuple[int, ...] = (1, 2, 5)
    dedup: bool = True
    distribution: tuple[int, int, int, int] = (6_000, 0, 2_500, 1_500)
    retry: RetryPolicy = DEFAULT_RETRY
    callbacks: CallbackRule = CallbackRule()
    cancel_reason: int = 3
    canceled_at: int = -300
    archived: bool = False  # canceled with no tickets: archived right after the cancel
    auto_close_grace: int = 0  # AutoClosePolicy.grace_period_secs
    max_total: int | None = None  # TicketLimits.max_tickets_total (None: max(10,000, tickets))
    per_address: int = 0  # TicketLimits.max_tickets_per_address (0: no limit)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSpec:
    name: str
    callback_delay: int = 5
    push_interval: int = 60
    deposit: tuple[int, int, int, int, int] | None = None  # bps, floor, total, minimum, effective
    cap: tuple[int, int, int, int] | None = None  # max batch, budget, cooldown, stride
    bots: tuple[BotSpec, ...] = ()
    feeds: tuple[FeedSpec, ...] = ()
    lotteries: tuple[LotterySpec, ...] = field(default_factory=tuple)


def demo_spec() -> ScenarioSpec:
    """The demo scenario (see the module docstring)."""
    exp = RetryPolicy(strategy=RetryStrategy.EXPONENTIAL, base_delay_secs=300, max_delay_secs=1800)
    return ScenarioSpec(
        name="demo",
        deposit=(12_000, 10**9, 6 * 10**10, 10**10, 5 * 10**10),
        cap=(500, 10**15, 0, 0),
        bots=(
            BotSpec(operator=0, timelock=900, allowed=(1, 2, 6, 7)),
            BotSpec(operator=1, timelock=0, allowed=(1, 2, 3, 4)),
        ),
        feeds=(
            FeedSpec(asset_id=1, price=420_000, staleness=300, threshold=2_000, pushed=True),
            FeedSpec(
                asset_id=2, price=100_000_000, staleness=300, clamp_to=150_000_000, pushed=True
            ),
            FeedSpec(asset_id=3, price=6_500_000_000_000, staleness=120, age=3_600),
        ),
        lotteries=(
            LotterySpec(id=1, status=LotteryStatus.ACTIVE, tickets=120, end=-600, retry=exp),
            LotterySpec(
                id=2,
                status=LotteryStatus.CLOSING,
                tickets=80,
                end=-3_600,
                plan=(1, 3, 10),
                retry=exp,
            ),
            LotterySpec(
                id=3,
                status=LotteryStatus.CLOSING,
                tickets=50,
                end=-3_600,
                plan=(1, 4),
                retry=RetryPolicy(
                    strategy=RetryStrategy.FIXED, base_delay_secs=60, max_delay_secs=60
                ),
                callbacks=CallbackRule(mode=CallbackMode.NEVER),
            ),
            LotterySpec(
                id=4,
                status=LotteryStatus.CANCELED,
                tickets=1_234,
                start=-4 * DAY,
                end=-DAY,
                plan=(1, 2, 3),
                cancel_reason=3,
                canceled_at=-300,
            ),
            LotterySpec(
                id=5, status=LotteryStatus.ACTIVE, tickets=40, start=-DAY, end=7 * DAY, plan=(1, 2)
            ),
        ),
    )
