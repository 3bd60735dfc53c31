"""The daemon's storage reads over a package model's storage, in-process (no HTTP).

``ModelSource`` is a ``chain.reads.StorageSource`` over the storage the localnet renders from a
``PackageModel`` (``localnet.storage.PackageStorage``): resources are decoded from both their JSON
and their BCS (which must agree), table items from their JSON, as ``RpcStorage`` does over HTTP.
``demo_world(now)`` seeds the demo scenario and reads it back through ``StorageReads``: the
state the contract suite gives the fake gateway, so all its back ends start alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from autobot.chain.gateway import ChainEvent
from autobot.chain.reads import StorageReads
from autobot.chain.storage import decode_bcs, decode_json
from autobot.domain.bots import Bot
from autobot.domain.features import FeatureSwitch
from autobot.domain.feeds import PriceFeed
from autobot.domain.payouts import PayoutBatchCap, VrfDepositStatus
from autobot.domain.snapshot import LotteryView
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.model import PackageModel
from autobot.localnet.scenario import seed
from autobot.localnet.storage import PackageStorage
from autobot.localnet.storage.typetags import TypeTag, key_from_json, parse_type

__all__ = ["DemoWorld", "ModelSource", "demo_world"]


class ModelSource:
    """``StorageSource`` over ``storage()`` (called afresh for every read: always the tip)."""

    def __init__(self, storage: Callable[[], PackageStorage], package: str) -> None:
        self.storage = storage
        self.package = package
        self.requests = 0

    async def resource(self, struct: str) -> Mapping[str, object] | None:
        self.requests += 1
        storage = self.storage()
        module, name = struct.split("::")
        tag = TypeTag(name, address=self.package, module=module)
        raw = storage.resource(self.package, tag)
        if raw is None:
            return None
        value = decode_json(struct, raw)
        blob = storage.resource_bcs(self.package, tag)
        assert blob is not None and decode_bcs(struct, blob) == value, struct
        return value

    async def item(
        self, handle: str, value_type: str, key: int | str
    ) -> Mapping[str, object] | None:
        self.requests += 1
        storage = self.storage()
        table = storage.table(handle)
        assert table is not None and str(table.value_type) == f"{self.package}::{value_type}"
        key_type = "address" if isinstance(key, str) else "u64"
        raw = storage.table_item(table, key_from_json(parse_type(key_type), str(key)))
        return None if raw is None else decode_json(value_type, raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoWorld:
    """The demo scenario as the daemon reads it, plus its genesis events."""

    package: str
    lotteries: Mapping[int, LotteryView]
    bots: tuple[Bot, ...]
    feeds: Mapping[int, PriceFeed]
    deposit: VrfDepositStatus
    cap: PayoutBatchCap | None
    features: FeatureSwitch
    events: tuple[ChainEvent, ...]


async def demo_world(now: int) -> DemoWorld:
    accounts = dev_accounts()
    package = accounts.admin.address
    model = PackageModel(package_address=package)
    operators = [o.address for o in accounts.operators]
    info = seed(model, scenario="demo", admin=package, operators=operators, now_ts=now)
    counts = Counter(e.type_tag for e in info.genesis_events)
    reads = StorageReads(
        source=ModelSource(
            lambda: PackageStorage(model.state, package=package, event_counts=counts), package
        ),
        package=package,
    )
    ids = await reads.lottery_ids()
    numbers: Counter[str] = Counter()
    events = []
    for e in info.genesis_events:
        events.append(
            ChainEvent(
                type=e.type_tag,
                data=dict(e.data),
                block_height=0,
                tx_hash="0x" + "00" * 32,
                sequence_number=numbers[e.type_tag],
            )
        )
        numbers[e.type_tag] += 1
    return DemoWorld(
        package=package,
        lotteries={i: await reads.lottery_view(i) for i in ids},
        bots=await reads.list_bots(),
        feeds={a: await reads.price_feed(a) for a in (1, 2, 3)},
        deposit=await reads.vrf_deposit_status(),
        cap=await reads.payout_batch_cap(),
        features=await reads.feature_switch(),
        events=tuple(events),
    )
