"""The node's state directory at scale: changed model rows per block, the schema-1 format, block
times. (Restarts over HTTP are in ``test_localnet_state.py``.)"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from autobot.localnet.info import LOCALNET_CHAIN_ID
from autobot.localnet.node import LocalNode, NodeOptions

pytestmark = pytest.mark.timeout(30)


class HostClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _open(state_dir: Path, clock: HostClock, scenario: str = "demo") -> LocalNode:
    return LocalNode.open(
        state_dir=state_dir,
        options=NodeOptions(chain_id=LOCALNET_CHAIN_ID, scenario=scenario),
        wall=clock,
    )


def _model(node: LocalNode) -> str:
    return json.dumps(node.model.to_json(), sort_keys=True)


def _refund_batch(node: LocalNode, tx_factory: Any, *, round_: int, seq: int) -> bytes:
    admin = tx_factory.account(node.accounts.admin.private_key)
    args = [tx_factory.u64(v) for v in (4, round_, 100, 1_000, 500, node.chain_time)]
    body: bytes = tx_factory.entry(
        admin, "payouts", "force_refund_batch_admin", args, sequence_number=seq
    )
    return body


def test_a_block_writes_only_the_changed_rows_and_a_restart_reads_them_back(
    tmp_path: Path, tx_factory: Any
) -> None:
    clock = HostClock()
    node = _open(tmp_path, clock)
    try:
        for seq in range(3):
            node.submit(_refund_batch(node, tx_factory, round_=seq + 1, seq=seq))
        node.produce_block()
        node.advance(60)
        before = _model(node)
    finally:
        node.close()
    with sqlite3.connect(tmp_path / "chain.sqlite3") as db:
        keys = {row[0] for row in db.execute("SELECT key FROM meta")}
        rows = db.execute("SELECT COUNT(*) FROM model_rows").fetchone()[0]
    assert "model" not in keys and rows > 10  # rows, not one document
    reopened = _open(tmp_path, clock)
    try:
        assert _model(reopened) == before
        assert reopened.model.state.sales[4].refund_round == 3
    finally:
        reopened.close()


def test_a_schema_1_state_dir_is_read_and_converted_on_its_first_write(tmp_path: Path) -> None:
    clock = HostClock()
    node = _open(tmp_path, clock)
    document = node.model.to_json()
    before = _model(node)
    node.close()
    with sqlite3.connect(tmp_path / "chain.sqlite3") as db:  # as schema 1 left it
        db.execute("DELETE FROM model_rows")
        db.execute("DELETE FROM meta WHERE key = 'model_meta'")
        db.execute("INSERT INTO meta VALUES ('model', ?)", (json.dumps(document),))
        db.execute("PRAGMA user_version=1")
    legacy = _open(tmp_path, clock)
    try:
        assert _model(legacy) == before
    finally:
        legacy.close()
    with sqlite3.connect(tmp_path / "chain.sqlite3") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone() is None
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    converted = _open(tmp_path, clock)
    try:
        assert _model(converted) == before
    finally:
        converted.close()


def test_time_reached_is_the_first_block_at_that_chain_time(tmp_path: Path) -> None:
    clock = HostClock()
    node = _open(tmp_path, clock, scenario="empty")
    try:
        node.produce_block()
        clock.now += 0.2
        target = node.advance(30)
        produced_at = clock.now
        clock.now += 0.2
        node.produce_block()
        second = target.timestamp_us // 1_000_000
        reached = node.time_reached(second * 1_000_000)
        assert reached == {
            "height": target.height,
            "timestamp_us": target.timestamp_us,
            "produced_wall": produced_at,
        }
        assert node.time_reached((second + 3_600) * 1_000_000) is None  # not yet
    finally:
        node.close()
