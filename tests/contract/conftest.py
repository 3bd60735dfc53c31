"""The back ends of the gateway contract suite: one fixture, three gateways over the demo.

* ``fake`` — ``tests/fake_chain.py``, the fake every unit test uses, seeded with the demo
  scenario as the daemon reads it (``model_storage.demo_world``);
* ``storage`` — ``SupraGateway`` (``reads = "storage"``) over HTTP to the localnet serving the
  package as published (``--views published``: ``/rpc/v3/view`` refuses its readers);
* ``views`` — ``SupraGateway`` (``reads = "views"``) over HTTP to the localnet serving a package
  redeployed with ``#[view]`` on its readers (``--views patched``).

Each test gets a fresh back end. ``Backend.advance(seconds)`` moves chain time on (the fake's
clock; the localnet's ``/localnet/v1/advance``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from contract_backends import Backend

from autobot.chain.signer import Signer
from autobot.chain.supra import SupraGateway
from autobot.domain.features import FeatureSwitch
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.view_mode import ViewMode
from fake_chain import FakeChain
from model_storage import demo_world

BACKENDS = ("fake", "storage", "views")


def switch_as_deployed(draw: bool | None) -> FeatureSwitch:
    """The feature switch the localnet's model deploys for ``draw`` (``seed_feature_draw``)."""
    if draw is None:
        return FeatureSwitch()
    if draw:
        return FeatureSwitch(initialized=True, force_enable_devnet=True)
    return FeatureSwitch(initialized=True, modes={1: 1, 2: 1, 3: 0, 4: 1})


@pytest.fixture(params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, localnet_factory: Callable[..., Awaitable[object]]
) -> AsyncIterator[Backend]:
    accounts = dev_accounts()
    admin = Signer.from_private_key_hex(accounts.admin.private_key)
    operator = Signer.from_private_key_hex(accounts.operators[0].private_key)
    name: str = request.param
    if name == "fake":
        world = await demo_world(int(time.time()))
        chain = FakeChain(admin=world.package, now=int(time.time()), wall=time.time, height=1)
        chain.state.lotteries.update(world.lotteries)
        chain.state.bots.update({b.operator: b for b in world.bots})
        chain.state.feeds.update(world.feeds)
        chain.state.deposit = world.deposit
        chain.state.cap = world.cap
        chain.state.features = world.features
        chain.event_log.extend(world.events)

        async def advance_fake(seconds: int) -> None:
            chain.advance(seconds)

        def deploy_fake_switch(draw: bool | None) -> None:
            chain.state.features = switch_as_deployed(draw)

        yield Backend(name, chain, admin, operator, advance_fake, deploy_fake_switch)
        return
    views = ViewMode.PUBLISHED if name == "storage" else ViewMode.PATCHED
    net = await localnet_factory(views=views, time_scale=1.0)
    info = net.info  # type: ignore[attr-defined]
    http = httpx.AsyncClient(base_url=info.rpc_url, timeout=10)

    async def advance_localnet(seconds: int) -> None:
        response = await http.post("localnet/v1/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text

    gateway = SupraGateway(
        rpc_urls=[info.rpc_url],
        chain_id=info.chain_id,
        package=info.package_address,
        reads="storage" if name == "storage" else "views",
    )
    try:
        yield Backend(
            name,
            gateway,
            admin,
            operator,
            advance_localnet,
            net.node.model.seed_feature_draw,  # type: ignore[attr-defined]
        )
    finally:
        await gateway.aclose()
        await http.aclose()
