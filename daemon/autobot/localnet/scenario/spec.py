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

**The playbook** (``--scenario playbook``): the demo plus the traffic of the operations playbook
(docs/package.md §2.1, §5, §10.16), so that every monitor has something to watch:

* lottery 6, ACTIVE with 30 tickets, selling from now-1h to now+30min (prize plan 1, 2);
* **buyers** (``localnet/buyers.py``): one purchase a minute on every selling lottery (5 and 6)
  from a pool of 40 buyers; bursts at now+300 s (70 new buyers on lottery 5 in one block: six
  refused with ``E_PURCHASE_RATE_LIMIT_BLOCK``), now+600 s (12 purchases by one new buyer on
  lottery 5: two refused with ``E_PURCHASE_RATE_LIMIT_WINDOW``) and now+1790 s (three new buyers
  on lottery 6 ten seconds before its sales end: refused with ``E_PURCHASE_GRACE_RESTRICTED``);
  pool buyer 0 holds a premium cap (expires in 12 h) and buys through the premium entry;
* **treasury** (``localnet/treasury.py``): 600 s after it sees a lottery at PAYOUT it pays two
  winners every 120 s (``record_payout_batch_admin``, the demo's PayoutBatchCap: stride 0, no
  cooldown) and finalizes 1800 s after the last batch; lottery 1 also gets a partner payout of
  250,000 (partner 1) before its first batch and, before its finalization, the matching dual-write
  expected hash (``ArchiveDualWriteCompletedEvent``); lottery 2 is finalized three days late;
* **caps**: partner 1 (10^8, stride 1, expires in 20 h: ``partner_cap_expiring``), partner 2
  (expired an hour before genesis), premium for pool buyers 0 (12 h) and 1 (expired): what
  ``cleanup_expired_admin`` removes;
* **dual-write**: the deployment's flags (no aborts) and an expected hash for lottery 4 that its
  archive will not match: the archive passes and the hash stays pending (one mismatch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from autobot.localnet.model import LotteryStatus, ModelEvent, RetryPolicy, RetryStrategy
from autobot.localnet.model.core import bcs_u64, sha3

__all__ = [
    "DAY",
    "DEFAULT_RETRY",
    "SCRIPT_NOW",
    "BotSpec",
    "BurstSpec",
    "BuyersSpec",
    "CallbackMode",
    "CallbackRule",
    "DualWriteSpec",
    "ExpectedHashMode",
    "ExpectedHashSpec",
    "FeedSpec",
    "LotterySpec",
    "OracleSettings",
    "PartnerCapSpec",
    "PremiumCapSpec",
    "ScenarioError",
    "ScenarioInfo",
    "ScenarioSpec",
    "ScriptStep",
    "TreasuryLotterySpec",
    "TreasurySpec",
    "demo_spec",
    "mismatch_hash",
    "partner_address",
    "playbook_spec",
    "pool_buyer_address",
]

DAY = 86_400
QUANTITIES = (1, 2, 3, 5, 10, 4)


def pool_buyer_address(n: int) -> str:
    """Buyer ``n`` of the buyers actor's pool (the same people buy in every lottery)."""
    return "0x" + sha3(b"autobot-localnet/buyer-pool" + bcs_u64(n)).hex()


def partner_address(n: int) -> str:
    """Partner ``n`` (scenario files name partners by index or by address)."""
    return "0x" + sha3(b"autobot-localnet/partner" + bcs_u64(n)).hex()


def mismatch_hash(lottery_id: int) -> bytes:
    """An expected hash no summary of the lottery has: what a legacy system got wrong."""
    return sha3(b"autobot-localnet/dual-write-mismatch" + bcs_u64(lottery_id))


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
class ScriptStep:
    """An admin call the localnet makes at a chain time (a system transaction, like the price
    pusher's): what another admin tool does meanwhile in a scenario's story. ``at`` is seconds
    after genesis in a spec, chain seconds once seeded (``OracleSettings.script``); an argument
    ``SCRIPT_NOW`` is the chain time of the block that runs it."""

    at: int
    module: str
    function: str
    args: tuple[int, ...] = ()


SCRIPT_NOW = -1
"""A ``ScriptStep`` argument standing for the chain time it runs at (arguments are u64s)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleSettings:
    callback_delay_seconds: int
    push_interval_seconds: int
    callbacks: Mapping[int, CallbackRule]
    pusher_assets: tuple[int, ...]
    script: tuple[ScriptStep, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BurstSpec:
    """A burst of purchases in one block: ``purchases`` tickets bought by ``buyers`` new buyers
    (round robin), in the first block at or after ``at`` chain seconds after genesis."""

    lottery: int
    at: int
    purchases: int
    buyers: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyersSpec:
    """The buyers actor (``localnet/buyers.py``): purchases on every selling lottery."""

    purchases_per_minute: float = 1.0  # per selling lottery, chain time
    pool: int = 50  # distinct buyers (``pool_buyer_address(0 .. pool - 1)``)
    quantities: tuple[int, ...] = QUANTITIES
    lotteries: tuple[int, ...] | None = None  # None: every lottery
    max_catch_up: int = 60  # after a pause or a jump of chain time, at most this much is bought
    bursts: tuple[BurstSpec, ...] = ()


class ExpectedHashMode(StrEnum):
    """What the treasury tells the dual-write control before it finalizes a lottery."""

    NONE = "none"
    MATCH = "match"  # the hash the finalize will write (a dry run tells it)
    MISMATCH = "mismatch"  # a hash the legacy system got wrong


@dataclass(frozen=True, slots=True, kw_only=True)
class TreasuryLotterySpec:
    """The treasury's handling of one lottery where it differs from the defaults."""

    id: int
    finalize_delay: int | None = None
    partner: str | None = None  # one partner payout, before the first batch
    partner_amount: int = 0
    expected_hash: ExpectedHashMode = ExpectedHashMode.NONE


@dataclass(frozen=True, slots=True, kw_only=True)
class TreasurySpec:
    """The treasury actor (``localnet/treasury.py``): pays winners after PAYOUT, finalizes."""

    lotteries: tuple[int, ...] | None = None  # None: every lottery that reaches PAYOUT
    payout_delay: int = 300  # first batch, after it sees the lottery at PAYOUT
    batch_winners: int = 2
    batch_interval: int = 60
    finalize_delay: int = 600  # after the last batch
    pay_operations: bool = True
    reissue_cap: bool = False
    overrides: tuple[TreasuryLotterySpec, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerCapSpec:
    partner: str
    max_total_payout: int
    cooldown: int = 0
    stride: int = 1
    expires_in: int | None = None  # seconds after genesis (negative: already expired); None: never


@dataclass(frozen=True, slots=True, kw_only=True)
class PremiumCapSpec:
    holder: str
    expires_in: int | None = None
    auto_renew: bool = False
    referrer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedHashSpec:
    lottery: int
    hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DualWriteSpec:
    enabled: bool = True
    abort_on_mismatch: bool = False
    abort_on_missing: bool = False
    expected: tuple[ExpectedHashSpec, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioInfo:
    """What the node needs after seeding: the actors' settings and the genesis events.

    ``genesis_ts`` is the chain time the scenario was seeded at (bursts count from it).
    """

    name: str
    oracle: OracleSettings
    lottery_ids: tuple[int, ...]
    bots: tuple[str, ...]
    genesis_events: tuple[ModelEvent, ...] = ()
    buyers: BuyersSpec | None = None
    treasury: TreasurySpec | None = None
    genesis_ts: int = 0

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
    auto_close: bool = True  # AutoClosePolicy.enabled


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
    partner_caps: tuple[PartnerCapSpec, ...] = ()
    premium_caps: tuple[PremiumCapSpec, ...] = ()
    dual_write: DualWriteSpec | None = None
    buyers: BuyersSpec | None = None
    treasury: TreasurySpec | None = None
    draw_feature: bool | None = None  # None: the deployment's force_enable_devnet; False: DRAW off
    script: tuple[ScriptStep, ...] = ()  # admin calls at chain times after genesis


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


def playbook_spec() -> ScenarioSpec:
    """The demo with the playbook's traffic (see the module docstring)."""
    demo = demo_spec()
    return replace(
        demo,
        name="playbook",
        lotteries=(
            *demo.lotteries,
            LotterySpec(
                id=6, status=LotteryStatus.ACTIVE, tickets=30, start=-3_600, end=1_800, plan=(1, 2)
            ),
        ),
        partner_caps=(
            PartnerCapSpec(
                partner=partner_address(1), max_total_payout=10**8, expires_in=20 * 3_600
            ),
            PartnerCapSpec(partner=partner_address(2), max_total_payout=10**6, expires_in=-3_600),
        ),
        premium_caps=(
            PremiumCapSpec(holder=pool_buyer_address(0), expires_in=12 * 3_600, auto_renew=True),
            PremiumCapSpec(holder=pool_buyer_address(1), expires_in=-3_600),
        ),
        dual_write=DualWriteSpec(expected=(ExpectedHashSpec(lottery=4, hash=mismatch_hash(4)),)),
        buyers=BuyersSpec(
            purchases_per_minute=1.0,
            pool=40,
            bursts=(
                BurstSpec(lottery=5, at=300, purchases=70, buyers=70),  # over 64 in one block
                BurstSpec(lottery=5, at=600, purchases=12, buyers=1),  # over 10 a minute
                BurstSpec(lottery=6, at=1_790, purchases=3, buyers=3),  # new buyers, grace
            ),
        ),
        treasury=TreasurySpec(
            payout_delay=600,
            batch_winners=2,
            batch_interval=120,
            finalize_delay=1_800,
            overrides=(
                TreasuryLotterySpec(
                    id=1,
                    partner=partner_address(1),
                    partner_amount=250_000,
                    expected_hash=ExpectedHashMode.MATCH,
                ),
                TreasuryLotterySpec(id=2, finalize_delay=3 * DAY),  # finalized late
            ),
        ),
    )
