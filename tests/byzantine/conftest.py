"""Fixtures of the byzantine tests: ``byz`` (``byz_harness.Byzantine``), see ``byz_harness.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import hypothesis  # noqa: F401  # imported at collection: a late import (the terminal summary's) warns, an error here
import pytest
from byz_harness import Byzantine
from lying_proxy import LyingProxy

from autobot.chain.supra import SupraGateway
from autobot.localnet.runner import Localnet


@pytest.fixture
async def byz(localnet: Localnet, tmp_path: Path) -> AsyncIterator[Byzantine]:
    honest = await localnet.add_frontend()
    info = localnet.info
    async with (
        LyingProxy(localnet.base_url) as proxy,
        SupraGateway(
            rpc_urls=[localnet.base_url], chain_id=info.chain_id, package=info.package_address
        ) as chain,
        aiohttp.ClientSession() as http,
    ):
        yield Byzantine(
            net=localnet, proxy=proxy, honest=honest, chain=chain, http=http, workdir=tmp_path
        )
