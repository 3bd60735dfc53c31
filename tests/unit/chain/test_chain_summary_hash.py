"""``records.summary_hash`` is the hash the package compares with an expected dual-write hash.

The localnet's model hashes the BCS of a summary it is about to store (``registry.summary_bcs``);
autobot decodes the stored summary as the node serves it (JSON) and must arrive at the same hash,
or every finalized lottery would look like a dual-write mismatch.
"""

from __future__ import annotations

import hashlib

from autobot.chain.records import summary_hash
from autobot.chain.storage import decode_json
from autobot.localnet.model.registry import summary_bcs
from autobot.localnet.model.state import LotterySummary
from autobot.localnet.storage.values import lottery_summary


def _summary(**changes: object) -> LotterySummary:
    values: dict[str, object] = {
        "id": 7,
        "status": 6,
        "event_slug": b"slug",
        "series_code": b"",
        "run_id": 3,
        "tickets_sold": 2**63 + 5,
        "proceeds_accum": 1_000_000,
        "total_allocated": 700_000,
        "total_prize_paid": 650_000,
        "total_operations_paid": 12,
        "vrf_status": 2,
        "primary_type": 1,
        "tags_mask": 0b1011,
        "snapshot_hash": bytes(range(32)),
        "slots_checksum": b"\x01" * 200,  # a length above 127: a two-byte ULEB128 prefix
        "winners_batch_hash": b"",
        "checksum_after_batch": b"\xff" * 32,
        "payout_round": 4,
        "created_at": 1_700_000_000,
        "closed_at": 1_700_003_600,
        "finalized_at": 1_700_007_200,
    }
    values.update(changes)
    return LotterySummary(**values)  # type: ignore[arg-type]


def test_the_hash_of_a_served_summary_is_the_models_archive_hash() -> None:
    for summary in (_summary(), _summary(status=7, slots_checksum=b"", tags_mask=0)):
        served = decode_json("history::LotterySummary", lottery_summary(summary))
        expected = "0x" + hashlib.sha3_256(summary_bcs(summary)).hexdigest()
        assert summary_hash(served) == expected


def test_any_field_changes_the_hash() -> None:
    base = decode_json("history::LotterySummary", lottery_summary(_summary()))
    other = decode_json("history::LotterySummary", lottery_summary(_summary(payout_round=5)))
    assert summary_hash(base) != summary_hash(other)
