"""Stored Move values decoded strictly: the layouts are the package's, a wrong field is named.

Values come from the localnet's storage renderer (the demo), which the vendored layouts keep
honest; the daemon's layout table (``chain/layouts.py``) is checked against the vendored file
itself, struct by struct.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autobot.chain.layouts import (
    NATIVE_TABLES,
    RESOURCES,
    STRUCTS,
    TABLE_KEYS,
    event_handles,
    parse_type,
)
from autobot.chain.storage import decode_bcs, decode_json
from autobot.errors import RpcProtocolError, StorageLayoutError
from autobot.localnet.accounts import dev_accounts
from autobot.localnet.model import PackageModel
from autobot.localnet.scenario import seed
from autobot.localnet.storage import PackageStorage
from autobot.localnet.storage.typetags import TypeTag, key_from_json
from autobot.localnet.storage.typetags import parse_type as node_type

LAYOUTS = Path(__file__).parents[2] / "data" / "lottery_multi_layouts.json"
ACCOUNTS = dev_accounts()
PACKAGE = ACCOUNTS.admin.address


def _short(text: str) -> str:
    """A vendored type string in ``chain/layouts.py``'s short form."""
    for long, short in (
        ("0x1::table::Table", "Table"),
        ("0x1::event::EventHandle", "EventHandle"),
        ("0x1::option::Option", "Option"),
        ("vrf_hub::table::Table", "HubTable"),
        ("lottery_multi::", ""),
    ):
        text = text.replace(long, short)
    return text


def test_every_struct_autobot_decodes_is_the_vendored_layout_field_by_field() -> None:
    vendored = {
        f"{s['module']}::{s['name']}": [(f["name"], _short(f["type"])) for f in s["fields"]]
        for s in json.loads(LAYOUTS.read_text())["structs"]
    }
    for struct, fields in STRUCTS.items():
        assert list(fields) == vendored[struct], struct
        for _, type_ in fields:
            parse_type(type_)  # every type is one the decoders know
    tables = json.loads(LAYOUTS.read_text())["native_tables"]
    declared = {f"{_short(t['owner'])}.{t['field']}": _short(t["value_type"]) for t in tables}
    for table, value in NATIVE_TABLES.items():
        assert declared[table] == value
        key = TABLE_KEYS.get(table, "u64")
        assert dict(STRUCTS[table.split(".")[0]])[table.split(".")[1]] == f"Table<{key}, {value}>"
    assert all(s in STRUCTS for s in RESOURCES)
    assert ("events.payout_granted", "roles::PayoutBatchCapGrantedEvent") in event_handles(
        "roles::RoleStore"
    )


@pytest.fixture(scope="module")
def storage() -> PackageStorage:
    model = PackageModel(package_address=PACKAGE)
    operators = [o.address for o in ACCOUNTS.operators]
    info = seed(model, scenario="demo", admin=PACKAGE, operators=operators, now_ts=1_700_000_000)
    events = Counter(e.type_tag for e in info.genesis_events)
    return PackageStorage(model.state, package=PACKAGE, event_counts=events)


def _tag(struct: str) -> TypeTag:
    module, name = struct.split("::")
    return TypeTag(name, address=PACKAGE, module=module)


def _item(storage: PackageStorage, table: str, key: int) -> Any:
    registry = storage.resource(PACKAGE, _tag(table.split(".")[0]))
    ref = storage.table(registry[table.split(".")[1]]["handle"])
    assert ref is not None
    return storage.table_item(ref, key_from_json(node_type("u64"), str(key)))


@pytest.mark.parametrize("struct", RESOURCES)
def test_every_resource_decodes_alike_from_json_and_from_bcs(
    storage: PackageStorage, struct: str
) -> None:
    raw = storage.resource(PACKAGE, _tag(struct))
    blob = storage.resource_bcs(PACKAGE, _tag(struct))
    assert raw is not None and blob is not None
    assert decode_json(struct, raw) == decode_bcs(struct, blob)


def test_a_lottery_decodes_into_plain_values(storage: PackageStorage) -> None:
    value = decode_json(
        "lottery_registry::Lottery", _item(storage, "lottery_registry::Registry.lotteries", 4)
    )
    config = value["config"]
    assert value["id"] == 4 and isinstance(value["slots_checksum"], bytes)
    assert config["sales_window"]["sales_end"] > config["sales_window"]["sales_start"]
    assert (
        isinstance(config["prize_plan"], list) and config["prize_plan"][0]["winners_per_slot"] >= 1
    )
    registry = decode_json(
        "lottery_registry::Registry", storage.resource(PACKAGE, _tag("lottery_registry::Registry"))
    )
    assert registry["ordered_ids"] == [1, 2, 3, 4, 5]
    assert isinstance(registry["lotteries"], str) and registry["lotteries"].startswith("0x")
    assert isinstance(registry["canceled_events"], int)  # an event handle is its counter
    bots = decode_json(
        "automation::AutomationRegistry",
        storage.resource(PACKAGE, _tag("automation::AutomationRegistry")),
    )["bots"]
    assert [operator for operator, _ in bots] == [o.address for o in ACCOUNTS.operators][
        : len(bots)
    ]


def _lottery(storage: PackageStorage) -> dict[str, Any]:
    return copy.deepcopy(_item(storage, "lottery_registry::Registry.lotteries", 1))


def _error(struct: str, raw: object) -> StorageLayoutError:
    with pytest.raises(StorageLayoutError) as caught:
        decode_json(struct, raw)
    assert isinstance(caught.value, RpcProtocolError)  # scored down like any protocol error
    return caught.value


def test_a_missing_field_is_named_with_its_struct(storage: PackageStorage) -> None:
    raw = _lottery(storage)
    del raw["config"]["sales_window"]["sales_end"]
    error = _error("lottery_registry::Lottery", raw)
    assert (error.struct, error.field) == ("types::SalesWindow", "sales_end")
    assert error.path == "lottery_registry::Lottery.config.sales_window.sales_end"
    assert "types::SalesWindow.sales_end: missing" in str(error)


def test_an_unexpected_field_is_refused_not_ignored(storage: PackageStorage) -> None:
    raw = _lottery(storage)
    raw["config"]["surprise"] = "1"
    error = _error("lottery_registry::Lottery", raw)
    assert (error.struct, error.field) == ("lottery_registry::Config", "surprise")
    assert "unexpected field" in str(error)


@pytest.mark.parametrize(
    ("path", "value", "field", "what"),
    [
        (("status",), "x", "status", "expected u8"),
        (("status",), 256, "status", "out of range"),
        (("snapshot_frozen",), 1, "snapshot_frozen", "expected a boolean"),
        (("slots_checksum",), "0xabc", "slots_checksum", "hex bytes"),
        (("id",), True, "id", "boolean"),
        (("config", "prize_plan"), {}, "prize_plan", "expected a list"),
        (("config", "ticket_price"), "-1", "ticket_price", "expected u64"),
        (("config", "ticket_price"), str(2**64), "ticket_price", "out of range"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(
    storage: PackageStorage, path: tuple[str, ...], value: object, field: str, what: str
) -> None:
    raw = _lottery(storage)
    target = raw
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    error = _error("lottery_registry::Lottery", raw)
    assert error.field == field and what in str(error)


def test_options_tables_handles_and_hub_tables_are_exact(storage: PackageStorage) -> None:
    store = copy.deepcopy(storage.resource(PACKAGE, _tag("roles::RoleStore")))
    store["payout_batch"] = {"vec": [store["payout_batch"]["vec"][0]] * 2}
    assert "at most one" in str(_error("roles::RoleStore", store))
    store = copy.deepcopy(storage.resource(PACKAGE, _tag("roles::RoleStore")))
    store["partner_caps"] = {"handle": "0x1", "extra": 1}
    assert _error("roles::RoleStore", store).field == "partner_caps"
    registry = copy.deepcopy(storage.resource(PACKAGE, _tag("automation::AutomationRegistry")))
    registry["bots"]["keys"].append("0x" + "ee" * 32)
    assert "keys but" in str(_error("automation::AutomationRegistry", registry))
    registry = copy.deepcopy(storage.resource(PACKAGE, _tag("automation::AutomationRegistry")))
    registry["tick_events"]["guid"] = {"id": {"addr": "0x1"}}
    assert _error("automation::AutomationRegistry", registry).field == "tick_events"


def test_bcs_that_ends_early_or_runs_on_is_refused(storage: PackageStorage) -> None:
    blob = storage.resource_bcs(PACKAGE, _tag("price_feed::PriceFeedRegistry"))
    assert blob is not None
    with pytest.raises(StorageLayoutError) as short:
        decode_bcs("price_feed::PriceFeedRegistry", blob[:-1])
    assert short.value.field == "clamp_clears" and "end early" in str(short.value)
    with pytest.raises(StorageLayoutError) as long:
        decode_bcs("price_feed::PriceFeedRegistry", blob + b"\x00")
    assert long.value.field == "" and "after the last field" in str(long.value)
    bad_bool = bytearray(
        storage.resource_bcs(PACKAGE, _tag("vrf_deposit::VrfDepositLedger")) or b""
    )
    bad_bool[16 + 8 * 5] = 2  # config (2 x u64), then status's five u64s: requests_paused
    with pytest.raises(StorageLayoutError, match="boolean byte"):
        decode_bcs("vrf_deposit::VrfDepositLedger", bytes(bad_bool))
    with pytest.raises(StorageLayoutError, match="beyond the bytes left"):
        decode_bcs("lottery_registry::Registry", b"\x00" * 32 + b"\xff\xff\xff\x0f")
