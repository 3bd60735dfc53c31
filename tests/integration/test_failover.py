"""RPC failover: one chain behind two front ends, one of which fails hard mid-run.

The localnet serves the same node on a second port (``Localnet.add_frontend``). The client lists
the faulty front end *first*, so it is the endpoint in use until it breaks; then it breaks hard
(every request reset, answered 503, held until the client times out, or the front end stopped).

* The gateway alone keeps reading and submitting; each transaction is acknowledged by exactly
  one front end (no broadcast), and chain time never goes backwards.
* The real daemon (``autobot.app.Daemon`` in-process, config listing both URLs) finishes the demo's
  lottery 1 (auto-close, draw, winners) and lottery 2 (draw, winners) after the break, with no
  sequence number ever signed twice with different bytes and no action parked or failed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from autobot.app import Daemon
from autobot.chain.endpoints import EndpointState
from autobot.chain.keys import load_keyring
from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.config import load_config
from autobot.domain import calls
from autobot.domain.lotteries import LotteryStatus
from autobot.domain.snapshot import Snapshot
from autobot.localnet.config_writer import write_daemon_config
from autobot.localnet.faults import FaultSpec
from autobot.localnet.runner import Frontend, Localnet

pytestmark = pytest.mark.timeout(120)

HARD_FAILURES: dict[str, dict[str, Any] | None] = {
    "reset": {"rates": {"reset": 1.0}},
    "http_503": {"rates": {"http_503": 1.0}},
    "timeout": {"rates": {"timeout": 1.0}, "timeout_seconds": 60},
    "stopped": None,  # the front end stops: connections refused
}


async def fail_hard(frontend: Frontend, mode: str) -> None:
    spec = HARD_FAILURES[mode]
    if spec is None:
        await frontend.stop()
        return
    async with httpx.AsyncClient() as client:
        response = await client.post(frontend.url + "localnet/v1/faults", json=spec)
        response.raise_for_status()


@pytest.fixture
async def faulty(localnet: Localnet) -> Frontend:
    """A second front end of the same chain, healthy until the test breaks it."""
    return await localnet.add_frontend()


@pytest.fixture
async def observer(localnet: Localnet) -> AsyncIterator[SupraGateway]:
    """A read-only view of the chain through the healthy front end (for the test's checks)."""
    info = localnet.info
    async with SupraGateway(
        rpc_urls=[localnet.base_url], chain_id=info.chain_id, package=info.package_address
    ) as gw:
        yield gw


async def until(
    read: Callable[[], Any], done: Callable[[Any], bool], *, within: float, every: float = 0.25
) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(every)


@pytest.mark.parametrize("mode", ["reset", "timeout"])
async def test_the_gateway_keeps_reading_and_submitting_through_a_hard_failure(
    localnet: Localnet, faulty: Frontend, mode: str
) -> None:
    info = localnet.info
    operator = Signer.from_private_key_hex(info.operators[0].private_key)
    async with SupraGateway(
        rpc_urls=[faulty.url, localnet.base_url],
        chain_id=info.chain_id,
        package=info.package_address,
        request_timeout=1.0,
    ) as gw:
        pool = gw.rpc.pool
        times = []
        hashes = []

        async def one_round(seq: int) -> None:
            times.append(await gw.chain_time())
            snapshot = await gw.snapshot(lottery_ids=(1, 2))
            assert snapshot.lotteries[1].lottery_id == 1
            chain_seq = await gw.account_sequence(operator.address)
            assert chain_seq <= seq
            tx = gw.sign(
                call=calls.advance_status(5, 2),  # aborts on chain, consumes the number
                sender=operator,
                sequence_number=seq,
                expires_at=int(time.time()) + 60,
            )
            hashes.append(await gw.submit(tx))
            outcome = await gw.wait_for(tx.tx_hash, timeout=10, poll_interval=0.05)
            assert outcome.final

        for seq in range(3):
            await one_round(seq)
        before = faulty.faults.report()
        assert before["routes"]["submit"] == 3  # the faulty one was in use: it is listed first
        assert localnet.frontend.faults.report().get("routes", {}).get("submit", 0) == 0

        await fail_hard(faulty, mode)
        for seq in range(3, 8):
            await one_round(seq)

        after = faulty.faults.report()
        healthy_submits = localnet.frontend.faults.report()["routes"]["submit"]
        failed_submits = after["routes"].get("submit", 0) - 3
        assert healthy_submits == 5  # each transaction acknowledged once, by one endpoint
        assert failed_submits <= 1  # at most one attempt went to the broken one
        assert after["total"] <= pool.policy.failure_threshold + 1  # then it was left alone
        assert [t.height for t in times] == sorted(t.height for t in times)
        assert pool.endpoints[0].state(time.monotonic()) in (
            EndpointState.COOLING,
            EndpointState.HEALTHY,  # demoted by its score, not yet enough failures to cool
        )
        assert pool.current is pool.endpoints[1]
        assert await gw.account_sequence(operator.address) == 8
        assert len(set(hashes)) == 8


async def test_the_gateway_works_beside_an_endpoint_with_every_kind_of_fault(
    localnet: Localnet,
) -> None:
    # given: a second front end where half the requests get some fault (all but wrong_chain_id,
    # which would just disable it), listed first
    spec = FaultSpec.from_json(
        {"seed": 9, "rate": 0.5, "timeout_seconds": 5, "hide_status_seconds": 1}
    )
    faulty = await localnet.add_frontend(faults=spec)
    info = localnet.info
    operator = Signer.from_private_key_hex(info.operators[0].private_key)
    async with SupraGateway(
        rpc_urls=[faulty.url, localnet.base_url],
        chain_id=info.chain_id,
        package=info.package_address,
        request_timeout=0.5,
    ) as gw:
        heights = []
        for seq in range(6):
            # when: reads, a sequence number, a submit and its outcome, round after round
            heights.append((await gw.chain_time()).height)
            await gw.snapshot(lottery_ids=(1, 2, 3))
            assert await gw.account_sequence(operator.address) == seq
            tx = gw.sign(
                call=calls.advance_status(5, 2),
                sender=operator,
                sequence_number=seq,
                expires_at=int(time.time()) + 60,
            )
            await gw.submit(tx)
            # then: every answer is right (the transaction executes exactly once)
            outcome = await gw.wait_for(tx.tx_hash, timeout=15, poll_interval=0.05)
            assert outcome.state.value == "failed"  # lottery 5 is ACTIVE: the call aborts
        assert heights == sorted(heights)
        assert localnet.node.sequence_number(operator.address) == 6
    assert faulty.faults.report()["total"] > 0


def story_done(snapshot: Snapshot) -> bool:
    first, second = snapshot.lotteries[1], snapshot.lotteries[2]
    return first.status == LotteryStatus.PAYOUT and second.status == LotteryStatus.PAYOUT


def journal_rows(path: Path, sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return list(db.execute(sql))


@pytest.mark.localnet(time_scale=60, block_interval_ms=200)
@pytest.mark.parametrize("mode", ["reset", "http_503", "timeout", "stopped"])
async def test_the_daemon_rides_through_one_endpoint_failing_hard_mid_run(
    localnet: Localnet, faulty: Frontend, observer: SupraGateway, tmp_path: Path, mode: str
) -> None:
    # given: a daemon whose config lists the soon-faulty front end first, then the healthy one
    config_path = tmp_path / "daemon" / "autobot.toml"
    write_daemon_config(config_path, localnet.info, journal=Path("journal.sqlite3"))
    written = load_config(config_path)
    config = replace(
        written,
        chain=replace(
            written.chain,
            rpc_urls=(faulty.url, localnet.base_url),
            request_timeout_seconds=2.0,
        ),
    )
    read = lambda: observer.snapshot(lottery_ids=(1, 2))  # noqa: E731
    assert not story_done(await read())
    async with Daemon(
        config=config, keyring=load_keyring(config), listen=("127.0.0.1", 0)
    ) as daemon:
        running = asyncio.create_task(daemon.run_until_stopped())
        try:
            # when: the faulty endpoint has been in use for a sweep, it fails hard
            async with asyncio.timeout(30):
                while daemon.sweeps < 1 or faulty.faults.requests == 0:
                    assert not running.done(), running
                    await asyncio.sleep(0.05)
            at_failure = await read()
            sweeps_at_failure = daemon.sweeps
            pool = daemon.gateway.rpc.pool  # type: ignore[union-attr]
            assert pool.current is pool.endpoints[0], "the faulty endpoint must be the one in use"
            await fail_hard(faulty, mode)
            # then: the demo's lotteries 1 and 2 still reach PAYOUT, through the healthy one
            final = await until(read, story_done, within=75)
            assert story_done(final), {i: v.status for i, v in final.lotteries.items()}
            assert daemon.sweeps > sweeps_at_failure
        finally:
            daemon.request_stop()
            await running
        registry = daemon.registry
    assert not story_done(at_failure), "the failure must come mid-run, not after the story"

    # every attempt is in the metrics; the broken endpoint was given up on, not hammered
    labels = [e.label for e in daemon.gateway.rpc.pool.endpoints]  # type: ignore[union-attr]
    ok = registry.get_sample_value(
        "autobot_rpc_requests_total", {"endpoint": labels[1], "outcome": "ok"}
    )
    assert ok is not None and ok > 50
    broken = sum(
        registry.get_sample_value(
            "autobot_rpc_requests_total", {"endpoint": labels[0], "outcome": outcome}
        )
        or 0.0
        for outcome in ("unavailable", "timeout")
    )
    assert 1 <= broken <= 25  # the requests in flight when it broke, and a probe or two

    # no sequence number was signed twice with different bytes, and nothing needed a person
    journal = config.journal.path
    rows = journal_rows(journal, "SELECT sender, sequence_number, tx_hash, state FROM transactions")
    assert rows
    live_or_executed: dict[tuple[str, int], set[str]] = {}
    for row in rows:
        if row["state"] != "dropped":
            live_or_executed.setdefault((row["sender"], row["sequence_number"]), set()).add(
                row["tx_hash"]
            )
    assert all(len(hashes) == 1 for hashes in live_or_executed.values()), live_or_executed
    stuck = journal_rows(
        journal, "SELECT key, state, error_message FROM actions WHERE state IN ('parked', 'failed')"
    )
    assert [dict(r) for r in stuck] == []
