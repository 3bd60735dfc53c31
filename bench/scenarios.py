"""Scenario files for the benchmarks, generated (the format is ``autobot.localnet.scenario.file``).

Offsets are chain seconds after the localnet's genesis. Operators are indices into the localnet's
dev operators (0 = A … 3 = D, then the spares 4 = E … 9 = J).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TEN_YEARS = 10 * 366 * 86_400
DEPOSIT = """
[vrf_deposit]
min_balance_multiplier_bps = 12000
effective_floor = 1000000000
total_balance = 60000000000
minimum_balance = 10000000000
effective_balance = 50000000000
"""
FEED = """
[[feeds]]
asset_id = 1
price = 420000
staleness_window_seconds = 300
pushed = true
"""


@dataclass(frozen=True, slots=True)
class Lottery:
    id: int
    status: str
    tickets: int = 0
    sales_end: int = 3_600  # offset from genesis
    grace: int = 0  # AutoClosePolicy grace
    archived: bool = False
    canceled_at: int = -300


def lottery_toml(lot: Lottery) -> str:
    lines = [
        "[[lotteries]]",
        f"id = {lot.id}",
        f'status = "{lot.status}"',
        f"tickets_sold = {lot.tickets}",
        f"sales_start_offset_seconds = {min(-86_400, lot.sales_end - 86_400)}",
        f"sales_end_offset_seconds = {lot.sales_end}",
        "prize_plan = [1]",
    ]
    if lot.grace:
        lines.append(f"auto_close_grace_seconds = {lot.grace}")
    if lot.status == "canceled":
        lines.append(f"canceled_offset_seconds = {lot.canceled_at}")
        if lot.archived:
            lines.append("archived = true")
    return "\n".join(lines) + "\n"


def bot_toml(operator: int, timelock: int, allowed: Iterable[int]) -> str:
    return (
        f"[[bots]]\noperator = {operator}\ntimelock_seconds = {timelock}\n"
        f"allowed_actions = [{', '.join(str(a) for a in allowed)}]\n"
    )


def write(path: Path, *, name: str, head: str, lotteries: Iterable[Lottery]) -> Path:
    with path.open("w") as out:
        out.write(f'name = "{name}"\n[oracle]\ncallback_delay_seconds = 5\n')
        out.write(head)
        for lot in lotteries:
            out.write(lottery_toml(lot))
    return path


def reaction(path: Path, *, ours: list[int], theirs: list[int]) -> Path:
    """Auto-close: ``ours`` are the sales-end offsets of autobot's lotteries (ids from 1),
    ``theirs`` those of the baseline poller's (ids from 100,001; a 10-year AutoClosePolicy grace
    keeps autobot away from them, the handbook's poller ignores the policy)."""
    head = DEPOSIT + FEED + bot_toml(0, 0, (1, 2)) + cap(500)
    lots = [Lottery(id=i + 1, status="active", tickets=5, sales_end=e) for i, e in enumerate(ours)]
    lots += [
        Lottery(id=100_001 + i, status="active", tickets=0, sales_end=e, grace=TEN_YEARS)
        for i, e in enumerate(theirs)
    ]
    return write(path, name="bench-reaction", head=head, lotteries=lots)


def cap(max_batch: int) -> str:
    return (
        f"\n[payout_cap]\nmax_batch_size = {max_batch}\n"
        "operations_budget_total = 1000000000000000000\ncooldown_seconds = 0\nnonce_stride = 0\n"
    )


def refunds(path: Path, *, lotteries: int, baseline: int, tickets: int, operators: int) -> Path:
    """Canceled lotteries with ``tickets`` each: ids 1.. for autobot, 100,001.. for the baseline
    (archived by the baseline before autobot starts); ``operators`` timelocked (900 s) bots."""
    head = FEED + cap(500) + "".join(bot_toml(op, 900, (6,)) for op in range(operators))
    lots = [Lottery(id=i + 1, status="canceled", tickets=tickets) for i in range(lotteries)]
    lots += [Lottery(id=100_001 + i, status="canceled", tickets=tickets) for i in range(baseline)]
    return write(path, name="bench-refunds", head=head, lotteries=lots)


BUYERS_PER_MINUTE = 1.0
"""Purchases a minute of chain time on each selling lottery in ``scale`` (the localnet's buyers)."""


def scale(path: Path, *, total: int, buyers: bool = True) -> Path:
    """``total`` lotteries, 95 % idle or terminal: half canceled and archived (terminal), 45 %
    ACTIVE with sales ending in a week (idle: nothing is due for autobot), 5 % canceled with
    refunds owed (live: monitored, never refunded automatically in this benchmark). With
    ``buyers``, the localnet's buyers purchase on every ACTIVE lottery (``BUYERS_PER_MINUTE``
    each): the sales traffic autobot watches through ``TicketPurchaseEvent``s."""
    terminal, live = total // 2, total // 20
    idle = total - terminal - live
    head = DEPOSIT + FEED + bot_toml(0, 0, (1, 2)) + cap(500)
    if buyers:
        head += f"\n[buyers]\npurchases_per_minute = {BUYERS_PER_MINUTE}\n"
    lots = [Lottery(id=i + 1, status="canceled", archived=True) for i in range(terminal)]
    lots += [
        Lottery(id=terminal + i + 1, status="active", tickets=5, sales_end=7 * 86_400)
        for i in range(idle)
    ]
    lots += [
        Lottery(id=terminal + idle + i + 1, status="canceled", tickets=50) for i in range(live)
    ]
    return write(path, name="bench-scale", head=head, lotteries=lots)
