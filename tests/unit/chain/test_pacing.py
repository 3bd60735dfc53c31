"""``chain/pacing.py``: the RPC client's ``pace`` hook, against a real local HTTP server (the
scriptable node of the gateway tests) and the daemon's own hook (``execution.UrgentLane.give_way``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from chain_fake_node import FakeNode, reply, running

from autobot.chain.pacing import is_paced, unpaced
from autobot.chain.rpc import RpcClient
from autobot.execution import UrgentLane


@pytest.fixture
async def node() -> AsyncIterator[tuple[str, list[str]]]:
    """A node answering ``GET /<name>``, recording each name as it arrives (``ARRIVED[name]`` is
    set then)."""
    fake = FakeNode()
    seen: list[str] = []
    ARRIVED.clear()

    async def answer(request: web.Request) -> web.Response:
        name = request.path.rsplit("/", 1)[-1]
        seen.append(name)
        ARRIVED.setdefault(name, asyncio.Event()).set()
        return reply({"ok": True}, chain_id="1")

    fake.fixed = answer
    async with running(fake) as url:
        yield url, seen


ARRIVED: dict[str, asyncio.Event] = {}


async def _arrived(name: str) -> None:
    await asyncio.wait_for(ARRIVED.setdefault(name, asyncio.Event()).wait(), 2.0)


async def test_a_background_step_s_requests_wait_for_the_urgent_step(
    node: tuple[str, list[str]],
) -> None:
    url, seen = node
    lane = UrgentLane()
    rpc = RpcClient(urls=[url], chain_id=1, timeout=2.0, pace=lane.give_way)
    close_may_end = asyncio.Event()

    async def close() -> None:
        with lane.step(urgent=True):
            await rpc.get("close", what="the close's read")
            await close_may_end.wait()

    async def record(name: str) -> None:
        with lane.step(urgent=False):
            await rpc.get(name, what="a background read")

    async def locked_record() -> None:  # a section others wait on: never held back
        with lane.step(urgent=False), unpaced():
            assert not is_paced()
            await rpc.get("unpaced", what="a read under a lock")

    try:
        urgent = asyncio.create_task(close())
        await _arrived("close")
        background = [asyncio.create_task(record(f"record-{i}")) for i in range(3)]
        await locked_record()
        await rpc.get("sweep", what="the sweep's read")  # outside any step
        await asyncio.sleep(0.05)
        assert seen == ["close", "unpaced", "sweep"]  # the records wait
        close_may_end.set()
        await asyncio.gather(urgent, *background)
        assert sorted(seen[3:]) == ["record-0", "record-1", "record-2"]
    finally:
        await rpc.aclose()


async def test_a_step_gives_way_before_it_takes_a_slot_of_the_limit(
    node: tuple[str, list[str]],
) -> None:
    """A background step waiting for the lane holds no slot of the gateway's concurrency limit:
    the close gets the only one at once."""
    url, seen = node
    lane = UrgentLane()
    rpc = RpcClient(urls=[url], chain_id=1, timeout=2.0, pace=lane.give_way)
    limit = asyncio.Semaphore(1)
    close_may_end = asyncio.Event()
    close_started = asyncio.Event()

    async def close() -> None:
        with lane.step(urgent=True):
            close_started.set()
            await close_may_end.wait()
            async with rpc.limited(limit):
                await rpc.get("close", what="the close's read")

    async def record() -> None:
        with lane.step(urgent=False):
            async with rpc.limited(limit):
                assert not is_paced()  # holding a slot: never held back inside
                await rpc.get("record", what="a background read")

    try:
        urgent = asyncio.create_task(close())
        await close_started.wait()
        background = asyncio.create_task(record())
        await asyncio.sleep(0.02)
        assert not limit.locked() and seen == []  # waiting for the lane, not in a slot
        close_may_end.set()
        await asyncio.gather(urgent, background)
        assert seen == ["close", "record"]
    finally:
        await rpc.aclose()
