"""Values a node chose, written to the journal (both back ends): any u64 abort code is kept
exactly; an integer no 64-bit column can hold is a ``JournalError``, never the driver's own error;
text a node sent is kept (PostgreSQL stores a NUL as U+FFFD). And a journal that cannot take writes
is found out when the daemon opens it (``check_writable``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autobot.clock import FakeClock
from autobot.errors import JournalError
from autobot.journal.protocol import Journal
from autobot.journal.records import (
    ActionState,
    NewAction,
    NewTransaction,
    TxPurpose,
    TxSettlement,
    TxState,
    from_sqlite_u64,
    to_sqlite_u64,
)
from autobot.journal.store import SqliteJournal

MAX_U64 = 2**64 - 1
KEY = "draw:1:1"


PLANNED = NewAction(
    key=KEY, kind="draw", subject_id=1, action_id=2, recipe="{}", reason="r", due_at=1
)


@pytest.fixture
async def seeded(journal: Journal) -> Journal:
    await journal.add_action(PLANNED, chain_now=1)
    return journal


@pytest.fixture
async def sqlite_journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    async with await SqliteJournal.open(
        tmp_path / "journal.sqlite3", clock=FakeClock(wall=1_700_000_000.0)
    ) as journal:
        await journal.add_action(PLANNED, chain_now=1)
        yield journal


@given(st.integers(0, MAX_U64))
def test_the_u64_column_mapping_is_lossless_and_fits_sqlite(code: int) -> None:
    stored = to_sqlite_u64(code)
    assert stored is not None and -(2**63) <= stored < 2**63
    assert from_sqlite_u64(stored) == code


@pytest.mark.parametrize("code", [0, 0x1709, 2**63 - 1, 2**63, MAX_U64])
async def test_any_u64_abort_code_is_journaled_and_read_back_exactly(
    seeded: Journal, code: int
) -> None:
    journal = seeded
    # given: a signed transaction of the action
    tx = await journal.add_transaction(
        NewTransaction(
            tx_hash="0x" + "01" * 32,
            action_key=KEY,
            action_hash=b"\xab" * 32,
            purpose=TxPurpose.EXECUTE,
            call_index=0,
            call="{}",
            sender="0x" + "a" * 64,
            sequence_number=0,
            expires_at=1_700_000_060,
            raw=b"\x01",
        ),
        expect=[ActionState.PLANNED],
        chain_now=2,
        state=ActionState.EXECUTING,
    )
    # when: the node reports an abort with that code, and the action records it
    settled = await journal.settle_transaction(
        TxSettlement(tx_hash=tx.tx_hash, state=TxState.ABORTED, error_code=code, error_name="x")
    )
    action = await journal.update_action(
        KEY, expect=[ActionState.EXECUTING], chain_now=3, error_code=code
    )
    # then
    assert settled.error_code == code
    assert action.error_code == code
    assert (await journal.get_transaction(tx.tx_hash)).error_code == code  # type: ignore[union-attr]


async def test_an_integer_beyond_64_bits_is_a_journal_error(seeded: Journal) -> None:
    journal = seeded
    # given: a lottery id no honest node returns
    with pytest.raises(JournalError, match="64-bit range"):
        await journal.mark_terminal(MAX_U64, status=6, chain_now=1)
    with pytest.raises(JournalError, match="64-bit range"):
        await journal.update_action(
            KEY, expect=[ActionState.PLANNED], chain_now=1, next_check_at=MAX_U64
        )
    # then: the journal is still usable and unchanged
    record = await journal.get_action(KEY)
    assert record is not None and record.next_check_at is None


async def test_a_writable_journal_passes_the_write_check_without_a_trace(
    sqlite_journal: SqliteJournal, tmp_path: Path
) -> None:
    journal = sqlite_journal
    wal = tmp_path / "journal.sqlite3-wal"
    size = wal.stat().st_size
    await journal.check_writable()
    assert wal.stat().st_size == size
    assert await journal.get_action(KEY) is not None


async def test_a_journal_that_refuses_writes_fails_the_write_check(
    sqlite_journal: SqliteJournal,
) -> None:
    journal = sqlite_journal
    # given: a connection that may only read (stands in for a read-only file when run as root)
    await journal._db.execute("PRAGMA query_only = 1")  # reaching in: no public knob for this
    # when / then
    with pytest.raises(JournalError, match=r"checking that it is writable.*SQLITE_READONLY"):
        await journal.check_writable()


async def test_a_node_error_text_with_odd_characters_is_kept(seeded: Journal, backend: str) -> None:
    # given: an abort message a node sent, with a NUL, an emoji, quotes and a lone "?"
    message = "abort \x00 in 'mod' \"x\" ? 💥 ; DROP TABLE actions"
    # when
    action = await seeded.update_action(
        KEY, expect=[ActionState.PLANNED], chain_now=2, error_message=message
    )
    # then: read back as written (PostgreSQL text cannot hold NUL: it becomes U+FFFD)
    kept = message if backend == "sqlite" else message.replace("\x00", "\ufffd")
    assert action.error_message == kept
    assert (await seeded.get_action(KEY)).error_message == kept  # type: ignore[union-attr]
    assert [a.key for a in await seeded.open_actions()] == [KEY]
