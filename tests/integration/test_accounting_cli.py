"""``autobot accounting`` against the playbook's localnet: the localnet's own totals, and a seeded
mismatch reported with the lottery id and both values.

The localnet's own totals are its readers run through ``POST /localnet/v1/view``
(``views::accounting_snapshot`` and ``views::get_refund_progress``, computed by the model, not by
autobot's storage decoding); the CLI reads the package's storage (``[chain] reads = "storage"``)
and must print exactly those numbers for every lottery. Then lottery 1's accounting is altered in
the model (a prize payout above its allocation, as a buggy treasury or package would record it):
the command exits 1 and names lottery 1, the failing check and both values.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import httpx
import pytest

from autobot.cli import main
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.runner import Localnet

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(scenario="playbook")]


async def _view(http: httpx.AsyncClient, package: str, function: str, lottery_id: int) -> object:
    response = await http.post(
        "localnet/v1/view",
        json={
            "function": f"{package}::views::{function}",
            "type_arguments": [],
            "arguments": [str(lottery_id)],
        },
    )
    if response.status_code != 200:
        return None  # accounting_snapshot aborts for a lottery without sales state
    return response.json()["result"][0]


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_accounting_agrees_with_the_localnet_and_reports_a_seeded_mismatch(
    localnet: Localnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "autobot.toml"
    write_daemon_config(config, localnet.info)
    package = localnet.info.package_address
    localnet.node.advance(60)  # the buyers catch up on a minute of chain time
    await asyncio.sleep(0.5)  # and buy in the blocks that follow

    code, out, err = await _run(capsys, "accounting", "--json", "--config", str(config))
    assert code == 0, err
    rows = json.loads(out[out.index("[\n") :])  # after any log line of the in-process localnet
    by_lottery: dict[int, dict[str, int]] = {}
    for row in rows:  # every single-field side of every check, by name
        values = by_lottery.setdefault(row["lottery_id"], {})
        for side in ("left", "right"):
            if "+" not in row[side]:
                values[row[side]] = row[f"{side}_value"]
        assert row["holds"], row
    async with httpx.AsyncClient(base_url=localnet.info.rpc_url, timeout=10) as http:
        lotteries = sorted(by_lottery)
        assert lotteries == sorted(localnet.node.model.state.lotteries)  # every demo lottery
        sold_any = 0
        for lottery_id in lotteries:
            accounting = await _view(http, package, "accounting_snapshot", lottery_id)
            refund = await _view(http, package, "get_refund_progress", lottery_id)
            assert isinstance(refund, dict)
            mine = by_lottery[lottery_id]
            assert mine["proceeds_accum"] == int(refund["proceeds_accum"])
            assert mine["tickets_sold"] == int(refund["tickets_sold"])
            assert mine["tickets_refunded"] == int(refund["tickets_refunded"])
            if accounting is None:
                assert mine["total_sales"] == 0
                continue
            assert isinstance(accounting, dict)
            sold_any += int(accounting["total_sales"]) > 0
            for name in (
                "total_sales",
                "total_allocated",
                "total_prize_paid",
                "total_operations_paid",
                "total_operations_allocated",
            ):
                assert mine[name] == int(accounting[name]), (lottery_id, name)
        assert sold_any >= 2  # the comparison covers real sales, not zeros only

    # a prize payout above the allocation, seeded into the model's state
    sales = localnet.node.model.state.sales[1]
    allocated = sales.accounting.total_allocated
    sales.accounting = dataclasses.replace(sales.accounting, total_prize_paid=allocated + 7)
    code, out, err = await _run(capsys, "accounting", "1", "--config", str(config))
    assert code == 1, err
    (line,) = [ln for ln in out.splitlines() if "MISMATCH" in ln]
    assert line.split()[:2] == ["1", "prize_paid_within_allocated"]
    assert f"total_prize_paid={allocated + 7}" in line and f"total_allocated={allocated}" in line
    assert out.splitlines()[-1].endswith("1 mismatch(es): lottery 1")
    # an unknown lottery is an error, not an empty table
    code, _, err = await _run(capsys, "accounting", "999", "--config", str(config))
    assert code == 1 and "lottery 999 is not registered" in err
