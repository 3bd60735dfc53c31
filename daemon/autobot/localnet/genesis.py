"""Genesis of a fresh localnet: block 0 at the host's wall clock, the package seeded by a scenario.

``--scenario`` (``demo``, ``ops``, ``empty`` or a TOML file, see ``autobot.localnet.scenario``) seeds only
an EMPTY state directory; a restarted localnet keeps its chain and ignores it. The events of the
entry functions the scenario ran are recorded in block 0 under one genesis transaction
(``txn_type: "automated"``, sender the admin), so event readers see the seeded history.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from autobot.localnet.accounts import DevAccounts
from autobot.localnet.actors import Actors
from autobot.localnet.buyers import Buyers
from autobot.localnet.execution import EventLedger
from autobot.localnet.model import PackageModel
from autobot.localnet.model.state import RowEncoder
from autobot.localnet.oracle import Oracle, OracleSettings
from autobot.localnet.render import (
    SUCCESS_VM_STATUS,
    block_header_json,
    event_json,
    transaction_json,
)
from autobot.localnet.scenario import BUILT_IN, CallbackRule, ScenarioInfo, seed
from autobot.localnet.store import BlockHeader, NodeStore, StoredChain, TransactionRow
from autobot.localnet.treasury import Treasury

if TYPE_CHECKING:
    from autobot.localnet.node import NodeOptions

__all__ = ["create_genesis"]

log = structlog.get_logger()


def _oracle_settings(info: ScenarioInfo) -> OracleSettings:
    return OracleSettings(
        callback_delay_seconds=info.oracle.callback_delay_seconds,
        # only the exceptions (the default rule is implied): the oracle's state, settings
        # included, is written with every block
        lotteries={k: v for k, v in info.oracle.callbacks.items() if v != CallbackRule()},
        pusher_assets=info.oracle.pusher_assets,
        push_interval_seconds=info.oracle.push_interval_seconds,
        script=info.oracle.script,
    )


def create_genesis(
    *, store: NodeStore, options: NodeOptions, accounts: DevAccounts
) -> tuple[StoredChain, PackageModel]:
    """Seed a model with the scenario and write block 0; raises ``ScenarioError`` if invalid.

    Returns what was stored and the seeded model itself (no need to read it back).
    """
    now_us = int(time.time() * 1_000_000)
    package = accounts.package_address
    model = PackageModel(
        package_address=package, vrf_retry="strict" if options.vrf_retry == "strict" else "intent"
    )
    scenario = options.scenario if options.scenario in BUILT_IN else Path(options.scenario)
    info = seed(
        model,
        scenario=scenario,
        admin=accounts.admin.address,
        operators=[op.address for op in accounts.operators],
        now_ts=now_us // 1_000_000,
    )
    actors = Actors(
        oracle=Oracle(settings=_oracle_settings(info), admin_address=accounts.admin.address),
        buyers=None
        if info.buyers is None
        else Buyers(settings=info.buyers, genesis_ts=info.genesis_ts),
        treasury=None
        if info.treasury is None
        else Treasury(settings=info.treasury, admin_address=accounts.admin.address),
    )
    digest = hashlib.sha3_256(b"LOCALNET::Genesis")
    digest.update(options.chain_id.to_bytes(1, "little") + now_us.to_bytes(8, "little"))
    tip = BlockHeader(
        height=0,
        hash="0x" + digest.hexdigest(),
        parent="0x" + "00" * 32,
        timestamp_us=now_us,
        txn_count=1,
        system_txn_count=1,
    )
    genesis_tx = (
        "0x" + hashlib.sha3_256(b"LOCALNET::GenesisTransaction" + tip.hash.encode()).hexdigest()
    )
    ledger = EventLedger(counts={}, next_id=1)
    events = ledger.record(info.genesis_events, tx_hash=genesis_tx, height=0)
    row = TransactionRow(
        hash=genesis_tx,
        kind="system",
        sender=accounts.admin.address,
        sequence_number=None,
        body=None,
        status="Success",
        json=transaction_json(
            txn_type="automated",
            tx_hash=genesis_tx,
            authenticator={"LocalnetSystem": {"actor": "genesis"}},
            header={
                "chain_id": options.chain_id,
                "expiration_timestamp": {"timestamp": now_us},
                "sender": accounts.admin.address,
                "sequence_number": 0,
                "gas_unit_price": 0,
                "max_gas_amount": 0,
            },
            payload={"LocalnetGenesis": {"scenario": info.name}},
            status="Success",
            block_header=block_header_json(tip, chain_id=options.chain_id),
            events=[event_json(e.type, e.sequence_number, e.data) for e in events],
            vm_status=SUCCESS_VM_STATUS,
        ),
        block_height=0,
        position=0,
        accepted_wall=now_us / 1_000_000,
        executed_wall=now_us / 1_000_000,
    )
    model.mark_all_dirty()
    rows = model.changed_rows(RowEncoder())
    oracle_json = actors.oracle.to_json()
    actors_json = actors.to_json()
    store.commit_block(
        tip=tip,
        store_block=True,
        transactions=[row],
        events=events,
        sequences={},
        meta={
            "chain_id": str(options.chain_id),
            "package_address": package,
            "scenario": info.name,
            "model_meta": {"package_address": package, "vrf_retry": model.vrf_retry},
            "oracle": oracle_json,
            "actors": actors_json,
            "system_count": "0",
        },
        model_rows=rows,
    )
    log.info(
        "localnet_genesis",
        scenario=info.name,
        chain_id=options.chain_id,
        chain_time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_us // 1_000_000)),
    )
    counts: dict[str, int] = {}
    for event in events:
        counts[event.type] = event.sequence_number + 1
    stored = StoredChain(
        chain_id=options.chain_id,
        package_address=package,
        tip=tip,
        model={},
        model_rows=[],  # the caller has the model itself
        vrf_retry=model.vrf_retry,
        oracle=oracle_json,
        actors=actors_json,
        sequences={},
        event_counts=counts,
        next_event_id=len(events) + 1,
        system_count=0,
    )
    return stored, model
