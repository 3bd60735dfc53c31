"""The node without HTTP: mempool expiry by the host clock, tip persistence, block production."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from autobot.localnet.admission import Rejected
from autobot.localnet.info import LOCALNET_CHAIN_ID
from autobot.localnet.node import LocalNode, NodeOptions

pytestmark = pytest.mark.timeout(30)


class HostClock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _open(state_dir: Path, clock: HostClock, **options: Any) -> LocalNode:
    return LocalNode.open(
        state_dir=state_dir,
        options=NodeOptions(chain_id=LOCALNET_CHAIN_ID, **options),
        wall=clock,
    )


def test_a_held_transaction_that_expires_before_its_turn_is_invalid(
    tmp_path: Path, tx_factory: Any
) -> None:
    clock = HostClock()
    node = _open(tmp_path, clock)
    try:
        admin = tx_factory.account(node.accounts.admin.private_key)
        expires = int(clock.now) + 30
        held = tx_factory.entry(
            admin, "roles", "init_roles", [], sequence_number=1, expires_at=expires
        )
        tx_hash = node.submit(held)
        node.produce_block()
        assert node.transaction_json(tx_hash)["status"] == "Pending"  # type: ignore[index]
        clock.now += 31
        node.produce_block()
        dropped = node.transaction_json(tx_hash)
        assert dropped is not None and dropped["status"] == "Invalid"
        assert node.sequence_number(node.accounts.admin.address) == 0
        with pytest.raises(Rejected, match="TRANSACTION_EXPIRED"):
            node.submit(held)
    finally:
        node.close()


def test_the_tip_survives_a_close_even_without_transactions(tmp_path: Path) -> None:
    clock = HostClock()
    node = _open(tmp_path, clock, scenario="empty", tip_write_every_blocks=1000)
    for _ in range(7):
        node.produce_block()
    tip = node.tip
    node.close()
    reopened = _open(tmp_path, clock, scenario="demo")
    try:
        assert reopened.tip == tip
        block = reopened.produce_block()
        assert block.height == tip.height + 1
        assert block.timestamp_us > tip.timestamp_us
        assert block.parent == tip.hash
    finally:
        reopened.close()


def test_another_chains_state_dir_is_refused(tmp_path: Path) -> None:
    clock = HostClock()
    _open(tmp_path, clock, scenario="empty").close()
    with pytest.raises(ValueError, match="holds chain 77"):
        LocalNode.open(state_dir=tmp_path, options=NodeOptions(chain_id=78), wall=clock)


def test_a_bad_scenario_file_is_refused_with_its_problems(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[lotteries]]\nid = 1\nstatus = "sideways"\n')
    with pytest.raises(ValueError, match="status"):
        _open(tmp_path / "chain", HostClock(), scenario=str(scenario))
