"""Storage as a node serves it: every struct in its Move layout, and every reader from storage.

The demo story is driven through the package model in-process (close, purchases with the rate
limits, partner and premium caps, draw request, callback, winners, payouts, a partner payout,
dual-write expected hashes and finalization, cancel, refund batches, archive with a dual-write
mismatch, price updates, clamp, fallback, bots, VRF deposit, the cap, role cleanup). After every
step:

* the storage walk (``storage_readers.walk``) checks every resource and every table item
  reachable from them against the vendored layouts, field by field, and each resource's BCS;
* every reader the model answers (``storage_views.READERS``) is computed from the rendered
  storage and must equal the model's own view, aborts included.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from model_builders import ADMIN, NOW, OP_A, OP_B, STRANGER, call, fulfil, request

from autobot.localnet.model import VIEW_FUNCTIONS, ModelAbort, ModelEvent, PackageModel
from autobot.localnet.model.state import RowEncoder
from autobot.localnet.scenario import seed
from autobot.localnet.storage import PackageStorage, table_handle
from autobot.localnet.storage.layouts import STRUCTS, layouts_json
from storage_layouts import vendored
from storage_readers import ModelReader, walk
from storage_views import READERS, StorageAbort

# Every struct with the key ability in the package sources at the pinned commit, read from the
# .move files (not from the localnet's layouts): what a node serves for this package.
KEY_STRUCTS_IN_SOURCES = {
    "lottery_registry::Registry",
    "automation::AutomationCap",
    "automation::AutomationRegistry",
    "draw::DrawLedger",
    "sales::SalesLedger",
    "payouts::PayoutLedger",
    "price_feed::PriceFeedRegistry",
    "roles::RoleStore",
    "vrf_deposit::VrfDepositLedger",
    "history::ArchiveLedger",
    "feature_switch::FeatureSwitchAdminCap",
    "feature_switch::FeatureSwitchRegistry",
    "legacy_bridge::DualWriteControl",
    "legacy_bridge::MirrorConfig",
}
PARTNER = "0x" + "9a" * 32
PREMIUM_BUYER = "0x" + "9b" * 32
BUYERS = tuple("0x" + f"{n:02x}" * 32 for n in range(0x60, 0x6C))


@dataclass
class Chain:
    """The demo model, its events by type, and chain time."""

    model: PackageModel
    events: Counter[str] = field(default_factory=Counter)
    now: int = NOW

    def call(
        self, module: str, function: str, *args: object, signers: tuple[str, ...] = (ADMIN,)
    ) -> list[ModelEvent]:
        events = call(self.model, module, function, *args, signers=signers)
        self.events.update(e.type_tag for e in events)
        return events

    def refused(
        self, code: int, module: str, function: str, *args: object, signers: tuple[str, ...]
    ) -> None:
        with pytest.raises(ModelAbort) as caught:
            self.call(module, function, *args, signers=signers)
        assert caught.value.code == code

    def storage(self) -> PackageStorage:
        return PackageStorage(self.model.state, package=ADMIN, event_counts=self.events)


def demo_chain() -> Chain:
    model = PackageModel(package_address=ADMIN)
    info = seed(model, scenario="demo", admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    return Chain(model=model, events=Counter(e.type_tag for e in info.genesis_events))


def _arguments(chain: Chain) -> Iterator[tuple[str, str, list[object]]]:
    """Every reader with the arguments worth asking (present and absent subjects)."""
    lotteries = [*chain.model.state.lotteries, 999]
    for (module, function), signature in VIEW_FUNCTIONS.items():
        types = signature.param_types
        if not types:
            yield module, function, []
        elif types == ("address",):
            state = chain.model.state
            for address in (OP_A, OP_B, STRANGER, *state.partner_caps, *state.premium_caps):
                yield module, function, [address]
        elif function == "status_overview":
            for now in (chain.now, chain.now + 43_201, chain.now + 86_401):
                yield module, function, [now]
        elif types == ("u64", "bool"):  # feature_switch::is_enabled: ids 0-5 and one nobody has
            for feature_id in (*range(6), 2**64 - 1):
                for premium in (False, True):
                    yield module, function, [feature_id, premium]
        elif function == "get_price_view":
            for asset in (1, 2, 3, 99):
                yield module, function, [asset]
        elif types == ("u64",):
            for lottery_id in lotteries:
                yield module, function, [lottery_id]
        elif types == ("u64", "u64"):
            for start, limit in ((0, 10), (1, 2), (0, 1001)):
                yield module, function, [start, limit]
        else:  # (u8 | u64 mask, from, limit)
            for first in (0, 1):
                yield module, function, [first, 0, 10]


def assert_views_match(chain: Chain) -> int:
    """Every reader computed from storage equals the model's view (or aborts alike)."""
    reader = ModelReader(chain.storage())
    compared = 0
    for module, function, args in _arguments(chain):
        try:
            expected: object = chain.model.view(module, function, args)
        except ModelAbort as abort:
            expected = ("abort", abort.code, abort.module, abort.address)
        try:
            actual: object = READERS[(module, function)](reader, args)
        except StorageAbort as abort:
            actual = ("abort", abort.code, abort.module, abort.address)
        assert json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True), (
            f"{module}::{function}{args}"
        )
        compared += 1
    return compared


def check_storage(chain: Chain) -> set[str]:
    """Walk and compare; the struct types the walk checked."""
    report = walk(ModelReader(chain.storage()), operators=(OP_A, OP_B, STRANGER))
    assert report.resources == KEY_STRUCTS_IN_SOURCES
    assert assert_views_match(chain) > 100
    return report.layouts.checked


def _refund_plan(tickets: int, prize: int, ops: int, batch: int) -> list[tuple[int, int, int]]:
    """Batches by cumulative rounding, ending exactly at the totals (docs/decisions.md §6)."""
    out, done, prize_done, ops_done = [], 0, 0, 0
    while done < tickets:
        n = min(batch, tickets - done)
        done += n
        prize_to, ops_to = prize * done // tickets, ops * done // tickets
        out.append((n, prize_to - prize_done, ops_to - ops_done))
        prize_done, ops_done = prize_to, ops_to
    return out


def _story(chain: Chain) -> list[tuple[str, Callable[[], None]]]:
    m = chain.model

    def close() -> None:
        chain.call("lottery_registry", "advance_status", 1, 2)

    def purchases() -> None:
        block = 7
        for n, buyer in enumerate(BUYERS):
            chain.call(
                "sales", "purchase_tickets_public", 5, 1 + n % 3, chain.now, block, signers=(buyer,)
            )
        for _ in range(9):  # the first buyer's tenth purchase in this window
            chain.call(
                "sales", "purchase_tickets_public", 5, 1, chain.now, block, signers=(BUYERS[0],)
            )
        chain.refused(
            0x1609, "sales", "purchase_tickets_public", 5, 1, chain.now, block, signers=(BUYERS[0],)
        )

    def caps() -> None:
        chain.call(
            "roles", "upsert_partner_payout_cap_admin", PARTNER, 10**9, 60, 1, chain.now + 86_400
        )
        chain.call("roles", "upsert_partner_payout_cap_admin", STRANGER, 5, 0, 1, chain.now - 1)
        chain.call(
            "roles", "grant_premium_access_admin", PREMIUM_BUYER, chain.now + 3_600, True, OP_A
        )
        chain.call("roles", "grant_premium_access_admin", OP_B, chain.now - 1, False, None)
        chain.call(
            "sales", "purchase_tickets_premium", 5, 4, chain.now, 8, signers=(PREMIUM_BUYER,)
        )

    def draw_request() -> None:
        chain.events.update(e.type_tag for e in request(m, 2, chain.now))

    def callback() -> None:
        chain.events.update(e.type_tag for e in fulfil(m, 2))

    def winners() -> None:
        for _ in range(3):
            chain.call("payouts", "compute_winners_admin", 2, 5)

    def payout_and_finalize() -> None:
        allocated = m.state.sales[2].accounting.total_allocated
        chain.call("payouts", "record_payout_batch_admin", 2, 1, 14, allocated // 2, 0, chain.now)
        chain.call("payouts", "record_partner_payout_admin", 2, PARTNER, 1_000, 1, chain.now)
        dry = m.simulate(
            "payouts", "finalize_lottery_admin", signers=[ADMIN], args=[2, chain.now + 1]
        )
        summary_hash = bytes.fromhex(str(dry[-1].data["archive_slot_hash"])[2:])
        chain.call("legacy_bridge", "set_expected_hash", 2, summary_hash)
        chain.call("legacy_bridge", "set_expected_hash", 3, b"\x03" * 32)  # pending, no summary
        chain.call("payouts", "finalize_lottery_admin", 2, chain.now + 1)
        assert m.view("legacy_bridge", "pending_expected_hashes", []) == [["3"]]

    def retry_then_cancel() -> None:
        chain.events.update(e.type_tag for e in request(m, 3, chain.now))
        chain.now += 61
        chain.events.update(e.type_tag for e in request(m, 3, chain.now))
        chain.call("cancellation", "cancel_lottery_admin", 3, 1, chain.now)

    def refunds() -> None:
        sales = m.state.sales[4]
        acc = sales.accounting
        plan = _refund_plan(
            sales.tickets_sold, acc.total_allocated, acc.total_operations_allocated, 500
        )
        for i, (tickets, prize, ops) in enumerate(plan, start=1):
            chain.call(
                "payouts", "force_refund_batch_admin", 4, i, tickets, prize, ops, chain.now + i
            )

    def archive() -> None:
        chain.call("legacy_bridge", "set_expected_hash", 4, b"\x04" * 32)  # the legacy disagrees
        chain.call("payouts", "archive_canceled_lottery_admin", 4, chain.now + 10)
        assert m.view("legacy_bridge", "has_expected_hash", [4]) == [True]  # a mismatch, kept
        chain.call("legacy_bridge", "update_flags", True, True, False)

    def prices() -> None:
        chain.call("price_feed", "update_price", 1, 421_000, chain.now)
        chain.call("price_feed", "update_price", 1, 900_000, chain.now + 1)  # clamped
        chain.call("price_feed", "set_fallback", 1, True, 2)
        chain.call("price_feed", "clear_clamp", 1, chain.now + 2)
        chain.call("price_feed", "set_fallback", 1, False, 0)

    def bots() -> None:
        digest = bytes(range(32))
        chain.call(
            "automation", "announce_dry_run", 7, digest, chain.now, chain.now + 900, signers=(OP_A,)
        )
        chain.call("automation", "record_success", 7, digest, chain.now + 900, signers=(OP_A,))
        chain.call(
            "automation", "record_failure", 1, digest, chain.now + 901, 0x1709, signers=(OP_B,)
        )
        chain.call(
            "automation",
            "rotate_bot",
            b"*/5 * * * *",
            [1, 2],
            0,
            4,
            chain.now + 10**6,
            signers=(ADMIN, OP_B),
        )

    def deposit() -> None:
        chain.call(
            "vrf_deposit", "record_snapshot_admin", 10**9, 10**10, 10**8, chain.now
        )  # pauses
        chain.call("vrf_deposit", "resume_requests", chain.now + 5)

    def cap() -> None:
        chain.call("roles", "revoke_payout_batch_cap_admin")
        chain.call("roles", "set_payout_batch_cap_admin", STRANGER, 7, 8, 9, 1)

    def roles_cleanup() -> None:
        chain.call("roles", "cleanup_expired_admin", chain.now + 60)
        assert [c["partner"] for c in m.view("roles", "list_partner_caps", [])[0]] == [PARTNER]  # type: ignore[index]
        chain.call("roles", "revoke_premium_access_admin", PREMIUM_BUYER)

    def feature_switch_disables_draws() -> None:
        m.seed_feature_draw(False)

    def feature_switch_enables_draws() -> None:
        chain.call("feature_switch", "set_mode", 3, 1)

    return [
        ("close", close),
        ("purchases and a rate limit", purchases),
        ("partner and premium caps", caps),
        ("draw request", draw_request),
        ("callback", callback),
        ("winners", winners),
        ("payout and finalize", payout_and_finalize),
        ("retry then cancel", retry_then_cancel),
        ("refund batches", refunds),
        ("archive", archive),
        ("price updates, clamp, fallback", prices),
        ("bots", bots),
        ("VRF deposit", deposit),
        ("payout batch cap", cap),
        ("roles cleanup", roles_cleanup),
        ("feature switch", feature_switch_disables_draws),
        ("DRAW on again", feature_switch_enables_draws),
    ]


def test_every_reader_from_storage_equals_the_model_after_every_step_of_the_demo_story() -> None:
    chain = demo_chain()
    checked = check_storage(chain)
    for name, step in _story(chain):
        step()
        try:
            checked |= check_storage(chain)
        except AssertionError as exc:
            raise AssertionError(f"after {name!r}: {exc}") from exc
    # the story reached every stored struct of the package
    every = {s["type"] for s in vendored()["structs"]}
    assert every - checked == set()


def test_the_vendored_layouts_are_the_localnets_and_list_every_key_struct_of_the_sources() -> None:
    assert vendored() == json.loads(json.dumps(layouts_json()))
    data = vendored()
    assert data["source"]["commit"] == "04999ac141fac22dd984ff31e681366cbe10e695"
    resources = {s["type"].split("::", 1)[1] for s in data["structs"] if "resource" in s["roles"]}
    assert resources == KEY_STRUCTS_IN_SOURCES
    assert {s.short for s in STRUCTS if "key" in s.abilities} == KEY_STRUCTS_IN_SOURCES
    cap = next(s for s in data["structs"] if s["name"] == "AutomationCap")
    assert cap["stored_at"] == "each registered operator's account"
    assert cap["abilities"] == ["store", "key"]


def test_an_empty_struct_is_served_with_the_compilers_dummy_field() -> None:
    chain = demo_chain()
    storage = chain.storage()
    tag = next(t for t in storage.resource_types(ADMIN) if t.name == "MirrorConfig")
    assert storage.resource(ADMIN, tag) == {"dummy_field": False}
    assert storage.resource_bcs(ADMIN, tag) == b"\x00"


def test_resources_are_sorted_by_field_name_and_bcs_keeps_declaration_order() -> None:
    chain = demo_chain()
    storage = chain.storage()
    tag = next(t for t in storage.resource_types(ADMIN) if t.name == "PriceFeedRegistry")
    value = storage.resource(ADMIN, tag)
    assert isinstance(value, dict)
    assert list(value) == ["clamp_clears", "clamps", "fallbacks", "feeds", "updates", "version"]
    bcs = storage.resource_bcs(ADMIN, tag)
    assert bcs is not None
    assert bcs[:2] == (1).to_bytes(2, "little")  # version: u16, the first declared field
    assert bcs[2:34] == bytes.fromhex(value["feeds"]["handle"][2:])  # then the feeds table


def test_event_handles_count_the_chains_events_and_number_guids_in_deployment_order() -> None:
    chain = demo_chain()
    storage = chain.storage()
    tag = next(t for t in storage.resource_types(ADMIN) if t.name == "AutomationRegistry")
    registry = storage.resource(ADMIN, tag)
    assert isinstance(registry, dict)
    # the demo registered two bots: two key-rotated events at genesis
    assert registry["key_rotated_events"]["counter"] == "2"
    assert registry["key_rotated_events"]["guid"] == {"id": {"addr": ADMIN, "creation_num": "20"}}
    assert registry["bots"]["keys"] == [OP_A, OP_B]  # registration order, as vrf_hub::table appends


def test_table_handles_are_stable_across_a_restart_from_rows_and_name_their_owner() -> None:
    chain = demo_chain()
    rows = [r for r in RowEncoder().all_rows(chain.model.state) if r[2] is not None]
    restored = PackageModel.from_rows(package_address=ADMIN, vrf_retry="intent", rows=rows)  # type: ignore[arg-type]
    before = chain.storage()
    after = PackageStorage(restored.state, package=ADMIN, event_counts=chain.events)
    for tag in before.resource_types(ADMIN):
        assert before.resource(ADMIN, tag) == after.resource(ADMIN, tag)
    handle = table_handle(ADMIN, "sales::SalesState.ticket_chunks", 4)
    assert handle.endswith("0000000000000004")
    ref = after.table(handle)
    assert ref is not None and (ref.owner, str(ref.key_type)) == (4, "u64")
    chunk = after.table_item(ref, 4)
    assert (
        isinstance(chunk, dict) and chunk["start_index"] == "1024" and len(chunk["buyers"]) == 210
    )
    assert after.table_item(ref, 5) is None
    assert after.table(table_handle(ADMIN, "sales::SalesState.ticket_chunks", 77)) is None
    assert after.table("0x" + "ab" * 32) is None


def test_a_disabled_draw_switch_is_served_as_entries_with_draw_off() -> None:
    chain = demo_chain()
    chain.model.seed_feature_draw(False)
    storage = chain.storage()
    tag = next(t for t in storage.resource_types(ADMIN) if t.name == "FeatureSwitchRegistry")
    registry = storage.resource(ADMIN, tag)
    assert isinstance(registry, dict) and registry["force_enable_devnet"] is False
    ref = storage.table(registry["entries"]["handle"])
    assert ref is not None
    assert [storage.table_item(ref, f) for f in (1, 2, 3, 4, 5)] == [
        {"mode": 1},
        {"mode": 1},
        {"mode": 0},
        {"mode": 1},
        None,
    ]


def test_a_state_without_the_later_globals_loads_with_their_defaults() -> None:
    state_json = json.loads(json.dumps(demo_chain().model.to_json()))
    globals_ = state_json["state"]["globals_"]["0"]
    del globals_["dual_write"], globals_["legacy_mirror"]  # a state dir written before them
    restored = PackageModel.from_json(state_json)
    assert (restored.state.g.dual_write, restored.state.g.legacy_mirror) == (False, False)
    tags = PackageStorage(restored.state, package=ADMIN, event_counts={}).resource_types(ADMIN)
    assert "DualWriteControl" not in {t.name for t in tags}


@pytest.mark.parametrize("scenario", ["empty", "demo"])
def test_every_scenario_deploys_every_package_resource(scenario: str) -> None:
    model = PackageModel(package_address=ADMIN)
    seed(model, scenario=scenario, admin=ADMIN, operators=[OP_A, OP_B], now_ts=NOW)
    tags = PackageStorage(model.state, package=ADMIN, event_counts={}).resource_types(ADMIN)
    held = {f"{t.module}::{t.name}" for t in tags}
    missing = KEY_STRUCTS_IN_SOURCES - {"automation::AutomationCap"} - held
    # the empty scenario records no VRF deposit snapshot: init_vrf_deposit never ran
    assert missing == ({"vrf_deposit::VrfDepositLedger"} if scenario == "empty" else set())


def test_without_any_init_every_reader_from_storage_aborts_or_defaults_like_the_model() -> None:
    chain = Chain(model=PackageModel(package_address=ADMIN))
    assert chain.storage().resource_types(ADMIN) == []
    assert assert_views_match(chain) >= 40  # every reader, each aborting or at its default
