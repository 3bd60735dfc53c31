"""The ``ops`` scenario: what an on-call operator meets, told in two chain hours.

``make run SCENARIO=ops`` (or ``autobot localnet --scenario ops``) runs it under the **strict** VRF
variant (the package's real behaviour, docs/decisions.md §1) and writes a daemon config with
``cancel_on_vrf_failure = false``, so the stuck draw waits for a person (``ScenarioDefaults``).
Times are chain time after genesis (at time-scale 60 a chain minute is a wall second):

=====  ==================================================================================
when   what happens
=====  ==================================================================================
0      the package's DRAW feature is off (``feature_switch``, entries with DRAW disabled):
       lottery 3, CLOSING, cannot be drawn — autobot waits and escalates
       (``draw_feature_disabled``), nothing is simulated, no bot failure; lottery 4's
       ``AutoClosePolicy`` is disabled and its sales are over: "closing by hand"
       (``auto_close_disabled``), never closed by autobot
40 min an admin turns DRAW on (``set_mode(3, 1)``): lottery 3 is drawn
50 min the deposit's floor is raised to 10^11 and a snapshot records the (unchanged)
       balances: the effective balance 5·10^10 is below the floor, requests are paused
       (``VrfRequestsPaused``; the incident log's ``Инцидент`` row); ``autobot vrf resume``
       is refused, naming the shortfall
55 min lotteries 1 and 2 end their sales: closed, their draws wait for the deposit
       (``vrf_requests_paused``)
80 min the floor is corrected (10^9): the deposit is healthy but stays paused until someone
       resumes it — ``autobot vrf resume`` (action 5, through bot A's 900 s timelock)
after  lottery 2 is drawn; lottery 1's request is never answered: its retry meets
       ``E_VRF_PENDING`` and the draw is escalated (``vrf_pending``, the stuck draw) until an
       operator cancels it: ``autobot cancel 1 --reason vrf-failure`` (then it is refunded)
=====  ==================================================================================

Bots: A (``operators[0]``) timelock 900 s, actions [1, 2, 5, 6, 7] (it carries the resume, the
cancel and the refund); B (``operators[1]``) timelock 0, actions [1, 2, 3, 4] (closes and draws).
Deposit: multiplier 12,000 bps, floor 10^9, total 6·10^10, minimum 10^10 (required 1.2·10^10),
effective 5·10^10. PayoutBatchCap: max batch 500, budget 10^15, no cooldown. Feed: asset 1
(SUPRA/USD) kept fresh by the pusher. The admin calls of the story are the localnet's own
system transactions (``ScriptStep``), as another admin tool would make them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autobot.localnet.model import LotteryStatus, RetryPolicy, RetryStrategy
from autobot.localnet.scenario.spec import (
    SCRIPT_NOW,
    BotSpec,
    CallbackMode,
    CallbackRule,
    FeedSpec,
    LotterySpec,
    ScenarioSpec,
    ScriptStep,
)

__all__ = ["OPS_DEFAULTS", "ScenarioDefaults", "ops_spec", "scenario_defaults"]

MINUTE = 60
BPS = 12_000
FLOOR = 10**9
RAISED_FLOOR = 10**11
TOTAL, MINIMUM, EFFECTIVE = 6 * 10**10, 10**10, 5 * 10**10
DRAW_ON_AT = 40 * MINUTE
PAUSED_AT = 50 * MINUTE
SALES_END = 55 * MINUTE
FLOOR_FIXED_AT = 80 * MINUTE


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioDefaults:
    """How a scenario is meant to run: the localnet's VRF variant (when ``--vrf-retry`` is not
    given) and the daemon config ``--write-config`` writes for it."""

    vrf_retry: Literal["intent", "strict"] = "intent"
    cancel_on_vrf_failure: bool = True


OPS_DEFAULTS = ScenarioDefaults(vrf_retry="strict", cancel_on_vrf_failure=False)


def scenario_defaults(scenario: str | Path) -> ScenarioDefaults:
    """The defaults of a scenario by name (a file's are the demo's)."""
    return OPS_DEFAULTS if scenario == "ops" else ScenarioDefaults()


def ops_spec() -> ScenarioSpec:
    """The ``ops`` scenario (see the module docstring)."""
    fixed_minute = RetryPolicy(strategy=RetryStrategy.FIXED, base_delay_secs=60, max_delay_secs=60)
    return ScenarioSpec(
        name="ops",
        deposit=(BPS, FLOOR, TOTAL, MINIMUM, EFFECTIVE),
        cap=(500, 10**15, 0, 0),
        bots=(
            BotSpec(operator=0, timelock=900, allowed=(1, 2, 5, 6, 7)),
            BotSpec(operator=1, timelock=0, allowed=(1, 2, 3, 4)),
        ),
        feeds=(FeedSpec(asset_id=1, price=420_000, staleness=300, threshold=2_000, pushed=True),),
        lotteries=(
            LotterySpec(
                id=1,
                status=LotteryStatus.ACTIVE,
                tickets=60,
                start=-2 * 86_400,
                end=SALES_END,
                plan=(1, 2),
                retry=fixed_minute,
                callbacks=CallbackRule(mode=CallbackMode.NEVER),
            ),
            LotterySpec(
                id=2,
                status=LotteryStatus.ACTIVE,
                tickets=40,
                start=-2 * 86_400,
                end=SALES_END,
                plan=(1,),
                retry=fixed_minute,
            ),
            LotterySpec(id=3, status=LotteryStatus.CLOSING, tickets=30, end=-3_600, plan=(1,)),
            LotterySpec(
                id=4,
                status=LotteryStatus.ACTIVE,
                tickets=25,
                end=-10 * MINUTE,
                plan=(1,),
                auto_close=False,
            ),
        ),
        draw_feature=False,
        script=(
            ScriptStep(at=DRAW_ON_AT, module="feature_switch", function="set_mode", args=(3, 1)),
            ScriptStep(
                at=PAUSED_AT,
                module="vrf_deposit",
                function="update_config",
                args=(BPS, RAISED_FLOOR),
            ),
            ScriptStep(
                at=PAUSED_AT,
                module="vrf_deposit",
                function="record_snapshot_admin",
                args=(TOTAL, MINIMUM, EFFECTIVE, SCRIPT_NOW),
            ),
            ScriptStep(
                at=FLOOR_FIXED_AT,
                module="vrf_deposit",
                function="update_config",
                args=(BPS, FLOOR),
            ),
        ),
    )
