"""TEMPORARY probe (helper's experiment; deleted after)."""
from __future__ import annotations
import asyncio, sqlite3, time
from dataclasses import replace
from pathlib import Path
import pytest
from autobot.app import Daemon
from autobot.chain.keys import load_keyring
from autobot.chain.supra import SupraGateway
from autobot.config import load_config
from autobot.domain.lotteries import LotteryStatus
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.faults import FaultSpec
from autobot.localnet.runner import Localnet

pytestmark = pytest.mark.timeout(200)

@pytest.mark.localnet(time_scale=60, block_interval_ms=200)
@pytest.mark.parametrize("rate", [0.1, 0.2])
async def test_probe(localnet: Localnet, tmp_path: Path, rate: float) -> None:
    localnet.faults.replace(FaultSpec.from_json({"seed": 1, "rate": rate, "timeout_seconds": 30}))
    config_path = tmp_path / "d" / "autobot.toml"
    write_daemon_config(config_path, localnet.info, journal=Path("journal.sqlite3"))
    c = load_config(config_path)
    c = replace(c, chain=replace(c.chain, request_timeout_seconds=2.0))
    info = localnet.info
    obs_front = await localnet.add_frontend()
    async with SupraGateway(rpc_urls=[obs_front.url], chain_id=77, package=info.package_address) as obs:
        async with Daemon(config=c, keyring=load_keyring(c), listen=("127.0.0.1", 0)) as d:
            t = asyncio.create_task(d.run_until_stopped())
            started = time.monotonic()
            while time.monotonic() - started < 120:
                s = await obs.snapshot(lottery_ids=(1, 2, 3, 4))
                st = {i: v.status.name for i, v in s.lotteries.items()}
                arch = {i: v.archived for i, v in s.lotteries.items()}
                if s.lotteries[1].status == LotteryStatus.PAYOUT and s.lotteries[2].status == LotteryStatus.PAYOUT and arch[3] and arch[4]:
                    break
                await asyncio.sleep(1)
            took = time.monotonic() - started
            d.request_stop(); await t
    print("RESULT rate", rate, "took", round(took, 1), st, arch, "sweeps", d.sweeps, localnet.faults.report()["counts"])
    with sqlite3.connect(c.journal.path) as db:
        for row in db.execute("select key, state, error_message from actions where state in ('parked','failed','moot')"):
            print("STUCK", row)
        for row in db.execute("select type, description from incidents"):
            print("INCIDENT", row[0], row[1][:200])
        print("TX", list(db.execute("select state, count(*), sum(submissions) from transactions group by state")))
