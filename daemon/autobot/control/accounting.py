"""``autobot accounting [LOTTERY] [--json]``: the accounting reconciliation, lottery by lottery.

What the handbook's ``accounting_check.sh compare`` does, from the chain: for each lottery (one,
or every registered one), its accounting (``views::accounting_snapshot``) and refund progress
(``views::get_refund_progress``) compared as ``planning.accounting.reconcile`` says — each check
with both values and whether it holds. A lottery without a sales state sold nothing: both sides
are zero. Reads only the chain (no journal, no keys); exit 0 when every check holds, 1 when one
fails (or the lottery is unknown, or the chain unreachable), so scripts can use it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from autobot.chain.gateway import ChainGateway
from autobot.chain.supra import SupraGateway
from autobot.config import load_config
from autobot.control.console import EXIT_REFUSED, CommandError, run
from autobot.domain.lotteries import Accounting
from autobot.errors import AutobotError, MoveAbort
from autobot.planning.accounting import AccountingCheck, reconcile

__all__ = ["accounting_command", "read_checks", "render_checks"]

_E_REGISTRY_MISSING = 0x1202  # accounting_snapshot of a lottery without sales state (in sales)
_TABLE_NOT_FOUND = 0x6507


async def read_checks(
    gateway: ChainGateway, lottery_ids: Sequence[int] | None = None
) -> list[AccountingCheck]:
    """Every check of ``lottery_ids`` (every registered lottery when ``None``), in id order."""
    ids = sorted(await gateway.lottery_ids()) if lottery_ids is None else list(lottery_ids)
    checks: list[AccountingCheck] = []
    for lottery_id in ids:
        if lottery_ids is not None:
            try:
                await gateway.lottery_status(lottery_id)
            except MoveAbort as exc:
                if exc.module == "table" and exc.code == _TABLE_NOT_FOUND:
                    raise CommandError(f"lottery {lottery_id} is not registered") from exc
                raise
        try:
            accounting = await gateway.accounting(lottery_id)
        except MoveAbort as exc:
            if not (exc.module == "sales" and exc.code == _E_REGISTRY_MISSING):
                raise
            accounting = Accounting()  # no sales state: nothing sold
        refund = await gateway.refund_progress(lottery_id)
        checks.extend(reconcile(lottery_id, accounting, refund))
    return checks


def _row(check: AccountingCheck) -> dict[str, Any]:
    return {
        "lottery_id": check.lottery_id,
        "check": check.name,
        "left": check.left_name,
        "left_value": check.left,
        "comparison": check.comparison.value,
        "right": check.right_name,
        "right_value": check.right,
        "holds": check.holds,
    }


def render_checks(checks: Sequence[AccountingCheck], *, as_json: bool = False) -> str:
    """A table (lottery, check, both sides with their values, ok/MISMATCH) or JSON rows."""
    if as_json:
        return json.dumps([_row(c) for c in checks], indent=2)
    if not checks:
        return "no lotteries"
    header = ("lottery", "check", "left", "", "right", "result")
    rows = [
        (
            str(c.lottery_id),
            c.name,
            f"{c.left_name}={c.left}",
            c.comparison.value,
            f"{c.right_name}={c.right}",
            "ok" if c.holds else "MISMATCH",
        )
        for c in checks
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    ]
    failed = [c for c in checks if not c.holds]
    lotteries = len({c.lottery_id for c in checks})
    lines.append(
        f"{lotteries} lotteries, {len(checks)} checks, {len(failed)} mismatch(es)"
        + (
            ""
            if not failed
            else ": lottery " + ", ".join(sorted({str(c.lottery_id) for c in failed}, key=int))
        )
    )
    return "\n".join(lines)


def accounting_command(args: argparse.Namespace) -> int:
    return run(lambda: _accounting(args))


async def _accounting(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    wanted = None if args.lottery_id is None else [args.lottery_id]
    try:
        async with SupraGateway.from_config(config.chain) as gateway:
            checks = await read_checks(gateway, wanted)
    except MoveAbort as exc:
        raise CommandError(f"the chain refused the read: {exc}") from exc
    except (AutobotError, TimeoutError) as exc:
        raise CommandError(f"the chain did not answer: {exc}") from exc
    print(render_checks(checks, as_json=args.json))
    return EXIT_REFUSED if any(not c.holds for c in checks) else 0
