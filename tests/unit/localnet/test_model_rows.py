"""Incremental persistence of the model (rows of changed slots) and simulation without a copy."""

from __future__ import annotations

import json

from model_builders import ADMIN, NOW, add_lottery, call, demo_model, dump, fulfil, request

from autobot.localnet.model import LotteryStatus, PackageModel
from autobot.localnet.model.state import PART_MIN_ITEMS, RowEncoder


class RowFile:
    """What the node's store keeps: one value per (table, key), deletions remove key#member."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}
        self.encoder = RowEncoder()

    def write(self, model: PackageModel) -> int:
        written = model.changed_rows(self.encoder)
        for table, key, value in written:
            if value is None:
                for stored in [r for r in self.rows if r[0] == table]:
                    if stored[1] == key or stored[1].startswith(key + "#"):
                        del self.rows[stored]
            else:
                self.rows[(table, key)] = value
        return len(written)

    def load(self, model: PackageModel) -> PackageModel:
        return PackageModel.from_rows(
            package_address=model.package_address,
            vrf_retry=model.vrf_retry,
            rows=[(t, k, v) for (t, k), v in self.rows.items()],
        )


def test_rows_written_after_each_call_rebuild_the_same_state() -> None:
    model = demo_model()
    add_lottery(model, 40, status=LotteryStatus.CLOSING, tickets=PART_MIN_ITEMS + 20)
    store = RowFile()
    model.mark_all_dirty()
    store.write(model)
    request(model, 40, NOW)
    store.write(model)
    fulfil(model, 40)
    store.write(model)
    call(model, "payouts", "compute_winners_admin", 40, 100)
    store.write(model)
    call(model, "cancellation", "cancel_lottery_admin", 5, 3, NOW)
    store.write(model)
    call(model, "payouts", "force_refund_batch_admin", 5, 1, 40, 0, 0, NOW)
    store.write(model)
    assert dump(store.load(model)) == dump(model)


def test_a_call_writes_only_the_rows_it_touched() -> None:
    model = demo_model()
    add_lottery(model, 40, status=LotteryStatus.CANCELED, tickets=PART_MIN_ITEMS + 20)
    store = RowFile()
    model.mark_all_dirty()
    everything = store.write(model)
    call(model, "cancellation", "cancel_lottery_admin", 5, 3, NOW)
    written = model.changed_rows(store.encoder)
    assert 0 < len(written) < 10 < everything
    assert {t for t, _, _ in written} <= {"lotteries", "sales", "cancellations"}
    # the long purchases member was not encoded again: no "key#member" row
    assert all("#" not in key for _, key, _ in written)
    assert store.write(model) == 0  # nothing changed since


def test_long_members_live_in_their_own_rows() -> None:
    model = PackageModel(package_address=ADMIN)
    model.seed_ledgers()
    add_lottery(model, 7, status=LotteryStatus.ACTIVE, tickets=PART_MIN_ITEMS + 1)
    model.mark_all_dirty()
    rows = {(t, k): v for t, k, v in model.changed_rows(RowEncoder())}
    purchases = json.loads(rows[("sales", "7#purchases")] or "[]")
    assert len(purchases) == PART_MIN_ITEMS + 1
    assert "purchases" not in json.loads(rows[("sales", "7")] or "{}")


def test_a_simulation_changes_nothing_and_returns_the_events() -> None:
    model = demo_model()
    model.changed_rows(RowEncoder())  # the seeding's rows
    before = dump(model)
    events = model.simulate(
        "cancellation", "cancel_lottery_admin", signers=[ADMIN], args=[5, 3, NOW]
    )
    assert [e.type_tag.rsplit("::", 1)[-1] for e in events] == ["LotteryCanceledEvent"]
    assert dump(model) == before
    assert model.changed_rows(RowEncoder()) == []
