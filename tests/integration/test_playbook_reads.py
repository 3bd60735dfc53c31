"""The playbook's reads (caps, dual-write control, summary hashes) from storage and from views.

The playbook scenario grants two partner caps and two premium caps (one of each expired) and
expects a hash for lottery 4 that its archive will not match. ``SupraGateway`` reads them from the
published package's storage and, for a package redeployed with ``#[view]`` on its readers, through
``roles::list_*_caps`` and ``legacy_bridge``'s readers: the answers must be equal and what the
scenario seeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from autobot.chain.supra import SupraGateway
from autobot.localnet.runner import Localnet
from autobot.localnet.scenario.spec import mismatch_hash, partner_address
from autobot.localnet.view_mode import ViewMode

pytestmark = pytest.mark.slow


async def _read(net: Localnet, reads: str) -> tuple[object, ...]:
    info = net.info
    gateway = SupraGateway(
        rpc_urls=[info.rpc_url], chain_id=info.chain_id, package=info.package_address, reads=reads
    )
    try:
        return (
            await gateway.partner_caps(),
            await gateway.premium_caps(),
            await gateway.dual_write(),
            await gateway.summary_hash(4),
        )
    finally:
        await gateway.aclose()


async def test_storage_and_views_read_the_same_caps_and_control(
    localnet_factory: Callable[..., Awaitable[Localnet]],
) -> None:
    published = await localnet_factory(scenario="playbook", views=ViewMode.PUBLISHED)
    patched = await localnet_factory(scenario="playbook", views=ViewMode.PATCHED)
    from_storage = await _read(published, "storage")
    from_views = await _read(patched, "views")
    partners, premiums, control, summary = from_storage
    assert isinstance(partners, tuple) and isinstance(premiums, tuple)
    assert [c.partner for c in partners] == [partner_address(1), partner_address(2)]
    now = published.info.chain_time
    assert [c.expiring(now) for c in partners] == [True, True]  # 20 h left; expired
    assert len(premiums) == 2 and all(p.expiring(now) for p in premiums)
    assert control is not None and dict(control.expected) == {4: "0x" + mismatch_hash(4).hex()}
    assert summary is None  # lottery 4 is not archived yet
    # the two chains were seeded at (slightly) different times: compare what does not depend on it
    v_partners, v_premiums, v_control, v_summary = from_views
    assert isinstance(v_partners, tuple) and isinstance(v_premiums, tuple)
    assert [(c.partner, c.max_total_payout, c.remaining_payout) for c in v_partners] == [
        (c.partner, c.max_total_payout, c.remaining_payout) for c in partners
    ]
    assert [p.holder for p in v_premiums] == [p.holder for p in premiums]
    assert v_control == control and v_summary is None
