"""``SharedChainTime``: steps asking for the block at once share one read."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from autobot.chain.gateway import ChainGateway
from autobot.domain.values import ChainTime
from autobot.errors import RpcUnavailable
from autobot.execution.view import SharedChainTime


class SlowClock:
    """A gateway's ``chain_time`` that answers when released, counting the reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def chain_time(self) -> ChainTime:
        self.reads += 1
        height = self.reads
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return ChainTime(seconds=1_000 + height, height=height)


def shared(clock: SlowClock) -> SharedChainTime:
    return SharedChainTime(cast(ChainGateway, cast(Any, clock)))


async def test_steps_asking_at_once_share_one_read_and_the_next_ask_reads_again() -> None:
    clock = SlowClock()
    times = shared(clock)
    waiters = [asyncio.ensure_future(times.latest()) for _ in range(8)]
    await asyncio.sleep(0)
    clock.release.set()
    answers = await asyncio.gather(*waiters)
    assert clock.reads == 1
    assert {a.seconds for a in answers} == {1_001}
    assert (await times.latest()).seconds == 1_002  # nothing in flight: a new read
    assert clock.reads == 2


async def test_a_failed_read_fails_its_waiters_and_the_next_ask_reads_again() -> None:
    clock = SlowClock()
    times = shared(clock)
    clock.fail = RpcUnavailable("latest block: no endpoint answered")
    waiters = [asyncio.ensure_future(times.latest()) for _ in range(3)]
    await asyncio.sleep(0)
    clock.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RpcUnavailable) for r in results)
    clock.fail = None
    assert (await times.latest()).seconds == 1_002
    assert clock.reads == 2


async def test_a_cancelled_waiter_leaves_the_read_to_the_others() -> None:
    clock = SlowClock()
    times = shared(clock)
    first = asyncio.ensure_future(times.latest())
    second = asyncio.ensure_future(times.latest())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    clock.release.set()
    assert (await second).seconds == 1_001
    with pytest.raises(asyncio.CancelledError):
        await first
    assert clock.reads == 1
